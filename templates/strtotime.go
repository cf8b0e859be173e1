package templates

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// A subset of PHP's date parser (timelib), which reads the text of
// strtotime, new DateTime(text) and DateTime::modify(text): absolute dates
// (ISO 8601, American m/d/Y, d-m-Y and d.m.Y, textual months, RFC 2822),
// times with am/pm, time zones (UTC, Z, abbreviations, +05:00,
// identifiers), "@" timestamps, and relative parts: "+1 day", "3 weeks
// ago", "next monday", "last friday", "first day of next month", "last
// day of february", now, today, midnight, noon, tomorrow, yesterday.

// unset marks a date or time field the text does not give.
const unset = math.MinInt32

// dateParse is what a date text gives, as timelib's parsed time.
type dateParse struct {
	y, m, d    int
	h, i, s    int
	ns         int
	haveDate   bool
	haveTime   bool
	loc        *time.Location // the text's zone
	ts         *int64         // "@1700000000"
	tsNanos    int64
	rel        relTime
	haveRel    bool
	haveWday   bool
	firstLast  int // 1: first day of, 2: last day of
	sawMonthOf bool
}

type relTime struct {
	y, m, d, h, i, s int
	weekday          int
	wdayBehavior     int
}

var (
	monthNames = map[string]int{
		"january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4,
		"may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9, "sep": 9,
		"sept": 9, "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12, "dec": 12,
	}
	dayNames = map[string]int{
		"sunday": 0, "sun": 0, "monday": 1, "mon": 1, "tuesday": 2, "tue": 2, "tues": 2, "wednesday": 3, "wed": 3,
		"thursday": 4, "thu": 4, "thur": 4, "thurs": 4, "friday": 5, "fri": 5, "saturday": 6, "sat": 6,
	}
	relWords = map[string]int{
		"last": -1, "previous": -1, "this": 0, "next": 1, "first": 1, "second": 2, "third": 3, "fourth": 4,
		"fifth": 5, "sixth": 6, "seventh": 7, "eight": 8, "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12,
	}
	// zoneAbbrs are the time zone abbreviations PHP knows that scripts use.
	zoneAbbrs = map[string]int{
		"utc": 0, "gmt": 0, "z": 0, "ut": 0, "wet": 0, "bst": 3600, "cet": 3600, "cest": 7200, "met": 3600, "mest": 7200,
		"eet": 7200, "eest": 10800, "msk": 10800, "ist": 19800, "jst": 32400, "kst": 32400, "hkt": 28800, "awst": 28800,
		"aest": 36000, "aedt": 39600, "nzst": 43200, "nzdt": 46800, "est": -18000, "edt": -14400, "cst": -21600,
		"cdt": -18000, "mst": -25200, "mdt": -21600, "pst": -28800, "pdt": -25200, "akst": -32400, "akdt": -28800,
		"hst": -36000, "ast": -14400, "adt": -10800, "nst": -12600, "ndt": -9000,
	}
)

// relUnit reads a relative unit name: the field it adds to (y m d h i s,
// 'w' for a week, 'f' for a fortnight) or a weekday (0-6 with wday set).
func relUnit(w string) (unit byte, wday int, ok bool) {
	switch w {
	case "sec", "secs", "second", "seconds":
		return 's', 0, true
	case "min", "mins", "minute", "minutes":
		return 'i', 0, true
	case "hour", "hours":
		return 'h', 0, true
	case "day", "days":
		return 'd', 0, true
	case "week", "weeks":
		return 'w', 0, true
	case "fortnight", "fortnights", "forthnight", "forthnights":
		return 'f', 0, true
	case "month", "months":
		return 'm', 0, true
	case "year", "years":
		return 'y', 0, true
	}
	if d, ok := dayNames[w]; ok {
		return 'W', d, true
	}
	return 0, 0, false
}

// dateToken is a word, a number or a punctuation character of a date text.
type dateToken struct {
	s   string
	num bool
	sep bool // preceded by whitespace
}

func tokenizeDate(s string) []dateToken {
	var toks []dateToken
	sep := true
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',':
			sep = true
			i++
			continue
		case c >= '0' && c <= '9':
			j := i
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			toks = append(toks, dateToken{s: s[i:j], num: true, sep: sep})
			i = j
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_':
			j := i
			for j < len(s) && (s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z' || s[j] == '_') {
				j++
			}
			toks = append(toks, dateToken{s: s[i:j], sep: sep})
			i = j
		default:
			toks = append(toks, dateToken{s: s[i : i+1], sep: sep})
			i++
		}
		sep = false
	}
	return toks
}

// parseDateText parses a date text; text it does not understand is an
// error, as PHP's "Failed to parse time string".
func parseDateText(text string) (*dateParse, error) {
	p := &dateParse{y: unset, m: unset, d: unset, h: unset, i: unset, s: unset, ns: unset}
	raw := strings.TrimSpace(text)
	lower := strings.ToLower(raw)
	if strings.HasPrefix(lower, "@") {
		rest := lower[1:]
		sec, frac, _ := strings.Cut(rest, ".")
		n, err := strconv.ParseInt(sec, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("cannot read %q as a date", text)
		}
		var nanos int64
		if frac != "" {
			f, err := strconv.ParseFloat("0."+frac, 64)
			if err != nil {
				return nil, fmt.Errorf("cannot read %q as a date", text)
			}
			nanos = int64(math.Round(f*1e6)) * 1000
			if strings.HasPrefix(sec, "-") {
				nanos = -nanos
			}
		}
		p.ts, p.tsNanos = &n, nanos
		p.loc = offsetZone(0)
		return p, nil
	}
	// zone identifiers keep their case: read them from the raw text
	toks := tokenizeDate(lower)
	rawToks := tokenizeDate(raw)
	for i := 0; i < len(toks); {
		n, err := p.match(toks, rawToks, i)
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, fmt.Errorf("cannot read %q as a date", text)
		}
		i += n
	}
	return p, nil
}

func (p *dateParse) setTime(h, i, s, ns int) {
	p.haveTime = true
	p.h, p.i, p.s, p.ns = h, i, s, ns
}

func (p *dateParse) unhaveTime() {
	p.haveTime = false
	p.h, p.i, p.s, p.ns = 0, 0, 0, 0
}

func (p *dateParse) setDate(y, m, d int) {
	p.haveDate = true
	p.y, p.m, p.d = y, m, d
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// year2 reads a two-digit year as PHP does: 00-69 is 20xx, 70-99 19xx.
func year2(s string) int {
	y := atoi(s)
	if len(s) <= 2 {
		if y < 70 {
			return 2000 + y
		}
		return 1900 + y
	}
	return y
}

func isPunct(t dateToken, c string) bool { return !t.num && t.s == c }

// match reads the part of the text at toks[i] and returns how many
// tokens it took (0: not understood).
func (p *dateParse) match(toks, raw []dateToken, i int) (int, error) {
	t := toks[i]
	at := func(k int) dateToken {
		if i+k < len(toks) {
			return toks[i+k]
		}
		return dateToken{}
	}
	// ISO 8601 date: 2024-02-29, 2024/02/29, then an optional time
	if t.num && len(t.s) == 4 && (isPunct(at(1), "-") || isPunct(at(1), "/")) && at(2).num && isPunct(at(3), at(1).s) && at(4).num && !at(2).sep && !at(4).sep {
		p.setDate(atoi(t.s), atoi(at(2).s), atoi(at(4).s))
		n := 5
		if c := at(5); c.s == "t" && !c.sep && at(6).num {
			n++ // 2024-02-29T13:45
		}
		return n, nil
	}
	// YYYYMMDD, and timelib's reading of a float timestamp: 1700000000.5
	// is 1700-00-00 (1699-11-30) at 00:05
	if t.num && len(t.s) == 8 {
		p.setDate(atoi(t.s[:4]), atoi(t.s[4:6]), atoi(t.s[6:]))
		return 1, nil
	}
	if t.num && len(t.s) == 10 && isPunct(at(1), ".") && at(2).num && len(at(2).s) <= 2 && !at(2).sep {
		p.setDate(atoi(t.s[:4]), atoi(t.s[4:6]), atoi(t.s[6:8]))
		p.setTime(atoi(t.s[8:]), atoi(at(2).s), 0, 0)
		return 3, nil
	}
	// numeric dates: m/d/Y, m/d, d-m-Y, d.m.Y, d.m.y
	if t.num && len(t.s) <= 2 && at(1).s != "" && (isPunct(at(1), "/") || isPunct(at(1), "-") || isPunct(at(1), ".")) && at(2).num && !at(1).sep && !at(2).sep {
		sep := at(1).s
		third := isPunct(at(3), sep) && at(4).num && !at(4).sep
		switch {
		case sep == "/" && third:
			p.setDate(year2(at(4).s), atoi(t.s), atoi(at(2).s))
			return 5, nil
		case sep == "/":
			p.haveDate = true
			p.m, p.d = atoi(t.s), atoi(at(2).s)
			return 3, nil
		case third && (sep == "-" && len(at(4).s) == 4 || sep == "."):
			p.setDate(year2(at(4).s), atoi(at(2).s), atoi(t.s))
			return 5, nil
		}
	}
	// times: 13:45, 13:45:07, 13:45:07.123, with am/pm
	if t.num && len(t.s) <= 2 && isPunct(at(1), ":") && at(2).num && len(at(2).s) == 2 {
		h, mi, s, ns := atoi(t.s), atoi(at(2).s), 0, 0
		n := 3
		if isPunct(at(3), ":") && at(4).num && len(at(4).s) == 2 {
			s = atoi(at(4).s)
			n = 5
			if (isPunct(at(5), ".") || isPunct(at(5), ",")) && at(6).num {
				frac := at(6).s
				for len(frac) < 9 {
					frac += "0"
				}
				ns = atoi(frac[:9])
				n = 7
			}
		}
		if m := at(n).s; m == "am" || m == "pm" || m == "a" || m == "p" {
			n += meridianLen(toks, i+n)
			h = meridian(h, m)
		}
		p.setTime(h, mi, s, ns)
		return n, nil
	}
	// 3.05: a time
	if t.num && len(t.s) <= 2 && isPunct(at(1), ".") && at(2).num && len(at(2).s) <= 2 && !at(1).sep && !at(2).sep {
		p.setTime(atoi(t.s), atoi(at(2).s), 0, 0)
		return 3, nil
	}
	// 3pm, 3 pm, 3 p.m.
	if t.num && len(t.s) <= 2 {
		if m := at(1).s; m == "am" || m == "pm" || m == "a" || m == "p" {
			p.setTime(meridian(atoi(t.s), m), 0, 0, 0)
			return 1 + meridianLen(toks, i+1), nil
		}
	}
	// textual months: "1 January 2020", "January 1, 2020", "Jan 2020", "January"
	if t.num && len(t.s) <= 2 {
		if m, ok := monthNames[at(1).s]; ok {
			p.haveDate = true
			p.m, p.d = m, atoi(t.s)
			n := 2
			if isPunct(at(2), ".") {
				n++
			}
			if y := at(n); y.num && len(y.s) == 4 || y.num && len(y.s) <= 2 && !isPunct(at(n+1), ":") {
				p.y = year2(y.s)
				n++
			}
			return n, nil
		}
	}
	if m, ok := monthNames[t.s]; ok {
		n := 1
		if isPunct(at(1), ".") {
			n++
		}
		p.haveDate = true
		p.m = m
		if d := at(n); d.num && len(d.s) <= 2 && !isPunct(at(n+1), ":") {
			p.d = atoi(d.s)
			n++
			if s := at(n).s; s == "st" || s == "nd" || s == "rd" || s == "th" {
				n++
			}
			if y := at(n); y.num && len(y.s) == 4 {
				p.y = atoi(y.s)
				n++
			}
		} else if y := at(n); y.num && len(y.s) == 4 {
			p.y = atoi(y.s)
			p.d = 1
			n++
		}
		return n, nil
	}
	// ordinal day numbers: "1st", "22nd"
	if t.num && len(t.s) <= 2 {
		if s := at(1).s; (s == "st" || s == "nd" || s == "rd" || s == "th") && !at(1).sep {
			p.haveDate = true
			p.d = atoi(t.s)
			return 2, nil
		}
	}
	// a lone year after a date without one: "Jan 1 2020" is handled above
	if t.num && len(t.s) == 4 && p.haveDate && p.y == unset {
		p.y = atoi(t.s)
		return 1, nil
	}
	// keywords
	switch t.s {
	case "now":
		return 1, nil
	case "today", "midnight":
		p.unhaveTime()
		return 1, nil
	case "noon":
		p.unhaveTime()
		p.setTime(12, 0, 0, 0)
		return 1, nil
	case "tomorrow":
		p.haveRel = true
		p.unhaveTime()
		p.rel.d = 1
		return 1, nil
	case "yesterday":
		p.haveRel = true
		p.unhaveTime()
		p.rel.d = -1
		return 1, nil
	case "ago":
		p.rel = relTime{y: -p.rel.y, m: -p.rel.m, d: -p.rel.d, h: -p.rel.h, i: -p.rel.i, s: -p.rel.s,
			weekday: -p.rel.weekday, wdayBehavior: p.rel.wdayBehavior}
		return 1, nil
	case "t":
		if at(1).num {
			return 1, nil // the T of 2024-02-29T13:45
		}
	}
	// first day of / last day of
	if (t.s == "first" || t.s == "last") && at(1).s == "day" && at(2).s == "of" {
		p.haveRel = true
		if t.s == "first" {
			p.firstLast = 1
		} else {
			p.firstLast = 2
		}
		return 3, nil
	}
	// next monday, last year, this week, +1 day, 3 weeks, -2 hours
	if amount, ok := relWords[t.s]; ok {
		if unit, wday, ok := relUnit(at(1).s); ok {
			behavior := 0
			if t.s == "this" {
				behavior = 1
			}
			p.relative(amount, unit, wday, behavior, false)
			return 2, nil
		}
	}
	sign := 1
	n := 0
	if isPunct(t, "+") || isPunct(t, "-") {
		if t.s == "-" {
			sign = -1
		}
		n = 1
	}
	if num := at(n); num.num {
		if unit, wday, ok := relUnit(at(n + 1).s); ok {
			p.relative(sign*atoi(num.s), unit, wday, 1, true)
			return n + 2, nil
		}
	}
	// day names: "monday" (this or the coming one), "sat,"
	if d, ok := dayNames[t.s]; ok {
		if p.haveDate && p.d != unset {
			return 1, nil // "Tue, 14 Nov 2023": the date decides
		}
		p.haveRel, p.haveWday = true, true
		p.unhaveTime()
		p.rel.weekday = d
		if p.rel.wdayBehavior != 2 {
			p.rel.wdayBehavior = 1
		}
		return 1, nil
	}
	// time zones: +05:00, +0500, -03, GMT+2, UTC, EST, Europe/Paris
	if isPunct(t, "+") || isPunct(t, "-") || t.s == "gmt" && (isPunct(at(1), "+") || isPunct(at(1), "-")) {
		k := 0
		if t.s == "gmt" {
			k = 1
		}
		if sg := at(k); at(k + 1).num {
			hh, mm := 0, 0
			digits := at(k + 1).s
			used := k + 2
			switch {
			case len(digits) <= 2 && isPunct(at(k+2), ":") && at(k+3).num:
				hh, mm = atoi(digits), atoi(at(k+3).s)
				used = k + 4
			case len(digits) <= 2:
				hh = atoi(digits)
			case len(digits) == 4:
				hh, mm = atoi(digits[:2]), atoi(digits[2:])
			case len(digits) == 3:
				hh, mm = atoi(digits[:1]), atoi(digits[1:])
			default:
				return 0, nil
			}
			off := hh*3600 + mm*60
			if sg.s == "-" {
				off = -off
			}
			p.loc = offsetZone(off)
			return used, nil
		}
	}
	if off, ok := zoneAbbrs[t.s]; ok {
		if t.s == "utc" {
			p.loc = time.UTC
		} else {
			p.loc = time.FixedZone(strings.ToUpper(t.s), off)
		}
		return 1, nil
	}
	// identifiers: Area/Location(/More)
	if !t.num && isPunct(at(1), "/") && !at(2).num && at(2).s != "" {
		n := 1
		name := raw[i].s
		for isPunct(at(n), "/") && at(n+1).s != "" && !at(n+1).num {
			name += "/" + raw[i+n+1].s
			n += 2
		}
		for n < len(toks) && (isPunct(at(n), "-") || isPunct(at(n), "_")) && !at(n+1).num && at(n+1).s != "" {
			name += raw[i+n].s + raw[i+n+1].s
			n += 2
		}
		loc, err := time.LoadLocation(name)
		if err != nil {
			return 0, fmt.Errorf("cannot read %q as a date: unknown time zone %q", strings.Join(tokensText(raw), ""), name)
		}
		p.loc = loc
		return n, nil
	}
	if isPunct(t, ".") {
		return 1, nil
	}
	return 0, nil
}

func meridian(h int, m string) int {
	h %= 12
	if m[0] == 'p' {
		h += 12
	}
	return h
}

// meridianLen counts the tokens of "am", "pm", "a.m." or "p.m.".
func meridianLen(toks []dateToken, i int) int {
	if toks[i].s == "a" || toks[i].s == "p" {
		if i+3 < len(toks) && isPunct(toks[i+1], ".") && toks[i+2].s == "m" && isPunct(toks[i+3], ".") {
			return 4
		}
		if i+2 < len(toks) && isPunct(toks[i+1], ".") && toks[i+2].s == "m" {
			return 3
		}
	}
	return 1
}

// relative adds amount units (timelib_set_relative).
func (p *dateParse) relative(amount int, unit byte, wday, behavior int, keepTime bool) {
	p.haveRel = true
	switch unit {
	case 'y':
		p.rel.y += amount
	case 'm':
		p.rel.m += amount
	case 'd':
		p.rel.d += amount
	case 'w':
		p.rel.d += 7 * amount
	case 'f':
		p.rel.d += 14 * amount
	case 'h':
		p.rel.h += amount
	case 'i':
		p.rel.i += amount
	case 's':
		p.rel.s += amount
	case 'W':
		p.haveWday = true
		if !keepTime {
			p.unhaveTime()
		}
		if amount > 0 {
			p.rel.d += (amount - 1) * 7
		} else {
			p.rel.d += amount * 7
		}
		p.rel.weekday = wday
		p.rel.wdayBehavior = behavior
	}
}

// offsetZone is a UTC offset as a zone, named as PHP prints it (+05:00).
func offsetZone(off int) *time.Location {
	sign := '+'
	a := off
	if a < 0 {
		sign, a = '-', -a
	}
	return time.FixedZone(fmt.Sprintf("%c%02d:%02d", sign, a/3600, a/60%60), off)
}

// isOffsetZone reports whether loc is an offset zone of offsetZone.
func isOffsetZone(loc *time.Location) bool {
	n := loc.String()
	return len(n) == 6 && (n[0] == '+' || n[0] == '-') && n[3] == ':'
}

// resolve gives the time the text means from base (new DateTime(text)
// when modify is false, DateTime::modify(text) when it is true).
func (p *dateParse) resolve(base time.Time, modify bool) time.Time {
	if p.ts != nil {
		t := time.Unix(*p.ts, p.tsNanos).In(p.loc)
		if !p.haveRel {
			return t
		}
		base, modify = t, true
	}
	loc := base.Location()
	if p.loc != nil && !modify {
		loc = p.loc
		base = base.In(loc)
	}
	y, mo, d := base.Date()
	m := int(mo)
	h, mi, s := base.Clock()
	ns := base.Nanosecond()
	if modify {
		if p.y != unset {
			y = p.y
		}
		if p.m != unset {
			m = p.m
		}
		if p.d != unset {
			d = max(p.d, 1)
		}
		if p.h != unset {
			h, mi, s = p.h, 0, 0
			if p.i != unset {
				mi = p.i
				if p.s != unset {
					s = p.s
				}
			}
		}
		if p.ns != unset {
			ns = p.ns
		}
	} else {
		if p.haveDate && !p.haveTime && p.h == unset {
			h, mi, s, ns = 0, 0, 0, 0
		}
		if p.y != unset || p.m != unset || p.d != unset || p.h != unset {
			ns = 0
		}
		if p.y != unset {
			y = p.y
		}
		if p.m != unset {
			m = p.m
		}
		if p.d != unset {
			d = p.d
		}
		if p.h != unset {
			h = p.h
		}
		if p.i != unset {
			mi = p.i
		}
		if p.s != unset {
			s = p.s
		}
		if p.ns != unset {
			ns = p.ns
		}
	}
	// do_adjust_relative: the weekday first, then the units, then first or
	// last day of the month
	if p.haveWday {
		cur := int(time.Date(y, time.Month(m), d, 12, 0, 0, 0, time.UTC).Weekday())
		diff := p.rel.weekday - cur
		if p.rel.d < 0 && diff < 0 || p.rel.d >= 0 && diff <= -p.rel.wdayBehavior {
			diff += 7
		}
		if p.rel.weekday >= 0 {
			d += diff
		} else {
			d -= 7 - (-p.rel.weekday - cur)
		}
	}
	if p.haveRel {
		y += p.rel.y
		m += p.rel.m
		d += p.rel.d
		h += p.rel.h
		mi += p.rel.i
		s += p.rel.s
	}
	switch p.firstLast {
	case 1:
		t := time.Date(y, time.Month(m), 1, 0, 0, 0, 0, time.UTC)
		y, m, d = t.Year(), int(t.Month()), 1
	case 2:
		t := time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC)
		y, m, d = t.Year(), int(t.Month()), t.Day()
	}
	return time.Date(y, time.Month(m), d, h, mi, s, ns, loc)
}

// StrToTime reads text as PHP's strtotime does, relative to now (in now's
// zone, unless the text gives one): absolute dates and times, "@"
// timestamps, zones, and relative parts such as "+1 day", "next monday"
// or "first day of next month". ok is false when the text is not
// understood.
func StrToTime(text string, now time.Time) (time.Time, bool) {
	if strings.TrimSpace(text) == "" {
		return time.Time{}, false
	}
	p, err := parseDateText(text)
	if err != nil {
		return time.Time{}, false
	}
	return p.resolve(now, false), true
}

func tokensText(toks []dateToken) []string {
	out := make([]string, len(toks))
	for i, t := range toks {
		if t.sep && i > 0 {
			out[i] = " " + t.s
		} else {
			out[i] = t.s
		}
	}
	return out
}

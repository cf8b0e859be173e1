package automations

import (
	"strconv"
	"strings"
	"time"
)

// strtotime is the subset of PHP's strtotime that scripts use with @date:
// Unix timestamps ("@1735689600"; a bare number fails, as in PHP, except
// four digits, a time of day), "now", "today",
// "tomorrow", "yesterday", relative offsets ("+2 hours", "-1 day",
// "3 weeks ago", "+1 day 2 hours"), and absolute dates (RFC 3339,
// "2025-01-01", "2025-01-01 08:00[:00]", "Jan 1 2025 08:00",
// "January 1, 2025", "1 Jan 2025", RFC 1123), optionally followed by
// relative offsets. Dates without a zone are UTC (Cerb's default); a zone
// may follow the date (UTC, GMT, Z, ±hh:mm, ±hhmm, a common abbreviation
// such as EST or CEST, or an IANA name). ok is false when the text is not
// understood.
func strtotime(s string, now time.Time) (int64, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false
	}
	if strings.HasPrefix(s, "@") {
		i, err := strconv.ParseInt(s[1:], 10, 64)
		return i, err == nil
	}
	if allDigits(s) {
		// PHP reads four digits as a time of day ("2025" is 20:25 today)
		// and fails on other bare numbers ("1700000000").
		if len(s) == 4 {
			h, m := int(s[0]-'0')*10+int(s[1]-'0'), int(s[2]-'0')*10+int(s[3]-'0')
			if h < 24 && m < 60 {
				now = now.UTC()
				return time.Date(now.Year(), now.Month(), now.Day(), h, m, 0, 0, time.UTC).Unix(), true
			}
		}
		return 0, false
	}
	base, rest, ok := absoluteDate(s, now)
	if !ok {
		return 0, false
	}
	// A zone after the date: "Jan 1 2025 08:00 UTC", "... +02:00", "... EST".
	if first, after, _ := strings.Cut(rest, " "); first != "" {
		if loc, ok := zoneLocation(first); ok {
			base = time.Date(base.Year(), base.Month(), base.Day(), base.Hour(), base.Minute(), base.Second(), base.Nanosecond(), loc)
			rest = strings.TrimSpace(after)
		}
	}
	t, ok := applyRelative(base, rest)
	if !ok {
		return 0, false
	}
	return t.Unix(), true
}

// absoluteDate reads the leading absolute part of s (or a keyword) and
// returns it with the remaining text.
func absoluteDate(s string, now time.Time) (time.Time, string, bool) {
	now = now.UTC()
	lower := strings.ToLower(s)
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	for _, kw := range []struct {
		word string
		t    time.Time
	}{
		{"now", now},
		{"today", day},
		{"midnight", day},
		{"tomorrow", day.AddDate(0, 0, 1)},
		{"yesterday", day.AddDate(0, 0, -1)},
	} {
		if lower == kw.word || strings.HasPrefix(lower, kw.word+" ") {
			return kw.t, strings.TrimSpace(s[len(kw.word):]), true
		}
	}
	if c := s[0]; c == '+' || c == '-' || (c >= '0' && c <= '9' && looksRelative(lower)) {
		return now, s, true
	}
	// Try the longest prefix (by words) that parses as an absolute date.
	dateLayouts := [...]string{
		time.RFC3339Nano,
		"2006-01-02T15:04:05Z0700",
		"2006-01-02T15:04:05",
		"2006-01-02 15:04:05",
		"2006-01-02 15:04",
		"2006-01-02T15:04",
		"2006-01-02",
		time.RFC1123Z,
		time.RFC1123,
		time.RFC850,
		time.ANSIC,
		"Jan 2 2006 15:04:05",
		"Jan 2 2006 15:04",
		"Jan 2 2006 3:04pm",
		"Jan 2 2006 3pm",
		"Jan 2 2006",
		"Jan 2, 2006 15:04:05",
		"Jan 2, 2006 15:04",
		"Jan 2, 2006",
		"January 2 2006 15:04:05",
		"January 2 2006 15:04",
		"January 2 2006",
		"January 2, 2006 15:04",
		"January 2, 2006",
		"2 Jan 2006 15:04:05",
		"2 Jan 2006 15:04",
		"2 Jan 2006",
		"2 January 2006",
		"01/02/2006 15:04",
		"01/02/2006",
	}
	words := strings.Fields(s)
	for n := len(words); n > 0; n-- {
		head := strings.Join(words[:n], " ")
		for _, layout := range dateLayouts {
			if t, err := time.ParseInLocation(layout, head, time.UTC); err == nil {
				return t, strings.Join(words[n:], " "), true
			}
		}
	}
	return time.Time{}, "", false
}

func looksRelative(lower string) bool {
	f := strings.Fields(lower)
	if len(f) < 2 {
		return false
	}
	_, ok := relUnit(f[1])
	return ok
}

func relUnit(w string) (string, bool) {
	w = strings.TrimSuffix(strings.ToLower(w), "s")
	switch w {
	case "sec", "second":
		return "second", true
	case "min", "minute":
		return "minute", true
	case "hour":
		return "hour", true
	case "day":
		return "day", true
	case "week":
		return "week", true
	case "fortnight":
		return "fortnight", true
	case "month":
		return "month", true
	case "year":
		return "year", true
	}
	return "", false
}

// applyRelative adds offsets like "+2 hours -1 day" or "3 days ago" to t.
func applyRelative(t time.Time, rest string) (time.Time, bool) {
	f := strings.Fields(strings.ToLower(rest))
	for i := 0; i < len(f); {
		tok := f[i]
		var numText, unitText string
		// "+2hours" or "+2 hours"
		j := 0
		if j < len(tok) && (tok[j] == '+' || tok[j] == '-') {
			j++
		}
		for j < len(tok) && tok[j] >= '0' && tok[j] <= '9' {
			j++
		}
		if j == len(tok) {
			if i+1 >= len(f) {
				return time.Time{}, false
			}
			numText, unitText = tok, f[i+1]
			i += 2
		} else {
			numText, unitText = tok[:j], tok[j:]
			i++
		}
		n, err := strconv.Atoi(strings.TrimPrefix(numText, "+"))
		if err != nil {
			return time.Time{}, false
		}
		unit, ok := relUnit(unitText)
		if !ok {
			return time.Time{}, false
		}
		if i < len(f) && f[i] == "ago" {
			n = -n
			i++
		}
		switch unit {
		case "second":
			t = t.Add(time.Duration(n) * time.Second)
		case "minute":
			t = t.Add(time.Duration(n) * time.Minute)
		case "hour":
			t = t.Add(time.Duration(n) * time.Hour)
		case "day":
			t = t.AddDate(0, 0, n)
		case "week":
			t = t.AddDate(0, 0, 7*n)
		case "fortnight":
			t = t.AddDate(0, 0, 14*n)
		case "month":
			t = t.AddDate(0, n, 0)
		case "year":
			t = t.AddDate(n, 0, 0)
		}
	}
	return t, true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// zoneAbbreviations are the fixed offsets (hours) of the zone
// abbreviations PHP knows that scripts are likely to write.
var zoneAbbreviations = map[string]float64{
	"utc": 0, "gmt": 0, "z": 0, "ut": 0, "wet": 0, "bst": 1, "west": 1, "cet": 1, "cest": 2, "met": 1, "mest": 2,
	"eet": 2, "eest": 3, "msk": 3, "ist": 5.5, "jst": 9, "kst": 9, "hkt": 8, "sgt": 8, "aest": 10, "aedt": 11,
	"acst": 9.5, "awst": 8, "nzst": 12, "nzdt": 13, "est": -5, "edt": -4, "cst": -6, "cdt": -5, "mst": -7,
	"mdt": -6, "pst": -8, "pdt": -7, "akst": -9, "akdt": -8, "hst": -10, "ast": -4, "adt": -3, "nst": -3.5, "ndt": -2.5,
}

// zoneLocation reads a zone written after a date.
func zoneLocation(w string) (*time.Location, bool) {
	if off, ok := zoneAbbreviations[strings.ToLower(w)]; ok {
		return time.FixedZone(strings.ToUpper(w), int(off*3600)), true
	}
	if c := w[0]; c == '+' || c == '-' {
		// ±hh:mm or ±hhmm ("+2" is read as a relative offset instead).
		d := strings.Replace(w[1:], ":", "", 1)
		if !allDigits(d) || len(d) != 4 || (len(w) == 6 && w[3] != ':') {
			return nil, false
		}
		h, _ := strconv.Atoi(d[:2])
		m, _ := strconv.Atoi(d[2:])
		off := h*3600 + m*60
		if c == '-' {
			off = -off
		}
		return time.FixedZone(w, off), true
	}
	if strings.Contains(w, "/") {
		if loc, err := time.LoadLocation(w); err == nil {
			return loc, true
		}
	}
	return nil, false
}

// timestampOrDate reads a Unix time written as a number, else a date as
// strtotime does (storage.set expires:, date inputs).
func timestampOrDate(s string, now time.Time) (int64, bool) {
	if i, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64); err == nil {
		return i, true
	}
	return strtotime(s, now)
}

package templates

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // time zones even where the system has none

	"github.com/hookhost/hookhost/templates/dict"
)

// defaultDateFormat is Twig's default date format.
const defaultDateFormat = "F j, Y H:i"

// dateTime is a PHP DateTime object, as the date() function and the
// date_modify filter give it: an instant and its time zone.
type dateTime struct{ t time.Time }

// String prints the date as ISO 8601 (PHP cannot print a DateTime; see
// toStr).
func (d dateTime) String() string { return d.t.Format("2006-01-02T15:04:05-07:00") }

// jsonValue is json_encode's view of a DateTime: its public properties.
func (d dateTime) jsonValue() *dict.Map {
	zoneType, zone := int64(3), d.t.Location().String()
	switch {
	case isOffsetZone(d.t.Location()):
		zoneType = 1
	case zone != "UTC" && !strings.Contains(zone, "/") && zone != "Local":
		zoneType = 2
	}
	return dict.Of("date", d.t.Format("2006-01-02 15:04:05.000000"), "timezone_type", zoneType, "timezone", zone)
}

// phpZone reads a time zone as new DateTimeZone(name) does: an
// identifier, an offset (+05:00) or an abbreviation.
func phpZone(name string) (*time.Location, error) {
	if strings.EqualFold(name, "utc") {
		return time.UTC, nil
	}
	if name != "" && (name[0] == '+' || name[0] == '-') {
		p, err := parseDateText(name)
		if err == nil && p.loc != nil && !p.haveDate && !p.haveTime && !p.haveRel {
			return p.loc, nil
		}
	} else if off, ok := zoneAbbrs[strings.ToLower(name)]; ok && !strings.Contains(name, "/") {
		if _, err := time.LoadLocation(name); err != nil {
			return time.FixedZone(strings.ToUpper(name), off), nil
		}
	}
	if loc, err := time.LoadLocation(name); err == nil && name != "" && name != "Local" {
		return loc, nil
	}
	return nil, fmt.Errorf("unknown timezone %q", name)
}

// tzArg reads the timezone argument of the date filter and the date()
// function: nil is the default zone (UTC), false keeps the date's zone.
func tzArg(x any) (loc *time.Location, keep bool, err error) {
	switch v := x.(type) {
	case nil:
		return time.UTC, false, nil
	case bool:
		if !v {
			return nil, true, nil
		}
	}
	loc, err = phpZone(toStr(x))
	return loc, false, err
}

// toDateTime is Twig's twig_date_converter: a DateTime from a DateTime,
// null or "now" (the current time), a Unix time (digits, as "@" + digits),
// or date text read in the default zone (UTC); then moved to loc unless
// keep is set.
func toDateTime(in any, loc *time.Location, keep bool) (time.Time, error) {
	var t time.Time
	switch v := in.(type) {
	case *dateTime:
		t = v.t
	case dateTime:
		t = v.t
	case nil:
		if keep {
			return time.Now().In(time.UTC), nil
		}
		return time.Now().In(loc), nil
	case *dict.Map, []any:
		return time.Time{}, fmt.Errorf("expects a date, got a %s", dict.TypeName(in))
	default:
		s := toStr(v)
		if s == "now" {
			if keep {
				return time.Now().In(time.UTC), nil
			}
			return time.Now().In(loc), nil
		}
		digits := strings.TrimPrefix(s, "-")
		if digits != "" && strings.Trim(digits, "0123456789") == "" {
			s = "@" + s
		}
		p, err := parseDateText(s)
		if err != nil {
			return time.Time{}, err
		}
		t = p.resolve(time.Now().In(time.UTC), false)
	}
	if !keep {
		t = t.In(loc)
	}
	return t, nil
}

// fDate is date(format, timezone) with PHP's format letters.
func fDate(st *state, in any, args ...any) (any, error) {
	loc, keep, err := tzArg(arg(args, 1, nil))
	if err != nil {
		return nil, err
	}
	t, err := toDateTime(in, loc, keep)
	if err != nil {
		return nil, err
	}
	format := toStr(arg(args, 0, defaultDateFormat))
	// One format letter prints at most 32 bytes.
	if err := st.wantString(32 * int64(len(format))); err != nil {
		return nil, err
	}
	return phpDate(format, t), nil
}

// fDateModify is date_modify(modifier): DateTime::modify on the date in
// its own zone; a modifier PHP cannot read gives false.
func fDateModify(in any, args ...any) (any, error) {
	t, err := toDateTime(in, nil, true)
	if err != nil {
		return nil, err
	}
	p, err := parseDateText(toStr(arg(args, 0, "")))
	if err != nil {
		return false, nil
	}
	return &dateTime{t: p.resolve(t, true)}, nil
}

// fnDate is the date(date, timezone) function: a DateTime.
func fnDate(_ any, args ...any) (any, error) {
	loc, keep, err := tzArg(arg(args, 1, nil))
	if err != nil {
		return nil, err
	}
	t, err := toDateTime(arg(args, 0, nil), loc, keep)
	if err != nil {
		return nil, err
	}
	return &dateTime{t: t}, nil
}

// toTime reads a value as a date for Cerb's filters (date_pretty): a
// DateTime, a Unix time, or date text read in loc.
func toTime(in any, loc *time.Location) (time.Time, error) {
	switch v := in.(type) {
	case int64:
		return time.Unix(v, 0).In(loc), nil
	case float64:
		sec, frac := math.Modf(v)
		return time.Unix(int64(sec), int64(frac*1e9)).In(loc), nil
	}
	return toDateTime(in, loc, false)
}

// phpDate formats t with PHP's date() letters; a backslash escapes the
// next character.
func phpDate(format string, t time.Time) string {
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		c := format[i]
		switch c {
		case '\\':
			if i+1 < len(format) {
				i++
				b.WriteByte(format[i])
			}
		case 'd':
			b.WriteString(pad2(t.Day()))
		case 'D':
			b.WriteString(t.Format("Mon"))
		case 'j':
			b.WriteString(strconv.Itoa(t.Day()))
		case 'l':
			b.WriteString(t.Weekday().String())
		case 'N':
			wd := int(t.Weekday())
			if wd == 0 {
				wd = 7
			}
			b.WriteString(strconv.Itoa(wd))
		case 'S':
			b.WriteString(ordinalSuffix(t.Day()))
		case 'w':
			b.WriteString(strconv.Itoa(int(t.Weekday())))
		case 'z':
			b.WriteString(strconv.Itoa(t.YearDay() - 1))
		case 'W':
			_, w := t.ISOWeek()
			b.WriteString(pad2(w))
		case 'F':
			b.WriteString(t.Month().String())
		case 'm':
			b.WriteString(pad2(int(t.Month())))
		case 'M':
			b.WriteString(t.Format("Jan"))
		case 'n':
			b.WriteString(strconv.Itoa(int(t.Month())))
		case 't':
			b.WriteString(strconv.Itoa(time.Date(t.Year(), t.Month()+1, 0, 0, 0, 0, 0, t.Location()).Day()))
		case 'L':
			y := t.Year()
			if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
				b.WriteByte('1')
			} else {
				b.WriteByte('0')
			}
		case 'o':
			y, _ := t.ISOWeek()
			b.WriteString(strconv.Itoa(y))
		case 'Y':
			y := t.Year()
			if y < 0 {
				b.WriteByte('-')
				y = -y
			}
			fmt.Fprintf(&b, "%04d", y)
		case 'X', 'x':
			y := t.Year()
			switch {
			case y < 0:
				fmt.Fprintf(&b, "-%04d", -y)
			case y >= 10000 || c == 'X':
				fmt.Fprintf(&b, "+%04d", y)
			default:
				fmt.Fprintf(&b, "%04d", y)
			}
		case 'B':
			// Swatch Internet time: thousandths of a day in UTC+1
			r := (t.Unix()%86400 + 3600) * 10
			if r < 0 {
				r += 864000
			}
			fmt.Fprintf(&b, "%03d", (r/864)%1000)
		case 'y':
			b.WriteString(pad2(t.Year() % 100))
		case 'a':
			b.WriteString(t.Format("pm"))
		case 'A':
			b.WriteString(t.Format("PM"))
		case 'g':
			b.WriteString(t.Format("3"))
		case 'G':
			b.WriteString(strconv.Itoa(t.Hour()))
		case 'h':
			b.WriteString(t.Format("03"))
		case 'H':
			b.WriteString(pad2(t.Hour()))
		case 'i':
			b.WriteString(pad2(t.Minute()))
		case 's':
			b.WriteString(pad2(t.Second()))
		case 'u':
			b.WriteString(fmt.Sprintf("%06d", t.Nanosecond()/1000))
		case 'v':
			b.WriteString(fmt.Sprintf("%03d", t.Nanosecond()/1e6))
		case 'e':
			b.WriteString(t.Location().String())
		case 'I':
			if t.IsDST() {
				b.WriteByte('1')
			} else {
				b.WriteByte('0')
			}
		case 'O':
			b.WriteString(t.Format("-0700"))
		case 'P':
			b.WriteString(t.Format("-07:00"))
		case 'p':
			if _, off := t.Zone(); off == 0 {
				b.WriteByte('Z')
			} else {
				b.WriteString(t.Format("-07:00"))
			}
		case 'T':
			if isOffsetZone(t.Location()) {
				b.WriteString(t.Format("GMT-0700"))
			} else {
				b.WriteString(t.Format("MST"))
			}
		case 'Z':
			_, off := t.Zone()
			b.WriteString(strconv.Itoa(off))
		case 'c':
			b.WriteString(t.Format("2006-01-02T15:04:05-07:00"))
		case 'r':
			b.WriteString(t.Format("Mon, 02 Jan 2006 15:04:05 -0700"))
		case 'U':
			b.WriteString(strconv.FormatInt(t.Unix(), 10))
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func pad2(n int) string {
	if n < 10 && n >= 0 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}

func ordinalSuffix(d int) string {
	if d%100 >= 11 && d%100 <= 13 {
		return "th"
	}
	switch d % 10 {
	case 1:
		return "st"
	case 2:
		return "nd"
	case 3:
		return "rd"
	}
	return "th"
}

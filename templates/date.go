package templates

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// defaultDateFormat is Twig's default date format.
const defaultDateFormat = "F j, Y H:i"

// dateLayouts are the date texts the date filter understands, besides
// "now" and Unix timestamps.
var dateLayouts = []string{
	time.RFC3339Nano, time.RFC3339, "2006-01-02T15:04:05", "2006-01-02 15:04:05",
	"2006-01-02 15:04:05 -0700", "2006-01-02 15:04:05 MST", "2006-01-02 15:04", "2006-01-02",
	time.RFC1123Z, time.RFC1123, time.RFC850, time.RFC822Z, time.RFC822, time.ANSIC,
	"Mon, 2 Jan 2006 15:04:05 -0700", "Mon, 2 Jan 2006 15:04:05 MST", "2 Jan 2006", "January 2, 2006",
	"Jan 2, 2006", "01/02/2006", "2006/01/02", "15:04:05", "15:04",
}

// fDate is date(format, timezone) with PHP format letters.
func fDate(st *state, in any, args ...any) (any, error) {
	loc := time.UTC
	if tz := toStr(arg(args, 1, "")); tz != "" {
		l, err := time.LoadLocation(tz)
		if err != nil {
			return nil, fmt.Errorf("unknown timezone %q", tz)
		}
		loc = l
	}
	t, err := toTime(in, loc)
	if err != nil {
		return nil, err
	}
	format := toStr(arg(args, 0, defaultDateFormat))
	// One format letter prints at most 32 bytes.
	if err := st.wantString(32 * int64(len(format))); err != nil {
		return nil, err
	}
	return phpDate(format, t.In(loc)), nil
}

// toTime reads "now", Unix timestamps (numbers or numeric text), relative
// "+1 day"-style offsets from now, and the dateLayouts.
func toTime(in any, loc *time.Location) (time.Time, error) {
	switch t := in.(type) {
	case nil:
		return time.Now(), nil
	case int64:
		return time.Unix(t, 0), nil
	case float64:
		sec, frac := math.Modf(t)
		return time.Unix(int64(sec), int64(frac*1e9)), nil
	}
	s := strings.TrimSpace(toStr(in))
	if s == "" || strings.EqualFold(s, "now") {
		return time.Now(), nil
	}
	if i, err := strconv.ParseInt(strings.TrimPrefix(s, "@"), 10, 64); err == nil {
		return time.Unix(i, 0), nil
	}
	switch strings.ToLower(s) {
	case "today":
		n := time.Now().In(loc)
		return time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, loc), nil
	case "tomorrow":
		n := time.Now().In(loc)
		return time.Date(n.Year(), n.Month(), n.Day()+1, 0, 0, 0, 0, loc), nil
	case "yesterday":
		n := time.Now().In(loc)
		return time.Date(n.Year(), n.Month(), n.Day()-1, 0, 0, 0, 0, loc), nil
	}
	if t, ok := relativeTime(s); ok {
		return t, nil
	}
	for _, l := range dateLayouts {
		if t, err := time.ParseInLocation(l, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("cannot read %q as a date", s)
}

// relativeTime reads "+1 day", "-2 hours", "3 weeks ago".
func relativeTime(s string) (time.Time, bool) {
	f := strings.Fields(strings.ToLower(s))
	ago := false
	if len(f) == 3 && f[2] == "ago" {
		ago, f = true, f[:2]
	}
	if len(f) != 2 {
		return time.Time{}, false
	}
	n, err := strconv.Atoi(strings.TrimPrefix(f[0], "+"))
	if err != nil {
		return time.Time{}, false
	}
	if ago {
		n = -n
	}
	now := time.Now()
	switch strings.TrimSuffix(f[1], "s") {
	case "sec", "second":
		return now.Add(time.Duration(n) * time.Second), true
	case "min", "minute":
		return now.Add(time.Duration(n) * time.Minute), true
	case "hour":
		return now.Add(time.Duration(n) * time.Hour), true
	case "day":
		return now.AddDate(0, 0, n), true
	case "week":
		return now.AddDate(0, 0, 7*n), true
	case "month":
		return now.AddDate(0, n, 0), true
	case "year":
		return now.AddDate(n, 0, 0), true
	}
	return time.Time{}, false
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
			b.WriteString(strconv.Itoa(t.Year()))
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
			b.WriteString(t.Format("MST"))
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

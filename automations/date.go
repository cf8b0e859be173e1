package automations

import (
	"strconv"
	"strings"
	"time"
)

// strtotime is the subset of PHP's strtotime that scripts use with @date:
// Unix timestamps ("1735689600", "@1735689600"), "now", "today",
// "tomorrow", "yesterday", relative offsets ("+2 hours", "-1 day",
// "3 weeks ago", "+1 day 2 hours"), and absolute dates (RFC 3339,
// "2025-01-01", "2025-01-01 08:00[:00]", "Jan 1 2025 08:00",
// "January 1, 2025", "1 Jan 2025", RFC 1123), optionally followed by
// relative offsets. Dates without a zone are UTC. ok is false when the text
// is not understood.
func strtotime(s string, now time.Time) (int64, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false
	}
	if strings.HasPrefix(s, "@") {
		i, err := strconv.ParseInt(s[1:], 10, 64)
		return i, err == nil
	}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i, true
	}
	base, rest, ok := absoluteDate(s, now)
	if !ok {
		return 0, false
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

package automations

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/hookhost/hookhost/templates/dict"
)

// TestPHPFloatString compares with PHP 8.2's (string)$float.
func TestPHPFloatString(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		f    float64
		want string
	}{
		{1.0e+20, "1.0E+20"},
		{1000000000000000.0, "1.0E+15"},
		{100000000000000.0, "1.0E+14"},
		{10000000000000.0, "10000000000000"},
		{123456789012345.0, "1.2345678901234E+14"},
		{12345678901234.0, "12345678901234"},
		{0.1, "0.1"},
		{0.1 + 0.2, "0.3"},
		{-1.5e-7, "-1.5E-7"},
		{1.0 / 3, "0.33333333333333"},
		{0.0001, "0.0001"},
		{1.0e-5, "1.0E-5"},
		{1.5, "1.5"},
		{-2.5, "-2.5"},
		{100.0, "100"},
		{1.0e+100, "1.0E+100"},
		{-1.0e-100, "-1.0E-100"},
		{2.5e-5, "2.5E-5"},
		{99999999999999.9, "1.0E+14"},
		{999999999999999.9, "1.0E+15"},
		{0.000123456789012345, "0.00012345678901234"},
		{1.0e+25, "1.0E+25"},
		{3.0, "3"},
		{math.Copysign(0, -1), "-0"},
		{0, "0"},
		{0.0007, "0.0007"},
		{123.456, "123.456"},
		{1.2345678901234567, "1.2345678901235"},
		{5.0e-324, "4.9406564584125E-324"},
		{1.7976931348623157e+308, "1.7976931348623E+308"},
		{math.Inf(1), "INF"},
		{math.Inf(-1), "-INF"},
		{math.NaN(), "NAN"},
	} {
		if got := phpFloatString(tc.f); got != tc.want {
			t.Errorf("phpFloatString(%v) = %q, want %q", tc.f, got, tc.want)
		}
	}
}

// TestStrtotime compares with PHP 8.2's strtotime($s, 1735718400) in UTC.
func TestStrtotime(t *testing.T) {
	t.Parallel()
	now := time.Unix(1735718400, 0)
	for s, want := range map[string]int64{
		"Jan 1 2025 08:00 UTC":            1735718400,
		"2025-01-01 08:00 +02:00":         1735711200,
		"2025-01-01T08:00:00+0200":        1735711200,
		"Jan 1 2025 08:00 GMT":            1735718400,
		"Jan 1 2025 08:00 EST":            1735736400,
		"Jan 1 2025 08:00 utc":            1735718400,
		"2025-01-01 08:00:00 Z":           1735718400,
		"2025-01-01T08:00:00Z":            1735718400,
		"2025-01-01 UTC +1 day":           1735776000,
		"tomorrow UTC":                    1735776000,
		"Wed, 01 Jan 2025 08:00:00 +0000": 1735718400,
		"2025":                            1735763100,
		"@1700000000":                     1700000000,
		"@-5":                             -5,
		"now":                             1735718400,
		"+1 day":                          1735804800,
		"2025-01-01 +2 hours":             1735696800,
		"2020-01-02 03:04:05":             1577934245,
	} {
		got, ok := strtotime(s, now)
		if !ok || got != want {
			t.Errorf("strtotime(%q) = %d, %v; want %d", s, got, ok, want)
		}
	}
	for _, s := range []string{"1700000000", "12345", "123", "0", " 1700000000 ", "not a date", ""} {
		if got, ok := strtotime(s, now); ok {
			t.Errorf("strtotime(%q) = %d; want false", s, got)
		}
	}
}

// TestPHPBodies compares the http.request body encodings with PHP 8.2's
// http_build_query (as Cerb's arrayToQueryString) and json_encode with
// JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES.
func TestPHPBodies(t *testing.T) {
	t.Parallel()
	form := dict.Of("name", "Kina Halpue", "tags", []any{"a", "b"}, "m", dict.Of("k", "v", "0", "z"),
		"t", true, "f", false, "n", nil, "e", []any{}, "u", "é/~*", "n1", 1.5, "3", "x")
	if got, want := formEncode(form), "name=Kina+Halpue&tags%5B%5D=a&tags%5B%5D=b&m%5Bk%5D=v&m%5B%5D=z&t=1&f=0&u=%C3%A9%2F%7E%2A&n1=1.5&3=x"; got != want {
		t.Errorf("formEncode:\n got %s\nwant %s", got, want)
	}
	var b strings.Builder
	phpPrettyJSON(&b, dict.Of("a", "/é😀", "l", []any{int64(1), int64(2)}, "e", dict.New(0),
		"m", dict.Of("x", 1.0, "y", nil, "z", false), "f", 0.1, "big", 1e20), 0)
	want := "{\n    \"a\": \"/\\u00e9\\ud83d\\ude00\",\n    \"l\": [\n        1,\n        2\n    ],\n    \"e\": [],\n" +
		"    \"m\": {\n        \"x\": 1,\n        \"y\": null,\n        \"z\": false\n    },\n    \"f\": 0.1,\n    \"big\": 1.0e+20\n}"
	if got := b.String(); got != want {
		t.Errorf("phpPrettyJSON:\n got %s\nwant %s", got, want)
	}
	for f, want := range map[float64]string{1e15: "1000000000000000", 1e16: "10000000000000000", 1e17: "1.0e+17",
		123456789012345678.0: "1.2345678901234568e+17", 0.0001: "0.0001", 0.00001: "1.0e-5", 1.5e-7: "1.5e-7", 1.0 / 3: "0.3333333333333333"} {
		if got := phpJSONFloat(f); got != want {
			t.Errorf("phpJSONFloat(%v) = %s, want %s", f, got, want)
		}
	}
}

// TestPHPTrim checks phpTrim's shortcut against strings.Trim, on every
// string of up to five bytes of an alphabet of the trimmed bytes and
// others.
func TestPHPTrim(t *testing.T) {
	t.Parallel()
	const alphabet = " \t\n\r\x00\x0b\x0ca\xff"
	var walk func(s string)
	walk = func(s string) {
		if got, want := phpTrim(s), strings.Trim(s, " \t\n\r\x00\x0b"); got != want {
			t.Fatalf("phpTrim(%q) = %q, want %q", s, got, want)
		}
		if len(s) < 5 {
			for i := range len(alphabet) {
				walk(s + alphabet[i:i+1])
			}
		}
	}
	walk("")
}

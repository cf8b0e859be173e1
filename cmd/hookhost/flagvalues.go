package main

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// The flag values below are pflag's int, float64, duration and bool with
// parse errors that say what was expected, whether the value came from
// the command line, an environment variable or the configuration file
// (pflag's own say "strconv.ParseInt: parsing "1MB": invalid syntax").

// intValue is an int flag.
type intValue struct{ p *int }

func (v intValue) String() string { return strconv.Itoa(*v.p) }
func (v intValue) Type() string   { return "int" }
func (v intValue) Set(s string) error {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return errors.New(want("int"))
	}
	*v.p = n
	return nil
}

// sizeValue is a size in bytes: a whole number, or one with a unit (KB,
// MB, GB are powers of 1000; KiB, MiB, GiB and K, M, G powers of 1024).
type sizeValue struct{ p *int }

func (v sizeValue) String() string { return strconv.Itoa(*v.p) }
func (v sizeValue) Type() string   { return "bytes" }
func (v sizeValue) Set(s string) error {
	n, ok := parseSize(s)
	if !ok {
		return errors.New(want("bytes"))
	}
	*v.p = n
	return nil
}

// autoSizeValue is a size in bytes whose default, auto, follows from other
// settings: it shows as no default in the help, and a negative size is no
// value it takes.
type autoSizeValue struct {
	p    *int
	auto int
}

func (v autoSizeValue) String() string {
	if *v.p == v.auto {
		return ""
	}
	return strconv.Itoa(*v.p)
}
func (v autoSizeValue) Type() string { return "bytes" }
func (v autoSizeValue) Set(s string) error {
	n, ok := parseSize(s)
	if !ok || n < 0 {
		return errors.New(want("bytes"))
	}
	*v.p = n
	return nil
}

// parseSize reads "1048576", "1MiB", "1.5MB" or "512k" as bytes.
func parseSize(s string) (int, bool) {
	s = strings.TrimSpace(s)
	upper := strings.ToUpper(s)
	mult := 1.0
	units := []struct { // longest first
		suffix string
		mult   float64
	}{
		{"KIB", 1 << 10}, {"MIB", 1 << 20}, {"GIB", 1 << 30},
		{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9},
		{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1},
	}
	for _, u := range units {
		if strings.HasSuffix(upper, u.suffix) {
			s, mult = strings.TrimSpace(s[:len(s)-len(u.suffix)]), u.mult
			break
		}
	}
	if n, err := strconv.Atoi(s); err == nil && mult == 1 {
		return n, true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || math.IsInf(f, 0) || f*mult > math.MaxInt32*1024 {
		return 0, false
	}
	return int(math.Round(f * mult)), true
}

// floatValue is a float64 flag.
type floatValue struct{ p *float64 }

func (v floatValue) String() string { return strconv.FormatFloat(*v.p, 'g', -1, 64) }
func (v floatValue) Type() string   { return "float64" }
func (v floatValue) Set(s string) error {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return errors.New(want("float64"))
	}
	*v.p = f
	return nil
}

// durationValue is a time.Duration flag.
type durationValue struct{ p *time.Duration }

func (v durationValue) String() string { return v.p.String() }
func (v durationValue) Type() string   { return "duration" }
func (v durationValue) Set(s string) error {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return errors.New(want("duration"))
	}
	*v.p = d
	return nil
}

// boolValue is a bool flag (--name alone means true).
type boolValue struct{ p *bool }

func (v boolValue) String() string   { return strconv.FormatBool(*v.p) }
func (v boolValue) Type() string     { return "bool" }
func (v boolValue) IsBoolFlag() bool { return true }
func (v boolValue) Set(s string) error {
	b, err := strconv.ParseBool(strings.TrimSpace(s))
	if err != nil {
		return errors.New(want("bool"))
	}
	*v.p = b
	return nil
}

// want says what a flag of a pflag type takes, with an example.
func want(typ string) string {
	switch typ {
	case "int", "int64", "int32", "uint", "uint64":
		return "want a whole number, e.g. 50"
	case "bytes":
		return "want a size in bytes, e.g. 1048576, 512KiB or 4MB"
	case "float64", "float32":
		return "want a number, e.g. 2.5"
	case "duration":
		return "want a duration such as 500ms, 30s, 5m or 1h"
	case "bool":
		return "want true or false"
	}
	return "want a " + typ
}

// flagError rewrites pflag's complaint about a value its own types cannot
// parse ("strconv.ParseInt: parsing …") into what the flag wants.
func flagError(err error) error {
	var ive *pflag.InvalidValueError
	if !errors.As(err, &ive) {
		return err
	}
	f := ive.GetFlag()
	switch f.Value.(type) {
	case intValue, sizeValue, floatValue, durationValue, boolValue:
		return err // already worded
	}
	return fmt.Errorf("invalid argument %q for --%s: %s", ive.GetValue(), f.Name, want(f.Value.Type()))
}

package oracle

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
)

// UpdateEnv names the environment variable that makes an oracle test
// rewrite its known-differences list from the current results instead of
// failing on regressions: HOOKHOST_ORACLE_UPDATE=1 go test -run ... .
const UpdateEnv = "HOOKHOST_ORACLE_UPDATE"

// VerboseEnv names the environment variable that makes an oracle test log
// the details of every difference, listed or not.
const VerboseEnv = "HOOKHOST_ORACLE_VERBOSE"

// DumpEnv names the environment variable that makes an oracle test write
// every result as JSON to the file it names (for analysis scripts).
const DumpEnv = "HOOKHOST_ORACLE_DUMP"

// Updating reports whether UpdateEnv is set.
func Updating() bool { return os.Getenv(UpdateEnv) != "" }

// T is the part of testing.TB a Floor reports to.
type T interface {
	Helper()
	Errorf(format string, args ...any)
	Logf(format string, args ...any)
}

// Floor compares a test's results with its floor: the known differences
// (cases hookhost is not yet faithful on) and the deliberate ones (DESIGN.md
// decides otherwise). A case that differs and is in neither list is a
// regression; a listed known difference that now matches is an
// improvement, logged so that the list can be shrunk.
type Floor struct {
	Known      List
	Deliberate List
	results    []Result
}

// Result is the comparison of one case.
type Result struct {
	Area, ID string
	Same     bool
	// Deliberate, with Same, names the DESIGN.md decision under which the
	// answers count as the same although their bytes differ.
	Deliberate string
	// Cause is a one-line description of the difference (for the
	// known-differences list).
	Cause string
	// Detail is everything needed to reproduce and read the difference.
	Detail string
	// Input, Want and Got are the case's input (template or script) and
	// the two answers, for analysis dumps (DumpEnv).
	Input, Want, Got string
}

// Add records one case's result.
func (f *Floor) Add(r Result) { f.results = append(f.results, r) }

// Results returns every recorded result.
func (f *Floor) Results() []Result { return f.results }

// Check reports totals by area, fails t for every regression (unless
// updating), and logs improvements.
func (f *Floor) Check(t T, name string) {
	t.Helper()
	type tot struct{ cases, same, deliberate, known, regress, fixed int }
	by := map[string]*tot{}
	var areas []string
	all := &tot{}
	var regress, fixed, delibSame []string
	for _, r := range f.results {
		a := by[r.Area]
		if a == nil {
			a = &tot{}
			by[r.Area] = a
			areas = append(areas, r.Area)
		}
		_, isKnown := f.Known[r.ID]
		_, isDelib := f.Deliberate[r.ID]
		for _, x := range []*tot{a, all} {
			x.cases++
			switch {
			case r.Same && r.Deliberate != "":
				x.deliberate++
				if isKnown {
					x.fixed++
				}
			case r.Same:
				x.same++
				if isKnown {
					x.fixed++
				}
			case isDelib:
				x.deliberate++
			case isKnown:
				x.known++
			default:
				x.regress++
			}
		}
		switch {
		case r.Same && isKnown:
			fixed = append(fixed, r.ID)
		case r.Same && isDelib && r.Deliberate == "":
			delibSame = append(delibSame, r.ID)
		case !r.Same && !isDelib && !isKnown:
			regress = append(regress, r.ID+"\n"+r.Detail)
		}
	}
	sort.Strings(areas)
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %-12s %6s %9s %10s %6s %10s %6s\n", name, "area", "cases", "identical", "deliberate", "known", "regression", "fixed")
	for _, area := range append(areas, "TOTAL") {
		x := all
		if area != "TOTAL" {
			x = by[area]
		}
		fmt.Fprintf(&b, "%s: %-12s %6d %9d %10d %6d %10d %6d\n", name, area, x.cases, x.same, x.deliberate, x.known, x.regress, x.fixed)
	}
	t.Logf("%s", b.String())
	if len(fixed) > 0 {
		sort.Strings(fixed)
		t.Logf("%s: %d cases of the known-differences list now match; remove them (%s=1 rewrites the list):\n  %s",
			name, len(fixed), UpdateEnv, strings.Join(fixed, "\n  "))
	}
	if len(delibSame) > 0 {
		sort.Strings(delibSame)
		t.Logf("%s: %d cases listed as deliberate differences match the oracle:\n  %s", name, len(delibSame), strings.Join(delibSame, "\n  "))
	}
	if p := os.Getenv(DumpEnv); p != "" {
		b, err := json.MarshalIndent(f.results, "", "  ")
		if err == nil {
			err = os.WriteFile(p, b, 0o644)
		}
		if err != nil {
			t.Errorf("%s: %v", DumpEnv, err)
		}
	}
	if os.Getenv(VerboseEnv) != "" {
		for _, r := range f.results {
			if !r.Same {
				t.Logf("%s: %s (%s)\n%s", name, r.ID, r.Cause, r.Detail)
			}
		}
	}
	if Updating() {
		return
	}
	for _, r := range regress {
		t.Errorf("%s: regression (not in the known-differences list):\n%s", name, r)
	}
}

// WriteKnown rewrites the known-differences list at path from the current
// results: every case that differs and is not deliberate, with its cause.
func (f *Floor) WriteKnown(path, header string) error {
	l := List{}
	for _, r := range f.results {
		if r.Same {
			continue
		}
		if _, ok := f.Deliberate[r.ID]; ok {
			continue
		}
		l[r.ID] = r.Cause
	}
	return WriteList(path, header, l)
}

// Short quotes s for a one-line cause, cut to n bytes.
func Short(s string, n int) string {
	if len(s) > n {
		cut := n
		for cut > 0 && (s[cut]&0xC0) == 0x80 {
			cut--
		}
		return fmt.Sprintf("%q…", s[:cut])
	}
	return fmt.Sprintf("%q", s)
}

// Diff describes how got differs from want in one line: both in full when
// they are short, else the first difference with some context.
func Diff(want, got string) string {
	if len(want) <= 60 && len(got) <= 60 {
		return fmt.Sprintf("want %q got %q", want, got)
	}
	i := 0
	for i < len(want) && i < len(got) && want[i] == got[i] {
		i++
	}
	from := max(i-24, 0)
	for from > 0 && from < len(want) && (want[from]&0xC0) == 0x80 {
		from--
	}
	cut := func(s string) string {
		if from >= len(s) {
			return `""`
		}
		end := min(len(s), i+36)
		for end < len(s) && (s[end]&0xC0) == 0x80 {
			end++
		}
		q := fmt.Sprintf("%q", s[from:end])
		if from > 0 {
			q = "…" + q
		}
		if end < len(s) {
			q += "…"
		}
		return q
	}
	return fmt.Sprintf("at byte %d want %s got %s", i, cut(want), cut(got))
}

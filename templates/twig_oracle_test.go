package templates

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hookhost/hookhost/internal/oracle"
	"github.com/hookhost/hookhost/templates/dict"
)

// twigOracleDir holds the cases recorded from the real Twig (php-twig
// 3.5.1) by `make oracles` (go run ./internal/oracle/twig).
var twigOracleDir = filepath.Join("..", "testdata", "twig")

const twigKnownHeader = `Twig oracle cases where hookhost's templates do not yet render what php-twig 3.5.1 renders.
templates/twig_oracle_test.go fails on a difference that is not listed here (a regression) and logs
listed cases that now match. Rewrite from the current results with:
  HOOKHOST_ORACLE_UPDATE=1 go test ./templates -run TestTwigOracle
Format: case id # cause (want = Twig, got = hookhost).`

// TestTwigOracle renders every recorded Twig case with hookhost's templates
// and compares the output byte for byte (an error on both sides counts as
// the same answer). Differences are held to a floor: the known-differences
// list and the deliberate list (DESIGN.md: a map or list prints as JSON).
func TestTwigOracle(t *testing.T) {
	t.Parallel()
	files, err := oracle.ReadDir(twigOracleDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no recorded cases in %s", twigOracleDir)
	}
	known, err := oracle.ReadList(filepath.Join(twigOracleDir, "known-differences.txt"))
	if err != nil {
		t.Fatal(err)
	}
	deliberate, err := oracle.ReadList(filepath.Join(twigOracleDir, "deliberate.txt"))
	if err != nil {
		t.Fatal(err)
	}
	floor := &oracle.Floor{Known: known, Deliberate: deliberate}
	env := New(WithTwigContext())
	ids := map[string]bool{}
	for _, f := range files {
		for _, c := range f.Cases {
			id := f.ID(c)
			ids[id] = true
			floor.Add(twigOracleCompare(env, f.Area, id, c))
		}
	}
	for _, l := range []oracle.List{known, deliberate} {
		for id := range l {
			if !ids[id] && !oracle.Updating() {
				t.Errorf("listed case %s is not recorded (stale list entry)", id)
			}
		}
	}
	floor.Check(t, "twig oracle")
	if oracle.Updating() {
		if err := floor.WriteKnown(filepath.Join(twigOracleDir, "known-differences.txt"), twigKnownHeader); err != nil {
			t.Fatal(err)
		}
	}
}

func twigOracleCompare(env *Env, area, id string, c *oracle.Case) oracle.Result {
	tpl := c.Value("template")
	vars := c.Value("vars")
	want, wantOK := c.Get("output")
	wantErr := c.Value("error")
	got, gotErr := twigOracleRender(env, tpl, vars)
	r := oracle.Result{Area: area, ID: id, Input: tpl, Want: want, Got: got}
	if !wantOK {
		r.Want = "error " + wantErr
	}
	if gotErr != nil {
		r.Got = "error " + gotErr.Error()
	}
	switch {
	case wantOK && gotErr == nil && got == want:
		r.Same = true
	case wantOK && gotErr != nil && cerbSandboxRefuses(tpl) != "":
		// Cerb renders with Twig's sandbox: it refuses what php-twig
		// (no sandbox) renders, as hookhost does.
		r.Same, r.Deliberate = true, "CERB SANDBOX: "+cerbSandboxRefuses(tpl)
	case !wantOK && gotErr != nil:
		r.Same = true // both refuse the template
	case wantOK && gotErr != nil:
		r.Cause = "hookhost error " + oracle.Short(twigOracleErrText(gotErr), 90) + "; want " + oracle.Short(want, 40)
	case !wantOK:
		r.Cause = "Twig error " + oracle.Short(twigOracleShortErr(wantErr), 70) + "; got " + oracle.Short(got, 40)
	default:
		r.Cause = oracle.Diff(want, got)
	}
	if !r.Same {
		var b strings.Builder
		fmt.Fprintf(&b, "  template: %q\n", tpl)
		if vars != "" {
			fmt.Fprintf(&b, "  vars:     %s\n", vars)
		}
		if wantOK {
			fmt.Fprintf(&b, "  twig:     %q\n", want)
		} else {
			fmt.Fprintf(&b, "  twig:     error %s\n", wantErr)
		}
		if gotErr != nil {
			fmt.Fprintf(&b, "  hookhost: error %v", gotErr)
		} else {
			fmt.Fprintf(&b, "  hookhost: %q", got)
		}
		r.Detail = b.String()
	}
	return r
}

// twigOracleRender renders tpl with vars (a JSON object) and turns a panic
// into an error.
func twigOracleRender(env *Env, tpl, vars string) (out string, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	data := dict.New(0)
	if vars != "" {
		v, err := dict.DecodeJSON([]byte(vars))
		if err != nil {
			return "", fmt.Errorf("vars: %w", err)
		}
		m, ok := v.(*dict.Map)
		if !ok {
			return "", fmt.Errorf("vars: not a JSON object")
		}
		data = m
	}
	return env.Render(tpl, data)
}

var twigOraclePos = regexp.MustCompile(`^\d+:\d+: `)

func twigOracleErrText(err error) string { return twigOraclePos.ReplaceAllString(err.Error(), "") }

// twigOracleShortErr drops Twig's ` in "t" at line 1.` and the namespace.
func twigOracleShortErr(s string) string {
	s = strings.TrimPrefix(s, `Twig\Error\`)
	if i := strings.Index(s, ` in "t" at line`); i >= 0 {
		s = s[:i]
	}
	return s
}

// Cerb's Twig sandbox (_DevblocksTemplateBuilder in Cerb's
// libs/devblocks/api/services/template_builder.php) allows the tags apply,
// do, filter, for, if, sandbox, set, verbatim and with, and of Twig's
// functions only attribute, cycle, date, max, min, random and range.
var (
	cerbSandboxTag  = regexp.MustCompile(`\{%-?~?\s*(autoescape|block|deprecated|embed|extends|flush|from|import|include|macro|use)\b`)
	cerbSandboxFunc = regexp.MustCompile(`\b(block|constant|dump|include|parent|source|template_from_string)\s*\(`)
)

// cerbSandboxRefuses says which tag or function of tpl Cerb's sandbox
// refuses, or "".
func cerbSandboxRefuses(tpl string) string {
	if m := cerbSandboxTag.FindStringSubmatch(tpl); m != nil {
		return "Cerb's sandbox refuses the tag " + m[1]
	}
	if m := cerbSandboxFunc.FindStringSubmatch(tpl); m != nil {
		return "Cerb's sandbox refuses the function " + m[1] + "()"
	}
	return ""
}

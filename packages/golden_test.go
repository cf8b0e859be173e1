package packages

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/internal/golden"
)

// fixtures is where the package fixtures live.
const fixtures = "../testdata/packages"

// fakeValidator stands in for the automation compiler: "bogus:" is an
// unknown command anywhere in a script or policy, the only triggers are the
// webhook.respond ones, and the automations that exist are
// "existing.automation" plus those the package creates.
type fakeValidator struct{}

var _ Validator = fakeValidator{}

func (fakeValidator) ValidateAutomation(name, extensionID, script, policy string) error {
	var errs []error
	if extensionID != "cerb.trigger.webhook.respond" && extensionID != "webhook.respond" {
		errs = append(errs, &FieldError{Field: "extension_id", Err: fmt.Errorf("unknown trigger %q", extensionID)})
	}
	errs = append(errs, bogus("script", script)...)
	for _, e := range bogus("policy", policy) {
		errs = append(errs, &FieldError{Field: "policy_kata", Err: e})
	}
	return errors.Join(errs...)
}

func bogus(source, text string) []error {
	var errs []error
	for i, line := range strings.Split(text, "\n") {
		if col := strings.Index(line, "bogus:"); col >= 0 {
			errs = append(errs, fmt.Errorf("%s:%d:%d: unknown command `bogus:`", source, i+1, col+1))
		}
	}
	return errs
}

func (fakeValidator) ValidateEvent(kata string, automations []string) error {
	var errs []error
	for i, line := range strings.Split(kata, "\n") {
		_, name, ok := strings.Cut(line, "uri: cerb:automation:")
		if ok && name != "existing.automation" && !slices.Contains(automations, name) {
			errs = append(errs, fmt.Errorf("event:%d:%d: automation %q does not exist", i+1, strings.Index(line, "uri")+1, name))
		}
	}
	return errors.Join(errs...)
}

// testOptions are the options every fixture is imported with.
func testOptions(seed uint64) Options {
	var s [32]byte
	s[0] = byte(seed)
	return Options{
		Version:    "1.0.0",
		Extensions: []string{"hookhost.http"},
		BaseURL:    "https://hooks.example.com",
		Validator:  fakeValidator{},
		Rand:       rand.NewChaCha8(s),
	}
}

var tokenPattern = regexp.MustCompile(`^[0-9a-f]{40}$`)

// describePlan renders a plan for a golden file, with webhook ids (which
// hold the time) replaced by <id:uid> and tokens checked and elided.
func describePlan(t *testing.T, p *Plan) string {
	t.Helper()
	for _, w := range p.Webhooks {
		require.Regexp(t, tokenPattern, w.Token)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	require.NoError(t, enc.Encode(struct {
		Plan   *Plan
		Result Result
	}{p, p.Result()}))
	out := b.String()
	for _, w := range p.Webhooks {
		out = strings.ReplaceAll(out, w.ID, "<id:"+w.UID+">")
	}
	return out
}

// TestGolden imports every package of testdata/packages and compares the
// plan (good packages) or the error (pkg.<what-is-wrong>.json) with
// <name>.golden. Run with -update to rewrite the golden files.
func TestGolden(t *testing.T) {
	t.Parallel()
	golden.Run(t, filepath.Join(fixtures, "*.json"), func(t *testing.T, f *golden.File) golden.Got {
		raw, _ := f.Section("input")
		plan, err := Import([]byte(raw), testOptions(1))
		if !strings.HasPrefix(f.Name, "pkg.") {
			require.NoError(t, err)
			return golden.Got{"want": describePlan(t, plan)}
		}
		require.Error(t, err, "a pkg.* fixture must fail")
		require.Nil(t, plan)
		var errs Errors
		require.ErrorAs(t, err, &errs)
		return golden.Got{"want": err.Error() + "\n"}
	})
}

// FuzzImport checks that no input makes Import panic, and that every
// failure is a non-empty Errors of non-empty messages.
func FuzzImport(f *testing.F) {
	files, err := filepath.Glob(filepath.Join(fixtures, "*.json"))
	require.NoError(f, err)
	for _, file := range files {
		raw, err := os.ReadFile(file)
		require.NoError(f, err)
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		opts := testOptions(2)
		plan, err := Import(raw, opts)
		if err != nil {
			require.Nil(t, plan)
			var errs Errors
			require.ErrorAs(t, err, &errs)
			require.NotEmpty(t, errs)
			for _, e := range errs {
				require.NotEmpty(t, e.Error())
			}
			return
		}
		require.NotNil(t, plan)
		require.NotZero(t, len(plan.Automations)+len(plan.Webhooks))
		for _, w := range plan.Webhooks {
			require.Regexp(t, tokenPattern, w.Token)
		}
	})
}

// FuzzRender checks the package lexer: text without package markup comes
// out byte for byte after a package comment, and no input panics.
func FuzzRender(f *testing.F) {
	for _, s := range []string{
		"{{response|json_encode}}", "{% if x %}{{x}}{% endif %}", "{# c #}", "{ {", "{", "{%", "{{",
		"{% verbatim %}x", "{{{ a }}}", "{{% if a %}}b{{% endif %}}", "{{# c #}}", `{{{ "}}}" }}}`,
	} {
		f.Add(s)
	}
	r, err := newRenderer()
	require.NoError(f, err)
	r.vars["a"] = "A"
	f.Fuzz(func(t *testing.T, s string) {
		if hasPackageMarkup(s) {
			_, _ = r.render(s)
			return
		}
		// A comment renders as nothing, and (as in Twig, trim_blocks) takes
		// the line feed right after it.
		got, err := r.render("{{# c #}}" + s)
		require.NoError(t, err)
		require.Equal(t, strings.TrimPrefix(s, "\n"), got)
	})
}

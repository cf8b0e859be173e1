package packages

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/templates"
)

// TestPlaceholdersRenderAsScripts checks that package placeholders have the
// filters, functions and printing rules of scripts.
func TestPlaceholdersRenderAsScripts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"json_encode", `{{{ "a/b"|json_encode }}}`, `"a\/b"`},
		{"json_encode of a list", `{{{ list|json_encode }}}`, `["a","b"]`},
		{"true prints 1", `{{{ key == "Hello World" }}}`, "1"},
		{"false prints nothing", `[{{{ key == "x" }}}]`, "[]"},
		{"floats print as PHP does", `{{{ 0.1 + 0.2 }}}`, "0.3"},
		{"numeric text adds", `{{{ "1" + "2" }}}`, "3"},
		{"functions", `{{{ range(1, 3)|join(",") }}} {{{ max(1, 5, 3) }}}`, "1,2,3 5"},
		{"Cerb filters", `{{{ "x"|md5 }}} {{{ key|split(" ")|first }}}`, "9dd4e461268c8034f5c8564e155c67a6 Hello"},
		{"Twig syntax", `{{{ key starts with "H" ? "yes" : "no" }}} {{{ "#{key}!" }}}`, "yes Hello World!"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := testRenderer(t).render(tt.in)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

// TestPlaceholderFaultsAndHelpers checks that a runtime fault is an error
// with a message, and that the Twig translation's helpers cannot be named.
func TestPlaceholderFaultsAndHelpers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"modulo by zero", `{{{ 1 % 0 }}}`, "template: 1:7: modulo by zero"},
		{"division by zero", `{{{ 1 / 0 }}}`, "template: 1:7: division by zero"},
		{"helper filter", `{{{ 1|_tw_add:1 }}}`, `template: 1:7: unknown filter "_tw_add"`},
		{"helper filter with arguments", `{{{ 1|_tw_add(1) }}}`, `template: 1:7: unknown filter "_tw_add"`},
		{"helper function", `{{{ _tw_list(1) }}}`, `template: 1:5: unknown function "_tw_list"`},
		{"helper variable", `{{% set _tw_t1 = 1 %}}`, `names starting with "_tw_" are reserved`},
		{"helper tag", `{{% _tw_do 1 %}}`, `template: 1:5: unknown tag "_tw_do"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := testRenderer(t).render(tt.in)
			require.Error(t, err)
			require.Contains(t, err.Error(), tt.want)
			require.NotContains(t, err.Error(), "runtime error")
		})
	}
}

// TestImportLimits checks that an import renders with the limits of the
// Env it is given, and fails with the limit's name.
func TestImportLimits(t *testing.T) {
	t.Parallel()
	small := templates.New(templates.WithLimits(templates.Limits{Loop: 1000, Time: time.Hour}))
	tests := []struct {
		name        string
		description string
		env         *templates.Env
		limit       string
	}{
		{"doubling string", `{{% set s = "xx" %}}{{% for i in 1..100 %}}{{% set s = s ~ s %}}{{% endfor %}}{{{ s|length }}}`, nil, "string"},
		{"nested loops", `{{% for i in 1..100000 %}}{{% for j in 1..100000 %}}{{% endfor %}}{{% endfor %}}`, small, "loop"},
		{"batch", `{{{ [1]|batch(50000000, 'x')|length }}}`, nil, "items"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := automation("a.b", "start:\n")
			rec["description"] = tt.description
			_, err := Import(onePackage(t, nil, rec), Options{Templates: tt.env})
			require.Error(t, err)
			var errs Errors
			require.ErrorAs(t, err, &errs)
			require.Len(t, errs, 1)
			var le *templates.LimitError
			require.True(t, errors.As(errs[0], &le), "not a limit error: %v", errs[0])
			require.Equal(t, tt.limit, le.Limit)
			require.Contains(t, err.Error(), "record (a) field description: template: ")
		})
	}
}

func TestEnabledRenderedFalse(t *testing.T) {
	t.Parallel()
	hook := map[string]any{"uid": "w", "_context": "webhook_listener", "name": "w",
		"automations_kata": "automation/a:\n  uri: cerb:automation:a.b\n", "enabled": `{{{ default.base_url == "x" }}}`}
	plan, err := Import(onePackage(t, nil, automation("a.b", "start:\n"), hook), Options{BaseURL: "https://h.example"})
	require.NoError(t, err)
	require.Len(t, plan.Webhooks, 1)
	require.False(t, plan.Webhooks[0].Enabled)
}

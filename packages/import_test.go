package packages

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// onePackage builds a package JSON with the given prompts and records.
func onePackage(t *testing.T, prompts []any, records ...map[string]any) []byte {
	t.Helper()
	if prompts == nil {
		prompts = []any{}
	}
	b, err := json.Marshal(map[string]any{
		"package": map[string]any{"name": "t", "configure": map[string]any{"prompts": prompts}},
		"records": records,
	})
	require.NoError(t, err)
	return b
}

func automation(name, script string) map[string]any {
	return map[string]any{"uid": "a", "_context": "automation", "name": name,
		"extension_id": "cerb.trigger.webhook.respond", "script": script}
}

// testRenderer returns a renderer with a few values. A renderer serves one
// import and is not safe for concurrent use.
func testRenderer(t *testing.T) *renderer {
	t.Helper()
	r, err := newRenderer()
	require.NoError(t, err)
	r.vars["key"] = "Hello World"
	r.vars["list"] = []string{"a", "b"}
	r.vars["default"] = map[string]any{"base_url": "https://h.example"}
	r.vars["uid"] = map[string]any{"auto_x": "acme.x", "my-hook": "0190-id"}
	r.vars["html"] = "<b>&</b>"
	return r
}

func TestRenderPackageSyntax(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"no markup is untouched", "body@text: {{response|json_encode}} {% if x %}y{% endif %}", "body@text: {{response|json_encode}} {% if x %}y{% endif %}"},
		{"placeholder", "v: {{{key}}}", "v: Hello World"},
		{"filter", "{{{ key|lower }}}", "hello world"},
		{"filter with argument", `{{{ list|join:"+" }}}`, "a+b"},
		{"default.base_url", "{{{default.base_url}}}/webhooks", "https://h.example/webhooks"},
		{"uid", "cerb:automation:{{{uid.auto_x}}}", "cerb:automation:acme.x"},
		{"uid by subscript", `{{{ uid["my-hook"] }}}`, "0190-id"},
		{"no autoescape", "{{{html}}}", "<b>&</b>"},
		{"comment dropped", "a{{# note #}}b", "ab"},
		{"multi-line comment", "a{{# one\ntwo #}}b", "ab"},
		{"tag", "{{% if key %}}yes{{% else %}}no{{% endif %}}", "yes"},
		{"for tag", "{{% for x in list %}}[{{{x}}}]{{% endfor %}}", "[a][b]"},
		{"newline in expression", "{{{ key\n|upper }}}", "HELLO WORLD"},
		{"script syntax passes through", "{{{key}}}: {{ response|json_encode }} {% if x %}{{x}}{% endif %} {# c #}", "Hello World: {{ response|json_encode }} {% if x %}{{x}}{% endif %} {# c #}"},
		{"hash literal with a space", "{{{key}}} {{ {'a':1}|json_encode }}", "Hello World {{ {'a':1}|json_encode }}"},
		{"verbatim text is not a tag", "{{{key}}}{% verbatim %}{{x}}", "Hello World{% verbatim %}{{x}}"},
		{"brace before placeholder", "x{ {{{key}}}}", "x{ Hello World}"},
		{"lone braces", "{ {{{key}}} }", "{ Hello World }"},
		{"trailing brace", "{{{key}}}{", "Hello World{"},
		{"string holding closer", `{{{ "}}}" }}}`, "}}}"},
		{"missing value is empty", "[{{{nope}}}]", "[]"},
		{"CRLF kept", "a\r\n{{{key}}}\r\n", "a\r\nHello World\r\n"},
		{"four braces read as a hash", "{{{{key}}}}", `{"key":"Hello World"}`},
		{"json_encode of text", `{{{ "a/b"|json_encode }}}`, `"a\/b"`},
		{"booleans print as PHP does", "[{{{ key == 'Hello World' }}}][{{{ key == 'x' }}}]", "[1][]"},
		{"floats print as PHP does", "{{{ 0.1 + 0.2 }}} {{{ 10 / 4 }}}", "0.3 2.5"},
		{"Twig filter arguments", "{{{ list|join(', ') }}}", "a, b"},
		{"trim_blocks after a tag", "{{% if key %}}\nyes{{% endif %}}\n", "yes"},
		{"control bytes kept", "\x00\x01{{{key}}}\x01\xff", "\x00\x01Hello World\x01\xff"},
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

func TestRenderErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"unclosed placeholder", "x {{{ a", `template: 1:3: unclosed "{{{"`},
		{"unclosed tag", "{{% if a", `template: 1:1: unclosed "{{%"`},
		{"unclosed comment", "{{# a", "template: 1:1: unclosed comment"},
		{"unclosed string", `{{{ "a }}}`, "template: 1:5: unclosed string"},
		{"syntax", "{{{ a| }}}", `template: 1:8: expected a filter name, found "}}}"`},
		{"unknown filter", "{{{ a|nope }}}", `template: 1:7: unknown filter "nope"`},
		{"pongo2 builtin filter", "{{{ a|capfirst }}}", `template: 1:7: unknown filter "capfirst"`},
		{"include banned", "{{% include 'x' %}}", `template: 1:5: tag "include" is not allowed`},
		{"ssi banned", "{{% ssi '/etc/passwd' %}}", `template: 1:5: tag "ssi" is not allowed`},
		{"extends banned", "{{% extends 'x' %}}", `template: 1:5: tag "extends" is not allowed`},
		{"import banned", "{{% import 'x' y %}}", `template: 1:5: tag "import" is not allowed`},
		{"macro banned", "{{% macro m() %}}{{% endmacro %}}", `template: 1:5: tag "macro" is not allowed`},
		{"lorem banned", "{{% lorem 100000 w %}}", `template: 1:5: tag "lorem" is not allowed`},
		{"stringformat banned", `{{{ 1|stringformat:"%999999999d" }}}`, `template: 1:7: filter "stringformat" is not allowed`},
		{"unclosed if", "{{% if a %}}", "template:"},
		{"division by zero", "{{{ 1 / 0 }}}", "template: 1:7: division by zero"},
		{"modulo by zero", "{{{ 1 % 0 }}}", "template: 1:7: modulo by zero"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := testRenderer(t).render(tt.in)
			require.Error(t, err)
			require.Contains(t, err.Error(), tt.want)
		})
	}
}

// TestScriptUntouched checks that a script's own template syntax survives
// an import byte for byte, with or without package markup next to it.
func TestScriptUntouched(t *testing.T) {
	t.Parallel()
	script := "start:\r\n  set:\r\n    x@json: {{ {'a': 1}|json_encode }}\r\n  {% if x %}\r\n  return:\r\n    body@text: {{response|json_encode|json_pretty}}{%- endif -%}{# c #}\r\n"
	tests := []struct {
		name, prefix, want string
	}{
		{"without package markup", "", script},
		{"with package markup", "{{# generated #}}", script},
		{"with a placeholder", "# {{{ default.base_url }}}\n", "# https://h.example\n" + script},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			raw := onePackage(t, nil, automation("a.b", tt.prefix+script))
			plan, err := Import(raw, Options{BaseURL: "https://h.example"})
			require.NoError(t, err)
			require.Equal(t, tt.want, plan.Automations[0].Script)
		})
	}
}

func TestPrompts(t *testing.T) {
	t.Parallel()
	text := map[string]any{"type": "text", "label": "Prefix", "key": "prefix", "params": map[string]any{"default": "dflt"}}
	textNoDefault := map[string]any{"type": "text", "label": "Prefix", "key": "prefix", "params": map[string]any{}}
	multi := map[string]any{"type": "picklist", "label": "Methods", "key": "prefix",
		"params": map[string]any{"options": []string{"get", "post"}, "multiple": true, "default": []string{"get"}}}
	object := map[string]any{"type": "picklist", "label": "Env", "key": "prefix",
		"params": map[string]any{"options": map[string]any{"Production": "prod", "Staging": "staging"}}}
	tests := []struct {
		name    string
		prompt  map[string]any
		answers map[string]any
		want    string // the automation name, "{{{prefix|join:'-'}}}" for lists
		wantErr string
	}{
		{name: "text answer", prompt: text, answers: map[string]any{"prefix": "given"}, want: "given.x"},
		{name: "text default", prompt: text, want: "dflt.x"},
		{name: "empty answer takes the default", prompt: text, answers: map[string]any{"prefix": ""}, want: "dflt.x"},
		{name: "text required", prompt: textNoDefault, wantErr: "'Prefix' (prefix) is required."},
		{name: "number answer", prompt: textNoDefault, answers: map[string]any{"prefix": 42}, want: "42.x"},
		{name: "one-element list for text", prompt: textNoDefault, answers: map[string]any{"prefix": []string{"one"}}, want: "one.x"},
		{name: "list for text", prompt: textNoDefault, answers: map[string]any{"prefix": []any{"a", "b"}}, wantErr: "takes a single value"},
		{name: "bad answer type", prompt: textNoDefault, answers: map[string]any{"prefix": map[string]any{}}, wantErr: `prompt answer "prefix" must be a string or a list of strings`},
		{name: "unknown answer", prompt: text, answers: map[string]any{"other": "x"}, wantErr: `unknown prompt answer "other"`},
		{name: "picklist object value", prompt: object, answers: map[string]any{"prefix": "prod"}, want: "prod.x"},
		{name: "picklist label is not a value", prompt: object, answers: map[string]any{"prefix": "Staging"}, wantErr: `'Env' (prefix) must be one of "prod", "staging", not "Staging"`},
		{name: "picklist no answer", prompt: object, wantErr: "'Env' (prefix) is required."},
		{name: "multiple", prompt: multi, answers: map[string]any{"prefix": []string{"get", "post"}}, want: "get-post.x"},
		{name: "multiple from JSON", prompt: multi, answers: map[string]any{"prefix": []any{"post"}}, want: "post.x"},
		{name: "multiple single string", prompt: multi, answers: map[string]any{"prefix": "post"}, want: "post.x"},
		{name: "multiple default", prompt: multi, want: "get.x"},
		{name: "multiple bad value", prompt: multi, answers: map[string]any{"prefix": []string{"get", "put"}}, wantErr: `not "put"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			name := "{{{prefix}}}.x"
			if tt.prompt["params"].(map[string]any)["multiple"] == true {
				name = "{{{prefix|join:'-'}}}.x"
			}
			raw := onePackage(t, []any{tt.prompt}, automation(name, ""))
			plan, err := Import(raw, Options{Prompts: tt.answers})
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, plan.Automations[0].Name)
		})
	}
}

func TestWrapperAnswersAndOverride(t *testing.T) {
	t.Parallel()
	prompt := map[string]any{"type": "text", "label": "Prefix", "key": "prefix"}
	inner := json.RawMessage(onePackage(t, []any{prompt}, automation("{{{prefix}}}.x", "")))
	raw, err := json.Marshal(map[string]any{"package": inner, "prompts": map[string]any{"prefix": "wrapped"}})
	require.NoError(t, err)

	plan, err := Import(raw, Options{})
	require.NoError(t, err)
	require.Equal(t, "wrapped.x", plan.Automations[0].Name)

	plan, err = Import(raw, Options{Prompts: map[string]any{"prefix": "option"}})
	require.NoError(t, err)
	require.Equal(t, "option.x", plan.Automations[0].Name)
}

func TestRandomPlaceholder(t *testing.T) {
	t.Parallel()
	raw, err := json.Marshal(map[string]any{
		"package": map[string]any{"configure": map[string]any{"placeholders": []any{
			map[string]any{"type": "random", "key": "short"},
			map[string]any{"type": "random", "key": "long", "params": map[string]any{"length": 100}},
		}}},
		"records": []any{automation("x", "{{{short}}} {{{long}}}")},
	})
	require.NoError(t, err)
	seen := map[string]bool{}
	for range 20 {
		plan, err := Import(raw, Options{})
		require.NoError(t, err)
		short, long, ok := strings.Cut(plan.Automations[0].Script, " ")
		require.True(t, ok)
		require.Regexp(t, `^[A-Za-z0-9]{8}$`, short)
		require.Regexp(t, `^[A-Za-z0-9]{100}$`, long)
		require.False(t, seen[short], "random placeholders repeat")
		seen[short] = true
	}
}

func TestTokens(t *testing.T) {
	t.Parallel()
	var records []map[string]any
	for i := range 50 {
		records = append(records, map[string]any{"uid": fmt.Sprintf("w%d", i), "_context": "webhook_listener", "name": "w"})
	}
	raw := onePackage(t, nil, records...)
	tokens := map[string]bool{}
	ids := map[string]bool{}
	for range 4 {
		plan, err := Import(raw, Options{})
		require.NoError(t, err)
		require.Len(t, plan.Webhooks, 50)
		for _, w := range plan.Webhooks {
			require.Regexp(t, `^[0-9a-f]{40}$`, w.Token)
			require.False(t, tokens[w.Token], "duplicate token")
			tokens[w.Token] = true
			require.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, w.ID)
			require.False(t, ids[w.ID], "duplicate id")
			ids[w.ID] = true
			require.True(t, w.Enabled)
			sum := w.TokenSHA256()
			require.NotEqual(t, [32]byte{}, sum)
		}
	}
}

func TestUIDReferences(t *testing.T) {
	t.Parallel()
	raw := onePackage(t, nil,
		map[string]any{"uid": "hook", "_context": "webhook", "name": "for {{{uid.auto}}}",
			"automations_kata": "automation/a:\n  uri: cerb:automation:{{{uid.auto}}}\n"},
		map[string]any{"uid": "auto", "_context": "automation", "name": "acme.{{{ 'X'|lower }}}",
			"extension_id": "webhook.respond", "script": "start:\n  set:\n    hook: {{{uid.hook}}}\n    gone: [{{{uid.gone}}}]\n"},
		map[string]any{"uid": "gone", "_context": "automation", "name": "gone", "extension_id": "webhook.respond", "_exclude": "{{{ 'yes' }}}"},
	)
	plan, err := Import(raw, Options{})
	require.NoError(t, err)
	require.Len(t, plan.Automations, 1)
	require.Len(t, plan.Webhooks, 1)
	w := plan.Webhooks[0]
	require.Equal(t, "for acme.x", w.Name)
	require.Equal(t, "automation/a:\n  uri: cerb:automation:acme.x\n", w.EventKATA)
	require.Equal(t, "start:\n  set:\n    hook: "+w.ID+"\n    gone: []\n", plan.Automations[0].Script)
	res, err := json.Marshal(plan.Result())
	require.NoError(t, err)
	require.JSONEq(t, `{"records_created":{"automation":{"auto":{"id":"acme.x","label":"acme.x"}},"webhook_listener":{"hook":{"id":"`+w.ID+`","label":"for acme.x"}}}}`, string(res))
}

func TestExclude(t *testing.T) {
	t.Parallel()
	tests := []struct {
		exclude any
		kept    bool
	}{
		{"", true}, {"0", true}, {"false", true}, {" False ", true}, {false, true},
		{"yes", false}, {"1", false}, {true, false},
		{"{{{ 1 == 2 }}}", true}, {"{{{ 1 == 1 }}}", false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.exclude), func(t *testing.T) {
			t.Parallel()
			a := automation("a.b", "")
			a["_exclude"] = tt.exclude
			b := automation("kept", "")
			b["uid"] = "b"
			plan, err := Import(onePackage(t, nil, a, b), Options{})
			require.NoError(t, err)
			require.Equal(t, tt.kept, len(plan.Automations) == 2)
		})
	}
}

func TestRequires(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		requires map[string]any
		opts     Options
		wantErr  string
	}{
		{name: "cerb version ignored", requires: map[string]any{"cerb_version": "99.0.0"}},
		{name: "older", requires: map[string]any{"hookhost_version": "1.2"}, opts: Options{Version: "v1.10.0"}},
		{name: "same", requires: map[string]any{"hookhost_version": "1.2.0"}, opts: Options{Version: "1.2"}},
		{name: "pre-release of required", requires: map[string]any{"hookhost_version": "1.2.0"}, opts: Options{Version: "1.2.0-rc.1"}, wantErr: "this package requires hookhost version 1.2.0 or later"},
		{name: "newer", requires: map[string]any{"hookhost_version": "2"}, opts: Options{Version: "1.9.9"}, wantErr: "this package requires hookhost version 2 or later"},
		{name: "dev build", requires: map[string]any{"hookhost_version": "9"}, opts: Options{Version: ""}},
		{name: "webhooks always there", requires: map[string]any{"plugins": []string{"cerb.webhooks"}}},
		{name: "extension loaded", requires: map[string]any{"extensions": []string{"x.y"}}, opts: Options{Extensions: []string{"x.y"}}},
		{name: "extension missing", requires: map[string]any{"plugins": []string{"cerb.slack"}}, wantErr: "this package requires the cerb.slack extension"},
		{name: "unknown requirement", requires: map[string]any{"php": "8"}, wantErr: `unknown field "php" in "package.requires"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			raw, err := json.Marshal(map[string]any{
				"package": map[string]any{"requires": tt.requires},
				"records": []any{automation("a.b", "")},
			})
			require.NoError(t, err)
			_, err = Import(raw, tt.opts)
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.EqualError(t, err, tt.wantErr)
		})
	}
}

// TestValidatorErrorsKept checks that a Validator's errors stay reachable
// through errors.As, so the host can list each problem's position.
func TestValidatorErrorsKept(t *testing.T) {
	t.Parallel()
	raw := onePackage(t, nil, automation("a.b", "start:\n  bogus:\n"))
	_, err := Import(raw, Options{Validator: fakeValidator{}})
	var errs Errors
	require.ErrorAs(t, err, &errs)
	require.Len(t, errs, 1)
	require.Equal(t, "a", errs[0].UID)
	require.Equal(t, "script", errs[0].Field)
	require.EqualError(t, errs[0], "record (a) field script: script:2:3: unknown command `bogus:`")
	require.Error(t, errors.Unwrap(errs[0]))
}

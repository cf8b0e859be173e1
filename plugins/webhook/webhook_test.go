package webhook

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/automations"
	"github.com/hookhost/hookhost/plugins"
	"github.com/hookhost/hookhost/plugins/plugintest"
	"github.com/hookhost/hookhost/templates/dict"
)

const trigger = "cerb.trigger.webhook.respond"

func inv(name, script, policy string, commands ...string) plugins.Invocation {
	return plugins.Invocation{RunID: "run-1", Automation: name, Revision: "1", Trigger: trigger, Script: script, Policy: policy, Commands: commands}
}

func callbackHost() *plugintest.Host {
	h := plugintest.NewHost()
	h.Functions["example.math.add"] = func(_ context.Context, in []byte) (plugins.Outcome, error) {
		var v struct{ A, B int }
		if err := json.Unmarshal(in, &v); err != nil {
			return plugins.Outcome{}, err
		}
		r, _ := json.Marshal(map[string]int{"sum": v.A + v.B})
		return plugins.Outcome{Exit: plugins.ExitReturn, Return: r}, nil
	}
	h.Commands["example.slugify"] = func(context.Context, []byte) ([]byte, error) {
		return []byte(`{"slug":"hello-kina"}`), nil
	}
	return h
}

const callbacksScript = `start:
  storage.set:
    inputs:
      key: counter
      value@int: 41
  storage.get:
    inputs:
      key: counter
    output: counter
  function:
    uri: cerb:automation:example.math.add
    inputs:
      a@int: 2
      b@int: 3
    output: sum
  example.slugify/s:
    inputs:
      text: Hello {{ who }}
    output: slug
  return:
    counter@key: counter
    sum@key: sum:sum
    slug@key: slug:slug
`

const callbacksPolicy = `commands:
  storage.set:
    allow: yes
  storage.get:
    allow: yes
  function:
    allow: yes
  example.slugify:
    allow: yes
`

func TestWebhook_Conformance(t *testing.T) {
	t.Parallel()
	plugintest.Exercise(t, New(),
		plugintest.Case{
			Name:       "Return",
			Invocation: inv("t.return", "start:\n  return:\n    status_code@int: 201\n    body: Hello {{ who }}\n", ""),
			Inputs:     `{"who":"Kina"}`,
			Want:       `{"status_code":201,"body":"Hello Kina"}`,
		},
		plugintest.Case{
			Name:       "AliasTrigger",
			Invocation: plugins.Invocation{Automation: "t.alias", Trigger: "webhook.respond", Script: "start:\n  return:\n    ok@bool: yes\n"},
			Inputs:     `{}`,
			Want:       `{"ok":true}`,
		},
		plugintest.Case{
			Name:       "HostCallbacks",
			Invocation: inv("t.callbacks", callbacksScript, callbacksPolicy, "example.slugify"),
			Inputs:     `{"who":"Kina"}`,
			Host:       callbackHost(),
			Want:       `{"counter":41,"sum":5,"slug":"hello-kina"}`,
		},
		plugintest.Case{
			Name:       "ErrorCommand",
			Invocation: inv("t.error", "start:\n  error: Something broke for {{ who }}\n", ""),
			Inputs:     `{"who":"Kina"}`,
			WantCode:   plugins.CodeScript,
		},
		plugintest.Case{
			Name:       "CompileError",
			Invocation: inv("t.compile", "start:\n  no.such.command:\n    x: y\n", ""),
			Inputs:     `{}`,
			WantCode:   plugins.CodeCompile,
		},
		plugintest.Case{
			Name:       "InputsMustBeAnObject",
			Invocation: inv("t.inputs", "start:\n", ""),
			Inputs:     `[1,2]`,
			WantCode:   plugins.CodeInputs,
		},
	)
}

func TestWebhook_ErrorOutcome(t *testing.T) {
	t.Parallel()
	out, err := New().Run(context.Background(), inv("t.err", "start:\n  log: before\n  error: broke\n", ""), nil)
	require.NoError(t, err)
	require.Equal(t, plugins.ExitError, out.Exit)
	require.Equal(t, &plugins.Error{Code: plugins.CodeScript, Message: "broke", At: out.Error.At}, out.Error)
	require.NotEmpty(t, out.Error.At)
	require.NotEmpty(t, out.Log)
	require.Nil(t, out.Return)
}

func TestWebhook_CachesProgramsByRevision(t *testing.T) {
	t.Parallel()
	x := newExtension(Options{})
	run := func(rev, body string) string {
		i := inv("t.cache", "start:\n  return:\n    body: "+body+"\n", "")
		i.Revision = rev
		out, err := x.Run(context.Background(), i, nil)
		require.NoError(t, err)
		return string(out.Return)
	}
	require.Equal(t, `{"body":"one"}`, run("1", "one"))
	require.Equal(t, `{"body":"one"}`, run("1", "changed-but-same-revision"), "same revision must come from the cache")
	require.Equal(t, 1, x.cached())
	require.Equal(t, `{"body":"two"}`, run("2", "two"))
	require.Equal(t, 2, x.cached())
}

// hostView is the return dictionary as the host sees it: Value as it is,
// or Return decoded with a binary body restored, as compact JSON (and the
// raw body).
func hostView(t *testing.T, out plugins.Outcome) (string, string) {
	t.Helper()
	m, ok := out.Value.(*dict.Map)
	if !ok {
		if out.Return == nil {
			return "", ""
		}
		decode := dict.DecodeJSON
		if out.ReturnFormat == dict.WireVersion {
			decode = dict.DecodeWire
		}
		v, err := decode(out.Return)
		require.NoError(t, err)
		m = v.(*dict.Map)
		if enc, ok := m.Value("body@base64").(string); ok {
			raw, err := base64.StdEncoding.DecodeString(enc)
			require.NoError(t, err)
			m.Delete("body@base64")
			m.Set("body", string(raw))
		}
	}
	body, _ := m.Value("body").(string)
	m = m.Clone()
	m.Delete("body")
	b, err := encode(m)
	require.NoError(t, err)
	return string(b), body
}

// TestWebhook_ValuesRunAsJSONWould checks that a run sees the same inputs,
// and the host the same return, whether the inputs come as JSON, in the
// wire form of package dict, or as Values.
func TestWebhook_ValuesRunAsJSONWould(t *testing.T) {
	t.Parallel()
	echo := "start:\n  return:\n    in@key: in\n    body@key: body\n"
	for _, tc := range []struct {
		name     string
		in       *dict.Map
		script   string // default echo
		valueOut bool   // the return comes back as a value
	}{
		{"Plain", dict.Of("in", dict.Of("s", "x", "n", int64(2), "f", 1.5, "l", []any{true, nil}), "body", "hi"), "", true},
		// Inputs that JSON would change go through JSON first, so what
		// comes back is safe.
		{"IntegralFloat", dict.Of("in", dict.Of("f", 2.0), "body", "hi"), "", true},
		{"NaN", dict.Of("in", math.NaN(), "body", "hi"), "", true},
		{"InvalidUTF8", dict.Of("in", "a\xffb", "body", "hi"), "", true},
		{"InvalidUTF8Key", dict.Of("in", dict.Of("k\xff", "v"), "body", "hi"), "", true},
		{"NilList", dict.Of("in", []any(nil), "body", "hi"), "", true},
		{"OtherGoType", dict.Of("in", 3, "body", "hi"), "", true},
		{"BinaryBody", dict.Of("in", "x", "body", "\x00\xff\xfe"), "", true},
		{"Base64Key", dict.Of("r", dict.Of("in", "x", "body@base64", "aGk=")), "start:\n  return@key: r\n", false},
		// A return that JSON would change comes back as JSON.
		{"ReturnsIntegralFloat", dict.Of("in", "x"), "start:\n  return:\n    f@float: 2\n    in@key: in\n", false},
		{"ReturnsInvalidUTF8", dict.Of("in", "x"), "start:\n  return:\n    s@base64: /w==\n    body@base64: /w==\n", false},
		{"ReturnsNonTextBody", dict.Of("in", "x"), "start:\n  return:\n    body@json: {\"a\": [1.5, 2.0]}\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			x := newExtension(Options{})
			script := tc.script
			if script == "" {
				script = echo
			}
			js, err := encode(tc.in)
			require.NoError(t, err)
			viaJSON := inv("t.values", script, "")
			viaJSON.Inputs = js
			want, err := x.Run(context.Background(), viaJSON, nil)
			require.NoError(t, err)
			require.Nil(t, want.Value)

			viaValues := inv("t.values", script, "")
			viaValues.Values = tc.in.Clone()
			got, err := x.Run(context.Background(), viaValues, nil)
			require.NoError(t, err)
			require.Equal(t, tc.valueOut, got.Value != nil, "return as a value")

			wantRet, wantBody := hostView(t, want)
			gotRet, gotBody := hostView(t, got)
			require.Equal(t, wantRet, gotRet)
			require.Equal(t, wantBody, gotBody)

			viaWire := inv("t.values", script, "")
			viaWire.Inputs, viaWire.InputsFormat = dict.AppendWire(nil, tc.in, false), dict.WireVersion
			got, err = x.Run(context.Background(), viaWire, nil)
			require.NoError(t, err)
			require.Nil(t, got.Value)
			wantFormat := dict.WireVersion
			if tc.name == "Base64Key" {
				wantFormat = "" // the host decodes a body@base64 key from JSON
			}
			require.Equal(t, wantFormat, got.ReturnFormat)
			gotRet, gotBody = hostView(t, got)
			require.Equal(t, wantRet, gotRet, "via the wire form")
			require.Equal(t, wantBody, gotBody, "via the wire form")
		})
	}
}

func TestWebhook_InputsOwnership(t *testing.T) {
	t.Parallel()
	script := "start:\n  set:\n    in: changed\n    added: 1\n  return:\n    in@key: in\n"
	safe := func() *dict.Map { return dict.Of("in", "x", "h", dict.Of("a", "b")) }
	for _, tc := range []struct {
		name  string
		iv    func() plugins.Invocation
		owned bool // the run may take the decoded dictionary
	}{
		{"JSON", func() plugins.Invocation { js, _ := encode(safe()); return plugins.Invocation{Inputs: js} }, true},
		{"Wire", func() plugins.Invocation {
			return plugins.Invocation{Inputs: dict.AppendWire(nil, safe(), false), InputsFormat: dict.WireVersion}
		}, true},
		{"Values", func() plugins.Invocation { return plugins.Invocation{Values: safe()} }, false},
		{"ValuesThroughJSON", func() plugins.Invocation { return plugins.Invocation{Values: dict.Of("in", 2.0)} }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			x := newExtension(Options{})
			iv := tc.iv()
			m, owned, err := x.inputs(iv)
			require.NoError(t, err)
			require.Equal(t, tc.owned, owned)
			if values, ok := iv.Values.(*dict.Map); ok && !owned {
				require.Same(t, values, m)
			}

			// The caller's Values are never modified by the run.
			iv = tc.iv()
			before := dict.Of()
			if values, ok := iv.Values.(*dict.Map); ok {
				before = values.Clone()
			}
			run := inv("t.owned", script, "")
			run.Inputs, run.InputsFormat, run.Values = iv.Inputs, iv.InputsFormat, iv.Values
			out, err := x.Run(context.Background(), run, nil)
			require.NoError(t, err)
			require.Equal(t, plugins.ExitReturn, out.Exit)
			if values, ok := iv.Values.(*dict.Map); ok {
				require.Equal(t, before, values)
			}
		})
	}
}

func TestWebhook_Triggers(t *testing.T) {
	t.Parallel()

	t.Run("DescribeListsKnownTriggers", func(t *testing.T) {
		t.Parallel()
		d, err := New().Describe(context.Background())
		require.NoError(t, err)
		require.Equal(t, []string{automations.TriggerWebhookRespond, automations.TriggerAutomationFunction}, d.Triggers)
	})

	for _, tc := range []struct {
		trigger string
		runs    bool
	}{
		{automations.TriggerWebhookRespond, true},
		{automations.TriggerWebhookRespondStem, true},
		{automations.TriggerAutomationFunction, true},
		{automations.TriggerAutomationFunctionStem, true},
		{"cerb.trigger.interaction.website", false},
	} {
		t.Run("Runs_"+tc.trigger, func(t *testing.T) {
			t.Parallel()
			i := inv("t.trigger", "start:\n  return:\n    ok@bool: yes\n", "")
			i.Trigger = tc.trigger
			out, err := New().Run(context.Background(), i, nil)
			if !tc.runs {
				var pe *plugins.Error
				require.ErrorAs(t, err, &pe)
				require.Equal(t, plugins.CodeNotFound, pe.Code)
				return
			}
			require.NoError(t, err)
			require.Equal(t, `{"ok":true}`, string(out.Return))
		})
	}
}

// TestWebhook_HostAllocs checks that reaching the host costs a run one
// allocation (the bridge behind Storage, Functions and Commands), not one
// per interface.
func TestWebhook_HostAllocs(t *testing.T) {
	x := newExtension(Options{})
	in := inv("a", "start:\n  return:\n    ok@bool: yes\n", "")
	in.Inputs, in.InputsFormat = dict.AppendWire(nil, dict.Of("k", "v"), false), dict.WireVersion
	ctx := context.Background()
	allocs := func(host plugins.Host) float64 {
		return testing.AllocsPerRun(200, func() {
			if out, err := x.Run(ctx, in, host); err != nil || out.Exit != plugins.ExitReturn {
				t.Fatal(err, out.Error)
			}
		})
	}
	without := allocs(nil)
	require.Equal(t, without+1, allocs(plugins.NoHost{}))
}

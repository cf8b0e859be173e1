package webhook

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/plugins"
	"github.com/hookhost/hookhost/plugins/plugintest"
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

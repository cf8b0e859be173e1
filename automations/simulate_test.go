package automations_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/automations"
	"github.com/hookhost/hookhost/templates/dict"
)

// sideEffects records every call that reaches outside the interpreter; a
// simulated run must make none.
type sideEffects struct {
	mu    sync.Mutex
	calls []string
}

func (s *sideEffects) note(call string) {
	s.mu.Lock()
	s.calls = append(s.calls, call)
	s.mu.Unlock()
}

func (s *sideEffects) list() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.calls...)
}

func (s *sideEffects) RoundTrip(r *http.Request) (*http.Response, error) {
	s.note("http " + r.Method + " " + r.URL.String())
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"text/plain"}},
		Body: http.NoBody, Request: r}, nil
}

func (s *sideEffects) Get(_ context.Context, key string) (any, bool, error) {
	s.note("storage.get " + key)
	return "stored", true, nil
}

func (s *sideEffects) Set(_ context.Context, key string, _ any, _ time.Time) error {
	s.note("storage.set " + key)
	return nil
}

func (s *sideEffects) Delete(_ context.Context, key string) (bool, error) {
	s.note("storage.delete " + key)
	return true, nil
}

func (s *sideEffects) RunFunction(_ context.Context, name string, _ *dict.Map) (*automations.Result, error) {
	s.note("function " + name)
	return &automations.Result{Exit: automations.ExitReturn, Return: dict.Of("ok", true)}, nil
}

func (s *sideEffects) RunCommand(_ context.Context, name string, _ *dict.Map) (any, error) {
	s.note("command " + name)
	return "done", nil
}

func (s *sideEffects) runtime(simulate bool) automations.Runtime {
	return automations.Runtime{HTTPClient: &http.Client{Transport: s}, Storage: s, Functions: s, Commands: s, Simulate: simulate}
}

// allowAll is a policy that lets every side-effect command of these tests
// run.
var allowAll = func() string {
	var b strings.Builder
	b.WriteString("commands:\n")
	for _, c := range []string{"http.request", "function", "storage.get", "storage.set", "storage.delete", "ext.deploy"} {
		b.WriteString("  " + c + ":\n    allow@bool: yes\n")
	}
	return b.String()
}()

// TestSimulate runs scripts as dry runs: no side-effect command reaches
// outside the interpreter, on_simulate: blocks run instead (with
// simulate.success: and simulate.error: as in Cerb), and the result lists
// what did not run.
func TestSimulate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		script string
		policy string
		// real: run without Simulate (on_simulate: must not run).
		real    bool
		exit    automations.Exit
		body    string
		err     string
		effects []automations.SideEffect
		calls   []string
		logs    []string
	}{
		{
			name: "WithoutOnSimulateTheOutputIsUnsetAndTheRunGoesOn",
			script: `start:
  http.request:
    output: resp
    inputs:
      url: http://127.0.0.1:9/hook
      method: POST
    on_success:
      return:
        body: success ran
  return:
    body: resp is {{resp is defined ? 'set' : 'unset'}}
`,
			exit:    automations.ExitReturn,
			body:    "resp is unset",
			effects: []automations.SideEffect{{Command: "http.request", Node: "start:http.request:"}},
			logs:    []string{"simulated: `http.request:` did not run, and it has no `on_simulate:`"},
		},
		{
			name: "SimulateSuccessSetsTheOutputAndRunsOnSuccess",
			script: `start:
  http.request/notify:
    output: resp
    inputs:
      url: http://127.0.0.1:9/hook
    on_simulate:
      set:
        note: before
      simulate.success:
        status_code@int: 201
        body: {{note}} simulated
      set/never:
        note: never
    on_success:
      return:
        body: {{resp.status_code}} {{resp.body}} {{note}}
`,
			exit:    automations.ExitReturn,
			body:    "201 before simulated before",
			effects: []automations.SideEffect{{Command: "http.request", Node: "start:http.request/notify:", OnSimulate: true}},
		},
		{
			name: "SimulateErrorSetsTheOutputAndRunsOnError",
			script: `start:
  storage.get:
    output: v
    inputs:
      key: k
    on_simulate:
      simulate.error:
        error: no such key
    on_success:
      return:
        body: success
    on_error:
      return:
        body: error {{v.error}}
`,
			exit:    automations.ExitReturn,
			body:    "error no such key",
			effects: []automations.SideEffect{{Command: "storage.get", Node: "start:storage.get:", OnSimulate: true}},
		},
		{
			name: "SimulateErrorWithoutOnErrorGoesOn",
			script: `start:
  storage.set:
    output: v
    inputs:
      key: k
      value: x
    on_simulate:
      simulate.error:
        error: full
  return:
    body: after {{v.error}}
`,
			exit:    automations.ExitReturn,
			body:    "after full",
			effects: []automations.SideEffect{{Command: "storage.set", Node: "start:storage.set:", OnSimulate: true}},
		},
		{
			name: "OnSimulateWithoutSimulateCommandsGoesOnAfterTheCommand",
			script: `start:
  function:
    uri: cerb:automation:other
    output: f
    on_simulate:
      set:
        f: from on_simulate
    on_success:
      return:
        body: success ran
  return:
    body: {{f}}
`,
			exit:    automations.ExitReturn,
			body:    "from on_simulate",
			effects: []automations.SideEffect{{Command: "function", Node: "start:function:", OnSimulate: true}},
		},
		{
			name: "SimulateSuccessJumpsOutOfNestedFlow",
			script: `start:
  ext.deploy:
    output: d
    on_simulate:
      decision:
        outcome/yes:
          then:
            repeat:
              each@csv: a, b
              as: x
              do:
                simulate.success:
                  first: {{x}}
    on_success:
      return:
        body: {{d.first}}
`,
			exit:    automations.ExitReturn,
			body:    "a",
			effects: []automations.SideEffect{{Command: "ext.deploy", Node: "start:ext.deploy:", OnSimulate: true}},
		},
		{
			name: "NestedOnSimulateJumpsToItsOwnCommand",
			script: `start:
  storage.get/outer:
    output: o
    inputs:
      key: k
    on_simulate:
      storage.get/inner:
        output: i
        inputs:
          key: k
        on_simulate:
          simulate.success: inner
        on_success:
          simulate.success: outer saw {{i}}
    on_success:
      return:
        body: {{o}}
`,
			exit: automations.ExitReturn,
			body: "outer saw inner",
			effects: []automations.SideEffect{
				{Command: "storage.get", Node: "start:storage.get/outer:", OnSimulate: true},
				{Command: "storage.get", Node: "start:storage.get/outer:on_simulate:storage.get/inner:", OnSimulate: true},
			},
		},
		{
			name: "PolicyDenialFailsAsInARealRun",
			script: `start:
  http.request:
    output: resp
    inputs:
      url: http://127.0.0.1:9/
    on_simulate:
      simulate.success: ok
  return:
    body: not reached
`,
			policy:  "commands:\n  http.request:\n    deny: yes\n",
			exit:    automations.ExitError,
			err:     "The automation policy does not allow this command (http.request).",
			effects: []automations.SideEffect{{Command: "http.request", Node: "start:http.request:", Denied: true}},
		},
		{
			name: "CommandsWithoutSideEffectsRunUnlessTheyHaveOnSimulate",
			script: `start:
  var.set:
    output: a
    inputs:
      key: a
      value: real
  var.set/b:
    output: b
    inputs:
      key: b
      value: real
    on_simulate:
      simulate.success: simulated
  return:
    body: {{a}} {{b}}
`,
			exit:    automations.ExitReturn,
			body:    "real simulated",
			effects: []automations.SideEffect{{Command: "var.set", Node: "start:var.set/b:", OnSimulate: true}},
		},
		{
			name: "ARealRunIgnoresOnSimulate",
			script: `start:
  storage.get:
    output: v
    inputs:
      key: k
    on_simulate:
      simulate.success: simulated
  return:
    body: {{v}}
`,
			real:  true,
			exit:  automations.ExitReturn,
			body:  "stored",
			calls: []string{"storage.get k"},
		},
		{
			name: "AnOnSimulateThatCannotCompileIsReportedNotRun",
			script: `start:
  storage.delete:
    output: v
    inputs:
      key: k
    on_simulate:
      nope.command:
  return:
    body: {{v is defined ? 'set' : 'unset'}}
`,
			exit:    automations.ExitReturn,
			body:    "unset",
			effects: []automations.SideEffect{{Command: "storage.delete", Node: "start:storage.delete:", OnSimulate: true}},
			logs:    []string{"its `on_simulate:` cannot run: script:7:7: Unexpected command `start:storage.delete:on_simulate:nope.command:`"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			policy := tc.policy
			if policy == "" {
				policy = allowAll
			}
			p := compile(t, automations.Source{Name: "t", Script: tc.script, Policy: policy}, automations.Options{Commands: []string{"ext.deploy"}})
			se := &sideEffects{}
			res := p.Run(context.Background(), dict.New(0), se.runtime(!tc.real))
			require.Equal(t, tc.exit, res.Exit, "error: %s", res.Error)
			require.Equal(t, tc.err, res.Error)
			if tc.body != "" {
				require.NotNil(t, res.Return)
				require.Equal(t, tc.body, res.Return.Value("body"))
			}
			require.Equal(t, tc.effects, res.SideEffects)
			require.Equal(t, tc.calls, se.list())
			var log strings.Builder
			for _, e := range res.Log {
				log.WriteString(e.Message + "\n")
			}
			for _, l := range tc.logs {
				require.Contains(t, log.String(), l)
			}
		})
	}
}

// TestSimulate_SideEffectsAreBounded checks that a loop of simulated
// commands lists MaxSideEffects of them and says so in the log.
func TestSimulate_SideEffectsAreBounded(t *testing.T) {
	t.Parallel()
	p := compile(t, automations.Source{Script: `start:
  repeat:
    each@json: {{range(1, 1200)|json_encode}}
    as: i
    do:
      storage.set:
        inputs:
          key: k{{i}}
          value: x
`, Policy: allowAll}, automations.Options{Commands: []string{"ext.deploy"}})
	se := &sideEffects{}
	res := p.Run(context.Background(), dict.New(0), se.runtime(true))
	require.Equal(t, automations.ExitExit, res.Exit, res.Error)
	require.Len(t, res.SideEffects, automations.MaxSideEffects)
	require.Empty(t, se.list())
	found := false
	for _, e := range res.Log {
		found = found || strings.Contains(e.Message, "later ones are not listed")
	}
	require.True(t, found)
}

// TestSimulate_CommandsOnlyInOnSimulate checks that simulate.success: and
// simulate.error: are refused outside on_simulate: when the script is
// saved, and that a broken on_simulate: does not refuse the script.
func TestSimulate_CommandsOnlyInOnSimulate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, script, err string
	}{
		{"SuccessOutside", "start:\n  simulate.success:\n    a: b\n", "The `simulate.success:` command must occur within `on_simulate:` (`start:simulate.success:`)"},
		{"ErrorInOnSuccess", "start:\n  storage.get:\n    inputs:\n      key: k\n    on_success:\n      simulate.error: x\n",
			"The `simulate.error:` command must occur within `on_simulate:`"},
		{"BrokenOnSimulateIsAccepted", "start:\n  storage.get:\n    inputs:\n      key: k\n    on_simulate:\n      bad:\n", ""},
		{"EmptyOnSimulateIsAccepted", "start:\n  storage.get:\n    inputs:\n      key: k\n    on_simulate:\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := compileError(automations.Source{Script: tc.script}, automations.Options{})
			if tc.err == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.err)
		})
	}
}

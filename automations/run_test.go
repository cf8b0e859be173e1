package automations_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/automations"
	"github.com/hookhost/hookhost/templates"
	"github.com/hookhost/hookhost/templates/dict"
)

type panicCommands struct{}

func (panicCommands) RunCommand(context.Context, string, *dict.Map) (any, error) {
	panic("extension bug")
}

func compile(t *testing.T, src automations.Source, opts automations.Options) *automations.Program {
	t.Helper()
	if opts.Templates == nil {
		opts.Templates = templates.New()
	}
	p, err := automations.Compile(src, opts)
	require.NoError(t, err)
	return p
}

func TestCompile(t *testing.T) {
	t.Parallel()

	t.Run("DiagnosticsCarrySourceAndPosition", func(t *testing.T) {
		t.Parallel()
		_, err := automations.Compile(automations.Source{Script: "start:\n  nope:\n", Policy: "commands:\n  bad..name:\n"},
			automations.Options{Templates: templates.New()})
		var ds automations.Diagnostics
		require.True(t, errors.As(err, &ds))
		require.Len(t, ds, 2)
		require.Equal(t, "script", ds[0].Source)
		require.Equal(t, 2, ds[0].Pos.Line)
		require.Equal(t, 3, ds[0].Pos.Col)
		require.Equal(t, "policy", ds[1].Source)
	})

	t.Run("PolicyTimeLimitIsClamped", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			policy string
			want   time.Duration
		}{
			{"", 25 * time.Second},
			{"settings:\n  time_limit_ms: 999999\n", 120 * time.Second},
			{"settings:\n  time_limit_ms: 0\n", 25 * time.Second},
			{"settings:\n  time_limit_ms: 1500\n", 1500 * time.Millisecond},
			{"settings:\n  time_limit_ms@int: 2000\n", 2 * time.Second},
		} {
			p := compile(t, automations.Source{Script: "start:\n  return:\n", Policy: tc.policy}, automations.Options{})
			require.Equal(t, tc.want, p.Limits().Time, tc.policy)
		}
	})

	t.Run("RequiresTemplates", func(t *testing.T) {
		t.Parallel()
		_, err := automations.Compile(automations.Source{Script: "start:\n"}, automations.Options{})
		require.Error(t, err)
	})
}

func TestRun(t *testing.T) {
	t.Parallel()

	t.Run("ConcurrentRunsShareOneProgram", func(t *testing.T) {
		t.Parallel()
		p := guideProgram(t)
		var wg sync.WaitGroup
		bodies := make([]string, 16)
		for i := range bodies {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req := guideRequest()
				req.Path = strings.Repeat("x", i)
				res := p.Run(context.Background(), automations.WebhookInputs(req, automations.WebhookInfo{}), automations.Runtime{})
				bodies[i] = string(automations.WebhookResponse(res).Body)
			}()
		}
		wg.Wait()
		for i, b := range bodies {
			require.Contains(t, b, `"path": "`+strings.Repeat("x", i)+`"`)
		}
	})

	t.Run("NeverPanics", func(t *testing.T) {
		t.Parallel()
		p := compile(t, automations.Source{Script: "start:\n  ext.boom:\n    output: x\n", Policy: "commands:\n  ext.boom:\n    allow: yes\n"},
			automations.Options{Commands: []string{"ext.boom"}})
		res := p.Run(context.Background(), dict.New(0), automations.Runtime{Commands: panicCommands{}})
		require.Equal(t, automations.ExitError, res.Exit)
		require.Equal(t, "internal error: extension bug", res.Error)
		require.Equal(t, "start:ext.boom:", res.ErrorAt)
	})

	t.Run("NilInputs", func(t *testing.T) {
		t.Parallel()
		p := compile(t, automations.Source{Script: "start:\n  return:\n    a: {{ nope }}x\n"}, automations.Options{})
		res := p.Run(context.Background(), nil, automations.Runtime{})
		require.Equal(t, automations.ExitReturn, res.Exit)
		require.Equal(t, "x", res.Return.Value("a"))
	})

	t.Run("RunOwnedTakesTheInputs", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			name, script string
		}{
			{"Guide", ""},
			{"SetAndUnset", "start:\n  set:\n    request_method: PUT\n    a: 1\n  var.unset:\n    inputs:\n      key: request_body\n  return:\n    all@key: request_method\n    a@key: a\n"},
			{"ManyKeys", "start:\n  set:\n    k1: 1\n    k2: 2\n    k3: 3\n    k4: 4\n    k5: 5\n    k6: 6\n    k7: 7\n    k8: 8\n    k9: 9\n  return:\n    body@text: {{ k9 }} {{ request_method }} {{ k1 }}\n"},
			{"Error", "start:\n  error: boom\n"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				p := guideProgram(t)
				if tc.script != "" {
					p = compile(t, automations.Source{Script: tc.script}, automations.Options{})
				}
				inputs := func() *dict.Map { return automations.WebhookInputs(guideRequest(), automations.WebhookInfo{}) }
				kept := inputs()
				want := p.Run(context.Background(), kept, automations.Runtime{})
				require.Equal(t, inputs(), kept, "Run modified its inputs")
				given := inputs()
				got := p.RunOwned(context.Background(), given, automations.Runtime{})
				got.Steps, want.Steps = 0, 0
				require.Equal(t, want, got)
				if tc.script != "" && tc.name != "Error" {
					require.NotEqual(t, kept, given, "RunOwned did not run on its inputs")
				}
			})
		}
	})

	t.Run("RunsOfOneProgramShareNoState", func(t *testing.T) {
		t.Parallel()
		src := automations.Source{Script: "start:\n  log: {{ a }}\n  outcome/x:\n    if@bool: {{ a == 'boom' }}\n    then:\n      ext.boom:\n        output: x\n  outcome/e:\n    if@bool: {{ a == 'error' }}\n    then:\n      error: bad {{ a }}\n  return:\n    a@key: a\n",
			Policy: "commands:\n  ext.boom:\n    allow: yes\n"}
		opts := automations.Options{Commands: []string{"ext.boom"}}
		shared := compile(t, src, opts)
		for _, a := range []string{"one", "error", "two", "boom", "three", "sim", "four"} {
			rt := automations.Runtime{Commands: panicCommands{}, Simulate: a == "sim"}
			got := shared.Run(context.Background(), dict.Of("a", a), rt)
			want := compile(t, src, opts).Run(context.Background(), dict.Of("a", a), rt)
			require.Equal(t, want, got, a)
		}
	})

	t.Run("ContextDeadlineIsATimeLimit", func(t *testing.T) {
		t.Parallel()
		p := compile(t, automations.Source{Script: "start:\n  while:\n    if: yes\n    do:\n      set:\n        spin: 1\n"}, automations.Options{Limits: automations.Limits{Steps: 1 << 30}})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		res := p.Run(ctx, dict.New(0), automations.Runtime{})
		require.Equal(t, automations.ExitError, res.Exit)
		require.Equal(t, "time", res.Limit)
		require.Positive(t, res.Steps)
	})
}

func TestWebhookResponse(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		res    *automations.Result
		status int
		body   string
	}{
		{"NoReturn", &automations.Result{Exit: automations.ExitExit}, 200, ""},
		{"IntStatus", &automations.Result{Exit: automations.ExitReturn, Return: dict.Of("status_code", int64(404))}, 404, ""},
		{"StringStatus", &automations.Result{Exit: automations.ExitReturn, Return: dict.Of("status_code", " 302 ")}, 302, ""},
		{"FloatStatus", &automations.Result{Exit: automations.ExitReturn, Return: dict.Of("status_code", 201.0)}, 201, ""},
		{"InvalidStatus", &automations.Result{Exit: automations.ExitReturn, Return: dict.Of("status_code", "abc")}, 500, ""},
		{"OutOfRange", &automations.Result{Exit: automations.ExitReturn, Return: dict.Of("status_code", int64(42))}, 500, ""},
		{"InformationalIsNotAnAnswer", &automations.Result{Exit: automations.ExitReturn, Return: dict.Of("status_code", int64(103))}, 500, ""},
		{"DictionaryBodyIsJSON", &automations.Result{Exit: automations.ExitReturn, Return: dict.Of("body", dict.Of("a", int64(1)))}, 200, `{"a":1}`},
		{"NumberBody", &automations.Result{Exit: automations.ExitReturn, Return: dict.Of("body", 2.5)}, 200, "2.5"},
		{"Error", &automations.Result{Exit: automations.ExitError}, 500, ""},
		{"Timeout", &automations.Result{Exit: automations.ExitError, Limit: "time"}, 504, ""},
		{"AwaitAnswersToo", &automations.Result{Exit: automations.ExitAwait, Return: dict.Of("status_code", "202", "body", "later")}, 202, "later"},
		// As PHP's http_response_code(int) takes them (oracle return/status_*).
		{"FloatStatusTruncated", ret("status_code", 201.7), 201, ""},
		{"FloatTextStatusTruncated", ret("status_code", "201.7"), 201, ""},
		{"ExponentTextStatus", ret("status_code", "4.04e2"), 404, ""},
		{"EmptyTextStatus", ret("status_code", ""), 500, ""},
		{"LeadingNumericTextStatus", ret("status_code", "404abc"), 500, ""},
		{"ListStatus", ret("status_code", []any{"200"}), 500, ""},
		{"NullStatusIsNone", ret("status_code", nil), 200, ""},
		{"ZeroStatus", ret("status_code", int64(0)), 500, ""},
		{"FalseStatusIsNone", ret("status_code", false), 200, ""},
		{"TrueStatus", ret("status_code", true), 500, ""},
		{"BigFloatBody", ret("body", 1e20), 200, "1.0E+20"},
		{"TrueBody", ret("body", true), 200, "1"},
		{"CerbURIBody", ret("body", "cerb:resource:nope"), 200, ""},
		{"Base64KeyWins", ret("body", "x", "body@base64", "aGk="), 200, "hi"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			resp := automations.WebhookResponse(tc.res)
			require.Equal(t, tc.status, resp.Status)
			require.Equal(t, tc.body, string(resp.Body))
		})
	}
}

func ret(kv ...any) *automations.Result {
	return &automations.Result{Exit: automations.ExitReturn, Return: dict.Of(kv...)}
}

// TestWebhookResponseHeaders checks headers as PHP's header() sends them
// (oracle return/header_*).
func TestWebhookResponseHeaders(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		res     *automations.Result
		status  int
		headers string
	}{
		{"LastOfSameNameWins", ret("headers", dict.Of("X-A", "1", "X-B", "b", "x-a", "2")), 200, "X-B: b|x-a: 2"},
		{"TextTypeGetsCharset", ret("headers", dict.Of("Content-Type", "text/csv")), 200, "Content-Type: text/csv;charset=UTF-8"},
		{"TextTypeWithCharset", ret("headers", dict.Of("Content-Type", "text/plain; charset=ISO-8859-1")), 200, "Content-Type: text/plain; charset=ISO-8859-1"},
		{"UpperTextTypeAsIs", ret("headers", dict.Of("content-type", "Text/Plain")), 200, "content-type: Text/Plain"},
		{"JSONTypeAsIs", ret("headers", dict.Of("Content-Type", "application/json")), 200, "Content-Type: application/json"},
		{"LocationRedirects", ret("headers", dict.Of("Location", "/x")), 302, "Location: /x"},
		{"LocationOver404", ret("status_code", int64(404), "headers", dict.Of("location", "/x")), 302, "location: /x"},
		{"LocationWith201", ret("status_code", int64(201), "headers", dict.Of("Location", "/x")), 201, "Location: /x"},
		{"LocationWith307", ret("status_code", int64(307), "headers", dict.Of("Location", "/x")), 307, "Location: /x"},
		{"LocationWithInvalidStatus", ret("status_code", "abc", "headers", dict.Of("Location", "/x")), 500, "Location: /x"},
		{"ValuesAsText", ret("headers", dict.Of("X-T", true, "X-F", false, "X-N", int64(5), "X-Fl", 1e20)), 200, "X-T: 1|X-F: |X-N: 5|X-Fl: 1.0E+20"},
		{"LineBreaksDropped", ret("headers", dict.Of("X-Inj", "a\nX-Evil: 1", "X-After", "ok")), 200, "X-After: ok"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			resp := automations.WebhookResponse(tc.res)
			require.Equal(t, tc.status, resp.Status)
			var hs []string
			for _, h := range resp.Headers {
				hs = append(hs, h[0]+": "+h[1])
			}
			require.Equal(t, tc.headers, strings.Join(hs, "|"))
		})
	}
}

// TestWebhookResponseOriginHeadersDropped: the headers that act on the
// whole origin (which a webhook's answers share with the console) are
// dropped, in any case, with a warning that names them; the others stay.
func TestWebhookResponseOriginHeadersDropped(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		headers *dict.Map
		want    string
		dropped []string
	}{
		{"ServiceWorkerAllowed", dict.Of("Content-Type", "text/javascript", "Service-Worker-Allowed", "/"), "Content-Type: text/javascript;charset=UTF-8", []string{"Service-Worker-Allowed"}},
		{"ClearSiteData", dict.Of("Clear-Site-Data", `"storage", "cookies"`, "X-A", "1"), "X-A: 1", []string{"Clear-Site-Data"}},
		{"Reporting", dict.Of("NEL", `{"report_to":"x","max_age":86400}`, "Report-To", `{"group":"x"}`, "reporting-endpoints", `x="https://127.0.0.1/r"`, "X-A", "1"), "X-A: 1", []string{"NEL", "Report-To", "reporting-endpoints"}},
		{"AnyCase", dict.Of("service-worker-allowed", "/", "CLEAR-SITE-DATA", `"*"`), "", []string{"service-worker-allowed", "CLEAR-SITE-DATA"}},
		{"OwnCSPKept", dict.Of("Content-Security-Policy", "default-src 'none'"), "Content-Security-Policy: default-src 'none'", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			resp := automations.WebhookResponse(ret("headers", tc.headers))
			var hs []string
			for _, h := range resp.Headers {
				hs = append(hs, h[0]+": "+h[1])
			}
			require.Equal(t, tc.want, strings.Join(hs, "|"))
			require.Len(t, resp.Warnings, len(tc.dropped))
			for i, name := range tc.dropped {
				require.Contains(t, resp.Warnings[i], fmt.Sprintf("header %q dropped: an automation cannot set it", name))
			}
		})
	}
}

func TestWebhookInputs(t *testing.T) {
	t.Parallel()
	in := automations.WebhookInputs(automations.HTTPRequest{
		Method:  "patch",
		Path:    "/",
		Headers: [][2]string{{"X-A", "1"}, {"cookie", "secret"}, {"X-A", "2"}},
		Query:   [][2]string{{"q", "1"}, {"arr[]", "a"}, {"Dotted.Name", "d"}},
		Form:    [][2]string{{"q", "2"}, {"arr[]", "b"}},
	}, automations.WebhookInfo{ID: "7", Name: "Hook"})
	b, err := in.MarshalJSON()
	require.NoError(t, err)
	require.Equal(t, `{"request_method":"PATCH","request_body":"","request_client_ip":"","request_headers":{"x_a":"1, 2"},`+
		`"request_params":{"q":"2","arr":["b"],"dotted_name":"d"},"request_path":"",`+
		`"webhook_id":"7","webhook_name":"Hook","webhook_automations_kata":"","webhook_updated_at":0,"webhook__label":"Hook","webhook__context":"cerberusweb.contexts.webhook_listener"}`, string(b))
}

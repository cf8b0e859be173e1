package automations_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/automations"
	"github.com/hookhost/hookhost/internal/golden"
	"github.com/hookhost/hookhost/templates"
	"github.com/hookhost/hookhost/templates/dict"
)

// memStorage is an in-memory automations.Storage.
type memStorage struct {
	mu sync.Mutex
	m  *dict.Map
}

func (s *memStorage) Get(_ context.Context, key string) (any, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m.Get(key)
	return v, ok, nil
}

func (s *memStorage) Set(_ context.Context, key string, value any, expires time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if strings.HasPrefix(key, "fail") {
		return errors.New("storage is read-only for this key")
	}
	s.m.Set(key, value)
	if !expires.IsZero() {
		s.m.Set(key+"#expires", expires.UTC().Format(time.RFC3339))
	}
	return nil
}

func (s *memStorage) Delete(_ context.Context, key string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m.Delete(key), nil
}

// extCommands implements the test extension commands ext.echo and ext.fail.
type extCommands struct{}

func (extCommands) RunCommand(_ context.Context, name string, inputs *dict.Map) (any, error) {
	if name == "ext.fail" {
		return nil, errors.New("the extension refused: " + toText(inputs.Value("reason")))
	}
	return dict.Of("command", name, "inputs", inputs), nil
}

func toText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// functions runs the case's "function:<name>" sections as automations.
type functions struct {
	env  *templates.Env
	file *golden.File
	rt   *automations.Runtime
}

func (f *functions) RunFunction(ctx context.Context, name string, inputs *dict.Map) (*automations.Result, error) {
	if _, ok := f.file.Section("function:" + name); !ok {
		return nil, fmt.Errorf("no automation named %q", name)
	}
	script := f.file.Text("function:" + name)
	p, err := automations.Compile(automations.Source{Name: name, Trigger: "cerb.trigger.automation.function", Script: script},
		automations.Options{Templates: f.env})
	if err != nil {
		return nil, err
	}
	return p.Run(ctx, dict.Of("inputs", inputs), *f.rt), nil
}

// testServer answers http.request cases.
func testServer(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		body := make([]byte, 0, 512)
		buf := make([]byte, 512)
		for {
			n, err := r.Body.Read(buf)
			body = append(body, buf[:n]...)
			if err != nil {
				break
			}
		}
		w.Header()["Date"] = nil
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Echo", "yes")
		out := dict.Of("method", r.Method, "query", r.URL.RawQuery, "content_type", r.Header.Get("Content-Type"),
			"x_test", r.Header.Get("X-Test"), "body", string(body))
		b, _ := out.MarshalJSON()
		_, _ = w.Write(b)
	})
	mux.HandleFunc("/status/", func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/status/"))
		w.Header()["Date"] = nil
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(code)
		_, _ = fmt.Fprintf(w, "status %d", code)
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	})
	mux.HandleFunc("/binary", func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Date"] = nil
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write([]byte{0x89, 'P', 'N', 'G', 0xff, 0x00})
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Date"] = nil
		_, _ = w.Write([]byte(strings.Repeat("x", 4096)))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// goldenOptions reads the "options" section: "key: value" lines.
func goldenOptions(t *testing.T, g *golden.File) map[string]string {
	t.Helper()
	opts := map[string]string{}
	for _, line := range strings.Split(g.Text("options"), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		require.True(t, ok, "option line %q", line)
		opts[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return opts
}

func decodeMap(t *testing.T, s string) *dict.Map {
	t.Helper()
	m := dict.New(0)
	if strings.TrimSpace(s) == "" {
		return m
	}
	require.NoError(t, json.Unmarshal([]byte(s), m))
	return m
}

// requestJSON is the request.json section: an incoming webhook request.
type requestJSON struct {
	Method   string      `json:"method"`
	Path     string      `json:"path"`
	Headers  [][2]string `json:"headers"`
	Query    [][2]string `json:"query"`
	Form     [][2]string `json:"form"`
	Body     string      `json:"body"`
	ClientIP string      `json:"client_ip"`
}

// runGolden runs one case and renders the want text.
func runGolden(t *testing.T, env *templates.Env, g *golden.File, serverURL string) string {
	t.Helper()
	opts := goldenOptions(t, g)
	subst := func(s string) string { return strings.ReplaceAll(s, "$SERVER", serverURL) }
	script := g.Text("script")
	policy := g.Text("policy")
	limits := automations.Limits{}
	if v, ok := opts["steps"]; ok {
		limits.Steps, _ = strconv.Atoi(v)
	}
	if v, ok := opts["time_ms"]; ok {
		ms, _ := strconv.Atoi(v)
		limits.Time = time.Duration(ms) * time.Millisecond
	}
	if v, ok := opts["value_bytes"]; ok {
		limits.ValueBytes, _ = strconv.Atoi(v)
	}
	if v, ok := opts["run_bytes"]; ok {
		limits.RunBytes, _ = strconv.Atoi(v)
	}
	if v, ok := opts["log_bytes"]; ok {
		limits.LogBytes, _ = strconv.Atoi(v)
	}
	trigger := automations.TriggerWebhookRespond
	if v, ok := opts["trigger"]; ok {
		trigger = v
	}
	var b strings.Builder
	p, err := automations.Compile(automations.Source{Name: "test", Trigger: trigger, Script: subst(script), Policy: subst(policy)},
		automations.Options{Templates: env, Limits: limits, Commands: []string{"ext.echo", "ext.fail"}})
	if err != nil {
		var ds automations.Diagnostics
		require.True(t, errors.As(err, &ds), "compile error is %T: %v", err, err)
		b.WriteString("compile error:\n")
		for _, d := range ds {
			b.WriteString(d.Error())
			b.WriteByte('\n')
		}
		return b.String()
	}

	var inputs *dict.Map
	inputsJSON, _ := g.Section("inputs.json")
	if req, ok := g.Section("request.json"); ok {
		var rq requestJSON
		require.NoError(t, json.Unmarshal([]byte(subst(req)), &rq))
		inputs = automations.WebhookInputs(automations.HTTPRequest{
			Method: rq.Method, Path: rq.Path, Headers: rq.Headers, Query: rq.Query, Form: rq.Form,
			Body: []byte(rq.Body), ClientIP: rq.ClientIP,
		}, automations.WebhookInfo{ID: "1", Name: "Webhook Example", EventKATA: "automation/webhook:\n  uri: cerb:automation:example.webhook.respond",
			UpdatedAt: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)})
		extra := decodeMap(t, subst(inputsJSON))
		extra.Range(func(k string, v any) bool {
			inputs.Set(k, v)
			return true
		})
	} else {
		inputs = decodeMap(t, subst(inputsJSON))
	}
	before, _ := inputs.MarshalJSON()

	now := time.Date(2025, 1, 1, 8, 0, 0, 0, time.UTC)
	store := &memStorage{m: decodeMap(t, opts["storage"])}
	rt := automations.Runtime{
		HTTPClient: &http.Client{},
		Storage:    store,
		Commands:   extCommands{},
		Now:        func() time.Time { return now },
	}
	rt.Functions = &functions{env: env, file: g, rt: &rt}
	if opts["runtime"] == "none" {
		rt = automations.Runtime{Now: rt.Now}
	}
	ctx := context.Background()
	if opts["cancelled"] == "true" {
		c, cancel := context.WithCancel(ctx)
		cancel()
		ctx = c
	}
	res := p.Run(ctx, inputs, rt)

	after, _ := inputs.MarshalJSON()
	require.Equal(t, string(before), string(after), "Run modified its inputs")

	fmt.Fprintf(&b, "exit: %s\n", res.Exit)
	if res.Limit != "" {
		fmt.Fprintf(&b, "limit: %s\n", res.Limit)
	}
	if res.Error != "" {
		fmt.Fprintf(&b, "error: %s\n", res.Error)
	}
	if res.ErrorAt != "" && res.Limit != "time" {
		// (A time limit ends the run wherever the clock runs out.)
		fmt.Fprintf(&b, "error_at: %s\n", res.ErrorAt)
	}
	if res.Return != nil {
		var rb strings.Builder
		require.NoError(t, dict.Encode(&rb, res.Return, "    "))
		fmt.Fprintf(&b, "return: %s\n", rb.String())
	}
	if len(res.Log) > 0 {
		b.WriteString("log:\n")
		for _, l := range res.Log {
			fmt.Fprintf(&b, "  [%d] %s %s\n", l.Level, l.Node, l.Message)
		}
	}
	if store.m.Len() > 0 {
		sb, _ := store.m.MarshalJSON()
		fmt.Fprintf(&b, "storage: %s\n", sb)
	}
	if _, ok := g.Section("request.json"); ok {
		resp := automations.WebhookResponse(res)
		fmt.Fprintf(&b, "response: %d\n", resp.Status)
		for _, h := range resp.Headers {
			fmt.Fprintf(&b, "  %s: %s\n", h[0], h[1])
		}
		for _, w := range resp.Warnings {
			fmt.Fprintf(&b, "  warning: %s\n", w)
		}
		if len(resp.Body) > 0 {
			fmt.Fprintf(&b, "body:\n%s\n", resp.Body)
		}
	}
	out := b.String()
	if serverURL != "" {
		out = strings.ReplaceAll(out, serverURL, "$SERVER")
		out = strings.ReplaceAll(out, strings.TrimPrefix(serverURL, "http://"), "$HOST")
	}
	return out
}

// TestGolden runs testdata/automations/*.txtar: the "script" (and
// "policy") compiled with the "options", run on "request.json" or
// "inputs.json", must give the "want" section. $SERVER in a case is the URL
// of testServer.
func TestGolden(t *testing.T) {
	t.Parallel()
	env := templates.New()
	golden.Run(t, "../testdata/automations/*.txtar", func(t *testing.T, f *golden.File) golden.Got {
		serverURL := ""
		if f.Contains("$SERVER") {
			serverURL = testServer(t).URL
		}
		return golden.Got{"want": runGolden(t, env, f, serverURL)}
	})
}

// runEventGolden parses the "event" section and selects a handler for each
// "vars…json" section.
func runEventGolden(t *testing.T, env *templates.Env, g *golden.File) string {
	t.Helper()
	src := g.Text("event")
	var b strings.Builder
	ev, err := automations.ParseEvent(src, env)
	if err != nil {
		var ds automations.Diagnostics
		require.True(t, errors.As(err, &ds), "parse error is %T: %v", err, err)
		b.WriteString("parse error:\n")
		for _, d := range ds {
			b.WriteString(d.Error())
			b.WriteByte('\n')
		}
		return b.String()
	}
	fmt.Fprintf(&b, "automations: %s\n", strings.Join(ev.Automations(), ", "))
	if len(ev.Verify) > 0 {
		keys := make([]string, len(ev.Verify))
		for i, n := range ev.Verify {
			keys[i] = n.Key
		}
		fmt.Fprintf(&b, "verify: %s\n", strings.Join(keys, ", "))
	}
	if l := ev.Limits; l != nil {
		fmt.Fprintf(&b, "limits: rate=%g burst=%d concurrency=%d body_bytes=%d\n", l.Rate, l.Burst, l.Concurrency, l.BodyBytes)
	}
	if h := ev.History; h != nil {
		fmt.Fprintf(&b, "history: record=%s sample=%d\n", h.Record, h.Sample)
	}
	for _, s := range g.Sections {
		name := s.Name
		if !strings.HasPrefix(name, "vars") || !strings.HasSuffix(name, ".json") {
			continue
		}
		vars := decodeMap(t, s.Data)
		h, err := ev.Select(vars)
		fmt.Fprintf(&b, "select %s:\n", name)
		switch {
		case err != nil:
			fmt.Fprintf(&b, "  error: %v\n", err)
		case h == nil:
			b.WriteString("  no enabled handler\n")
		default:
			fmt.Fprintf(&b, "  handler: %s (%s)\n  automation: %s\n", h.Key, h.Pos, h.Automation)
			if h.Inputs != nil {
				in, _ := h.Inputs.MarshalJSON()
				fmt.Fprintf(&b, "  inputs: %s\n", in)
			}
			if h.Job != nil {
				fmt.Fprintf(&b, "  job: %+v\n", *h.Job)
			}
		}
	}
	return b.String()
}

// TestEventGolden runs testdata/events/*.txtar: the "event" KATA parsed,
// then a handler selected for each "vars…json" section, must give the
// "want" section.
func TestEventGolden(t *testing.T) {
	t.Parallel()
	env := templates.New()
	golden.Run(t, "../testdata/events/*.txtar", func(t *testing.T, f *golden.File) golden.Got {
		return golden.Got{"want": runEventGolden(t, env, f)}
	})
}

package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/automations"
	"github.com/hookhost/hookhost/host/jobs"
	"github.com/hookhost/hookhost/host/redact"
	"github.com/hookhost/hookhost/host/runner"
	"github.com/hookhost/hookhost/internal/pgtest"
	"github.com/hookhost/hookhost/templates/dict"
)

// jobsPostgresEnv names the variable holding a PostgreSQL DSN for the job
// tests on PostgreSQL.
const jobsPostgresEnv = "HOOKHOST_TEST_POSTGRES"

// backend is a database the job tests run on.
type backend struct {
	name   string
	mutate func(t testing.TB) func(*Config)
}

// jobBackends is SQLite, plus PostgreSQL (a fresh schema per test) when
// HOOKHOST_TEST_POSTGRES is set.
func jobBackends(t *testing.T) []backend {
	t.Helper()
	bs := []backend{{name: "SQLite", mutate: func(testing.TB) func(*Config) { return func(*Config) {} }}}
	dsn := os.Getenv(jobsPostgresEnv)
	if dsn == "" {
		t.Logf("set %s to a PostgreSQL DSN to run the job tests on PostgreSQL too", jobsPostgresEnv)
		return bs
	}
	return append(bs, backend{name: "Postgres", mutate: func(t testing.TB) func(*Config) {
		return func(c *Config) { c.Database = pgtest.SchemaOf(t, dsn, "hh_jobs_") }
	}})
}

// setupJobs starts a server for job tests: fast retries, quick shutdown.
func setupJobs(t *testing.T, be backend, mutate ...func(*Config)) *testBundle {
	t.Helper()
	all := append([]func(*Config){be.mutate(t), func(c *Config) {
		c.Jobs.RetryBackoff = 20 * time.Millisecond
		c.Jobs.ShutdownGrace = 2 * time.Second
	}}, mutate...)
	return setup(t, all...)
}

// fastRetries is for the tests that wait for every attempt of a job: its
// backoff starts at 1 ms (doubling: an upstream subscription's 8
// attempts take about 130 ms, not 2.5 s), and River looks for jobs every
// 20 ms, since only its poll finds a retry whose time came (SQLite:
// every second by default, the wait of each attempt).
func fastRetries(c *Config) {
	c.Jobs.RetryBackoff, c.Jobs.FetchPollInterval = time.Millisecond, 20*time.Millisecond
}

// jobEvent is the event KATA of a job handler.
func jobEvent(automation, job string) string {
	return "automation/deploy:\n  uri: cerb:automation:" + automation + "\n  inputs:\n    environment: staging\n  job:\n" + job
}

// storedJobInputs reads a job's inputs as stored: its record's redacted
// copy and the real ones kept apart (hookhost_job_inputs).
func storedJobInputs(t *testing.T, b *testBundle, id string) (record, real []byte) {
	t.Helper()
	db, dialect := b.srv.Store().DB(), b.srv.Store().Dialect()
	q := rebind(dialect, `SELECT h.inputs, i.inputs FROM hookhost_jobs h JOIN hookhost_job_inputs i ON i.river_id = h.river_id
		WHERE h.id = ?`)
	require.NoError(t, db.QueryRowContext(context.Background(), q, id).Scan(&record, &real))
	return record, real
}

// fakeRunner stands in for the extensions; fn decides each run.
type fakeRunner struct {
	calls   atomic.Int32
	active  atomic.Int32
	maxSeen atomic.Int32
	fn      func(ctx context.Context, inv *runner.Invocation, call int) (*automations.Result, error)
}

func (f *fakeRunner) Run(ctx context.Context, inv *runner.Invocation) (*automations.Result, error) {
	n := int(f.calls.Add(1))
	a := f.active.Add(1)
	defer f.active.Add(-1)
	for {
		m := f.maxSeen.Load()
		if a <= m || f.maxSeen.CompareAndSwap(m, a) {
			break
		}
	}
	return f.fn(ctx, inv, n)
}

func returned(body string) *automations.Result {
	return &automations.Result{Exit: automations.ExitReturn, Return: dict.Of("status_code", int64(200), "body", body),
		Log: []automations.LogEntry{{Level: 7, Message: "hello"}, {Level: 4, Message: "careful"}, {Level: 3, Message: "bad"}, {Level: 6, Message: "info"}}}
}

// fire sends a request to a webhook and returns the job id of its 202.
func (b *testBundle) fire(t *testing.T, token string, headers ...string) string {
	t.Helper()
	r := b.do(t, "POST", "/webhooks/"+token, "application/json", `{"a":1}`, headers...)
	require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Body)
	var body struct{ JobIds []string }
	require.NoError(t, json.Unmarshal(r.Body, &body))
	require.Len(t, body.JobIds, 1)
	return body.JobIds[0]
}

// tryFire is fire for goroutines other than the test's: it reports
// problems instead of failing the test.
func (b *testBundle) tryFire(token string, headers ...string) (string, error) {
	req := httptest.NewRequest("POST", "/webhooks/"+token, strings.NewReader(`{"a":1}`))
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := b.srv.App().Test(req, 10_000)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var body struct{ JobIds []string }
	if resp.StatusCode != http.StatusAccepted || json.Unmarshal(raw, &body) != nil || len(body.JobIds) != 1 {
		return "", fmt.Errorf("answered %d: %s", resp.StatusCode, raw)
	}
	return body.JobIds[0], nil
}

// job reads a job through the admin API.
func (b *testBundle) job(t *testing.T, id string) map[string]any {
	t.Helper()
	r := b.admin(t, "GET", "/jobs/"+id, "", "")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	return r.json(t)
}

// waitState polls the admin API until the job is in state (tests may poll;
// the server never polls River for wait_ms).
func (b *testBundle) waitState(t *testing.T, id string, state jobs.State) map[string]any {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		j := b.job(t, id)
		if j["state"] == string(state) {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s is %v, want %s: %v", id, j["state"], state, j)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestJobs_HandOffShapeAndRecord(t *testing.T) {
	t.Parallel()
	for _, be := range jobBackends(t) {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			b := setupJobs(t, be)
			b.createAutomation(t, "example.deploy", "inputs:\n  text/environment:\n    type: freeform\nstart:\n  return:\n    status_code@int: 201\n    headers:\n      X-Env: {{inputs.environment}}\n    body: auth={{request_headers.authorization}} env={{inputs.environment}} name={{webhook_data.WebhookName}} body={{webhook_data.RequestBody}}\n", "")
			_, tok := b.createWebhook(t, "deploys", jobEvent("example.deploy", "    max_attempts@int: 3\n"))

			r := b.do(t, "POST", "/webhooks/"+tok+"?environment=prod&api_token=abc", "application/json", `{"x":1}`,
				"Authorization", "Bearer s3cret", "X-Hub-Signature-256", "sha256=00", "X-Custom", "kept")
			require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Body)
			require.Regexp(t, `^\{"JobIds":\["[0-9a-f-]{36}"\]\}$`, string(r.Body))
			require.Equal(t, "application/json", r.Header.Get("Content-Type"))
			var body struct{ JobIds []string }
			require.NoError(t, json.Unmarshal(r.Body, &body))
			id := body.JobIds[0]
			require.Equal(t, "/webhook-jobs/"+id, r.Header.Get("Location"))

			j := b.waitState(t, id, jobs.StateCompleted)
			require.Equal(t, "example.deploy", j["automation"])
			require.Equal(t, float64(1), j["revision"])
			require.Equal(t, float64(1), j["attempt"])
			require.Equal(t, float64(3), j["max_attempts"])
			require.NotNil(t, j["started_at"])
			require.NotNil(t, j["finished_at"])
			resp := j["response"].(map[string]any)
			require.Equal(t, float64(201), resp["status"])
			// The automation got the fixed input (the caller's ?environment=
			// does not override it); the record redacts the caller's
			// Authorization it echoed (TestJobs_RecordRedactsResponse).
			require.Equal(t, `auth=[redacted] env=staging name=deploys body={"x":1}`, resp["body"])
			require.Equal(t, []any{[]any{"X-Env", "staging"}}, resp["headers"])
			// The record shows them redacted.
			in := j["inputs"].(map[string]any)
			require.Equal(t, redact.Marker, in["request_headers"].(map[string]any)["authorization"])
			require.Equal(t, redact.Marker, in["request_headers"].(map[string]any)["x_hub_signature_256"])
			require.Equal(t, "kept", in["request_headers"].(map[string]any)["x_custom"])
			require.Equal(t, redact.Marker, in["request_params"].(map[string]any)["api_token"])
			wd := in["webhook_data"].(map[string]any)
			require.Equal(t, "deploys", wd["WebhookName"])
			require.Equal(t, redact.Marker, wd["RequestHeader"].(map[string]any)["Authorization"])
			require.Equal(t, "kept", wd["RequestHeader"].(map[string]any)["X-Custom"])
			require.Equal(t, `{"x":1}`, wd["RequestBody"])
			require.Equal(t, "staging", in["inputs"].(map[string]any)["environment"])
			shown, err := json.Marshal(in)
			require.NoError(t, err)
			require.NotContains(t, string(shown), "s3cret")
			require.Equal(t, map[string]any{"status_code": float64(201), "headers": map[string]any{"X-Env": "staging"},
				"body": `auth=[redacted] env=staging name=deploys body={"x":1}`}, j["output"])

			// The record stores the body once: webhook_data's RequestBody
			// is request_body, put back when it is shown (above). The real
			// inputs (hookhost_job_inputs) keep both, as the automation
			// gets them.
			record, real := storedJobInputs(t, b, id)
			require.Equal(t, 1, strings.Count(string(record), `"{\"x\":1}"`), "%s", record)
			require.Contains(t, string(record), `"webhook_data":{"WebhookName":"deploys"`)
			require.Equal(t, 2, strings.Count(string(real), `"{\"x\":1}"`), "%s", real)
		})
	}
}

func TestJobs_WaitMS(t *testing.T) {
	t.Parallel()
	b := setupJobs(t, jobBackends(t)[0])
	release := make(chan struct{})
	b.useRunner(&fakeRunner{fn: func(ctx context.Context, inv *runner.Invocation, _ int) (*automations.Result, error) {
		if inv.Automation.Name == "slow" {
			select {
			case <-release:
			case <-ctx.Done():
			}
		}
		return returned("done by " + inv.Automation.Name), nil
	}})
	defer close(release)
	b.createAutomation(t, "fast", "inputs:\n  text/environment:\nstart:\n  return:\n    body: x\n", "")
	b.createAutomation(t, "slow", "inputs:\n  text/environment:\nstart:\n  return:\n    body: x\n", "")
	_, fastTok := b.createWebhook(t, "fast", jobEvent("fast", "    wait_ms@int: 5000\n"))
	_, slowTok := b.createWebhook(t, "slow", jobEvent("slow", "    wait_ms@int: 100\n"))

	tests := []struct {
		name       string
		token      string
		wantStatus int
		wantBody   string
	}{
		{"FinishedInTimeAnswersTheAutomation", fastTok, http.StatusOK, "done by fast"},
		{"TooSlowAnswers202", slowTok, http.StatusAccepted, `{"JobIds":["`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := b.do(t, "POST", "/webhooks/"+tt.token, "", "")
			require.Equal(t, tt.wantStatus, r.Status, "%s", r.Body)
			require.Contains(t, string(r.Body), tt.wantBody)
		})
	}
}

func TestJobs_StateTransitions(t *testing.T) {
	t.Parallel()
	for _, be := range jobBackends(t) {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			b := setupJobs(t, be, func(c *Config) { c.Jobs.Workers = 1; c.Jobs.RetryBackoff = 400 * time.Millisecond })
			gate := make(chan error)
			b.useRunner(&fakeRunner{fn: func(ctx context.Context, inv *runner.Invocation, _ int) (*automations.Result, error) {
				select {
				case err := <-gate:
					if err != nil {
						return nil, err
					}
					return returned("ok"), nil
				case <-ctx.Done():
					return nil, ctx.Err()
				}
			}})
			b.createAutomation(t, "example.deploy", "inputs:\n  text/environment:\nstart:\n  return:\n    body: x\n", "")
			_, tok := b.createWebhook(t, "w", jobEvent("example.deploy", "    max_attempts@int: 2\n"))

			first := b.fire(t, tok)
			b.waitState(t, first, jobs.StateRunning)
			second := b.fire(t, tok) // the only worker is busy
			require.Equal(t, string(jobs.StateQueued), b.job(t, second)["state"])
			third := b.fire(t, tok)

			gate <- runner.ErrExtensionCrashed
			j := b.waitState(t, first, jobs.StateRetrying)
			require.Contains(t, j["error"], "extension crashed")
			// Queued → Stopped.
			r := b.admin(t, "POST", "/jobs/"+third+"/cancel", "", "")
			require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
			require.Equal(t, string(jobs.StateStopped), r.json(t)["state"])
			// Running → Completed, for both remaining jobs.
			for range 2 {
				gate <- nil
			}
			j = b.waitState(t, first, jobs.StateCompleted)
			require.Equal(t, float64(2), j["attempt"])
			b.waitState(t, second, jobs.StateCompleted)
			require.Equal(t, string(jobs.StateStopped), b.job(t, third)["state"])
			r = b.admin(t, "POST", "/jobs/"+third+"/cancel", "", "")
			require.Equal(t, http.StatusConflict, r.Status, "%s", r.Body)
		})
	}
}

func TestJobs_Retries(t *testing.T) {
	t.Parallel()
	b := setupJobs(t, jobBackends(t)[0])
	// Each automation name picks a behaviour; calls are counted per job.
	var mu sync.Mutex
	calls := map[string]int{}
	b.useRunner(&fakeRunner{fn: func(ctx context.Context, inv *runner.Invocation, _ int) (*automations.Result, error) {
		mu.Lock()
		calls[inv.RunID]++
		n := calls[inv.RunID]
		mu.Unlock()
		switch inv.Automation.Name {
		case "flaky":
			if n < 3 {
				return nil, fmt.Errorf("run: %w", runner.ErrExtensionCrashed)
			}
			return returned("third time"), nil
		case "crashes":
			return nil, runner.ErrExtensionCrashed
		default: // "fails"
			return &automations.Result{Exit: automations.ExitError, Error: "boom"}, nil
		}
	}})
	for _, name := range []string{"flaky", "crashes", "fails"} {
		b.createAutomation(t, name, "inputs:\n  text/environment:\nstart:\n  return:\n    body: x\n", "")
	}
	tests := []struct {
		name       string
		automation string
		job        string
		wantState  jobs.State
		wantCalls  int
		wantError  string
	}{
		{"CrashRetriedThenCompleted", "flaky", "    max_attempts@int: 3\n", jobs.StateCompleted, 3, ""},
		{"CrashRetriedByDefault", "crashes", "    wait_ms@int: 0\n", jobs.StateFailed, 3, "extension crashed"},
		{"CrashUpToMaxAttempts", "crashes", "    max_attempts@int: 2\n", jobs.StateFailed, 2, "extension crashed"},
		{"ErrorNotRetriedByDefault", "fails", "    wait_ms@int: 0\n", jobs.StateFailed, 1, "boom"},
		{"ErrorRetriedWhenMaxAttemptsSet", "fails", "    max_attempts@int: 3\n", jobs.StateFailed, 3, "boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, tok := b.createWebhook(t, tt.name, jobEvent(tt.automation, tt.job))
			id := b.fire(t, tok)
			j := b.waitState(t, id, tt.wantState)
			mu.Lock()
			got := calls[id]
			mu.Unlock()
			require.Equal(t, tt.wantCalls, got)
			require.Equal(t, float64(tt.wantCalls), j["attempt"])
			if tt.wantError != "" {
				require.Contains(t, j["error"], tt.wantError)
			}
		})
	}
}

func TestJobs_CancelRunningJob(t *testing.T) {
	t.Parallel()
	b := setupJobs(t, jobBackends(t)[0])
	sawCancel := make(chan struct{})
	b.useRunner(&fakeRunner{fn: func(ctx context.Context, _ *runner.Invocation, _ int) (*automations.Result, error) {
		<-ctx.Done()
		close(sawCancel)
		return nil, ctx.Err()
	}})
	b.createAutomation(t, "example.deploy", "inputs:\n  text/environment:\nstart:\n  return:\n    body: x\n", "")
	_, tok := b.createWebhook(t, "w", jobEvent("example.deploy", "    max_attempts@int: 3\n"))
	id := b.fire(t, tok)
	b.waitState(t, id, jobs.StateRunning)
	r := b.admin(t, "POST", "/jobs/"+id+"/cancel", "", "")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	<-sawCancel
	j := b.waitState(t, id, jobs.StateStopped)
	require.Equal(t, "cancelled", j["error"])
	require.Equal(t, float64(1), j["attempt"])
}

func TestJobs_TimeLimit(t *testing.T) {
	t.Parallel()
	b := setupJobs(t, jobBackends(t)[0])
	b.useRunner(&fakeRunner{fn: func(ctx context.Context, _ *runner.Invocation, _ int) (*automations.Result, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}})
	b.createAutomation(t, "example.deploy", "inputs:\n  text/environment:\nstart:\n  return:\n    body: x\n", "")
	// The job's state says it ran past its time limit, whenever it ran.
	_, tok := b.createWebhook(t, "w", jobEvent("example.deploy", "    timeout_ms@int: 100\n"))
	id := b.fire(t, tok)
	j := b.waitState(t, id, jobs.StateFailed)
	require.Contains(t, j["error"], "time limit")
	require.Equal(t, float64(1), j["attempt"]) // not retried: max_attempts not set

	// A caller waiting for it (wait_ms, the longest allowed, only bounds the
	// wait: the answer comes when the job ends) gets 504.
	_, waitTok := b.createWebhook(t, "wait", jobEvent("example.deploy", "    timeout_ms@int: 100\n    wait_ms@int: 120000\n"))
	r := b.do(t, "POST", "/webhooks/"+waitTok, "", "")
	require.Equal(t, http.StatusGatewayTimeout, r.Status, "%s", r.Body)
}

func TestJobs_ConcurrencyOneSerialises(t *testing.T) {
	t.Parallel()
	for _, be := range jobBackends(t) {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			// A job over its webhook's concurrency is snoozed, and only
			// River's poll finds it again (SQLite: every second by
			// default, PostgreSQL 500 ms; 5 of the 6 jobs wait for it).
			b := setupJobs(t, be, func(c *Config) { c.Jobs.FetchPollInterval = 20 * time.Millisecond })
			fr := &fakeRunner{fn: func(ctx context.Context, _ *runner.Invocation, _ int) (*automations.Result, error) {
				time.Sleep(20 * time.Millisecond)
				return returned("ok"), nil
			}}
			b.useRunner(fr)
			b.createAutomation(t, "example.deploy", "inputs:\n  text/environment:\nstart:\n  return:\n    body: x\n", "")
			_, tok := b.createWebhook(t, "w", jobEvent("example.deploy", "    concurrency@int: 1\n"))
			const n = 6
			ids := make([]string, n)
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() { ids[i], errs[i] = b.tryFire(tok) })
			}
			wg.Wait()
			for _, err := range errs {
				require.NoError(t, err)
			}
			for _, id := range ids {
				b.waitState(t, id, jobs.StateCompleted)
			}
			require.Equal(t, int32(n), fr.calls.Load())
			require.Equal(t, int32(1), fr.maxSeen.Load(), "two runs overlapped")
		})
	}
}

func TestJobs_IdempotentRedelivery(t *testing.T) {
	t.Parallel()
	for _, be := range jobBackends(t) {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			b := setupJobs(t, be)
			b.createAutomation(t, "example.deploy", "inputs:\n  text/environment:\nstart:\n  return:\n    body: x\n", "")
			whID, tok := b.createWebhook(t, "w", jobEvent("example.deploy", "    max_attempts@int: 1\n"))
			_, otherTok := b.createWebhook(t, "other", jobEvent("example.deploy", "    max_attempts@int: 1\n"))

			headers := []string{"Idempotency-Key", "webhook-id", "svix-id", "X-GitHub-Delivery", "X-Gitlab-Event-UUID", "X-Shopify-Webhook-Id"}
			for _, h := range headers {
				first := b.fire(t, tok, h, "delivery-"+h)
				// Concurrent redeliveries all get the first job.
				ids := make([]string, 8)
				errs := make([]error, 8)
				var wg sync.WaitGroup
				for i := range ids {
					wg.Go(func() { ids[i], errs[i] = b.tryFire(tok, h, "delivery-"+h) })
				}
				wg.Wait()
				for i := range ids {
					require.NoError(t, errs[i])
					require.Equal(t, first, ids[i])
				}
				// Another webhook with the same delivery id is another job.
				require.NotEqual(t, first, b.fire(t, otherTok, h, "delivery-"+h))
			}
			require.NotEqual(t, b.fire(t, tok), b.fire(t, tok))

			r := b.admin(t, "GET", "/jobs?webhook="+whID, "", "")
			require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
			require.Len(t, r.json(t)["jobs"], len(headers)+2) // the delivery ids + 2 without

			// A handler may name its own key, a template of the request.
			_, keyTok := b.createWebhook(t, "keyed", jobEvent("example.deploy", "    max_attempts@int: 1\n    idempotency_key: order-{{request_headers.x_order}}\n"))
			first := b.fire(t, keyTok, "X-Order", "7")
			require.Equal(t, first, b.fire(t, keyTok, "X-Order", "7"), "the same rendered key is the same job")
			require.NotEqual(t, first, b.fire(t, keyTok, "X-Order", "8"))
		})
	}
}

func TestJobs_CallerStatus(t *testing.T) {
	t.Parallel()
	b := setupJobs(t, jobBackends(t)[0])
	b.createAutomation(t, "example.deploy", "inputs:\n  text/environment:\n    type: freeform\nstart:\n  return:\n    status_code@int: 202\n    body: accepted\n", "")
	_, tok := b.createWebhook(t, "w", jobEvent("example.deploy", "    max_attempts@int: 1\n"))
	_, otherTok := b.createWebhook(t, "other", jobEvent("example.deploy", "    max_attempts@int: 1\n"))
	id := b.fire(t, tok)
	b.waitState(t, id, jobs.StateCompleted)

	tests := []struct {
		name       string
		target     string
		headers    []string
		wantStatus int
		wantBody   string
	}{
		{"BearerToken", "/webhook-jobs/" + id, []string{"Authorization", "Bearer " + tok}, http.StatusOK, `"state":"Completed"`},
		{"QueryToken", "/webhook-jobs/" + id + "?token=" + tok, nil, http.StatusOK, `"body":"accepted"`},
		{"OtherWebhooksToken", "/webhook-jobs/" + id, []string{"Authorization", "Bearer " + otherTok}, http.StatusNotFound, "no such job"},
		{"UnknownToken", "/webhook-jobs/" + id + "?token=" + strings.Repeat("0", 40), nil, http.StatusUnauthorized, "token"},
		{"NoToken", "/webhook-jobs/" + id, nil, http.StatusUnauthorized, "token"},
		{"UnknownJob", "/webhook-jobs/nope?token=" + tok, nil, http.StatusNotFound, "no such job"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := b.do(t, "GET", tt.target, "", "", tt.headers...)
			require.Equal(t, tt.wantStatus, r.Status, "%s", r.Body)
			require.Contains(t, string(r.Body), tt.wantBody)
			require.NotContains(t, string(r.Body), `"inputs"`)
		})
	}
	r := b.do(t, "GET", "/webhook-jobs/"+id, "", "", "Authorization", "Bearer "+tok)
	resp := r.json(t)["response"].(map[string]any)
	require.Equal(t, float64(202), resp["status"])
}

func TestJobs_SignedCallback(t *testing.T) {
	t.Parallel()
	for _, be := range jobBackends(t) {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			type delivery struct {
				header http.Header
				body   []byte
			}
			got := make(chan delivery, 4)
			var failOnce atomic.Bool
			recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				if failOnce.CompareAndSwap(false, true) {
					w.WriteHeader(http.StatusServiceUnavailable) // retried
					return
				}
				got <- delivery{r.Header.Clone(), body}
			}))
			t.Cleanup(recv.Close)

			b := setupJobs(t, be, func(c *Config) { c.Jobs.RetryBackoff = 5 * time.Millisecond })
			b.createAutomation(t, "example.deploy", "inputs:\n  text/environment:\n    type: freeform\nstart:\n  return:\n    body: deployed\n    result: 42\n", "")
			whID, tok := b.createWebhook(t, "w", jobEvent("example.deploy", "    callback_url: "+recv.URL+"/done\n"))
			r := b.admin(t, "POST", "/webhooks/"+whID+"/signing-secret", "", "")
			require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
			secret := r.json(t)["signing_secret"].(string)
			require.True(t, strings.HasPrefix(secret, "whsec_"))
			r = b.admin(t, "POST", "/webhooks/nope/signing-secret", "", "")
			require.Equal(t, http.StatusNotFound, r.Status, "%s", r.Body)

			id := b.fire(t, tok)
			var d delivery
			select {
			case d = <-got:
			case <-time.After(15 * time.Second):
				t.Fatal("no callback")
			}
			require.Equal(t, "job_"+id, d.header.Get("webhook-id"))
			sig, err := jobs.Sign(secret, d.header.Get("webhook-id"), mustInt(t, d.header.Get("webhook-timestamp")), d.body)
			require.NoError(t, err)
			require.Equal(t, sig, d.header.Get("webhook-signature"))
			wrong, err := jobs.Sign("whsec_"+strings.Repeat("A", 44), d.header.Get("webhook-id"), mustInt(t, d.header.Get("webhook-timestamp")), d.body)
			require.NoError(t, err)
			require.NotEqual(t, wrong, d.header.Get("webhook-signature"))

			var n jobs.Notice
			require.NoError(t, json.Unmarshal(d.body, &n))
			require.Equal(t, "job.completed", n.Type)
			require.Equal(t, id, n.Data.JobID)
			require.Equal(t, jobs.StateCompleted, n.Data.State)
			require.NotNil(t, n.Data.FinishedAt)
			require.JSONEq(t, `{"body":"deployed","result":"42"}`, string(n.Data.Output))
		})
	}
}

func mustInt(t *testing.T, s string) int64 {
	t.Helper()
	var n int64
	_, err := fmt.Sscan(s, &n)
	require.NoError(t, err)
	return n
}

func TestJobs_AdminListLogsRetry(t *testing.T) {
	t.Parallel()
	b := setupJobs(t, jobBackends(t)[0])
	b.useRunner(&fakeRunner{fn: func(ctx context.Context, inv *runner.Invocation, _ int) (*automations.Result, error) {
		if _, ok := inv.Inputs.Value("request_headers").(*dict.Map).Get("x_fail"); ok {
			return &automations.Result{Exit: automations.ExitError, Error: "asked to fail"}, nil
		}
		return returned("ok"), nil
	}})
	b.createAutomation(t, "example.deploy", "inputs:\n  text/environment:\nstart:\n  return:\n    body: x\n", "")
	whID, tok := b.createWebhook(t, "w", jobEvent("example.deploy", "    wait_ms@int: 0\n"))
	ok1 := b.fire(t, tok)
	failed := b.fire(t, tok, "X-Fail", "yes", "Authorization", "Bearer real")
	b.waitState(t, ok1, jobs.StateCompleted)
	b.waitState(t, failed, jobs.StateFailed)

	// Filters and pages.
	r := b.admin(t, "GET", "/jobs?state=failed&webhook="+whID, "", "")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	list := r.json(t)["jobs"].([]any)
	require.Len(t, list, 1)
	require.Equal(t, failed, list[0].(map[string]any)["id"])
	r = b.admin(t, "GET", "/jobs?limit=1", "", "")
	page := r.json(t)
	require.Len(t, page["jobs"], 1)
	cursor := page["next_cursor"].(string)
	require.NotEmpty(t, cursor)
	r = b.admin(t, "GET", "/jobs?limit=1&cursor="+url.QueryEscape(cursor), "", "")
	page2 := r.json(t)
	require.Len(t, page2["jobs"], 1)
	require.NotEqual(t, page["jobs"].([]any)[0].(map[string]any)["id"], page2["jobs"].([]any)[0].(map[string]any)["id"])
	for _, bad := range []string{"state=nope", "limit=0", "cursor=%21%21"} {
		r = b.admin(t, "GET", "/jobs?"+bad, "", "")
		require.Equal(t, http.StatusBadRequest, r.Status, "%s: %s", bad, r.Body)
	}

	// Logs split into Azure's streams.
	r = b.admin(t, "GET", "/jobs/"+ok1+"/logs", "", "")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	var st jobs.Streams
	require.NoError(t, json.Unmarshal(r.Body, &st))
	require.Equal(t, "hello", st.Output[0].Message)
	require.Equal(t, "careful", st.Warning[0].Message)
	require.Equal(t, "bad", st.Error[0].Message)
	require.Equal(t, "info", st.Verbose[0].Message)

	// Retry re-runs with the same (real) inputs as a new, linked job.
	r = b.admin(t, "POST", "/jobs/"+failed+"/retry", "", "")
	require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Body)
	var body struct{ JobIds []string }
	require.NoError(t, json.Unmarshal(r.Body, &body))
	retry := body.JobIds[0]
	require.NotEqual(t, failed, retry)
	require.Equal(t, "/api/v1/jobs/"+retry, r.Header.Get("Location"))
	j := b.waitState(t, retry, jobs.StateFailed) // the same inputs fail the same way
	require.Equal(t, failed, j["retry_of"])
	require.Equal(t, "asked to fail", j["error"])
	require.Equal(t, redact.Marker, j["inputs"].(map[string]any)["request_headers"].(map[string]any)["authorization"])

	r = b.admin(t, "GET", "/jobs/nope", "", "")
	require.Equal(t, http.StatusNotFound, r.Status, "%s", r.Body)
}

func TestJobs_GracefulShutdownFinishesRunningJobs(t *testing.T) {
	t.Parallel()
	b := setupJobs(t, jobBackends(t)[0])
	started := make(chan struct{})
	b.useRunner(&fakeRunner{fn: func(ctx context.Context, _ *runner.Invocation, _ int) (*automations.Result, error) {
		close(started)
		select {
		case <-time.After(300 * time.Millisecond):
			return returned("finished"), nil
		case <-ctx.Done():
			return nil, errors.New("cut short")
		}
	}})
	b.createAutomation(t, "example.deploy", "inputs:\n  text/environment:\nstart:\n  return:\n    body: x\n", "")
	_, tok := b.createWebhook(t, "w", jobEvent("example.deploy", "    max_attempts@int: 1\n"))
	id := b.fire(t, tok)
	<-started
	dir := b.srv.cfg.DataDir
	require.NoError(t, b.srv.Close()) // waits for the running job (grace 2s)
	b2 := setup(t, func(c *Config) { c.DataDir = dir })
	j := b2.job(t, id)
	require.Equal(t, string(jobs.StateCompleted), j["state"])
	require.Equal(t, "finished", j["response"].(map[string]any)["body"])
}

package host

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/automations"
	"github.com/hookhost/hookhost/host/runner"
)

// heldRunner holds every run until release is closed (or, with honour,
// until its context ends), telling entered which automation started.
type heldRunner struct {
	honour  bool
	entered chan string
	release chan struct{}
	// cancelled gets the automation of a run whose context ended.
	cancelled chan string
}

func newHeldRunner(honour bool) *heldRunner {
	return &heldRunner{honour: honour, entered: make(chan string, 4), release: make(chan struct{}), cancelled: make(chan string, 4)}
}

func (r *heldRunner) Run(ctx context.Context, inv *runner.Invocation) (*automations.Result, error) {
	r.entered <- inv.Automation.Name
	if !r.honour {
		<-r.release
		return returned("done"), nil
	}
	select {
	case <-r.release:
		return returned("done"), nil
	case <-ctx.Done():
		r.cancelled <- inv.Automation.Name
		return nil, ctx.Err()
	}
}

// served is a server serving on loopback until cancel, and the outcome of
// its Serve.
type served struct {
	url    string
	cancel context.CancelFunc
	done   chan error
}

func serveLoopback(t *testing.T, b *testBundle) *served {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	s := &served{url: "http://" + ln.Addr().String(), cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- b.srv.Serve(ctx, ln, nil) }()
	t.Cleanup(cancel)
	return s
}

// answer is a reply to a request sent in the background.
type answer struct {
	status int
	body   []byte
	err    error
}

func postAsync(url string) <-chan answer {
	c := make(chan answer, 1)
	go func() {
		resp, err := http.Post(url, "text/plain", nil)
		if err != nil {
			c <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		c <- answer{status: resp.StatusCode, body: body, err: err}
	}()
	return c
}

// bound is an upper bound on what must happen, never a timing assertion:
// a test that reaches it failed.
const bound = time.Minute

func recv[T any](t *testing.T, c <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(bound):
		t.Fatalf("%s: not within %s", what, bound)
	}
	var zero T
	return zero
}

// A stopping server with a synchronous run in flight past its drain never
// crashes (review revops HIGH: the run's record was sent on the closed
// recorder, "send on closed channel", exit 2, no answer): the run is
// cancelled and answers 503 before the run history closes, or, when it
// ignores the cancellation, its record is dropped and counted when it ends.
func TestServe_ShutdownWithRunInFlight(t *testing.T) {
	tests := []struct {
		name string
		// honour: the run ends when its context does.
		honour bool
		// releaseAfterServe: the run is released once Serve returned
		// (else at once after the shutdown began).
		releaseAfterServe bool
		drain             time.Duration
		wantStatus        int
		wantAfterClose    int64
	}{
		{"RunCancelledAfterDrainAnswers503", true, false, time.Nanosecond, http.StatusServiceUnavailable, 0},
		{"RunIgnoringCancellationRecordDropped", false, true, time.Nanosecond, http.StatusOK, 1},
		{"RunEndingWithinDrainAnswers", false, false, 0, http.StatusOK, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hr := newHeldRunner(tt.honour)
			b := setup(t, func(c *Config) {
				c.Runner = hr
				c.ShutdownDrain = tt.drain
				c.ShutdownCloseWait = time.Nanosecond
				if tt.honour {
					c.ShutdownCloseWait = bound
				}
			})
			b.createAutomation(t, "slow", "start:\n  return:\n    body: done\n", "")
			_, tok := b.createWebhook(t, "slow", eventFor("slow"))
			s := serveLoopback(t, b)
			answered := postAsync(s.url + "/webhooks/" + tok)
			recv(t, hr.entered, "the run starts")
			s.cancel() // SIGTERM
			if !tt.releaseAfterServe && !tt.honour {
				close(hr.release)
			}
			require.NoError(t, recv(t, s.done, "Serve returns"))
			if tt.releaseAfterServe {
				close(hr.release)
			}
			a := recv(t, answered, "the caller's answer")
			require.NoError(t, a.err)
			require.Equal(t, tt.wantStatus, a.status, "%s", a.body)
			if tt.wantStatus == http.StatusServiceUnavailable {
				require.Contains(t, string(a.body), "shutting down")
			}
			st := b.srv.dispatch.RunRecorderStats()
			require.Equal(t, tt.wantAfterClose, st.AfterClose)
			require.Equal(t, 1-tt.wantAfterClose, st.Written)
		})
	}
}

// A caller waiting for its job (job: wait_ms) is answered 202 with the job
// id as soon as the server stops, while the job still runs (review revops
// MEDIUM: it was held until the connection closed, with no answer).
func TestServe_ShutdownAnswersJobWaiters(t *testing.T) {
	hr := newHeldRunner(false)
	b := setup(t, func(c *Config) { c.Runner = hr })
	b.createAutomation(t, "slow", "inputs:\n  text/environment:\nstart:\n  return:\n    body: x\n", "")
	_, tok := b.createWebhook(t, "slow", jobEvent("slow", "    wait_ms@int: 120000\n"))
	s := serveLoopback(t, b)
	answered := postAsync(s.url + "/webhooks/" + tok)
	recv(t, hr.entered, "the job starts")
	s.cancel()
	a := recv(t, answered, "the waiting caller's answer")
	require.NoError(t, a.err)
	require.Equal(t, http.StatusAccepted, a.status, "%s", a.body)
	var ids struct{ JobIds []string }
	require.NoError(t, json.Unmarshal(a.body, &ids))
	require.Len(t, ids.JobIds, 1)
	select {
	case err := <-s.done:
		t.Fatalf("Serve returned (%v) while the job still runs", err)
	default: // the job holds the queue's shutdown grace
	}
	close(hr.release)
	require.NoError(t, recv(t, s.done, "Serve returns"))
}

// A job request still in the HTTP drain (its body still arriving when the
// shutdown began) is queued and answered 202: the job queue closes after
// the drain, not beside it (review revshut MEDIUM: closed alongside, its
// inserter refused the request 503), and the running jobs get their grace
// after it.
func TestServe_ShutdownQueuesJobsOfTheDrain(t *testing.T) {
	hr := newHeldRunner(true)
	b := setup(t, func(c *Config) {
		c.Runner = hr
		c.Jobs.ShutdownGrace = time.Nanosecond
		c.ShutdownDrain = bound
	})
	b.createAutomation(t, "job", "inputs:\n  text/environment:\nstart:\n  return:\n    body: x\n", "")
	_, tok := b.createWebhook(t, "job", jobEvent("job", "    wait_ms@int: 0\n"))
	s := serveLoopback(t, b)
	require.Equal(t, http.StatusAccepted, recv(t, postAsync(s.url+"/webhooks/"+tok), "the first 202").status)
	require.Equal(t, "job", recv(t, hr.entered, "the first job starts"))

	// A second caller: headers sent, body still arriving.
	addr := strings.TrimPrefix(s.url, "http://")
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "POST /webhooks/"+tok+" HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
	require.NoError(t, err)
	br := bufio.NewReader(conn)
	line, err := br.ReadString('\n')
	require.NoError(t, err)
	require.Contains(t, line, "100 Continue") // the server read the headers
	_, _ = br.ReadString('\n')

	s.cancel() // SIGTERM
	// The drain has begun once the listener refuses new connections.
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			break
		}
		_ = c.Close()
		require.Less(t, i, 6000, "the listener still accepts after the shutdown began")
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case <-hr.cancelled:
		t.Fatal("the running job was cancelled while a request was still in the drain")
	default:
	}
	_, err = io.WriteString(conn, "body")
	require.NoError(t, err)
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	require.Equal(t, http.StatusAccepted, resp.StatusCode, "a request within the drain: %s", body)
	_ = conn.Close()
	// Then the running job gets its grace, and is cancelled after it.
	require.Equal(t, "job", recv(t, hr.cancelled, "the running job is cancelled after its grace"))
	require.NoError(t, recv(t, s.done, "Serve returns"))
}

// StopNow (a second signal) ends the shutdown at once, with requests still
// in flight.
func TestServe_ShutdownStopNow(t *testing.T) {
	hr := newHeldRunner(false)
	b := setup(t, func(c *Config) { c.Runner = hr })
	b.createAutomation(t, "slow", "start:\n  return:\n    body: done\n", "")
	_, tok := b.createWebhook(t, "slow", eventFor("slow"))
	s := serveLoopback(t, b)
	answered := postAsync(s.url + "/webhooks/" + tok)
	recv(t, hr.entered, "the run starts")
	s.cancel()
	b.srv.StopNow()
	require.ErrorIs(t, recv(t, s.done, "Serve returns"), ErrStoppedNow)
	close(hr.release)
	recv(t, answered, "the caller's answer")
}

func TestShutdownDrainFor(t *testing.T) {
	tests := []struct {
		requestTimeout, want time.Duration
	}{
		{time.Second, 10 * time.Second},
		{30 * time.Second, 35 * time.Second},
		{time.Hour, 5 * time.Minute},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, ShutdownDrainFor(tt.requestTimeout), "request timeout %s", tt.requestTimeout)
	}
}

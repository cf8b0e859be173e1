package dispatch

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/automations"
	"github.com/hookhost/hookhost/host/redact"
	"github.com/hookhost/hookhost/host/store"
	"github.com/hookhost/hookhost/host/store/sqlite"
	"github.com/hookhost/hookhost/templates/dict"
)

// faultyStore is a store whose InsertRuns and ProbeWrite fail as told.
type faultyStore struct {
	store.Store

	mu sync.Mutex
	// failures is how many more InsertRuns calls fail (negative: all,
	// until cleared); probeFails makes ProbeWrite fail while set.
	failures   int
	probeFails bool
	err        error
	// afterCommit makes a failing InsertRuns write the runs first: the
	// commit's answer was lost.
	afterCommit bool
	// entered, when set, receives once when InsertRuns is called, which
	// then waits for release.
	entered chan struct{}
	release chan struct{}
	// inserted, when set, is called with every batch InsertRuns is given.
	inserted func([]*store.Run)
}

func (f *faultyStore) InsertRuns(ctx context.Context, runs []*store.Run) error {
	f.mu.Lock()
	entered, release := f.entered, f.release
	f.entered = nil
	fail := f.failures != 0
	if fail {
		f.failures--
	}
	err, after, inserted := f.err, f.afterCommit, f.inserted
	f.mu.Unlock()
	if inserted != nil {
		inserted(runs)
	}
	if entered != nil {
		entered <- struct{}{}
		<-release
	}
	if !fail {
		return f.Store.InsertRuns(ctx, runs)
	}
	if after {
		if werr := f.Store.InsertRuns(ctx, runs); werr != nil {
			return werr
		}
	}
	return err
}

func (f *faultyStore) ProbeWrite(ctx context.Context) error {
	f.mu.Lock()
	fail, err := f.probeFails, f.err
	f.mu.Unlock()
	if fail {
		return err
	}
	return f.Store.ProbeWrite(ctx)
}

// set changes the faults.
func (f *faultyStore) set(failures int, probeFails bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failures, f.probeFails = failures, probeFails
}

// errDiskFull is a disk-full error as the store returns it.
var errDiskFull = fmt.Errorf("insert runs: %w: %w", store.ErrStorageFull, &fs.PathError{Op: "write", Path: "hookhost.db-wal", Err: syscall.ENOSPC})

// recorderBundle is what a recorder test gets besides its recorder.
type recorderBundle struct {
	ctx   context.Context
	st    *sqlite.Store
	fault *faultyStore
}

// setupRecorder starts a recorder on a fresh SQLite store wrapped in a
// faultyStore, and closes both when t ends.
func setupRecorder(t *testing.T, cfg RecorderConfig) (*recorder, *recorderBundle) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "hookhost.db"))
	require.NoError(t, err)
	f := &faultyStore{Store: st, err: errDiskFull}
	if cfg.PruneInterval == 0 {
		cfg.PruneInterval = -1
	}
	if cfg.RetryBackoff == 0 {
		cfg.RetryBackoff = time.Millisecond
	}
	r := newRecorder(f, slog.New(slog.NewTextHandler(io.Discard, nil)), cfg)
	t.Cleanup(func() {
		require.NoError(t, r.Close())
		require.NoError(t, st.Close())
	})
	return r, &recorderBundle{ctx: context.Background(), st: st, fault: f}
}

// pending is a run to record.
func pending(body string) *pendingRun {
	return &pendingRun{run: store.Run{ID: newRunID(), WebhookID: "w", Automation: "a", Status: 200, Exit: "return", CreatedAt: time.Now()},
		req: automations.HTTPRequest{Method: "POST", Path: "/", Body: []byte(body)}, logLimit: 4096, red: redact.New()}
}

// stored lists the runs in the store.
func stored(t *testing.T, st store.Store) []*store.Run {
	t.Helper()
	runs, err := st.ListRuns(context.Background(), store.RunFilter{Limit: 500})
	require.NoError(t, err)
	return runs
}

// waitHealthy polls until the recorder reports healthy (bounded).
func waitHealthy(t *testing.T, r *recorder) {
	t.Helper()
	for range 2000 {
		if r.healthy() == nil {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	require.NoError(t, r.healthy())
}

func TestRecorder_WriteFailures(t *testing.T) {
	t.Parallel()

	t.Run("RetriedUntilWritten", func(t *testing.T) {
		t.Parallel()
		r, bundle := setupRecorder(t, RecorderConfig{WriteRetries: 3})
		bundle.fault.set(2, false)

		for range 5 {
			r.record(pending("x"))
		}
		r.flush()
		require.Len(t, stored(t, bundle.st), 5)
		stats := r.stats()
		require.Equal(t, RecorderStats{Written: 5}, stats)
		require.NoError(t, r.healthy())
	})

	t.Run("DroppedAndCountedPastTheRetriesThenRecovers", func(t *testing.T) {
		t.Parallel()
		r, bundle := setupRecorder(t, RecorderConfig{WriteRetries: 2})
		bundle.fault.set(-1, false)

		for range 5 {
			r.record(pending("x"))
		}
		r.flush()
		require.Empty(t, stored(t, bundle.st))
		stats := r.stats()
		require.Equal(t, int64(0), stats.Written)
		require.Equal(t, int64(5), stats.Dropped)
		require.Equal(t, int64(5), stats.WriteFailed)
		require.Zero(t, stats.QueueFull)
		require.False(t, stats.FailingSince.IsZero())
		require.ErrorIs(t, stats.LastError, store.ErrStorageFull)
		var failing *store.WritesFailingError
		require.ErrorAs(t, r.healthy(), &failing)
		require.ErrorIs(t, failing, store.ErrStorageFull)
		require.Equal(t, stats.FailingSince, failing.Since)

		// Room again: the next batch is written and the state clears.
		bundle.fault.set(0, false)
		r.record(pending("y"))
		r.record(pending("z"))
		r.flush()
		require.Len(t, stored(t, bundle.st), 2)
		stats = r.stats()
		require.Equal(t, int64(2), stats.Written)
		require.Equal(t, int64(5), stats.Dropped)
		require.True(t, stats.FailingSince.IsZero())
		require.NoError(t, r.healthy())
	})

	t.Run("CommitWhoseAnswerIsLostIsNotWrittenTwice", func(t *testing.T) {
		t.Parallel()
		r, bundle := setupRecorder(t, RecorderConfig{})
		bundle.fault.mu.Lock()
		bundle.fault.afterCommit = true
		bundle.fault.mu.Unlock()
		bundle.fault.set(1, false)

		for range 5 {
			r.record(pending("x"))
		}
		r.flush()
		require.Len(t, stored(t, bundle.st), 5)
		require.Equal(t, RecorderStats{Written: 5}, r.stats())
	})

	t.Run("ProbesUntilWritesWorkWithoutTraffic", func(t *testing.T) {
		t.Parallel()
		r, bundle := setupRecorder(t, RecorderConfig{WriteRetries: -1, ProbeInterval: time.Millisecond})
		bundle.fault.set(-1, true)

		r.record(pending("x"))
		r.flush()
		require.Equal(t, int64(1), r.stats().Dropped)
		require.ErrorIs(t, r.healthy(), store.ErrStorageFull)

		// No run arrives; the probe finds out.
		bundle.fault.set(0, false)
		waitHealthy(t, r)
		require.True(t, r.stats().FailingSince.IsZero())
	})

	t.Run("QueueFullIsCounted", func(t *testing.T) {
		t.Parallel()
		r, bundle := setupRecorder(t, RecorderConfig{Queue: 2})
		entered, release := make(chan struct{}), make(chan struct{})
		bundle.fault.mu.Lock()
		bundle.fault.entered, bundle.fault.release = entered, release
		bundle.fault.mu.Unlock()

		r.record(pending("first"))
		<-entered // the writer waits in InsertRuns: nothing leaves the queue
		for range 10 {
			r.record(pending("x"))
		}
		close(release)
		r.flush()
		stats := r.stats()
		require.Equal(t, int64(3), stats.Written)
		require.Equal(t, int64(8), stats.QueueFull)
		require.Equal(t, int64(8), stats.Dropped)
		require.Zero(t, stats.WriteFailed)
		require.Len(t, stored(t, bundle.st), 3)
	})

	t.Run("InvalidRecordIsDroppedAlone", func(t *testing.T) {
		t.Parallel()
		r, bundle := setupRecorder(t, RecorderConfig{})
		bad := pending("x")
		bad.run.WebhookID = "w\x00"
		r.record(pending("a"))
		r.record(bad)
		r.record(pending("b"))
		r.flush()
		require.Len(t, stored(t, bundle.st), 2)
		stats := r.stats()
		require.Equal(t, int64(2), stats.Written)
		require.Equal(t, int64(1), stats.Dropped)
		require.NoError(t, r.healthy(), "a bad record says nothing about the store")
	})
}

// TestRecorder_SQLiteFull fills a real database up to its size limit
// (PRAGMA max_page_count: SQLite's genuine SQLITE_FULL) under the recorder.
func TestRecorder_SQLiteFull(t *testing.T) {
	t.Parallel()
	r, bundle := setupRecorder(t, RecorderConfig{WriteRetries: 1, ProbeInterval: time.Millisecond})
	db := bundle.st.DB()
	var pages int64
	require.NoError(t, db.QueryRow(`PRAGMA page_count`).Scan(&pages))
	_, err := db.Exec(fmt.Sprintf(`PRAGMA max_page_count = %d`, pages+8))
	require.NoError(t, err)

	body := strings.Repeat("x", 4096)
	for i := 0; i < 100 && r.stats().Dropped == 0; i++ {
		r.record(pending(body))
		r.flush()
	}
	stats := r.stats()
	require.Positive(t, stats.Dropped)
	require.Equal(t, stats.Dropped, stats.WriteFailed)
	require.Equal(t, int64(len(stored(t, bundle.st))), stats.Written, "every record is written or counted")
	require.ErrorIs(t, r.healthy(), store.ErrStorageFull)
	require.ErrorIs(t, bundle.st.Healthy(), store.ErrStorageFull)

	// Room again: the probes find out without a run arriving.
	_, err = db.Exec(`PRAGMA max_page_count = 1073741823`)
	require.NoError(t, err)
	waitHealthy(t, r)
	require.NoError(t, bundle.st.Healthy())
	r.record(pending(body))
	r.flush()
	require.Equal(t, stats.Written+1, r.stats().Written)
}

func TestRecorder_Prune(t *testing.T) {
	t.Parallel()

	// old writes n runs created from an hour ago back, an hour apart.
	old := func(t *testing.T, st store.Store, n int) {
		t.Helper()
		runs := make([]*store.Run, n)
		for i := range runs {
			runs[i] = &store.Run{WebhookID: "w", Status: 200, CreatedAt: time.Now().Add(-time.Duration(i+1) * time.Hour)}
		}
		require.NoError(t, st.InsertRuns(context.Background(), runs))
	}

	t.Run("OnePassOnDemand", func(t *testing.T) {
		t.Parallel()
		r, bundle := setupRecorder(t, RecorderConfig{Retention: store.RunRetention{MaxAge: 150 * time.Minute, MaxBytes: -1}})
		old(t, bundle.st, 5)
		res, err := r.prune(bundle.ctx)
		require.NoError(t, err)
		require.Equal(t, store.PruneResult{ByAge: 3}, res)
		require.Len(t, stored(t, bundle.st), 2)
	})

	t.Run("InTheBackground", func(t *testing.T) {
		t.Parallel()
		_, bundle := setupRecorder(t, RecorderConfig{Retention: store.RunRetention{MaxAge: 150 * time.Minute, MaxBytes: -1},
			PruneInterval: time.Millisecond})
		old(t, bundle.st, 5)
		for range 2000 {
			if len(stored(t, bundle.st)) == 2 {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		require.Len(t, stored(t, bundle.st), 2)
	})

	t.Run("DefaultsAreAWeekAnd256MiB", func(t *testing.T) {
		t.Parallel()
		var c RecorderConfig
		c.defaults()
		require.Equal(t, store.RunRetention{MaxAge: 7 * 24 * time.Hour, MaxBytes: 256 << 20, Batch: store.DefaultPruneBatch}, c.Retention)
		require.Equal(t, 64<<10, c.BodyLimit)
		require.Equal(t, time.Minute, c.PruneInterval)
	})
}

func TestRecorder_CapsBodies(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name      string
		body      string
		limit     int
		wantBody  string
		truncated bool
	}{
		{"Under", "hello", 10, "hello", false},
		{"Exactly", "0123456789", 10, "0123456789", false},
		{"Over", "0123456789abc", 10, "0123456789…[truncated 3 bytes]", true},
		// "€" is 3 bytes: a cut inside it keeps none of it.
		{"CutInARune", "12345678€x", 10, "12345678…[truncated 4 bytes]", true},
		{"NoCap", strings.Repeat("y", 100), -1, strings.Repeat("y", 100), false},
		{"Empty", "", 10, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := pending(tt.body)
			run := p.finish(tt.limit)
			var in struct {
				Body      string `json:"body"`
				Truncated *bool  `json:"body_truncated"`
			}
			require.NoError(t, json.Unmarshal(run.Inputs, &in))
			require.Equal(t, tt.wantBody, in.Body)
			if tt.truncated {
				require.NotNil(t, in.Truncated)
				require.True(t, *in.Truncated)
			} else {
				require.Nil(t, in.Truncated, "body_truncated appears only when cut")
			}
		})
	}

	t.Run("OutputAndError", func(t *testing.T) {
		t.Parallel()
		p := pending("")
		p.res = &automations.Result{Exit: automations.ExitError, Return: dict.Of("body", strings.Repeat("o", 100)),
			Error: strings.Repeat("e", 100)}
		run := p.finish(40)
		var out struct {
			Truncated bool   `json:"output_truncated"`
			Head      string `json:"head"`
		}
		require.NoError(t, json.Unmarshal(run.Output, &out))
		require.True(t, out.Truncated)
		require.Equal(t, `{"body":"`+strings.Repeat("o", 31)+"…[truncated 71 bytes]", out.Head)
		require.Equal(t, strings.Repeat("e", 40)+"…[truncated 60 bytes]", run.Error)

		// Under the cap, both are kept as they are.
		run = pending("").finish(-1)
		require.Nil(t, run.Output)
	})

	t.Run("AMegabyteBodyIsKeptAt64KiB", func(t *testing.T) {
		t.Parallel()
		r, bundle := setupRecorder(t, RecorderConfig{})
		big := strings.Repeat("z", 1<<20)
		for range 10 {
			r.record(pending(big))
		}
		r.flush()
		runs := stored(t, bundle.st)
		require.Len(t, runs, 10)
		for _, run := range runs {
			require.Less(t, len(run.Inputs), DefaultRunBodyLimit+1024)
			require.Contains(t, string(run.Inputs), fmt.Sprintf(`…[truncated %d bytes]`, 1<<20-DefaultRunBodyLimit))
		}
	})
}

func TestRecorder_Truncate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in    string
		limit int
		want  string
	}{
		{"abc", 3, "abc"},
		{"abcd", 3, "abc…[truncated 1 bytes]"},
		{"ab€", 3, "ab…[truncated 3 bytes]"},
		{"\xff\xfe\xfd\xfc", 2, "\xff\xfe…[truncated 2 bytes]"}, // not UTF-8: cut where it falls
		{"€€", 0, "…[truncated 6 bytes]"},
	}
	for _, tt := range tests {
		got, cut := truncate(tt.in, tt.limit)
		require.Equal(t, tt.want, got, "%q", tt.in)
		require.Equal(t, tt.in != tt.want, cut)
	}
}

// TestRecorder_InputsEncoding checks that a record's inputs, which the
// recorder writes as JSON itself, are the bytes dict.Encode writes for the
// same dictionary: keys in their order, a repeated header or parameter at
// its first place with its last value, strings escaped alike.
func TestRecorder_InputsEncoding(t *testing.T) {
	t.Parallel()
	// many is more pairs than appendJSONPairs scans, with repeats.
	var many [][2]string
	for i := range 40 {
		many = append(many, [2]string{fmt.Sprintf("k%d", i%13), fmt.Sprintf("v%d", i)})
	}
	tests := []struct {
		name string
		in   recordInputs
	}{
		{"Empty", recordInputs{}},
		{"Guide", recordInputs{method: "POST", path: "/webhooks/[redacted]", clientIP: "127.0.0.1",
			headers: [][2]string{{"Host", "127.0.0.1:8080"}, {"User-Agent", "Go-http-client/1.1"}, {"X-Customheader", "true"}},
			query:   [][2]string{{"key", "value"}}}},
		{"RepeatedNames", recordInputs{method: "GET", headers: [][2]string{{"A", "1"}, {"B", "2"}, {"A", "3"}, {"a", "4"}},
			query: [][2]string{{"x", "1"}, {"x", "2"}, {"y", ""}, {"x", "3"}}}},
		{"ManyRepeatedNames", recordInputs{headers: many, query: many}},
		{"Escapes", recordInputs{method: "P\"O\\ST", path: "/a\tb\nc\r\x00\x1f\x7f</script>&",
			headers: [][2]string{{"X-\"Q\"", "é€𝄞"}, {"X-Bad", "\xff\xfeok"}, {"X-Sep", "a\u2028b\u2029c"}},
			query:   [][2]string{{"ключ", "значение"}, {"", ""}}, body: "{\"a\":\"b\\\\c\"}\n", clientIP: "::1"}},
		{"Truncated", recordInputs{method: "POST", body: "abc…[truncated 3 bytes]", bodyTruncated: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pairs := func(kvs [][2]string) *dict.Map {
				m := dict.New(len(kvs))
				for _, kv := range kvs {
					m.Set(kv[0], kv[1])
				}
				return m
			}
			want := dict.Of("method", tt.in.method, "path", tt.in.path, "headers", pairs(tt.in.headers),
				"query", pairs(tt.in.query), "body", tt.in.body)
			if tt.in.bodyTruncated {
				want.Set("body_truncated", true)
			}
			want.Set("client_ip", tt.in.clientIP)
			require.Equal(t, string(encode(want)), string(tt.in.encode()))
		})
	}
}

// TestRecorder_OutputReusesTheExtensionsJSON checks that a record keeps
// the return dictionary's JSON as the extension sent it when redaction
// changes nothing in it, and encodes the redacted dictionary otherwise.
func TestRecorder_OutputReusesTheExtensionsJSON(t *testing.T) {
	t.Parallel()
	const secret = "s3cr3t-value"
	tests := []struct {
		name    string
		ret     *dict.Map
		sent    string // the extension's JSON ("": in-process, none)
		secrets []string
		headers [][2]string
		limit   int
		want    string
	}{
		{"AsSent", dict.Of("status_code", int64(200), "body", "ok"), `{"status_code":200,"body":"ok"}`, nil, nil, -1,
			`{"status_code":200,"body":"ok"}`},
		{"AsSentEvenSpaced", dict.Of("body", "ok"), `{ "body": "ok" }`, nil, nil, -1, `{ "body": "ok" }`},
		{"InProcessEncoded", dict.Of("body", "ok"), "", nil, nil, -1, `{"body":"ok"}`},
		{"SecretRedacted", dict.Of("body", "key "+secret), `{"body":"key ` + secret + `"}`, []string{secret}, nil, -1,
			`{"body":"key [redacted]"}`},
		{"CallerCredentialRedacted", dict.Of("echo", "Bearer abcdefgh123"), `{"echo":"Bearer abcdefgh123"}`, nil,
			[][2]string{{"Authorization", "Bearer abcdefgh123"}}, -1, `{"echo":"[redacted]"}`},
		{"TokenRedacted", dict.Of("url", "/webhooks/"+strings.Repeat("ab", 20)), `{"url":"/webhooks/` + strings.Repeat("ab", 20) + `"}`,
			nil, nil, -1, `{"url":"/webhooks/[redacted]"}`},
		{"SecretInARepeatedKeysFirstValue", dict.Of("a", "x"), `{"a":"` + secret + `","a":"x"}`, []string{secret}, nil, -1,
			`{"a":"x"}`},
		{"AsSentThenCut", dict.Of("body", "0123456789"), `{"body":"0123456789"}`, nil, nil, 10,
			`{"output_truncated":true,"head":"{\"body\":\"0…[truncated 11 bytes]"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := pending("")
			p.red = redact.New(tt.secrets...)
			p.req.Headers = tt.headers
			p.res = &automations.Result{Exit: automations.ExitReturn, Return: tt.ret}
			if tt.sent != "" {
				p.res.ReturnJSON = []byte(tt.sent)
			}
			require.Equal(t, tt.want, string(p.finish(tt.limit).Output))
		})
	}
}

// TestRecorder_QueueHoldsRecordsNotRequests checks that a queued record
// does not keep its pendingRun (and so its request's exchange) reachable:
// record builds the record before queueing it. A batch whose write is held
// keeps the records queued behind it.
func TestRecorder_QueueHoldsRecordsNotRequests(t *testing.T) {
	t.Parallel()
	r, bundle := setupRecorder(t, RecorderConfig{})
	release, flushed := holdWrites(t, r, bundle) // the first batch's write holds the recorder
	collected := make(chan struct{})
	id := queueCollectable(r, collected)
	for range 100 {
		runtime.GC()
		select {
		case <-collected:
		default:
			time.Sleep(time.Millisecond) // cleanups run on their own goroutine
			continue
		}
		break
	}
	select {
	case <-collected:
	default:
		t.Fatal("a queued record keeps its pendingRun reachable")
	}

	release()
	<-flushed
	r.flush()
	run, err := bundle.st.GetRun(bundle.ctx, id)
	require.NoError(t, err)
	require.JSONEq(t, `{"method":"POST","path":"/","headers":{},"query":{},"body":"second","client_ip":""}`, string(run.Inputs))
}

// queueCollectable records a run whose pendingRun closes collected when the
// garbage collector frees it, and returns the run's ID. The pendingRun is
// referenced from this function's frame only.
//
//go:noinline
func queueCollectable(r *recorder, collected chan struct{}) string {
	p := pending("second")
	runtime.AddCleanup(p, func(ch chan struct{}) { close(ch) }, collected)
	r.record(p)
	return p.run.ID
}

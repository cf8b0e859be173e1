package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"
)

func TestSign_StandardWebhooksVector(t *testing.T) {
	t.Parallel()
	// The example of the Standard Webhooks specification.
	sig, err := Sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, []byte(`{"test": 2432232314}`))
	require.NoError(t, err)
	require.Equal(t, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", sig)
	_, err = Sign("whsec_not base64!", "id", 1, nil)
	require.Error(t, err)
}

func TestMerge(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		own   State
		river rivertype.JobState
		want  State
	}{
		{"FinalRecordWins", StateCompleted, rivertype.JobStateRunning, StateCompleted},
		{"RescuedAfterCrash", StateRunning, rivertype.JobStateRetryable, StateRetrying},
		{"RescuedAndAvailable", StateRunning, rivertype.JobStateAvailable, StateRetrying},
		{"DiscardedByRescuer", StateRunning, rivertype.JobStateDiscarded, StateFailed},
		{"CancelledInRiver", StateQueued, rivertype.JobStateCancelled, StateStopped},
		{"RecordAheadOfRiver", StateRetrying, rivertype.JobStateRunning, StateRetrying},
		{"QueuedBeforeMarkRunning", StateQueued, rivertype.JobStateRunning, StateQueued},
		{"CompletedBeforeRecordSeen", StateRunning, rivertype.JobStateCompleted, StateCompleted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, merge(tt.own, tt.river))
		})
	}
}

func TestBackoffAndSnooze(t *testing.T) {
	t.Parallel()
	for attempt := 1; attempt <= 30; attempt++ {
		want := min(time.Second<<(attempt-1), maxRetryDelay)
		if attempt > 20 {
			want = maxRetryDelay
		}
		d := backoff(time.Second, attempt)
		require.GreaterOrEqual(t, d, want-want/4, "attempt %d", attempt)
		require.LessOrEqual(t, d, want+want/4, "attempt %d", attempt)
	}
	for _, meta := range []string{`{}`, `{"snoozes":3}`, `{"snoozes":100}`, `not json`} {
		d := snoozeDelay([]byte(meta))
		require.Positive(t, d, meta)
		require.LessOrEqual(t, d, maxSnoozeWait, meta)
	}
}

func TestParseStateAndStreams(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"completed", "Completed", "COMPLETED"} {
		st, ok := ParseState(s)
		require.True(t, ok)
		require.Equal(t, StateCompleted, st)
		require.Equal(t, st, stateFromColumn(st.stored()))
	}
	_, ok := ParseState("done")
	require.False(t, ok)

	s := SplitStreams([]LogEntry{{Level: 7, Message: "o"}, {Level: 4, Message: "w"}, {Level: 3, Message: "e"},
		{Level: 1, Message: "a"}, {Level: 6, Message: "v"}})
	require.Equal(t, []LogEntry{{Level: 7, Message: "o"}}, s.Output)
	require.Equal(t, []LogEntry{{Level: 4, Message: "w"}}, s.Warning)
	require.Equal(t, []LogEntry{{Level: 3, Message: "e"}, {Level: 1, Message: "a"}}, s.Error)
	require.Equal(t, []LogEntry{{Level: 6, Message: "v"}}, s.Verbose)
}

func TestCursorAndPlaceholders(t *testing.T) {
	t.Parallel()
	at, id, err := decodeCursor(encodeCursor(1234567, "abc-def"))
	require.NoError(t, err)
	require.Equal(t, int64(1234567), at)
	require.Equal(t, "abc-def", id)
	for _, bad := range []string{"!!", "bm9waXBl", "eHx5"} {
		_, _, err := decodeCursor(bad)
		require.ErrorIs(t, err, ErrBadCursor, bad)
	}
	require.Equal(t, "a = $1 AND b IN ($2, $3)", newSQLDialect(DialectPostgres).q("a = ? AND b IN (?, ?)"))
	require.Equal(t, "a = ?", newSQLDialect(DialectSQLite).q("a = ?"))
}

func TestArgBytes(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		args string // River's encoded args
		want []byte
	}{
		{"Base64", `{"inputs":"eyJiIjoiAP8ifQ=="}`, []byte("{\"b\":\"\x00\xff\"}")},
		{"Base64WithEscapes", `{"inputs":"eyJiIjoiAP8ifQ\u003d\u003d"}`, []byte("{\"b\":\"\x00\xff\"}")},
		{"Empty", `{"inputs":""}`, []byte{}},
		{"LegacyObject", `{"inputs":{"request_body":"x"}}`, []byte(`{"request_body":"x"}`)},
		{"LegacySealed", `{"inputs":{"$sealed":"AAAA"}}`, []byte(`{"$sealed":"AAAA"}`)},
		{"Null", `{"inputs":null}`, nil},
		{"Missing", `{}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var a runArgs
			require.NoError(t, json.Unmarshal([]byte(tt.args), &a))
			require.Equal(t, tt.want, []byte(a.Inputs))
		})
	}

	t.Run("RoundTripIsASCII", func(t *testing.T) {
		t.Parallel()
		in := runArgs{JobID: "j", Inputs: argBytes("{\"b\":\"\x00\xff\x1f\x8b\"}")}
		enc, err := json.Marshal(in)
		require.NoError(t, err)
		for _, c := range enc {
			require.Less(t, c, byte(0x80))
			require.NotZero(t, c)
		}
		require.NotContains(t, string(enc), `\u0000`)
		var out runArgs
		require.NoError(t, json.Unmarshal(enc, &out))
		require.Equal(t, in, out)

		_, err = json.Marshal(callbackArgs{Payload: []byte("\x00")})
		require.NoError(t, err)
		require.Error(t, json.Unmarshal([]byte(`{"inputs":"not base64!"}`), &out))
		require.Error(t, json.Unmarshal([]byte(`{"inputs":"not\u0020base64!"}`), &out))
	})
}

func TestRiverError(t *testing.T) {
	t.Parallel()
	plain := errors.New("boom")
	require.Same(t, plain, riverError(plain))
	require.NoError(t, riverError(nil))
	require.EqualError(t, riverError(errors.New("a\x00b caf\xe9")), "a\ufffdb caf\ufffd")
}

func TestIdempotencyKey(t *testing.T) {
	t.Parallel()
	require.Equal(t, "delivery-1", idempotencyKey("delivery-1"))
	require.Equal(t, "", idempotencyKey(""))
	odd := idempotencyKey("a\x00b")
	require.Equal(t, "sha256:", odd[:7])
	require.Len(t, odd, 7+64)
	require.NotEqual(t, odd, idempotencyKey("a\x00c"))
	require.Equal(t, odd, idempotencyKey("a\x00b"))
}

// TestClassify checks the record's state and River's answer for the ways
// an attempt ends; River discards a job whose last attempt returns an
// error, so its record must end then (Failed), or it stays Retrying.
func TestClassify(t *testing.T) {
	t.Parallel()
	shutdown, stop := context.WithCancel(context.Background())
	stop()
	tests := []struct {
		name     string
		ctx      context.Context
		cause    error
		attempt  int
		runErr   error
		out      *Outcome
		state    State
		msg      string
		riverErr bool // River gets an error (a retry, or a discard after the last attempt)
		cancel   bool // River gets JobCancel
	}{
		{name: "completed", ctx: context.Background(), attempt: 1, out: &Outcome{Status: 200}, state: StateCompleted},
		{name: "cancelled", ctx: context.Background(), cause: errCancelled, attempt: 1, state: StateStopped, msg: "cancelled",
			riverErr: true, cancel: true},
		{name: "shutdown", ctx: shutdown, attempt: 1, state: StateRetrying, msg: "interrupted by shutdown", riverErr: true},
		{name: "shutdown during the last attempt", ctx: shutdown, attempt: 3, state: StateFailed,
			msg: "interrupted by shutdown during the job's last attempt", riverErr: true},
		{name: "runner error", ctx: context.Background(), attempt: 1, runErr: errors.New("crashed"), state: StateRetrying,
			msg: "crashed", riverErr: true},
		{name: "runner error on the last attempt", ctx: context.Background(), attempt: 3, runErr: errors.New("crashed"),
			state: StateFailed, msg: "crashed", riverErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			job := &river.Job[runArgs]{JobRow: &rivertype.JobRow{Attempt: tt.attempt, MaxAttempts: 3}, Args: runArgs{TimeoutMS: 1000}}
			o, err := classify(tt.ctx, tt.cause, job, tt.out, tt.runErr)
			require.Equal(t, tt.state, o.state)
			require.Equal(t, tt.msg, o.errMsg)
			require.Equal(t, tt.riverErr, err != nil, "%v", err)
			var cancel *river.JobCancelError
			require.Equal(t, tt.cancel, errors.As(err, &cancel), "%v", err)
		})
	}
}

package jobs

import (
	"context"
	"encoding/json"
	"runtime"
	"testing"
	"time"

	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"
)

func TestCutInputs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, args string
		// cut and b64 are the results; "" for both: args left as they are.
		cut, b64 string
	}{
		{"AsWritten", `{"job_id":"j","inputs":"eyJhIjoxfQ==","timeout_ms":1}`, `{"job_id":"j","inputs":"","timeout_ms":1}`, `eyJhIjoxfQ==`},
		{"Last", `{"inputs":"eyJhIjoxfQ=="}`, `{"inputs":""}`, `eyJhIjoxfQ==`},
		{"Spaces", `{ "inputs" : "eyJ9" }`, `{ "inputs" : "" }`, `eyJ9`},
		{"Empty", `{"inputs":""}`, `{"inputs":""}`, ``},
		{"NestedKeyFirst", `{"x":{"inputs":"QQ=="},"inputs":"Qg=="}`, `{"x":{"inputs":"QQ=="},"inputs":""}`, `Qg==`},
		{"KeyAsValue", `{"x":"inputs","inputs":"Qg=="}`, `{"x":"inputs","inputs":""}`, `Qg==`},
		// Written before inputs were base64: a JSON object.
		{"RawObject", `{"inputs":{"a":1}}`, "", ""},
		{"Null", `{"inputs":null}`, "", ""},
		{"Escaped", `{"inputs":"QQ\u003d\u003d"}`, "", ""},
		{"LineBreak", `{"inputs":"QQ\n=="}`, "", ""},
		{"Twice", `{"inputs":"QQ==","inputs":"Qg=="}`, "", ""},
		// encoding/json decodes a key in any case into the inputs, and
		// keeps the last (review rev3): River's decoding is left to it.
		{"TwiceInAnotherCase", `{"inputs":"QQ==","INPUTS":"Qg=="}`, "", ""},
		{"FoldedFirst", `{"input\u017f":"QQ==","inputs":"Qg=="}`, "", ""},
		{"FoldedRaw", `{"inputſ":"QQ==","inputs":"Qg=="}`, "", ""},
		{"OnlyInAnotherCase", `{"Inputs":"QQ=="}`, "", ""},
		{"None", `{"job_id":"j"}`, "", ""},
		{"NotAnObject", `["inputs","QQ=="]`, "", ""},
		{"Unterminated", `{"inputs":"QQ==`, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cut, b64, ok := cutInputs([]byte(tt.args))
			if tt.cut == "" {
				require.False(t, ok)
				return
			}
			require.True(t, ok)
			require.Equal(t, tt.cut, string(cut))
			require.Equal(t, tt.b64, string(b64))
		})
	}
}

// TestFetchedInputs checks that the queue's fetch hands River a run job's
// args without their inputs, and that the worker gets the inputs the fetch
// read (hookhost_job_inputs, in its transaction) from the row River hands
// it, once.
func TestFetchedInputs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openSQLiteDB(t)
	q := newSQLiteQueue(t, db)
	inputs := `{"request_body":"x","webhook_data":{"RequestBody":"x"}}`
	enqueueRuns(t, q, 2, inputs)
	fetched := newFetchedInputs()
	ex := wakeDriver{Driver: riversqlite.New(db), db: db, fetched: fetched}.GetExecutor()
	now := time.Now().Add(time.Minute)
	res, err := ex.JobGetAvailable(ctx, &riverdriver.JobGetAvailableParams{ClientID: "test", MaxAttemptedBy: 100,
		MaxToLock: 5, Now: &now, Queue: queueRuns})
	require.NoError(t, err)
	require.Len(t, res.Jobs, 2)
	for _, j := range res.Jobs {
		var a runArgs
		require.NoError(t, json.Unmarshal(j.EncodedArgs, &a), "River decodes the rest")
		require.Empty(t, a.Inputs, "not in River's copy")
		require.Equal(t, "w", a.WebhookID)
	}
	require.Equal(t, 2, fetched.len())

	got, ok, err := fetched.take(res.Jobs[0])
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, inputs, string(got), "the worker gets them back")
	_, ok, _ = fetched.take(res.Jobs[0])
	require.False(t, ok, "once")
	other := *res.Jobs[1]
	_, ok, _ = fetched.take(&other)
	require.False(t, ok, "only for the row they were taken from")
	require.Equal(t, 1, fetched.len())

	t.Run("DroppedWithTheirRow", func(t *testing.T) {
		// A job River fetched but never worked: its entry goes when its
		// row is garbage.
		res.Jobs = nil
		deadline := time.Now().Add(10 * time.Second)
		for fetched.len() > 0 && time.Now().Before(deadline) {
			runtime.GC()
			time.Sleep(10 * time.Millisecond)
		}
		require.Zero(t, fetched.len())
	})
}

// TestFetchedInputs_NotBase64 checks that inputs the worker cannot decode
// end the job as args that cannot be read (TestQueue_UnreadableArgsFail,
// InputsNotBase64, end to end).
func TestFetchedInputs_NotBase64(t *testing.T) {
	t.Parallel()
	f := newFetchedInputs()
	row := &rivertype.JobRow{ID: 1, Kind: kindRun, EncodedArgs: []byte(`{"job_id":"j","inputs":"!not base64!"}`)}
	f.strip(&riverdriver.JobGetAvailableResult{Jobs: []*rivertype.JobRow{row}})
	require.JSONEq(t, `{"job_id":"j","inputs":""}`, string(row.EncodedArgs))
	_, ok, err := f.take(row)
	require.True(t, ok)
	require.Error(t, err)
}

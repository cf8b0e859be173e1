package jobs

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"sync"
	"testing"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"
)

// inputsRunner records the inputs of the attempts it runs.
type inputsRunner struct {
	mu     sync.Mutex
	inputs []json.RawMessage
}

func (r *inputsRunner) RunJob(_ context.Context, a *Attempt) (*Outcome, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.inputs = append(r.inputs, a.Inputs)
	return &Outcome{Revision: 1, Status: 200}, nil
}

// TestWork_InputsReadBackWhenTheFetchLostThem: a run job whose args River
// hands the worker without their inputs (the fetch cut them out, and its
// entry is gone: review rev3) runs with the inputs read from its stored
// args, not with none.
func TestWork_InputsReadBackWhenTheFetchLostThem(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openSQLiteDB(t)
	runner := &inputsRunner{}
	settings := DefaultSettings()
	settings.Workers = 0
	q, err := New(ctx, Config{DB: db, Dialect: DialectSQLite, Runner: runner, Settings: settings,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	t.Cleanup(func() { _ = q.Close() })

	inputs := json.RawMessage(`{"request_body":"{\"a\":1}"}`)
	res, err := q.Enqueue(ctx, &Request{WebhookID: "w", Handler: "automation/main", Automation: "a", Inputs: inputs})
	require.NoError(t, err)

	var row rivertype.JobRow
	var args []byte
	require.NoError(t, db.QueryRowContext(ctx, `SELECT id, attempt, `+q.d.argsText+` FROM river_job`).Scan(&row.ID, &row.Attempt, &args))
	var a runArgs
	require.NoError(t, json.Unmarshal(args, &a))
	require.Equal(t, res.JobID, a.JobID)
	a.Inputs = nil // as the fetch leaves them, cut out
	row.Attempt = 1
	require.NoError(t, (&runWorker{q: q}).Work(ctx, &river.Job[runArgs]{JobRow: &row, Args: a}))

	runner.mu.Lock()
	defer runner.mu.Unlock()
	require.Len(t, runner.inputs, 1)
	require.JSONEq(t, string(inputs), string(runner.inputs[0]))
}

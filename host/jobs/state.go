package jobs

import "github.com/riverqueue/river/rivertype"

// State is a job's state as users see it (Azure Automation's names, plus
// Retrying).
type State string

// Job states.
const (
	StateQueued    State = "Queued"
	StateRunning   State = "Running"
	StateRetrying  State = "Retrying"
	StateCompleted State = "Completed"
	StateFailed    State = "Failed"
	StateStopped   State = "Stopped"
)

// Final reports whether the job has ended.
func (s State) Final() bool {
	return s == StateCompleted || s == StateFailed || s == StateStopped
}

// ParseState reads a state name in any case ("completed", "Completed").
func ParseState(s string) (State, bool) {
	for _, st := range []State{StateQueued, StateRunning, StateRetrying, StateCompleted, StateFailed, StateStopped} {
		if equalFold(string(st), s) {
			return st, true
		}
	}
	return "", false
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i]|0x20, b[i]|0x20
		if x != y {
			return false
		}
	}
	return true
}

// stored is the state's column value.
func (s State) stored() string {
	switch s {
	case StateQueued:
		return "queued"
	case StateRunning:
		return "running"
	case StateRetrying:
		return "retrying"
	case StateCompleted:
		return "completed"
	case StateFailed:
		return "failed"
	case StateStopped:
		return "stopped"
	}
	return string(s)
}

func stateFromColumn(s string) State {
	switch s {
	case "queued":
		return StateQueued
	case "running":
		return StateRunning
	case "retrying":
		return StateRetrying
	case "completed":
		return StateCompleted
	case "failed":
		return StateFailed
	case "stopped":
		return StateStopped
	}
	return State(s)
}

// notFinalSQL is true of a record whose state is not final. It is not
// "state NOT IN ('completed', 'failed', 'stopped')": SQLite runs a NOT IN
// of more than two values through a b-tree it builds on every execution
// (about 1% of the server's CPU in the jobs benchmark, for the two writes
// of every job).
const notFinalSQL = `state <> 'completed' AND state <> 'failed' AND state <> 'stopped'`

// merge combines a record that has not ended with River's row, read
// before the record. The record is written before River hears of an
// attempt's end, so it wins, except where only River knows: a process that
// crashed mid-attempt leaves the record "running" while River's rescuer has
// already scheduled the job again (or given up), and a job cancelled or
// discarded by River directly.
func merge(own State, rs rivertype.JobState) State {
	if own.Final() {
		return own
	}
	switch rs {
	case rivertype.JobStateDiscarded:
		return StateFailed
	case rivertype.JobStateCancelled:
		return StateStopped
	}
	if own != StateRunning {
		return own
	}
	switch rs {
	case rivertype.JobStateRetryable, rivertype.JobStateAvailable, rivertype.JobStateScheduled, rivertype.JobStatePending:
		return StateRetrying
	case rivertype.JobStateCompleted:
		return StateCompleted
	}
	return own
}

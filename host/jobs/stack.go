package jobs

import (
	"context"

	"github.com/riverqueue/river/rivertype"
)

// growStack grows the calling goroutine's stack to at least 32 KiB at
// once. River runs every attempt, and every fetch, on a goroutine of its
// own, which starts with a small stack, and an attempt's path (decoding
// its args, the runner, the extension client, the record's writes) needs
// more: the runtime doubled it two or three times an attempt, each time
// copying the stack and walking every frame on it, 3-6% of the server's
// CPU under a load of durable jobs (runtime.copystack under River's
// JobExecutor and producer in the load run's profiles). One frame this
// large makes the runtime grow the stack once, to the first power of two
// that holds it, while the stack is still shallow (the technique of
// CockroachDB's growstack package). It is called where River hands such a
// goroutine to hookhost first: River's work-begin hook (growAttemptStack),
// which runs before River decodes the args, and the executors'
// JobGetAvailable.
//
// i is any number: reading buf at an index the compiler cannot know
// keeps buf, and so the frame, from being optimised away.
//
//go:noinline
func growStack(i int) byte {
	var buf [growStackBytes]byte
	return buf[uint(i)%growStackBytes]
}

// growStackBytes is growStack's frame: with the frames below it, the
// stack grows to 32 KiB.
const growStackBytes = 16 << 10

// growAttemptStack is River's work-begin hook: it grows the attempt's
// goroutine's stack (growStack) before River decodes the job's args.
func growAttemptStack(_ context.Context, job *rivertype.JobRow) error {
	growStack(int(job.ID))
	return nil
}

package dispatch

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/store"
	"github.com/hookhost/hookhost/host/store/sqlite"
)

// TestBatchSizer feeds a batchSizer writes (how long each took, how long
// its cycle was: from the end of the write before to its own end, how
// many records it wrote: a full batch unless given, and how many were
// waiting in the queue after it) and checks the size it chooses after
// each.
func TestBatchSizer(t *testing.T) {
	const ms = time.Millisecond
	type write struct {
		took, cycle time.Duration
		n, waiting  int
	}
	// every repeats w n times, sizes size n times.
	every := func(n int, w write) []write { return slices.Repeat([]write{w}, n) }
	sizes := func(n, size int) []int { return slices.Repeat([]int{size}, n) }
	cat, join := slices.Concat[[]write], slices.Concat[[]int]
	tests := []struct {
		name   string
		writes []write
		// sizes is the size after each write.
		sizes []int
	}{
		{"the first write has no cycle", []write{{100 * ms, 0, 0, 0}}, []int{64}},
		{"low duty stays at the minimum", every(5, write{ms, 32 * ms, 0, 0}), sizes(5, 64)},
		{"high duty grows to the maximum and stays",
			// Saturation: full batches, their writes a fifth of the time.
			every(6, write{4 * ms, 20 * ms, 0, 0}), []int{64, 128, 256, 512, 512, 512}},
		{"high duty grows only to the size the rate fills within the linger",
			// 2,000 records a second whose writes take a fifth of the
			// time (a machine short of CPU): 200 records a linger.
			cat(every(4, write{6 * ms, 32 * ms, 64, 0}), every(4, write{13 * ms, 64 * ms, 128, 0})),
			[]int{64, 128, 128, 128, 128, 128, 128, 128}},
		{"duty between the thresholds keeps the size",
			cat(every(3, write{3 * ms, 25 * ms, 0, 0}), every(4, write{2 * ms, 25 * ms, 0, 0})),
			[]int{64, 128, 256, 256, 256, 256, 256}},
		{"back to the minimum when the rate falls",
			cat(every(5, write{3 * ms, 12 * ms, 0, 0}), every(6, write{ms, 100 * ms, 100, 0})),
			[]int{64, 128, 256, 512, 512, 512, 256, 128, 64, 64, 64}},
		{"full batches that keep it 5% busy come down after saturation",
			// 4,000 records a second, 400 a batch at the linger.
			cat(every(5, write{3 * ms, 12 * ms, 0, 0}), every(6, write{5400 * time.Microsecond, 100 * ms, 400, 0})),
			[]int{64, 128, 256, 512, 512, 512, 512, 512, 256, 128, 64}},
		{"a checkpoint's write and its backlog grow the size one step at 2,000 records a second",
			// Batches of 64 every 32 ms; a write that waited out a WAL
			// checkpoint, then the backlog it left, written at once.
			cat(every(20, write{ms, 32 * ms, 0, 0}), []write{{60 * ms, 90 * ms, 0, 180}, {3 * ms, 3 * ms, 0, 58}, {ms, ms, 64, 0}},
				every(6, write{ms, 32 * ms, 64, 0})),
			join(sizes(20, 64), sizes(3, 128), []int{128, 64}, sizes(4, 64))},
		{"slow commits under saturation grow by the records waiting",
			// Every commit takes 60 ms (a slow disk): full batches, and
			// the queue holds more than the next one. The rate of the
			// records written alone would keep the size at 64.
			every(5, write{60 * ms, 60 * ms, 0, 1000}), []int{64, 128, 256, 512, 512}},
		{"a clock that went back is no sample",
			[]write{{ms, 0, 0, 0}, {ms, -5 * ms, 0, 0}, {ms, 32 * ms, 0, 0}}, []int{64, 64, 64}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newBatchSizer(recorderMinBatch, recorderBatch, recorderLinger)
			require.Equal(t, recorderMinBatch, s.next(), "starts at the minimum")
			end := time.Unix(1_000_000, 0)
			var got []int
			for _, w := range tt.writes {
				n := w.n
				if n == 0 {
					n = s.next()
				}
				end = end.Add(w.cycle)
				s.wrote(n, w.waiting, end.Add(-w.took), end)
				got = append(got, s.next())
			}
			require.Equal(t, tt.sizes, got)
		})
	}
}

// sizesStore records the size of every InsertRuns batch; the first call
// waits for release (so that the test can queue records meanwhile).
type sizesStore struct {
	store.Store
	mu      sync.Mutex
	sizes   []int
	entered chan struct{}
	release chan struct{}
}

func (s *sizesStore) InsertRuns(ctx context.Context, runs []*store.Run) error {
	s.mu.Lock()
	s.sizes = append(s.sizes, len(runs))
	first := len(s.sizes) == 1
	s.mu.Unlock()
	if first {
		s.entered <- struct{}{}
		<-s.release
	}
	return s.Store.InsertRuns(ctx, runs)
}

// TestRecorder_BatchSizes checks that the recorder writes the batches its
// batchSizer chooses, by a clock that says how long each write took: one
// record is written first (and held in the store while the rest are
// queued), then the queue in batches of those sizes, the last ending at a
// flush.
func TestRecorder_BatchSizes(t *testing.T) {
	const ms = time.Millisecond
	tests := []struct {
		name string
		// took is how long each write takes, of a 20 ms cycle.
		took  time.Duration
		runs  int
		sizes []int
	}{
		{"writes short for their cycle: the minimum", ms / 2, 1 + 4*64 + 10, []int{1, 64, 64, 64, 64, 10}},
		{"writes long for their cycle: growing batches", 4 * ms, 1 + 64 + 128 + 256 + 512 + 512 + 100,
			[]int{1, 64, 128, 256, 512, 512, 100}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "hookhost.db"))
			require.NoError(t, err)
			t.Cleanup(func() { require.NoError(t, db.Close()) })
			st := &sizesStore{Store: db, entered: make(chan struct{}), release: make(chan struct{})}
			r := newRecorder(st, slog.New(slog.NewTextHandler(io.Discard, nil)), RecorderConfig{PruneInterval: -1})
			t.Cleanup(func() { require.NoError(t, r.Close()) })
			// Calls alternate: a write's start, then its end; each end is
			// 20 ms after the one before.
			at, calls := time.Unix(1_000_000, 0), 0
			r.now = func() time.Time {
				calls++
				if calls%2 == 1 {
					at = at.Add(20 * ms)
					return at.Add(-tt.took)
				}
				return at
			}
			r.record(pending("first"))
			r.ch <- recItem{flushed: make(chan struct{})} // writes the first alone
			<-st.entered
			for range tt.runs - 1 {
				r.record(pending("queued"))
			}
			flushed := make(chan struct{})
			r.ch <- recItem{flushed: flushed}
			close(st.release)
			<-flushed
			require.Equal(t, tt.sizes, st.sizes)
			require.Len(t, stored(t, db), min(tt.runs, 500))
			require.Equal(t, int64(tt.runs), r.stats().Written)
		})
	}
}

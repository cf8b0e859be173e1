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

// TestBatchSizer feeds a batchSizer writes (how long each took, and how
// long its cycle was: from the end of the write before to its own end)
// and checks the size it chooses after each.
func TestBatchSizer(t *testing.T) {
	const ms = time.Millisecond
	type write struct{ took, cycle time.Duration }
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
		{"the first write has no cycle", []write{{100 * ms, 0}}, []int{64}},
		{"low duty stays at the minimum", every(5, write{ms, 32 * ms}), sizes(5, 64)},
		{"high duty grows to the maximum within 0.4 s and stays",
			// 2,000 records a second whose writes take a fifth of the
			// time (a machine short of CPU), or saturation.
			every(40, write{4 * ms, 20 * ms}), join(sizes(18, 64), []int{128, 256}, sizes(20, 512))},
		{"duty between the thresholds keeps the size",
			cat(every(10, write{12 * ms, 100 * ms}), every(10, write{8 * ms, 100 * ms})),
			join(sizes(9, 64), sizes(11, 128))},
		{"back to the minimum when the rate falls",
			cat(every(15, write{15 * ms, 60 * ms}), every(20, write{ms, 100 * ms})),
			join(sizes(6, 64), []int{128, 256}, sizes(8, 512), []int{256, 128}, sizes(17, 64))},
		{"full batches that keep it 5% busy come down after saturation",
			// 4,000 records a second, 400 a batch at the linger.
			cat(every(15, write{15 * ms, 60 * ms}), every(30, write{5400 * time.Microsecond, 100 * ms})),
			join(sizes(6, 64), []int{128, 256}, sizes(10, 512), []int{256, 128}, sizes(25, 64))},
		{"above the minimum the last writes grow the size",
			// The duty over time just under dutyHigh, the last writes'
			// above it.
			cat(every(10, write{12 * ms, 100 * ms}), every(5, write{8 * ms, 100 * ms}), []write{{3 * ms, 15 * ms}}),
			join(sizes(9, 64), sizes(6, 128), []int{256})},
		{"a checkpoint's write and its backlog keep the minimum",
			// 2,000 records a second in batches of 64; a write that waited
			// out a WAL checkpoint, then the backlog it left, at once.
			cat(every(20, write{ms, 32 * ms}), []write{{60 * ms, 90 * ms}, {12 * ms, 13 * ms}, {2 * ms, 2 * ms}},
				every(10, write{ms, 32 * ms})),
			sizes(33, 64)},
		{"one write that waited out a long stall keeps the minimum",
			cat(every(3, write{ms, 32 * ms}), []write{{900 * ms, 930 * ms}}, every(5, write{ms, 32 * ms})),
			sizes(9, 64)},
		{"a clock that went back is no sample",
			[]write{{ms, 0}, {ms, -5 * ms}, {ms, 32 * ms}}, []int{64, 64, 64}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newBatchSizer(recorderMinBatch, recorderBatch)
			require.Equal(t, recorderMinBatch, s.next(), "starts at the minimum")
			end := time.Unix(1_000_000, 0)
			var got []int
			for _, w := range tt.writes {
				end = end.Add(w.cycle)
				s.wrote(end.Add(-w.took), end)
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
		// took is how long each write takes, of its cycle.
		took, cycle time.Duration
		runs        int
		sizes       []int
	}{
		{"writes short for their cycle: the minimum", ms / 2, 20 * ms, 1 + 4*64 + 10, []int{1, 64, 64, 64, 64, 10}},
		{"writes long for their cycle: growing batches", 200 * ms, 500 * ms, 1 + 3*64 + 128 + 256 + 512 + 100,
			[]int{1, 64, 64, 64, 128, 256, 512, 100}},
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
			// a cycle after the one before.
			at, calls := time.Unix(1_000_000, 0), 0
			r.now = func() time.Time {
				calls++
				if calls%2 == 1 {
					at = at.Add(tt.cycle)
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

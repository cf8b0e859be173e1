package logbuf

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// recorder is an io.Writer that keeps every Write call apart.
type recorder struct {
	mu     sync.Mutex
	writes []string
	err    error
}

func (r *recorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return 0, r.err
	}
	r.writes = append(r.writes, string(p))
	return len(p), nil
}

func (r *recorder) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.writes...)
}

func TestWriter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		size  int
		lines []string
		flush bool // Flush after the lines (else nothing but the size)
		want  []string
	}{
		{"HeldUntilFlush", 1 << 10, []string{"a\n", "b\n", "c\n"}, false, nil},
		{"OneWriteForAll", 1 << 10, []string{"a\n", "b\n", "c\n"}, true, []string{"a\nb\nc\n"}},
		{"FullBufferWrittenAtOnce", 4, []string{"ab\n", "cd\n", "e\n"}, false, []string{"ab\ncd\n"}},
		{"FullThenFlush", 4, []string{"ab\n", "cd\n", "e\n"}, true, []string{"ab\ncd\n", "e\n"}},
		{"NothingToFlush", 1 << 10, nil, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := &recorder{}
			w := New(rec, time.Hour, tt.size)
			for _, l := range tt.lines {
				n, err := w.Write([]byte(l))
				require.NoError(t, err)
				require.Equal(t, len(l), n)
			}
			if tt.flush {
				require.NoError(t, w.Flush())
			}
			require.Equal(t, tt.want, rec.got())
		})
	}
}

func TestWriter_DelayWritesByItself(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	w := New(rec, time.Millisecond, 0)
	_, _ = w.Write([]byte("a\n"))
	_, _ = w.Write([]byte("b\n"))
	require.Eventually(t, func() bool { return len(rec.got()) > 0 }, 10*time.Second, time.Millisecond,
		"the armed delay never wrote the lines")
	require.Equal(t, "a\nb\n", strings.Join(rec.got(), ""))

	// Armed again by the next line after a write.
	_, _ = w.Write([]byte("c\n"))
	require.Eventually(t, func() bool { return strings.Join(rec.got(), "") == "a\nb\nc\n" }, 10*time.Second, time.Millisecond)
}

func TestWriter_CloseFlushesThenWritesThrough(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	w := New(rec, time.Hour, 0)
	_, _ = w.Write([]byte("a\n"))
	require.NoError(t, w.Close())
	require.Equal(t, []string{"a\n"}, rec.got())
	_, _ = w.Write([]byte("b\n"))
	require.Equal(t, []string{"a\n", "b\n"}, rec.got(), "after Close every line is written at once")
}

func TestWriter_ReportsWriteErrors(t *testing.T) {
	t.Parallel()
	boom := errors.New("disk full")
	rec := &recorder{err: boom}
	w := New(rec, time.Hour, 0)
	_, err := w.Write([]byte("a\n"))
	require.NoError(t, err, "nothing was written yet")
	require.ErrorIs(t, w.Flush(), boom)
	_, err = w.Write([]byte("b\n"))
	require.ErrorIs(t, err, boom, "later writes report the first error")
}

func TestWriter_ConcurrentLinesStayWhole(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	w := New(rec, 50*time.Microsecond, 256)
	const goroutines, lines = 8, 500
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			line := []byte(strings.Repeat(string(rune('a'+g)), 10) + "\n")
			for range lines {
				_, _ = w.Write(line)
			}
		}()
	}
	wg.Wait()
	require.NoError(t, w.Close())
	all := strings.Join(rec.got(), "")
	got := strings.Split(strings.TrimSuffix(all, "\n"), "\n")
	require.Len(t, got, goroutines*lines)
	for _, l := range got {
		require.Len(t, l, 10)
		require.Equal(t, strings.Repeat(l[:1], 10), l, "a line was split or interleaved")
	}
}

func TestHandler_FlushesWarnings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		level     slog.Level
		wantFlush bool
	}{
		{slog.LevelDebug, false},
		{slog.LevelInfo, false},
		{slog.LevelWarn, true},
		{slog.LevelError, true},
	}
	for _, tt := range tests {
		t.Run(tt.level.String(), func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			w := New(&out, time.Hour, 0)
			log := slog.New(NewHandler(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}), w)).
				With("component", "x").WithGroup("g")
			log.Log(context.Background(), tt.level, "hello", "k", "v")
			if tt.wantFlush {
				require.Contains(t, out.String(), "msg=hello component=x g.k=v")
			} else {
				require.Empty(t, out.String())
				require.NoError(t, w.Flush())
				require.Contains(t, out.String(), "msg=hello")
			}
		})
	}
}

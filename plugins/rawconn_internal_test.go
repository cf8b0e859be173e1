package plugins

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
)

// unixPair returns the two ends of a unix socket connection.
func unixPair(t *testing.T) (a, b net.Conn) {
	t.Helper()
	dir, err := os.MkdirTemp("", "hh-raw-") // short: unix socket paths are bounded
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	ln, err := net.Listen("unix", filepath.Join(dir, "s"))
	require.NoError(t, err)
	defer ln.Close()
	acc := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		acc <- c
	}()
	a, err = net.Dial("unix", ln.Addr().String())
	require.NoError(t, err)
	b = <-acc
	require.NotNil(t, b)
	t.Cleanup(func() { _ = a.Close(); _ = b.Close() })
	return a, b
}

// TestFrameConn_UnixSocket: frames of every size, up to several times a
// socket's buffer (writes that wait for the reader, reads in many parts),
// arrive whole and in order over a unix socket, and the end of the
// connection is io.EOF between frames, io.ErrUnexpectedEOF inside one. On
// Linux the extension side reads and writes it with raw system calls.
func TestFrameConn_UnixSocket(t *testing.T) {
	t.Parallel()
	a, b := unixPair(t)
	require.IsType(t, (*net.UnixConn)(nil), newFrameConn(a).w, "the host side writes through net.Conn")
	if runtime.GOOS == "linux" {
		require.NotNil(t, newRawConn(a), "a unix socket is read and written with raw system calls")
	}
	require.Nil(t, newRawConn(&net.TCPConn{}), "only a unix socket")

	sizes := []int{0, 1, 4 << 10, 64<<10 - 4, 64 << 10, 300 << 10, 5 << 20}
	msgs := make([][]byte, len(sizes))
	for i, n := range sizes {
		msgs[i] = bytes.Repeat([]byte{byte('a' + i)}, n)
		if n > 0 {
			msgs[i][n-1] = byte(i) // the last byte too
		}
	}
	w, r := newRawFrameConn(a), newRawFrameConn(b)
	done := make(chan error, 1)
	go func() {
		for _, m := range msgs {
			if err := w.write(func(b []byte) []byte { return append(b, m...) }); err != nil {
				done <- err
				return
			}
		}
		_, err := a.Write([]byte{10, 0, 0, 0, 1, 2}) // a frame cut short
		if err == nil {
			err = a.(*net.UnixConn).CloseWrite()
		}
		done <- err
	}()
	for i, want := range msgs {
		var got []byte
		require.NoError(t, r.read(func(b []byte) error { got = bytes.Clone(b); return nil }), "frame %d", i)
		require.Equal(t, len(want), len(got), "frame %d", i)
		require.True(t, bytes.Equal(want, got), "frame %d", i)
	}
	err := r.read(func([]byte) error { return nil })
	require.True(t, errors.Is(err, io.ErrUnexpectedEOF), "%v", err)
	require.NoError(t, <-done)

	// A connection closed between frames is io.EOF; one closed by this
	// side fails the read that waits on it.
	c, d := unixPair(t)
	fc, fd := newRawFrameConn(c), newRawFrameConn(d)
	require.NoError(t, c.Close())
	require.ErrorIs(t, fd.read(func([]byte) error { return nil }), io.EOF)
	e, f := unixPair(t)
	fe := newRawFrameConn(e)
	waited := make(chan error, 1)
	go func() { waited <- fe.read(func([]byte) error { return nil }) }()
	require.NoError(t, e.Close())
	require.ErrorIs(t, <-waited, net.ErrClosed)
	require.Error(t, fc.write(func(b []byte) []byte { return append(b, 1) }), "writing to a closed connection")
	_ = f
}

// TestFrameConn_ReadAllocs: read reuses its buffer (the host side copies
// what it keeps); readFrame(true) gives a small frame a buffer of its own.
func TestFrameConn_ReadAllocs(t *testing.T) {
	frame := []byte{3, 0, 0, 0, 'a', 'b', 'c'}
	f := &frameConn{r: bufio.NewReader(bytes.NewReader(bytes.Repeat(frame, 1000))), limit: maxFrame}
	noop := func([]byte) error { return nil }
	require.NoError(t, f.read(noop))
	require.Zero(t, testing.AllocsPerRun(100, func() { require.NoError(t, f.read(noop)) }))
	var owned bool
	keep := func(_ []byte, o bool) error { owned = o; return nil }
	require.Equal(t, 1.0, testing.AllocsPerRun(100, func() { require.NoError(t, f.readFrame(true, false, keep)) }))
	require.True(t, owned)
}

// TestFrameConn_LargeFrames: a frame larger than frameChunk is read into a
// buffer that grows as its bytes come, handed over (owned) when the
// reader asks for it, and never kept; a length alone does not make the
// reader allocate the size it claims.
func TestFrameConn_LargeFrames(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 10, frameChunk, frameChunk + 1, 3*frameChunk + 5} {
		msg := bytes.Repeat([]byte("0123456789"), n/10+1)[:n]
		var buf bytes.Buffer
		w := &frameConn{w: &buf, limit: maxFrame}
		require.NoError(t, w.write(func(b []byte) []byte { return append(b, msg...) }))
		require.NoError(t, w.write(func(b []byte) []byte { return append(b, msg...) }))
		r := &frameConn{r: bufio.NewReader(&buf), limit: maxFrame}
		for _, ownLarge := range []bool{false, true} {
			require.NoError(t, r.readFrame(false, ownLarge, func(b []byte, owned bool) error {
				require.True(t, bytes.Equal(msg, b), "frame of %d bytes", n)
				require.Equal(t, ownLarge && n > frameChunk, owned, "frame of %d bytes", n)
				return nil
			}))
		}
		require.LessOrEqual(t, cap(r.rbuf), frameChunk)
	}
}

// TestFrameConn_LengthAlone: a frame's length, with nothing after it,
// costs the reader about frameChunk, not the 64 MiB it claims.
func TestFrameConn_LengthAlone(t *testing.T) {
	hdr := binary.LittleEndian.AppendUint32(nil, 64<<20)
	f := &frameConn{r: bufio.NewReader(io.MultiReader(bytes.NewReader(hdr), bytes.NewReader(make([]byte, 100)))), limit: maxFrame}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	err := f.read(func([]byte) error { return nil })
	runtime.ReadMemStats(&after)
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(2*frameChunk))
}

// read reads the next frame and decodes it with decode, which copies
// what it keeps (the buffer is reused): readFrame without ownership, as
// the tests read frames.
func (f *frameConn) read(decode func([]byte) error) error {
	return f.readFrame(false, false, func(b []byte, _ bool) error { return decode(b) })
}

package plugins

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/hookhost/hookhost/plugins/proto"
)

// The run socket is the data plane of an extension process: the messages
// of RunStream (batches of runs, batches of results) travel over a unix
// socket of their own, each framed as a 4-byte little-endian length and the
// message, with one write per batch, instead of over gRPC (HTTP/2 frames,
// the transport's goroutines and buffer pools on both sides). go-plugin
// keeps the lifecycle (handshake, health, logs, the Host callbacks, unary
// calls); the host learns of the socket from Init and falls back to
// RunStream when there is none. Measured on the guide's webhook, see
// bench/README.md.

// envSocketDir is where go-plugin tells an extension to put its unix
// sockets (plugin.EnvUnixSocketDir: a directory of its own, mode 0700,
// removed by the host when the process ends).
const envSocketDir = "PLUGIN_UNIX_SOCKET_DIR"

// maxFrame bounds a frame: a length above it means a broken stream.
const maxFrame = 256 << 20

// A frame's length fits its 4 bytes (this does not compile otherwise).
const _ = uint32(maxFrame)

// socketTokenLen is the length of the token a host writes first.
const socketTokenLen = 32

// acceptPause and maxAcceptPause bound the pause after a failed Accept
// (acceptRuns).
const (
	acceptPause    = 5 * time.Millisecond
	maxAcceptPause = time.Second
)

// frameConn reads and writes framed protobuf messages on a connection
// (encoded and decoded by frame.go).
// Reads come from one goroutine and writes from one other.
type frameConn struct {
	w io.Writer // c, or its rawConn
	r *bufio.Reader
	// limit is the most bytes a frame may take, written or read:
	// maxFrame, which tests lower.
	limit int
	hdr   [4]byte // a local would escape to the heap, through io.ReadFull
	rbuf  []byte
	wbuf  []byte
}

func newFrameConn(c net.Conn) *frameConn {
	return &frameConn{w: c, r: bufio.NewReaderSize(c, 64<<10), limit: maxFrame}
}

// newRawFrameConn is newFrameConn with c read and written with raw system
// calls where it can (rawConn). The extension side uses it: a process on
// one P idles between frames, and then the runtime's sysmon thread sleeps,
// which every syscall.Read or Write wakes again. The host side keeps
// newFrameConn: a busy server's sysmon does not sleep, and its writes,
// quicker without entersyscall, left fewer runs to a frame.
func newRawFrameConn(c net.Conn) *frameConn {
	if rc := newRawConn(c); rc != nil {
		return &frameConn{w: rc, r: bufio.NewReaderSize(rc, 64<<10), limit: maxFrame}
	}
	return newFrameConn(c)
}

// write sends the message that appendMsg appends (frame.go) as one frame,
// in one write. It refuses a message over the limit, which the other side
// would refuse, writing nothing.
func (f *frameConn) write(appendMsg func([]byte) []byte) error {
	b := appendMsg(append(f.wbuf[:0], 0, 0, 0, 0))
	var err error
	if n := len(b) - 4; n > f.limit {
		err = fmt.Errorf("frame of %d bytes: over the %d limit", n, f.limit)
	} else {
		binary.LittleEndian.PutUint32(b, uint32(n))
		_, err = f.w.Write(b)
	}
	if cap(b) <= 1<<20 {
		f.wbuf = b[:0]
	} else {
		f.wbuf = nil // a rare large batch: do not keep its buffer
	}
	return err
}

// ownedFrame is the largest frame readFrame reads into a buffer of its
// own, for its decoder to keep: frames of runs of the size of the guide's
// are a few KiB, and a run that its extension keeps long (or a cache that
// keeps a string of it) does not keep more memory than this.
const ownedFrame = 64 << 10

// frameChunk is the most readFrame allocates for a frame before its bytes
// come, and the largest buffer it keeps for the next frames: the buffer of
// a larger frame grows as its bytes come, doubling, so that a length alone
// (from a broken or hostile peer) costs no more than this.
const frameChunk = 1 << 20

// readFrame reads the next frame and decodes it with decode. owned tells
// decode that b is its own, to keep; otherwise decode copies what it keeps
// (the buffer is reused). With ownSmall, a frame up to ownedFrame bytes is
// read into a buffer of its own, and owned; with ownLarge, so is a frame
// over frameChunk, whose buffer is never kept.
func (f *frameConn) readFrame(ownSmall, ownLarge bool, decode func(b []byte, owned bool) error) error {
	if _, err := io.ReadFull(f.r, f.hdr[:]); err != nil {
		return err
	}
	n := int(binary.LittleEndian.Uint32(f.hdr[:]))
	if n > f.limit {
		return fmt.Errorf("frame of %d bytes: over the %d limit", n, f.limit)
	}
	var b []byte
	owned := false
	switch {
	case ownSmall && n <= ownedFrame:
		b, owned = make([]byte, n), true
	case n <= cap(f.rbuf):
		b = f.rbuf[:n]
	case n <= frameChunk:
		f.rbuf = make([]byte, n)
		b = f.rbuf
	default:
		var err error
		if b, err = readGrowing(f.r, n); err != nil {
			return err
		}
		return decode(b, ownLarge)
	}
	if _, err := io.ReadFull(f.r, b); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	return decode(b, owned)
}

// readGrowing reads n bytes from r into a buffer of frameChunk bytes that
// doubles as they come, up to n.
func readGrowing(r io.Reader, n int) ([]byte, error) {
	b := make([]byte, frameChunk)
	for at := 0; ; {
		m, err := io.ReadFull(r, b[at:])
		at += m
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		if at == n {
			return b, nil
		}
		next := make([]byte, min(n, 2*len(b)))
		copy(next, b)
		b = next
	}
}

// hostConn is the host side of a run socket connection, used as a
// runStream's conn.
type hostConn struct {
	f  *frameConn
	in *pb.RunStreamResponse // Recv's message, reused; nil: one each
	// unanswered, unless nil, counts the runs sent that the extension has
	// not answered yet, each of which gets one answer at most: a frame of
	// more results breaks the stream before they are decoded.
	unanswered *atomic.Int64
	// results, unless nil, holds the decodedResult of results that
	// their runs are done with (runStream.results).
	results *sync.Pool
	// padded is set when the extension announced that it pads its results
	// to minEntryBytes an entry (InitResponse.entries_padded, which
	// extensions built with an older SDK leave unset): only then is a
	// result's count of entries bounded by its bytes as well.
	padded bool
}

func (h hostConn) Send(m *pb.RunStreamRequest) error {
	if h.unanswered != nil {
		h.unanswered.Add(int64(len(m.GetRuns()))) // before the extension can answer them
	}
	return h.f.write(func(b []byte) []byte { return appendRunStreamRequest(b, m) })
}

// Recv reads the next batch of results. A broken connection is
// codes.Unavailable, as a broken gRPC stream is: the process is gone or
// going, and the runs it held fail with it (io.EOF stays io.EOF, which the
// stream turns into the same).
func (h hostConn) Recv() (*pb.RunStreamResponse, error) {
	m := h.in
	if m == nil {
		m = &pb.RunStreamResponse{}
	} else if cap(m.Results) > maxKeptBatch {
		m.Results = nil // a rare burst does not keep its slice
	} else {
		clear(m.Results) // delivered: the runs hold them
		m.Results = m.Results[:0]
	}
	if err := h.f.readFrame(false, true, func(b []byte, owned bool) error {
		return decodeRunStreamResponse(b, m, h.results, h.awaiting(), h.entryBytes(), owned)
	}); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, err
		}
		return nil, status.Error(codes.Unavailable, "run socket: "+err.Error())
	}
	if h.unanswered != nil {
		h.unanswered.Add(-int64(len(m.Results)))
	}
	return m, nil
}

// awaiting is the most results the frame just read may hold: the runs
// sent that were not answered (read after the frame, as the runs it
// answers were sent before it).
func (h hostConn) awaiting() int {
	if h.unanswered == nil {
		return math.MaxInt
	}
	return int(h.unanswered.Load())
}

// entryBytes is the fewest bytes per log entry and side effect that a
// result must take (decodeRunStreamResponse): minEntryBytes when the
// extension pads its results, none otherwise.
func (h hostConn) entryBytes() int {
	if h.padded {
		return minEntryBytes
	}
	return 0
}

// dialRunSocket connects to an extension's run socket; padded tells that
// the extension pads its results (hostConn.padded).
func dialRunSocket(path string, token []byte, padded bool) (hostConn, io.Closer, error) {
	c, err := net.DialTimeout("unix", path, initTimeout)
	if err != nil {
		return hostConn{}, nil, err
	}
	if _, err := c.Write(token); err != nil {
		_ = c.Close()
		return hostConn{}, nil, err
	}
	return hostConn{f: newFrameConn(c), in: &pb.RunStreamResponse{}, unanswered: new(atomic.Int64), results: new(sync.Pool),
		padded: padded}, c, nil
}

// runSocket is the extension side: the listener and the token a host must
// write first.
type runSocket struct {
	path  string
	token []byte
}

// openRunSocket listens on a run socket in go-plugin's socket directory,
// once per process, and serves every host connection on it. It returns
// nil when there is no such directory (the extension was not started by
// go-plugin with one) or the socket cannot be made: the host then uses
// RunStream.
func (s *server) openRunSocket() *runSocket {
	s.socketOnce.Do(func() {
		dir := s.socketDir
		if dir == "" {
			dir = os.Getenv(envSocketDir)
		}
		if dir == "" {
			return
		}
		token := make([]byte, socketTokenLen)
		if _, err := rand.Read(token); err != nil {
			return
		}
		path := filepath.Join(dir, fmt.Sprintf("runs-%d.sock", os.Getpid()))
		ln, err := net.Listen("unix", path)
		if err != nil {
			slog.Warn("no run socket; runs go over gRPC", "err", err)
			return
		}
		s.socket = &runSocket{path: path, token: token}
		go s.acceptRuns(ln, token)
	})
	return s.socket
}

// acceptRuns serves each connection of ln that starts with token, until ln
// is closed. A failed Accept (a process out of file descriptors: EMFILE) is
// logged and tried again after a pause, 5 ms doubling up to 1 s, as
// net/http's Server.Serve does: were the loop to end, the listener would
// stay open, and the host's next connections would wait in its queue
// unanswered, their runs until their deadlines.
func (s *server) acceptRuns(ln net.Listener, token []byte) {
	var pause time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			pause = min(max(2*pause, acceptPause), maxAcceptPause)
			slog.Error("run socket: accept failed; trying again", "err", err, "pause", pause)
			time.Sleep(pause)
			continue
		}
		pause = 0
		go func() {
			defer c.Close()
			got := make([]byte, len(token))
			_ = c.SetReadDeadline(time.Now().Add(initTimeout))
			if _, err := io.ReadFull(c, got); err != nil || subtle.ConstantTimeCompare(got, token) != 1 {
				return
			}
			_ = c.SetReadDeadline(time.Time{})
			f := newRawFrameConn(c)
			f.limit = s.maxMessage
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			in := &pb.RunStreamRequest{} // every frame's, reused: serveRuns is done with one before the next
			_ = s.serveRuns(ctx,
				func() (*pb.RunStreamRequest, error) {
					if cap(in.Runs) > maxKeptBatch {
						in.Runs = nil // a rare burst does not keep its slice
					}
					clear(in.Runs) // the runs going hold theirs
					in.Runs, in.Cancel = in.Runs[:0], in.Cancel[:0]
					if err := f.readFrame(true, false, func(b []byte, owned bool) error {
						if owned {
							return decodeRunStreamRequestShared(b, in)
						}
						return decodeRunStreamRequest(b, in)
					}); err != nil {
						return nil, err
					}
					return in, nil
				},
				func(m *pb.RunStreamResponse) error {
					err := f.write(func(b []byte) []byte { return appendRunStreamResponse(b, m) })
					if err != nil {
						// The stream ends: the host's runs on it fail
						// at once, not at their deadlines.
						_ = c.Close()
					}
					return err
				}, true)
		}()
	}
}

// socketState is the run socket of a server, made on the first Init that
// asks for it.
type socketState struct {
	socketOnce sync.Once
	socket     *runSocket
	socketDir  string // tests: instead of go-plugin's directory
}

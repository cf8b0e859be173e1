package plugins

import (
	"errors"
	"fmt"
	"sync/atomic"

	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	pb "github.com/hookhost/hookhost/plugins/proto"
)

// answerCodec is the gRPC codec of a host's connection to one extension
// (DialOptions, grpc.ForceCodecV2 on its calls; nothing is registered):
// gRPC's proto codec, except that it bounds what an extension's answer to a
// unary Run makes the host allocate, as the run socket's decoder does
// (frame.go). proto.Unmarshal allocates about 80 times the bytes of a
// message of empty log entries or side effects (2 bytes each), with its
// conversion to an Outcome: a hostile answer of MaxMessage bytes (256 MiB)
// took some 20 GB (TestAnswerCodec_BoundsEntries). A response whose
// outcome has more than MaxLogEntries log entries or MaxSideEffects side
// effects is not decoded: its run fails with CodeInternal
// (tooManyEntriesOf), as on the run socket, and the response's bytes are
// only scanned, up to the first entry past a bound (an answer within the
// bounds is scanned whole: about 15 ms a MiB of empty entries). A
// RunStream message, which
// a run stream's Recv asks for as a *boundedResults, is decoded by the run
// socket's decoder, with its bounds. Every other message, and a Run's
// response within the bounds, is decoded by proto.Unmarshal as before.
type answerCodec struct {
	proto encoding.CodecV2 // gRPC's, looked up, never registered
	// extension names the extension in the errors of its runs.
	extension string
}

var _ encoding.CodecV2 = answerCodec{}

// newAnswerCodec returns the codec of the connection to extension.
func newAnswerCodec(extension string) answerCodec {
	return answerCodec{proto: encoding.GetCodecV2(protoCodecName), extension: extension}
}

// protoCodecName is the name of gRPC's proto codec, and the content
// subtype of the calls (Name): the extension sees the calls it always saw.
const protoCodecName = "proto"

// Name is the proto codec's name.
func (c answerCodec) Name() string { return protoCodecName }

// Marshal encodes v as the proto codec does.
func (c answerCodec) Marshal(v any) (mem.BufferSlice, error) { return c.proto.Marshal(v) }

// Unmarshal decodes data into v as the proto codec does, a *pb.RunResponse
// of too many entries excepted (answerCodec), and a run stream's message
// (*boundedResults), which the run socket's decoder decodes.
func (c answerCodec) Unmarshal(data mem.BufferSlice, v any) error {
	switch m := v.(type) {
	case *pb.RunResponse:
		return c.unmarshalRun(data, m)
	case *boundedResults:
		return m.decode(data)
	}
	return c.proto.Unmarshal(data, v)
}

// unmarshalRun decodes a unary Run's response, unless it has too many
// entries (answerCodec).
func (c answerCodec) unmarshalRun(data mem.BufferSlice, m *pb.RunResponse) error {
	buf := data.MaterializeToBuffer(mem.DefaultBufferPool())
	defer buf.Free()
	b := buf.ReadOnlyData()
	if logs, sides := responseEntries(b); logs > MaxLogEntries || sides > MaxSideEffects {
		proto.Reset(m)
		m.Error = tooManyEntriesOf(c.extension)
		return nil
	}
	return proto.Unmarshal(b, m)
}

// responseEntries counts the log entries and side effects of the outcome
// of b, a RunResponse in wire form, as proto.Unmarshal would decode them:
// the fields of every occurrence of its outcome (which it merges), of the
// wire type of their declaration (another is an unknown field). It stops
// at the first entry past MaxLogEntries or MaxSideEffects, whose count is
// then over its bound. A malformed b counts what comes before the fault
// (proto.Unmarshal then refuses it).
func responseEntries(b []byte) (logs, sides int) {
	_ = eachField(b, func(num protowire.Number, typ protowire.Type, v []byte) error {
		if num != fRespOutcome || typ != protowire.BytesType {
			return nil
		}
		out, _ := protowire.ConsumeBytes(v)
		return eachField(out, func(num protowire.Number, typ protowire.Type, _ []byte) error {
			if typ == protowire.BytesType {
				switch num {
				case fOutLog:
					logs++
				case fOutSideEffects:
					sides++
				}
			}
			if logs > MaxLogEntries || sides > MaxSideEffects {
				return errOverBound
			}
			return nil
		})
	})
	return logs, sides
}

// errOverBound stops responseEntries' scan at the first entry past a bound.
var errOverBound = errors.New("over an entry bound")

// tooManyEntriesOf is tooManyEntries for a unary Run's response from
// extension (answerCodec), which names it.
func tooManyEntriesOf(extension string) *pb.Error {
	e := tooManyEntries()
	e.Message = fmt.Sprintf("extension %q: %s; the host did not decode it", extension, e.Message)
	return e
}

// boundedResults is what a gRPC run stream's Recv decodes a message into
// (grpcRunConn): the message, and the count of the runs sent and not
// answered yet. The host's codec (answerCodec) decodes it as the run
// socket's decoder does a frame of an extension that does not pad its
// results (decodeRunStreamResponse, entryBytes 0): a message of more
// results than runs awaiting an answer is refused before they are decoded
// (err, which breaks the stream); a result of more than MaxLogEntries log
// entries or MaxSideEffects side effects, or past the first
// maxFrameEntries of the message's results, fails its run alone, the
// entries past the bound not decoded. gRPC's proto codec took 61 times
// the size of a message of empty results, and about 80 times that of a
// result's empty entries (TestAnswerCodec_BoundsStreamMessages). Another
// codec (a connection not dialled with DialOptions, as go-plugin's test
// harness) decodes the embedded message as proto.Unmarshal does.
type boundedResults struct {
	*pb.RunStreamResponse
	awaiting *atomic.Int64
	err      error // why the message was refused; nil: it was not
}

// decode decodes data into m.RunStreamResponse, within the bounds
// (boundedResults). The decoded results share one copy of data.
func (m *boundedResults) decode(data mem.BufferSlice) error {
	buf := data.MaterializeToBuffer(mem.DefaultBufferPool()) // one buffer: no copy
	defer buf.Free()
	m.err = decodeRunStreamResponse(buf.ReadOnlyData(), m.RunStreamResponse, nil, int(m.awaiting.Load()), 0, false)
	return m.err
}

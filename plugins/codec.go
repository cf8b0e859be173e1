package plugins

import (
	"fmt"

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
// only scanned (a few milliseconds a megabyte). Every other message, and
// a Run's response within the bounds, is decoded by proto.Unmarshal as
// before.
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
// of too many entries excepted (answerCodec).
func (c answerCodec) Unmarshal(data mem.BufferSlice, v any) error {
	m, ok := v.(*pb.RunResponse)
	if !ok {
		return c.proto.Unmarshal(data, v)
	}
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
// wire type of their declaration (another is an unknown field). A
// malformed b counts what comes before the fault (proto.Unmarshal then
// refuses it).
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
			return nil
		})
	})
	return logs, sides
}

// tooManyEntriesOf is tooManyEntries for a unary Run's response from
// extension (answerCodec), which names it.
func tooManyEntriesOf(extension string) *pb.Error {
	e := tooManyEntries()
	e.Message = fmt.Sprintf("extension %q: %s; the host did not decode it", extension, e.Message)
	return e
}

package plugins

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	pb "github.com/hookhost/hookhost/plugins/proto"
)

// frameRequests are run socket requests with every field, and none.
func frameRequests() map[string]*pb.RunStreamRequest {
	full := &pb.RunRequest{CallId: 1 << 40, RunId: "r-1", Automation: "example.webhook.respond", Revision: "3.7.1735689600000000000",
		Trigger: "cerb.trigger.webhook.respond", Script: "start:\n  return:\n    body: é€😀\n", Policy: "commands:\n  http.request:\n    allow@bool: yes\n",
		Inputs: []byte("m\x01\x03keys\x05value\x00\xff"), DeadlineUnixNano: -1, Commands: []string{"a.b", "", "c"}, Simulate: true, InputsFormat: "dict/1", ScriptOmitted: true}
	return map[string]*pb.RunStreamRequest{
		"Empty":       {},
		"EmptyRun":    {Runs: []*pb.RunRequest{{}}},
		"Full":        {Runs: []*pb.RunRequest{full}},
		"Several":     {Runs: []*pb.RunRequest{full, {CallId: 2, Trigger: "t", Inputs: []byte("{}")}, {CallId: 3, Script: string(make([]byte, 300))}}},
		"Cancels":     {Cancel: []uint64{1, 0, 1 << 63, 300}},
		"RunsCancels": {Runs: []*pb.RunRequest{full}, Cancel: []uint64{7}},
	}
}

// frameResponses are run socket responses with every field, and none.
func frameResponses() map[string]*pb.RunStreamResponse {
	out := &pb.Outcome{Exit: "error", Return: []byte("\x00\x01binary"), Log: []*pb.LogEntry{{Level: 7, Node: "start:log:", Message: "hello"}, {Level: -1}, {}},
		Error: &pb.Error{Code: "script", Message: "boom", At: "start:error:"}, Limit: "steps", Steps: -5, Simulated: true,
		SideEffects: []*pb.SideEffect{{Command: "http.request", Node: "start:http.request/x:", OnSimulate: true, Denied: true}, {}}, ReturnFormat: "dict/1"}
	return map[string]*pb.RunStreamResponse{
		"Empty":         {},
		"EmptyResult":   {Results: []*pb.RunStreamResult{{}}},
		"EmptyResponse": {Results: []*pb.RunStreamResult{{CallId: 1, Response: &pb.RunResponse{}}}},
		"EmptyOutcome":  {Results: []*pb.RunStreamResult{{CallId: 1, Response: &pb.RunResponse{Outcome: &pb.Outcome{}, Error: &pb.Error{}}}}},
		"Full":          {Results: []*pb.RunStreamResult{{CallId: 1 << 50, Response: &pb.RunResponse{Outcome: out}}}},
		"Error":         {Results: []*pb.RunStreamResult{{CallId: 2, Response: &pb.RunResponse{Error: &pb.Error{Code: "inputs", Message: "bad"}}}}},
		"Panic":         {Results: []*pb.RunStreamResult{{CallId: 3, Panic: "handler panic"}}},
		"Several": {Results: []*pb.RunStreamResult{{CallId: 3, Panic: "p"}, {CallId: 1, Response: &pb.RunResponse{Outcome: out}},
			{CallId: 2, Response: &pb.RunResponse{Outcome: &pb.Outcome{Exit: "return", Return: make([]byte, 70000)}}}}},
	}
}

// TestFrame_AsProto: the run socket's messages are the bytes proto.Marshal
// writes, and read back as proto.Unmarshal reads them.
func TestFrame_AsProto(t *testing.T) {
	t.Parallel()
	for name, m := range frameRequests() {
		t.Run("Request"+name, func(t *testing.T) {
			t.Parallel()
			want, err := proto.Marshal(m)
			require.NoError(t, err)
			require.Equal(t, want, appendRunStreamRequest([]byte{}, m))
			got := &pb.RunStreamRequest{}
			b := bytes.Clone(want)
			require.NoError(t, decodeRunStreamRequest(b, got))
			clear(b) // frameConn reuses its buffer: the message must not share it
			require.True(t, proto.Equal(m, got), "got %v", got)
			shared := &pb.RunStreamRequest{}
			require.NoError(t, decodeRunStreamRequestShared(bytes.Clone(want), shared))
			require.True(t, proto.Equal(m, shared), "shared: got %v", shared)
		})
	}
	for name, m := range frameResponses() {
		t.Run("Response"+name, func(t *testing.T) {
			t.Parallel()
			want, err := proto.Marshal(m)
			require.NoError(t, err)
			require.Equal(t, want, appendRunStreamResponse([]byte{}, m))
			got := &pb.RunStreamResponse{}
			b := bytes.Clone(want)
			require.NoError(t, decodeRunStreamResponse(b, got, nil, math.MaxInt, minEntryBytes, false))
			clear(b)
			require.True(t, proto.Equal(m, got), "got %v", got)
			// With a pool of decoded results, one of them used and
			// released. sync.Pool may drop a Put (it does at random under
			// -race), so d goes to the decoder through pool's New, not
			// through the Put of releaseResult, and the first result is
			// decoded into it every time.
			d := &decodedResult{res: pb.RunStreamResult{CallId: 99, Panic: "old"}}
			d.resp.Outcome = &d.out
			d.out.Exit = "old"
			releaseResult(new(sync.Pool), &d.resp)
			next := d
			pool := &sync.Pool{New: func() any {
				r := next
				next = new(decodedResult)
				return r
			}}
			require.True(t, d.res.CallId == 0 && d.res.Panic == "" && d.resp.Outcome == nil && d.out.Exit == "", "released: %+v", d)
			pooled := &pb.RunStreamResponse{}
			require.NoError(t, decodeRunStreamResponse(bytes.Clone(want), pooled, pool, math.MaxInt, minEntryBytes, false))
			require.True(t, proto.Equal(m, pooled), "pooled: got %v", pooled)
			if len(m.GetResults()) > 0 {
				require.Same(t, &d.res, pooled.Results[0], "the released result is reused")
			}
		})
	}
}

// TestFrame_Decode: what proto.Unmarshal accepts besides what Marshal
// writes (unknown fields, other wire types for known fields, unpacked
// repeated numbers, a message field given twice), and what it refuses.
func TestFrame_Decode(t *testing.T) {
	t.Parallel()
	tag := protowire.AppendTag
	str := func(b []byte, n protowire.Number, s string) []byte {
		return protowire.AppendString(tag(b, n, protowire.BytesType), s)
	}
	run := func(fields []byte) []byte {
		return protowire.AppendBytes(tag(nil, fRequestRuns, protowire.BytesType), fields)
	}
	result := func(fields []byte) []byte {
		return protowire.AppendBytes(tag(nil, fResponseResults, protowire.BytesType), fields)
	}
	unknown := protowire.AppendFixed32(tag(nil, 99, protowire.Fixed32Type), 5)
	unknown = protowire.AppendFixed64(tag(unknown, 98, protowire.Fixed64Type), 5)
	unknown = tag(tag(unknown, 97, protowire.StartGroupType), 97, protowire.EndGroupType)
	unknown = protowire.AppendVarint(tag(unknown, 96, protowire.VarintType), 5)
	for _, tc := range []struct {
		name     string
		request  bool // else a response
		b        []byte
		wantFail bool
	}{
		{"RequestUnknownFields", true, append(run(append(str(nil, fRunRunID, "x"), unknown...)), unknown...), false},
		{"RequestWrongWireType", true, run(protowire.AppendVarint(tag(nil, fRunScript, protowire.VarintType), 3)), false},
		{"RequestUnpackedCancel", true, protowire.AppendVarint(tag(nil, fRequestCancel, protowire.VarintType), 9), false},
		{"RequestInvalidUTF8", true, run(str(nil, fRunScript, "\xff")), true},
		{"RequestInvalidUTF8Command", true, run(str(nil, fRunCommands, "\xff")), true},
		{"RequestCut", true, run(str(nil, fRunScript, "abc"))[:5], true},
		{"RequestCutInRun", true, protowire.AppendBytes(tag(nil, fRequestRuns, protowire.BytesType), str(nil, fRunScript, "abc")[:3]), true},
		{"RequestFieldZero", true, run(protowire.AppendVarint(tag(nil, 0, protowire.VarintType), 1)), true},
		{"RequestLongVarint", true, run(append(tag(nil, fRunCallID, protowire.VarintType), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f)), true},
		{"RequestCutPacked", true, protowire.AppendBytes(tag(nil, fRequestCancel, protowire.BytesType), []byte{0x80}), true},
		{"ResponseUnknownFields", false, append(result(append(str(nil, fResultPanic, "p"), unknown...)), unknown...), false},
		{"ResponseMessageTwice", false, result(append(
			protowire.AppendBytes(tag(nil, fResultResponse, protowire.BytesType), protowire.AppendBytes(tag(nil, fRespError, protowire.BytesType), str(nil, fErrCode, "a"))),
			protowire.AppendBytes(tag(nil, fResultResponse, protowire.BytesType), protowire.AppendBytes(tag(nil, fRespError, protowire.BytesType), str(nil, fErrAt, "b")))...)), false},
		{"ResponseInvalidUTF8", false, result(str(nil, fResultPanic, "\xc3")), true},
		{"ResponseCut", false, result(str(nil, fResultPanic, "abc"))[:4], true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var want, got proto.Message
			var err error
			if tc.request {
				want, got = &pb.RunStreamRequest{}, &pb.RunStreamRequest{}
				err = decodeRunStreamRequest(tc.b, got.(*pb.RunStreamRequest))
				shared := &pb.RunStreamRequest{}
				errShared := decodeRunStreamRequestShared(bytes.Clone(tc.b), shared)
				require.Equal(t, err != nil, errShared != nil, "%v, shared %v", err, errShared)
				if err == nil {
					require.True(t, proto.Equal(got, shared), "shared: got %v, want %v", shared, got)
				}
			} else {
				want, got = &pb.RunStreamResponse{}, &pb.RunStreamResponse{}
				err = decodeRunStreamResponse(tc.b, got.(*pb.RunStreamResponse), nil, math.MaxInt, minEntryBytes, false)
			}
			protoErr := proto.Unmarshal(tc.b, want)
			require.Equal(t, tc.wantFail, protoErr != nil, "proto.Unmarshal: %v", protoErr)
			if tc.wantFail {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			discardUnknown(want.ProtoReflect())
			require.True(t, proto.Equal(want, got), "got %v, want %v", got, want)
		})
	}
}

// FuzzFrame: any bytes decode as proto.Unmarshal decodes them, or fail
// when it fails.
func FuzzFrame(f *testing.F) {
	for _, m := range frameRequests() {
		f.Add(appendRunStreamRequest(nil, m))
	}
	for _, m := range frameResponses() {
		if b := appendRunStreamResponse(nil, m); len(b) < 4096 {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, pair := range [][2]proto.Message{{&pb.RunStreamRequest{}, &pb.RunStreamRequest{}}, {&pb.RunStreamResponse{}, &pb.RunStreamResponse{}}} {
			want, got := pair[0], pair[1]
			var err error
			switch g := got.(type) {
			case *pb.RunStreamRequest:
				err = decodeRunStreamRequest(b, g)
				shared := &pb.RunStreamRequest{}
				errShared := decodeRunStreamRequestShared(bytes.Clone(b), shared)
				if (err != nil) != (errShared != nil) || err == nil && !proto.Equal(g, shared) {
					t.Fatalf("decode: %v %v, shared: %v %v", err, g, errShared, shared)
				}
			case *pb.RunStreamResponse:
				err = decodeRunStreamResponse(b, g, nil, math.MaxInt, minEntryBytes, false)
			}
			protoErr := proto.Unmarshal(b, want)
			if (err != nil) != (protoErr != nil) {
				t.Fatalf("decode: %v, proto.Unmarshal: %v", err, protoErr)
			}
			if err == nil {
				if w, ok := want.(*pb.RunStreamResponse); ok {
					boundEntries(t, b, w, got.(*pb.RunStreamResponse))
				}
				discardUnknown(want.ProtoReflect())
				if !proto.Equal(want, got) {
					t.Fatalf("decoded %v, proto.Unmarshal %v", got, want)
				}
			}
		}
	})
}

// boundEntries makes the results of want, which proto.Unmarshal decoded
// from b, what decodeRunStreamResponse decodes them as (got): a result of
// more than MaxLogEntries log entries or MaxSideEffects side effects, or of
// more of them together than one per minEntryBytes of its bytes, is the
// error of its run.
func boundEntries(t *testing.T, b []byte, want, got *pb.RunStreamResponse) {
	t.Helper()
	i := 0
	err := eachField(b, func(num protowire.Number, typ protowire.Type, v []byte) error {
		if num != fResponseResults || typ != protowire.BytesType {
			return nil
		}
		raw, _ := protowire.ConsumeBytes(v)
		w, g := want.Results[i], got.Results[i]
		i++
		o := w.GetResponse().GetOutcome()
		logs, effects := len(o.GetLog()), len(o.GetSideEffects())
		if logs <= MaxLogEntries && effects <= MaxSideEffects && logs+effects <= len(raw)/minEntryBytes {
			return nil
		}
		e := g.GetResponse().GetError()
		if g.GetResponse().GetOutcome() != nil ||
			!proto.Equal(e, tooManyEntries()) && !proto.Equal(e, entriesOverBytes(len(raw))) {
			t.Fatalf("result %d, of %d log entries and %d side effects in %d bytes: decoded as %v", i, logs, effects, len(raw), g)
		}
		w.Response = &pb.RunResponse{Error: e}
		return nil
	})
	require.NoError(t, err)
}

// discardUnknown drops the unknown fields of m and of the messages in it,
// which proto.Unmarshal keeps and the frame decoders skip.
func discardUnknown(m protoreflect.Message) {
	m.SetUnknown(nil)
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList() && fd.Message() != nil:
			for i := range v.List().Len() {
				discardUnknown(v.List().Get(i).Message())
			}
		case fd.Message() != nil:
			discardUnknown(v.Message())
		}
		return true
	})
}

// go test ./plugins -run '^$' -bench Frame -benchmem
//
// BenchmarkFrame compares the frame codec with package proto on a batch of
// four runs of the guide's size, and their results.
func BenchmarkFrame(b *testing.B) {
	run := &pb.RunRequest{CallId: 12345, RunId: "0193a5b2-7c1d-7e3f-9a0b-1c2d3e4f5a6b", Automation: "example.webhook.respond", Revision: "3.7.1735689600000000000",
		Trigger: "cerb.trigger.webhook.respond", Script: string(make([]byte, 440)), Inputs: make([]byte, 700),
		DeadlineUnixNano: 1735689600000000000, Commands: []string{"example.slugify"}, InputsFormat: "dict/1"}
	req := &pb.RunStreamRequest{Runs: []*pb.RunRequest{run, run, run, run}}
	res := &pb.RunStreamResult{CallId: 12345, Response: &pb.RunResponse{Outcome: &pb.Outcome{Exit: "return", Return: make([]byte, 300), Steps: 4, ReturnFormat: "dict/1"}}}
	resp := &pb.RunStreamResponse{Results: []*pb.RunStreamResult{res, res, res, res}}
	reqB, _ := proto.Marshal(req)
	respB, _ := proto.Marshal(resp)
	buf := make([]byte, 0, 8192)
	b.Run("ProtoRequestEncode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buf, _ = proto.MarshalOptions{}.MarshalAppend(buf[:0], req)
		}
	})
	b.Run("FrameRequestEncode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buf = appendRunStreamRequest(buf[:0], req)
		}
	})
	b.Run("ProtoRequestDecode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = proto.Unmarshal(reqB, &pb.RunStreamRequest{})
		}
	})
	b.Run("FrameRequestDecode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = decodeRunStreamRequest(reqB, &pb.RunStreamRequest{})
		}
	})
	b.Run("FrameRequestDecodeShared", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = decodeRunStreamRequestShared(reqB, &pb.RunStreamRequest{})
		}
	})
	b.Run("ProtoResponseEncode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buf, _ = proto.MarshalOptions{}.MarshalAppend(buf[:0], resp)
		}
	})
	b.Run("FrameResponseEncode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buf = appendRunStreamResponse(buf[:0], resp)
		}
	})
	b.Run("ProtoResponseDecode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = proto.Unmarshal(respB, &pb.RunStreamResponse{})
		}
	})
	b.Run("FrameResponseDecode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = decodeRunStreamResponse(respB, &pb.RunStreamResponse{}, nil, math.MaxInt, minEntryBytes, false)
		}
	})
}

// TestDecodeRunStreamResponse_Allocs: a response's results share one copy
// of the message and one array, whatever their number.
func TestDecodeRunStreamResponse_Allocs(t *testing.T) {
	for _, tc := range []struct {
		results int
		want    float64
	}{
		{0, 0},
		{1, 3},
		{4, 3},
		{32, 3},
	} {
		t.Run(fmt.Sprint(tc.results), func(t *testing.T) {
			m := &pb.RunStreamResponse{}
			for i := range tc.results {
				m.Results = append(m.Results, &pb.RunStreamResult{CallId: uint64(i + 1), Response: &pb.RunResponse{
					Outcome: &pb.Outcome{Exit: "return", Return: []byte("body"), ReturnFormat: "dict/1"}}})
			}
			b := appendRunStreamResponse(nil, m)
			var got *pb.RunStreamResponse
			allocs := testing.AllocsPerRun(50, func() {
				got = &pb.RunStreamResponse{}
				if err := decodeRunStreamResponse(b, got, nil, math.MaxInt, minEntryBytes, false); err != nil {
					t.Fatal(err)
				}
			})
			require.True(t, proto.Equal(m, got), "got %v", got)
			require.Equal(t, tc.want+1, allocs) // and got itself
		})
	}
}

// emptyEntries is an outcome of n empty log entries (field fOutLog) or
// side effects (fOutSideEffects): 2 bytes each on the wire.
func emptyEntries(field protowire.Number, n int) *pb.RunStreamResponse {
	var out []byte
	for range n {
		out = protowire.AppendTag(out, field, protowire.BytesType)
		out = protowire.AppendVarint(out, 0)
	}
	out = append(protowire.AppendTag(out, fOutExit, protowire.BytesType), protowire.AppendString(nil, "return")...)
	resp := protowire.AppendBytes(protowire.AppendTag(nil, fRespOutcome, protowire.BytesType), out)
	res := protowire.AppendBytes(protowire.AppendVarint(protowire.AppendTag(nil, fResultCallID, protowire.VarintType), 1), nil)
	res = protowire.AppendBytes(protowire.AppendTag(res[:2], fResultResponse, protowire.BytesType), resp)
	m := &pb.RunStreamResponse{}
	if err := proto.Unmarshal(protowire.AppendBytes(protowire.AppendTag(nil, fResponseResults, protowire.BytesType), res), m); err != nil {
		panic(err)
	}
	return m
}

// TestDecodeRunStreamResponse_Bounds: what an extension sends cannot make
// the host allocate far more than it sent. A message of more results than
// runs awaiting an answer (each gets one at most) is refused before
// anything is allocated for them (empty results, 2 bytes each, took about
// 320 bytes each); a result of more than MaxLogEntries log entries or
// MaxSideEffects side effects (2 bytes each, about 110 decoded), or, from
// an extension that pads its results (entries_padded), of more of them
// together than one per minEntryBytes of its bytes, fails its run, and the
// entries past the bound are not decoded. An extension built with an
// earlier SDK neither pads nor announces it: its small entries pass, the
// bounds on their count stay.
func TestDecodeRunStreamResponse_Bounds(t *testing.T) {
	var empty []byte
	for range 1 << 16 {
		empty = protowire.AppendTag(empty, fResponseResults, protowire.BytesType)
		empty = protowire.AppendVarint(empty, 0)
	}
	unpadded := func(m *pb.RunStreamResponse) []byte { // as proto.Marshal, and an older SDK, encode it
		b, err := proto.Marshal(m)
		require.NoError(t, err)
		return b
	}
	// n empty entries, 2,000 bytes, not padded, in a result of size bytes
	// (its call id, 2, its response's and outcome's tags and lengths, 6,
	// and its exit, 8).
	const n, size = 1000, 2*1000 + 16
	// The fewest bytes an entry takes (hostConn.entryBytes): padded, for
	// an extension that announces it pads; older, for one built with an
	// earlier SDK.
	const padded, older = minEntryBytes, 0
	for _, tc := range []struct {
		name       string
		b          []byte
		awaiting   int
		entryBytes int
		err        string    // the message's error; "": none
		fails      *pb.Error // the result is its run's error
		maxAllocs  float64
	}{
		{"more results than runs awaiting", empty, 1 << 10, padded, "a message of 65536 results, for 1024 runs awaiting an answer", nil, 64},
		{"more results than runs awaiting, older", empty, 1 << 10, older, "a message of 65536 results, for 1024 runs awaiting an answer", nil, 64},
		{"as many results as runs awaiting", empty[:2<<10], 1 << 10, padded, "", nil, 1<<10 + 64},
		{"log entries at the bound", appendRunStreamResponse(nil, emptyEntries(fOutLog, MaxLogEntries)), 1, padded, "", nil, MaxLogEntries + 64},
		{"too many log entries", appendRunStreamResponse(nil, emptyEntries(fOutLog, 100_000)), 1, padded, "", tooManyEntries(), MaxLogEntries + 64},
		{"side effects at the bound", appendRunStreamResponse(nil, emptyEntries(fOutSideEffects, MaxSideEffects)), 1, padded, "", nil, MaxSideEffects + 64},
		{"too many side effects", appendRunStreamResponse(nil, emptyEntries(fOutSideEffects, 100_000)), 1, padded, "", tooManyEntries(), MaxSideEffects + 64},
		{"small entries padded", appendRunStreamResponse(nil, emptyEntries(fOutLog, n)), 1, padded, "", nil, n + 64},
		{"small entries not padded", unpadded(emptyEntries(fOutLog, n)), 1, padded, "", entriesOverBytes(size), size/minEntryBytes + 64},
		{"small side effects not padded", unpadded(emptyEntries(fOutSideEffects, n)), 1, padded, "", entriesOverBytes(size), size/minEntryBytes + 64},
		{"small entries, older", unpadded(emptyEntries(fOutLog, n)), 1, older, "", nil, n + 64},
		{"small side effects, older", unpadded(emptyEntries(fOutSideEffects, n)), 1, older, "", nil, n + 64},
		{"log entries at the bound, older", unpadded(emptyEntries(fOutLog, MaxLogEntries)), 1, older, "", nil, MaxLogEntries + 64},
		{"too many log entries, older", unpadded(emptyEntries(fOutLog, 100_000)), 1, older, "", tooManyEntries(), MaxLogEntries + 64},
		{"too many side effects, older", unpadded(emptyEntries(fOutSideEffects, 100_000)), 1, older, "", tooManyEntries(), MaxSideEffects + 64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var m *pb.RunStreamResponse
			var err error
			allocs := testing.AllocsPerRun(5, func() {
				m = &pb.RunStreamResponse{}
				err = decodeRunStreamResponse(tc.b, m, new(sync.Pool), tc.awaiting, tc.entryBytes, false)
			})
			require.LessOrEqual(t, allocs, tc.maxAllocs)
			if tc.err != "" {
				require.EqualError(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.NotEmpty(t, m.GetResults())
			resp := m.GetResults()[0].GetResponse()
			if tc.fails != nil {
				require.Nil(t, resp.GetOutcome())
				require.Equal(t, tc.fails.String(), resp.GetError().String())
				return
			}
			want := &pb.RunStreamResponse{}
			require.NoError(t, proto.Unmarshal(tc.b, want))
			discardUnknown(want.ProtoReflect()) // the padding
			require.True(t, proto.Equal(want, m))
		})
	}
}

// TestDecodeRunStreamResponse_FrameEntryBudget: from an extension that does
// not pad its results (entries_padded unset), the host decodes at most
// maxFrameEntries log entries and side effects of one message's results
// together; a result past them fails its run alone (entriesOverFrame), its
// entries not decoded, and the results before it and those after it
// without entries pass. Without the budget such results, 2 bytes an
// entry, took 58 times the frame, bounded only by the runs awaiting an
// answer. An extension that pads its results keeps the bound of one entry
// per minEntryBytes of a result, not this one.
func TestDecodeRunStreamResponse_FrameEntryBudget(t *testing.T) {
	type result struct{ logs, effects int }
	frame := func(padded bool, rs ...result) []byte {
		m := &pb.RunStreamResponse{}
		for i, r := range rs {
			out := &pb.Outcome{Exit: "return"}
			for range r.logs {
				out.Log = append(out.Log, &pb.LogEntry{})
			}
			for range r.effects {
				out.SideEffects = append(out.SideEffects, &pb.SideEffect{})
			}
			m.Results = append(m.Results, &pb.RunStreamResult{CallId: uint64(i + 1), Response: &pb.RunResponse{Outcome: out}})
		}
		if padded {
			return appendRunStreamResponse(nil, m)
		}
		b, err := proto.Marshal(m)
		require.NoError(t, err)
		return b
	}
	full := result{MaxLogEntries, 0}
	times := func(n int, r result) []result { return slices.Repeat([]result{r}, n) }
	const padded, older = minEntryBytes, 0
	for _, tc := range []struct {
		name       string
		b          []byte
		entryBytes int
		failed     []int // the results that fail their run, in order
	}{
		{"older, at the budget", frame(false, times(maxFrameEntries/MaxLogEntries, full)...), older, nil},
		{"older, past the budget", frame(false, times(maxFrameEntries/MaxLogEntries+2, full)...), older, []int{10, 11}},
		{"older, a result across the budget", frame(false, append(times(9, full), result{MaxLogEntries, MaxSideEffects}, result{}, result{0, 1})...), older, []int{9, 11}},
		{"older, a few entries", frame(false, times(50, result{100, 10})...), older, nil},
		{"padded, past the budget", frame(true, times(maxFrameEntries/MaxLogEntries+2, full)...), padded, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			awaiting, err := countMessages(tc.b, fResponseResults)
			require.NoError(t, err)
			var m *pb.RunStreamResponse
			allocs := testing.AllocsPerRun(2, func() {
				m = &pb.RunStreamResponse{}
				err = decodeRunStreamResponse(tc.b, m, new(sync.Pool), awaiting, tc.entryBytes, false)
			})
			require.NoError(t, err)
			want := &pb.RunStreamResponse{}
			require.NoError(t, proto.Unmarshal(tc.b, want))
			discardUnknown(want.ProtoReflect()) // the padding
			require.Len(t, m.GetResults(), len(want.GetResults()))
			var failed []int
			decoded := 0
			for i, r := range m.GetResults() {
				if r.GetResponse().GetOutcome() == nil {
					failed = append(failed, i)
					require.Equal(t, entriesOverFrame().String(), r.GetResponse().GetError().String(), "result %d", i)
					continue
				}
				require.True(t, proto.Equal(want.Results[i], r), "result %d", i)
				decoded += len(r.GetResponse().GetOutcome().GetLog()) + len(r.GetResponse().GetOutcome().GetSideEffects())
			}
			require.Equal(t, tc.failed, failed)
			if tc.entryBytes == older {
				// An entry and its pointer's share of the slice's
				// growth, a decoded result and its slices' growth each.
				require.LessOrEqual(t, allocs, float64(maxFrameEntries+len(m.GetResults())*40+64))
			}
			t.Logf("%d entries decoded, %.0f allocations", decoded, allocs)
		})
	}
}

// entriesFrame is a frame of results results of MaxLogEntries empty log
// entries each, as appendRunStreamResponse encodes it (padded) or not.
func entriesFrame(t *testing.T, results int, padded bool) []byte {
	t.Helper()
	m := &pb.RunStreamResponse{}
	for i := range results {
		r := proto.Clone(emptyEntries(fOutLog, MaxLogEntries).Results[0]).(*pb.RunStreamResult)
		r.CallId = uint64(i + 1)
		m.Results = append(m.Results, r)
	}
	var b []byte
	if padded {
		b = appendRunStreamResponse(nil, m)
	} else {
		var err error
		b, err = proto.Marshal(m)
		require.NoError(t, err)
	}
	return append(protowire.AppendFixed32(nil, uint32(len(b))), b...)
}

// TestDecodeRunStreamResponse_EntriesBoundedByBytes: what the host
// allocates to read a frame is a few times the frame's size at most,
// whatever the runs awaiting an answer, which bound its results. Results
// of MaxLogEntries empty log entries each (2 bytes an entry), as many as
// the runs awaiting, took 58 times the frame: 15 GB for a frame of 256 MiB
// with 13,000 runs awaiting. The host now decodes one entry per
// minEntryBytes of a result at most (a result of more fails its run) from
// an extension that announced it pads a result of smaller entries to that
// (entries_padded). From one built with an earlier SDK, which does not,
// such results take 58 times the frame up to maxFrameEntries entries a
// frame (about 11.5 MB), and the results past them fail their runs: a
// frame of 100 such results, 2 MB, took 116 MB, now 14 MB.
func TestDecodeRunStreamResponse_EntriesBoundedByBytes(t *testing.T) {
	for _, tc := range []struct {
		name      string
		results   int
		announced bool // the extension announced entries_padded
		padded    bool
		maxRatio  float64
	}{
		{"announced, not padded", 40, true, false, 8}, // 5.5: the frame read and copied, 2; its entries, 3.5
		{"announced and padded", 4, true, true, 8},
		{"older: neither", 4, false, false, 64},                            // 58, under maxFrameEntries
		{"older: neither, past the frame's budget", 100, false, false, 10}, // 7 (58 without the budget)
	} {
		t.Run(tc.name, func(t *testing.T) {
			frame := entriesFrame(t, tc.results, tc.padded)
			un := new(atomic.Int64)
			un.Store(int64(tc.results))
			h := hostConn{f: &frameConn{r: bufio.NewReader(bytes.NewReader(frame)), limit: maxFrame},
				unanswered: un, results: new(sync.Pool), padded: tc.announced}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			m, err := h.Recv()
			runtime.ReadMemStats(&after)
			require.NoError(t, err)
			require.Len(t, m.GetResults(), tc.results)
			for i, r := range m.GetResults() {
				switch {
				case !tc.announced && i >= maxFrameEntries/MaxLogEntries:
					require.Equal(t, entriesOverFrame().String(), r.GetResponse().GetError().String())
				case tc.padded || !tc.announced:
					require.Len(t, r.GetResponse().GetOutcome().GetLog(), MaxLogEntries)
				default:
					require.Equal(t, string(CodeInternal), r.GetResponse().GetError().GetCode())
				}
			}
			allocated := after.TotalAlloc - before.TotalAlloc
			ratio := float64(allocated) / float64(len(frame))
			t.Logf("a frame of %d bytes: %.1f times its size allocated (%d bytes)", len(frame), ratio, allocated)
			require.Less(t, ratio, tc.maxRatio)
			if !tc.announced {
				// The frame read and copied, about 320 bytes a result, and
				// maxFrameEntries entries of about 115 bytes at most.
				require.Less(t, allocated, uint64(3*len(frame)+400*tc.results+maxFrameEntries*128))
			}
		})
	}
}

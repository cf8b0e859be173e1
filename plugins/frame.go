package plugins

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"unicode/utf8"
	"unsafe"

	"google.golang.org/protobuf/encoding/protowire"

	pb "github.com/hookhost/hookhost/plugins/proto"
)

// The run socket's messages (RunStreamRequest, RunStreamResponse) are
// encoded and decoded here, by hand, in protobuf's wire form: the same
// bytes as proto.Marshal, read as proto.Unmarshal reads them (unknown
// fields skipped, a string that is not valid UTF-8 refused), but without
// the reflection of the generic code, and with fewer allocations: the
// strings and bytes of one run, or of one result, share one copy of its
// bytes. Run socket frames are the only users; gRPC's RunStream keeps the
// generated code. frame_test.go checks both directions against package
// proto.

// Field numbers of the messages in ../proto/extension.proto.
const (
	fRequestRuns   = 1
	fRequestCancel = 2

	fRunCallID        = 1
	fRunRunID         = 2
	fRunAutomation    = 3
	fRunRevision      = 4
	fRunTrigger       = 5
	fRunScript        = 6
	fRunPolicy        = 7
	fRunInputs        = 8
	fRunDeadline      = 9
	fRunCommands      = 10
	fRunSimulate      = 11
	fRunInputsFormat  = 12
	fRunScriptOmitted = 13

	fResponseResults = 1

	fResultCallID   = 1
	fResultResponse = 2
	fResultPanic    = 3
	fResultPadding  = 15 // reserved in the .proto: see minEntryBytes

	fRespOutcome = 1
	fRespError   = 2

	fOutExit         = 1
	fOutReturn       = 2
	fOutLog          = 3
	fOutError        = 4
	fOutLimit        = 5
	fOutSteps        = 6
	fOutSimulated    = 7
	fOutSideEffects  = 8
	fOutReturnFormat = 9

	fErrCode    = 1
	fErrMessage = 2
	fErrAt      = 3

	fLogLevel   = 1
	fLogNode    = 2
	fLogMessage = 3

	fSideCommand    = 1
	fSideNode       = 2
	fSideOnSimulate = 3
	fSideDenied     = 4
)

// minEntryBytes is the fewest bytes a result takes on the run socket for
// each of its log entries and side effects: the extension pads a result of
// smaller ones to it (appendPadding: field 15 of RunStreamResult,
// reserved, which the host skips) and says so in Init
// (InitResponse.entries_padded), and the host then decodes no more of them
// than a result's bytes allow (a result of more fails its run,
// entriesOverBytes). An extension built with an older SDK does not pad and
// does not say so: its results' entries are bounded by MaxLogEntries and
// MaxSideEffects, and those of a message by maxFrameEntries. An entry takes 2 bytes at least (an
// empty message's tag and length), and the host allocates about 110 for it
// (pb.LogEntry or pb.SideEffect and its pointer): without the bound, a
// frame of empty entries takes 58 times its size. With it the entries of a
// frame of n bytes take about 3.5n at most, whatever the number of its
// results (TestDecodeRunStreamResponse_EntriesBoundedByBytes). resultSize,
// which cuts the extension's batches, counts 32 bytes an entry besides its
// text: padding never makes a result larger than it said.
const minEntryBytes = 32

// maxFrameEntries is the most log entries and side effects, of all its
// results together, that the host decodes from one run socket message of an
// extension that does not pad its results (InitResponse.entries_padded
// unset: built with an older SDK, or hostile): minEntryBytes does not bound
// them, and empty entries (2 bytes each, about 115 decoded) took 58 times
// the frame (15 GB for a 256 MiB frame with 13,000 runs awaiting an
// answer). With it, the entries of one such message take about 11.5 MB
// decoded at most, whatever its size. A result past it fails its run
// (entriesOverFrame), its entries not decoded; the results before it, and
// those after it that have no entries, do not. An honest extension's
// message holds fewer: its SDK cuts its batches at about maxStreamedRun
// bytes, counting minEntryBytes an entry (resultSize), some 33,000 entries
// and one result of MaxLogEntries and MaxSideEffects at most; an SDK older
// than that cut sent every ready result in one message, and its runs past
// the bound fail.
const maxFrameEntries = 100_000

// errFrame is a frame that is not a well-formed message.
var errFrame = errors.New("malformed run socket message")

// errUTF8 is proto.Unmarshal's refusal of a string field that is not valid
// UTF-8.
var errUTF8 = errors.New("string field contains invalid UTF-8")

// Appenders: proto3 leaves out a field at its zero value, and so do they.

func appendString(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendBytes(b []byte, num protowire.Number, v []byte) []byte {
	if len(v) == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

func appendVarint(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func appendBool(b []byte, num protowire.Number, v bool) []byte {
	if !v {
		return b
	}
	return appendVarint(b, num, 1)
}

// appendMessage appends field num holding the message that body appends.
// The length goes first, so body writes after room for the longest length
// a message here can have, and the bytes move back when it took less.
func appendMessage(b []byte, num protowire.Number, body func([]byte) []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	const room = 5 // a uvarint up to 2^35: frames are far smaller
	at := len(b)
	b = append(b, make([]byte, room)...)
	b = body(b)
	n := len(b) - at - room
	l := protowire.AppendVarint(make([]byte, 0, room), uint64(n))
	copy(b[at:], l)
	if len(l) < room {
		b = append(b[:at+len(l)], b[at+room:]...)
	}
	return b
}

// appendRunStreamRequest appends m as proto.Marshal does.
func appendRunStreamRequest(b []byte, m *pb.RunStreamRequest) []byte {
	for _, r := range m.GetRuns() {
		b = appendMessage(b, fRequestRuns, func(b []byte) []byte { return appendRunRequest(b, r) })
	}
	if c := m.GetCancel(); len(c) > 0 {
		n := 0
		for _, id := range c {
			n += protowire.SizeVarint(id)
		}
		b = protowire.AppendTag(b, fRequestCancel, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(n))
		for _, id := range c {
			b = protowire.AppendVarint(b, id)
		}
	}
	return b
}

func appendRunRequest(b []byte, r *pb.RunRequest) []byte {
	b = appendVarint(b, fRunCallID, r.GetCallId())
	b = appendString(b, fRunRunID, r.GetRunId())
	b = appendString(b, fRunAutomation, r.GetAutomation())
	b = appendString(b, fRunRevision, r.GetRevision())
	b = appendString(b, fRunTrigger, r.GetTrigger())
	b = appendString(b, fRunScript, r.GetScript())
	b = appendString(b, fRunPolicy, r.GetPolicy())
	b = appendBytes(b, fRunInputs, r.GetInputs())
	b = appendVarint(b, fRunDeadline, uint64(r.GetDeadlineUnixNano()))
	for _, c := range r.GetCommands() {
		b = protowire.AppendTag(b, fRunCommands, protowire.BytesType)
		b = protowire.AppendString(b, c)
	}
	b = appendBool(b, fRunSimulate, r.GetSimulate())
	b = appendString(b, fRunInputsFormat, r.GetInputsFormat())
	return appendBool(b, fRunScriptOmitted, r.GetScriptOmitted())
}

// appendRunStreamResponse appends m as proto.Marshal does, but for the
// padding of a result of small log entries and side effects (appendPadding).
func appendRunStreamResponse(b []byte, m *pb.RunStreamResponse) []byte {
	for _, r := range m.GetResults() {
		b = appendMessage(b, fResponseResults, func(b []byte) []byte {
			at := len(b)
			b = appendVarint(b, fResultCallID, r.GetCallId())
			if resp := r.GetResponse(); resp != nil {
				b = appendMessage(b, fResultResponse, func(b []byte) []byte { return appendRunResponse(b, resp) })
			}
			b = appendString(b, fResultPanic, r.GetPanic())
			o := r.GetResponse().GetOutcome()
			return appendPadding(b, len(b)-at, len(o.GetLog())+len(o.GetSideEffects()))
		})
	}
	return b
}

// appendPadding pads a result of size bytes that holds entries log entries
// and side effects to minEntryBytes bytes an entry, which the host requires
// of it, with field fResultPadding (zeros) when it is smaller.
func appendPadding(b []byte, size, entries int) []byte {
	short := entries*minEntryBytes - size
	if short <= 0 {
		return b
	}
	b = protowire.AppendTag(b, fResultPadding, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(short))
	return append(b, make([]byte, short)...)
}

func appendRunResponse(b []byte, r *pb.RunResponse) []byte {
	if o := r.GetOutcome(); o != nil {
		b = appendMessage(b, fRespOutcome, func(b []byte) []byte { return appendOutcome(b, o) })
	}
	if e := r.GetError(); e != nil {
		b = appendMessage(b, fRespError, func(b []byte) []byte { return appendError(b, e) })
	}
	return b
}

func appendOutcome(b []byte, o *pb.Outcome) []byte {
	b = appendString(b, fOutExit, o.GetExit())
	b = appendBytes(b, fOutReturn, o.GetReturn())
	for _, l := range o.GetLog() {
		b = appendMessage(b, fOutLog, func(b []byte) []byte {
			b = appendVarint(b, fLogLevel, uint64(int64(l.GetLevel())))
			b = appendString(b, fLogNode, l.GetNode())
			return appendString(b, fLogMessage, l.GetMessage())
		})
	}
	if e := o.GetError(); e != nil {
		b = appendMessage(b, fOutError, func(b []byte) []byte { return appendError(b, e) })
	}
	b = appendString(b, fOutLimit, o.GetLimit())
	b = appendVarint(b, fOutSteps, uint64(o.GetSteps()))
	b = appendBool(b, fOutSimulated, o.GetSimulated())
	for _, e := range o.GetSideEffects() {
		b = appendMessage(b, fOutSideEffects, func(b []byte) []byte {
			b = appendString(b, fSideCommand, e.GetCommand())
			b = appendString(b, fSideNode, e.GetNode())
			b = appendBool(b, fSideOnSimulate, e.GetOnSimulate())
			return appendBool(b, fSideDenied, e.GetDenied())
		})
	}
	return appendString(b, fOutReturnFormat, o.GetReturnFormat())
}

func appendError(b []byte, e *pb.Error) []byte {
	b = appendString(b, fErrCode, e.GetCode())
	b = appendString(b, fErrMessage, e.GetMessage())
	return appendString(b, fErrAt, e.GetAt())
}

// fieldReader reads the fields of one message from b, a copy of its bytes
// that nothing changes: its strings and bytes fields point into b (one
// allocation for the message, not one per field).
type fieldReader struct {
	b   []byte
	err error
}

// readerOf returns a fieldReader of a copy of msg.
func readerOf(msg []byte) fieldReader { return fieldReader{b: bytes.Clone(msg)} }

// next reads the next field's number and type; ok is false at the end or
// on an error (then r.err is set).
func (r *fieldReader) next() (num protowire.Number, typ protowire.Type, ok bool) {
	if r.err != nil || len(r.b) == 0 {
		return 0, 0, false
	}
	num, typ, n := protowire.ConsumeTag(r.b)
	if n < 0 || !num.IsValid() {
		r.err = errFrame
		return 0, 0, false
	}
	r.b = r.b[n:]
	return num, typ, true
}

func (r *fieldReader) varint() uint64 {
	v, n := protowire.ConsumeVarint(r.b)
	if n < 0 {
		r.err = errFrame
		return 0
	}
	r.b = r.b[n:]
	return v
}

// raw reads a length-delimited field's content (capacity limited to it,
// so that appending to it cannot overwrite what follows).
func (r *fieldReader) raw() []byte {
	v, n := protowire.ConsumeBytes(r.b)
	if n < 0 {
		r.err = errFrame
		return nil
	}
	r.b = r.b[n:]
	return v[:len(v):len(v)]
}

// str reads a string field, refusing one that is not valid UTF-8. The
// string shares the reader's copy, which nothing writes to.
func (r *fieldReader) str() string {
	v := r.raw()
	if len(v) == 0 {
		return ""
	}
	if !utf8.Valid(v) {
		r.err = errUTF8
		return ""
	}
	return unsafe.String(unsafe.SliceData(v), len(v))
}

// skip skips a field of type typ (an unknown field, or a known one with
// another wire type, which proto.Unmarshal keeps as unknown).
func (r *fieldReader) skip(num protowire.Number, typ protowire.Type) {
	n := protowire.ConsumeFieldValue(num, typ, r.b)
	if n < 0 {
		r.err = errFrame
		return
	}
	r.b = r.b[n:]
}

// sub returns a reader of the message in the next length-delimited field;
// end takes its error back.
func (r *fieldReader) sub() fieldReader { return fieldReader{b: r.raw(), err: r.err} }

func (r *fieldReader) end(sub fieldReader) {
	if r.err == nil {
		r.err = sub.err
	}
}

// eachField calls f with each field of the message b, which may be a
// reused buffer: f copies what it keeps.
func eachField(b []byte, f func(num protowire.Number, typ protowire.Type, v []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 || !num.IsValid() {
			return errFrame
		}
		b = b[n:]
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 {
			return errFrame
		}
		if err := f(num, typ, b[:m]); err != nil {
			return err
		}
		b = b[m:]
	}
	return nil
}

// decodeRunStreamRequest decodes b into m, as proto.Unmarshal would; b
// may be reused afterwards.
func decodeRunStreamRequest(b []byte, m *pb.RunStreamRequest) error {
	return decodeRunStreamRequestOf(b, m, false)
}

// decodeRunStreamRequestShared is decodeRunStreamRequest of a b that m
// keeps: the runs' strings and bytes point into b, which nothing may
// change afterwards, and the runs are allocated together (two allocations
// for the message's runs, not two per run).
func decodeRunStreamRequestShared(b []byte, m *pb.RunStreamRequest) error {
	return decodeRunStreamRequestOf(b, m, true)
}

// countMessages counts the length-delimited fields num of the message b
// (a first pass, to allocate what they decode into at once).
func countMessages(b []byte, num protowire.Number) (int, error) {
	n := 0
	err := eachField(b, func(f protowire.Number, typ protowire.Type, _ []byte) error {
		if f == num && typ == protowire.BytesType {
			n++
		}
		return nil
	})
	return n, err
}

func decodeRunStreamRequestOf(b []byte, m *pb.RunStreamRequest, shared bool) error {
	var slab []pb.RunRequest
	if shared {
		n, _ := countMessages(b, fRequestRuns)
		slab = make([]pb.RunRequest, n)
		m.Runs = slices.Grow(m.Runs, n)
	}
	return eachField(b, func(num protowire.Number, typ protowire.Type, v []byte) error {
		switch {
		case num == fRequestRuns && typ == protowire.BytesType:
			raw, _ := protowire.ConsumeBytes(v)
			var r fieldReader
			var run *pb.RunRequest
			if len(slab) > 0 {
				r, run, slab = fieldReader{b: raw}, &slab[0], slab[1:]
			} else {
				r, run = readerOf(raw), &pb.RunRequest{}
			}
			decodeRunRequest(&r, run)
			if r.err != nil {
				return r.err
			}
			m.Runs = append(m.Runs, run)
		case num == fRequestCancel && typ == protowire.VarintType:
			id, _ := protowire.ConsumeVarint(v)
			m.Cancel = append(m.Cancel, id)
		case num == fRequestCancel && typ == protowire.BytesType:
			packed, _ := protowire.ConsumeBytes(v)
			for len(packed) > 0 {
				id, n := protowire.ConsumeVarint(packed)
				if n < 0 {
					return errFrame
				}
				m.Cancel = append(m.Cancel, id)
				packed = packed[n:]
			}
		}
		return nil
	})
}

func decodeRunRequest(r *fieldReader, m *pb.RunRequest) {
	for {
		num, typ, ok := r.next()
		if !ok {
			return
		}
		if typ == protowire.VarintType {
			switch num {
			case fRunCallID:
				m.CallId = r.varint()
				continue
			case fRunDeadline:
				m.DeadlineUnixNano = int64(r.varint())
				continue
			case fRunSimulate:
				m.Simulate = r.varint() != 0
				continue
			case fRunScriptOmitted:
				m.ScriptOmitted = r.varint() != 0
				continue
			}
		}
		if typ == protowire.BytesType {
			switch num {
			case fRunRunID:
				m.RunId = r.str()
				continue
			case fRunAutomation:
				m.Automation = r.str()
				continue
			case fRunRevision:
				m.Revision = r.str()
				continue
			case fRunTrigger:
				m.Trigger = r.str()
				continue
			case fRunScript:
				m.Script = r.str()
				continue
			case fRunPolicy:
				m.Policy = r.str()
				continue
			case fRunInputs:
				m.Inputs = r.raw()
				continue
			case fRunCommands:
				m.Commands = append(m.Commands, r.str())
				continue
			case fRunInputsFormat:
				m.InputsFormat = r.str()
				continue
			}
		}
		r.skip(num, typ)
	}
}

// decodeRunStreamResponse decodes b into m, as proto.Unmarshal would, but
// refuses a message of more than awaiting results (the runs that wait for
// an answer, one each at most) before it allocates anything for them; a
// result of more than MaxLogEntries log entries or MaxSideEffects side
// effects, or, with entryBytes (minEntryBytes, for an extension that pads
// its results; 0: no such bound), of more of them together than one per
// entryBytes of its bytes, is decoded as the error of its run
// (tooManyEntries, entriesOverBytes), the entries past the bound not
// decoded; without entryBytes, so is a result past the first
// maxFrameEntries entries of the message's results (entriesOverFrame). The
// results
// share one copy of b, which may be reused afterwards, or with owned b
// itself, and one array of decodedResult (three allocations a message, not
// two a result and the list's growth): what one result keeps alive is its
// message, a batch of results of at most about maxStreamedRun bytes that
// are taken together. With pool, each result is a decodedResult of its
// own from pool instead (see releaseResult).
func decodeRunStreamResponse(b []byte, m *pb.RunStreamResponse, pool *sync.Pool, awaiting, entryBytes int, owned bool) error {
	n, err := countMessages(b, fResponseResults)
	if err != nil || n == 0 {
		return err
	}
	if n > awaiting {
		return fmt.Errorf("a message of %d results, for %d runs awaiting an answer", n, awaiting)
	}
	if !owned {
		b = bytes.Clone(b)
	}
	var results []decodedResult
	if pool == nil {
		results = make([]decodedResult, n)
	}
	if cap(m.Results) < n {
		m.Results = make([]*pb.RunStreamResult, 0, n)
	} else {
		m.Results = m.Results[:0] // the slice of a reused message (hostConn.Recv)
	}
	// The entries the message's results may have still: an extension that
	// pads its results is bounded by their bytes instead.
	frameLeft := math.MaxInt
	if entryBytes == 0 {
		frameLeft = maxFrameEntries
	}
	return eachField(b, func(num protowire.Number, typ protowire.Type, v []byte) error {
		if num != fResponseResults || typ != protowire.BytesType {
			return nil
		}
		raw, _ := protowire.ConsumeBytes(v)
		r := fieldReader{b: raw}
		var res *decodedResult
		if pool == nil {
			res = &results[len(m.Results)]
		} else if res, _ = pool.Get().(*decodedResult); res == nil {
			res = new(decodedResult)
		}
		frameLeft = decodeRunStreamResult(&r, res, entryBytes, frameLeft)
		if r.err != nil {
			return r.err
		}
		m.Results = append(m.Results, &res.res)
		return nil
	})
}

// tooManyEntries is the error of a run whose outcome has more than
// MaxLogEntries log entries or MaxSideEffects side effects.
func tooManyEntries() *pb.Error {
	return &pb.Error{Code: string(CodeInternal), Message: fmt.Sprintf(
		"the run's outcome has more than %d log entries or %d side effects", MaxLogEntries, MaxSideEffects)}
}

// entriesOverBytes is the error of a run whose result, of size bytes on the
// run socket, has more log entries and side effects than one per
// minEntryBytes of them, from an extension that said it pads its results.
func entriesOverBytes(size int) *pb.Error {
	return &pb.Error{Code: string(CodeInternal), Message: fmt.Sprintf(
		"the run's result, of %d bytes, has more log entries and side effects than one per %d bytes of it, "+
			"which the extension said it pads its results to (entries_padded)", size, minEntryBytes)}
}

// entriesOverFrame is the error of a run whose result came in a run socket
// message whose results have more log entries and side effects together
// than maxFrameEntries, past them, from an extension that does not pad its
// results.
func entriesOverFrame() *pb.Error {
	return &pb.Error{Code: string(CodeInternal), Message: fmt.Sprintf(
		"the run's result came in a message of more log entries and side effects than the host decodes in one message (%d) "+
			"from an extension that does not pad its results; rebuild the extension with a current SDK, which pads them (entries_padded)",
		maxFrameEntries)}
}

// entriesFault is why the log entries and side effects of a result fail
// its run (0: they do not).
type entriesFault uint8

const (
	faultTooMany   entriesFault = 1 + iota // tooManyEntries
	faultOverBytes                         // entriesOverBytes
	faultOverFrame                         // entriesOverFrame
)

// entryBudget counts the log entries and side effects of one result as it
// is decoded: an entry is decoded only when take allows it.
type entryBudget struct {
	left  int // the entries the result's bytes allow still
	frame int // the entries its message allows still (maxFrameEntries)
	fault entriesFault
}

// take reports whether an entry may be decoded, n of its kind being
// decoded already, most at most; otherwise the result has a fault, and no
// entry is decoded after it.
func (e *entryBudget) take(n, most int) bool {
	var f entriesFault
	switch {
	case e.fault != 0:
		return false
	case n >= most:
		f = faultTooMany
	case e.left <= 0:
		f = faultOverBytes
	case e.frame <= 0:
		f = faultOverFrame
	default:
		e.left--
		e.frame--
		return true
	}
	e.fault, e.left = f, 0
	return false
}

// decodedResult is a decoded result with its response and outcome, which
// nearly every result has, in one allocation. resp comes first: a
// response decoded into one is at the start of its decodedResult
// (releaseResult).
type decodedResult struct {
	resp pb.RunResponse
	res  pb.RunStreamResult
	out  pb.Outcome
}

// releaseResult puts the decodedResult of resp, a response that
// decodeRunStreamResponse decoded with pool, back in pool, for later
// results: its caller is done with it, and nothing else refers to it
// (the strings and bytes in it point into the message's copy, not into
// it).
func releaseResult(pool *sync.Pool, resp *pb.RunResponse) {
	// resp must be decodedResult's first field: the constant below does
	// not compile otherwise (a negative uintptr constant overflows).
	const _ = -unsafe.Offsetof(decodedResult{}.resp)

	d := (*decodedResult)(unsafe.Pointer(resp)) // resp is d.resp, at offset 0
	*d = decodedResult{}
	pool.Put(d)
}

// decodeRunStreamResult decodes a result into d, with one log entry or
// side effect per entryBytes of it at most (0: no such bound), and
// frameLeft at most; it returns the entries its message allows still
// (frameLeft less those it decoded).
func decodeRunStreamResult(r *fieldReader, d *decodedResult, entryBytes, frameLeft int) int {
	m := &d.res
	size := len(r.b)
	entries := entryBudget{left: math.MaxInt, frame: frameLeft}
	if entryBytes > 0 {
		entries.left = size / entryBytes
	}
	for {
		num, typ, ok := r.next()
		if !ok {
			if entries.fault != 0 && r.err == nil {
				// Its run fails, and what was decoded of it goes.
				switch entries.fault {
				case faultOverBytes:
					m.Response.Error = entriesOverBytes(size)
				case faultOverFrame:
					m.Response.Error = entriesOverFrame()
				default:
					m.Response.Error = tooManyEntries()
				}
				m.Response.Outcome, d.out.Log, d.out.SideEffects = nil, nil, nil
			}
			return entries.frame
		}
		switch {
		case num == fResultCallID && typ == protowire.VarintType:
			m.CallId = r.varint()
		case num == fResultResponse && typ == protowire.BytesType:
			if m.Response == nil {
				m.Response = &d.resp
			}
			sub := r.sub()
			decodeRunResponse(&sub, m.Response, &d.out, &entries)
			r.end(sub)
		case num == fResultPanic && typ == protowire.BytesType:
			m.Panic = r.str()
		default:
			r.skip(num, typ)
		}
	}
}

// decodeRunResponse decodes a response into m, and its outcome, if it has
// one, into out, the outcome's entries counted in entries.
func decodeRunResponse(r *fieldReader, m *pb.RunResponse, out *pb.Outcome, entries *entryBudget) {
	for {
		num, typ, ok := r.next()
		if !ok {
			return
		}
		switch {
		case num == fRespOutcome && typ == protowire.BytesType:
			if m.Outcome == nil {
				m.Outcome = out
			}
			sub := r.sub()
			decodeOutcome(&sub, m.Outcome, entries)
			r.end(sub)
		case num == fRespError && typ == protowire.BytesType:
			if m.Error == nil {
				m.Error = &pb.Error{}
			}
			sub := r.sub()
			decodeError(&sub, m.Error)
			r.end(sub)
		default:
			r.skip(num, typ)
		}
	}
}

// decodeOutcome decodes an outcome into m, with the log entries and side
// effects that entries allows (those past them are skipped, and not
// allocated for; entries tells why).
func decodeOutcome(r *fieldReader, m *pb.Outcome, entries *entryBudget) {
	for {
		num, typ, ok := r.next()
		if !ok {
			return
		}
		if typ == protowire.VarintType {
			switch num {
			case fOutSteps:
				m.Steps = int64(r.varint())
				continue
			case fOutSimulated:
				m.Simulated = r.varint() != 0
				continue
			}
		}
		if typ == protowire.BytesType {
			switch num {
			case fOutExit:
				m.Exit = r.str()
				continue
			case fOutReturn:
				m.Return = r.raw()
				continue
			case fOutLog:
				if !entries.take(len(m.Log), MaxLogEntries) {
					break // to the skip below
				}
				l := &pb.LogEntry{}
				sub := r.sub()
				decodeLogEntry(&sub, l)
				r.end(sub)
				m.Log = append(m.Log, l)
				continue
			case fOutError:
				if m.Error == nil {
					m.Error = &pb.Error{}
				}
				sub := r.sub()
				decodeError(&sub, m.Error)
				r.end(sub)
				continue
			case fOutLimit:
				m.Limit = r.str()
				continue
			case fOutSideEffects:
				if !entries.take(len(m.SideEffects), MaxSideEffects) {
					break // to the skip below
				}
				e := &pb.SideEffect{}
				sub := r.sub()
				decodeSideEffect(&sub, e)
				r.end(sub)
				m.SideEffects = append(m.SideEffects, e)
				continue
			case fOutReturnFormat:
				m.ReturnFormat = r.str()
				continue
			}
		}
		r.skip(num, typ)
	}
}

func decodeError(r *fieldReader, m *pb.Error) {
	for {
		num, typ, ok := r.next()
		if !ok {
			return
		}
		switch {
		case num == fErrCode && typ == protowire.BytesType:
			m.Code = r.str()
		case num == fErrMessage && typ == protowire.BytesType:
			m.Message = r.str()
		case num == fErrAt && typ == protowire.BytesType:
			m.At = r.str()
		default:
			r.skip(num, typ)
		}
	}
}

func decodeLogEntry(r *fieldReader, m *pb.LogEntry) {
	for {
		num, typ, ok := r.next()
		if !ok {
			return
		}
		switch {
		case num == fLogLevel && typ == protowire.VarintType:
			m.Level = int32(r.varint())
		case num == fLogNode && typ == protowire.BytesType:
			m.Node = r.str()
		case num == fLogMessage && typ == protowire.BytesType:
			m.Message = r.str()
		default:
			r.skip(num, typ)
		}
	}
}

func decodeSideEffect(r *fieldReader, m *pb.SideEffect) {
	for {
		num, typ, ok := r.next()
		if !ok {
			return
		}
		switch {
		case num == fSideCommand && typ == protowire.BytesType:
			m.Command = r.str()
		case num == fSideNode && typ == protowire.BytesType:
			m.Node = r.str()
		case num == fSideOnSimulate && typ == protowire.VarintType:
			m.OnSimulate = r.varint() != 0
		case num == fSideDenied && typ == protowire.VarintType:
			m.Denied = r.varint() != 0
		default:
			r.skip(num, typ)
		}
	}
}

package plugins

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	pb "github.com/hookhost/hookhost/plugins/proto"
)

// initTimeout bounds the Init call the host makes when it dispenses an
// extension.
const initTimeout = 10 * time.Second

// MaxMessage is the largest message either side of the link to an
// extension takes, over gRPC as on the run socket (maxFrame): a run's
// request, whose inputs may hold the webhook's body several times (a
// job's request_body and webhook_data, JSON-escaped), or its outcome.
// gRPC's default receive cap, 4 MiB, failed every run of a larger body; a
// host bounds its body limit by this (host.MaxBodyLimit).
const MaxMessage = maxFrame

// maxControlAnswer bounds the answers to the host's control calls (Init,
// Describe, Overdue): an honest one takes a few hundred bytes. Under
// MaxMessage, a Describe of empty triggers, commands or formats (2 bytes
// each, about 40 decoded) took 41 times its size, some 10 GB at that cap;
// under this, 41 MB at most. A larger answer fails its call
// (codes.ResourceExhausted).
const maxControlAnswer = 1 << 20

// DialOptions are the gRPC dial options of a host's connection to the
// process of extension, which errors name (plugin.ClientConfig.GRPCDialOptions):
// MaxMessage as its calls' caps, and a codec that refuses an answer to Run
// of more log entries or side effects than an outcome may have before it
// decodes them, and decodes RunStream's messages within the run socket's
// bounds (answerCodec).
func DialOptions(extension string) []grpc.DialOption {
	return []grpc.DialOption{grpc.WithDefaultCallOptions(
		grpc.MaxCallRecvMsgSize(MaxMessage), grpc.MaxCallSendMsgSize(MaxMessage),
		grpc.ForceCodecV2(newAnswerCodec(extension)))}
}

// GRPCPlugin is the go-plugin plugin of hookhost extensions. On the
// extension side Impl is served; on the host side GRPCClient returns a
// *Client. Hosts get it from VersionedPlugins; extension authors use Serve.
type GRPCPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	// Impl is the extension to serve; nil on the host side.
	Impl Extension
	// life ends the process gracefully; set by Serve, nil elsewhere.
	life *lifecycle
}

var _ plugin.GRPCPlugin = (*GRPCPlugin)(nil)

// GRPCServer registers the Extension service for p.Impl.
func (p *GRPCPlugin) GRPCServer(broker *plugin.GRPCBroker, s *grpc.Server) error {
	if p.Impl == nil {
		return fmt.Errorf("plugins: GRPCPlugin has no Impl to serve")
	}
	pb.RegisterExtensionServer(s, newServer(p.Impl, broker, p.life))
	return nil
}

// GRPCClient returns a *Client for conn. It serves the Host service on the
// broker and tells the extension where to find it.
func (p *GRPCPlugin) GRPCClient(ctx context.Context, broker *plugin.GRPCBroker, conn *grpc.ClientConn) (any, error) {
	return newClient(ctx, broker, conn)
}

// Client is the host side of one extension process: an Extension whose calls
// travel over gRPC. It routes the extension's Host callbacks to the Host
// passed to the Run or RunCommand call they belong to. It is safe for
// concurrent use.
type Client struct {
	ext  pb.ExtensionClient
	next atomic.Uint64

	hostsMu sync.Mutex
	hosts   map[uint64]Host // by call id, while the call runs

	// streamed is set when the extension serves RunStream: runs then share
	// one long-lived stream (see runStream) instead of a unary call each.
	streamed bool
	streamMu sync.Mutex // serialises opening a stream
	stream   atomic.Pointer[runStream]
	// socket and token are the extension's run socket (socket.go), ""
	// when it has none.
	socket string
	token  []byte
	// scripts is set when the extension keeps the scripts of a stream's
	// runs (scripts.go).
	scripts bool
	// padded is set when the extension pads its results on the run socket
	// to minEntryBytes an entry (frame.go): only then does the host bound
	// a result's entries by its bytes.
	padded bool
	// formats are the Inputs formats the process listed in its last
	// Describe (Description.Formats).
	formats atomic.Pointer[[]string]

	// requests holds the *pb.RunRequest of streamed runs that were
	// answered, reset, for the next runs (see Run).
	requests sync.Pool
}

var _ Extension = (*Client)(nil)

func newClient(ctx context.Context, broker *plugin.GRPCBroker, conn *grpc.ClientConn) (*Client, error) {
	c := &Client{ext: pb.NewExtensionClient(conn), hosts: map[uint64]Host{}}
	id := broker.NextId()
	go broker.AcceptAndServe(id, func(opts []grpc.ServerOption) *grpc.Server {
		s := grpc.NewServer(append(opts, grpc.MaxRecvMsgSize(MaxMessage), grpc.MaxSendMsgSize(MaxMessage))...)
		pb.RegisterHostServer(s, &hostServer{c: c})
		return s
	})
	ctx, cancel := context.WithTimeout(ctx, initTimeout)
	defer cancel()
	ir, err := c.ext.Init(ctx, &pb.InitRequest{HostBrokerId: id, RunSocket: true}, grpc.MaxCallRecvMsgSize(maxControlAnswer))
	if err != nil {
		return nil, fmt.Errorf("plugins: init extension: %w", err)
	}
	c.streamed = ir.GetRunStream()
	c.socket, c.token = ir.GetRunSocket(), ir.GetRunSocketToken()
	c.scripts = ir.GetRunScripts()
	c.padded = ir.GetEntriesPadded()
	return c, nil
}

// liveStream returns the run stream, opening one when there is none or the
// last one broke.
func (c *Client) liveStream() (*runStream, error) {
	if rs := c.stream.Load(); rs != nil && !rs.broken() {
		return rs, nil
	}
	c.streamMu.Lock()
	defer c.streamMu.Unlock()
	if rs := c.stream.Load(); rs != nil && !rs.broken() {
		return rs, nil
	}
	rs, err := openRunStream(c.ext, c.socket, c.token, c.padded)
	if err != nil {
		return nil, err
	}
	rs.scripts = c.scripts
	c.stream.Store(rs)
	return rs, nil
}

func (c *Client) register(h Host) uint64 {
	id := c.next.Add(1)
	if h != nil {
		c.registerAs(id, h)
	}
	return id
}

// registerAs records h as the Host of call id.
func (c *Client) registerAs(id uint64, h Host) {
	c.hostsMu.Lock()
	c.hosts[id] = h
	c.hostsMu.Unlock()
}

func (c *Client) unregister(id uint64) {
	c.hostsMu.Lock()
	delete(c.hosts, id)
	c.hostsMu.Unlock()
}

// host returns the Host of the call id: a unary call's or a command's
// (c.hosts), or a streamed run's (runStream.hostOf).
func (c *Client) host(id uint64) Host {
	c.hostsMu.Lock()
	h, ok := c.hosts[id]
	c.hostsMu.Unlock()
	if ok {
		return h
	}
	if rs := c.stream.Load(); rs != nil {
		if h, ok := rs.hostOf(id); ok {
			return h
		}
	}
	return NoHost{}
}

// Describe calls the extension's Describe. An answer over 1 MiB
// (maxControlAnswer) fails it, codes.ResourceExhausted.
func (c *Client) Describe(ctx context.Context) (Description, error) {
	r, err := c.ext.Describe(ctx, &pb.DescribeRequest{}, grpc.MaxCallRecvMsgSize(maxControlAnswer))
	if err != nil {
		return Description{}, err
	}
	formats := r.GetFormats()
	c.formats.Store(&formats)
	return Description{
		ID:              r.GetId(),
		Version:         r.GetVersion(),
		Triggers:        r.GetTriggers(),
		Commands:        r.GetCommands(),
		ProtocolVersion: int(r.GetProtocolVersion()),
		Formats:         r.GetFormats(),
	}, nil
}

// Run calls the extension's Run. Transport and process failures come back as
// gRPC status errors (google.golang.org/grpc/status); failures the extension
// reports come back as *Error.
func (c *Client) Run(ctx context.Context, inv Invocation, host Host) (Outcome, error) {
	if inv.InputsReleased != nil {
		// Whether this run released them: a caller may run the same
		// Invocation again (the manager's retry while an extension stops)
		// after an earlier run set it (review rev4).
		*inv.InputsReleased = false
	}
	if inv.Values != nil {
		return Outcome{}, &Error{Code: CodeInputs, Message: "Invocation.Values cannot cross a process boundary; pass Inputs as JSON"}
	}
	if f := inv.InputsFormat; f != "" {
		if fs := c.formats.Load(); fs == nil || !slices.Contains(*fs, f) {
			return Outcome{}, &Error{Code: CodeUnsupported, Message: "the extension does not read inputs in format " + strconv.Quote(f) + "; send JSON"}
		}
	}
	id := c.next.Add(1)
	deadline := inv.Deadline
	if deadline.IsZero() {
		deadline, _ = ctx.Deadline()
	}
	var dl int64
	if !deadline.IsZero() {
		dl = deadline.UnixNano()
	}
	req, _ := c.requests.Get().(*pb.RunRequest)
	if req == nil {
		req = &pb.RunRequest{}
	}
	*req = pb.RunRequest{
		CallId:           id,
		RunId:            inv.RunID,
		Automation:       inv.Automation,
		Revision:         inv.Revision,
		Trigger:          inv.Trigger,
		Script:           inv.Script,
		Policy:           inv.Policy,
		Inputs:           inv.Inputs,
		DeadlineUnixNano: dl,
		Commands:         inv.Commands,
		Simulate:         inv.Simulate,
		InputsFormat:     inv.InputsFormat,
	}
	var r *pb.RunResponse
	var err error
	var results *sync.Pool // r's, when r is to go back to it
	if c.streamed && validRequest(req) {
		// The stream keeps host with the pending run (c.host finds it
		// there).
		var rs *runStream
		settled := false
		if rs, err = c.liveStream(); err == nil {
			r, settled, err = rs.runFor(ctx, req, runSize(req), host)
		}
		if err == nil {
			results = rs.results
		}
		if settled {
			// Answered on the run socket once its message was sent: it
			// was encoded before it was written, and let go of once
			// written (sendLoop), so nothing uses req any more (gRPC may
			// keep a message after Send). A run that failed (its context
			// ended, the stream broke), or whose answer came while its
			// message was being sent, may still be in a message being
			// encoded: its request is not reused.
			*req = pb.RunRequest{} // keeps nothing of this run alive
			c.requests.Put(req)
			if inv.InputsReleased != nil {
				*inv.InputsReleased = true
			}
		}
	} else {
		if host != nil {
			c.registerAs(id, host)
			defer c.unregister(id)
		}
		r, err = c.ext.Run(ctx, req)
	}
	if err != nil {
		return Outcome{}, err
	}
	var out Outcome
	if e := r.GetError(); e != nil {
		err = fromPBError(e)
	} else {
		out = fromPBOutcome(r.GetOutcome())
	}
	if results != nil {
		// Converted: out and err copy what they keep of r (its strings
		// and bytes point into its message's copy, not into r).
		releaseResult(results, r)
	}
	return out, err
}

// RunCommand calls the extension's RunCommand.
func (c *Client) RunCommand(ctx context.Context, call CommandCall, host Host) ([]byte, error) {
	id := c.register(host)
	if host != nil {
		defer c.unregister(id)
	}
	r, err := c.ext.RunCommand(ctx, &pb.RunCommandRequest{
		CallId: id,
		RunId:  call.RunID,
		Name:   call.Name,
		Inputs: call.Inputs,
	})
	if err != nil {
		return nil, err
	}
	if e := r.GetError(); e != nil {
		return nil, fromPBError(e)
	}
	return r.GetOutput(), nil
}

// Overdue reports how many calls the extension is still handling more than
// grace after their deadline (overdue), and past their deadline at all
// (late). A hung extension answers overdue > 0 (or not at all, and ctx
// ends).
func (c *Client) Overdue(ctx context.Context, grace time.Duration) (overdue, late int, err error) {
	r, err := c.ext.Overdue(ctx, &pb.OverdueRequest{GraceNanos: int64(grace)}, grpc.MaxCallRecvMsgSize(maxControlAnswer))
	if err != nil {
		return 0, 0, err
	}
	return int(r.GetOverdue()), int(r.GetLate()), nil
}

// server is the extension side of the Extension service.
type server struct {
	pb.UnimplementedExtensionServer
	impl   Extension
	broker *plugin.GRPCBroker

	host     atomic.Pointer[pb.HostClient]
	initOnce sync.Mutex
	workers  workerPool
	life     *lifecycle // counts calls; refuses them once draining

	inflightMu sync.Mutex
	inflight   map[uint64]time.Time // call id → deadline, of calls that have one

	// maxMessage bounds the messages of the run streams: a run socket's
	// frames, a result (resultQueue). MaxMessage, which tests lower.
	maxMessage int

	socketState // the run socket, once a host asked for it
}

var _ pb.ExtensionServer = (*server)(nil)

func newServer(impl Extension, broker *plugin.GRPCBroker, life *lifecycle) *server {
	if life == nil {
		life = newLifecycle() // never drains: nothing calls shutdown
	}
	return &server{impl: impl, broker: broker, inflight: map[uint64]time.Time{}, life: life, maxMessage: MaxMessage}
}

// errShuttingDown answers a call that arrives while the process drains.
func errShuttingDown() *pb.Error {
	return toPBError(&Error{Code: CodeUnavailable, Message: "the extension process is shutting down"})
}

func (s *server) Init(ctx context.Context, r *pb.InitRequest) (*pb.InitResponse, error) {
	s.initOnce.Lock()
	defer s.initOnce.Unlock()
	resp := &pb.InitResponse{RunStream: true, RunScripts: true, EntriesPadded: true}
	if r.GetRunSocket() {
		if rs := s.openRunSocket(); rs != nil {
			resp.RunSocket, resp.RunSocketToken = rs.path, rs.token
		}
	}
	if s.host.Load() != nil {
		return resp, nil
	}
	conn, err := s.broker.Dial(r.GetHostBrokerId())
	if err != nil {
		return nil, fmt.Errorf("dial host: %w", err)
	}
	hc := pb.NewHostClient(conn)
	s.host.Store(&hc)
	return resp, nil
}

func (s *server) hostFor(id uint64) Host {
	return s.hostInto(id, new(hostClient))
}

// hostInto is hostFor with the hostClient in h, which the caller allocated
// along with others (streamRun, unaryRun).
func (s *server) hostInto(id uint64, h *hostClient) Host {
	hc := s.host.Load()
	if hc == nil {
		return NoHost{}
	}
	*h = hostClient{c: *hc, id: id}
	return h
}

func (s *server) Describe(ctx context.Context, _ *pb.DescribeRequest) (*pb.DescribeResponse, error) {
	d, err := s.impl.Describe(ctx)
	if err != nil {
		return nil, err
	}
	if d.ProtocolVersion == 0 {
		d.ProtocolVersion = ProtocolVersion
	}
	return &pb.DescribeResponse{
		Id:              d.ID,
		Version:         d.Version,
		Triggers:        d.Triggers,
		Commands:        d.Commands,
		ProtocolVersion: int32(d.ProtocolVersion),
		Formats:         d.Formats,
	}, nil
}

// track records the deadline of call id, if ctx has one, for Overdue; it
// reports whether it did, and then the caller must untrack id when the
// call ends. (A returned closure would be an allocation per run.)
func (s *server) track(ctx context.Context, id uint64) bool {
	d, ok := ctx.Deadline()
	if !ok {
		return false
	}
	s.inflightMu.Lock()
	s.inflight[id] = d
	s.inflightMu.Unlock()
	return true
}

func (s *server) untrack(id uint64) {
	s.inflightMu.Lock()
	delete(s.inflight, id)
	s.inflightMu.Unlock()
}

// Run runs one unary Run call.
func (s *server) Run(ctx context.Context, r *pb.RunRequest) (*pb.RunResponse, error) {
	if !s.life.begin() {
		return &pb.RunResponse{Error: errShuttingDown()}, nil
	}
	defer s.life.end(1)
	u := new(unaryRun)
	return s.run(ctx, r, &u.reply, &u.host), nil
}

// runReply holds what a run's reply is made of, so that they take one
// allocation rather than one each: the result a run stream sends, its
// response and outcome. Nothing of it goes to the Extension: a run
// stream on the run socket reuses it once it was sent (resultQueue).
type runReply struct {
	res  pb.RunStreamResult
	resp pb.RunResponse
	out  pb.Outcome
}

// unaryRun is a unary Run's reply and Host, in one allocation.
type unaryRun struct {
	reply runReply
	host  hostClient
}

// run runs r, unary or streamed, with host as the run's Host; failures
// are reported in-band. The response is reply.resp, or one of its own.
func (s *server) run(ctx context.Context, r *pb.RunRequest, reply *runReply, host *hostClient) *pb.RunResponse {
	if s.track(ctx, r.GetCallId()) {
		defer s.untrack(r.GetCallId())
	}
	inv := Invocation{
		RunID:      r.GetRunId(),
		Automation: r.GetAutomation(),
		Revision:   r.GetRevision(),
		Trigger:    r.GetTrigger(),
		Script:     r.GetScript(),
		Policy:     r.GetPolicy(),
		Inputs:     r.GetInputs(),
		Commands:   r.GetCommands(),
		Simulate:   r.GetSimulate(),

		InputsFormat: r.GetInputsFormat(),
	}
	if dl := r.GetDeadlineUnixNano(); dl != 0 {
		inv.Deadline = time.Unix(0, dl)
	}
	out, err := s.impl.Run(ctx, inv, s.hostInto(r.GetCallId(), host))
	if err != nil {
		reply.resp.Error = toPBError(AsError(err, CodeInternal))
		return &reply.resp
	}
	if len(out.Log) > MaxLogEntries || len(out.SideEffects) > MaxSideEffects {
		// What the host would make of it on the run socket.
		reply.resp.Error = tooManyEntries()
		return &reply.resp
	}
	fillPBOutcome(&reply.out, out)
	reply.resp.Outcome = &reply.out
	return &reply.resp
}

func (s *server) RunCommand(ctx context.Context, r *pb.RunCommandRequest) (*pb.RunCommandResponse, error) {
	if !s.life.begin() {
		return &pb.RunCommandResponse{Error: errShuttingDown()}, nil
	}
	defer s.life.end(1)
	if s.track(ctx, r.GetCallId()) {
		defer s.untrack(r.GetCallId())
	}
	out, err := s.impl.RunCommand(ctx, CommandCall{
		RunID:  r.GetRunId(),
		Name:   r.GetName(),
		Inputs: r.GetInputs(),
	}, s.hostFor(r.GetCallId()))
	if err != nil {
		return &pb.RunCommandResponse{Error: toPBError(AsError(err, CodeInternal))}, nil
	}
	return &pb.RunCommandResponse{Output: out}, nil
}

func (s *server) Overdue(_ context.Context, r *pb.OverdueRequest) (*pb.OverdueResponse, error) {
	now := time.Now()
	limit := now.Add(-time.Duration(r.GetGraceNanos()))
	var overdue, late int32
	s.inflightMu.Lock()
	for _, d := range s.inflight {
		if d.Before(now) {
			late++
		}
		if d.Before(limit) {
			overdue++
		}
	}
	s.inflightMu.Unlock()
	return &pb.OverdueResponse{Overdue: overdue, Late: late}, nil
}

// hostClient is the extension side of the Host of one call.
type hostClient struct {
	c  pb.HostClient
	id uint64
}

var _ Host = (*hostClient)(nil)

func (h *hostClient) Log(ctx context.Context, e LogEntry) error {
	r, err := h.c.Log(ctx, &pb.LogRequest{CallId: h.id, Entry: &pb.LogEntry{
		Level: int32(e.Level), Node: e.Node, Message: e.Message,
	}})
	if err != nil {
		return err
	}
	return errOrNil(r.GetError())
}

func (h *hostClient) StorageGet(ctx context.Context, key string) ([]byte, bool, error) {
	r, err := h.c.StorageGet(ctx, &pb.StorageGetRequest{CallId: h.id, Key: key})
	if err != nil {
		return nil, false, err
	}
	if e := r.GetError(); e != nil {
		return nil, false, fromPBError(e)
	}
	return r.GetValue(), r.GetFound(), nil
}

func (h *hostClient) StorageSet(ctx context.Context, key string, value []byte, expires time.Time) error {
	var exp int64
	if !expires.IsZero() {
		exp = expires.UnixNano()
	}
	r, err := h.c.StorageSet(ctx, &pb.StorageSetRequest{CallId: h.id, Key: key, Value: value, ExpiresUnixNano: exp})
	if err != nil {
		return err
	}
	return errOrNil(r.GetError())
}

func (h *hostClient) StorageDelete(ctx context.Context, key string) (bool, error) {
	r, err := h.c.StorageDelete(ctx, &pb.StorageDeleteRequest{CallId: h.id, Key: key})
	if err != nil {
		return false, err
	}
	if e := r.GetError(); e != nil {
		return false, fromPBError(e)
	}
	return r.GetFound(), nil
}

func (h *hostClient) RunFunction(ctx context.Context, name string, inputs []byte) (Outcome, error) {
	r, err := h.c.RunFunction(ctx, &pb.RunFunctionRequest{CallId: h.id, Name: name, Inputs: inputs})
	if err != nil {
		return Outcome{}, err
	}
	if e := r.GetError(); e != nil {
		return Outcome{}, fromPBError(e)
	}
	return fromPBOutcome(r.GetOutcome()), nil
}

func (h *hostClient) Secret(ctx context.Context, name string) (string, bool, error) {
	r, err := h.c.Secret(ctx, &pb.SecretRequest{CallId: h.id, Name: name})
	if err != nil {
		return "", false, err
	}
	if e := r.GetError(); e != nil {
		return "", false, fromPBError(e)
	}
	return r.GetValue(), r.GetFound(), nil
}

func (h *hostClient) RunCommand(ctx context.Context, name string, inputs []byte) ([]byte, error) {
	r, err := h.c.RunCommand(ctx, &pb.HostRunCommandRequest{CallId: h.id, Name: name, Inputs: inputs})
	if err != nil {
		return nil, err
	}
	if e := r.GetError(); e != nil {
		return nil, fromPBError(e)
	}
	return r.GetOutput(), nil
}

// hostServer is the host side of the Host service of one process.
type hostServer struct {
	pb.UnimplementedHostServer
	c *Client
}

var _ pb.HostServer = (*hostServer)(nil)

func (s *hostServer) host(id uint64) Host {
	return s.c.host(id)
}

func hostErr(err error) *pb.Error { return toPBError(AsError(err, CodeHost)) }

func (s *hostServer) Log(ctx context.Context, r *pb.LogRequest) (*pb.LogResponse, error) {
	e := r.GetEntry()
	err := s.host(r.GetCallId()).Log(ctx, LogEntry{Level: int(e.GetLevel()), Node: e.GetNode(), Message: e.GetMessage()})
	return &pb.LogResponse{Error: hostErr(err)}, nil
}

func (s *hostServer) StorageGet(ctx context.Context, r *pb.StorageGetRequest) (*pb.StorageGetResponse, error) {
	v, found, err := s.host(r.GetCallId()).StorageGet(ctx, r.GetKey())
	return &pb.StorageGetResponse{Value: v, Found: found, Error: hostErr(err)}, nil
}

func (s *hostServer) StorageSet(ctx context.Context, r *pb.StorageSetRequest) (*pb.StorageSetResponse, error) {
	var exp time.Time
	if n := r.GetExpiresUnixNano(); n != 0 {
		exp = time.Unix(0, n)
	}
	err := s.host(r.GetCallId()).StorageSet(ctx, r.GetKey(), r.GetValue(), exp)
	return &pb.StorageSetResponse{Error: hostErr(err)}, nil
}

func (s *hostServer) StorageDelete(ctx context.Context, r *pb.StorageDeleteRequest) (*pb.StorageDeleteResponse, error) {
	found, err := s.host(r.GetCallId()).StorageDelete(ctx, r.GetKey())
	return &pb.StorageDeleteResponse{Found: found, Error: hostErr(err)}, nil
}

func (s *hostServer) RunFunction(ctx context.Context, r *pb.RunFunctionRequest) (*pb.RunFunctionResponse, error) {
	out, err := s.host(r.GetCallId()).RunFunction(ctx, r.GetName(), r.GetInputs())
	if err != nil {
		return &pb.RunFunctionResponse{Error: hostErr(err)}, nil
	}
	return &pb.RunFunctionResponse{Outcome: toPBOutcome(out)}, nil
}

func (s *hostServer) Secret(ctx context.Context, r *pb.SecretRequest) (*pb.SecretResponse, error) {
	v, found, err := s.host(r.GetCallId()).Secret(ctx, r.GetName())
	return &pb.SecretResponse{Value: v, Found: found, Error: hostErr(err)}, nil
}

func (s *hostServer) RunCommand(ctx context.Context, r *pb.HostRunCommandRequest) (*pb.RunCommandResponse, error) {
	out, err := s.host(r.GetCallId()).RunCommand(ctx, r.GetName(), r.GetInputs())
	return &pb.RunCommandResponse{Output: out, Error: hostErr(err)}, nil
}

func toPBError(e *Error) *pb.Error {
	if e == nil {
		return nil
	}
	return &pb.Error{Code: string(e.Code), Message: e.Message, At: e.At}
}

func fromPBError(e *pb.Error) *Error {
	if e == nil {
		return nil
	}
	return &Error{Code: Code(e.GetCode()), Message: e.GetMessage(), At: e.GetAt()}
}

func errOrNil(e *pb.Error) error {
	if e == nil {
		return nil
	}
	return fromPBError(e)
}

func toPBOutcome(o Outcome) *pb.Outcome {
	p := new(pb.Outcome)
	fillPBOutcome(p, o)
	return p
}

// fillPBOutcome sets the fields of p, a new message, from o.
func fillPBOutcome(p *pb.Outcome, o Outcome) {
	p.Exit = string(o.Exit)
	p.Return = o.Return
	p.Error = toPBError(o.Error)
	p.Limit = o.Limit
	p.Steps = int64(o.Steps)
	p.Simulated = o.Simulated
	p.ReturnFormat = o.ReturnFormat
	if len(o.Log) > 0 {
		p.Log = make([]*pb.LogEntry, len(o.Log))
		for i, e := range o.Log {
			p.Log[i] = &pb.LogEntry{Level: int32(e.Level), Node: e.Node, Message: e.Message}
		}
	}
	if len(o.SideEffects) > 0 {
		p.SideEffects = make([]*pb.SideEffect, len(o.SideEffects))
		for i, e := range o.SideEffects {
			p.SideEffects[i] = &pb.SideEffect{Command: e.Command, Node: e.Node, OnSimulate: e.OnSimulate, Denied: e.Denied}
		}
	}
}

func fromPBOutcome(p *pb.Outcome) Outcome {
	o := Outcome{
		Exit:   Exit(p.GetExit()),
		Return: p.GetReturn(),
		Error:  fromPBError(p.GetError()),
		Limit:  p.GetLimit(),
		Steps:  int(p.GetSteps()),

		Simulated:    p.GetSimulated(),
		ReturnFormat: p.GetReturnFormat(),
	}
	if l := p.GetLog(); len(l) > 0 {
		o.Log = make([]LogEntry, len(l))
		for i, e := range l {
			o.Log[i] = LogEntry{Level: int(e.GetLevel()), Node: e.GetNode(), Message: e.GetMessage()}
		}
	}
	if l := p.GetSideEffects(); len(l) > 0 {
		o.SideEffects = make([]SideEffect, len(l))
		for i, e := range l {
			o.SideEffects[i] = SideEffect{Command: e.GetCommand(), Node: e.GetNode(), OnSimulate: e.GetOnSimulate(), Denied: e.GetDenied()}
		}
	}
	return o
}

// Package webhook is the built-in extension that runs automations of the
// webhook.respond trigger (cerb.trigger.webhook.respond) with the engine of
// package automations.
//
// The hookhost binary serves it as the hidden command `hookhost ext serve
// webhook`, whose whole body is:
//
//	plugins.Serve(webhook.New())
//
// Compiled programs are cached by (automation, revision), so a script is
// parsed once, not per request. The automation's storage, function and
// extension command calls go back to the host through plugins.Host.
package webhook

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/hookhost/hookhost/automations"
	"github.com/hookhost/hookhost/automations/ssrf"
	"github.com/hookhost/hookhost/plugins"
	"github.com/hookhost/hookhost/templates"
	"github.com/hookhost/hookhost/templates/dict"
)

// Version is the version Describe reports.
const Version = "1.0.0"

// maxCached bounds the program cache; when full it is emptied.
const maxCached = 4096

// The side effects the engine lists fit an outcome that crosses the process
// boundary (this does not compile otherwise).
const _ = uint(plugins.MaxSideEffects - automations.MaxSideEffects)

// Extension runs webhook.respond automations. Create it with New.
type Extension struct {
	env *templates.Env
	// http serves the http.request of every automation. It is safe to
	// share: its guard keeps one connection pool per policy allow-list
	// (http_allow_networks), so no automation reaches another's networks
	// over a kept-alive connection or a redirect.
	http *http.Client

	mu    sync.RWMutex
	cache map[cacheKey]*automations.Program

	// returns holds Return buffers handed back (ReuseReturn), for the
	// wire form of later runs' return dictionaries.
	returns buffers
}

var _ plugins.ReturnReuser = (*Extension)(nil)

// ReuseReturn implements plugins.ReturnReuser.
func (x *Extension) ReuseReturn(b []byte) { x.returns.put(b) }

// buffers is a bounded stack of byte buffers for reuse.
type buffers struct {
	mu   sync.Mutex
	free [][]byte
}

// Bounds of buffers: the most it keeps, and the largest buffer kept.
const (
	maxBuffers    = 64
	maxBufferSize = 16 << 10
)

// get returns an empty buffer with room for n bytes.
func (f *buffers) get(n int) []byte {
	f.mu.Lock()
	if k := len(f.free); k > 0 {
		b := f.free[k-1]
		f.free[k-1] = nil
		f.free = f.free[:k-1]
		f.mu.Unlock()
		if cap(b) >= n {
			return b[:0]
		}
		return make([]byte, 0, n)
	}
	f.mu.Unlock()
	return make([]byte, 0, n)
}

// put keeps b for a later get, unless there are enough of them or b is
// large.
func (f *buffers) put(b []byte) {
	if cap(b) > maxBufferSize {
		return
	}
	f.mu.Lock()
	if len(f.free) < maxBuffers {
		f.free = append(f.free, b)
	}
	f.mu.Unlock()
}

var _ plugins.Extension = (*Extension)(nil)

type cacheKey struct {
	automation, revision, commands string
}

// Options configure the extension.
type Options struct {
	// AllowPrivateRequests lets http.request reach loopback, private,
	// link-local and shared addresses, which are refused by default
	// (cloud metadata addresses stay refused).
	AllowPrivateRequests bool
}

// EnvAllowPrivateRequests is the environment variable through which the
// server passes Options.AllowPrivateRequests to the extension process.
const EnvAllowPrivateRequests = "HOOKHOST_ALLOW_PRIVATE_REQUESTS"

// New returns the webhook extension with default options.
func New() plugins.Extension { return newExtension(Options{}) }

// NewWithOptions returns the webhook extension configured by opts.
func NewWithOptions(opts Options) plugins.Extension { return newExtension(opts) }

func newExtension(opts Options) *Extension {
	return &Extension{
		env:   templates.New(),
		http:  ssrf.NewClient(ssrf.Options{AllowPrivate: opts.AllowPrivateRequests, Timeout: 60 * time.Second}),
		cache: map[cacheKey]*automations.Program{},
	}
}

// Describe reports the triggers of automations.KnownTriggers
// (webhook.respond and automation.function), by their canonical ids.
func (x *Extension) Describe(context.Context) (plugins.Description, error) {
	known := automations.KnownTriggers()
	triggers := make([]string, len(known))
	for i, t := range known {
		triggers[i] = t.ID
	}
	return plugins.Description{
		ID:              "webhook",
		Version:         Version,
		Triggers:        triggers,
		ProtocolVersion: plugins.ProtocolVersion,
		Formats:         []string{dict.WireVersion},
	}, nil
}

// Run compiles (or takes from the cache) and runs the automation; with
// inv.Simulate, as a dry run (automations.Runtime.Simulate) with no way to
// reach the host, and the outcome says so (Simulated). Inputs
// are the webhook.respond dictionary (automations.WebhookInputs) as JSON,
// or in the wire form of package dict (InputsFormat dict.WireVersion; the
// return dictionary then goes back in it too), or, from an in-process
// host, as a *dict.Map in inv.Values; the outcome then carries the return
// dictionary in Value. Every way the run sees the same values: the wire
// form carries what JSON does (dict.AppendWire), and Values that JSON
// would change (see wireSafe) go through JSON first.
func (x *Extension) Run(ctx context.Context, inv plugins.Invocation, host plugins.Host) (plugins.Outcome, error) {
	if _, ok := automations.Trigger(inv.Trigger); !ok {
		return plugins.Outcome{}, &plugins.Error{Code: plugins.CodeNotFound, Message: "webhook extension does not run trigger " + inv.Trigger}
	}
	inputs, owned, err := x.inputs(inv)
	if err != nil {
		return plugins.Outcome{}, &plugins.Error{Code: plugins.CodeInputs, Message: "inputs: " + err.Error()}
	}
	if err := ctx.Err(); err != nil {
		return plugins.Outcome{}, err
	}
	prog, err := x.program(inv)
	if err != nil {
		return plugins.Outcome{}, err
	}
	rt := automations.Runtime{HTTPClient: x.http}
	switch {
	case inv.Simulate:
		// A dry run: nothing outside the interpreter is reachable, so no
		// side effect can happen even if a command were not simulated.
		rt = automations.Runtime{Simulate: true}
	case host != nil:
		// One allocation for the three: a bridge value would be copied
		// to the heap once per interface it is stored in.
		b := &bridge{host}
		rt.Storage, rt.Functions, rt.Commands = b, b, b
	}
	var res *automations.Result
	if owned {
		// Decoded for this run alone: the run takes the dictionary
		// rather than copy it.
		res = prog.RunOwned(ctx, inputs, rt)
	} else {
		res = prog.Run(ctx, inputs, rt)
	}
	out, err := x.outcome(res, inv.Values != nil, inv.Values == nil && inv.InputsFormat == dict.WireVersion)
	out.Simulated = inv.Simulate && err == nil
	return out, err
}

// inputs returns the inputs of inv: Values as they are when JSON would not
// change them, else Inputs (or Values) through JSON. owned reports a
// dictionary decoded here, which nothing else holds.
func (x *Extension) inputs(inv plugins.Invocation) (m *dict.Map, owned bool, err error) {
	if inv.Values == nil {
		switch inv.InputsFormat {
		case "":
			m, err = decodeObject(inv.Inputs)
		case dict.WireVersion:
			m, err = decodeWireObject(inv.Inputs)
		default:
			err = fmt.Errorf("unknown inputs format %q", inv.InputsFormat)
		}
		return m, err == nil, err
	}
	m, ok := inv.Values.(*dict.Map)
	if !ok {
		return nil, false, fmt.Errorf("Values is %T, not *dict.Map", inv.Values)
	}
	if wireSafe(m, false) {
		return m, false, nil
	}
	b, err := encode(m)
	if err != nil {
		return nil, false, err
	}
	m, err = decodeObject(b)
	return m, err == nil, err
}

// RunCommand fails: the extension provides no command.
func (x *Extension) RunCommand(_ context.Context, call plugins.CommandCall, _ plugins.Host) ([]byte, error) {
	return nil, &plugins.Error{Code: plugins.CodeNotFound, Message: "webhook extension provides no command " + call.Name}
}

// program returns the compiled program of inv from the cache, compiling it
// on a miss.
func (x *Extension) program(inv plugins.Invocation) (*automations.Program, error) {
	key := cacheKey{automation: inv.Automation, revision: inv.Revision, commands: strings.Join(inv.Commands, ",")}
	if key.revision == "" {
		h := sha256.New()
		h.Write([]byte(inv.Script))
		h.Write([]byte{0})
		h.Write([]byte(inv.Policy))
		key.revision = "sha256:" + hex.EncodeToString(h.Sum(nil))
	}
	x.mu.RLock()
	p, ok := x.cache[key]
	x.mu.RUnlock()
	if ok {
		return p, nil
	}
	// What the cache keeps is copied: the invocation's strings may share
	// the memory of the whole message they came in (plugins' run socket).
	key.automation, key.revision = strings.Clone(key.automation), strings.Clone(key.revision)
	commands := make([]string, len(inv.Commands))
	for i, c := range inv.Commands {
		commands[i] = strings.Clone(c)
	}
	p, err := automations.Compile(automations.Source{
		Name:    key.automation,
		Trigger: strings.Clone(inv.Trigger),
		Script:  strings.Clone(inv.Script),
		Policy:  strings.Clone(inv.Policy),
	}, automations.Options{Templates: x.env, Commands: commands})
	if err != nil {
		return nil, &plugins.Error{Code: plugins.CodeCompile, Message: err.Error()}
	}
	x.mu.Lock()
	if len(x.cache) >= maxCached {
		clear(x.cache)
	}
	x.cache[key] = p
	x.mu.Unlock()
	return p, nil
}

// cached reports how many programs are cached (for tests).
func (x *Extension) cached() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.cache)
}

func decodeObject(b []byte) (*dict.Map, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return dict.New(0), nil
	}
	v, err := dict.DecodeJSON(b)
	if err != nil {
		return nil, err
	}
	m, ok := v.(*dict.Map)
	if !ok {
		return nil, errors.New("not a JSON object but " + dict.TypeName(v))
	}
	return m, nil
}

// decodeWireObject decodes a dictionary in the wire form of package dict.
// Its strings share b, Invocation.Inputs, which no one writes to (it
// shares the memory of the message it came in anyway).
func decodeWireObject(b []byte) (*dict.Map, error) {
	v, err := dict.DecodeWireShared(b)
	if err != nil {
		return nil, err
	}
	m, ok := v.(*dict.Map)
	if !ok {
		return nil, errors.New("not a dictionary but " + dict.TypeName(v))
	}
	return m, nil
}

func encode(v any) ([]byte, error) {
	return dict.AppendJSON(make([]byte, 0, 1024), v, ""), nil
}

// outcome converts an engine result into the wire form; with values, the
// return dictionary goes in Value when JSON would not change it; with
// wire, in the wire form of package dict, its top-level body as it is
// (unless it has a "body@base64" key, which the host decodes from JSON).
func (x *Extension) outcome(res *automations.Result, values, wire bool) (plugins.Outcome, error) {
	out := plugins.Outcome{Exit: plugins.Exit(res.Exit), Limit: res.Limit, Steps: res.Steps}
	switch {
	case res.Return == nil:
	case values && wireSafe(res.Return, true):
		out.Value = res.Return
	case wire && !res.Return.Has("body@base64"):
		out.Return = dict.AppendWire(x.returns.get(dict.WireSize(res.Return)), res.Return, true)
		out.ReturnFormat = dict.WireVersion
	default:
		b, err := encode(binarySafe(res.Return))
		if err != nil {
			return plugins.Outcome{}, &plugins.Error{Code: plugins.CodeInternal, Message: "encode return: " + err.Error()}
		}
		out.Return = b
	}
	if res.Exit == automations.ExitError {
		code := plugins.CodeScript
		if res.Limit != "" {
			code = plugins.CodeLimit
		}
		out.Error = &plugins.Error{Code: code, Message: res.Error, At: res.ErrorAt}
	}
	if len(res.Log) > 0 {
		out.Log = make([]plugins.LogEntry, len(res.Log))
		for i, l := range res.Log {
			out.Log[i] = plugins.LogEntry{Level: l.Level, Node: l.Node, Message: l.Message}
		}
	}
	if len(res.SideEffects) > 0 {
		out.SideEffects = make([]plugins.SideEffect, len(res.SideEffects))
		for i, e := range res.SideEffects {
			out.SideEffects[i] = plugins.SideEffect(e)
		}
	}
	return out, nil
}

// binarySafe returns ret, or a copy whose top-level body (binary bytes from
// body@base64:, not valid UTF-8) travels as base64 under "body@base64",
// since JSON strings cannot carry arbitrary bytes. The host decodes it back
// (see plugins.Outcome.Return).
func binarySafe(ret *dict.Map) *dict.Map {
	b, ok := ret.Value("body").(string)
	if !ok || utf8.ValidString(b) {
		return ret
	}
	out := dict.New(ret.Len())
	ret.Range(func(k string, v any) bool {
		if k == "body" {
			out.Set("body@base64", base64.StdEncoding.EncodeToString([]byte(b)))
		} else {
			out.Set(k, v)
		}
		return true
	})
	return out
}

// wireSafe reports whether m is unchanged by a trip through JSON (encode,
// then decode): every string and key valid UTF-8, numbers int64 or
// float64 that stay float64 (not integral, not NaN or infinite), no nil
// containers and no other Go types. With ret, m is a return dictionary:
// its top-level "body" string may hold any bytes (binarySafe carries it
// across), and a top-level "body@base64" key (which the host decodes) makes
// it unsafe.
func wireSafe(m *dict.Map, ret bool) bool {
	if m == nil {
		return false
	}
	safe := true
	m.Range(func(k string, v any) bool {
		if ret {
			if k == "body@base64" {
				safe = false
				return false
			}
			if _, ok := v.(string); ok && k == "body" {
				return true
			}
		}
		safe = utf8.ValidString(k) && wireSafeValue(v)
		return safe
	})
	return safe
}

func wireSafeValue(v any) bool {
	switch t := v.(type) {
	case nil, bool, int64:
		return true
	case string:
		return utf8.ValidString(t)
	case float64:
		return !math.IsNaN(t) && !math.IsInf(t, 0) && !(t == math.Trunc(t) && math.Abs(t) < 1e15)
	case *dict.Map:
		return wireSafe(t, false)
	case []any:
		if t == nil {
			return false
		}
		for _, e := range t {
			if !wireSafeValue(e) {
				return false
			}
		}
		return true
	}
	return false
}

// bridge is the automations.Runtime side of a plugins.Host.
type bridge struct{ h plugins.Host }

var (
	_ automations.Storage        = (*bridge)(nil)
	_ automations.FunctionRunner = (*bridge)(nil)
	_ automations.CommandRunner  = (*bridge)(nil)
)

func (b bridge) Get(ctx context.Context, key string) (any, bool, error) {
	raw, found, err := b.h.StorageGet(ctx, key)
	if err != nil || !found {
		return nil, found, err
	}
	v, err := dict.DecodeJSON(raw)
	if err != nil {
		return nil, false, err
	}
	return v, true, nil
}

func (b bridge) Set(ctx context.Context, key string, value any, expires time.Time) error {
	raw, err := encode(value)
	if err != nil {
		return err
	}
	return b.h.StorageSet(ctx, key, raw, expires)
}

func (b bridge) Delete(ctx context.Context, key string) (bool, error) {
	return b.h.StorageDelete(ctx, key)
}

func (b bridge) RunFunction(ctx context.Context, name string, inputs *dict.Map) (*automations.Result, error) {
	in, err := encode(inputs)
	if err != nil {
		return nil, err
	}
	out, err := b.h.RunFunction(ctx, name, in)
	if err != nil {
		return nil, err
	}
	res := &automations.Result{Exit: automations.Exit(out.Exit), Limit: out.Limit, Steps: out.Steps}
	if len(out.Return) > 0 {
		if res.Return, err = decodeObject(out.Return); err != nil {
			return nil, err
		}
	}
	if out.Error != nil {
		res.Error, res.ErrorAt = out.Error.Message, out.Error.At
	}
	return res, nil
}

func (b bridge) RunCommand(ctx context.Context, name string, inputs *dict.Map) (any, error) {
	in, err := encode(inputs)
	if err != nil {
		return nil, err
	}
	out, err := b.h.RunCommand(ctx, name, in)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, nil
	}
	return dict.DecodeJSON(out)
}

package automations

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/hookhost/hookhost/automations/kata"
	"github.com/hookhost/hookhost/templates"
	"github.com/hookhost/hookhost/templates/dict"
)

// Event is a compiled event KATA: the ordered handlers of a webhook
// (spec §4). It is immutable and safe for concurrent use.
type Event struct {
	handlers []*eventHandler
	// Verify holds the top-level verify/* blocks as parsed; checking them
	// (signatures, IP allow-lists, authentication) is the host's job.
	Verify []*kata.Node
	// Subscribe holds the top-level subscribe/* blocks as parsed: the
	// host subscribes the webhook's URL upstream with them.
	Subscribe []*kata.Node
	// Limits is the top-level limits: block, nil when absent.
	Limits *EventLimits
	// History is the top-level history: block, nil when absent (every
	// request is recorded).
	History *EventHistory
}

// EventHistory is an event KATA's top-level history: block: which of the
// webhook's requests the host keeps in the run history.
type EventHistory struct {
	// Record is "all" (the default), "errors" (failed runs and refused
	// requests only) or "none".
	Record string
	// Sample, above 1, keeps each successful run with probability 1/Sample
	// when Record is "all"; failed runs and refused requests are always
	// kept.
	Sample int
}

// History record modes (EventHistory.Record).
const (
	HistoryAll    = "all"
	HistoryErrors = "errors"
	HistoryNone   = "none"
)

// EventLimits are the per-webhook request limits of an event KATA's
// top-level limits: block. Zero fields do not limit.
type EventLimits struct {
	Rate        float64 // requests per second (token bucket refill)
	Burst       int     // bucket size; default max(1, ceil(Rate))
	Concurrency int     // runs in progress at once
	BodyBytes   int64   // largest request body
}

type eventHandler struct {
	key        string
	pos        kata.Pos
	automation string
	rules      []rule // allow means enabled
	inputs     *value
	job        *JobOptions
	idemKey    *value // job:idempotency_key:, rendered per request
}

// Bounds of job: options.
const (
	maxJobWaitMS      = 120_000
	maxJobAttempts    = 100
	maxJobTimeoutMS   = 3 * 3600 * 1000 // jobs.MaxTimeout
	maxJobConcurrency = 1000
)

// validAutomationName reports whether s is a valid automation name:
// letters, digits, '.', '-' and '_'.
func validAutomationName(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// ParseEvent parses and validates event KATA. Every problem is reported at
// once as Diagnostics with Source "event".
func ParseEvent(src string, env *templates.Env) (*Event, error) {
	if env == nil {
		return nil, fmt.Errorf("automations: parse event: templates environment is required")
	}
	var diags Diagnostics
	c := &compiler{env: env}
	c.vc = &valueCompiler{env: env, source: "event", diags: &diags}
	doc, err := kata.Parse("event", src)
	if err != nil {
		c.diags = nil
		c.addParseError("event", err)
		diags = append(diags, c.diags...)
	}
	e := &Event{}
	if doc != nil && doc.Root != nil {
		for _, top := range doc.Root.Children {
			switch top.Type() {
			case "automation":
				if h := c.eventHandler(top); h != nil {
					e.handlers = append(e.handlers, h)
				}
			case "behavior":
				c.errorf(top.Pos, "`%s:` handlers (Cerb bot behaviors) are not supported; use `automation/<name>:`", top.Key)
			case "verify":
				e.Verify = append(e.Verify, top)
			case "subscribe":
				e.Subscribe = append(e.Subscribe, top)
			case "limits":
				if e.Limits != nil {
					c.errorf(top.Pos, "only one `limits:` block is allowed")
					continue
				}
				e.Limits = c.eventLimits(top)
			case "history":
				if e.History != nil {
					c.errorf(top.Pos, "only one `history:` block is allowed")
					continue
				}
				e.History = c.eventHistory(top)
			default:
				c.errorf(top.Pos, "Unexpected key `%s:`; expected `automation/<name>:`", top.Key)
			}
		}
	}
	if len(diags) > 0 {
		sortDiagnostics(diags)
		return nil, diags
	}
	return e, nil
}

// eventHandler compiles one automation/<name>: handler.
func (c *compiler) eventHandler(top *kata.Node) *eventHandler {
	h := &eventHandler{key: top.Key, pos: top.Pos}
	if len(top.Annotations) > 0 {
		c.errorf(top.Pos, "annotations are not allowed on handler keys (`%s:`)", top.Key)
	}
	if top.Kind != kata.Object {
		c.errorf(top.Pos, "`%s:` must hold `uri:` (and optionally rules, `inputs:` and `job:`)", top.Key)
		return nil
	}
	hasURI := false
	for _, k := range top.Children {
		switch k.Type() {
		case "uri":
			hasURI = true
			c.vc.annotations(k)
			if k.Kind == kata.Object || strings.TrimSpace(k.Value) == "" {
				c.errorf(k.Pos, "`uri:` must name an automation (cerb:automation:<name>)")
				continue
			}
			if templates.HasMarkup(k.Value) {
				c.errorf(valuePos(k), "`uri:` must be a fixed automation name, without placeholders")
				continue
			}
			uri := strings.TrimSpace(k.Value)
			name := strings.TrimPrefix(uri, "cerb:automation:")
			if strings.HasPrefix(name, "cerb:") || !validAutomationName(name) {
				c.errorf(valuePos(k), "`uri:` %q is not an automation (expected cerb:automation:<name>, where the name has letters, numbers, dashes, underscores and dots)", uri)
				continue
			}
			h.automation = name
		case "enabled", "disabled":
			if k.Kind == kata.Object {
				c.errorf(k.Pos, "rule `%s:` must have a value", k.Key)
				continue
			}
			h.rules = append(h.rules, rule{allow: k.Type() == "enabled", val: c.vc.compile(k, true)})
		case "inputs":
			if k.Kind != kata.Object {
				c.errorf(k.Pos, "`inputs:` must hold keys")
				continue
			}
			h.inputs = c.vc.compile(k, true)
		case "job":
			h.job, h.idemKey = c.jobOptions(k)
		default:
			c.errorf(k.Pos, "Unexpected key `%s:` in `%s:`; expected `uri:`, `enabled:`, `disabled:`, `inputs:` or `job:`", k.Key, top.Key)
		}
	}
	if !hasURI {
		c.errorf(top.Pos, "`uri:` is required in `%s:`", top.Key)
	}
	return h
}

// jobOptions compiles the job: block of a handler; key is its
// idempotency_key: template (nil when it has none).
func (c *compiler) jobOptions(k *kata.Node) (j *JobOptions, key *value) {
	j = &JobOptions{}
	if k.Kind != kata.Object {
		if strings.TrimSpace(k.Value) != "" {
			c.errorf(k.Pos, "`job:` must hold options (wait_ms, max_attempts, timeout_ms, concurrency, callback_url, idempotency_key)")
		}
		return j, nil
	}
	num := func(o *kata.Node, lo, hi int64) int64 {
		c.vc.annotations(o)
		s := strings.TrimSpace(o.Value)
		if o.Kind == kata.Object || !isNumeric(s) {
			c.errorf(valuePos(o), "`job:%s:` must be a whole number%s", o.Key, commentHint(s))
			return 0
		}
		if _, _, isInt := numericPrefix(s); !isInt {
			c.errorf(valuePos(o), "`job:%s:` must be a whole number", o.Key)
			return 0
		}
		v := intval(s)
		if v < lo || v > hi {
			c.errorf(valuePos(o), "`job:%s:` must be between %d and %d", o.Key, lo, hi)
			return 0
		}
		return v
	}
	for _, o := range k.Children {
		switch o.Key {
		case "wait_ms":
			j.WaitMS = num(o, 0, maxJobWaitMS)
		case "max_attempts":
			j.MaxAttempts = int(num(o, 1, maxJobAttempts))
		case "timeout_ms":
			j.TimeoutMS = num(o, 1, maxJobTimeoutMS)
		case "concurrency":
			j.Concurrency = int(num(o, 1, maxJobConcurrency))
		case "callback_url":
			c.vc.annotations(o)
			s := strings.TrimSpace(o.Value)
			u, err := url.Parse(s)
			if o.Kind == kata.Object || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.ContainsAny(s, " \t") {
				c.errorf(valuePos(o), "`job:callback_url:` must be an http or https URL%s", commentHint(s))
				continue
			}
			j.CallbackURL = s
		case "idempotency_key":
			if o.Kind == kata.Object {
				c.errorf(o.Pos, "`job:idempotency_key:` must be text (a template such as {{request_headers.x_delivery}})")
				continue
			}
			key = c.vc.compile(o, true)
		default:
			c.errorf(o.Pos, "Unexpected key `%s:` in `job:`; expected wait_ms, max_attempts, timeout_ms, concurrency, callback_url or idempotency_key", o.Key)
		}
	}
	return j, key
}

// commentHint explains a value that ends in an inline comment: KATA reads
// "# ..." after a value as part of the value.
func commentHint(s string) string {
	if i := strings.Index(s, " #"); i > 0 || strings.HasPrefix(s, "#") {
		return " (KATA comments go on their own line: `#` after a value is part of the value)"
	}
	return ""
}

// eventLimits compiles the limits: block of an event KATA.
func (c *compiler) eventLimits(k *kata.Node) *EventLimits {
	l := &EventLimits{}
	if k.Kind != kata.Object {
		c.errorf(k.Pos, "`limits:` must hold options (rate, burst, concurrency, body_bytes)")
		return l
	}
	number := func(o *kata.Node, whole bool, lo, hi float64) float64 {
		c.vc.annotations(o)
		s := strings.TrimSpace(o.Value)
		if o.Kind == kata.Object || !isNumeric(s) {
			c.errorf(valuePos(o), "`limits:%s:` must be a number%s", o.Key, commentHint(s))
			return 0
		}
		f := floatval(s)
		if _, _, isInt := numericPrefix(s); whole && !isInt {
			c.errorf(valuePos(o), "`limits:%s:` must be a whole number", o.Key)
			return 0
		}
		if f < lo || f > hi {
			c.errorf(valuePos(o), "`limits:%s:` must be between %g and %g", o.Key, lo, hi)
			return 0
		}
		return f
	}
	for _, o := range k.Children {
		switch o.Key {
		case "rate":
			l.Rate = number(o, false, 0.001, 1e6)
		case "burst":
			l.Burst = int(number(o, true, 1, 1e6))
		case "concurrency":
			l.Concurrency = int(number(o, true, 1, 1e5))
		case "body_bytes":
			l.BodyBytes = int64(number(o, true, 1, 1<<40))
		default:
			c.errorf(o.Pos, "Unexpected key `%s:` in `limits:`; expected rate, burst, concurrency or body_bytes", o.Key)
		}
	}
	if l.Burst > 0 && l.Rate == 0 {
		c.errorf(k.Pos, "`limits:burst:` needs `limits:rate:`")
	}
	return l
}

// eventHistory compiles the history: block of an event KATA.
func (c *compiler) eventHistory(k *kata.Node) *EventHistory {
	h := &EventHistory{Record: HistoryAll}
	if k.Kind != kata.Object {
		c.errorf(k.Pos, "`history:` must hold options (record, sample)")
		return h
	}
	var samplePos kata.Pos
	for _, o := range k.Children {
		c.vc.annotations(o)
		s := strings.TrimSpace(o.Value)
		switch o.Key {
		case "record":
			switch s {
			case HistoryAll, HistoryErrors, HistoryNone:
				h.Record = s
			default:
				c.errorf(valuePos(o), "`history:record:` must be all, errors or none%s", commentHint(s))
			}
		case "sample":
			samplePos = o.Pos
			_, _, isInt := numericPrefix(s)
			switch {
			case o.Kind == kata.Object || !isNumeric(s) || !isInt:
				c.errorf(valuePos(o), "`history:sample:` must be a whole number (keep 1 in N successful runs)%s", commentHint(s))
			case floatval(s) < 1 || floatval(s) > 1e6:
				c.errorf(valuePos(o), "`history:sample:` must be between 1 and 1e+06")
			default:
				h.Sample = int(floatval(s))
			}
		default:
			c.errorf(o.Pos, "Unexpected key `%s:` in `history:`; expected record or sample", o.Key)
		}
	}
	if h.Sample > 1 && h.Record != HistoryAll {
		c.errorf(samplePos, "`history:sample:` needs `history:record: all` (it samples successful runs)")
	}
	return h
}

// FixedInput is one key of a handler's fixed `inputs:` block.
type FixedInput struct {
	Name string
	Pos  kata.Pos
}

// HandlerRef describes one handler of an event: its key, the automation it
// runs and the keys of its fixed inputs, for checks that need the
// automation (such as undeclared inputs) when the event KATA is saved.
type HandlerRef struct {
	Key        string
	Pos        kata.Pos
	Automation string
	Inputs     []FixedInput
}

// Handlers describes the event's handlers, in order.
func (e *Event) Handlers() []HandlerRef {
	out := make([]HandlerRef, 0, len(e.handlers))
	for _, h := range e.handlers {
		ref := HandlerRef{Key: h.key, Pos: h.pos, Automation: h.automation}
		if h.inputs != nil {
			for _, c := range h.inputs.children {
				ref.Inputs = append(ref.Inputs, FixedInput{Name: c.key, Pos: c.node.Pos})
			}
		}
		out = append(out, ref)
	}
	return out
}

// Automations lists the automation names the handlers refer to, in order,
// without repeats.
func (e *Event) Automations() []string {
	var out []string
	for _, h := range e.handlers {
		if h.automation != "" && !slices.Contains(out, h.automation) {
			out = append(out, h.automation)
		}
	}
	return out
}

// Select renders the handlers' rules with vars (the request dictionary) and
// returns the first enabled handler with its rendered fixed inputs, or nil
// when no handler is enabled. The first enabled/disabled rule whose value is
// true decides; a handler with no true rule is enabled. A template error is
// returned as an error (event KATA is strict).
func (e *Event) Select(vars *dict.Map) (*Handler, error) {
	return e.SelectContext(context.Background(), vars)
}

// SelectContext is Select with the request's context: rendering stops when
// it ends.
func (e *Event) SelectContext(ctx context.Context, vars *dict.Map) (*Handler, error) {
	if vars == nil {
		vars = dict.New(0)
	}
	env := evalEnv{annEnv: annEnv{data: vars, generic: true}, ctx: ctx}
	for _, h := range e.handlers {
		enabled := true
		for _, r := range h.rules {
			v, _, err := r.val.eval(&env)
			if err != nil {
				return nil, fmt.Errorf("event %s: %w", h.key, err)
			}
			if toBool(v) {
				enabled = r.allow
				break
			}
		}
		if !enabled {
			continue
		}
		out := &Handler{Key: h.key, Automation: h.automation, Job: h.job, Pos: h.pos}
		if h.inputs != nil {
			v, _, err := h.inputs.eval(&env)
			if err != nil {
				return nil, fmt.Errorf("event %s: inputs: %w", h.key, err)
			}
			out.Inputs, _ = v.(*dict.Map)
		}
		if out.Job != nil {
			j := *out.Job
			out.Job = &j
			if h.idemKey != nil {
				v, _, err := h.idemKey.eval(&env)
				if err != nil {
					return nil, fmt.Errorf("event %s: job:idempotency_key: %w", h.key, err)
				}
				j.IdempotencyKey = strings.TrimSpace(toString(v))
			}
		}
		return out, nil
	}
	return nil, nil
}

package automations

import (
	"time"

	"github.com/hookhost/hookhost/automations/kata"
)

// Defaults of Limits (spec §2.8 and DESIGN.md).
const (
	defaultTimeLimit  = 25 * time.Second
	defaultSteps      = 100_000
	defaultValueBytes = 16 << 20
	defaultLogBytes   = 64 << 10
	// defaultRunBytes leaves room for 16 values at the value limit (a
	// decoded body, its transformed copies, responses...). It was 128 MiB
	// (PHP's stock memory_limit); review rev2 measured a Cerb pattern that
	// PHP runs in little memory, a 250 KB value referenced (@key) under
	// 1,000 keys, which this account charges a copy each: 250 MB. The
	// account charges values what they take in memory, not their
	// references.
	defaultRunBytes = 256 << 20
)

// maxPooledKeys bounds the account map a pooled runner keeps for its next
// run.
const maxPooledKeys = 64

// nodeKind is the shape of a compiled node: a command (its commandDef says
// what it does) or one of the flow nodes, which hold other nodes.
type nodeKind uint8

const (
	kCommand nodeKind = iota
	kDecision
	kOutcome
	kRepeat
	kWhile
)

// node is one compiled flow node or command. Nodes are immutable.
type node struct {
	kind nodeKind
	cmd  *commandDef // the command table's entry (extensionCommand for extension commands)
	id   string      // "start:decision:outcome/yes:then:return:"
	name string      // command type: "http.request", "outcome", ...
	pos  kata.Pos

	val *value // FormValue commands: the command's own value

	inputs *value
	output *value
	uri    *value

	onSuccess    []*node
	onError      []*node
	hasOnSuccess bool
	hasOnError   bool

	// onSimulate is the on_simulate: block, run instead of the command in
	// a simulated run; simulateErr, when not empty, says why the block
	// could not be compiled (it then does not run).
	onSimulate    []*node
	hasOnSimulate bool
	simulateErr   string
	// simulateOf is, for simulate.success: and simulate.error:, the
	// command whose on_simulate: block holds them.
	simulateOf *node

	cond     *value  // outcome/while if:
	body     []*node // outcome then:, repeat/while do:
	outcomes []*node // decision
	each     *value  // repeat
	as       *value  // repeat
}

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
)

// nodeKind is what a compiled node does.
type nodeKind uint8

const (
	kDecision nodeKind = iota
	kOutcome
	kRepeat
	kWhile
	kReturn
	kError
	kAwait
	kSet
	kVarSet
	kVarPush
	kVarUnset
	kVarExpand
	kLog
	kKataParse
	kHTTP
	kFunction
	kStorageGet
	kStorageSet
	kStorageDelete
	kExtension
)

// node is one compiled flow node or command. Nodes are immutable.
type node struct {
	kind  nodeKind
	id    string // "start:decision:outcome/yes:then:return:"
	name  string // command type: "http.request", "outcome", ...
	pos   kata.Pos
	level int // log level of log commands

	val    *value // return/error/await/set/log: the command's own value
	retKey bool   // return@key

	inputs *value
	output *value
	uri    *value

	sideEffect   bool
	onSuccess    []*node
	onError      []*node
	hasOnSuccess bool
	hasOnError   bool

	cond     *value  // outcome/while if:
	body     []*node // outcome then:, repeat/while do:
	outcomes []*node // decision
	each     *value  // repeat
	as       *value  // repeat
}

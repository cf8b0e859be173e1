package automations_test

import (
	"context"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/automations"
	"github.com/hookhost/hookhost/templates/dict"
)

// memProbe is an extension command that measures the live heap (after a
// collection) each time a script calls it, keeping the largest reading.
type memProbe struct{ peak uint64 }

func (m *memProbe) RunCommand(context.Context, string, *dict.Map) (any, error) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m.peak = max(m.peak, ms.HeapAlloc)
	return nil, nil
}

// liveHeap is the live heap after a collection.
func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestRunMemory_HostileVarSet is the shape a hostile review ran against a
// server: a loop storing a fresh ~8 MB value under 150 keys kept them all
// (1.2 GB of values, 1.7 GiB of process) and the run succeeded. The run
// must end with the memory limit, and its live heap stay near the budget.
// Not parallel: it reads the process's heap.
func TestRunMemory_HostileVarSet(t *testing.T) {
	const (
		budget    = 32 << 20
		valueSize = 8 << 20
	)
	script := `start:
  repeat:
    each@json: {{ range(1, 150)|json_encode }}
    as: i
    do:
      var.set:
        inputs:
          key: k{{ i }}
          value: {{ big }}{{ i }}
      ext.mem:
`
	p := compile(t, automations.Source{Name: "hostile", Script: script, Policy: "commands:\n  ext.mem:\n    allow: yes\n"},
		automations.Options{Limits: automations.Limits{RunBytes: budget}, Commands: []string{"ext.mem"}})
	probe := &memProbe{}
	inputs := dict.Of("big", strings.Repeat("x", valueSize))
	before := liveHeap()
	res := p.Run(context.Background(), inputs, automations.Runtime{Commands: probe})

	// Three 8 MiB values (and their keys) fit in 32 MiB: the fourth ends
	// the run. Without the budget all 150 are kept.
	require.NotZero(t, probe.peak)
	grown := int64(probe.peak) - int64(before)
	t.Logf("live heap grew by %d MiB at most (budget %d MiB)", grown>>20, budget>>20)
	require.Less(t, grown, int64(2*budget), "the run kept far more than its budget")
	require.Equal(t, automations.ExitError, res.Exit)
	require.Equal(t, "memory", res.Limit)
	require.Equal(t, "run memory limit of 33554432 bytes exceeded (values kept in the run's variables)", res.Error)
	require.Equal(t, "start:repeat:do:var.set:", res.ErrorAt)

	// The default budget applies when Limits leaves it zero.
	require.Equal(t, 256<<20, compile(t, automations.Source{Script: "start:\n"}, automations.Options{}).Limits().RunBytes)
}

// TestRunMemory_DenseValues stores decoded JSON of many small entries (a
// dictionary of short keys, a list of numbers) under new keys until the
// budget ends the run: the live heap must stay near the budget. Charging
// such values their JSON size let four 8 MB dictionaries grow the heap by
// 281 MiB against a budget of 64 MiB. Not parallel: it reads the
// process's heap.
func TestRunMemory_DenseValues(t *testing.T) {
	const budget = 64 << 20
	dense := func(item func(sb *strings.Builder, i int), open, close string) string {
		var sb strings.Builder
		sb.WriteString(open)
		for i := 0; sb.Len() < 1<<20; i++ {
			if i > 0 {
				sb.WriteByte(',')
			}
			item(&sb, i)
		}
		sb.WriteString(close)
		return sb.String()
	}
	for _, tc := range []struct{ name, json string }{
		{"dictionary", dense(func(sb *strings.Builder, i int) { sb.WriteString(`"k` + strconv.Itoa(i) + `":1`) }, "{", "}")},
		{"list", dense(func(sb *strings.Builder, i int) { sb.WriteString(strconv.Itoa(i % 10)) }, "[", "]")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			script := `start:
  repeat:
    each@json: {{ range(1, 200)|json_encode }}
    as: i
    do:
      var.set:
        inputs:
          key: v{{ i }}
          value@json: {{ big }}
      ext.mem:
`
			p := compile(t, automations.Source{Name: "dense", Script: script, Policy: "commands:\n  ext.mem:\n    allow: yes\n"},
				automations.Options{Limits: automations.Limits{RunBytes: budget}, Commands: []string{"ext.mem"}})
			probe := &memProbe{}
			before := liveHeap()
			res := p.Run(context.Background(), dict.Of("big", tc.json), automations.Runtime{Commands: probe})
			require.Equal(t, "memory", res.Limit, res.Error)
			grown := int64(probe.peak) - int64(before)
			t.Logf("live heap grew by %d MiB at most (budget %d MiB)", grown>>20, budget>>20)
			require.Less(t, grown, int64(3*budget/2), "the run kept far more than its budget")
		})
	}
}

// TestRunMemory_UnsetDoesNotDrift removes items from lists kept under
// new keys, over and over: what a removal gives back must be what the item
// was charged, or the account drifts down while the values stay (review
// rev1: removals gave back a dictionary entry's cost for a list item, and
// 5,000 such lists grew the heap by 29 MiB under a budget of 1 MiB).
func TestRunMemory_UnsetDoesNotDrift(t *testing.T) {
	t.Parallel()
	var items, gone []string
	for i := range 30 {
		items = append(items, strconv.Itoa(i))
	}
	for i := 29; i >= 19; i-- {
		gone = append(gone, `"l`+"{{ i }}"+`:`+strconv.Itoa(i)+`"`)
	}
	script := `start:
  repeat:
    each@json: {{ range(1, 5000)|json_encode }}
    as: i
    do:
      var.set:
        inputs:
          key: l{{ i }}
          value@json: [` + strings.Join(items, ",") + `]
      var.unset:
        inputs:
          key@json: [` + strings.Join(gone, ",") + `]
`
	p := compile(t, automations.Source{Name: "drift", Script: script},
		automations.Options{Limits: automations.Limits{RunBytes: 64 << 10, Steps: 1_000_000}})
	res := p.Run(context.Background(), dict.New(0), automations.Runtime{})
	require.Equal(t, "memory", res.Limit, "%s %s", res.Exit, res.Error)
}

// The costs the run's account charges (automations/runmem.go), restated
// here so that a change to them shows in this test.
const (
	dictCost = 128 // a dictionary
	listCost = 24  // a list
	itemCost = 16  // a list item, beyond its value
	numCost  = 8   // a number
)

// e is the cost of a dictionary entry (or a top-level key) besides its
// value; text the cost of a text of n bytes.
func e(key string) int { return len(key) + 64 }
func text(n int) int   { return 16 + n }

// TestRunMemory_EntryPoints charges each way a value enters the run's
// dictionary exactly: the run fits a budget of the expected bytes, and
// fails with the memory limit one byte below. A value costs what it takes
// in Go's heap, approximately (the constants above), plus its key.
func TestRunMemory_EntryPoints(t *testing.T) {
	t.Parallel()
	ten := strings.Repeat("x", 10)
	for _, tc := range []struct {
		name   string
		script string
		inputs *dict.Map
		policy string
		sim    bool
		bytes  int
	}{
		{name: "set", bytes: e("a") + text(10),
			script: "start:\n  set:\n    a: " + ten + "\n"},
		{name: "set nested", bytes: e("a") + dictCost + (e("x") + text(10)) + (e("y") + numCost),
			script: "start:\n  set:\n    a:\n      x: " + ten + "\n      y@int: 1\n"},
		{name: "var.set", bytes: e("a") + text(10),
			script: "start:\n  var.set:\n    inputs:\n      key: a\n      value: " + ten + "\n"},
		{name: "var.set output", bytes: 2 * (e("a") + text(10)),
			script: "start:\n  var.set:\n    inputs:\n      key: a\n      value: " + ten + "\n    output: o\n"},
		{name: "var.set new levels", bytes: e("a") + (dictCost + e("b")) + (dictCost + e("c")) + text(10),
			script: "start:\n  var.set:\n    inputs:\n      key: a:b:c\n      value: " + ten + "\n"},
		{name: "var.set delimiter", bytes: e("a") + (dictCost + e("b")) + text(10),
			script: "start:\n  var.set:\n    inputs:\n      key: a.b\n      delimiter: .\n      value: " + ten + "\n"},
		{name: "var.set into a null level", bytes: e("a") + dictCost + e("b") + (dictCost + e("c") + text(10)),
			script: "start:\n  set:\n    a:\n      b@json: null\n  var.set:\n    inputs:\n      key: a:b:c\n      value: " + ten + "\n"},
		{name: "var.set deep replaces", bytes: e("a") + dictCost + e("b") + text(10),
			script: "start:\n  set:\n    a:\n      b: " + ten + "\n  var.set:\n    inputs:\n      key: a:b\n      value: yyyyyyyyyy\n"},
		{name: "var.set into an input", bytes: e("a") + text(10), inputs: dict.Of("req", dict.Of("big", strings.Repeat("i", 1000))),
			script: "start:\n  var.set:\n    inputs:\n      key: req:a\n      value: " + ten + "\n"},
		{name: "overwritten input gives no credit", bytes: (e("a") + text(1)) + (e("b") + text(10)), inputs: dict.Of("a", strings.Repeat("i", 1000)),
			script: "start:\n  set:\n    a: y\n    b: " + ten + "\n"},
		{name: "var.push", bytes: e("l") + listCost + 3*(itemCost+text(1)),
			script: "start:\n  var.push:\n    inputs:\n      key: l\n      value: x\n  var.push/2:\n    inputs:\n      key: l\n      value: y\n  var.push/3:\n    inputs:\n      key: l\n      value: z\n"},
		{name: "var.push deep", bytes: e("a") + (dictCost + e("l")) + (listCost + 2*(itemCost+text(1))),
			script: "start:\n  var.push:\n    inputs:\n      key: a:l\n      value: x\n  var.push/2:\n    inputs:\n      key: a:l\n      value: y\n"},
		{name: "var.unset gives back", bytes: 2 * (e("a") + text(10)),
			script: "start:\n  set:\n    a: " + ten + "\n    b: " + ten + "\n  var.unset:\n    inputs:\n      key: a\n  set/2:\n    c: " + ten + "\n"},
		{name: "var.unset deep gives back", bytes: e("a") + dictCost + 2*(e("x")+text(10)) + (e("b") + text(10)) - (e("x") + text(10)),
			script: "start:\n  set:\n    a:\n      x: " + ten + "\n      y: " + ten + "\n  var.unset:\n    inputs:\n      key: a:x\n  set/2:\n    b: " + ten + "\n"},
		{name: "var.unset a list's last item gives back an item", bytes: e("l") + listCost + 2*(itemCost+text(1)) + e("b") + text(100),
			script: "start:\n  set:\n    l@json: [\"x\", \"y\", \"z\"]\n  var.unset:\n    inputs:\n      key: l:2\n  set/2:\n    b: " + strings.Repeat("b", 100) + "\n"},
		{name: "var.unset a list's other item makes a dictionary", bytes: e("l") + dictCost + 2*(e("1")+text(1)),
			script: "start:\n  set:\n    l@json: [\"x\", \"y\", \"z\"]\n  var.unset:\n    inputs:\n      key: l:0\n"},
		{name: "var.set a key of a list makes a dictionary", bytes: e("l") + dictCost + 2*(e("0")+text(1)) + e("k") + text(10),
			script: "start:\n  set:\n    l@json: [\"x\", \"y\"]\n  var.set:\n    inputs:\n      key: l:k\n      value: " + ten + "\n"},
		{name: "var.set a list's end appends an item", bytes: e("l") + listCost + 2*(itemCost+text(1)),
			script: "start:\n  set:\n    l@json: [\"x\"]\n  var.set:\n    inputs:\n      key: l:1\n      value: y\n"},
		{name: "var.unset list", bytes: 2 * (e("a") + text(10)),
			script: "start:\n  set:\n    a: " + ten + "\n    b: " + ten + "\n  var.unset:\n    inputs:\n      key@csv: a,nope\n  set/2:\n    c: " + ten + "\n"},
		{name: "repeat item and index, forgotten after", bytes: (e("item") + text(4)) + (e("item__index") + numCost) + (e("z") + text(10)),
			script: "start:\n  set:\n    z: " + ten + "\n  repeat:\n    each@csv: aaaa,bbbb\n    as: item\n    do:\n      log: {{ item }}\n  set/2:\n    y: " + ten + "\n"},
		{name: "repeat key and value", bytes: (e("k") + text(1)) + (e("v") + text(4)),
			script: "start:\n  repeat:\n    each@json: {\"a\": \"aaaa\"}\n    as: k, v\n    do:\n      log: {{ v }}\n"},
		{name: "command output", bytes: e("o") + dictCost + e("a") + text(10),
			script: "start:\n  kata.parse:\n    inputs:\n      kata: a: " + ten + "\n    output: o\n"},
		{name: "error output", bytes: e("o") + dictCost + e("error") + text(len("'inputs:key:' must be a string (boolean).")),
			script: "start:\n  var.set:\n    inputs:\n      key@bool: yes\n      value: x\n    output: o\n    on_error:\n      log: failed\n"},
		{name: "simulated output", bytes: e("o") + dictCost + e("body") + text(10), sim: true, policy: "commands:\n  http.request:\n    allow: yes\n",
			script: "start:\n  http.request:\n    inputs:\n      url: http://127.0.0.1/\n    output: o\n    on_simulate:\n      simulate.success:\n        body: " + ten + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			run := func(budget int) *automations.Result {
				p := compile(t, automations.Source{Name: "t", Script: tc.script, Policy: tc.policy},
					automations.Options{Limits: automations.Limits{RunBytes: budget}})
				inputs := tc.inputs
				if inputs == nil {
					inputs = dict.New(0)
				}
				return p.Run(context.Background(), inputs, automations.Runtime{Simulate: tc.sim})
			}
			res := run(tc.bytes)
			require.Empty(t, res.Limit, "at a budget of %d bytes: %s", tc.bytes, res.Error)
			require.NotEqual(t, automations.ExitError, res.Exit, res.Error)
			res = run(tc.bytes - 1)
			require.Equal(t, "memory", res.Limit, "at a budget of %d bytes: %s", tc.bytes-1, res.Error)
			require.Equal(t, automations.ExitError, res.Exit)
			require.Contains(t, res.Error, "run memory limit of")
		})
	}
}

// TestRunMemory_OverwritesDoNotAccumulate rewrites the same keys, top-level
// and deep, thousands of times: what a write replaces is given back, so a
// budget that holds one copy of each is enough.
func TestRunMemory_OverwritesDoNotAccumulate(t *testing.T) {
	t.Parallel()
	kb := strings.Repeat("x", 1000)
	for _, tc := range []struct {
		name  string
		do    string
		bytes int
	}{
		{"set", "      set:\n        a: {{ v }}\n", e("a") + text(1000)},
		{"var.set", "      var.set:\n        inputs:\n          key: a\n          value: {{ v }}\n", e("a") + text(1000)},
		{"var.set deep", "      var.set:\n        inputs:\n          key: a:b:c\n          value: {{ v }}\n", e("a") + 2*(dictCost+e("b")) + text(1000)},
		{"output", "      var.set:\n        inputs:\n          key: a\n          value: {{ v }}\n        output: a\n", e("a") + text(1000)},
		{"push and unset", "      var.push:\n        inputs:\n          key: a:l\n          value: {{ v }}\n" +
			"      var.unset:\n        inputs:\n          key: a:l\n", e("a") + (dictCost + e("l")) + (listCost + itemCost + text(1000))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			script := "start:\n  repeat:\n    each@json: {{ range(1, 2000)|json_encode }}\n    as: i\n    do:\n" + tc.do
			// The repeat's own variables: i (an integer) and i__index.
			loopVars := (e("i") + numCost) + (e("i__index") + numCost)
			p := compile(t, automations.Source{Name: "t", Script: script},
				automations.Options{Limits: automations.Limits{RunBytes: tc.bytes + loopVars}})
			res := p.Run(context.Background(), dict.Of("v", kb), automations.Runtime{})
			require.Empty(t, res.Limit, res.Error)
			require.Equal(t, automations.ExitExit, res.Exit, res.Error)
			require.Greater(t, res.Steps, 2000)
		})
	}
}

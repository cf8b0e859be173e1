package automations

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/templates"
)

// TestCommandTableEntries checks that each entry has the functions its
// form needs, and only those.
func TestCommandTableEntries(t *testing.T) {
	t.Parallel()
	entries := append([]commandDef{extensionCommand}, commandTable[:]...)
	for _, d := range entries {
		t.Run("Entry_"+d.Name, func(t *testing.T) {
			t.Parallel()
			switch {
			case !d.Supported:
				require.Nil(t, d.compile)
				require.Nil(t, d.exec)
				require.Nil(t, d.run)
			case d.Form == FormFlow:
				require.NotEqual(t, kCommand, d.flow)
				require.Nil(t, d.compile)
				require.Nil(t, d.exec)
				require.Nil(t, d.run)
				require.NotEmpty(t, d.Keys)
			case d.Form == FormValue:
				require.Equal(t, kCommand, d.flow)
				require.NotNil(t, d.compile)
				require.NotNil(t, d.exec)
				require.Nil(t, d.run)
				require.False(t, d.Policy, "the policy gate checks action commands only")
			case d.Form == FormAction:
				require.Equal(t, kCommand, d.flow)
				require.Nil(t, d.compile)
				require.Nil(t, d.exec)
				require.NotNil(t, d.run)
			default:
				t.Fatalf("form %q", d.Form)
			}
			require.Equal(t, d.keyAnnotation, d.Name == "return")
		})
	}
}

func TestLookupCommand(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		want bool
	}{
		{"return", true},
		{"log.warn", true},
		{"decision", true},
		{"record.get", true},
		{"start", false},
		{"inputs", false},
		{"", false},
		{"Return", false},
	} {
		t.Run("Name_"+tc.name, func(t *testing.T) {
			t.Parallel()
			d := lookupCommand(tc.name)
			require.Equal(t, tc.want, d != nil)
			if d != nil {
				require.Equal(t, tc.name, d.Name)
			}
		})
	}
}

func TestExpectedKeys(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, want string }{
		{"outcome", "`if:` or `then:`"},
		{"repeat", "`each:`, `as:` or `do:`"},
		{"while", "`if:` or `do:`"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, lookupCommand(tc.name).expectedKeys())
		})
	}
}

// TestDataRoom checks the room a run's dictionary gets for the keys its
// script adds (a capacity hint).
func TestDataRoom(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, script string
		want         int
	}{
		{"ReturnOnly", "start:\n  return:\n    a: 1\n", 0},
		{"Guide", "start:\n  set:\n    response:\n      a: 1\n  return:\n    body: x\n", 1},
		{"SetAndVar", "start:\n  set:\n    a: 1\n    b: 2\n  var.set:\n    inputs:\n      key: c\n      value: 3\n", 3},
		{"Nested", "start:\n  outcome/x:\n    if@bool: yes\n    then:\n      set:\n        a: 1\n  repeat:\n    each@csv: a,b\n    as: v\n    do:\n      log: {{ v }}\n", 3},
		{"Capped", "start:\n  set:\n    a: 1\n    b: 2\n    c: 3\n    d: 4\n    e: 5\n    f: 6\n    g: 7\n    h: 8\n    i: 9\n    j: 10\n", maxDataRoom},
		{"Inputs", "inputs:\n  text/name:\n    type: freeform\nstart:\n  return:\n    a: 1\n", 1},
	} {
		p, err := Compile(Source{Script: tc.script}, Options{Templates: templates.New()})
		require.NoError(t, err, tc.name)
		require.Equal(t, tc.want, p.dataRoom, tc.name)
	}
}

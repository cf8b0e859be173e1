package automations

import (
	"testing"

	"github.com/stretchr/testify/require"
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

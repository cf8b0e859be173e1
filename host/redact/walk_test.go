package redact

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/templates/dict"
)

func TestWalk(t *testing.T) {
	t.Parallel()
	red := func(s string) string { return strings.ReplaceAll(s, "s3cr3t", "[redacted]") }
	tests := []struct {
		name string
		in   any
		want string // JSON of the result
		same bool   // nothing to redact: the value itself comes back
	}{
		{name: "String", in: "a s3cr3t b", want: `"a [redacted] b"`},
		{name: "Number", in: int64(3), want: `3`, same: true},
		{name: "CleanMap", in: dict.Of("a", "x", "b", []any{"y", int64(1)}), want: `{"a":"x","b":["y",1]}`, same: true},
		{name: "ValueAfterOthers", in: dict.Of("a", "x", "b", "y", "c", "s3cr3t"), want: `{"a":"x","b":"y","c":"[redacted]"}`},
		{name: "Key", in: dict.Of("a", "x", "s3cr3t", "y", "c", "z"), want: `{"a":"x","[redacted]":"y","c":"z"}`},
		{name: "Nested", in: dict.Of("a", dict.Of("l", []any{"ok", "is s3cr3t"}), "z", true), want: `{"a":{"l":["ok","is [redacted]"]},"z":true}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			before := encode(tt.in)
			got := Walk(tt.in, red)
			require.JSONEq(t, tt.want, string(encode(got)))
			after := encode(tt.in)
			require.Equal(t, string(before), string(after), "the input is not modified")
			if m, ok := tt.in.(*dict.Map); ok && tt.same {
				require.Same(t, m, got.(*dict.Map))
			}
		})
	}
}

package dispatch

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/redact"
	"github.com/hookhost/hookhost/templates/dict"
)

// TestEncodeRedacted: a return dictionary is encoded, redacted, as
// encode(redact.Walk) encodes it, byte for byte, in one pass (fast) for
// the usual values, and through Walk and encode for a key that redaction
// changes, a type Walk does not visit, or a large encoding.
func TestEncodeRedacted(t *testing.T) {
	t.Parallel()
	const secret = "s3cret-value-0123456789"
	red := redact.New(secret).Redact
	tests := []struct {
		name string
		v    any
		fast bool
	}{
		{"Guide", dict.Of("status_code", int64(200), "headers", dict.Of("Content-Type", "application/json"),
			"body", "{\n    \"client\": {\n        \"ip\": \"127.0.0.1\"\n    }\n}"), true},
		{"Scalars", dict.Of("n", nil, "t", true, "f", false, "i", 7, "i64", int64(-3), "x", 1.5, "big", 1e21, "nan", 0.1+0.2), true},
		{"Empty", dict.Of("m", dict.New(0), "l", []any{}, "s", ""), true},
		{"NilMap", (*dict.Map)(nil), true},
		{"Nested", []any{dict.Of("a", []any{"x", int64(1), dict.Of("b", []any{})}), "y"}, true},
		{"SecretValue", dict.Of("token", "Bearer "+secret, "list", []any{secret}), true},
		{"Escapes", dict.Of("k\"\\\n", "\x00\x1f\u00e9\u2028 <>&/ \xff"), true},
		{"SecretKey", dict.Of(secret, int64(1), "[REDACTED]", int64(2)), false},
		{"OtherType", dict.Of("n", json.Number("12"), "i32", int32(5)), false},
		{"Large", dict.Of("body", strings.Repeat("a\"", redactedMax)), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			want := encode(redact.Walk(tt.v, red))
			require.NotNil(t, want)
			_, fast := appendRedacted(nil, tt.v, red)
			require.Equal(t, tt.fast, fast, "one pass")
			require.Equal(t, string(want), string(encodeRedacted(tt.v, red)))
		})
	}
}

// TestFinish_WireReturn: a run whose extension answered in the wire form
// (no JSON of its return) keeps its return dictionary redacted as Walk and
// encode make it.
func TestFinish_WireReturn(t *testing.T) {
	t.Parallel()
	p := guideRun()
	p.res.ReturnJSON = nil
	p.red = redact.New("127.0.0.1:8080")
	p.res.Return.Set("host", "127.0.0.1:8080")
	want := encode(redact.Walk(p.res.Return, p.red.Redact))
	require.Contains(t, string(want), redact.Marker)
	require.Equal(t, string(want), string(p.finish(DefaultRunBodyLimit).Output))
}

// TestAppendRedacted_LargeNotRedacted: a string or key past redactedMax
// makes the one pass give up before redacting it (review rev1: it was
// redacted and escaped whole, then redacted again on the fallback path).
func TestAppendRedacted_LargeNotRedacted(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", redactedMax+1)
	for _, v := range []any{dict.Of("body", big), dict.Of(big, int64(1)), []any{"a", big}} {
		longest := 0
		red := func(s string) string {
			longest = max(longest, len(s))
			return s
		}
		_, fast := appendRedacted(nil, v, red)
		require.False(t, fast)
		require.LessOrEqual(t, longest, redactedMax, "a string past the limit was redacted")
	}
}

// TestFinish_KnownCallerRedaction: a record whose caller's redaction was
// made already (a durable 202's, by its shown inputs) is redacted with
// that one, not built again from the request's headers; one that was not
// builds it.
func TestFinish_KnownCallerRedaction(t *testing.T) {
	t.Parallel()
	const token = "caller-token-0123456789"
	for _, tt := range []struct {
		name  string
		known bool
	}{{"Known", true}, {"Built", false}} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := guideRun()
			p.req.Headers = append(p.req.Headers, [2]string{"Authorization", "Bearer " + token})
			p.req.Body = []byte(`{"echo":"` + token + `"}`)
			if tt.known {
				// A stand-in the request's headers would not give, so
				// that the record shows which one was used.
				p.caller = func(s string) string { return strings.ReplaceAll(s, token, "[known]") }
				p.callerKnown = true
			}
			in := string(p.finish(DefaultRunBodyLimit).Inputs)
			require.NotContains(t, in, token)
			require.Equal(t, tt.known, strings.Contains(in, "[known]"), "%s", in)
		})
	}
}

package dispatch

import (
	"bytes"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/valyala/fasthttp"

	"github.com/hookhost/hookhost/automations"
)

// TestFormFields_FirstFields checks that formFields reads the fields
// fasthttp's Args reads, in order, cut after automations.MaxInputVars:
// segments "" and "=" are no field, "=x" and "==" are.
func TestFormFields_FirstFields(t *testing.T) {
	t.Parallel()
	many := func(seg string, n int) string { return strings.TrimSuffix(strings.Repeat(seg+"&", n), "&") }
	tests := []struct{ name, body string }{
		{"empty", ""},
		{"one", "a=1"},
		{"escapes", "a%5Bb%5D=x+y&c=%zz&d%"},
		{"separators only", "&&=&=&"},
		{"odd segments", "=x&==&=&&a&b="},
		{"exactly max", many("a=1", automations.MaxInputVars)},
		{"one past max", many("a=1", automations.MaxInputVars) + "&last=2"},
		{"empty segments past max", many("k", automations.MaxInputVars-1) + "&&=&&x=1&y=2"},
		{"unnamed fields count", many("=v", automations.MaxInputVars+5) + "&z=1"},
		{"many", many("a", 5*automations.MaxInputVars)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var args fasthttp.Args
			args.ParseBytes([]byte(tt.body))
			want := [][2]string{}
			args.VisitAll(func(k, v []byte) {
				if len(want) < automations.MaxInputVars {
					want = append(want, [2]string{string(k), string(v)})
				}
			})
			got := formFields("application/x-www-form-urlencoded", []byte(tt.body))
			require.Equal(t, want, got)
		})
	}
}

// TestFormFields_BoundedMemory sends formFields 1 MiB bodies of tiny
// fields: what it allocates is bounded by the fields request_params keeps,
// not by the body (before: 172 MiB for the urlencoded one). Not parallel:
// it reads the process's allocation count.
func TestFormFields_BoundedMemory(t *testing.T) {
	const size = 1 << 20
	var mp bytes.Buffer
	for mp.Len() < size {
		fmt.Fprintf(&mp, "--b\r\nContent-Disposition: form-data; name=a\r\n\r\n\r\n")
	}
	mp.WriteString("--b--\r\n")
	var files bytes.Buffer
	for files.Len() < size {
		fmt.Fprintf(&files, "--b\r\nContent-Disposition: form-data; name=f; filename=x\r\n\r\n\r\n")
	}
	files.WriteString("--b\r\nContent-Disposition: form-data; name=a\r\n\r\nlate\r\n--b--\r\n")
	tests := []struct {
		name, contentType string
		body              []byte
		fields            int
		maxAlloc          uint64
	}{
		{"urlencoded", "application/x-www-form-urlencoded", bytes.Repeat([]byte("a&"), size/2), automations.MaxInputVars, 256 << 10},
		// Each part costs its reader about 2 KiB (4.0-4.2 MB under -race,
		// which drops pooled buffers; 43 MB before).
		{"multipart fields", "multipart/form-data; boundary=b", mp.Bytes(), automations.MaxInputVars, 6 << 20},
		{"multipart files", "multipart/form-data; boundary=b", files.Bytes(), 0, 6 << 20}, // PHP stops before the late field,
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			got := formFields(tt.contentType, tt.body)
			runtime.ReadMemStats(&after)
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("%d-byte body: %d bytes allocated", len(tt.body), alloc)
			require.Less(t, alloc, tt.maxAlloc)
			require.Equal(t, tt.fields, len(got))
		})
	}
}

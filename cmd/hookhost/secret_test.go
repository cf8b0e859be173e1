package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host"
)

func TestTrimNewline(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"value", "value"},
		{"value\n", "value"},
		{"value\r\n", "value"},
		{"value\n\n", "value\n"},
		{"two\nlines\n", "two\nlines"},
		{"\n", ""},
		{"", ""},
		{"trailing space \n", "trailing space "},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, string(trimNewline([]byte(tt.in))), "%q", tt.in)
	}
}

// TestSecretCmd runs `hookhost secret …` against a real server on
// 127.0.0.1.
func TestSecretCmd(t *testing.T) {
	t.Parallel()
	const token = "cli-test-admin-token"
	cfg := host.DefaultConfig()
	cfg.DataDir, cfg.AdminToken, cfg.InProcess = t.TempDir(), token, true
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := host.New(context.Background(), cfg)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln, nil) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	base := "http://" + ln.Addr().String()

	run := func(stdin string, args ...string) (string, error) {
		t.Helper()
		var out, errOut bytes.Buffer
		root := newRootCmd(&out, &errOut)
		root.SetIn(strings.NewReader(stdin))
		root.SetArgs(append(args, "--server", base, "--token", token))
		err := root.Execute()
		return out.String(), err
	}

	tests := []struct {
		name    string
		stdin   string
		args    []string
		want    string // output, or part of the error
		wantErr bool
	}{
		{name: "SetCreates", stdin: "gh-value\n", args: []string{"secret", "set", "github_hook"}, want: "secret github_hook created\n"},
		{name: "SetUpdates", stdin: "gh-value-2\r\n", args: []string{"secret", "set", "github_hook"}, want: "secret github_hook updated\n"},
		{name: "SetKeepsInnerNewlines", stdin: "line1\nline2\n\n", args: []string{"secret", "set", "multi"}, want: "secret multi created\n"},
		{name: "SetEmptyStdin", stdin: "\n", args: []string{"secret", "set", "empty"}, want: "no value on stdin", wantErr: true},
		{name: "SetBadName", stdin: "v", args: []string{"secret", "set", "bad-name"}, want: "400 Bad Request: validation failed\n  name: secret name \"bad-name\" is invalid", wantErr: true},
		{name: "SetTooLong", stdin: strings.Repeat("x", 70<<10), args: []string{"secret", "set", "long"}, want: "value: a secret value is 4 bytes to 64 KiB", wantErr: true},
		{name: "SetNeedsName", args: []string{"secret", "set"}, want: "accepts 1 arg", wantErr: true},
		{name: "List", args: []string{"secret", "list"}, want: "NAME\ngithub_hook\nmulti\n"},
		{name: "ListJSON", args: []string{"secrets", "list", "-o", "json"}, want: "{\n  \"secrets\": [\n    {\n      \"name\": \"github_hook\"\n    },\n    {\n      \"name\": \"multi\"\n    }\n  ]\n}\n"},
		{name: "Delete", args: []string{"secret", "delete", "multi"}, want: "secret multi deleted\n"},
		{name: "DeleteMissing", args: []string{"secret", "delete", "multi"}, want: `404 Not Found: no secret "multi"`, wantErr: true},
		{name: "ListAfterDelete", args: []string{"secret", "list"}, want: "NAME\ngithub_hook\n"},
	}
	for _, tt := range tests { // in order: each case sees the ones before
		out, err := run(tt.stdin, tt.args...)
		if tt.wantErr {
			require.ErrorContains(t, err, tt.want, tt.name)
			continue
		}
		require.NoError(t, err, tt.name)
		require.Equal(t, tt.want, out, tt.name)
		require.NotContains(t, out, "gh-value", tt.name)
	}

	// The server holds exactly what was piped in, minus one newline: a
	// webhook answers with it.
	admin := func(method, path, ctype, body string) []byte {
		t.Helper()
		req, err := http.NewRequest(method, base+"/api/v1"+path, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", ctype)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.Less(t, resp.StatusCode, 300, "%s", b)
		return b
	}
	admin("POST", "/automations", "application/json",
		`{"name":"echo","extension_id":"cerb.trigger.webhook.respond","script":"start:\n  return:\n    body: [{{secrets.github_hook}}]\n"}`)
	var created struct{ URL string }
	require.NoError(t, json.Unmarshal(admin("POST", "/webhooks?name=echo", "text/plain", "automation/main:\n  uri: cerb:automation:echo\n"), &created))
	resp, err := http.Get(base + strings.TrimPrefix(created.URL, "http://127.0.0.1:8080"))
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, "[gh-value-2]", string(body))

	root := newRootCmd(io.Discard, io.Discard)
	root.SetArgs([]string{"secret", "list", "--server", base, "--token", "wrong"})
	require.ErrorContains(t, root.Execute(), "401 Unauthorized")
}

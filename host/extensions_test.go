package host

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWebhook_OutOfProcess runs automations in a real extension process
// (the test binary re-executed as the built-in webhook extension): the
// guide example, a binary body, an error, and 64 concurrent requests with
// distinct answers.
func TestWebhook_OutOfProcess(t *testing.T) {
	t.Parallel()
	b := setup(t, outOfProcess)
	pkg := readFile(t, "../testdata/packages/webhook-example.json")
	r := b.admin(t, "POST", "/packages/import", "application/json", pkg)
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	_, guide := b.createWebhook(t, "guide", eventFor("example.webhook.respond"))
	b.createAutomation(t, "echo", "start:\n  return:\n    body: n={{request_params.n}}\n", "")
	_, echo := b.createWebhook(t, "echo", eventFor("echo"))
	b.createAutomation(t, "bin", "start:\n  return:\n    body@base64: AAEC/w==\n", "")
	_, bin := b.createWebhook(t, "bin", eventFor("bin"))
	b.createAutomation(t, "fails", "start:\n  error: nope\n", "")
	_, fails := b.createWebhook(t, "fails", eventFor("fails"))

	r = b.do(t, "POST", "/webhooks/"+guide+"?key=value", "", "", "X-CustomHeader", "true")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.Equal(t, "true", r.json(t)["http"].(map[string]any)["headers"].(map[string]any)["x_customheader"])

	r = b.do(t, "GET", "/webhooks/"+bin, "", "")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.Equal(t, []byte{0, 1, 2, 0xff}, r.Body)

	r = b.do(t, "GET", "/webhooks/"+fails, "", "")
	require.Equal(t, http.StatusInternalServerError, r.Status, "%s", r.Body)

	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := b.do(t, "GET", fmt.Sprintf("/webhooks/%s?n=%d", echo, i), "", "")
			if r.Status != http.StatusOK || string(r.Body) != fmt.Sprintf("n=%d", i) {
				errs <- fmt.Errorf("request %d: %d %q", i, r.Status, r.Body)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	r = b.admin(t, "GET", "/extensions", "", "")
	require.Equal(t, http.StatusOK, r.Status)
	require.Contains(t, string(r.Body), `"name":"webhook"`)
	require.True(t, strings.Contains(string(r.Body), `"state":"running"`), "%s", r.Body)
}

// TestWebhook_ExtensionProcesses runs the built-in extension as a pool of
// two processes and checks that both are up and answer.
func TestWebhook_ExtensionProcesses(t *testing.T) {
	t.Parallel()
	b := setup(t, outOfProcess, func(c *Config) { c.ExtensionProcesses = 2 })
	b.createAutomation(t, "echo", "start:\n  return:\n    body: n={{request_params.n}}\n", "")
	_, echo := b.createWebhook(t, "echo", eventFor("echo"))
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := b.do(t, "GET", fmt.Sprintf("/webhooks/%s?n=%d", echo, i), "", "")
			assert.Equal(t, http.StatusOK, r.Status)
			assert.Equal(t, fmt.Sprintf("n=%d", i), string(r.Body))
		}()
	}
	wg.Wait()
	r := b.admin(t, "GET", "/extensions", "", "")
	require.Equal(t, http.StatusOK, r.Status)
	var out struct {
		Extensions []struct {
			Name string `json:"name"`
			Pids []int  `json:"pids"`
		} `json:"extensions"`
	}
	require.NoError(t, json.Unmarshal(r.Body, &out), "%s", r.Body)
	require.Len(t, out.Extensions, 1, "%s", r.Body)
	require.Len(t, out.Extensions[0].Pids, 2, "%s", r.Body)
	require.NotEqual(t, out.Extensions[0].Pids[0], out.Extensions[0].Pids[1])

	cfg := testConfig(t)
	cfg.ExtensionProcesses = 65
	_, err := New(context.Background(), cfg)
	require.ErrorContains(t, err, "--extension-processes 65")
}

// TestWebhook_ThirdPartyExtension builds the example extension into a
// plugins directory and runs an automation that calls its command through a
// server with real extension processes.
func TestWebhook_ThirdPartyExtension(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the slugify example; skipped with -short")
	}
	t.Parallel()
	plugins := t.TempDir()
	out, err := exec.Command("go", "build", "-o", filepath.Join(plugins, "slugify"), "../plugins/examples/slugify").CombinedOutput()
	require.NoError(t, err, "%s", out)
	b := setup(t, outOfProcess, func(c *Config) { c.PluginsDir = plugins })

	script := "start:\n  example.slugify/s:\n    inputs:\n      text: {{request_params.title}}\n    output: slug\n  return:\n    body: {{slug}}\n"
	r := b.admin(t, "POST", "/automations", "application/json",
		`{"name":"slug","extension_id":"cerb.trigger.webhook.respond","script":`+jsonString(script)+`}`)
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	_, denied := b.createWebhook(t, "denied", eventFor("slug"))
	r = b.do(t, "GET", "/webhooks/"+denied+"?title=x", "", "")
	require.Equal(t, http.StatusInternalServerError, r.Status, "no policy: the extension command is denied")

	b.createAutomation(t, "slug2", script, "commands:\n  example.slugify:\n    allow: yes\n")
	_, tok := b.createWebhook(t, "slug", eventFor("slug2"))
	r = b.do(t, "GET", "/webhooks/"+tok+"?title=Hello+World%21+Caf%C3%A9", "", "")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.Contains(t, string(r.Body), "hello-world")

	r = b.admin(t, "GET", "/extensions", "", "")
	require.Contains(t, string(r.Body), `"example.slugify"`)

	// An unknown command is refused when the automation is saved.
	r = b.admin(t, "POST", "/automations", "application/json",
		`{"name":"x","extension_id":"cerb.trigger.webhook.respond","script":"start:\n  example.nope/s:\n    output: o\n"}`)
	require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestExtensions_ReloadPicksUpNewBinaries checks that a binary put in the
// plugins directory after start serves after POST /extensions/reload, with
// no restart of the server.
func TestExtensions_ReloadPicksUpNewBinaries(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the slugify example; skipped with -short")
	}
	t.Parallel()
	plugins := t.TempDir()
	b := setup(t, outOfProcess, func(c *Config) { c.PluginsDir = plugins })
	r := b.admin(t, "GET", "/extensions", "", "")
	require.NotContains(t, string(r.Body), "example.slugify")

	tmp := filepath.Join(t.TempDir(), "slugify")
	out, err := exec.Command("go", "build", "-o", tmp, "../plugins/examples/slugify").CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.NoError(t, os.Rename(tmp, filepath.Join(plugins, "slugify")))

	r = b.admin(t, "POST", "/extensions/reload", "", "")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.Equal(t, []any{"slugify"}, r.json(t)["started"])
	r = b.admin(t, "GET", "/extensions", "", "")
	require.Contains(t, string(r.Body), `"example.slugify"`)
	b.createAutomation(t, "slug", "start:\n  example.slugify/s:\n    inputs:\n      text: Hi There\n    output: slug\n  return:\n    body: {{slug}}\n",
		"commands:\n  example.slugify:\n    allow: yes\n")
	_, tok := b.createWebhook(t, "slug", eventFor("slug"))
	r = b.do(t, "GET", "/webhooks/"+tok, "", "")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.Contains(t, string(r.Body), "hi-there")
}

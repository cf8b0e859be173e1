package host

import (
	"os"
	"slices"
	"strconv"
	"testing"

	"github.com/hookhost/hookhost/plugins"
	"github.com/hookhost/hookhost/plugins/webhook"
)

// extServeArg makes the test binary serve the built-in webhook extension
// (go-plugin's re-exec pattern), so tests run real extension processes.
const extServeArg = "hookhost-test-ext-serve"

func TestMain(m *testing.M) {
	if i := slices.Index(os.Args, extServeArg); i >= 0 && i+1 < len(os.Args) && os.Args[i+1] == "webhook" {
		allow, _ := strconv.ParseBool(os.Getenv(webhook.EnvAllowPrivateRequests))
		plugins.Serve(webhook.NewWithOptions(webhook.Options{AllowPrivateRequests: allow}))
	}
	os.Exit(m.Run())
}

// outOfProcess configures a test server to run extensions as real child
// processes of the test binary.
func outOfProcess(c *Config) {
	c.InProcess = false
	c.ExtensionCommand = []string{os.Args[0], extServeArg}
}

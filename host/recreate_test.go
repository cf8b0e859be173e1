package host

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestAutomation_RecreatedRunsItsNewScript: an automation deleted and
// created again under the same name starts at revision 1 again; its runs
// must not get the program the extension compiled for the old one
// (extensions cache by automation and revision).
func TestAutomation_RecreatedRunsItsNewScript(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.createAutomation(t, "re", "start:\n  return:\n    body: one\n", "")
	_, tok := b.createWebhook(t, "re", eventFor("re"))
	for i, want := range []string{"one", "two", "three"} {
		if i > 0 {
			r := b.admin(t, "DELETE", "/automations/re?force=true", "", "")
			require.Equal(t, http.StatusNoContent, r.Status, "%s", r.Body)
			b.createAutomation(t, "re", "start:\n  return:\n    body: "+want+"\n", "")
		}
		r := b.do(t, "GET", "/webhooks/"+tok, "", "")
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		require.Equal(t, want, string(r.Body))
	}
}

package host

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestServeManifests: a server with Config.Manifests is not ready while its
// directory has never applied (readyz says why), becomes ready once a good
// version is written, and serves what the directory declares.
func TestServeManifests(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "shop.yaml"), []byte("automations:\n  - name: shop.orders\n    colour: red\n"), 0o600))
	b := setup(t, func(c *Config) { c.Manifests = dir })

	r := b.do(t, "GET", "/readyz", "", "")
	require.Equal(t, http.StatusServiceUnavailable, r.Status)
	require.Contains(t, string(r.Body), "--manifests directory is not applied")
	require.Contains(t, string(r.Body), "shop.yaml:3:5")

	good := "automations:\n  - name: shop.orders\n    script: |\n      start:\n        return:\n          body: ok\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "shop.yaml.tmp"), []byte(good), 0o600))
	require.NoError(t, os.Rename(filepath.Join(dir, "shop.yaml.tmp"), filepath.Join(dir, "shop.yaml")))
	// The watcher applies it; wait for the state, not for a time.
	require.Eventually(t, func() bool { return b.do(t, "GET", "/readyz", "", "").Status == http.StatusOK },
		60*time.Second, 20*time.Millisecond, "the directory applies after a good write")
	r = b.admin(t, "GET", "/automations/shop.orders", "", "")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.Contains(t, string(r.Body), `"owner":"manifest:`+filepath.ToSlash(dir)+`/shop.yaml"`)
}

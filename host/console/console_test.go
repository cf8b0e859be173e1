package console

import (
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/api"
)

// testApp is a Fiber app with the console mounted and an error handler
// that writes problems as the server's does.
func testApp(t *testing.T) *fiber.App {
	t.Helper()
	app := fiber.New(fiber.Config{ErrorHandler: func(c *fiber.Ctx, err error) error {
		var p *api.Problem
		if !errors.As(err, &p) {
			p = api.NewProblem(http.StatusInternalServerError, err.Error())
		}
		return c.Status(p.Status).JSON(p, api.ProblemType)
	}})
	Mount(app)
	return app
}

func get(t *testing.T, app *fiber.App, target string, headers ...string) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := app.Test(req, -1)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(b)
}

func requireSecurityHeaders(t *testing.T, resp *http.Response) {
	t.Helper()
	require.Equal(t, ContentSecurityPolicy, resp.Header.Get("Content-Security-Policy"))
	require.Equal(t, "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "+
		"frame-ancestors 'none'; base-uri 'none'; form-action 'self'", resp.Header.Get("Content-Security-Policy"))
	require.Equal(t, "DENY", resp.Header.Get("X-Frame-Options"))
	require.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"))
	require.Equal(t, "no-referrer", resp.Header.Get("Referrer-Policy"))
}

func TestConsole_Serves(t *testing.T) {
	t.Parallel()
	app := testApp(t)
	tests := []struct {
		name, target, wantType, wantBody string
		wantStatus                       int
	}{
		{"Page", "/console/", "text/html; charset=utf-8", `<script type="module" src="js/main.js">`, http.StatusOK},
		{"PageByName", "/console/index.html", "text/html; charset=utf-8", "<title>hookhost console</title>", http.StatusOK},
		{"Module", "/console/js/main.js", "text/javascript; charset=utf-8", "import", http.StatusOK},
		{"Style", "/console/console.css", "text/css; charset=utf-8", ":root", http.StatusOK},
		{"Icon", "/console/icon.svg", "image/svg+xml", "<svg", http.StatusOK},
		{"MissingFile", "/console/nope.js", api.ProblemType, "no such console file: nope.js", http.StatusNotFound},
		{"NoDirectoryListing", "/console/js/", api.ProblemType, "no such console file", http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, body := get(t, app, tt.target)
			require.Equal(t, tt.wantStatus, resp.StatusCode, body)
			require.Equal(t, tt.wantType, resp.Header.Get("Content-Type"))
			require.Contains(t, body, tt.wantBody)
			requireSecurityHeaders(t, resp)
		})
	}
}

func TestConsole_RedirectsToTrailingSlash(t *testing.T) {
	t.Parallel()
	resp, _ := get(t, testApp(t), "/console")
	require.Equal(t, http.StatusPermanentRedirect, resp.StatusCode)
	require.Equal(t, "/console/", resp.Header.Get("Location"))
	requireSecurityHeaders(t, resp)
}

func TestConsole_RevalidatesWithETag(t *testing.T) {
	t.Parallel()
	app := testApp(t)
	resp, _ := get(t, app, "/console/js/api.js")
	etag := resp.Header.Get("ETag")
	require.NotEmpty(t, etag)
	require.Equal(t, "no-cache", resp.Header.Get("Cache-Control"))
	resp, body := get(t, app, "/console/js/api.js", "If-None-Match", etag)
	require.Equal(t, http.StatusNotModified, resp.StatusCode)
	require.Empty(t, body)
	resp, _ = get(t, app, "/console/js/api.js", "If-None-Match", `"stale"`)
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

// assetFiles lists the embedded files with their contents.
func assetFiles(t *testing.T) map[string]string {
	t.Helper()
	root, err := fs.Sub(assets, "assets")
	require.NoError(t, err)
	out := map[string]string{}
	require.NoError(t, fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(root, p)
		out[p] = string(b)
		return err
	}))
	return out
}

var (
	// urlRE finds absolute URLs; the SVG namespace is a name, not a fetch.
	urlRE = regexp.MustCompile(`(?i)\b(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}[^\s'"]*`)
	// importRE finds static module imports.
	importRE = regexp.MustCompile(`(?m)^import\s.*?from\s+'([^']+)';|^import\s+'([^']+)';`)
	// inlineRE finds what the Content-Security-Policy would refuse in HTML:
	// inline scripts and styles, event handler attributes.
	inlineRE = regexp.MustCompile(`(?i)<script(?:\s[^>]*)?>\s*[^<\s]|<style|\sstyle=|\son[a-z]+=|javascript:`)
)

// TestConsole_AssetsAreSelfContained checks what the CSP and the closed
// network demand of the files: nothing fetched from another origin, no
// inline script or style, every module import and page reference
// embedded; and that no file builds markup from strings.
func TestConsole_AssetsAreSelfContained(t *testing.T) {
	t.Parallel()
	files := assetFiles(t)
	require.Contains(t, files, "index.html")
	for name, body := range files {
		for _, u := range urlRE.FindAllString(body, -1) {
			if strings.HasPrefix(u, "http://www.w3.org/2000/svg") {
				continue
			}
			t.Errorf("%s refers to another origin: %s", name, u)
		}
		switch path.Ext(name) {
		case ".html":
			if m := inlineRE.FindString(body); m != "" {
				t.Errorf("%s has inline script or style, refused by the CSP: %q", name, m)
			}
			for _, m := range regexp.MustCompile(`(?:src|href)="([^"#][^"]*)"`).FindAllStringSubmatch(body, -1) {
				require.Contains(t, files, m[1], "%s refers to %s, which is not embedded", name, m[1])
			}
		case ".js":
			for _, m := range importRE.FindAllStringSubmatch(body, -1) {
				ref := m[1] + m[2]
				target := path.Join(path.Dir(name), ref)
				require.Contains(t, files, target, "%s imports %s, which is not embedded", name, ref)
			}
			for _, banned := range []string{".innerHTML", ".outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function",
				"localStorage", "document.cookie", "setAttribute('style'", "style:"} {
				if strings.Contains(body, banned) {
					t.Errorf("%s uses %s", name, banned)
				}
			}
		}
	}
}

// TestConsole_TokenNeverInURL checks that the page sends the admin token
// only as a header: nothing builds a URL from it.
func TestConsole_TokenNeverInURL(t *testing.T) {
	t.Parallel()
	for name, body := range assetFiles(t) {
		for _, line := range strings.Split(body, "\n") {
			if strings.Contains(line, "token()") && !strings.Contains(line, "'Bearer ' + token()") &&
				!strings.Contains(line, "if (!token())") && !strings.Contains(line, "export function token()") &&
				!strings.Contains(line, "sessionStorage") {
				t.Errorf("%s uses the token other than in an Authorization header: %s", name, strings.TrimSpace(line))
			}
		}
	}
}

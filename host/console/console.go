// Package console is hookhost's web console: a few static files (HTML, CSS
// and JavaScript modules, no build step) embedded in the binary and served
// at /console/ where the admin API is served (the --admin-listen address
// when it is set, so the console never faces the public webhook port).
//
// The page signs in with the admin token, keeps it in sessionStorage and
// sends it as an Authorization: Bearer header to the public admin API
// under /api/v1: no cookie (so no CSRF), no token in a URL, and nothing
// the API does not already offer a curl user. Every file is served with a
// strict Content-Security-Policy (scripts, styles and connections to this
// origin only; no inline script or style; no framing).
package console

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/hookhost/hookhost/host/api"
)

// assets are the console's files; index.html is the page.
//
//go:embed assets
var assets embed.FS

// Prefix is where the console is served.
const Prefix = "/console/"

// ContentSecurityPolicy is the policy of every console answer: the page
// loads and talks to its own origin only, runs no inline script or style,
// and cannot be framed.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// securityHeaders are set on every console answer, errors included.
var securityHeaders = [][2]string{
	{"Content-Security-Policy", ContentSecurityPolicy},
	{"X-Frame-Options", "DENY"},
	{"X-Content-Type-Options", "nosniff"},
	{"Referrer-Policy", "no-referrer"},
	{"Cross-Origin-Opener-Policy", "same-origin"},
	{"Cross-Origin-Resource-Policy", "same-origin"},
	{"Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()"},
}

// file is one console file, ready to serve.
type file struct {
	body  []byte
	ctype string
	etag  string
}

// Mount serves the console at /console/ on app (GET and HEAD): /console/
// is the page, /console/<file> its files, /console redirects to
// /console/ and so does / (302), where a browser pointed at the listener
// lands. Files are revalidated with their ETag on every load, so a new
// binary's console is picked up at once.
func Mount(app fiber.Router) {
	files := load()
	root := strings.TrimSuffix(Prefix, "/")
	// A browser pointed at the listener lands on the console.
	app.Get("/", func(c *fiber.Ctx) error {
		setSecurityHeaders(c)
		return c.Redirect(Prefix, http.StatusFound)
	})
	// Without strict routing /console also matches /console/: only the
	// path without the slash is redirected (relative links in the page
	// need the slash).
	app.Get(root, func(c *fiber.Ctx) error {
		if strings.HasSuffix(c.Path(), "/") {
			return c.Next()
		}
		setSecurityHeaders(c)
		return c.Redirect(Prefix, http.StatusPermanentRedirect)
	})
	app.Get(root+"/*", func(c *fiber.Ctx) error {
		setSecurityHeaders(c)
		name := c.Params("*")
		if name == "" {
			name = "index.html"
		}
		f, ok := files[name]
		if !ok {
			return api.NewProblem(http.StatusNotFound, "no such console file: "+name)
		}
		c.Set(fiber.HeaderCacheControl, "no-cache")
		c.Set(fiber.HeaderETag, f.etag)
		if match := c.Get(fiber.HeaderIfNoneMatch); match != "" && match == f.etag {
			return c.SendStatus(http.StatusNotModified)
		}
		c.Set(fiber.HeaderContentType, f.ctype)
		return c.Send(f.body)
	})
}

func setSecurityHeaders(c *fiber.Ctx) {
	for _, h := range securityHeaders {
		c.Set(h[0], h[1])
	}
}

// load reads the embedded files once, with their content types and ETags.
func load() map[string]file {
	root, err := fs.Sub(assets, "assets")
	if err != nil {
		panic("console: " + err.Error()) // the embed directive guarantees it
	}
	files := map[string]file{}
	err = fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(root, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		files[p] = file{body: b, ctype: contentType(p), etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
		return nil
	})
	if err != nil {
		panic("console: " + err.Error()) // embedded files always read
	}
	return files
}

// contentType is the media type of a console file by its extension;
// JavaScript modules must be served as JavaScript to run.
func contentType(name string) string {
	switch path.Ext(name) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}

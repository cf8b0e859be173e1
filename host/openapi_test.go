package host

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/api/apitest"
)

// contract is the OpenAPI document every test answer is checked against
// (testBundle.do and liveClient.send): an answer the document does not
// describe fails the test that saw it.
var contract = sync.OnceValues(apitest.Load)

// checkContract fails t when an answer is not what openapi.json documents.
func checkContract(t testing.TB, method, path string, status int, contentType string, body []byte) {
	t.Helper()
	k, err := contract()
	require.NoError(t, err)
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	if err := k.Check(method, path, status, contentType, body); err != nil {
		t.Errorf("openapi.json: %v", err)
	}
}

func TestOpenAPI_SchemasCompile(t *testing.T) {
	t.Parallel()
	k, err := contract()
	require.NoError(t, err)
	require.NoError(t, k.CompileAll())
}

// fiberParam matches a Fiber path parameter (":name") or wildcard.
var fiberParam = regexp.MustCompile(`:([A-Za-z0-9_]+)|\*`)

// TestOpenAPI_DocumentsEveryRoute walks the routes the server registers and
// fails on any route or method missing from openapi.json, and on any
// documented operation the server does not have.
func TestOpenAPI_DocumentsEveryRoute(t *testing.T) {
	t.Parallel()
	k, err := contract()
	require.NoError(t, err)
	b := setup(t)
	registered := map[apitest.Operation]bool{}
	for _, r := range b.srv.App().GetRoutes(true) {
		switch r.Method {
		case http.MethodConnect:
			continue // OpenAPI cannot describe CONNECT; Fiber's All registers it
		}
		path := fiberParam.ReplaceAllStringFunc(r.Path, func(p string) string {
			if p == "*" {
				return "{path}"
			}
			return "{" + p[1:] + "}"
		})
		op := apitest.Operation{Path: path, Method: r.Method}
		if r.Method == http.MethodHead && !k.Has(path, r.Method) && hasGet(b, r.Path) {
			continue // HEAD of a GET route is that route without a body
		}
		registered[op] = true
		if !k.Has(op.Path, op.Method) {
			t.Errorf("%s %s is served but not in host/api/openapi.json", op.Method, op.Path)
		}
	}
	for _, op := range k.Operations() {
		if !registered[op] {
			t.Errorf("%s %s is in host/api/openapi.json but the server has no such route", op.Method, op.Path)
		}
	}
	require.NotEmpty(t, registered)
}

func hasGet(b *testBundle, path string) bool {
	return slices.ContainsFunc(b.srv.App().GetRoutes(true), func(r fiber.Route) bool {
		return r.Method == http.MethodGet && r.Path == path
	})
}

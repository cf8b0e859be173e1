// Package apitest checks HTTP answers against hookhost's OpenAPI document
// (host/api/openapi.json): that the route and method are documented, that
// the status is one the operation documents, and that a JSON body matches
// the documented schema. Tests use it so the document cannot drift from
// what the server does.
package apitest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/hookhost/hookhost/host/api"
)

// docURL names the document for the schema compiler.
const docURL = "https://hookhost.invalid/openapi.json"

// Methods are the HTTP methods an OpenAPI path item can document.
var Methods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// Contract is the OpenAPI document, ready to check answers. It is safe
// for concurrent use.
type Contract struct {
	doc      map[string]any
	paths    []template
	compiler *jsonschema.Compiler
	mu       sync.Mutex // the compiler is not safe for concurrent use
	schemas  map[string]*jsonschema.Schema
}

// template is one documented path.
type template struct {
	path     string   // "/api/v1/webhooks/{id}"
	segments []string // "api", "v1", "webhooks", "{id}"
	item     map[string]any
}

// Load parses and compiles the document.
func Load() (*Contract, error) {
	var doc map[string]any
	if err := json.Unmarshal(api.OpenAPI(), &doc); err != nil {
		return nil, fmt.Errorf("openapi.json: %w", err)
	}
	raw, err := jsonschema.UnmarshalJSON(bytes.NewReader(api.OpenAPI()))
	if err != nil {
		return nil, fmt.Errorf("openapi.json: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource(docURL, raw); err != nil {
		return nil, fmt.Errorf("openapi.json: %w", err)
	}
	k := &Contract{doc: doc, compiler: c, schemas: map[string]*jsonschema.Schema{}}
	paths, _ := doc["paths"].(map[string]any)
	for p, it := range paths {
		item, ok := it.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("openapi.json: path %s is not an object", p)
		}
		k.paths = append(k.paths, template{path: p, segments: strings.Split(strings.Trim(p, "/"), "/"), item: item})
	}
	// Literal segments beat parameters: the most literal template first.
	slices.SortFunc(k.paths, func(a, b template) int { return params(a) - params(b) })
	return k, nil
}

func params(t template) int {
	n := 0
	for _, s := range t.segments {
		if strings.HasPrefix(s, "{") {
			n++
		}
	}
	return n
}

// Operation is one documented method of a path.
type Operation struct {
	Path, Method string
}

// Operations lists every documented operation.
func (k *Contract) Operations() []Operation {
	var out []Operation
	for _, t := range k.paths {
		for _, m := range Methods {
			if _, ok := t.item[m]; ok {
				out = append(out, Operation{Path: t.path, Method: strings.ToUpper(m)})
			}
		}
	}
	slices.SortFunc(out, func(a, b Operation) int {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		return strings.Compare(a.Method, b.Method)
	})
	return out
}

// Has reports whether the document has the path template (as written in
// the document) with the method.
func (k *Contract) Has(path, method string) bool {
	for _, t := range k.paths {
		if t.path == path {
			_, ok := t.item[strings.ToLower(method)]
			return ok
		}
	}
	return false
}

// match finds the template of a request path. A trailing {path}
// parameter takes the rest of the path.
func (k *Contract) match(path string) (template, bool) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for _, t := range k.paths {
		if matches(t.segments, segs) {
			return t, true
		}
	}
	return template{}, false
}

func matches(tmpl, segs []string) bool {
	for i, ts := range tmpl {
		if i >= len(segs) {
			return false
		}
		if ts == "{path}" && i == len(tmpl)-1 {
			return true
		}
		if strings.HasPrefix(ts, "{") {
			if segs[i] == "" {
				return false
			}
			continue
		}
		if ts != segs[i] {
			return false
		}
	}
	return len(tmpl) == len(segs)
}

// Check checks one answer: the operation of method and path must be
// documented (an undocumented path may only answer a 404 or 405 problem),
// status must be one it documents (or its default), and a JSON body must
// match the documented schema of that status and media type.
func (k *Contract) Check(method, path string, status int, contentType string, body []byte) error {
	t, ok := k.match(path)
	if !ok {
		if (status == http.StatusNotFound || status == http.StatusMethodNotAllowed) && mediaType(contentType) == api.ProblemType {
			return nil
		}
		return fmt.Errorf("%s %s answered %d, and the path is not in openapi.json", method, path, status)
	}
	op, ok := t.item[strings.ToLower(method)].(map[string]any)
	if !ok {
		if method == http.MethodHead {
			if op, ok = t.item["get"].(map[string]any); ok {
				body = nil // HEAD answers GET's headers without its body
			}
		}
		if !ok {
			switch {
			case status == http.StatusMethodNotAllowed || status == http.StatusNotFound:
				return nil
			case strings.HasPrefix(path, "/api/") && (status == http.StatusUnauthorized || status == http.StatusTooManyRequests):
				return nil // the admin token is checked before the route
			}
			return fmt.Errorf("%s %s (%s) answered %d, and the method is not in openapi.json", method, path, t.path, status)
		}
	}
	responses, _ := op["responses"].(map[string]any)
	code := strconv.Itoa(status)
	resp, ok := responses[code]
	ptr := "/paths/" + escape(t.path) + "/" + strings.ToLower(method) + "/responses/" + code
	if !ok {
		if resp, ok = responses["default"]; !ok {
			return fmt.Errorf("%s %s (%s) answered %d, which openapi.json does not document for it (documented: %s)",
				method, path, t.path, status, strings.Join(keys(responses), ", "))
		}
		ptr = "/paths/" + escape(t.path) + "/" + strings.ToLower(method) + "/responses/default"
	}
	r, rptr := k.deref(resp.(map[string]any), ptr)
	content, _ := r["content"].(map[string]any)
	if len(body) == 0 {
		return nil
	}
	mt := mediaType(contentType)
	media, ok := content[mt]
	if !ok {
		if media, ok = content["*/*"]; !ok {
			// An operation whose default answer is anything (a webhook: the
			// automation's own status and body) may give any documented
			// status that way too.
			if def, hasDefault := responses["default"].(map[string]any); hasDefault {
				dc, _ := def["content"].(map[string]any)
				if _, anything := dc["*/*"]; anything {
					return nil
				}
			}
		}
		if !ok {
			return fmt.Errorf("%s %s (%s) answered %d with %s, which openapi.json does not document (documented: %s)",
				method, path, t.path, status, mt, strings.Join(keys(content), ", "))
		}
		mt = "*/*"
	}
	if _, hasSchema := media.(map[string]any)["schema"]; !hasSchema || !isJSON(mt) {
		return nil
	}
	sch, err := k.schema(rptr + "/content/" + escape(mt) + "/schema")
	if err != nil {
		return err
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s %s answered %d with a body that is not JSON: %v", method, path, status, err)
	}
	if err := sch.Validate(v); err != nil {
		return fmt.Errorf("%s %s answered %d with a body that does not match openapi.json (%s): %v\nbody: %s", method, path, status, rptr, err, body)
	}
	return nil
}

// deref follows a response $ref.
func (k *Contract) deref(r map[string]any, ptr string) (map[string]any, string) {
	ref, ok := r["$ref"].(string)
	if !ok {
		return r, ptr
	}
	name := strings.TrimPrefix(ref, "#/components/responses/")
	comps, _ := k.doc["components"].(map[string]any)
	resps, _ := comps["responses"].(map[string]any)
	out, _ := resps[name].(map[string]any)
	return out, "/components/responses/" + escape(name)
}

// schema compiles (once) the schema at a JSON pointer into the document.
func (k *Contract) schema(ptr string) (*jsonschema.Schema, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if s, ok := k.schemas[ptr]; ok {
		return s, nil
	}
	s, err := k.compiler.Compile(docURL + "#" + ptr)
	if err != nil {
		return nil, fmt.Errorf("openapi.json: compile %s: %w", ptr, err)
	}
	k.schemas[ptr] = s
	return s, nil
}

// CompileAll compiles every schema of the document's components (a check
// that the document is well formed).
func (k *Contract) CompileAll() error {
	comps, _ := k.doc["components"].(map[string]any)
	schemas, _ := comps["schemas"].(map[string]any)
	for name := range schemas {
		if _, err := k.schema("/components/schemas/" + escape(name)); err != nil {
			return err
		}
	}
	return nil
}

func escape(s string) string { return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1") }

func mediaType(ct string) string {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return strings.TrimSpace(strings.ToLower(ct))
	}
	return mt
}

func isJSON(mt string) bool { return mt == "application/json" || strings.HasSuffix(mt, "+json") }

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

package admin

import (
	"net/http"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/hookhost/hookhost/host/api"
)

// route is one operation of the admin API: a method on a path under
// /api/v1 (":name" segments are parameters, as Fiber spells them).
type route struct {
	method  string
	path    string
	handler fiber.Handler
}

// routeTable knows every admin route, so that a request for a known path
// with a method the path does not serve is answered 405 with an Allow
// header, not 404.
type routeTable struct {
	paths []routePath
}

// routePath is one path template and the methods it serves.
type routePath struct {
	segments []string // "webhooks", ":id", "rotate"
	methods  []string // sorted; HEAD with GET, as Fiber registers it
}

// add records that method is served on path.
func (t *routeTable) add(method, path string) {
	segs := splitPath(path)
	i := slices.IndexFunc(t.paths, func(p routePath) bool { return slices.Equal(p.segments, segs) })
	if i < 0 {
		t.paths = append(t.paths, routePath{segments: segs})
		i = len(t.paths) - 1
	}
	p := &t.paths[i]
	p.methods = append(p.methods, method)
	if method == fiber.MethodGet {
		p.methods = append(p.methods, fiber.MethodHead)
	}
	slices.Sort(p.methods)
	p.methods = slices.Compact(p.methods)
}

// allowed returns the methods served on a request path (relative to
// /api/v1), or nil when no route has the path. Literal segments beat
// parameters, and matching ignores case and a trailing slash, as Fiber's
// router does by default.
func (t *routeTable) allowed(path string) []string {
	methods, _ := t.match(path)
	return methods
}

// match returns the methods of the route that matches path most exactly
// (fewest parameters) and how many parameters that route has (-1: none
// matches).
func (t *routeTable) match(path string) ([]string, int) {
	methods, params, _ := t.route(path)
	return methods, params
}

// segment returns the i-th segment of the path template of the route that
// matches path most exactly (":id" for a parameter), or "".
func (t *routeTable) segment(path string, i int) string {
	if _, _, segs := t.route(path); i < len(segs) {
		return segs[i]
	}
	return ""
}

// route is match, with the matching route's path template segments.
func (t *routeTable) route(path string) ([]string, int, []string) {
	segs := splitPath(path)
	var best, bestSegs []string
	bestParams := -1
	for _, p := range t.paths {
		if len(p.segments) != len(segs) {
			continue
		}
		params, ok := 0, true
		for i, s := range p.segments {
			switch {
			case strings.HasPrefix(s, ":"):
				params++
			case !strings.EqualFold(s, segs[i]):
				ok = false
			}
			if !ok {
				break
			}
		}
		if ok && (bestParams < 0 || params < bestParams) {
			best, bestParams, bestSegs = p.methods, params, p.segments
		}
	}
	return best, bestParams, bestSegs
}

// shadowed answers 405 for a method a fixed path does not serve before a
// route with a parameter can take it: GET /webhooks/validate is not the
// webhook named "validate".
func (t *routeTable) shadowed(c *fiber.Ctx) error {
	rel := strings.TrimPrefix(c.Path(), "/api/v1")
	if methods, params := t.match(rel); params == 0 && !slices.Contains(methods, c.Method()) && c.Method() != fiber.MethodOptions {
		return t.notFound(c)
	}
	return c.Next()
}

func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// notFound is the last handler under /api/v1: 405 with Allow for a known
// path asked with another method, 404 otherwise.
func (t *routeTable) notFound(c *fiber.Ctx) error {
	rel := strings.TrimPrefix(c.Path(), "/api/v1")
	if methods := t.allowed(rel); len(methods) > 0 && !slices.Contains(methods, c.Method()) {
		allow := strings.Join(methods, ", ")
		c.Set(fiber.HeaderAllow, allow)
		return api.NewProblem(http.StatusMethodNotAllowed, c.Method()+" is not allowed on "+c.Path()+"; allowed: "+allow)
	}
	return api.NewProblem(http.StatusNotFound, "no such admin API route: "+c.Method()+" "+c.Path())
}

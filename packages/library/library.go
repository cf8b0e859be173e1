// Package library holds hookhost's built-in packages, embedded in the
// binary and importable by name (hookhost import webhook-example).
//
// Each package is a file <name>.json of this folder:
//
//   - webhook-example: the Cerb guide's "Configure webhooks" package, an
//     automation that answers with a JSON summary of the request.
//   - echo-json: an automation echoing the request (method, path, query,
//     headers, client IP, body) as JSON, and a webhook bound to it; its
//     prompt "prefix" (default "example") prefixes the automation's name.
//   - deploy-example: example.deploy, the automation README.md's event
//     KATA, secrets, verify, jobs and limits examples call; it declares its
//     inputs (environment, api_key), logs, and answers with what it got.
package library

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"
)

//go:embed *.json
var files embed.FS

// ErrNotFound is returned by Get for a name that is not a built-in package.
var ErrNotFound = errors.New("library: no such package")

// Get returns the JSON of the built-in package with the given name (its
// file name without ".json").
func Get(name string) ([]byte, error) {
	if name == "" || strings.ContainsAny(name, `/\`) || !fs.ValidPath(name) {
		return nil, fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	b, err := files.ReadFile(name + ".json")
	if err != nil {
		return nil, fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	return b, nil
}

// List returns the names of the built-in packages, sorted.
func List() []string {
	entries, err := fs.Glob(files, "*.json")
	if err != nil {
		return nil
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e, ".json"))
	}
	sort.Strings(names)
	return names
}

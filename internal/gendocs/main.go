// Command gendocs writes docs/reference.md, the reference of what hookhost's
// automations may use (triggers, flow nodes, commands, annotations, filters
// and functions), from the tables the engine itself uses:
// automations.KnownTriggers, automations.Commands, automations.Annotations,
// templates.FilterNames and templates.FunctionNames.
//
// Run it from the repository root with `make docs`, or:
//
//	go run ./internal/gendocs [-o docs/reference.md]
//
// TestReferenceIsCurrent fails when docs/reference.md is stale; `go test
// ./internal/gendocs -update` rewrites it too.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	out := flag.String("o", filepath.Join("docs", "reference.md"), "file to write")
	flag.Parse()
	if err := write(*out); err != nil {
		fmt.Fprintln(os.Stderr, "gendocs:", err)
		os.Exit(1)
	}
}

// write renders the reference into path, creating its directory.
func write(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write reference: %w", err)
	}
	if err := os.WriteFile(path, render(), 0o644); err != nil {
		return fmt.Errorf("write reference: %w", err)
	}
	return nil
}

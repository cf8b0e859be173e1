// Command twig records what the real Twig (php-twig 3.5.1, configured as
// Cerb configures it for automations) renders for every case this program
// generates, into testdata/twig/<area>.txtar, and lists in
// testdata/twig/deliberate.txt the cases whose difference DESIGN.md decides
// (Twig prints "Array" for a map or list; hookhost prints JSON).
//
//	go run ./internal/oracle/twig            # from the repository root; needs php-cli and php-twig
//	go run ./internal/oracle/twig -out DIR   # write elsewhere
//	go run ./internal/oracle/twig -out /tmp/t -autoload $CERB_DIR/app/vendor/autoload.php
//	                                         # render with the Twig Cerb bundles, to compare
//
// Each case is a template and its variables (a JSON object that PHP decodes
// with json_decode(..., true), so key order and PHP array key semantics are
// Twig's). Twig's answer is the rendered text ("output"), or the exception
// ("error": class and message); PHP warnings and notices raised while
// rendering are kept as "warning". templates/twig_oracle_test.go renders the
// same cases with hookhost's templates and compares them byte for byte.
package main

import (
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hookhost/hookhost/internal/oracle"
)

//go:embed render.php
var renderPHP []byte

type result struct {
	ID         string   `json:"id"`
	OutputB64  *string  `json:"output_b64"`
	ErrorClass string   `json:"error_class"`
	Error      string   `json:"error"`
	Warnings   []string `json:"warnings"`
}

func main() {
	out := flag.String("out", "testdata/twig", "directory of the golden files")
	php := flag.String("php", "php", "PHP command line interpreter")
	autoload := flag.String("autoload", "", "PHP autoload file that provides Twig (default: Debian's php-twig)")
	flag.Parse()
	if err := run(*out, *php, *autoload); err != nil {
		fmt.Fprintln(os.Stderr, "twig oracle:", err)
		os.Exit(1)
	}
}

func run(dir, php, autoload string) error {
	cases := generate()
	if err := check(cases); err != nil {
		return err
	}
	tmp, err := os.CreateTemp("", "render-*.php")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(renderPHP); err != nil {
		return err
	}
	tmp.Close()

	type in struct {
		ID       string `json:"id"`
		Template string `json:"template"`
		Vars     string `json:"vars"`
	}
	ins := make([]in, len(cases))
	for i, c := range cases {
		ins[i] = in{c.id(), c.tpl, c.vars}
	}
	stdin, err := json.Marshal(ins)
	if err != nil {
		return err
	}
	args := []string{"-d", "memory_limit=1G", tmp.Name()}
	if autoload != "" {
		args = append(args, autoload)
	}
	cmd := exec.Command(php, args...)
	cmd.Stdin = strings.NewReader(string(stdin))
	cmd.Stderr = os.Stderr
	stdout, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("php: %w", err)
	}
	var results []result
	if err := json.Unmarshal(stdout, &results); err != nil {
		return fmt.Errorf("php answered no JSON: %w", err)
	}
	if len(results) != len(cases) {
		return fmt.Errorf("php answered %d results for %d cases", len(results), len(cases))
	}

	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	old, _ := filepath.Glob(filepath.Join(dir, "*.txtar"))
	for _, p := range old {
		if err := os.Remove(p); err != nil {
			return err
		}
	}
	files := map[string]*oracle.File{}
	var areas []string
	deliberate := oracle.List{}
	errorsN, warned := 0, 0
	for i, c := range cases {
		r := results[i]
		if r.ID != c.id() {
			return fmt.Errorf("result %d is %s, want %s", i, r.ID, c.id())
		}
		f := files[c.area]
		if f == nil {
			f = &oracle.File{Area: c.area, Comment: fmt.Sprintf(
				"Twig oracle: %s. Recorded from php-twig 3.5.1 (autoescape off, strict_variables off,\n"+
					"timezone UTC) by `make oracles` (go run ./internal/oracle/twig). Do not edit: re-record.\n", areaTitle[c.area])}
			files[c.area] = f
			areas = append(areas, c.area)
		}
		oc := &oracle.Case{Name: c.name}
		oc.Set("template", c.tpl)
		if c.vars != "{}" {
			oc.Set("vars", c.vars)
		}
		switch {
		case r.OutputB64 != nil:
			b, err := base64.StdEncoding.DecodeString(*r.OutputB64)
			if err != nil {
				return err
			}
			oc.Set("output", string(b))
		default:
			oc.Set("error", r.ErrorClass+": "+r.Error)
			errorsN++
		}
		if len(r.Warnings) > 0 {
			oc.Set("warning", strings.Join(r.Warnings, "\n"))
			warned++
			for _, w := range r.Warnings {
				if r.OutputB64 != nil && strings.Contains(w, "Array to string conversion") {
					deliberate[c.id()] = "Twig prints a map or list as \"Array\"; hookhost prints JSON (DESIGN.md)"
				}
			}
		}
		f.Cases = append(f.Cases, oc)
	}
	sort.Strings(areas)
	for _, a := range areas {
		if err := oracle.WriteFile(dir, files[a]); err != nil {
			return err
		}
	}
	if err := oracle.WriteList(filepath.Join(dir, "deliberate.txt"),
		"Twig oracle cases where hookhost differs from Twig on purpose (shared/DESIGN.md, \"Product decisions\").\n"+
			"Written by `make oracles` (go run ./internal/oracle/twig): every case in which Twig converted an array to\n"+
			"the text \"Array\". templates/twig_oracle_test.go does not count these as differences.", deliberate); err != nil {
		return err
	}
	fmt.Printf("twig oracle: %d cases in %d areas (%d errors, %d with PHP warnings, %d deliberate) written to %s\n",
		len(cases), len(areas), errorsN, warned, len(deliberate), dir)
	return nil
}

func check(cases []tcase) error {
	seen := map[string]bool{}
	for _, c := range cases {
		id := c.id()
		if seen[id] {
			return fmt.Errorf("case %s is generated twice", id)
		}
		seen[id] = true
		if c.name == "" || strings.ContainsAny(c.name, " \t\n#") || strings.HasSuffix(c.name, ".q") {
			return fmt.Errorf("case name %q: no blanks or #, not empty", id)
		}
		if _, ok := areaTitle[c.area]; !ok {
			return fmt.Errorf("case %s: area %q has no title", id, c.area)
		}
		var v map[string]any
		if err := json.Unmarshal([]byte(c.vars), &v); err != nil {
			return fmt.Errorf("case %s: vars are not a JSON object: %v", id, err)
		}
	}
	return nil
}

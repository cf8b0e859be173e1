package automations_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/automations"
	"github.com/hookhost/hookhost/templates"
)

// The corpus floors, as measured when they were set. TestCorpus fails when
// fewer scripts compile, so no change can lose one unnoticed. When a change
// makes more of them compile, raise corpusCompileFloor to the count the test
// logs ("corpus: 259 scripts, N compile"); when the corpus itself changes,
// set both constants to the new counts.
const (
	// corpusScripts is the number of scripts in
	// testdata/corpus/cerb-automations.jsonl.
	corpusScripts = 259
	// corpusCompileFloor is the least number of them that must compile.
	// (144: the log.md docs example uses log.alert:, which a real Cerb
	// 10.4.10 refuses to save.)
	corpusCompileFloor = 144
)

type corpusEntry struct {
	Source  string `json:"source"`
	Trigger string `json:"trigger"`
	Script  string `json:"script"`
	Policy  string `json:"policy"`
}

var (
	reUnknownCommand = regexp.MustCompile("^Unexpected command `(?:[^`]*:)?([^:/`]+)(?:/[^:`]*)?:`")
	reDiagReason     = regexp.MustCompile("^([^:`\"]+)")
)

// corpusReason names the kind of a diagnostic for the corpus summary.
func corpusReason(d *automations.Diagnostic) string {
	switch {
	case strings.HasPrefix(d.Msg, "template syntax"):
		return d.Source + ": template syntax"
	case strings.HasPrefix(d.Msg, "Unexpected command `") && !strings.Contains(d.Msg, "Expected"):
		if m := reUnknownCommand.FindStringSubmatch(d.Msg); m != nil {
			return d.Source + ": unknown command " + m[1]
		}
	case strings.HasPrefix(d.Msg, "`authentication:`"):
		return d.Source + ": http.request authentication (unsupported)"
	case strings.Contains(d.Msg, "has a sibling with the same name"):
		return d.Source + ": duplicate sibling key"
	case strings.Contains(d.Msg, "not supported by the webhook.respond"):
		return d.Source + ": await in webhook.respond"
	}
	if m := reDiagReason.FindStringSubmatch(d.Msg); m != nil {
		return d.Source + ": " + strings.TrimSpace(m[1])
	}
	return d.Source + ": " + d.Msg
}

// TestCorpus compiles every script of the Cerb corpus and reports why the
// ones that fail do. It fails when fewer than corpusCompileFloor compile,
// or when a refusal is not Diagnostics.
func TestCorpus(t *testing.T) {
	t.Parallel()
	f, err := os.Open(filepath.Join("..", "testdata", "corpus", "cerb-automations.jsonl"))
	require.NoError(t, err)
	defer f.Close()
	env := templates.New()
	reasons := map[string]int{}
	total, ok, failedScripts := 0, 0, 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e corpusEntry
		require.NoError(t, json.Unmarshal(sc.Bytes(), &e))
		total++
		_, err := automations.Compile(automations.Source{Name: e.Source, Trigger: e.Trigger, Script: e.Script, Policy: e.Policy},
			automations.Options{Templates: env})
		if err == nil {
			ok++
			continue
		}
		failedScripts++
		var ds automations.Diagnostics
		require.True(t, errors.As(err, &ds), "%s: compile error is %T: %v", e.Source, err, err)
		seen := map[string]bool{}
		for _, d := range ds {
			r := corpusReason(d)
			if !seen[r] {
				seen[r] = true
				reasons[r]++
			}
		}
	}
	require.NoError(t, sc.Err())
	keys := make([]string, 0, len(reasons))
	for k := range reasons {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if reasons[keys[i]] != reasons[keys[j]] {
			return reasons[keys[i]] > reasons[keys[j]]
		}
		return keys[i] < keys[j]
	})
	t.Logf("corpus: %d scripts, %d compile, %d refused", total, ok, failedScripts)
	for _, k := range keys {
		t.Logf("  %s: %d", k, reasons[k])
	}
	require.Equal(t, corpusScripts, total, "scripts in the corpus; if it changed, set corpusScripts and corpusCompileFloor to the new counts")
	require.GreaterOrEqual(t, ok, corpusCompileFloor, "corpus scripts that compile (corpusCompileFloor)")
	if ok > corpusCompileFloor {
		t.Logf("%d scripts compile, more than corpusCompileFloor (%d): raise it to %d", ok, corpusCompileFloor, ok)
	}
}

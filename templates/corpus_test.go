package templates_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/automations/kata"
	"github.com/hookhost/hookhost/templates"
)

// The corpus floors, as measured when they were set: how many scripts and
// policies with templates but without Cerb platform functions must have all
// their templates compile (measured: scripts 146 of 151, policies 78 of
// 78). TestCorpus fails below them, so no change can lose one unnoticed.
// When a change makes more compile, raise the floor to the count the test
// logs ("scripts: …: N compile"); when the corpus itself changes, set the
// constants to the new counts.
const (
	// corpusScripts and corpusPolicies are the numbers of scripts and
	// policies in testdata/corpus/cerb-automations.jsonl.
	corpusScripts, corpusPolicies = 259, 118
	// corpusScriptFloor is the least number of scripts whose templates
	// all compile.
	corpusScriptFloor = 146
	// corpusPolicyFloor is the least number of policies whose templates
	// all compile.
	corpusPolicyFloor = 78
)

type corpusEntry struct {
	Source string `json:"source"`
	Script string `json:"script"`
	Policy string `json:"policy"`
}

// corpusTally counts one kind of KATA source (scripts or policies).
type corpusTally struct {
	name                           string
	total, templated, ok, platform int
	templates                      int
	failures                       []string
}

// corpusTemplates returns the values of a KATA document that are
// templates (@raw values are not rendered, so they are skipped).
func corpusTemplates(n *kata.Node) []*kata.Node {
	var out []*kata.Node
	var walk func(*kata.Node)
	walk = func(n *kata.Node) {
		if n.HasAnnotation("raw") {
			return
		}
		if n.Kind != kata.Object && templates.HasMarkup(n.Value) {
			out = append(out, n)
		}
		for _, c := range n.Children {
			walk(c)
		}
	}
	walk(n)
	return out
}

func (c *corpusTally) add(env *templates.Env, source, name, src string) {
	if src == "" {
		return
	}
	c.total++
	doc, err := kata.Parse(name, src)
	if err != nil {
		if templates.HasMarkup(src) {
			c.templated++
			c.failures = append(c.failures, fmt.Sprintf("%s: KATA: %v", source, err))
		}
		return
	}
	nodes := corpusTemplates(doc.Root)
	if len(nodes) == 0 {
		return
	}
	c.templated++
	c.templates += len(nodes)
	var fails []string
	platform := false
	for _, n := range nodes {
		_, err := env.Compile(n.Value)
		if err == nil {
			continue
		}
		var te *templates.Error
		if !errors.As(err, &te) {
			fails = append(fails, fmt.Sprintf("error %T is not a *templates.Error: %v", err, err))
			continue
		}
		if strings.Contains(te.Msg, "is a Cerb platform") {
			platform = true
			continue
		}
		fails = append(fails, fmt.Sprintf("%s at %d:%d (value at %s): %v", n.Key, te.Line, te.Col, n.ValuePos, te.Msg))
	}
	switch {
	case len(fails) > 0:
		c.failures = append(c.failures, source+": "+strings.Join(fails, "; "))
	case platform:
		c.platform++
	default:
		c.ok++
	}
}

// report logs the tally and its failures, and fails t if the counts are
// off: the number of sources is not total, or fewer than floor compile.
func (c *corpusTally) report(t *testing.T, total, floor int) {
	t.Helper()
	rate := float64(c.ok) / float64(max(c.templated-c.platform, 1))
	t.Logf("%s: %d, %d with templates (%d templates): %d compile, %d use Cerb platform functions, %d fail; %.1f%% of the templated ones without platform functions compile",
		c.name, c.total, c.templated, c.templates, c.ok, c.platform, len(c.failures), 100*rate)
	sort.Strings(c.failures)
	for _, f := range c.failures {
		t.Logf("  FAIL %s", f)
	}
	require.Equal(t, total, c.total, "%s in the corpus; if it changed, set the corpus constants to the new counts", c.name)
	require.GreaterOrEqual(t, c.ok, floor, "%s whose templates all compile (the corpus floor)", c.name)
	if c.ok > floor {
		t.Logf("%d %s compile, more than the floor (%d): raise it to %d", c.ok, c.name, floor, c.ok)
	}
}

// TestCorpus compiles every template of the Cerb automation corpus, in the
// scripts and in the policies, and fails when fewer compile than the
// corpus floors.
func TestCorpus(t *testing.T) {
	t.Parallel()
	f, err := os.Open(filepath.Join("..", "testdata", "corpus", "cerb-automations.jsonl"))
	require.NoError(t, err)
	defer f.Close()
	env := templates.New()
	scripts := &corpusTally{name: "scripts"}
	policies := &corpusTally{name: "policies"}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e corpusEntry
		require.NoError(t, json.Unmarshal(sc.Bytes(), &e))
		scripts.add(env, e.Source, "script", e.Script)
		policies.add(env, e.Source, "policy", e.Policy)
	}
	require.NoError(t, sc.Err())
	require.Positive(t, scripts.templated)
	require.Positive(t, policies.templated)
	scripts.report(t, corpusScripts, corpusScriptFloor)
	policies.report(t, corpusPolicies, corpusPolicyFloor)
}

package kata_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/automations/kata"
)

type corpusEntry struct {
	Source  string `json:"source"`
	Trigger string `json:"trigger"`
	Script  string `json:"script"`
	Policy  string `json:"policy"`
}

func readCorpus(tb testing.TB) []corpusEntry {
	tb.Helper()
	f, err := os.Open("../../testdata/corpus/cerb-automations.jsonl")
	require.NoError(tb, err)
	defer f.Close()
	var out []corpusEntry
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<20), 1<<24)
	for sc.Scan() {
		var e corpusEntry
		require.NoError(tb, json.Unmarshal(sc.Bytes(), &e))
		out = append(out, e)
	}
	require.NoError(tb, sc.Err())
	require.NotEmpty(tb, out)
	return out
}

// cerbRejects lists the corpus entries that Cerb 10.4.10's kata.php rejects
// too, with the error hookhost must give. Every other script and policy must
// parse.
var cerbRejects = map[string]string{
	// testDuplicateSibling: a negative test, two `await:` siblings.
	"jstanden/cerb:tests/devblocks/services/DevblocksAutomationTest.php#9": "script:5:3: `await:` has a sibling with the same name (first at line 2)",
	// Extraction artifact: the docs page's HTML (</pre>, <code>) is in the text.
	"cerb/cerb.github.io:_docs/automations/commands/file.read.md#2": `script:9:1: unexpected syntax: "</pre>"`,
	// An empty line ends a text block; the deeper line after it is read as a
	// key (Cerb: "Unexpected syntax (line 14)").
	"cerb/cerb.github.io@21334352d396:_workflows/cerb.integrations.slack.notifications.md#1": `script:14:9: unexpected syntax: "{{message_content|truncate(512)}}"`,
	"cerb/cerb.github.io@030cd53d50b1:_workflows/cerb.notifications.mention_emailer.md#1":    `script:40:21: unexpected syntax: "{{record_comment}}"`,
	// A Twig template that renders to KATA: {% for %} lines are not KATA.
	"cerb/cerb.github.io@4cd8dd422457:_workflows/wgm.example.new_ticket_interaction_with_snippets.md#1": `script:30:7: unexpected syntax: "{% for prompt in inputs.snippet.prompts %}"`,
}

func TestCorpus(t *testing.T) {
	t.Parallel()

	var scripts, policies, nodes, rejected int
	var failures []string
	count := func(n *kata.Node) {
		var walk func(*kata.Node)
		walk = func(n *kata.Node) {
			nodes += len(n.Children)
			for _, c := range n.Children {
				walk(c)
			}
		}
		walk(n)
	}
	for _, e := range readCorpus(t) {
		doc, err := kata.Parse("script", e.Script)
		scripts++
		if want, ok := cerbRejects[e.Source]; ok {
			rejected++
			if err == nil || !strings.Contains(err.Error(), want) {
				failures = append(failures, fmt.Sprintf("%s\nwant an error containing %s, got %v", e.Source, want, err))
			}
		} else if err != nil {
			failures = append(failures, e.Source+"\n"+err.Error())
		} else {
			count(doc.Root)
		}
		if e.Policy == "" {
			continue
		}
		policies++
		doc, err = kata.Parse("policy", e.Policy)
		if err != nil {
			failures = append(failures, e.Source+" (policy)\n"+err.Error())
		} else {
			count(doc.Root)
		}
	}
	t.Logf("corpus: %d scripts (%d rejected as by Cerb), %d policies, %d nodes, %d failures",
		scripts, rejected, policies, nodes, len(failures))
	require.Len(t, cerbRejects, rejected, "every cerbRejects entry is in the corpus")
	require.Empty(t, failures, strings.Join(failures, "\n\n"))
}

func TestCorpusRoundTrip(t *testing.T) {
	t.Parallel()

	for _, e := range readCorpus(t) {
		for _, src := range []string{e.Script, e.Policy} {
			if src == "" {
				continue
			}
			doc, err := kata.Parse("script", src)
			if err != nil {
				continue // reported by TestCorpus
			}
			requireRoundTrip(t, doc)
		}
	}
}

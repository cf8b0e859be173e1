package manifest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParse_Problems(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		files map[string]string
		want  []string // every problem, in order
	}{
		{"UnknownTopLevelKey", map[string]string{"a.yaml": "automation:\n  - name: x\n"},
			[]string{`a.yaml:1:1: unknown key "automation"; did you mean "automations"? (a manifest holds automations:, webhooks:, secrets:, schedules: and subscriptions:)`}},
		{"UnknownField", map[string]string{"a.yaml": "automations:\n  - name: x\n    script: \"start:\"\n    scirpt: y\n"},
			[]string{`a.yaml:4:5: unknown field "scirpt" of automation; did you mean "script"? (its fields: name, extension_id, description, script, script_file, policy_kata, policy_kata_file)`}},
		{"NotAList", map[string]string{"a.yaml": "webhooks:\n  name: x\n"},
			[]string{`a.yaml:2:3: webhooks: must be a list (each item starting with -)`}},
		{"NotAMapping", map[string]string{"a.yaml": "- 1\n"},
			[]string{`a.yaml:1:1: a manifest is a mapping with the lists automations:, webhooks:, secrets:, schedules: and subscriptions:`}},
		{"YAMLSyntax", map[string]string{"a.yaml": "secrets: [\n"},
			[]string{`a.yaml:1:10: sequence end token ']' not found`}},
		{"MissingFields", map[string]string{"a.yaml": "automations:\n  - description: d\nwebhooks:\n  - enabled: true\nsecrets:\n  - from_env: X\n"},
			[]string{
				`a.yaml:2:5: name: is required`,
				`a.yaml:2:5: script: (or script_file:) is required`,
				`a.yaml:4:5: name: is required`,
				`a.yaml:4:5: event_kata: (or event_kata_file:) is required`,
				`a.yaml:6:5: name: is required`,
			}},
		{"BadValues", map[string]string{"a.yaml": "automations:\n  - name: bad name\n    script: x\n" +
			"webhooks:\n  - name: w\n    event_kata: x\n    enabled: yes\n    expires_at: tomorrow\n    token_secret: not-a-name\n" +
			"secrets:\n  - name: s\n    from_env: A\n    from_file: b\n"},
			[]string{
				`a.yaml:2:11: name "bad name" must be 1 to 255 letters, digits, dots, dashes and underscores`,
				`a.yaml:7:14: enabled: must be true or false (got yes)`,
				`a.yaml:8:17: expires_at: must be an RFC 3339 time such as 2027-01-02T15:04:05Z, or null for never (got "tomorrow")`,
				`a.yaml:9:19: token_secret: "not-a-name" is not a secret name: a secret name is 1 to 64 letters, digits and underscores`,
				`a.yaml:13:5: give from_env: or from_file:, not both`,
			}},
		{"DeclaredTwice", map[string]string{
			"a.yaml": "automations:\n  - name: x\n    script: \"start:\"\n",
			"b.yaml": "automations:\n  - name: x\n    script: \"start:\"\n---\nsecrets:\n  - name: S\n  - name: S\n",
		}, []string{
			`b.yaml:2:5: automation "x" is declared twice: first at a.yaml:2:5`,
			`b.yaml:7:5: secret "S" is declared twice: first at b.yaml:6:5`,
		}},
		{"ScheduleFields", map[string]string{"a.yaml": "schedules:\n  - name: nightly\n    cron: \"0 3 * * *\"\n    automation: x\n" +
			"    missed: skip\n    inputs: [1]\n    job:\n      max_attempts: many\n      retries: 2\n  - automation: y\n"},
			[]string{
				`a.yaml:5:5: unknown field "missed" of schedule (its fields: name, description, cron, time_zone, automation, inputs, job, enabled, missed_runs)`,
				`a.yaml:6:13: inputs: must be a mapping of the automation's inputs`,
				`a.yaml:9:7: unknown field "retries" of job (its fields: max_attempts, timeout_ms, concurrency, callback_url)`,
				`a.yaml:8:21: max_attempts: must be a whole number (got many)`,
				`a.yaml:10:5: name: is required`,
				`a.yaml:10:5: cron: is required: 5 fields (6 with seconds) or @every <duration>`,
			}},
		{"SubscriptionFields", map[string]string{"a.yaml": "subscriptions:\n  - name: ops\n    url: http://127.0.0.1/x\n" +
			"    events: job.failed\n    webhok: Orders\n  - url: http://127.0.0.1/y\n  - name: a b\n    events: [1]\n"},
			[]string{
				`a.yaml:5:5: unknown field "webhok" of subscription; did you mean "webhook"? (its fields: name, url, events, webhook, description)`,
				`a.yaml:4:13: events: must be a list of event types (job.completed, job.failed, job.stopped, webhook.request.rejected)`,
				`a.yaml:6:5: name: is required: it identifies the subscription in the manifests`,
				`a.yaml:7:11: name "a b" must be 1 to 128 letters, digits, dots, dashes and underscores`,
				`a.yaml:8:14: events: each event type is text`,
			}},
		{"Files", map[string]string{"a.yaml": "automations:\n  - name: x\n    script: a\n    script_file: x.kata\n" +
			"  - name: y\n    script_file: ../y.kata\n  - name: z\n    script_file: missing.kata\n"},
			[]string{
				`a.yaml:4:5: give script: or script_file:, not both`,
				`a.yaml:6:18: script_file: "../y.kata" must be a path relative to the manifest directory, inside it (such as orders.kata or scripts/orders.kata)`,
				`a.yaml:8:18: script_file: missing.kata: file does not exist (it was not sent with the manifests)`,
			}},
		// The YAML parser is quadratic in these: refused before it runs.
		{"NestedTooDeep", map[string]string{"a.yaml": "webhooks:\n  x: " + strings.Repeat("[", 100) + strings.Repeat("]", 100) + "\n"},
			[]string{`a.yaml:2:104: collections nested more than 100 levels deep`}},
		{"NestedTooDeepInBlocks", map[string]string{"a.yaml": "webhooks:\n" + strings.Repeat("- ", 100) + "x\n"},
			[]string{`a.yaml:2:199: collections nested more than 100 levels deep`}},
		{"TooManyKeys", map[string]string{"a.yaml": "schedules:\n  - name: x\n    inputs:\n" + manyKeys("      ", 1001)},
			[]string{`a.yaml:1004:7: a mapping holds more than 1000 keys`}},
		{"TooManyDocuments", map[string]string{"a.yaml": strings.Repeat("---\nsecrets:\n", 1001)},
			[]string{`a.yaml:2001:1: a file holds more than 1000 documents`}},
		{"TooLarge", map[string]string{"a.yaml": "# " + strings.Repeat("x", maxFileBytes) + "\n"},
			[]string{`a.yaml: a.yaml is larger than 4194304 bytes`}},
		{"InputsAlias", map[string]string{"a.yaml": "schedules:\n  - name: x\n    cron: \"@every 1m\"\n    automation: a\n" +
			"    inputs:\n      a: &a [x, x]\n      b: [*a, *a]\n"},
			[]string{`a.yaml:7:11: inputs: aliases (*name) are not supported: write the value out`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse(Files(tt.files))
			var ps Problems
			require.ErrorAs(t, err, &ps)
			var got []string
			for _, p := range ps {
				got = append(got, p.String())
			}
			require.Equal(t, tt.want, got)
		})
	}
}

func TestParse_Declarations(t *testing.T) {
	t.Parallel()
	files := map[string]string{
		"hooks.yaml": `# Orders.
automations:
  - name: shop.orders
    description: "Orders: the shop's"
    script: |
      start:
        return:
          body: ok
webhooks:
  - name: Orders
    event_kata_file: events/orders.kata
    debug: true
    expires_at: 2030-01-02T03:04:05Z
    token_secret: ORDERS_TOKEN
secrets:
  - name: ORDERS_TOKEN
    from_env: ORDERS_TOKEN
  - name: OTHER
`,
		"events/orders.kata": "automation/orders:\n  uri: cerb:automation:shop.orders\n",
		"notes.txt":          "not a manifest",
		".hidden.yaml":       "not: read",
	}
	set, err := Parse(Files(files))
	require.NoError(t, err)
	require.Len(t, set.Automations, 1)
	a := set.Automations[0]
	require.Equal(t, "shop.orders", a.Name)
	require.Equal(t, "cerb.trigger.webhook.respond", a.ExtensionID)
	require.Equal(t, "Orders: the shop's", a.Description)
	require.Equal(t, "start:\n  return:\n    body: ok\n", a.Script)
	require.Equal(t, Pos{File: "hooks.yaml", Line: 3, Col: 5}, a.Pos)
	// The script's line 2, column 3 is the file's line 7, column 9.
	at, prefix := a.script.pos(2, 3)
	require.Equal(t, Pos{File: "hooks.yaml", Line: 7, Col: 9}, at)
	require.Empty(t, prefix)

	require.Len(t, set.Webhooks, 1)
	w := set.Webhooks[0]
	require.Equal(t, files["events/orders.kata"], w.EventKATA)
	require.True(t, w.Enabled)
	require.True(t, w.Debug)
	require.Equal(t, "2030-01-02T03:04:05Z", w.ExpiresAt.Format("2006-01-02T15:04:05Z07:00"))
	require.Equal(t, "ORDERS_TOKEN", w.TokenSecret)
	at, _ = w.event.pos(2, 3)
	require.Equal(t, Pos{File: "events/orders.kata", Line: 2, Col: 3}, at)

	require.Len(t, set.Secrets, 2)
	require.True(t, set.Secrets[0].HasSource())
	require.False(t, set.Secrets[1].HasSource())
	require.Equal(t, []string{"events/orders.kata"}, set.files)
}

func TestUnified(t *testing.T) {
	t.Parallel()
	old := "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\n"
	new := "a\nB\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl\n"
	require.Equal(t, `--- x (now)
+++ x (manifest)
@@ -1,5 +1,5 @@
 a
-b
+B
 c
 d
 e
@@ -9,3 +9,4 @@
 i
 j
 k
+l
`, unified("x", old, new))
	require.Empty(t, unified("x", "same", "same"))
	require.Equal(t, "--- x (now)\n+++ x (manifest)\n@@ -0,0 +1 @@\n+new\n", unified("x", "", "new\n"))
}

// manyKeys is a block mapping of n keys, indented by ind.
func manyKeys(ind string, n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "%sk%d: v\n", ind, i)
	}
	return b.String()
}

// TestParse_HostileShapesAreRefused: 40,000 of what the YAML parser is
// quadratic in (nesting, keys of a mapping, documents) took 1 to 9 s each
// and up to gigabytes; 100,000 nested [ took 58 s. Each is refused before
// the parser reads it (with yamllimit's bounds, the parse of what passes
// them: BenchmarkParse_Bounded in internal/yamllimit).
func TestParse_HostileShapesAreRefused(t *testing.T) {
	t.Parallel()
	const n = 40000
	for name, src := range map[string]string{
		"flow sequences":   "webhooks:\n  x: " + strings.Repeat("[", n) + strings.Repeat("]", n) + "\n",
		"flow mappings":    "webhooks:\n  x: " + strings.Repeat("{a: ", n) + "1" + strings.Repeat("}", n) + "\n",
		"block sequences":  "webhooks:\n" + strings.Repeat("- ", n) + "x\n",
		"keys":             manyKeys("", n),
		"documents":        strings.Repeat("---\nsecrets:\n", n),
		"documents by ...": strings.Repeat("secrets:\n...\n", n),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse(Files(map[string]string{"a.yaml": src}))
			require.ErrorContains(t, err, "a.yaml:")
			require.ErrorContains(t, err, " more than ")
		})
	}
}

package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// writeFiles writes files (name → content) into dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o700))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	}
}

const cliManifest = `automations:
  - name: cli.echo
    script_file: echo.kata
webhooks:
  - name: CLI Echo
    event_kata: |
      automation/echo:
        uri: cerb:automation:cli.echo
  - name: Pinned
    event_kata: |
      automation/echo:
        uri: cerb:automation:cli.echo
    token_secret: PINNED
secrets:
  - name: PINNED
    from_file: secrets/pinned.txt
`

func TestApplyExportAudit(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"hooks.yaml":         cliManifest,
		"echo.kata":          "start:\n  return:\n    body: v1\n",
		"secrets/pinned.txt": "c0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ff\n",
		"README.txt":         "not a manifest",
	})

	r := s.cli("", "apply", "-f", dir, "--dry-run")
	require.Equal(t, exitOK, r.code, "%s", r.err)
	require.Equal(t, `+ secret PINNED, hooks.yaml
+ automation cli.echo, hooks.yaml
+ webhook CLI Echo, hooks.yaml
+ webhook Pinned, hooks.yaml
dry run, nothing changed: 4 to create, 0 to update, 0 to delete, 0 unchanged
`, r.out)

	r = s.cli("", "apply", "-f", dir)
	require.Equal(t, exitOK, r.code, "%s", r.err)
	require.Contains(t, r.out, "applied: 4 created, 0 updated, 0 deleted, 0 unchanged\n")
	require.Regexp(t, `webhook "CLI Echo" URL \(shown once\): http://127\.0\.0\.1:\d+/webhooks/[0-9a-f]{40}\n`, r.out)
	require.NotContains(t, r.out, "c0ffee", "a pinned token is never printed")

	// A change shows its diff.
	writeFiles(t, dir, map[string]string{"echo.kata": "start:\n  return:\n    body: v2\n"})
	r = s.cli("", "apply", "-f", dir)
	require.Equal(t, exitOK, r.code, "%s", r.err)
	require.Contains(t, r.out, `~ automation cli.echo, hooks.yaml: script
    --- cli.echo script (now)
    +++ cli.echo script (manifest)
    @@ -1,3 +1,3 @@
     start:
       return:
    -    body: v1
    +    body: v2
`)
	require.Contains(t, r.out, "applied: 0 created, 1 updated, 0 deleted, 3 unchanged\n")

	// Problems: every one, with the file as the user names it.
	bad := t.TempDir()
	writeFiles(t, bad, map[string]string{"a.yaml": "automations:\n  - name: x\n    script: y\n    colour: red\nsecrets:\n  - name: S\n    from_env: HOOKHOST_CLI_TEST_UNSET_VARIABLE\n"})
	r = s.cli("", "apply", "-f", bad)
	require.Equal(t, exitFailure, r.code)
	require.Contains(t, r.err, filepath.Join(bad, "a.yaml")+`:4:5: unknown field "colour" of automation`)
	bad2 := t.TempDir()
	writeFiles(t, bad2, map[string]string{"a.yaml": "secrets:\n  - name: S\n    from_env: HOOKHOST_CLI_TEST_UNSET_VARIABLE\n"})
	r = s.cli("", "apply", "-f", bad2)
	require.Equal(t, exitFailure, r.code)
	require.Contains(t, r.err, filepath.Join(bad2, "a.yaml")+`:2:5: secret "S": the environment variable HOOKHOST_CLI_TEST_UNSET_VARIABLE (from_env:) is not set`)
	bad3 := t.TempDir()
	writeFiles(t, bad3, map[string]string{"a.yaml": "automations:\n  - name: x\n    script: |\n      start:\n        nope.nope:\n"})
	r = s.cli("", "apply", "-f", bad3)
	require.Equal(t, exitFailure, r.code)
	require.Contains(t, r.err, "400 Bad Request: the manifests were not applied; nothing was changed\n  "+filepath.Join(bad3, "a.yaml")+":5:9: ")

	// The export applies back changing nothing but the owner: the records
	// become the export directory's (apply -f sends its absolute path).
	out := filepath.Join(t.TempDir(), "exported")
	r = s.cli("", "export", "--manifests", out)
	require.Equal(t, exitOK, r.code, "%s", r.err)
	require.Contains(t, r.out, "hooks.yaml")
	r = s.cli("", "apply", "-f", out)
	require.Equal(t, exitOK, r.code, "%s", r.err)
	require.Contains(t, r.out, "~ automation cli.echo, hooks.yaml: owner\n    -owner: manifest:"+filepath.ToSlash(dir)+"/hooks.yaml\n    +owner: manifest:"+filepath.ToSlash(out)+"/hooks.yaml\n")
	require.Contains(t, r.out, "applied: 0 created, 3 updated, 0 deleted, 1 unchanged\n")
	r = s.cli("", "apply", "-f", out)
	require.Equal(t, exitOK, r.code, "%s", r.err)
	require.Contains(t, r.out, "nothing to change: 0 to create, 0 to update, 0 to delete, 4 unchanged\n")
	r = s.cli("", "export", "--manifests", out)
	require.Equal(t, exitUsage, r.code, "a directory that is not empty needs --force")

	// The audit log.
	r = s.cli("", "audit", "--kind", "automation")
	require.Equal(t, exitOK, r.code, "%s", r.err)
	lines := strings.Split(strings.TrimSpace(r.out), "\n")
	require.Len(t, lines, 4)
	require.Regexp(t, `^TIME\s+ACTOR\s+ACTION\s+KIND\s+NAME\s+ID\s+REVISION\s+DETAIL$`, lines[0])
	require.Regexp(t, `manifest:`+regexp.QuoteMeta(filepath.ToSlash(out))+`/hooks\.yaml\s+update\s+automation\s+cli\.echo\s+\d+\s+2→3\s+manifest apply by token:[0-9a-f]{12} from `+regexp.QuoteMeta(filepath.ToSlash(out))+`$`, lines[1])
	require.Regexp(t, `manifest:`+regexp.QuoteMeta(filepath.ToSlash(dir))+`/hooks\.yaml\s+update\s+automation\s+cli\.echo\s+\d+\s+1→2\s+manifest apply by token:[0-9a-f]{12} from `, lines[2])
	r = s.cli("", "audit", "--limit", "1")
	require.Equal(t, exitOK, r.code, "%s", r.err)
	require.Contains(t, r.err, "older entries: hookhost audit --before ")
}

func TestImportUpgradeAndExport(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	dir := t.TempDir()
	pkg := func(rev, body string) string {
		return `{"package":{"name":"Greeter","revision":` + rev + `},"records":[` +
			`{"uid":"a","_context":"automation","name":"greet","extension_id":"cerb.trigger.webhook.respond","script":"start:\n  return:\n    body: ` + body + `\n"},` +
			`{"uid":"w","_context":"webhook_listener","name":"Greeter","automations_kata":"automation/a:\n  uri: cerb:automation:greet\n"}]}`
	}
	writeFiles(t, dir, map[string]string{"v1.json": pkg("1", "hi"), "v2.json": pkg("2", "hello")})

	r := s.cli("", "import", filepath.Join(dir, "v1.json"))
	require.Equal(t, exitOK, r.code, "%s", r.err)
	require.Contains(t, r.out, "imported Greeter\n")
	r = s.cli("", "import", filepath.Join(dir, "v1.json"))
	require.Equal(t, exitOK, r.code, "%s", r.err)
	require.Contains(t, r.out, "Greeter is already at revision 1: nothing changed\n")
	r = s.cli("", "import", filepath.Join(dir, "v2.json"))
	require.Equal(t, exitOK, r.code, "%s", r.err)
	require.Contains(t, r.out, "upgraded Greeter from revision 1 to 2\n")
	require.Regexp(t, `automation\s+a\s+greet\s+greet\s+updated`, r.out)
	r = s.cli("", "import", filepath.Join(dir, "v1.json"))
	require.Equal(t, exitFailure, r.code)
	require.Contains(t, r.err, `package "Greeter" is at revision 2 here; this is revision 1`)

	r = s.cli("", "export", "Greeter", "-f", filepath.Join(dir, "out.json"))
	require.Equal(t, exitOK, r.code, "%s", r.err)
	exported, err := os.ReadFile(filepath.Join(dir, "out.json"))
	require.NoError(t, err)
	require.Contains(t, string(exported), `"revision": 2`)
	require.Contains(t, string(exported), `body: hello`)
	r = s.cli("", "export", "Greeter")
	require.Equal(t, exitOK, r.code, "%s", r.err)
	require.Equal(t, string(exported), r.out)
	r = s.cli("", "export", "Nope")
	require.Equal(t, exitNotFound, r.code, "%s", r.err)

	other := startServer(t)
	r = other.cli("", "import", filepath.Join(dir, "out.json"))
	require.Equal(t, exitOK, r.code, "%s", r.err)
	r = other.cli("", "export", "Greeter")
	require.Equal(t, string(exported), r.out)
}

// TestApplyUnreadableFiles: files that cannot be read (too large, not
// UTF-8 text) are reported with every problem of the other files, all at
// once, before anything is sent.
func TestApplyUnreadableFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"a.yaml":      "automations:\n  - name: x\n    script_file: big.kata\n    colour: red\n",
		"big.yaml":    strings.Repeat("#", 4<<20+1),
		"binary.yaml": "\xff\xfe\x00\x01",
		"big.kata":    strings.Repeat("#", 4<<20+1),
	})
	_, err := readManifests(dir)
	require.Error(t, err)
	for _, want := range []string{
		filepath.Join(dir, "a.yaml") + `:4:5: unknown field "colour" of automation`,
		filepath.Join(dir, "big.yaml") + ": big.yaml is larger than 4194304 bytes",
		filepath.Join(dir, "binary.yaml") + ": binary.yaml is not UTF-8 text",
		filepath.Join(dir, "big.kata") + ": big.kata is larger than 4194304 bytes",
	} {
		require.Contains(t, err.Error(), want)
	}
}

// --source names the records' source: a directory applied from another
// path under the same name prunes what it no longer declares; under its
// path alone it is another source and keeps them (review revowner LOW).
func TestApplySource(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		source    []string // the flag, on both applies
		wantGone  bool     // the record the second apply no longer declares
		wantFinal string
	}{
		{"SameName", []string{"--source", "shop"}, true, "applied: 0 created, 0 updated, 1 deleted, 1 unchanged"},
		{"PathOnly", nil, false, "applied: 0 created, 1 updated, 0 deleted, 0 unchanged"}, // src.keep taken over, with a warning
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := startServer(t)
			first, second := t.TempDir(), t.TempDir() // a checkout at a new path each run
			writeFiles(t, first, map[string]string{
				"a.yaml": "automations:\n  - name: src.keep\n    script: \"start:\\n  return:\\n    body: k\\n\"\n",
				"b.yaml": "automations:\n  - name: src.gone\n    script: \"start:\\n  return:\\n    body: g\\n\"\n",
			})
			writeFiles(t, second, map[string]string{
				"a.yaml": "automations:\n  - name: src.keep\n    script: \"start:\\n  return:\\n    body: k\\n\"\n",
			})
			r := s.cli("", append([]string{"apply", "-f", first}, tt.source...)...)
			require.Equal(t, exitOK, r.code, "%s", r.err)
			r = s.cli("", append([]string{"apply", "-f", second, "--prune"}, tt.source...)...)
			require.Equal(t, exitOK, r.code, "%s", r.err)
			require.Contains(t, r.out, tt.wantFinal)
			r = s.cli("", "automation", "list")
			require.Equal(t, exitOK, r.code, "%s", r.err)
			require.Equal(t, !tt.wantGone, strings.Contains(r.out, "src.gone"), "%s", r.out)
		})
	}
}

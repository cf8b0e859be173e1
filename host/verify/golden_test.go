package verify_test

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/automations/kata"
	"github.com/hookhost/hookhost/host/verify"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/verify")

// goldenDir holds <case>.kata event KATA and the <case>.golden result of
// compiling its verify blocks: every problem with its line:col, or the
// compiled blocks.
const goldenDir = "../../testdata/verify"

func TestCompile_Golden(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join(goldenDir, "*.kata"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".kata")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			src, err := os.ReadFile(file)
			require.NoError(t, err)
			got := compileGolden(t, string(src))
			golden := strings.TrimSuffix(file, ".kata") + ".golden"
			if *update {
				require.NoError(t, os.WriteFile(golden, []byte(got), 0o644))
				return
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "run go test ./host/verify -run TestCompile_Golden -update")
			require.Equal(t, strings.ReplaceAll(string(want), "\r\n", "\n"), got)
		})
	}
}

// compileGolden renders the outcome of compiling src.
func compileGolden(t *testing.T, src string) string {
	t.Helper()
	var b strings.Builder
	doc, err := kata.Parse("event", src)
	if err != nil {
		fmt.Fprintf(&b, "parse error:\n%v\n", err)
		return b.String()
	}
	vs, err := verify.Compile(doc.Root.Children, verify.Options{})
	if err != nil {
		var es kata.Errors
		require.True(t, errors.As(err, &es), "compile error is %T: %v", err, err)
		b.WriteString("compile error:\n")
		for _, e := range es {
			require.Equal(t, "event", e.Source)
			b.WriteString(e.Error())
			b.WriteByte('\n')
		}
		return b.String()
	}
	b.WriteString("ok:\n")
	for _, v := range vs {
		fmt.Fprintf(&b, "%s %s type=%s", v.Pos(), v.Key(), v.Type())
		if names := v.SecretNames(); len(names) > 0 {
			fmt.Fprintf(&b, " secrets=%s", strings.Join(names, ","))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

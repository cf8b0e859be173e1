package verify_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/automations/kata"
	"github.com/hookhost/hookhost/host/verify"
	"github.com/hookhost/hookhost/internal/golden"
)

// TestCompile_Golden compiles the verify blocks of every
// testdata/verify/<case>.kata event KATA and compares the outcome with
// <case>.golden: every problem with its line:col, or the compiled blocks.
func TestCompile_Golden(t *testing.T) {
	t.Parallel()
	golden.Run(t, "../../testdata/verify/*.kata", func(t *testing.T, f *golden.File) golden.Got {
		src, _ := f.Section("input")
		return golden.Got{"want": compileGolden(t, src)}
	})
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

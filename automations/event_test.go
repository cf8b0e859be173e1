package automations_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/automations"
	"github.com/hookhost/hookhost/templates"
	"github.com/hookhost/hookhost/templates/dict"
)

// runEventGolden parses the "event" section and selects a handler for each
// "vars…json" section.
func runEventGolden(t *testing.T, env *templates.Env, g *goldenFile) string {
	t.Helper()
	src, _ := g.section("event")
	var b strings.Builder
	ev, err := automations.ParseEvent(src, env)
	if err != nil {
		var ds automations.Diagnostics
		require.True(t, errors.As(err, &ds), "parse error is %T: %v", err, err)
		b.WriteString("parse error:\n")
		for _, d := range ds {
			b.WriteString(d.Error())
			b.WriteByte('\n')
		}
		return b.String()
	}
	fmt.Fprintf(&b, "automations: %s\n", strings.Join(ev.Automations(), ", "))
	if len(ev.Verify) > 0 {
		keys := make([]string, len(ev.Verify))
		for i, n := range ev.Verify {
			keys[i] = n.Key
		}
		fmt.Fprintf(&b, "verify: %s\n", strings.Join(keys, ", "))
	}
	if l := ev.Limits; l != nil {
		fmt.Fprintf(&b, "limits: rate=%g burst=%d concurrency=%d body_bytes=%d\n", l.Rate, l.Burst, l.Concurrency, l.BodyBytes)
	}
	for _, name := range g.names {
		if !strings.HasPrefix(name, "vars") || !strings.HasSuffix(name, ".json") {
			continue
		}
		vars := decodeMap(t, g.sections[name])
		h, err := ev.Select(vars)
		fmt.Fprintf(&b, "select %s:\n", name)
		switch {
		case err != nil:
			fmt.Fprintf(&b, "  error: %v\n", err)
		case h == nil:
			b.WriteString("  no enabled handler\n")
		default:
			fmt.Fprintf(&b, "  handler: %s (%s)\n  automation: %s\n", h.Key, h.Pos, h.Automation)
			if h.Inputs != nil {
				in, _ := h.Inputs.MarshalJSON()
				fmt.Fprintf(&b, "  inputs: %s\n", in)
			}
			if h.Job != nil {
				fmt.Fprintf(&b, "  job: %+v\n", *h.Job)
			}
		}
	}
	return b.String()
}

func TestEventGolden(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("..", "testdata", "events", "*.txtar"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	slices.Sort(files)
	env := templates.New()
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(file)
			require.NoError(t, err)
			g := parseGolden(string(data))
			got := runEventGolden(t, env, g)
			if *update {
				g.set("want", got)
				require.NoError(t, os.WriteFile(file, []byte(g.format()), 0o644))
				return
			}
			require.Equal(t, g.sections["want"], got)
		})
	}
}

func TestEventSelectIsPerRequest(t *testing.T) {
	t.Parallel()
	ev, err := automations.ParseEvent("automation/a:\n  uri: a\n  disabled@bool: {{ request_method == \"GET\" }}\nautomation/b:\n  uri: cerb:automation:b\n", templates.New())
	require.NoError(t, err)
	for _, tc := range []struct {
		method string
		want   string
	}{{"GET", "b"}, {"POST", "a"}} {
		h, err := ev.Select(dict.Of("request_method", tc.method))
		require.NoError(t, err)
		require.NotNil(t, h)
		require.Equal(t, tc.want, h.Automation)
	}
}

package main

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/plugins"
	"github.com/hookhost/hookhost/plugins/plugintest"
)

func TestSlugify_Conformance(t *testing.T) {
	t.Parallel()
	plugintest.Exercise(t, Slugify{},
		plugintest.Case{Name: "Slug", Command: CommandName, Inputs: `{"text":"Hello, World! 2026"}`, Want: `{"slug":"hello-world-2026"}`},
		plugintest.Case{Name: "MissingText", Command: CommandName, Inputs: `{}`, WantCode: plugins.CodeInputs},
		plugintest.Case{Name: "NoTrigger", Invocation: plugins.Invocation{Trigger: "webhook.respond"}, Inputs: `{}`, WantCode: plugins.CodeNotFound},
	)
}

func TestSlug(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"Hello World", "hello-world"},
		{"  --Trim me--  ", "trim-me"},
		{"Ünïcode ça va", "ünïcode-ça-va"},
		{"a_b.c", "a-b-c"},
	} {
		require.Equal(t, tc.want, Slug(tc.in), "Slug(%q)", tc.in)
	}
}

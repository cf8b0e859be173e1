package automations_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/automations"
	"github.com/hookhost/hookhost/templates"
	"github.com/hookhost/hookhost/templates/dict"
)

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

package jobs

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSettings_CallbackWorkers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		workers int
		err     string
	}{
		{1, ""},
		{16, ""},
		{1000, ""},
		{0, "--callback-workers 0: must be between 1 and 1000"},
		{-1, "--callback-workers -1: must be between 1 and 1000"},
		{1001, "--callback-workers 1001: must be between 1 and 1000"},
	}
	for _, tt := range tests {
		s := DefaultSettings()
		s.CallbackWorkers = tt.workers
		err := s.Validate()
		if tt.err == "" {
			require.NoError(t, err, "%d", tt.workers)
			continue
		}
		require.EqualError(t, err, tt.err)
	}
	require.Equal(t, 16, DefaultSettings().CallbackWorkers)
}

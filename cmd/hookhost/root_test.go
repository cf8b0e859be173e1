package main

import (
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/require"
)

func TestApplyEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		want    time.Duration
		wantN   int
		wantErr string
	}{
		{name: "defaults", want: time.Second, wantN: 7},
		{name: "env sets", env: map[string]string{"HH_TEST_D": "5s", "HH_TEST_N": "9"}, want: 5 * time.Second, wantN: 9},
		{name: "flag beats env", env: map[string]string{"HH_TEST_D": "5s"}, args: []string{"--d", "2s"}, want: 2 * time.Second, wantN: 7},
		{name: "bad env", env: map[string]string{"HH_TEST_N": "many"}, wantErr: `HH_TEST_N="many" (for --n)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			var d time.Duration
			var n int
			var ran bool
			root := &cobra.Command{Use: "x", SilenceUsage: true, SilenceErrors: true,
				PersistentPreRunE: func(cmd *cobra.Command, _ []string) error { return applyEnv(cmd) }}
			sub := &cobra.Command{Use: "sub", RunE: func(*cobra.Command, []string) error { ran = true; return nil }}
			durationFlag(sub.Flags(), &d, "d", "HH_TEST_D", time.Second, "a duration")
			intFlag(sub.Flags(), &n, "n", "HH_TEST_N", 7, "a count")
			root.AddCommand(sub)
			root.SetArgs(append([]string{"sub"}, tt.args...))
			err := root.Execute()
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				require.False(t, ran)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, d)
			require.Equal(t, tt.wantN, n)
			require.Contains(t, sub.Flags().Lookup("d").Usage, "(env HH_TEST_D)")
		})
	}
}

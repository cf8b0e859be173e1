package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/require"
)

// exampleConfig is the example configuration file in the repository.
const exampleConfig = "../../hookhost.example.yaml"

func TestConfigFile_ExampleLoadsAndNamesEverySetting(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	root := newRootCmd(&out, &out)
	root.SetArgs([]string{"config", "check", exampleConfig})
	require.NoError(t, root.Execute())
	require.Contains(t, out.String(), "ok")

	raw, err := os.ReadFile(exampleConfig)
	require.NoError(t, err)
	for _, name := range sortedFlagNames(newServeCmd().Flags()) {
		if name == "help" {
			continue
		}
		require.Regexp(t, regexp.MustCompile(`(?m)^#? ?`+regexp.QuoteMeta(name)+`:`), string(raw), "hookhost.example.yaml shows --%s", name)
	}
}

func TestConfigFile_Problems(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, yaml string
		want       []string // every problem, with its position
	}{
		{"Valid", "listen: 127.0.0.1:9\njob-workers: 0\ntrusted-proxies: [10.0.0.0/8, 127.0.0.1]\n", nil},
		{"UnknownKeySuggests", "listn: 127.0.0.1:9\n", []string{`:1:1: unknown key "listn"; did you mean "listen"?`}},
		{"Underscore", "data_dir: /tmp\n", []string{`:1:1: unknown key "data_dir"; did you mean "data-dir"?`}},
		{"BadValues", "job-workers: many\nrequest-timeout: soon\n", []string{
			`:1:14: job-workers: invalid argument "many"`, `:2:18: request-timeout: invalid argument "soon"`}},
		{"Mapping", "listen:\n  host: x\n", []string{`:2:3: listen: must be a single value or a list of values, not a mapping`}},
		{"Twice", "listen: a\nlisten: b\n", []string{`:2:1: mapping key "listen" already defined at [1:1]`}},
		{"NotAMapping", "- listen\n", []string{"the file must be a mapping of settings"}},
		{"ConfigInConfig", "config: other.yaml\n", []string{`"config" cannot be set in the configuration file itself`}},
		// The parser is quadratic in nesting: refused before it runs.
		{"NestedTooDeep", "trusted-proxies: " + strings.Repeat("[", 100) + strings.Repeat("]", 100) + "\n",
			[]string{`:1:117: collections nested more than 100 levels deep`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "hookhost.yaml")
			require.NoError(t, os.WriteFile(path, []byte(tt.yaml), 0o600))
			_, err := readConfigFile(path, newServeCmd().Flags(), newServeCmd().Flags())
			if tt.want == nil {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, w := range tt.want {
				require.Contains(t, err.Error(), w)
			}
			require.Contains(t, err.Error(), path+":")
		})
	}
}

// TestConfigFile_Precedence checks flags > environment > file > default.
func TestConfigFile_Precedence(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hookhost.yaml")
	require.NoError(t, os.WriteFile(path, []byte("request-timeout: 7s\nidle-timeout: 7s\nread-timeout: 7s\n"), 0o600))
	t.Setenv("HOOKHOST_IDLE_TIMEOUT", "8s")
	serve := newServeCmd()
	var got *cobra.Command
	serve.RunE = func(cmd *cobra.Command, _ []string) error {
		got = cmd
		_, err := applyConfigFile(cmd)
		return err
	}
	root := &cobra.Command{Use: "x", PersistentPreRunE: func(cmd *cobra.Command, _ []string) error { return applyEnv(cmd) }}
	root.AddCommand(serve)
	root.SetArgs([]string{"serve", "--config", path, "--read-timeout", "9s"})
	require.NoError(t, root.Execute())
	d := func(name string) time.Duration {
		v, err := got.Flags().GetDuration(name)
		require.NoError(t, err)
		return v
	}
	require.Equal(t, 7*time.Second, d("request-timeout"), "the file")
	require.Equal(t, 8*time.Second, d("idle-timeout"), "the environment wins over the file")
	require.Equal(t, 9*time.Second, d("read-timeout"), "the flag wins over both")
	require.Equal(t, time.Minute, d("write-timeout"), "the default")
}

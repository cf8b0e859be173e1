package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestConfigCheck_ValidatesAsServe: `hookhost config check` refuses what
// `hookhost serve --config` refuses, values that parse but break a bound
// included, and both place a value of the file at its line:col (review
// revops: check said "ok" for request-timeout: 0, body-limit: 30MiB and
// public-url: hooks.example, and serve's error named the flag only). A
// value an environment variable gave is named by its variable, and one the
// command line gave is not placed in the file, even beside a flag the file
// set (review revmig).
func TestConfigCheck_ValidatesAsServe(t *testing.T) {
	tests := []struct {
		name, yaml string
		flags      []string // serve's command line besides --config
		env        []string // serve's environment: name, value, …
		want       string   // the error after "<file>:", or without a position
		at         bool     // the error is placed in the file
	}{
		{"RequestTimeout", "listen: 127.0.0.1:0\nrequest-timeout: 0\n", nil, nil, `2:18: --request-timeout 0s: must be positive`, true},
		{"BodyLimit", "body-limit: 30MiB\n", nil, nil, `1:13: --body-limit 31457280: must be at most 20971520 bytes`, true},
		{"PublicURL", "public-url: hooks.example\n", nil, nil, `1:13: --public-url "hooks.example": must start with http:// or https://`, true},
		{"TrustedProxies", "trusted-proxies: [10.0.0.0/8, nowhere]\n", nil, nil, `1:18: --trusted-proxies: trusted proxy "nowhere"`, true},
		{"LogLevel", "log-level: loud\n", nil, nil, `1:12: --log-level "loud": want debug, info, warn or error`, true},
		{"JobSetting", "job-workers: -1\n", nil, nil, `1:14: --job-workers -1: must be 0`, true},
		// Two flags named: the one the file set.
		{"BodyMemoryBelowFileBodyLimit", "body-limit: 8MiB\nbody-memory: 4MiB\n", nil, nil, `2:14: --body-memory 4194304: must be at least`, true},
		{"TLSPair", "tls-key: k.pem\n", nil, nil, `1:10: --tls-cert and --tls-key go together`, true},
		// A value the command line gave has no place in the file.
		{"FromFlag", "listen: 127.0.0.1:0\n", []string{"--request-timeout", "0s"}, nil, `--request-timeout 0s: must be positive`, false},
		{"FromFlagOverFile", "request-timeout: 0s\n", []string{"--request-timeout", "-1s"}, nil, `--request-timeout -1s: must be positive`, false},
		{"FromFlagBesideFileFlag", "body-limit: 8MiB\n", []string{"--body-memory", "4MiB"}, nil, `--body-memory 4194304: must be at least`, false},
		{"FromEnv", "listen: 127.0.0.1:0\n", nil, []string{"HOOKHOST_REQUEST_TIMEOUT", "0s"}, `HOOKHOST_REQUEST_TIMEOUT: --request-timeout 0s: must be positive`, false},
		{"FromEnvOverFile", "request-timeout: 0s\n", nil, []string{"HOOKHOST_REQUEST_TIMEOUT", "-1s"}, `HOOKHOST_REQUEST_TIMEOUT: --request-timeout -1s: must be positive`, false},
		{"FromEnvBesideFileFlag", "body-limit: 8MiB\n", nil, []string{"HOOKHOST_BODY_MEMORY", "4MiB"}, `HOOKHOST_BODY_MEMORY: --body-memory 4194304: must be at least`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i := 0; i < len(tt.env); i += 2 {
				t.Setenv(tt.env[i], tt.env[i+1])
			}
			dir := t.TempDir()
			f := filepath.Join(dir, "hookhost.yaml")
			require.NoError(t, os.WriteFile(f, []byte(tt.yaml), 0o600))

			want := tt.want
			if tt.at {
				want = f + ":" + tt.want
			}
			r := cli("", append([]string{"serve", "--config", f, "--data-dir", filepath.Join(dir, "data")}, tt.flags...)...)
			require.Equal(t, exitFailure, r.code, "serve started; stderr: %s", r.err)
			require.Contains(t, r.err, want, "serve")
			if !tt.at {
				require.NotContains(t, r.err, f+":", "serve")
			}
			_, err := os.Stat(filepath.Join(dir, "data"))
			require.ErrorIs(t, err, os.ErrNotExist, "serve refused the settings after it began starting")

			if len(tt.flags) > 0 || len(tt.env) > 0 {
				return // config check reads the file alone
			}
			r = cli("", "config", "check", f)
			require.Equal(t, exitFailure, r.code, "config check said: %s", r.out)
			require.Contains(t, r.err, want, "config check")
		})
	}
}

package host

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/automations"
	"github.com/hookhost/hookhost/host/jobs"
)

func TestConfig_Validate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(*Config)
		want   string // "" for a valid configuration
	}{
		{"Defaults", func(*Config) {}, ""},
		{"NoJobWorkers", func(c *Config) { c.Jobs.Workers = 0 }, ""},
		{"NegativeJobWorkers", func(c *Config) { c.Jobs.Workers = -1 }, "--job-workers -1: must be 0 (run none here) or more"},
		{"ZeroRequestTimeout", func(c *Config) { c.RequestTimeout = 0 }, "--request-timeout 0s: must be positive"},
		{"ShortRescue", func(c *Config) { c.Jobs.RescueAfter = time.Millisecond }, "--job-rescue-after 1ms: must be at least 1s"},
		{"NoBodyLimit", func(c *Config) { c.BodyLimit = 0 }, "--body-limit 0: must be at least 1 byte"},
		{"LargestBodyLimit", func(c *Config) { c.BodyLimit = MaxBodyLimit }, ""},
		{"HugeBodyLimit", func(c *Config) { c.BodyLimit = MaxBodyLimit + 1 },
			"--body-limit 20971521: must be at most 20971520 bytes (20 MiB: a run carries the body to its extension up to twice, JSON-escaped, in messages of at most 268435456 bytes)"},
		{"TooManyProcesses", func(c *Config) { c.ExtensionProcesses = 65 }, "--extension-processes 65: must be between 1 and 64"},
		{"NoConnections", func(c *Config) { c.MaxConnections = 0 }, "--max-connections 0: must be at least 1"},
		{"TinyHeaders", func(c *Config) { c.MaxHeaderBytes = 100 }, "--max-header-bytes 100: must be between 1024 and 1048576"},
		{"BadPublicURL", func(c *Config) { c.PublicURL = "hooks.example" }, `--public-url "hooks.example": must start with http:// or https://`},
		{"NegativeRate", func(c *Config) { c.DefaultLimits = automations.EventLimits{Rate: -1} }, "--default-rate, --default-burst and --default-concurrency must not be negative"},
		{"MemoryLimits", func(c *Config) { c.Memory.Limit, c.Memory.ExtensionLimit = 64<<20, 16<<20 }, ""},
		{"LowGCPercent", func(c *Config) { c.Memory.GCPercent = 5 }, "--gc-percent 5: must be between 10 and 10000"},
		{"HighExtensionGCPercent", func(c *Config) { c.Memory.ExtensionGCPercent = 20_000 }, "--extension-gc-percent 20000: must be between 10 and 10000"},
		{"TinyMemoryLimit", func(c *Config) { c.Memory.Limit = 1 << 20 }, "--memory-limit 1048576: must be 0 (no limit) or at least 4194304 (4 MiB)"},
		{"TinyExtensionMemoryLimit", func(c *Config) { c.Memory.ExtensionLimit = 100 }, "--extension-memory-limit 100: must be 0 (no limit) or at least 4194304 (4 MiB)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := DefaultConfig()
			tt.mutate(&c)
			err := c.resolve()
			if tt.want == "" {
				require.NoError(t, err)
				return
			}
			require.EqualError(t, err, tt.want)
		})
	}
}

func TestConfig_DefaultsInOnePlace(t *testing.T) {
	t.Parallel()
	c := DefaultConfig()
	require.Equal(t, jobs.DefaultSettings(), c.Jobs)
	require.Equal(t, DefaultMemorySettings(), c.Memory)
	require.NoError(t, c.resolve())
	require.Equal(t, "http://127.0.0.1:8080", c.PublicURL, "derived from Listen")
	require.Equal(t, "data/plugins", c.PluginsDir, "derived from DataDir")
}

func TestConfig_ExtensionCommand(t *testing.T) {
	t.Parallel()
	exe, err := os.Executable()
	require.NoError(t, err)
	tests := []struct {
		name   string
		mutate func(*Config)
		want   []string
	}{
		{"Default", func(*Config) {},
			[]string{exe, "ext", "serve", "--gc-percent=200", "--memory-limit=0", "--release-startup-memory=true"}},
		{"MemorySettings", func(c *Config) {
			c.Memory.ExtensionGCPercent, c.Memory.ExtensionLimit, c.Memory.ReleaseStartup = 50, 16<<20, false
		}, []string{exe, "ext", "serve", "--gc-percent=50", "--memory-limit=16777216", "--release-startup-memory=false"}},
		{"GivenCommandAsIs", func(c *Config) { c.ExtensionCommand = []string{"/bin/ext", "serve"} }, []string{"/bin/ext", "serve"}},
		{"InProcess", func(c *Config) { c.InProcess = true }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := DefaultConfig()
			tt.mutate(&c)
			got, err := c.extensionCommand()
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

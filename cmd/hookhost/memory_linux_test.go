package main

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestReadOnlyMappings(t *testing.T) {
	t.Parallel()
	const exe = "/opt/hookhost/bin/hookhost"
	// A mapping's header line, then a few of its "Key: value" lines.
	entry := func(header, anonymous string) string {
		return header + "\nSize:               1024 kB\nRss:                 512 kB\nAnonymous:         " + anonymous + " kB\nVmFlags: rd ex mr mw me\n"
	}
	tests := []struct {
		name  string
		smaps string
		want  []mapping
	}{
		{"CodeAndReadOnlyData", entry("00400000-014aa000 r-xp 00000000 fd:01 42 "+exe, "0") +
			entry("014aa000-026d6000 r--p 010aa000 fd:01 42 "+exe, "0"),
			[]mapping{{0x400000, 0x14aa000}, {0x14aa000, 0x26d6000}}},
		{"WritableDataLeftAlone", entry("026d6000-028d3000 rw-p 022d6000 fd:01 42 "+exe, "12"), nil},
		{"CopiedOnWriteLeftAlone", entry("014aa000-026d6000 r--p 010aa000 fd:01 42 "+exe, "4"), nil},
		{"SharedLeftAlone", entry("00400000-014aa000 r-xs 00000000 fd:01 42 "+exe, "0"), nil},
		{"SharedLibraries", entry("7f213bd83000-7f213bed9000 r-xp 00028000 fd:01 7 /usr/lib/x86_64-linux-gnu/libc.so.6", "0") +
			entry("7f213bed9000-7f213bf2c000 r--p 0017e000 fd:01 7 /usr/lib/x86_64-linux-gnu/libc.so.6", "0") +
			entry("7f213bf2c000-7f213bf30000 r--p 001d0000 fd:01 7 /usr/lib/x86_64-linux-gnu/libc.so.6", "16"),
			[]mapping{{0x7f213bd83000, 0x7f213bed9000}, {0x7f213bed9000, 0x7f213bf2c000}}},
		{"AnonymousLeftAlone", entry("c000000000-c000400000 rw-p 00000000 00:00 0", "4096") +
			entry("7f2ad40ae000-7f2ad423e000 r--p 00000000 00:00 0", "0"), nil},
		{"KernelsLeftAlone", entry("7ffc918a5000-7ffc918a7000 r-xp 00000000 00:00 0                          [vdso]", "0") +
			entry("7ffc918a1000-7ffc918a5000 r--p 00000000 00:00 0                          [vvar]", "0"), nil},
		{"PathWithSpaces", entry("00400000-00500000 r-xp 00000000 fd:01 42 /opt/my apps/hookhost", "0"),
			[]mapping{{0x400000, 0x500000}}},
		{"Empty", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, readOnlyMappings(strings.NewReader(tt.smaps)))
		})
	}
}

// TestReleaseStartupMemory runs the release in this process and checks
// that it is still whole: the code and data it dropped come back.
func TestReleaseStartupMemory(t *testing.T) {
	exe, err := os.Readlink("/proc/self/exe")
	require.NoError(t, err)
	f, err := os.Open("/proc/self/smaps")
	require.NoError(t, err)
	defer f.Close()
	pc := reflect.ValueOf(TestReleaseStartupMemory).Pointer()
	ofCode := 0
	for _, m := range readOnlyMappings(f) {
		if m.start <= pc && pc < m.end {
			ofCode++
		}
	}
	require.Equal(t, 1, ofCode, "this test's code is in a read-only mapping of %s", exe)
	releaseStartupMemory()
	require.Equal(t, "ok", strings.ToLower("OK"), "code runs after its pages were dropped")
	require.NotEmpty(t, want("bytes"), "read-only data reads after its pages were dropped")
}

//go:build linux && (amd64 || arm64)

package main

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// TestDisableFaultAround maps a file whose pages are all in the page cache
// twice and reads one page of each: the kernel maps its neighbours too in
// the first mapping, and only that page in the one disableFaultAround
// registered.
func TestDisableFaultAround(t *testing.T) {
	t.Parallel()
	const pages = 64
	ps := os.Getpagesize()
	path := filepath.Join(t.TempDir(), "pages")
	require.NoError(t, os.WriteFile(path, bytes.Repeat([]byte{7}, pages*ps), 0o600))
	f, err := os.Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = f.Close() })
	mapFile := func() []byte {
		b, err := syscall.Mmap(int(f.Fd()), 0, pages*ps, syscall.PROT_READ, syscall.MAP_PRIVATE)
		require.NoError(t, err)
		t.Cleanup(func() { _ = syscall.Munmap(b) })
		return b
	}
	// readMiddle reads a byte of the middle page and returns how many of
	// the mapping's pages are mapped then.
	readMiddle := func(b []byte) int {
		require.Zero(t, resident(t, b), "nothing is mapped before the first read")
		require.Equal(t, byte(7), b[pages/2*ps+5])
		return resident(t, b)
	}

	if n := readMiddle(mapFile()); n <= 1 {
		t.Skipf("this kernel maps %d page at a fault: it does not fault around", n)
	}
	b := mapFile()
	start := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	fd, err := disableFaultAround([]mapping{{start, start + uintptr(len(b))}})
	if err != nil {
		t.Skipf("no userfaultfd write-protect registration here: %v", err)
	}
	t.Cleanup(func() { _ = syscall.Close(fd) })
	require.Equal(t, 1, readMiddle(b))
	require.Equal(t, byte(7), b[0], "the other pages read as before")
	require.Equal(t, 2, resident(t, b))
}

// resident counts the pages of b mapped in this process, from
// /proc/self/pagemap (bit 63 of a page's entry: present).
func resident(t *testing.T, b []byte) int {
	t.Helper()
	ps := os.Getpagesize()
	pm, err := os.Open("/proc/self/pagemap")
	require.NoError(t, err)
	defer pm.Close()
	n := len(b) / ps
	buf := make([]byte, 8*n)
	start := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	_, err = pm.ReadAt(buf, int64(start/uintptr(ps)*8))
	require.NoError(t, err)
	count := 0
	for i := range n {
		if binary.LittleEndian.Uint64(buf[8*i:])&(1<<63) != 0 {
			count++
		}
	}
	return count
}

func TestSeccompFiltered(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status string
		want   bool
	}{
		{"None", "Name:\thookhost\nNoNewPrivs:\t0\nSeccomp:\t0\nSeccomp_filters:\t0\n", false},
		{"Filter", "Name:\thookhost\nNoNewPrivs:\t1\nSeccomp:\t2\nSeccomp_filters:\t1\n", true},
		{"Strict", "Seccomp:\t1\n", true},
		{"NoField", "Name:\thookhost\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, seccompFiltered(strings.NewReader(tt.status)))
		})
	}
}

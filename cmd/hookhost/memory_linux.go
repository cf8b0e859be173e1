package main

import (
	"bufio"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// releaseExecutablePages drops the pages of the process's read-only file
// mappings (the executable's code, read-only data and function tables, and
// the same of the shared libraries it loaded) from the process's page
// tables: they hold package initialisation's and start-up's code, which a
// server touches once. The pages stay in the page cache, shared with every
// other process of the binary; the ones still in use come back at their
// next use, as a minor fault, and on Linux 6.7 and later one page at a
// time (disableFaultAround). A mapping with pages of its own (written to,
// copy-on-write) is left alone, since dropping those would lose what was
// written. Errors are ignored: nothing depends on it.
func releaseExecutablePages() {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return
	}
	defer f.Close()
	ms := readOnlyMappings(f)
	// Kept open for the process's life: the registration lasts as long.
	_, _ = disableFaultAround(ms)
	for _, m := range ms {
		_, _, _ = syscall.Syscall(syscall.SYS_MADVISE, m.start, m.end-m.start, syscall.MADV_DONTNEED)
	}
}

// mapping is an address range of the process.
type mapping struct{ start, end uintptr }

// readOnlyMappings reads /proc/<pid>/smaps and returns the private mappings
// of files that cannot be written and hold no anonymous (copy-on-write)
// pages: the ones whose pages are the files' own.
func readOnlyMappings(smaps io.Reader) []mapping {
	var (
		out []mapping
		cur mapping
		ok  bool // cur is a candidate so far
	)
	flush := func() {
		if ok {
			out = append(out, cur)
		}
		ok = false
	}
	sc := bufio.NewScanner(smaps)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		if m, isHeader := parseMapsHeader(fields); isHeader {
			flush()
			cur = m.mapping
			// A file's path starts with '/'; [vdso], [stack] and the
			// like are the kernel's, and anonymous mappings have none.
			ok = m.perms[1] == '-' && m.perms[3] == 'p' && strings.HasPrefix(m.path, "/")
			continue
		}
		if ok && fields[0] == "Anonymous:" && (len(fields) < 2 || fields[1] != "0") {
			ok = false
		}
	}
	flush()
	if sc.Err() != nil {
		return nil
	}
	return out
}

// mapsHeader is the first line of a mapping in /proc/<pid>/smaps:
// "start-end perms offset dev inode [path]".
type mapsHeader struct {
	mapping
	perms string
	path  string
}

// parseMapsHeader parses fields as a mapping's first line; isHeader is
// false for the "Key: value" lines that follow it.
func parseMapsHeader(fields []string) (h mapsHeader, isHeader bool) {
	if len(fields) < 5 || strings.HasSuffix(fields[0], ":") || len(fields[1]) != 4 {
		return h, false
	}
	lo, hi, found := strings.Cut(fields[0], "-")
	if !found {
		return h, false
	}
	start, err1 := strconv.ParseUint(lo, 16, 64)
	end, err2 := strconv.ParseUint(hi, 16, 64)
	if err1 != nil || err2 != nil || end <= start {
		return h, false
	}
	h = mapsHeader{mapping: mapping{uintptr(start), uintptr(end)}, perms: fields[1]}
	if len(fields) >= 6 {
		h.path = strings.Join(fields[5:], " ")
	}
	return h, true
}

package main

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTick is the unit of utime and stime in /proc/<pid>/stat (USER_HZ,
// 100 on every Linux the Go runtime supports).
const clockTick = 10 * time.Millisecond

// procTree is a server process and its descendants (the extension
// processes), read from /proc. On a system without /proc every figure is
// zero, and the report leaves those columns empty.
type procTree struct{ pid int }

// pids returns the root and every live descendant.
func (t procTree) pids() []int {
	parent := map[int][]int{}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		f := statFields(pid)
		if len(f) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		parent[ppid] = append(parent[ppid], pid)
	}
	out := []int{t.pid}
	for i := 0; i < len(out); i++ {
		out = append(out, parent[out[i]]...)
	}
	return out
}

// statFields returns the fields of /proc/<pid>/stat after the command
// name: state, ppid, ... (field 3 onwards of proc(5)).
func statFields(pid int) []string {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return nil
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(string(b[i+1:]))
}

// cpu is the CPU time (user + system) the tree has used so far.
func (t procTree) cpu() time.Duration {
	var ticks int64
	for _, pid := range t.pids() {
		f := statFields(pid)
		if len(f) < 13 {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64) // utime, field 14
		s, _ := strconv.ParseInt(f[12], 10, 64) // stime, field 15
		ticks += u + s
	}
	return time.Duration(ticks) * clockTick
}

// mem is the tree's resident set and proportional set size, in bytes
// (PSS counts pages shared between processes, such as the one binary's
// text mapped by the server and its extension, once in total).
func (t procTree) mem() (rss, pss uint64) {
	for _, pid := range t.pids() {
		f, err := os.Open(filepath.Join("/proc", strconv.Itoa(pid), "smaps_rollup"))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			k, v, ok := strings.Cut(sc.Text(), ":")
			if !ok {
				continue
			}
			fs := strings.Fields(v)
			if len(fs) == 0 {
				continue
			}
			n, _ := strconv.ParseUint(fs[0], 10, 64)
			switch k {
			case "Rss":
				rss += n * 1024
			case "Pss":
				pss += n * 1024
			}
		}
		_ = f.Close()
	}
	return rss, pss
}

// cmdlines returns the command lines of the tree's processes but the root.
func (t procTree) children() []string {
	var out []string
	for _, pid := range t.pids()[1:] {
		cl, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
		if err != nil {
			continue
		}
		out = append(out, strings.TrimSpace(string(bytes.ReplaceAll(cl, []byte{0}, []byte{' '}))))
	}
	return out
}

// memSampler records the peak RSS and PSS of a tree while a load runs.
type memSampler struct {
	stop chan struct{}
	done chan struct{}
	rss  uint64
	pss  uint64
}

// sampleMem samples t every interval until the returned sampler's end is
// called.
func sampleMem(t procTree, interval time.Duration) *memSampler {
	s := &memSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		tk := time.NewTicker(interval)
		defer tk.Stop()
		for {
			rss, pss := t.mem()
			s.rss, s.pss = max(s.rss, rss), max(s.pss, pss)
			select {
			case <-s.stop:
				return
			case <-tk.C:
			}
		}
	}()
	return s
}

// end stops sampling and returns the peaks.
func (s *memSampler) end() (rss, pss uint64) {
	close(s.stop)
	<-s.done
	return s.rss, s.pss
}

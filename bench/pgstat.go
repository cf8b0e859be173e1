package main

import (
	"context"
	"database/sql"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// PostgreSQL's own work during a -pg target's attack: the CPU of the
// database server's processes (which the cpu/req column, hookhost's
// processes only, leaves out although they share the cores) and the WAL
// it wrote. Both are the whole server's: every client of the same
// PostgreSQL server adds to them (other benchmarks or tests running
// meanwhile), so they are upper bounds, exact only on a quiet server. The
// CPU is that of the DSN's server alone (its postmaster and the
// postmaster's children) when its postmaster is found, else of every
// process named postgres on the machine (other servers too).

// pgSampler samples, every interval, the CPU time of every process named
// postgres (the postmaster, its backends and its background workers),
// remembering each one's last reading, so that a backend that exits
// during the attack still counts up to its last sample.
type pgSampler struct {
	comm string // the processes' name (/proc/<pid>/comm)
	// parent, when not 0, is the postmaster: only it and its children
	// count.
	parent int
	stop   chan struct{}
	done   chan struct{}
	// mu guards first and last: total reads them while the sampling
	// goroutine writes them.
	mu sync.Mutex
	// first is each process's CPU at its first sample (0 for a process
	// that started after the first sample), last its latest.
	first, last map[int]time.Duration
}

// samplePostgres starts a pgSampler of the processes named comm
// ("postgres").
func samplePostgres(comm string, interval time.Duration) *pgSampler {
	return samplePostgresOf(comm, 0, interval)
}

// samplePostgresOf is samplePostgres of the postmaster parent and its
// children only, when parent is not 0.
func samplePostgresOf(comm string, parent int, interval time.Duration) *pgSampler {
	s := &pgSampler{comm: comm, parent: parent, stop: make(chan struct{}), done: make(chan struct{}), first: map[int]time.Duration{}, last: map[int]time.Duration{}}
	s.sample(true)
	go func() {
		defer close(s.done)
		tk := time.NewTicker(interval)
		defer tk.Stop()
		for {
			select {
			case <-s.stop:
				s.sample(false)
				return
			case <-tk.C:
				s.sample(false)
			}
		}
	}()
	return s
}

// sample reads the CPU time of every postgres process.
func (s *pgSampler) sample(initial bool) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		comm, err := os.ReadFile("/proc/" + e.Name() + "/comm")
		if err != nil || strings.TrimSpace(string(comm)) != s.comm {
			continue
		}
		if s.parent != 0 && pid != s.parent && parentOf(pid) != s.parent {
			continue
		}
		cpu, ok := procCPU(pid)
		if !ok {
			continue
		}
		if _, seen := s.first[pid]; !seen {
			if initial {
				s.first[pid] = cpu
			} else {
				s.first[pid] = 0
			}
		}
		s.last[pid] = cpu
	}
}

// total samples the processes now and returns the CPU time they used
// since samplePostgres, sampling on.
func (s *pgSampler) total() time.Duration {
	s.sample(false)
	return s.sum()
}

// sum is the CPU time of the processes from their first sample to their
// last.
func (s *pgSampler) sum() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	var d time.Duration
	for pid, last := range s.last {
		d += last - s.first[pid]
	}
	return d
}

// end stops sampling and returns the CPU time the postgres processes used
// since samplePostgres.
func (s *pgSampler) end() time.Duration {
	close(s.stop)
	<-s.done
	return s.sum()
}

// procCPU is a process's CPU time (user + system) so far.
func procCPU(pid int) (time.Duration, bool) {
	f := statFields(pid)
	if len(f) < 13 {
		return 0, false
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)  // utime, field 14
	st, _ := strconv.ParseInt(f[12], 10, 64) // stime, field 15
	return time.Duration(u+st) * clockTick, true
}

// parentOf is a process's parent (0 when unknown).
func parentOf(pid int) int {
	f := statFields(pid)
	if len(f) < 2 {
		return 0
	}
	ppid, _ := strconv.Atoi(f[1])
	return ppid
}

// postmaster is the postmaster of db's server, the parent of its backend,
// when that backend runs on this machine (0 when unknown).
func postmaster(ctx context.Context, db *sql.DB) int {
	if db == nil {
		return 0
	}
	var pid int
	if err := db.QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
		return 0
	}
	comm, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	if err != nil || strings.TrimSpace(string(comm)) != "postgres" {
		return 0 // another machine's, or a pid namespace of its own
	}
	return parentOf(pid)
}

// walStat is pg_stat_wal's counters.
type walStat struct{ records, bytes int64 }

// readWAL reads pg_stat_wal (PostgreSQL 14 and later); ok is false when it
// cannot.
func readWAL(ctx context.Context, db *sql.DB) (w walStat, ok bool) {
	if db == nil {
		return w, false
	}
	err := db.QueryRowContext(ctx, `SELECT wal_records, wal_bytes::bigint FROM pg_stat_wal`).Scan(&w.records, &w.bytes)
	return w, err == nil
}

// pgWatch measures PostgreSQL's CPU and WAL from watchPostgres on: at
// each read (the measured attack's end) and at end (a job target's drain's
// end).
type pgWatch struct {
	db    *sql.DB
	cpu   *pgSampler
	wal0  walStat
	walOK bool
	ended bool
}

// watchPostgres starts measuring; dsn is the -postgres DSN. Without /proc
// or pg_stat_wal, the figures it cannot read stay zero.
func watchPostgres(ctx context.Context, dsn string) *pgWatch {
	w := &pgWatch{}
	if db, err := sql.Open("pgx", dsn); err == nil {
		db.SetMaxOpenConns(1)
		w.db = db
	}
	w.wal0, w.walOK = readWAL(ctx, w.db)
	w.cpu = samplePostgresOf("postgres", postmaster(ctx, w.db), 200*time.Millisecond)
	return w
}

// read returns the CPU the postgres processes used and the WAL records
// and bytes written since watchPostgres, measuring on.
func (w *pgWatch) read(ctx context.Context) (cpu time.Duration, wal walStat) {
	return w.cpu.total(), w.walSince(ctx)
}

// walSince is the WAL written since watchPostgres (zero when pg_stat_wal
// cannot be read).
func (w *pgWatch) walSince(ctx context.Context) walStat {
	w1, ok := readWAL(ctx, w.db)
	if !ok || !w.walOK {
		return walStat{}
	}
	return walStat{records: w1.records - w.wal0.records, bytes: w1.bytes - w.wal0.bytes}
}

// end stops measuring and returns what read would. Calling it again
// returns zeros.
func (w *pgWatch) end(ctx context.Context) (cpu time.Duration, wal walStat) {
	if w.ended {
		return 0, walStat{}
	}
	w.ended = true
	cpu, wal = w.cpu.end(), w.walSince(ctx)
	if w.db != nil {
		_ = w.db.Close()
	}
	return cpu, wal
}

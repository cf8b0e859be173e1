package manifest

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookhost/hookhost/host/api"
)

// DefaultDebounce is how long a manifest directory must stay quiet after a
// change before it is read again: editors and Kubernetes write a change in
// several steps.
const DefaultDebounce = 200 * time.Millisecond

// Metrics are the watcher's collectors, for the server's registry.
type Metrics struct {
	// Applies counts scans of the directory by result: applied (changes
	// written), unchanged, failed (problems; nothing written).
	Applies *prometheus.CounterVec
	// LastSuccess is the time of the last scan that was not refused.
	LastSuccess prometheus.Gauge
	// Watching is 1 while the directory is watched, 0 while it cannot be
	// (gone, or a link to nothing): changes are then only seen when it
	// comes back or at the next rescan.
	Watching prometheus.Gauge
}

// Scan results, the values of the Applies metric's result label.
const (
	ResultApplied   = "applied"
	ResultUnchanged = "unchanged"
	ResultFailed    = "failed"
)

// NewMetrics returns the watcher's collectors, unregistered.
func NewMetrics() *Metrics {
	m := &Metrics{
		Applies: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookhost_manifest_applies_total",
			Help: "Scans of the --manifests directory by result: applied (changes written), unchanged, failed (problems in the files; the last good state stays).",
		}, []string{"result"}),
		LastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hookhost_manifest_last_success_timestamp_seconds",
			Help: "Unix time of the last scan of the --manifests directory that was applied or found nothing to change.",
		}),
		Watching: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hookhost_manifest_watching",
			Help: "1 while the --manifests directory is watched for changes, 0 while it cannot be (gone, or a link to nothing; retried).",
		}),
	}
	for _, r := range []string{ResultApplied, ResultUnchanged, ResultFailed} {
		m.Applies.WithLabelValues(r)
	}
	return m
}

// Collectors lists the collectors to register.
func (m *Metrics) Collectors() []prometheus.Collector {
	return []prometheus.Collector{m.Applies, m.LastSuccess, m.Watching}
}

// WatchConfig configures Watch.
type WatchConfig struct {
	// Dir is the manifest directory. Required.
	Dir string
	// Applier applies it. Required.
	Applier *Applier
	// Logger logs every apply and every problem with its position.
	// Optional. Default: slog.Default().
	Logger *slog.Logger
	// Metrics counts the scans. Optional.
	Metrics *Metrics
	// Debounce is how long the directory must stay quiet after a change
	// before it is read. Optional. Default: DefaultDebounce.
	Debounce time.Duration
	// Rescan is how often the directory is checked besides its events:
	// the watch re-made if the directory (or the link naming it) changed,
	// and the files applied if they differ from the last good scan.
	// Optional. Default: DefaultRescan.
	Rescan time.Duration
}

// DefaultRescan is how often a watcher checks its directory without an
// event, a backstop for changes inotify cannot report (a link swapped
// further up the path, a directory on a network file system).
const DefaultRescan = 30 * time.Second

// Watcher applies a manifest directory at start and after every change of
// it. The directory owns what it declares: an apply prunes the records
// its files no longer declare. A change with problems is refused whole;
// the last good state stays, Healthy reports the problems, and every one
// is logged with its position.
type Watcher struct {
	cfg    WatchConfig
	log    *slog.Logger
	fsw    *fsnotify.Watcher
	cancel context.CancelFunc
	done   chan struct{}
	stop   sync.Once

	// Used by the loop only (and by Watch before it starts).
	dir      string      // cfg.Dir, absolute
	parent   string      // its parent directory ("" for the root)
	target   os.FileInfo // the directory watched (nil: none)
	lastGood string      // fingerprint of the files of the last good scan
	// lastRefused is the fingerprint of files the last scan refused for
	// their own problems (Problems), not tried again until they change;
	// "" after a failure of another kind (the database), which is.
	lastRefused string
	watched     map[string]bool // subdirectories watched besides Dir

	mu       sync.Mutex
	err      error // the last scan's refusal, or nil
	watchErr error // why the directory is not watched, or nil
	scans    int   // scans done
	rescans  int   // rescan ticks handled (tests)
	good     bool  // a scan was applied (or changed nothing)
}

// Watch applies the directory once, then watches it until ctx ends or
// Stop is called. It fails only when the directory cannot be watched at
// start; a first apply with problems leaves the watcher running and
// unhealthy.
//
// Changes are seen through fsnotify on the directory (and on the
// subdirectories of the .kata files the manifests name): a file written
// in place, an atomic rename over a file, and the swap of a Kubernetes
// ConfigMap's ..data link all end in a re-scan after Debounce of quiet.
// The parent directory is watched too: the directory removed and made
// again, or a link naming it swapped to a new checkout (git-sync, release
// directories), is watched anew and re-scanned. While the directory is
// gone the watcher retries every Rescan, logs a warning each time, and
// Healthy and the Watching metric say so; the last good state stays.
// Every Rescan the files are also read and applied if they differ from
// the last good scan. Files outside the directory (a secret's from_file:
// elsewhere) are read at every scan but not watched.
func Watch(ctx context.Context, cfg WatchConfig) (*Watcher, error) {
	if cfg.Dir == "" || cfg.Applier == nil {
		return nil, errors.New("manifest: Watch needs a directory and an Applier")
	}
	if cfg.Debounce <= 0 {
		cfg.Debounce = DefaultDebounce
	}
	if cfg.Rescan <= 0 {
		cfg.Rescan = DefaultRescan
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	fi, err := os.Stat(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("manifests: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("manifests: %s is not a directory", cfg.Dir)
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("manifests: %w", err)
	}
	fsw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("manifests: watch %s: %w", cfg.Dir, err)
	}
	if err := fsw.Add(dir); err != nil {
		_ = fsw.Close()
		return nil, fmt.Errorf("manifests: watch %s: %w", cfg.Dir, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	w := &Watcher{cfg: cfg, log: log.With("manifests", cfg.Dir), fsw: fsw, cancel: cancel, done: make(chan struct{}),
		dir: dir, target: fi, watched: map[string]bool{}}
	if p := filepath.Dir(dir); p != dir {
		w.parent = p
		// Best effort: without it, a directory made again is only seen
		// at the next rescan.
		if err := fsw.Add(p); err != nil {
			w.log.Warn("cannot watch the parent of the manifest directory; a directory made again or a link swapped is seen at the next rescan only", "error", err)
		}
	}
	w.setWatching(nil)
	w.scan(ctx, true)
	go w.loop(ctx)
	return w, nil
}

// Stop stops watching and waits until a scan in progress ends. It is safe
// to call more than once.
func (w *Watcher) Stop() {
	w.stop.Do(func() {
		w.cancel()
		<-w.done
		_ = w.fsw.Close()
	})
}

// Healthy returns nil while the directory's last scan was applied (or
// changed nothing) and the directory is watched, else why not: the
// problems of the refused scan, each with its position, or why the
// directory cannot be watched. The state of the last good scan stays in
// place meanwhile.
func (w *Watcher) Healthy() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == nil && !w.good {
		return fmt.Errorf("the manifests in %s have not been applied yet", w.cfg.Dir)
	}
	if w.err != nil && w.watchErr != nil {
		return fmt.Errorf("%w; %w", w.err, w.watchErr)
	}
	if w.err != nil {
		return w.err
	}
	return w.watchErr
}

// Ready reports whether the directory's state is in place: a scan was
// applied or found nothing to change, at start or since. A server may
// refuse readiness until then, and only report Healthy's problems after.
func (w *Watcher) Ready() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.good
}

// Scans returns how many scans of the directory have ended.
func (w *Watcher) Scans() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.scans
}

// Watching reports whether the directory is watched (nil) or why not.
func (w *Watcher) Watching() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.watchErr
}

// setWatching records whether the directory is watched.
func (w *Watcher) setWatching(err error) {
	w.mu.Lock()
	w.watchErr = err
	w.mu.Unlock()
	if m := w.cfg.Metrics; m != nil {
		if err == nil {
			m.Watching.Set(1)
		} else {
			m.Watching.Set(0)
		}
	}
}

// loop waits for changes and re-scans after Debounce of quiet.
func (w *Watcher) loop(ctx context.Context) {
	defer close(w.done)
	quiet := time.NewTimer(time.Hour)
	quiet.Stop()
	defer quiet.Stop()
	rescan := time.NewTicker(w.cfg.Rescan)
	defer rescan.Stop()
	force := false   // the next scan applies even files unchanged
	pending := false // quiet is armed: a scan comes after Debounce of quiet
	settle := func() {
		pending = true
		quiet.Reset(w.cfg.Debounce)
	}
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.fsw.Events:
			if !ok {
				return
			}
			switch {
			case ev.Name == w.dir || (w.parent != "" && ev.Name == w.parent):
				// The directory (or the link naming it) was made,
				// removed, renamed or swapped; or the parent went.
				if w.rewatch() {
					force = true
					settle()
				}
				continue
			case w.parent != "" && filepath.Dir(ev.Name) == w.parent:
				continue // another entry of the parent
			case ev.Op == fsnotify.Chmod:
				continue
			}
			force = true
			settle()
		case err, ok := <-w.fsw.Errors:
			if !ok {
				return
			}
			w.log.Warn("watching the manifests failed; re-scanning", "error", err)
			w.rewatch()
			force = true
			settle()
		case <-quiet.C:
			pending = false
			w.scan(ctx, force)
			force = false
		case <-rescan.C:
			changed := w.rewatch()
			if err := w.Watching(); err != nil {
				w.log.Warn("the manifest directory is not watched; its changes are not applied until it comes back (retrying)", "error", err)
			}
			w.mu.Lock()
			w.rescans++
			reapply := w.rescans%reapplyEvery == 0
			w.mu.Unlock()
			// Every reapplyEvery rescans the directory is applied even
			// unchanged: records another apply deleted or took over
			// come back (review revowner), and a refusal that hung on
			// something outside it (a secret's file) is tried again.
			force = force || changed || reapply
			// A change the rescan sees goes through the debounce as one
			// inotify reports does: a checkout half written (a webhook
			// moved from a.yaml to b.yaml, a.yaml written first) is not
			// applied, pruning what it moves (review revdecl2). While
			// events are pending, their scan comes after their quiet.
			if !pending && (force || w.differs()) {
				settle()
			}
		}
	}
}

// rewatch makes sure the watch is on the directory Dir names now: after
// it was removed and made again, or a link naming it was swapped. It
// reports whether the watch changed (the directory should be re-scanned).
func (w *Watcher) rewatch() bool {
	if w.parent != "" && !slices.Contains(w.fsw.WatchList(), w.parent) {
		_ = w.fsw.Add(w.parent) // retried at the next rescan
	}
	fi, err := os.Stat(w.dir)
	if err == nil && !fi.IsDir() {
		err = fmt.Errorf("%s is not a directory", w.cfg.Dir)
	}
	alive := slices.Contains(w.fsw.WatchList(), w.dir)
	if err == nil && alive && w.target != nil && os.SameFile(fi, w.target) {
		return false
	}
	// Drop the old watches: they are on a directory Dir no longer names.
	_ = w.fsw.Remove(w.dir)
	for d := range w.watched {
		_ = w.fsw.Remove(filepath.Join(w.dir, filepath.FromSlash(d)))
	}
	clear(w.watched)
	wasWatching := w.target != nil
	w.target = nil
	if err == nil {
		err = w.fsw.Add(w.dir)
	}
	if err != nil {
		if wasWatching {
			w.log.Warn("the manifest directory is not watched any more; its changes are not applied until it comes back (retrying)", "error", err)
		}
		w.setWatching(fmt.Errorf("the manifest directory %s is not watched: %w", w.cfg.Dir, err))
		return wasWatching
	}
	w.target = fi
	w.setWatching(nil)
	w.log.Info("watching the manifest directory anew", "dir", w.cfg.Dir)
	return true
}

// differs reports whether the directory's files differ from those of the
// last scan (or it cannot be read).
func (w *Watcher) differs() bool {
	src := &printSource{Source: Dir(w.dir), h: sha256.New()}
	_, _ = Parse(src)
	print := src.sum()
	return print != w.lastGood && print != w.lastRefused
}

// reapplyEvery is how many rescans (DefaultRescan: 30 s) go between two
// applies of an unchanged directory (5 minutes by default).
const reapplyEvery = 10

// maxConflictRetries bounds the re-plans of a scan whose apply met a
// change made meanwhile (another server applying the same directory).
const maxConflictRetries = 3

// scan reads the directory and applies it. Unless force, files the same
// as at the last good scan are left alone.
func (w *Watcher) scan(ctx context.Context, force bool) {
	var plan *api.ManifestPlan
	var err error
	var print string
	for range maxConflictRetries {
		var set *Set
		src := &printSource{Source: Dir(w.dir), h: sha256.New()}
		set, err = Parse(src)
		print = src.sum()
		if !force && (err == nil && print == w.lastGood || print == w.lastRefused) {
			return
		}
		if set != nil {
			w.watchDirs(set.files)
		}
		if err == nil && src.manifests == 0 {
			// An empty directory is more likely a checkout not there
			// yet than a wish to delete everything.
			err = fmt.Errorf("no manifest file (*.yaml, *.yml) in %s: nothing is pruned; to delete every record the directory declared, leave an empty manifest file in it", w.cfg.Dir)
		}
		if err == nil {
			plan, err = w.cfg.Applier.ApplySet(ctx, set, Options{Prune: true, By: "watch of " + w.cfg.Dir, Source: filepath.ToSlash(w.dir), SecretValue: LocalSecrets(w.dir)})
		}
		if !errors.Is(err, ErrRevisionConflict) || ctx.Err() != nil {
			break
		}
	}
	if ctx.Err() != nil {
		return
	}
	result := ResultUnchanged
	switch {
	case err != nil:
		result = ResultFailed
		w.logProblems(err)
	case plan.Applied:
		result = ResultApplied
		for _, c := range plan.Changes {
			if c.Action != api.ManifestUnchanged {
				w.log.Info("manifest change", "kind", c.Kind, "name", c.Name, "action", c.Action, "file", c.File, "fields", strings.Join(c.Fields, ","))
			}
		}
		for _, h := range plan.Webhooks {
			// The token is in the URL: the redactor keeps it out of the
			// log, so say where to find the webhook instead.
			w.log.Info("manifest webhook created with a generated token; rotate it (hookhost webhook rotate) to see a URL, or pin it with token_secret:", "webhook", h.Name, "id", h.ID)
		}
	}
	if plan != nil {
		for _, warn := range plan.Warnings {
			w.log.Warn("manifest warning", "warning", warn)
		}
	}
	if m := w.cfg.Metrics; m != nil {
		m.Applies.WithLabelValues(result).Inc()
		if result != ResultFailed {
			m.LastSuccess.SetToCurrentTime()
		}
	}
	w.lastGood, w.lastRefused = "", ""
	var ps Problems
	switch {
	case err == nil:
		w.lastGood = print
	case errors.As(err, &ps):
		w.lastRefused = print
	}
	w.mu.Lock()
	w.scans++
	w.err = nil
	w.good = w.good || err == nil
	if err != nil {
		w.err = fmt.Errorf("the manifests in %s were refused; the last good state stays: %w", w.cfg.Dir, err)
	}
	w.mu.Unlock()
}

// printSource is a Source recording a fingerprint of what is read.
type printSource struct {
	Source
	h         hash.Hash
	manifests int
}

func (p *printSource) Manifests() ([]string, error) {
	names, err := p.Source.Manifests()
	p.manifests = len(names)
	fmt.Fprintf(p.h, "manifests %q %v\n", names, err)
	return names, err
}

func (p *printSource) ReadFile(name string) ([]byte, error) {
	b, err := p.Source.ReadFile(name)
	fmt.Fprintf(p.h, "file %q %d %v\n", name, len(b), err)
	p.h.Write(b)
	return b, err
}

func (p *printSource) sum() string { return string(p.h.Sum(nil)) }

// logProblems logs every problem of a refused scan with its position.
func (w *Watcher) logProblems(err error) {
	var ps Problems
	if !errors.As(err, &ps) {
		w.log.Error("manifests refused; the last good state stays", "error", err)
		return
	}
	w.log.Error("manifests refused; the last good state stays", "problems", len(ps))
	for _, p := range ps {
		w.log.Error("manifest problem", "at", p.Pos.String(), "problem", p.Msg)
	}
}

// watchDirs adds watches on the subdirectories of files (names relative
// to Dir) not watched yet.
func (w *Watcher) watchDirs(files []string) {
	for _, f := range files {
		d := path.Dir(f)
		if d == "." || w.watched[d] || checkRelative(f) != nil {
			continue
		}
		if err := w.fsw.Add(filepath.Join(w.dir, filepath.FromSlash(d))); err == nil {
			w.watched[d] = true
		}
	}
}

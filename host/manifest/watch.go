package manifest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path"
	"path/filepath"
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
	}
	for _, r := range []string{ResultApplied, ResultUnchanged, ResultFailed} {
		m.Applies.WithLabelValues(r)
	}
	return m
}

// Collectors lists the collectors to register.
func (m *Metrics) Collectors() []prometheus.Collector {
	return []prometheus.Collector{m.Applies, m.LastSuccess}
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
}

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

	mu      sync.Mutex
	err     error           // the last scan's refusal, or nil
	scans   int             // scans done
	good    bool            // a scan was applied (or changed nothing)
	watched map[string]bool // subdirectories watched besides Dir
}

// Watch applies the directory once, then watches it until ctx ends or
// Stop is called. It fails only when the directory cannot be watched; a
// first apply with problems leaves the watcher running and unhealthy.
//
// Changes are seen through fsnotify on the directory (and on the
// subdirectories of the .kata files the manifests name): a file written
// in place, an atomic rename over a file, and the swap of a Kubernetes
// ConfigMap's ..data link all end in a re-scan after Debounce of quiet.
// Files outside the directory (a secret's from_file: elsewhere) are read
// at every scan but not watched.
func Watch(ctx context.Context, cfg WatchConfig) (*Watcher, error) {
	if cfg.Dir == "" || cfg.Applier == nil {
		return nil, errors.New("manifest: Watch needs a directory and an Applier")
	}
	if cfg.Debounce <= 0 {
		cfg.Debounce = DefaultDebounce
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
	fsw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("manifests: watch %s: %w", cfg.Dir, err)
	}
	if err := fsw.Add(cfg.Dir); err != nil {
		_ = fsw.Close()
		return nil, fmt.Errorf("manifests: watch %s: %w", cfg.Dir, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	w := &Watcher{cfg: cfg, log: log.With("manifests", cfg.Dir), fsw: fsw, cancel: cancel, done: make(chan struct{}), watched: map[string]bool{}}
	w.scan(ctx)
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
// changed nothing), else why it was refused: its problems, each with its
// position. The state of the last good scan stays in place meanwhile.
func (w *Watcher) Healthy() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == nil && !w.good {
		return fmt.Errorf("the manifests in %s have not been applied yet", w.cfg.Dir)
	}
	return w.err
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

// loop waits for changes and re-scans after Debounce of quiet.
func (w *Watcher) loop(ctx context.Context) {
	defer close(w.done)
	quiet := time.NewTimer(time.Hour)
	quiet.Stop()
	defer quiet.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.fsw.Events:
			if !ok {
				return
			}
			if ev.Op == fsnotify.Chmod {
				continue
			}
			quiet.Reset(w.cfg.Debounce)
		case err, ok := <-w.fsw.Errors:
			if !ok {
				return
			}
			w.log.Warn("watching the manifests failed; re-scanning", "error", err)
			quiet.Reset(w.cfg.Debounce)
		case <-quiet.C:
			w.scan(ctx)
		}
	}
}

// maxConflictRetries bounds the re-plans of a scan whose apply met a
// change made meanwhile (another server applying the same directory).
const maxConflictRetries = 3

// scan reads the directory and applies it.
func (w *Watcher) scan(ctx context.Context) {
	var plan *api.ManifestPlan
	var err error
	for range maxConflictRetries {
		var set *Set
		set, err = Parse(Dir(w.cfg.Dir))
		if set != nil {
			w.watchDirs(set.files)
		}
		if err == nil {
			plan, err = w.cfg.Applier.ApplySet(ctx, set, Options{Prune: true, By: "watch of " + w.cfg.Dir, SecretValue: LocalSecrets(w.cfg.Dir)})
		}
		var prob *api.Problem
		if !errors.As(err, &prob) || prob.Status != http.StatusConflict || ctx.Err() != nil {
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
	w.mu.Lock()
	w.scans++
	w.err = nil
	w.good = w.good || err == nil
	if err != nil {
		w.err = fmt.Errorf("the manifests in %s were refused; the last good state stays: %w", w.cfg.Dir, err)
	}
	w.mu.Unlock()
}

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
		if err := w.fsw.Add(filepath.Join(w.cfg.Dir, filepath.FromSlash(d))); err == nil {
			w.watched[d] = true
		}
	}
}

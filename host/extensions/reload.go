package extensions

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
)

// ReloadResult says what a Reload changed, by extension name. It is the
// answer of `POST /api/v1/extensions/reload` and `hookhost ext reload`.
type ReloadResult struct {
	// Started are new binaries, now serving.
	Started []string `json:"started"`
	// Restarted are changed binaries (another SHA-256, or one that had
	// failed or been refused), now serving in new processes.
	Restarted []string `json:"restarted"`
	// Stopped are binaries gone from the plugins directory.
	Stopped []string `json:"stopped"`
	// Failed could not be started (see List and the error); a changed
	// binary that fails leaves the old processes serving.
	Failed []string `json:"failed"`
}

// Reload scans the plugins directory again and makes the running
// extensions match it, without stopping the others:
//   - a new binary is started;
//   - a changed binary (its SHA-256 differs from the one started; or its
//     last start failed or was refused) is started anew, and once it
//     serves, new calls go to it while the old processes finish the calls
//     they hold (for up to DrainTimeout; later ones fail with ErrCrashed)
//     and stop. If the new binary does not start, the old processes serve
//     on and Info.Error says why;
//   - a binary that is gone is stopped the same way, after its calls.
//
// Built-in extensions are not reloaded. Handles from ForTrigger and
// ForCommand stay valid: a replaced extension hands its calls to its
// successor. Reload returns what it changed and the start failures joined
// (each a *StartError), or the context's error when ctx ended first.
func (m *Manager) Reload(ctx context.Context) (ReloadResult, error) {
	res := ReloadResult{Started: []string{}, Restarted: []string{}, Stopped: []string{}, Failed: []string{}}
	m.reloadMu.Lock()
	defer m.reloadMu.Unlock()
	m.mu.RLock()
	started, closed := m.started, m.closed
	current := maps.Clone(m.exts)
	m.mu.RUnlock()
	switch {
	case closed:
		return res, ErrClosed
	case !started:
		return res, errors.New("extensions: Reload before Start")
	}
	ctx, cancel := m.linked(ctx)
	defer cancel()

	specs, errs := m.discover()
	seen := map[string]bool{}
	var starting []*extension
	for _, s := range specs {
		if s.builtin {
			continue
		}
		seen[s.name] = true
		old := current[s.name]
		if old != nil && old.err == nil && s.err == nil && bytes.Equal(old.spec.sum, s.sum) && bytes.Equal(old.spec.checksum, s.checksum) {
			continue // unchanged, and serving
		}
		starting = append(starting, newExtension(m, s))
	}
	m.startAll(ctx, starting)

	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		m.closeAll(starting)
		return res, ErrClosed
	}
	var retiring []*extension
	for _, e := range starting {
		old := current[e.name]
		if e.err != nil {
			res.Failed = append(res.Failed, e.name)
			errs = append(errs, e.err)
			m.logStartFailure(e)
			if old != nil && old.err == nil {
				msg := "reload: " + e.err.Error()
				old.reloadErr.Store(&msg)
				continue // the old processes serve on
			}
		} else if old == nil {
			res.Started = append(res.Started, e.name)
		} else {
			res.Restarted = append(res.Restarted, e.name)
		}
		m.exts[e.name] = e
		if old != nil {
			old.successor.Store(e)
			retiring = append(retiring, old)
		}
	}
	for name, old := range current {
		if old.spec.builtin || seen[name] {
			continue
		}
		delete(m.exts, name)
		old.removed.Store(true)
		retiring = append(retiring, old)
		res.Stopped = append(res.Stopped, name)
	}
	m.rebuildLocked()
	m.mu.Unlock()

	for _, old := range retiring {
		m.background(old.retire)
	}
	if len(res.Started)+len(res.Restarted)+len(res.Stopped)+len(res.Failed) > 0 {
		m.log.Info("extensions reloaded", "started", res.Started, "restarted", res.Restarted, "stopped", res.Stopped, "failed", res.Failed)
	}
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("extensions: reload: %w", err)
	}
	return res, errors.Join(errs...)
}

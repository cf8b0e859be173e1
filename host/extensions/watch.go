package extensions

import (
	"fmt"
	"time"

	"github.com/fsnotify/fsnotify"
)

// watch watches the plugins directory (Config.Watch) and reloads once it
// has been quiet for WatchDelay after a change. It watches the directory,
// not the files, so a binary replaced by an atomic rename (write a temporary
// file, rename it over the old one) is seen like one written in place; a
// binary caught half-written fails to start, the old processes serve on,
// and the next write reloads again.
func (m *Manager) watch() error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("extensions: watch plugins dir: %w", err)
	}
	if err := w.Add(m.cfg.PluginsDir); err != nil {
		_ = w.Close()
		return fmt.Errorf("extensions: watch plugins dir: %w", err)
	}
	m.background(func() {
		defer w.Close()
		t := time.NewTimer(time.Hour)
		t.Stop()
		for {
			select {
			case <-m.ctx.Done():
				return
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				m.log.Debug("plugins dir changed", "path", ev.Name, "op", ev.Op.String())
				t.Reset(m.cfg.WatchDelay)
			case err, ok := <-w.Errors:
				if !ok {
					return
				}
				m.log.Warn("watching the plugins dir", "dir", m.cfg.PluginsDir, "error", err)
				t.Reset(m.cfg.WatchDelay) // events may have been lost: rescan
			case <-t.C:
				if _, err := m.Reload(m.ctx); err != nil && !m.isClosed() {
					m.log.Error("reload after a change in the plugins dir", "dir", m.cfg.PluginsDir, "error", err)
				}
			}
		}
	})
	return nil
}

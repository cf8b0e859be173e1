// Package plugintest helps test hookhost extensions without starting a
// process: Connect serves an extension over an in-process gRPC connection
// (go-plugin's TestPluginGRPCConn), Host is an in-memory plugins.Host, and
// Exercise is the conformance suite every extension passes.
package plugintest

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	plugin "github.com/hashicorp/go-plugin"

	"github.com/hookhost/hookhost/plugins"
)

// Connect serves ext over an in-process gRPC connection, the same protocol
// and Host callbacks as a real extension process, and returns the host side.
// The connection is closed when the test ends.
func Connect(t testing.TB, ext plugins.Extension) *plugins.Client {
	t.Helper()
	ps := map[string]plugin.Plugin{plugins.PluginName: &plugins.GRPCPlugin{Impl: ext}}
	client, _ := plugin.TestPluginGRPCConn(t, false, ps)
	// Close asks the server to stop (go-plugin's controller Shutdown); a
	// second server.Stop here would race with that one inside go-plugin.
	t.Cleanup(func() { _ = client.Close() })
	raw, err := client.Dispense(plugins.PluginName)
	if err != nil {
		t.Fatalf("plugintest: dispense: %v", err)
	}
	c, ok := raw.(*plugins.Client)
	if !ok {
		t.Fatalf("plugintest: dispensed %T, want *plugins.Client", raw)
	}
	return c
}

// Host is an in-memory plugins.Host for tests. Its maps may be filled before
// use; after that, use its methods (it is safe for concurrent use).
type Host struct {
	mu sync.Mutex
	// Storage holds JSON values by key.
	Storage map[string][]byte
	// Secrets holds secret values by name.
	Secrets map[string]string
	// Functions answers RunFunction by automation name.
	Functions map[string]func(ctx context.Context, inputs []byte) (plugins.Outcome, error)
	// Commands answers RunCommand by command name.
	Commands map[string]func(ctx context.Context, inputs []byte) ([]byte, error)
	logs     []plugins.LogEntry
}

var _ plugins.Host = (*Host)(nil)

// NewHost returns an empty Host.
func NewHost() *Host {
	return &Host{
		Storage:   map[string][]byte{},
		Secrets:   map[string]string{},
		Functions: map[string]func(context.Context, []byte) (plugins.Outcome, error){},
		Commands:  map[string]func(context.Context, []byte) ([]byte, error){},
	}
}

func notFound(what, name string) error {
	return &plugins.Error{Code: plugins.CodeNotFound, Message: what + " " + name + " not found"}
}

// Logs returns a copy of the log entries received so far.
func (h *Host) Logs() []plugins.LogEntry {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.logs)
}

// Value returns the stored JSON value of key.
func (h *Host) Value(key string) ([]byte, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	v, ok := h.Storage[key]
	return v, ok
}

// Log records entry.
func (h *Host) Log(_ context.Context, entry plugins.LogEntry) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.logs = append(h.logs, entry)
	return nil
}

// StorageGet reads key.
func (h *Host) StorageGet(_ context.Context, key string) ([]byte, bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	v, ok := h.Storage[key]
	return slices.Clone(v), ok, nil
}

// StorageSet writes key; expires is ignored.
func (h *Host) StorageSet(_ context.Context, key string, value []byte, _ time.Time) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.Storage[key] = slices.Clone(value)
	return nil
}

// StorageDelete removes key.
func (h *Host) StorageDelete(_ context.Context, key string) (bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, ok := h.Storage[key]
	delete(h.Storage, key)
	return ok, nil
}

// RunFunction calls Functions[name].
func (h *Host) RunFunction(ctx context.Context, name string, inputs []byte) (plugins.Outcome, error) {
	h.mu.Lock()
	fn, ok := h.Functions[name]
	h.mu.Unlock()
	if !ok {
		return plugins.Outcome{}, notFound("function", name)
	}
	return fn(ctx, inputs)
}

// Secret looks name up in Secrets.
func (h *Host) Secret(_ context.Context, name string) (string, bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	v, ok := h.Secrets[name]
	return v, ok, nil
}

// RunCommand calls Commands[name].
func (h *Host) RunCommand(ctx context.Context, name string, inputs []byte) ([]byte, error) {
	h.mu.Lock()
	fn, ok := h.Commands[name]
	h.mu.Unlock()
	if !ok {
		return nil, notFound("command", name)
	}
	return fn(ctx, inputs)
}

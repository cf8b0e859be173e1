package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/store"
)

// namedValue is a test value with a name for messages.
type namedValue struct {
	name  string
	value string
}

// oddBytes returns values a caller may send in any field that is not a
// name: NUL bytes, invalid UTF-8 (a gzip header, a lone continuation byte,
// a truncated rune), text that looks like a bytea or JSON escape, and plain
// text.
func oddBytes() []namedValue {
	return []namedValue{
		{"NUL", "a\x00b"},
		{"OnlyNUL", "\x00"},
		{"Gzip", "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"},
		{"InvalidUTF8", "caf\xe9 \xc3\x28 \xa0\xa1 \xf0\x28\x8c"},
		{"TruncatedRune", "€\xe2\x82"},
		{"EscapeLookalikes", `\x00 \\x41 \u0000 ''`},
		{"Plain", "ünïcödé ✓"},
	}
}

// badNames returns names and IDs the store refuses (store.ValidName).
func badNames() []namedValue {
	return []namedValue{{"NUL", "a\x00b"}, {"InvalidUTF8", "caf\xe9"}}
}

// exerciseBytes checks that every text field that carries a caller's bytes
// stores them exactly, on both databases, and that names and IDs that are
// not valid UTF-8 or hold a NUL are refused (writes) or not found
// (look-ups), never a database error.
func exerciseBytes(ctx context.Context, t *testing.T, open func(t *testing.T) store.Store) {
	t.Helper()
	setup := newSetup(ctx, open)

	t.Run("AutomationFieldsKeepAnyBytes", func(t *testing.T) {
		t.Parallel()
		s, bundle := setup(t)

		for _, tt := range oddBytes() {
			a := &store.Automation{Name: "a-" + tt.name, ExtensionID: tt.value, Description: tt.value,
				Script: "start:\n  return:\n    body: " + tt.value, PolicyKATA: tt.value}
			require.NoError(t, s.CreateAutomation(bundle.ctx, a), tt.name)
			got, err := s.GetAutomation(bundle.ctx, a.Name)
			require.NoError(t, err, tt.name)
			require.Equal(t, a, got, tt.name)

			a.Description, a.Script, a.PolicyKATA = "x"+tt.value, tt.value+"y", tt.value+tt.value
			require.NoError(t, s.UpdateAutomation(bundle.ctx, a), tt.name)
			got, err = s.GetAutomation(bundle.ctx, a.Name)
			require.NoError(t, err, tt.name)
			require.Equal(t, a, got, tt.name)
		}
		list, err := s.ListAutomations(bundle.ctx)
		require.NoError(t, err)
		require.Len(t, list, len(oddBytes()))
		require.NoError(t, s.Healthy())
	})

	t.Run("ImportKeepsAnyBytes", func(t *testing.T) {
		t.Parallel()
		s, bundle := setup(t)

		for i, tt := range oddBytes() {
			plan := &store.ImportPlan{
				Import:      store.PackageImport{Name: "pkg-" + tt.name, Result: []byte(tt.value)},
				Automations: []*store.Automation{{Name: "a-" + tt.name, Script: tt.value}},
				Webhooks:    []*store.Webhook{{Name: "w-" + tt.name, TokenHash: tokenHash(tt.name), EventKATA: tt.value}},
			}
			require.NoError(t, s.ApplyImport(bundle.ctx, plan), tt.name)
			a, err := s.GetAutomation(bundle.ctx, "a-"+tt.name)
			require.NoError(t, err, tt.name)
			require.Equal(t, tt.value, a.Script, tt.name)
			w, err := s.GetWebhook(bundle.ctx, plan.Webhooks[0].ID)
			require.NoError(t, err, tt.name)
			require.Equal(t, tt.value, w.EventKATA, tt.name)
			imports, err := s.ListImports(bundle.ctx)
			require.NoError(t, err, tt.name)
			require.Len(t, imports, i+1, tt.name)
			require.Equal(t, []byte(tt.value), imports[i].Result, tt.name)
		}
	})

	t.Run("KVKeepsAnyBytes", func(t *testing.T) {
		t.Parallel()
		s, bundle := setup(t)
		now := time.Now()

		var keys []string
		for _, tt := range oddBytes() {
			// The value, the key and the namespace.
			require.NoError(t, s.KVSet(bundle.ctx, "ns", tt.value, []byte(tt.value), nil), tt.name)
			require.NoError(t, s.KVSet(bundle.ctx, tt.value, "k", []byte("in "+tt.value), nil), tt.name)
			keys = append(keys, tt.value)

			v, found, err := s.KVGet(bundle.ctx, "ns", tt.value, now)
			require.NoError(t, err, tt.name)
			require.True(t, found, tt.name)
			require.Equal(t, []byte(tt.value), v, tt.name)
			v, found, err = s.KVGet(bundle.ctx, tt.value, "k", now)
			require.NoError(t, err, tt.name)
			require.True(t, found, tt.name)
			require.Equal(t, []byte("in "+tt.value), v, tt.name)
			list, err := s.KVList(bundle.ctx, tt.value)
			require.NoError(t, err, tt.name)
			require.Equal(t, []string{"k"}, list, tt.name)
		}
		list, err := s.KVList(bundle.ctx, "ns")
		require.NoError(t, err)
		require.ElementsMatch(t, keys, list)
		for i := 1; i < len(list); i++ {
			require.Less(t, list[i-1], list[i], "keys sort bytewise")
		}
		for _, tt := range oddBytes() {
			found, err := s.KVDelete(bundle.ctx, "ns", tt.value)
			require.NoError(t, err, tt.name)
			require.True(t, found, tt.name)
		}
		require.NoError(t, s.Healthy())
	})

	t.Run("NamesMustBeUTF8WithoutNUL", func(t *testing.T) {
		t.Parallel()
		s, bundle := setup(t)

		w := &store.Webhook{Name: "ok", TokenHash: tokenHash("ok")}
		require.NoError(t, s.CreateWebhook(bundle.ctx, w))
		require.NoError(t, s.CreateAutomation(bundle.ctx, &store.Automation{Name: "ok"}))
		for _, tt := range badNames() {
			bad := tt.value
			// Writes that would store the name are refused.
			err := s.CreateAutomation(bundle.ctx, &store.Automation{Name: bad})
			require.ErrorIs(t, err, store.ErrInvalid, tt.name)
			err = s.CreateWebhook(bundle.ctx, &store.Webhook{Name: bad, TokenHash: tokenHash(tt.name)})
			require.ErrorIs(t, err, store.ErrInvalid, tt.name)
			err = s.UpdateWebhook(bundle.ctx, &store.Webhook{ID: w.ID, Name: bad, TokenHash: w.TokenHash})
			require.ErrorIs(t, err, store.ErrInvalid, tt.name)
			err = s.ApplyImport(bundle.ctx, &store.ImportPlan{Import: store.PackageImport{Name: bad}})
			require.ErrorIs(t, err, store.ErrInvalid, tt.name)
			err = s.ApplyImport(bundle.ctx, &store.ImportPlan{Import: store.PackageImport{Name: "p"},
				Automations: []*store.Automation{{Name: "fine"}, {Name: bad}}})
			require.ErrorIs(t, err, store.ErrInvalid, tt.name)
			err = s.InsertRuns(bundle.ctx, []*store.Run{{WebhookID: "w"}, {WebhookID: bad}})
			require.ErrorIs(t, err, store.ErrInvalid, tt.name)
			err = s.InsertRuns(bundle.ctx, []*store.Run{{ID: bad, WebhookID: "w"}})
			require.ErrorIs(t, err, store.ErrInvalid, tt.name)

			// Look-ups find nothing.
			_, err = s.GetAutomation(bundle.ctx, bad)
			require.ErrorIs(t, err, store.ErrNotFound, tt.name)
			require.ErrorIs(t, s.UpdateAutomation(bundle.ctx, &store.Automation{Name: bad}), store.ErrNotFound, tt.name)
			require.ErrorIs(t, s.DeleteAutomation(bundle.ctx, bad), store.ErrNotFound, tt.name)
			_, err = s.GetWebhook(bundle.ctx, bad)
			require.ErrorIs(t, err, store.ErrNotFound, tt.name)
			require.ErrorIs(t, s.UpdateWebhook(bundle.ctx, &store.Webhook{ID: bad, TokenHash: tokenHash("x")}), store.ErrNotFound, tt.name)
			require.ErrorIs(t, s.DeleteWebhook(bundle.ctx, bad), store.ErrNotFound, tt.name)
			_, err = s.GetRun(bundle.ctx, bad)
			require.ErrorIs(t, err, store.ErrNotFound, tt.name)
			runs, err := s.ListRuns(bundle.ctx, store.RunFilter{WebhookID: bad})
			require.NoError(t, err, tt.name)
			require.Empty(t, runs, tt.name)
			runs, err = s.ListRuns(bundle.ctx, store.RunFilter{BeforeID: bad})
			require.NoError(t, err, tt.name)
			require.Empty(t, runs, tt.name)
		}

		// Nothing was written, and a caller's mistake is not a failing store.
		list, err := s.ListAutomations(bundle.ctx)
		require.NoError(t, err)
		require.Len(t, list, 1)
		imports, err := s.ListImports(bundle.ctx)
		require.NoError(t, err)
		require.Empty(t, imports)
		runs, err := s.ListRuns(bundle.ctx, store.RunFilter{})
		require.NoError(t, err)
		require.Empty(t, runs)
		got, err := s.GetWebhook(bundle.ctx, w.ID)
		require.NoError(t, err)
		require.Equal(t, "ok", got.Name)
		require.NoError(t, s.Healthy())
	})

	t.Run("RunFieldsKeepAnyBytes", func(t *testing.T) {
		t.Parallel()
		s, bundle := setup(t)

		odd := oddBytes()
		var runs []*store.Run
		for _, tt := range odd {
			v := []byte(tt.value)
			runs = append(runs, &store.Run{WebhookID: "w", Automation: tt.value, Status: 500, Exit: tt.value,
				Error: tt.value, Inputs: v, Output: v, Log: v})
		}
		require.NoError(t, s.InsertRuns(bundle.ctx, runs))
		for i, r := range runs {
			got, err := s.GetRun(bundle.ctx, r.ID)
			require.NoError(t, err, odd[i].name)
			require.Equal(t, r, got, odd[i].name)
		}
		list, err := s.ListRuns(bundle.ctx, store.RunFilter{WebhookID: "w"})
		require.NoError(t, err)
		require.Len(t, list, len(runs))
	})

	t.Run("WebhookFieldsKeepAnyBytes", func(t *testing.T) {
		t.Parallel()
		s, bundle := setup(t)

		for _, tt := range oddBytes() {
			w := &store.Webhook{Name: "w", TokenHash: tokenHash(tt.name), EventKATA: tt.value, Enabled: true}
			require.NoError(t, s.CreateWebhook(bundle.ctx, w), tt.name)
			got, err := s.GetWebhook(bundle.ctx, w.ID)
			require.NoError(t, err, tt.name)
			require.Equal(t, w, got, tt.name)

			w.EventKATA = tt.value + "\n" + tt.value
			require.NoError(t, s.UpdateWebhook(bundle.ctx, w), tt.name)
			got, err = s.GetWebhookByTokenHash(bundle.ctx, w.TokenHash, time.Now())
			require.NoError(t, err, tt.name)
			require.Equal(t, w, got, tt.name)
		}
	})
}

package catalog

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/store"
	"github.com/hookhost/hookhost/templates"
)

// tokenStore is a store that knows webhooks by token hash and counts the
// lookups that reach it.
type tokenStore struct {
	store.Store
	hooks   map[string]*store.Webhook // by token
	lookups int
}

func (s *tokenStore) GetWebhookByTokenHash(_ context.Context, hash []byte, _ time.Time) (*store.Webhook, error) {
	s.lookups++
	for tok, w := range s.hooks {
		if bytes.Equal(TokenHash(tok), hash) {
			return w, nil
		}
	}
	return nil, store.ErrNotFound
}

func TestCatalog_Webhook_Cache(t *testing.T) {
	t.Parallel()
	tokA, tokB := NewToken(), NewToken()
	event := "automation/main:\n  uri: cerb:automation:a\n"
	setup := func(t *testing.T) (*Catalog, *tokenStore) {
		t.Helper()
		st := &tokenStore{hooks: map[string]*store.Webhook{
			tokA: {ID: "a", EventKATA: event, TokenHash: TokenHash(tokA)},
			tokB: {ID: "b", EventKATA: event, TokenHash: TokenHash(tokB)},
		}}
		return New(Config{Store: st, Templates: templates.New()}), st
	}
	now := time.Now()
	tests := []struct {
		name string
		// tokens are looked up in order; want are the webhook ids found
		// ("" for none), lookups the store lookups they took in all.
		tokens  []string
		want    []string
		lookups int
		// collide, when set, files the cached entry of tokens[0] under
		// the key of this token before the second lookup.
		collide string
	}{
		{name: "CachedTokenSkipsTheStore", tokens: []string{tokA, tokA, tokA}, want: []string{"a", "a", "a"}, lookups: 1},
		{name: "TwoTokensTwoEntries", tokens: []string{tokA, tokB, tokA, tokB}, want: []string{"a", "b", "a", "b"}, lookups: 2},
		{name: "UnknownTokenRemembered", tokens: []string{strings.Repeat("0", 40), strings.Repeat("0", 40)}, want: []string{"", ""}, lookups: 1},
		{name: "TokenOfADifferentLengthIsNotTheEntry", tokens: []string{tokA, tokA + "0"}, want: []string{"a", ""}, lookups: 2},
		// A token whose key holds another token's entry (a hash
		// collision) is not that entry: it is compared whole.
		{name: "CollidingKeyIsComparedWhole", tokens: []string{tokA, strings.Repeat("f", 40)}, want: []string{"a", ""}, lookups: 2,
			collide: strings.Repeat("f", 40)},
		{name: "CollidingKnownTokenTakesTheEntryOver", tokens: []string{tokA, tokB, tokB}, want: []string{"a", "b", "b"}, lookups: 2,
			collide: tokB},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, st := setup(t)
			for i, tok := range tt.tokens {
				if tt.collide != "" && i == 1 {
					k := c.cache
					h := k.hook[tokenKey(k.seed, tt.tokens[0])]
					require.NotNil(t, h)
					k.hook[tokenKey(k.seed, tt.collide)] = h
				}
				// The request's bytes are reused: the cache must keep a
				// copy of the token.
				buf := []byte(tok)
				h, err := c.Webhook(context.Background(), unsafe.String(&buf[0], len(buf)), now)
				clear(buf)
				require.NoError(t, err)
				if tt.want[i] == "" {
					require.Nil(t, h, "lookup %d", i)
					continue
				}
				require.NotNil(t, h, "lookup %d", i)
				require.Equal(t, tt.want[i], h.Webhook.ID, "lookup %d", i)
			}
			require.Equal(t, tt.lookups, st.lookups)
		})
	}
}

func TestSameToken(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b string
		want bool
	}{
		{"", "", true},
		{"abc", "abc", true},
		{"abc", "abd", false},
		{"abc", "xbc", false},
		{"abc", "ab", false},
		{"ab", "abc", false},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, sameToken(tt.a, tt.b), "%q %q", tt.a, tt.b)
	}
}

func TestCatalog_Webhook_PreviousTokenExpires(t *testing.T) {
	t.Parallel()
	tokOld := NewToken()
	until := time.Now().Add(time.Minute)
	st := &tokenStore{hooks: map[string]*store.Webhook{
		tokOld: {ID: "a", EventKATA: "automation/main:\n  uri: cerb:automation:a\n", TokenHash: TokenHash(NewToken()),
			PrevTokenHash: TokenHash(tokOld), PrevTokenExpiresAt: &until},
	}}
	c := New(Config{Store: st, Templates: templates.New()})
	h, err := c.Webhook(context.Background(), tokOld, until.Add(-time.Second))
	require.NoError(t, err)
	require.NotNil(t, h)
	h, err = c.Webhook(context.Background(), tokOld, until.Add(-time.Millisecond))
	require.NoError(t, err)
	require.NotNil(t, h)
	require.Equal(t, 1, st.lookups, "cached within the overlap")
	// Past the overlap the cached entry is not used: the store decides.
	delete(st.hooks, tokOld)
	h, err = c.Webhook(context.Background(), tokOld, until)
	require.NoError(t, err)
	require.Nil(t, h)
	require.Equal(t, 2, st.lookups)
}

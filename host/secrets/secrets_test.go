package secrets_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/redact"
	"github.com/hookhost/hookhost/host/secrets"
)

func key(b byte) []byte { return bytes.Repeat([]byte{b}, secrets.KeySize) }

func newBox(t *testing.T, k []byte) *secrets.Box {
	t.Helper()
	b, err := secrets.NewBox(k)
	require.NoError(t, err)
	return b
}

func TestBox(t *testing.T) {
	t.Parallel()

	t.Run("RoundTrip", func(t *testing.T) {
		t.Parallel()
		b := newBox(t, key(1))
		for _, pt := range [][]byte{[]byte("hunter2-secret"), {}, bytes.Repeat([]byte{0xff}, 70000)} {
			sealed, err := b.Seal("github_hook", pt)
			require.NoError(t, err)
			require.Equal(t, byte(1), sealed[0], "version byte")
			require.Len(t, sealed, 1+12+len(pt)+16)
			if len(pt) > 0 {
				require.False(t, bytes.Contains(sealed, pt))
			}
			got, err := b.Open("github_hook", sealed)
			require.NoError(t, err)
			require.Equal(t, string(pt), string(got))
		}
	})

	t.Run("RandomNonce", func(t *testing.T) {
		t.Parallel()
		b := newBox(t, key(1))
		a1, err := b.Seal("n", []byte("same"))
		require.NoError(t, err)
		a2, err := b.Seal("n", []byte("same"))
		require.NoError(t, err)
		require.NotEqual(t, a1, a2)
	})

	sealed, err := newBox(t, key(1)).Seal("github_hook", []byte("hunter2-secret"))
	require.NoError(t, err)
	tamper := func(i int) []byte {
		c := slices.Clone(sealed)
		c[i] ^= 1
		return c
	}
	tests := []struct {
		name    string
		key     []byte
		open    string
		sealed  []byte
		decrypt bool // the error wraps ErrDecrypt
		msg     string
	}{
		{name: "WrongKey", key: key(2), open: "github_hook", sealed: sealed, decrypt: true},
		{name: "MovedToAnotherName", key: key(1), open: "stripe", sealed: sealed, decrypt: true},
		{name: "TamperedNonce", key: key(1), open: "github_hook", sealed: tamper(1), decrypt: true},
		{name: "TamperedCiphertext", key: key(1), open: "github_hook", sealed: tamper(len(sealed) - 1), decrypt: true},
		{name: "Truncated", key: key(1), open: "github_hook", sealed: sealed[:20], decrypt: true},
		{name: "Empty", key: key(1), open: "github_hook", sealed: nil, decrypt: true},
		{name: "UnknownVersion", key: key(1), open: "github_hook", sealed: tamper(0), msg: `secrets: open "github_hook": unknown format version 0`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := newBox(t, tt.key).Open(tt.open, tt.sealed)
			require.Error(t, err)
			require.Nil(t, got)
			require.Equal(t, tt.decrypt, errors.Is(err, secrets.ErrDecrypt))
			if tt.msg != "" {
				require.EqualError(t, err, tt.msg)
			}
			require.NotContains(t, err.Error(), "hunter2")
		})
	}

	t.Run("BadKeySize", func(t *testing.T) {
		t.Parallel()
		_, err := secrets.NewBox(make([]byte, 16))
		require.EqualError(t, err, "secrets: the key must be 32 bytes, not 16")
	})
}

func TestLoadKey_Env(t *testing.T) {
	t.Parallel()
	k := []byte("0123456789abcdef0123456789abcdef")
	tests := []struct {
		name string
		env  string
		err  string
	}{
		{name: "Hex", env: hex.EncodeToString(k)},
		{name: "HexUpper", env: strings.ToUpper(hex.EncodeToString(k))},
		{name: "Base64", env: base64.StdEncoding.EncodeToString(k)},
		{name: "Base64Raw", env: base64.RawStdEncoding.EncodeToString(k)},
		{name: "Base64URL", env: base64.URLEncoding.EncodeToString(k)},
		{name: "Whitespace", env: " " + base64.StdEncoding.EncodeToString(k) + "\n"},
		{name: "TooShort", env: base64.StdEncoding.EncodeToString(k[:31]),
			err: "HOOKHOST_SECRET_KEY: the key decodes to 31 bytes; it must be 32 bytes as base64 or 64 hex characters (generate one with: openssl rand -base64 32)"},
		{name: "HexTooShort", env: hex.EncodeToString(k[:31]),
			err: "HOOKHOST_SECRET_KEY: the key is 62 hex characters; it must be 32 bytes as base64 or 64 hex characters (generate one with: openssl rand -base64 32)"},
		{name: "HexNotHex", env: hex.EncodeToString(k[:31]) + "!!",
			err: "HOOKHOST_SECRET_KEY: the key is neither base64 nor 64 hex characters; it must be 32 bytes as base64 or 64 hex characters (generate one with: openssl rand -base64 32)"},
		{name: "Passphrase", env: "correct horse battery staple",
			err: "HOOKHOST_SECRET_KEY: the key is neither base64 nor 64 hex characters; it must be 32 bytes as base64 or 64 hex characters (generate one with: openssl rand -base64 32)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			got, err := secrets.LoadKey(tt.env, dir)
			if tt.err != "" {
				require.EqualError(t, err, tt.err)
				require.NotContains(t, err.Error(), strings.TrimSpace(tt.env))
				return
			}
			require.NoError(t, err)
			require.Equal(t, k, got)
			_, err = os.Stat(filepath.Join(dir, secrets.KeyFile))
			require.ErrorIs(t, err, os.ErrNotExist, "no key file is written when the environment has the key")
		})
	}
}

func TestLoadKey_File(t *testing.T) {
	t.Parallel()

	t.Run("GeneratedAtFirstUse", func(t *testing.T) {
		t.Parallel()
		dir := filepath.Join(t.TempDir(), "data")
		k1, err := secrets.LoadKey("", dir)
		require.NoError(t, err)
		require.Len(t, k1, secrets.KeySize)
		fi, err := os.Stat(filepath.Join(dir, secrets.KeyFile))
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
		k2, err := secrets.LoadKey("", dir)
		require.NoError(t, err)
		require.Equal(t, k1, k2)
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		require.Len(t, entries, 1, "no temporary file is left")
	})

	t.Run("ConcurrentFirstUse", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		keys := make([][]byte, 4)
		var wg sync.WaitGroup
		for i := range keys {
			wg.Add(1)
			go func() {
				defer wg.Done()
				k, err := secrets.LoadKey("", dir)
				if err == nil {
					keys[i] = k
				}
			}()
		}
		wg.Wait()
		for _, k := range keys {
			require.Equal(t, keys[0], k)
		}
	})

	tests := []struct {
		name    string
		mode    os.FileMode
		content string
		err     string // %s is the file's path
	}{
		{name: "Hex", mode: 0o600, content: strings.Repeat("ab", 32) + "\n"},
		{name: "Owner0400", mode: 0o400, content: base64.StdEncoding.EncodeToString(key(7))},
		{name: "GroupReadable", mode: 0o640, content: base64.StdEncoding.EncodeToString(key(7)),
			err: "secrets: key file %[1]s has mode 0640, so group or others may read it; run chmod 600 %[1]s (and consider the key exposed)"},
		{name: "WorldReadable", mode: 0o644, content: base64.StdEncoding.EncodeToString(key(7)),
			err: "secrets: key file %[1]s has mode 0644, so group or others may read it; run chmod 600 %[1]s (and consider the key exposed)"},
		{name: "Garbage", mode: 0o600, content: "not a key",
			err: "secrets: key file %[1]s: the key is neither base64 nor 64 hex characters; it must be 32 bytes as base64 or 64 hex characters (generate one with: openssl rand -base64 32)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := filepath.Join(dir, secrets.KeyFile)
			require.NoError(t, os.WriteFile(path, []byte(tt.content), 0o600))
			require.NoError(t, os.Chmod(path, tt.mode))
			k, err := secrets.LoadKey("", dir)
			if tt.err != "" {
				require.EqualError(t, err, fmt.Sprintf(tt.err, path))
				return
			}
			require.NoError(t, err)
			require.Len(t, k, secrets.KeySize)
		})
	}

	t.Run("Directory", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		require.NoError(t, os.Mkdir(filepath.Join(dir, secrets.KeyFile), 0o700))
		_, err := secrets.LoadKey("", dir)
		require.ErrorContains(t, err, "is not a regular file")
	})
}

// memKV is an in-memory KV.
type memKV struct {
	mu sync.Mutex
	m  map[string][]byte
}

var _ secrets.KV = (*memKV)(nil)

func (kv *memKV) Get(_ context.Context, ns, key string, _ time.Time) ([]byte, bool, error) {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	v, ok := kv.m[ns+"/"+key]
	return slices.Clone(v), ok, nil
}

func (kv *memKV) Set(_ context.Context, ns, key string, value []byte, _ *time.Time) error {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	kv.m[ns+"/"+key] = slices.Clone(value)
	return nil
}

func (kv *memKV) Delete(_ context.Context, ns, key string) (bool, error) {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	_, ok := kv.m[ns+"/"+key]
	delete(kv.m, ns+"/"+key)
	return ok, nil
}

func (kv *memKV) List(_ context.Context, ns string) ([]string, error) {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	var out []string
	for k := range kv.m {
		if name, ok := strings.CutPrefix(k, ns+"/"); ok {
			out = append(out, name)
		}
	}
	return out, nil
}

func TestStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	type testBundle struct {
		kv  *memKV
		red *redact.Redactor
	}
	setup := func(t *testing.T) (*secrets.Store, *testBundle) {
		t.Helper()
		b := &testBundle{kv: &memKV{m: map[string][]byte{}}, red: redact.New()}
		return secrets.NewStore(b.kv, newBox(t, key(1)), b.red), b
	}

	t.Run("PutGetDeleteNames", func(t *testing.T) {
		t.Parallel()
		s, b := setup(t)
		require.NoError(t, s.Put(ctx, "github_hook", []byte("gh-secret-1")))
		require.NoError(t, s.Put(ctx, "API_key_2", []byte("api-secret")))
		require.NoError(t, s.Put(ctx, "github_hook", []byte("gh-secret-2")))

		raw := b.kv.m["secrets/github_hook"]
		require.NotEmpty(t, raw)
		require.False(t, bytes.Contains(raw, []byte("gh-secret")), "the stored value is sealed")

		v, found, err := s.Get(ctx, "github_hook")
		require.NoError(t, err)
		require.True(t, found)
		require.Equal(t, "gh-secret-2", string(v))

		names, err := s.Names(ctx)
		require.NoError(t, err)
		require.Equal(t, []string{"API_key_2", "github_hook"}, names)

		found, err = s.Delete(ctx, "github_hook")
		require.NoError(t, err)
		require.True(t, found)
		found, err = s.Delete(ctx, "github_hook")
		require.NoError(t, err)
		require.False(t, found)
		_, found, err = s.Get(ctx, "github_hook")
		require.NoError(t, err)
		require.False(t, found)
	})

	t.Run("MovedValueFails", func(t *testing.T) {
		t.Parallel()
		s, b := setup(t)
		require.NoError(t, s.Put(ctx, "a", []byte("value-of-a")))
		b.kv.m["secrets/b"] = b.kv.m["secrets/a"]
		_, _, err := s.Get(ctx, "b")
		require.ErrorIs(t, err, secrets.ErrDecrypt)
	})

	t.Run("WrongKeyFails", func(t *testing.T) {
		t.Parallel()
		s, b := setup(t)
		require.NoError(t, s.Put(ctx, "a", []byte("value-of-a")))
		other := secrets.NewStore(b.kv, newBox(t, key(2)), nil)
		_, _, err := other.Get(ctx, "a")
		require.ErrorIs(t, err, secrets.ErrDecrypt)
	})

	t.Run("InvalidNamesAndValues", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t)
		for _, name := range []string{"", "bad-name", "with space", "dot.ted", "é", strings.Repeat("a", 65), "../x"} {
			require.ErrorIs(t, s.Put(ctx, name, []byte("value")), secrets.ErrInvalidName, name)
			_, _, err := s.Get(ctx, name)
			require.ErrorIs(t, err, secrets.ErrInvalidName, name)
			_, err = s.Delete(ctx, name)
			require.ErrorIs(t, err, secrets.ErrInvalidName, name)
		}
		require.True(t, secrets.ValidName(strings.Repeat("a", 64)))
		require.ErrorIs(t, s.Put(ctx, "ok", nil), secrets.ErrInvalidValue)
		require.ErrorIs(t, s.Put(ctx, "ok", make([]byte, secrets.MaxValueBytes+1)), secrets.ErrInvalidValue)
		require.ErrorIs(t, s.Put(ctx, "ok", []byte("abc")), secrets.ErrInvalidValue, "too short to be redacted")
		require.NoError(t, s.Put(ctx, "ok", []byte("abcd")))
		require.NoError(t, s.Put(ctx, "ok", make([]byte, secrets.MaxValueBytes)))
	})

	t.Run("Lookup", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t)
		require.NoError(t, s.Put(ctx, "tok", []byte("token-value")))
		lookup := s.Lookup(ctx)
		v, found, err := lookup("tok")
		require.NoError(t, err)
		require.True(t, found)
		require.Equal(t, "token-value", v)
		_, found, err = lookup("missing")
		require.NoError(t, err)
		require.False(t, found)
	})

	t.Run("FeedsTheRedactor", func(t *testing.T) {
		t.Parallel()
		s, b := setup(t)
		require.NoError(t, s.Put(ctx, "a", []byte("value-of-a")))
		require.Equal(t, "got [redacted]", b.red.Redact("got value-of-a"))

		// A fresh process: LoadRedactor reads every stored value.
		red := redact.New()
		s2 := secrets.NewStore(b.kv, newBox(t, key(1)), red)
		require.Equal(t, "got value-of-a", red.Redact("got value-of-a"))
		require.NoError(t, s2.LoadRedactor(ctx))
		require.Equal(t, "got [redacted]", red.Redact("got value-of-a"))
	})
}

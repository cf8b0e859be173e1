package secrets

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// KeyEnv is the environment variable that holds the master key.
const KeyEnv = "HOOKHOST_SECRET_KEY"

// KeyFile is the name of the generated key file in the data directory.
const KeyFile = "secret.key"

// LoadKey returns the master key. env is the value of HOOKHOST_SECRET_KEY
// (the caller reads the environment): when it is not empty it must hold 32
// bytes as base64 (standard or URL alphabet, padded or not) or as 64 hex
// characters. Otherwise the key is read from <dataDir>/secret.key, which is
// generated at first use with mode 0600; a key file that group or others may
// access is refused. Errors never hold the key.
func LoadKey(env string, dataDir string) ([]byte, error) {
	if s := strings.TrimSpace(env); s != "" {
		k, err := parseKey(s)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", KeyEnv, err)
		}
		return k, nil
	}
	if dataDir == "" {
		return nil, fmt.Errorf("secrets: no %s and no data directory for %s", KeyEnv, KeyFile)
	}
	path := filepath.Join(dataDir, KeyFile)
	k, err := readKeyFile(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return k, err
	}
	return createKeyFile(dataDir, path)
}

// parseKey decodes a key written as 64 hex characters or as base64.
func parseKey(s string) ([]byte, error) {
	if isHex(s) {
		if len(s) == 2*KeySize {
			return hex.DecodeString(s)
		}
		// 43 or 44 characters may still be base64 that happens to be hex.
		if len(s) != 43 && len(s) != 44 {
			return nil, fmt.Errorf("the key is %d hex characters; it must be 32 bytes as base64 or 64 hex characters (generate one with: openssl rand -base64 32)", len(s))
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		k, err := enc.DecodeString(s)
		if err != nil {
			continue
		}
		if len(k) != KeySize {
			return nil, fmt.Errorf("the key decodes to %d bytes; it must be %d bytes as base64 or 64 hex characters (generate one with: openssl rand -base64 32)", len(k), KeySize)
		}
		return k, nil
	}
	return nil, fmt.Errorf("the key is neither base64 nor 64 hex characters; it must be %d bytes as base64 or 64 hex characters (generate one with: openssl rand -base64 32)", KeySize)
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return s != ""
}

// readKeyFile reads and checks an existing key file.
func readKeyFile(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("secrets: key file %s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); runtime.GOOS != "windows" && perm&0o077 != 0 {
		return nil, fmt.Errorf("secrets: key file %s has mode %04o, so group or others may read it; run chmod 600 %s (and consider the key exposed)", path, perm, path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("secrets: %w", err)
	}
	k, err := parseKey(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("secrets: key file %s: %w", path, err)
	}
	return k, nil
}

// createKeyFile generates a key and writes it to path with mode 0600. The
// file appears whole or not at all; when another process created it first,
// its key is used.
func createKeyFile(dataDir, path string) ([]byte, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("secrets: %w", err)
	}
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("secrets: generate key: %w", err)
	}
	tmp, err := os.CreateTemp(dataDir, ".secret.key-*") // mode 0600
	if err != nil {
		return nil, fmt.Errorf("secrets: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("secrets: %w", err)
	}
	if _, err := tmp.WriteString(base64.StdEncoding.EncodeToString(k) + "\n"); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("secrets: write key file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("secrets: write key file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("secrets: write key file: %w", err)
	}
	// Link fails when the file exists: the first writer wins.
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return readKeyFile(path)
		}
		return nil, fmt.Errorf("secrets: create key file: %w", err)
	}
	return k, nil
}

// Package secrets is the crypto of hookhost's write-only secret store:
// the master key (LoadKey), an AES-256-GCM envelope bound to each secret's
// name (Box), the store on top of the server's key-value table (Store), and
// the redaction of known secret values from logs, run records and error
// messages (Redactor).
package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
)

// KeySize is the size of the master key: AES-256.
const KeySize = 32

// version1 is the first byte of a value sealed with the master key and
// AES-256-GCM. A future key rotation gets a new version byte, so values of
// both generations can be told apart.
const version1 byte = 1

// aadLabel starts the additional data of every sealed value, so that a
// value sealed by this package cannot be confused with any other use of
// the key.
const aadLabel = "hookhost secret\x00"

// ErrDecrypt is wrapped by Open's error when a value does not authenticate:
// the key is not the one it was sealed with, the value was sealed for
// another name, or it was altered.
var ErrDecrypt = errors.New("cannot decrypt: wrong key, a value moved from another name, or a corrupted value")

// Box seals and opens secret values with the master key. It is safe for
// concurrent use.
type Box struct {
	aead cipher.AEAD
}

// NewBox returns a Box for a KeySize-byte key.
func NewBox(key []byte) (*Box, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("secrets: the key must be %d bytes, not %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secrets: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secrets: %w", err)
	}
	return &Box{aead: aead}, nil
}

func additionalData(version byte, name string) []byte {
	ad := make([]byte, 0, len(aadLabel)+1+len(name))
	ad = append(ad, aadLabel...)
	ad = append(ad, version)
	return append(ad, name...)
}

// Seal encrypts plaintext for the secret called name. The result is the
// version byte, a random 12-byte nonce, and the ciphertext with its tag;
// the name is authenticated, so the value opens only under the same name.
func (b *Box) Seal(name string, plaintext []byte) ([]byte, error) {
	ns := b.aead.NonceSize()
	out := make([]byte, 1+ns, 1+ns+len(plaintext)+b.aead.Overhead())
	out[0] = version1
	if _, err := rand.Read(out[1 : 1+ns]); err != nil {
		return nil, fmt.Errorf("secrets: seal %q: %w", name, err)
	}
	return b.aead.Seal(out, out[1:1+ns], plaintext, additionalData(version1, name)), nil
}

// Open decrypts a value sealed for the secret called name. A value that
// does not authenticate fails with an error wrapping ErrDecrypt.
func (b *Box) Open(name string, sealed []byte) ([]byte, error) {
	ns := b.aead.NonceSize()
	if len(sealed) == 0 {
		return nil, fmt.Errorf("secrets: open %q: empty value: %w", name, ErrDecrypt)
	}
	if sealed[0] != version1 {
		return nil, fmt.Errorf("secrets: open %q: unknown format version %d", name, sealed[0])
	}
	if len(sealed) < 1+ns+b.aead.Overhead() {
		return nil, fmt.Errorf("secrets: open %q: value too short: %w", name, ErrDecrypt)
	}
	pt, err := b.aead.Open(nil, sealed[1:1+ns], sealed[1+ns:], additionalData(version1, name))
	if err != nil {
		return nil, fmt.Errorf("secrets: open %q: %w", name, ErrDecrypt)
	}
	return pt, nil
}

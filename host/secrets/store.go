package secrets

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/hookhost/hookhost/host/redact"
)

// Namespace is the key-value namespace that holds the sealed secrets.
const Namespace = "secrets"

// MaxValueBytes bounds a secret's value.
const MaxValueBytes = 64 << 10

// Errors of Store for the caller to answer 400.
var (
	ErrInvalidName  = errors.New("a secret name is 1 to 64 letters, digits and underscores")
	ErrInvalidValue = errors.New("a secret value is 4 bytes to 64 KiB (shorter values cannot be kept out of logs and records)")
)

// KV is what Store needs of the server's key-value table. The first three
// methods have the signatures of the store's KVGet, KVSet and KVDelete;
// List returns the keys of a namespace (any order).
type KV interface {
	Get(ctx context.Context, ns, key string, now time.Time) (value []byte, found bool, err error)
	Set(ctx context.Context, ns, key string, value []byte, expires *time.Time) error
	Delete(ctx context.Context, ns, key string) (found bool, err error)
	List(ctx context.Context, ns string) ([]string, error)
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9_]{1,64}$`)

// ValidName reports whether name is a valid secret name: 1 to 64 letters,
// digits and underscores.
func ValidName(name string) bool { return nameRE.MatchString(name) }

// Store keeps secrets sealed by a Box in a KV, under Namespace. Values are
// write-only from the admin API's point of view: Names lists them, Get is
// for verification and templates. It is safe for concurrent use when its KV
// is.
type Store struct {
	kv  KV
	box *Box
	red *redact.Redactor
	now func() time.Time
}

// NewStore returns a Store. red is optional: when set, every value the
// store writes or reads is added to it, so that it is redacted from logs.
func NewStore(kv KV, box *Box, red *redact.Redactor) *Store {
	return &Store{kv: kv, box: box, red: red, now: time.Now}
}

func checkName(name string) error {
	if !ValidName(name) {
		return fmt.Errorf("secret name %q: %w", name, ErrInvalidName)
	}
	return nil
}

// Put seals value and stores it as the secret called name, replacing any
// previous value.
func (s *Store) Put(ctx context.Context, name string, value []byte) error {
	if err := checkName(name); err != nil {
		return err
	}
	if len(value) < redact.MinLen || len(value) > MaxValueBytes {
		return fmt.Errorf("secret %q: %w", name, ErrInvalidValue)
	}
	sealed, err := s.box.Seal(name, value)
	if err != nil {
		return err
	}
	if err := s.kv.Set(ctx, Namespace, name, sealed, nil); err != nil {
		return fmt.Errorf("put secret %q: %w", name, err)
	}
	if s.red != nil {
		s.red.Add(string(value))
	}
	return nil
}

// Seal checks name and value as Put does and returns the value sealed as
// Put stores it, without storing it: for a caller that writes it with
// other changes in one transaction. The value joins the redactor.
func (s *Store) Seal(name string, value []byte) ([]byte, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	if len(value) < redact.MinLen || len(value) > MaxValueBytes {
		return nil, fmt.Errorf("secret %q: %w", name, ErrInvalidValue)
	}
	sealed, err := s.box.Seal(name, value)
	if err != nil {
		return nil, err
	}
	if s.red != nil {
		s.red.Add(string(value))
	}
	return sealed, nil
}

// Get returns the value of the secret called name, and whether it is set.
func (s *Store) Get(ctx context.Context, name string) ([]byte, bool, error) {
	if err := checkName(name); err != nil {
		return nil, false, err
	}
	sealed, found, err := s.kv.Get(ctx, Namespace, name, s.now())
	if err != nil {
		return nil, false, fmt.Errorf("get secret %q: %w", name, err)
	}
	if !found {
		return nil, false, nil
	}
	v, err := s.box.Open(name, sealed)
	if err != nil {
		return nil, false, err
	}
	if s.red != nil {
		s.red.Add(string(v))
	}
	return v, true, nil
}

// Delete removes the secret called name and reports whether it was set.
// Its value stays in the Redactor: records written before may still hold it.
func (s *Store) Delete(ctx context.Context, name string) (bool, error) {
	if err := checkName(name); err != nil {
		return false, err
	}
	found, err := s.kv.Delete(ctx, Namespace, name)
	if err != nil {
		return false, fmt.Errorf("delete secret %q: %w", name, err)
	}
	return found, nil
}

// Names lists the names of the stored secrets, sorted.
func (s *Store) Names(ctx context.Context) ([]string, error) {
	keys, err := s.kv.List(ctx, Namespace)
	if err != nil {
		return nil, fmt.Errorf("list secrets: %w", err)
	}
	names := make([]string, 0, len(keys))
	for _, k := range keys {
		if ValidName(k) {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}

// Lookup returns a function that reads secrets with ctx, in the shape
// verify.Options.Secret and template functions expect.
func (s *Store) Lookup(ctx context.Context) func(name string) (string, bool, error) {
	return func(name string) (string, bool, error) {
		v, found, err := s.Get(ctx, name)
		return string(v), found, err
	}
}

// LoadRedactor reads every secret so that the Redactor knows its value;
// call it at start-up. Values that cannot be opened are skipped and
// reported together.
func (s *Store) LoadRedactor(ctx context.Context) error {
	if s.red == nil {
		return nil
	}
	names, err := s.Names(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, n := range names {
		if _, _, err := s.Get(ctx, n); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// KVGet returns the value stored under (ns, key) unless it expired at or
// before now. A found value is never nil.
func (s *Store) KVGet(ctx context.Context, ns, key string, now time.Time) ([]byte, bool, error) {
	rows, err := s.db.QueryContext(ctx, `
		SELECT value FROM kv
		WHERE ns = $1 AND key = $2 AND (expires_at IS NULL OR expires_at > $3)`,
		s.bytes(ns), s.bytes(key), s.tm(now))
	if err != nil {
		return nil, false, fmt.Errorf("kv get %q/%q: %w", ns, key, err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, false, fmt.Errorf("kv get %q/%q: %w", ns, key, err)
		}
		return nil, false, nil
	}
	var v []byte
	if err := rows.Scan(blobCol{&v}); err != nil {
		return nil, false, fmt.Errorf("kv get %q/%q: %w", ns, key, err)
	}
	if v == nil {
		v = []byte{}
	}
	return v, true, nil
}

// KVSet stores value under (ns, key), replacing any value there. A nil
// expires never expires.
func (s *Store) KVSet(ctx context.Context, ns, key string, value []byte, expires *time.Time) error {
	if value == nil {
		value = []byte{}
	}
	_, err := s.db.ExecContext(ctx, `
		INSERT INTO kv (ns, key, value, expires_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`,
		s.bytes(ns), s.bytes(key), value, s.tmPtr(expires))
	if err := s.wrote(err); err != nil {
		return fmt.Errorf("kv set %q/%q: %w", ns, key, err)
	}
	return nil
}

// KVDelete deletes the value under (ns, key). found reports whether there
// was one that had not expired (at the current time).
func (s *Store) KVDelete(ctx context.Context, ns, key string) (bool, error) {
	rows, err := s.db.QueryContext(ctx,
		`DELETE FROM kv WHERE ns = $1 AND key = $2 RETURNING expires_at`, s.bytes(ns), s.bytes(key))
	if err != nil {
		return false, fmt.Errorf("kv delete %q/%q: %w", ns, key, s.removed(err))
	}
	defer rows.Close()
	found := false
	t := now()
	for rows.Next() {
		var exp *time.Time
		if err := rows.Scan(nullTimeCol{&exp}); err != nil {
			return false, fmt.Errorf("kv delete %q/%q: %w", ns, key, err)
		}
		found = exp == nil || exp.After(t)
	}
	if err := s.removed(rows.Err()); err != nil {
		return false, fmt.Errorf("kv delete %q/%q: %w", ns, key, err)
	}
	return found, nil
}

// KVList returns the keys of namespace ns whose values have not expired
// (at the current time), sorted bytewise.
func (s *Store) KVList(ctx context.Context, ns string) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `
		SELECT key FROM kv
		WHERE ns = $1 AND (expires_at IS NULL OR expires_at > $2)`,
		s.bytes(ns), s.tm(now()))
	if err != nil {
		return nil, fmt.Errorf("kv list %q: %w", ns, err)
	}
	defer rows.Close()
	keys := []string{}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, fmt.Errorf("kv list %q: %w", ns, err)
		}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("kv list %q: %w", ns, err)
	}
	// Sorted here rather than by ORDER BY: PostgreSQL's collation would
	// order differently from SQLite's.
	slices.Sort(keys)
	return keys, nil
}

package host

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// lockSQLite takes an exclusive lock beside a SQLite database (<db>.lock)
// for as long as the server runs: a SQLite database belongs to one server
// process, which at start-up queues again the jobs a killed predecessor left
// running. A second server on the same file would take the first one's
// running jobs for abandoned ones, so it is refused. The kernel drops the
// lock when the process ends, however it ends.
//
// The lock sits beside the file SQLite opens, symbolic links followed
// (sqliteFile), so that a second path to the same database, through a link
// to the file or to a directory, meets the same lock (review revops). advice
// ends the message of a refusal: what the caller can do.
func lockSQLite(db, advice string) (release func() error, err error) {
	// SQLite creates the file's directory at open (sqlite.Open); the lock
	// is taken before, so it creates it here.
	if err := os.MkdirAll(filepath.Dir(db), 0o700); err != nil {
		return nil, fmt.Errorf("lock %s: create database directory: %w", db, err)
	}
	file, err := sqliteFile(db)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", db, err)
	}
	path := file + ".lock"
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", db, err)
	}
	if err := lockFile(f); err != nil {
		_ = f.Close()
		if errors.Is(err, errLocked) {
			return nil, fmt.Errorf("another hookhost server is using %s (it holds %s): %s", db, path, advice)
		}
		return nil, fmt.Errorf("lock %s: %w", db, err)
	}
	return f.Close, nil
}

// sqliteFile is the file SQLite opens for the database path db: an absolute
// path with every symbolic link followed, the file's own when it is one
// (even one to a file not created yet) and its directories'.
func sqliteFile(db string) (string, error) {
	path, err := filepath.Abs(db)
	if err != nil {
		return "", err
	}
	for range 40 { // the kernel's own bound on links followed (ELOOP)
		dir, err := filepath.EvalSymlinks(filepath.Dir(path))
		if err != nil {
			return "", err
		}
		path = filepath.Join(dir, filepath.Base(path))
		fi, err := os.Lstat(path)
		if err != nil || fi.Mode()&os.ModeSymlink == 0 {
			return path, nil // the file, or none yet: SQLite creates it here
		}
		target, err := os.Readlink(path)
		if err != nil {
			return "", err
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(dir, target)
		}
		path = target
	}
	return "", fmt.Errorf("too many levels of symbolic links")
}

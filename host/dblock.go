package host

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// The holders of a SQLite lock, written into the lock file with their pid
// so that a refusal says which process holds it.
const (
	holderServe   = "serve"
	holderMigrate = "migrate"
)

// lockSQLite takes an exclusive lock beside a SQLite database (<db>.lock)
// for as long as the server (holder serve) or a migration (holder migrate)
// runs: a SQLite database belongs to one server process, which at start-up
// queues again the jobs a killed predecessor left running. A second server
// on the same file would take the first one's running jobs for abandoned
// ones, so it is refused. The kernel drops the lock when the process ends,
// however it ends.
//
// The lock sits beside the file SQLite opens, resolved as the kernel
// resolves the path (sqliteFile), so that a second path to the same
// database, through a link to the file or to a directory, or with `..`
// after one, meets the same lock (reviews revops, revmig). file is that
// file: the store opens it, not db, so that a link changed after the lock
// was taken cannot lead the store to another database. An in-memory
// database (:memory:) is no file and takes no lock.
func lockSQLite(db, holder string) (file string, release func() error, err error) {
	if db == ":memory:" {
		return db, func() error { return nil }, nil
	}
	if err := checkSQLitePath(db); err != nil {
		return "", nil, err
	}
	// SQLite creates the file's directory at open (sqlite.Open); the lock
	// is taken before, so it creates it here: the directory as the kernel
	// reaches it (not filepath.Dir, which cleans `..` before links).
	if dir, _ := splitRaw(db); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return "", nil, fmt.Errorf("lock %s: create database directory: %w", db, err)
		}
	}
	file, err = sqliteFile(db)
	if err != nil {
		return "", nil, fmt.Errorf("lock %s: %w", db, err)
	}
	path := file + ".lock"
	f, err := os.OpenFile(path, lockOpenFlags, 0o600)
	if err != nil {
		return "", nil, fmt.Errorf("lock %s: %w (it must be a regular file, not a link)", db, err)
	}
	// The holder's record is written into the lock file: anything else in
	// its place (a link's target, another database named so) is refused,
	// never truncated (review revmig2).
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() || !isLockRecord(f, fi.Size()) {
		_ = f.Close()
		return "", nil, fmt.Errorf("lock %s: %s is not a hookhost lock file (not a regular file, or it holds something else): move it away", db, path)
	}
	if err := lockFile(f); err != nil {
		_ = f.Close()
		if errors.Is(err, errLocked) {
			return "", nil, lockedError(db, path, holder)
		}
		return "", nil, fmt.Errorf("lock %s: %w", db, err)
	}
	// Who holds it, for the refusals of others; a lock file that says
	// nothing (written by an older version, or not yet) is refused in
	// neutral words.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(holder+" "+strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return file, f.Close, nil
}

// maxLockRecord bounds a lock file's content: the holder's record
// ("migrate 4194304\n" and the like).
const maxLockRecord = 64

// isLockRecord reports whether f, of size bytes, is empty or holds a
// holder's record (role and pid): what lockSQLite may rewrite.
func isLockRecord(f *os.File, size int64) bool {
	if size == 0 {
		return true
	}
	if size > maxLockRecord {
		return false
	}
	b := make([]byte, size)
	if _, err := f.ReadAt(b, 0); err != nil {
		return false
	}
	_, _, ok := parseLockRecord(b)
	return ok
}

// parseLockRecord reads a holder's record: "<role> <pid>\n".
func parseLockRecord(b []byte) (role, pid string, ok bool) {
	fields := strings.Fields(string(b))
	if len(fields) != 2 || (fields[0] != holderServe && fields[0] != holderMigrate) {
		return "", "", false
	}
	if _, err := strconv.Atoi(fields[1]); err != nil {
		return "", "", false
	}
	return fields[0], fields[1], true
}

// lockedError is the refusal of holder's lock on db: the lock file (path)
// names the process holding it.
func lockedError(db, path, holder string) error {
	role, pid := "", ""
	if f, err := os.Open(path); err == nil {
		b := make([]byte, maxLockRecord)
		n, _ := io.ReadFull(f, b)
		_ = f.Close()
		role, pid, _ = parseLockRecord(b[:n])
	}
	who, held := "another hookhost process", "it holds "+path
	switch role {
	case holderServe:
		who, held = "another hookhost server", "pid "+pid+" holds "+path
	case holderMigrate:
		who, held = "hookhost migrate", "pid "+pid+" holds "+path
	}
	var advice string
	switch {
	case holder == holderMigrate && role == holderMigrate:
		advice = "wait for it to end"
	case holder == holderMigrate:
		advice = "stop it before migrating its database (hookhost serve migrates at start-up too)"
	case role == holderMigrate:
		advice = "wait for it to end, or give this one another --data-dir"
	default:
		advice = "stop it, or give this one another --data-dir"
	}
	return fmt.Errorf("%s is using %s (%s): %s", who, db, held, advice)
}

// checkSQLitePath refuses a SQLite database path that SQLite would read as
// something else than a file's path: a file: URI (the driver opens names
// as URIs) and a path with '?' (the driver's parameters follow it; the
// store sets its own).
func checkSQLitePath(db string) error {
	switch {
	case len(db) >= 5 && strings.EqualFold(db[:5], "file:"):
		return fmt.Errorf("--database %q: a file: URI is not taken; give the database file's path", db)
	case strings.ContainsRune(db, '?'):
		return fmt.Errorf("--database %q: a SQLite path must not contain '?' (parameters are not taken)", db)
	case strings.Contains(db, "://"), isKeyValueDSN(db):
		// Not a path: a URL of another scheme, or a PostgreSQL key=value
		// string, which would become files named after it, password
		// included (review revmig2). The message does not echo it.
		return errors.New("--database: neither a SQLite file's path nor a postgres:// URL (key=value connection strings are not taken)")
	}
	return nil
}

// isKeyValueDSN reports whether db reads as a PostgreSQL key=value
// connection string: two or more space-separated fields, each key=value.
func isKeyValueDSN(db string) bool {
	fields := strings.Fields(db)
	if len(fields) < 2 {
		return false
	}
	for _, f := range fields {
		if k, _, ok := strings.Cut(f, "="); !ok || k == "" {
			return false
		}
	}
	return true
}

// splitRaw splits db at its last separator, uncleaned: the directory (""
// for none, the separator for the root) and the last name.
func splitRaw(db string) (dir, base string) {
	i := len(db) - 1
	for i >= 0 && !os.IsPathSeparator(db[i]) {
		i--
	}
	switch {
	case i < 0:
		return "", db
	case i == len(filepath.VolumeName(db)): // the root
		return db[:i+1], db[i+1:]
	}
	return db[:i], db[i+1:]
}

// sqliteFile is the file SQLite opens for the database path db: an absolute
// path with every symbolic link followed, the file's own when it is one
// (even one to a file not created yet) and its directories'. The path is
// resolved as the kernel resolves it, one component after the other: `..`
// after a link to a directory is the parent of the link's target, not the
// directory holding the link. filepath.Abs and filepath.Join clean `..`
// away before any link is read, so neither is used on a path not yet
// resolved (review revmig: d12/../h.db, d12 -> real/sub, opens real/h.db).
func sqliteFile(db string) (string, error) {
	path := db
	if !filepath.IsAbs(path) {
		wd, err := os.Getwd()
		if err != nil {
			return "", err
		}
		path = wd + string(filepath.Separator) + path
	}
	for range 40 { // the kernel's own bound on links followed (ELOOP)
		dir, base := splitRaw(path)
		if base == "" || base == "." || base == ".." {
			return "", fmt.Errorf("%s is a directory, not a database file", db)
		}
		// EvalSymlinks walks dir component by component, `..` taking
		// the resolved parent, as the kernel does.
		rdir, err := filepath.EvalSymlinks(dir)
		if err != nil {
			return "", err
		}
		path = filepath.Join(rdir, base) // base is one plain name
		fi, err := os.Lstat(path)
		if err != nil || fi.Mode()&os.ModeSymlink == 0 {
			return path, nil // the file, or none yet: SQLite creates it here
		}
		target, err := os.Readlink(path)
		if err != nil {
			return "", err
		}
		if !filepath.IsAbs(target) {
			target = rdir + string(filepath.Separator) + target
		}
		path = target
	}
	return "", fmt.Errorf("too many levels of symbolic links")
}

package host

import (
	"errors"
	"fmt"
	"os"
)

// lockSQLite takes an exclusive lock beside a SQLite database (<db>.lock)
// for as long as the server runs: a SQLite database belongs to one server
// process, which at start-up queues again the jobs a killed predecessor left
// running. A second server on the same file would take the first one's
// running jobs for abandoned ones, so it is refused. The kernel drops the
// lock when the process ends, however it ends.
func lockSQLite(db string) (release func() error, err error) {
	path := db + ".lock"
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", db, err)
	}
	if err := lockFile(f); err != nil {
		_ = f.Close()
		if errors.Is(err, errLocked) {
			return nil, fmt.Errorf("another hookhost server is using %s (it holds %s): stop it, or give this one another --data-dir", db, path)
		}
		return nil, fmt.Errorf("lock %s: %w", db, err)
	}
	return f.Close, nil
}

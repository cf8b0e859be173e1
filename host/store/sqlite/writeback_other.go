//go:build !linux

package sqlite

// startWriteback does nothing where sync_file_range is missing: the log's
// pages are written when a checkpoint syncs it, as SQLite does.
func startWriteback(string) {}

package sqlite

import "golang.org/x/sys/unix"

// startWriteback asks the kernel to start writing the dirty pages of the
// file at path to the disk, without waiting for them (sync_file_range with
// SYNC_FILE_RANGE_WRITE: no fsync, no guarantee, no metadata). It opens
// and closes its own descriptor: path must be the write-ahead log, never
// the database or its -shm file, whose POSIX locks (SQLite's) a close of
// any descriptor of theirs in this process would drop. SQLite locks
// neither the log nor anything through it. Errors are ignored: the
// writeback is an optimisation, the log's durability stays SQLite's.
func startWriteback(path string) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	_ = unix.SyncFileRange(fd, 0, 0, unix.SYNC_FILE_RANGE_WRITE)
	_ = unix.Close(fd)
}

//go:build !unix

package catalog

// openExisting are the flags the example's URL file is opened with (on
// Unix: no symbolic link followed, no FIFO blocking; the file's type is
// checked once it is open everywhere).
const openExisting = 0

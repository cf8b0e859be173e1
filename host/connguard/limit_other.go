//go:build !unix

package connguard

// fileLimit reports no limit: there is no RLIMIT_NOFILE here.
func fileLimit() (uint64, bool) { return 0, false }

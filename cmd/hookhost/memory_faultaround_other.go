//go:build linux && !(amd64 || arm64)

package main

import "errors"

// disableFaultAround is not done on this architecture: its ioctl numbers
// are not the generic encoding memory_faultaround_linux.go spells out.
func disableFaultAround([]mapping) (int, error) {
	return -1, errors.ErrUnsupported
}

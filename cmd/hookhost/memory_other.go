//go:build !linux

package main

// releaseExecutablePages does nothing outside Linux.
func releaseExecutablePages() {}

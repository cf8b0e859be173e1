//go:build !unix

package plugins

// killOwnGroup does nothing: there are no process groups here.
func killOwnGroup() {}

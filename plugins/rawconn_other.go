//go:build !linux

package plugins

import "net"

// rawConn is net.Conn's I/O elsewhere than on Linux.
type rawConn struct{ net.Conn }

// newRawConn returns nil: frameConn uses c itself.
func newRawConn(net.Conn) *rawConn { return nil }

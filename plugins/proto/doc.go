// Package proto holds the generated gRPC code of the hookhost extension
// protocol (extension.proto). Extension authors do not use it directly: the
// plugins package wraps it.
package proto

//go:generate ./gen.sh

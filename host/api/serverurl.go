package api

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
)

// ServerURLFile is the file in the data directory where `hookhost serve`
// writes the base URL of its admin API when it starts, so that the CLI
// finds a server on another port as it finds admin.token.
const ServerURLFile = "server.url"

// LocalURL is the base URL a client on this machine reaches a listener at.
// listen is its address as configured; bound, when not nil, is the address
// the listener got, whose port is used (so port 0 becomes the port the
// system chose). An unspecified host becomes a loopback address: an empty
// one (":8080") or 0.0.0.0 becomes 127.0.0.1 (Go's "tcp" listeners on them
// accept IPv4), :: becomes ::1. unspecified reports that it did: such a
// URL reaches the listener from this machine only. A host name is kept.
func LocalURL(listen string, bound net.Addr, tls bool) (url string, unspecified bool) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		host, port = listen, ""
	}
	if bound != nil {
		if _, p, err := net.SplitHostPort(bound.String()); err == nil {
			port = p
		}
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		unspecified = true
		host = "127.0.0.1"
		if ip != nil && ip.To4() == nil {
			host = "::1"
		}
	}
	scheme := "http://"
	if tls {
		scheme = "https://"
	}
	if port == "" {
		if strings.Contains(host, ":") {
			host = "[" + host + "]"
		}
		return scheme + host, unspecified
	}
	return scheme + net.JoinHostPort(host, port), unspecified
}

// WriteServerURL writes url to <dataDir>/server.url (mode 0644), replacing
// the file in one step.
func WriteServerURL(dataDir, url string) error {
	tmp, err := os.CreateTemp(dataDir, ServerURLFile+".*")
	if err != nil {
		return err
	}
	_, werr := tmp.WriteString(url + "\n")
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr, os.Chmod(tmp.Name(), 0o644)); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dataDir, ServerURLFile)); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	return nil
}

// ReadServerURL reads <dataDir>/server.url: "" without an error when there
// is no such file.
func ReadServerURL(dataDir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, ServerURLFile))
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	return strings.TrimSpace(string(b)), err
}

// RemoveServerURL removes <dataDir>/server.url when it still holds url (a
// server started since on the same data directory keeps its own).
func RemoveServerURL(dataDir, url string) error {
	if got, err := ReadServerURL(dataDir); err != nil || got != url {
		return err
	}
	err := os.Remove(filepath.Join(dataDir, ServerURLFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

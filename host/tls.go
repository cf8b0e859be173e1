package host

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
)

// tlsConfig builds the listener TLS configuration from the config, or nil
// for plain HTTP. clientAuth requires client certificates (the webhook
// listener with --tls-client-ca).
func (c *Config) tlsConfig(clientAuth bool) (*tls.Config, error) {
	if c.TLSCert == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey)
	if err != nil {
		return nil, fmt.Errorf("load TLS certificate: %w", err)
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	if clientAuth && c.TLSClientCA != "" {
		pem, err := os.ReadFile(c.TLSClientCA)
		if err != nil {
			return nil, fmt.Errorf("read TLS client CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, errors.New("TLS client CA file holds no PEM certificate")
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// wrapTLS returns ln as is, or serving TLS when the config asks for it.
func (c *Config) wrapTLS(ln net.Listener, clientAuth bool) (net.Listener, error) {
	tc, err := c.tlsConfig(clientAuth)
	if err != nil || tc == nil {
		return ln, err
	}
	return tls.NewListener(ln, tc), nil
}

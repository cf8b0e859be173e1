package host

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "hookhost test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return &testCA{cert, key, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue returns a certificate and key (PEM) signed by the CA.
func (ca *testCA) issue(t *testing.T, serial int64, usage x509.ExtKeyUsage) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	require.NoError(t, err)
	kb, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
}

func writeFile(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, b, 0o600))
	return p
}

// TestServe_MutualTLS serves webhooks over TLS that requires client
// certificates: a client without one is refused during the handshake, a
// client with one gets the automation's answer.
func TestServe_MutualTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca := newTestCA(t)
	sc, sk := ca.issue(t, 2, x509.ExtKeyUsageServerAuth)
	cc, ck := ca.issue(t, 3, x509.ExtKeyUsageClientAuth)
	caFile := writeFile(t, dir, "ca.pem", ca.pem)
	b := setup(t, func(c *Config) {
		c.TLSCert, c.TLSKey = writeFile(t, dir, "s.pem", sc), writeFile(t, dir, "s.key", sk)
		c.TLSClientCA = caFile
	})
	b.createAutomation(t, "ok", "start:\n  return:\n    body: secure\n", "")
	_, tok := b.createWebhook(t, "ok", eventFor("ok"))

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.srv.Serve(ctx, ln, nil) }()
	t.Cleanup(func() { cancel(); <-done })
	url := "https://" + ln.Addr().String() + "/webhooks/" + tok

	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca.pem)
	client := func(certs ...tls.Certificate) *http.Client {
		return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: certs}}}
	}
	_, err = client().Get(url)
	require.Error(t, err, "no client certificate")

	pair, err := tls.X509KeyPair(cc, ck)
	require.NoError(t, err)
	resp, err := client(pair).Get(url)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "secure", string(body))

	old := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{pair}, MaxVersion: tls.VersionTLS11}}}
	_, err = old.Get(url)
	require.Error(t, err, "TLS 1.1 is refused")
}

func TestConfig_TLSErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		mutate func(*Config)
		want   string
	}{
		{func(c *Config) { c.TLSCert = "x" }, "--tls-cert and --tls-key go together"},
		{func(c *Config) { c.TLSClientCA = "x" }, "--tls-client-ca needs --tls-cert and --tls-key"},
	} {
		c := testConfig(t)
		tt.mutate(&c)
		_, err := New(context.Background(), c)
		require.ErrorContains(t, err, tt.want)
	}
	cfg := testConfig(t)
	cfg.TLSCert, cfg.TLSKey = "/nope", "/nope"
	_, err := New(context.Background(), cfg)
	require.ErrorContains(t, err, "load TLS certificate")
}

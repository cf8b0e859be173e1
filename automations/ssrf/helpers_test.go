package ssrf_test

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// server is a test server on a loopback address that counts the requests
// and connections it receives.
type server struct {
	*httptest.Server
	requests atomic.Int32
	conns    atomic.Int32
}

// serve starts a server on ip (a 127.0.0.0/8 address) answering with h.
func serve(t *testing.T, ip string, h http.Handler) *server {
	t.Helper()
	require.True(t, netip.MustParseAddr(ip).IsLoopback(), "tests listen on loopback addresses only")
	ln, err := net.Listen("tcp", ip+":0")
	require.NoError(t, err)
	s := &server{}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		h.ServeHTTP(w, r)
	}))
	s.Listener.Close()
	s.Listener = ln
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

// port returns the server's port.
func (s *server) port() int { return s.Listener.Addr().(*net.TCPAddr).Port }

// fakeDNS returns a resolver that answers from records, in memory: no
// query leaves the process. Names it does not list do not exist.
func fakeDNS(records map[string][]netip.Addr) *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
		client, srv := net.Pipe()
		go serveDNS(srv, records)
		return client, nil
	}}
}

// serveDNS answers DNS queries over a stream (two-byte length prefixes).
func serveDNS(c net.Conn, records map[string][]netip.Addr) {
	defer c.Close()
	for {
		var l [2]byte
		if _, err := io.ReadFull(c, l[:]); err != nil {
			return
		}
		q := make([]byte, binary.BigEndian.Uint16(l[:]))
		if _, err := io.ReadFull(c, q); err != nil {
			return
		}
		resp := answerDNS(q, records)
		if resp == nil {
			return
		}
		if _, err := c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(resp))), resp...)); err != nil {
			return
		}
	}
}

// answerDNS answers the A or AAAA question of q from records.
func answerDNS(q []byte, records map[string][]netip.Addr) []byte {
	if len(q) < 12 {
		return nil
	}
	i := 12
	var labels []string
	for {
		if i >= len(q) {
			return nil
		}
		n := int(q[i])
		i++
		if n == 0 {
			break
		}
		if n&0xc0 != 0 || i+n > len(q) {
			return nil
		}
		labels = append(labels, string(q[i:i+n]))
		i += n
	}
	if i+4 > len(q) {
		return nil
	}
	qtype := binary.BigEndian.Uint16(q[i:])
	question := q[12 : i+4]
	addrs, known := records[strings.ToLower(strings.Join(labels, "."))]
	var answers []netip.Addr
	for _, a := range addrs {
		if (qtype == 1 && a.Is4()) || (qtype == 28 && a.Is6()) {
			answers = append(answers, a)
		}
	}
	flags := uint16(0x8080) | uint16(q[2]&0x01)<<8 // response, recursion desired (copied) and available
	if !known {
		flags |= 3 // NXDOMAIN
	}
	resp := append([]byte{}, q[0], q[1])
	resp = binary.BigEndian.AppendUint16(resp, flags)
	resp = binary.BigEndian.AppendUint16(resp, 1)
	resp = binary.BigEndian.AppendUint16(resp, uint16(len(answers)))
	resp = binary.BigEndian.AppendUint32(resp, 0)
	resp = append(resp, question...)
	for _, a := range answers {
		resp = append(resp, 0xc0, 0x0c) // the question's name
		resp = binary.BigEndian.AppendUint16(resp, qtype)
		resp = binary.BigEndian.AppendUint16(resp, 1) // IN
		resp = binary.BigEndian.AppendUint32(resp, 60)
		b := a.AsSlice()
		resp = binary.BigEndian.AppendUint16(resp, uint16(len(b)))
		resp = append(resp, b...)
	}
	return resp
}

// noDNS is a resolver that knows localhost only.
func noDNS() *net.Resolver {
	return fakeDNS(map[string][]netip.Addr{"localhost": {netip.MustParseAddr("127.0.0.1")}})
}

// getCtx GETs u with ctx through c and returns the body.
func getCtx(t *testing.T, ctx context.Context, c *http.Client, u string, close bool) (string, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	require.NoError(t, err)
	req.Close = close
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

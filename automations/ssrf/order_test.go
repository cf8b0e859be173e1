package ssrf_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/automations/ssrf"
)

// TestHeaderOrder checks that a guarded client reports the response
// header names in the order the server sent them, past an interim 100
// answer and for each response of a kept-alive connection.
func TestHeaderOrder(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	answers := []string{
		"HTTP/1.1 100 Continue\r\nX-Interim: 1\r\n\r\n" +
			"HTTP/1.1 200 OK\r\nZeta: 1\r\nalpha: 2\r\nContent-Length: 2\r\nMid: 3\r\nZeta: 4\r\n\r\nok",
		"HTTP/1.1 404 Not Found\r\nB-Second: 1\r\nContent-Length: 0\r\nA-First: 2\r\n\r\n",
	}
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		br := bufio.NewReader(conn)
		for _, a := range answers {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			_, _ = io.Copy(io.Discard, req.Body)
			if _, err := io.WriteString(conn, a); err != nil {
				return
			}
		}
	}()
	client := ssrf.NewClient(ssrf.Options{AllowPrivate: true})
	get := func() *http.Response {
		resp, err := client.Get("http://" + ln.Addr().String() + "/")
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	first := get()
	require.Equal(t, "Zeta,Alpha,Content-Length,Mid,Zeta", strings.Join(ssrf.HeaderOrder(first), ","))
	second := get()
	require.Equal(t, 404, second.StatusCode)
	require.Equal(t, "B-Second,Content-Length,A-First", strings.Join(ssrf.HeaderOrder(second), ","))
}

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/hookhost/hookhost/host/api"
)

// defaultServer is where client commands look for the server when
// nothing names it.
const defaultServer = "http://127.0.0.1:8080"

// clientFlags are the flags of every command that talks to the admin API.
type clientFlags struct {
	server  string
	token   string
	dataDir string
	output  string
}

func (f *clientFlags) register(cmd *cobra.Command) {
	fs := cmd.PersistentFlags()
	stringFlag(fs, &f.server, "server", "HOOKHOST_SERVER", "", "hookhost server URL (default: the one in <data dir>/"+api.ServerURLFile+", written by hookhost serve, else "+defaultServer+")")
	stringFlag(fs, &f.token, "token", "HOOKHOST_TOKEN", "", "admin token (default: <data dir>/admin.token)")
	stringFlag(fs, &f.dataDir, "data-dir", "HOOKHOST_DATA_DIR", "./data", "data directory to read admin.token and server.url from")
	fs.StringVarP(&f.output, "output", "o", "table", "output format: table or json")
}

// client is a small admin API client.
type client struct {
	base string
	// from says where base came from: "--server", "HOOKHOST_SERVER",
	// the server.url file, or the default.
	from string
	// urlDir is the data directory whose server.url names the server when
	// neither --server nor HOOKHOST_SERVER did ("" when one did): a
	// command that reconnects reads it again (refreshServer).
	urlDir string
	token  string
	// tokenFrom says where the token came from.
	tokenFrom string
	http      *http.Client
	output    string
	out       io.Writer
	errOut    io.Writer
}

// tokenError is a missing admin token.
type tokenError struct{ err error }

func (e *tokenError) Error() string { return e.err.Error() }
func (e *tokenError) Unwrap() error { return e.err }

func (f *clientFlags) client(cmd *cobra.Command) (*client, error) {
	if f.output != "table" && f.output != "json" {
		return nil, usagef("--output %q: want table or json", f.output)
	}
	base, from, err := f.resolveServer(cmd)
	if err != nil {
		return nil, err
	}
	tok, tokenFrom := f.token, "--token"
	if fl := cmd.Flag("token"); tok != "" && (fl == nil || !fl.Changed) {
		tokenFrom = "HOOKHOST_TOKEN"
	}
	if tok == "" {
		path := filepath.Join(f.dataDir, "admin.token")
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, &tokenError{fmt.Errorf("no admin token: set --token or HOOKHOST_TOKEN, or run from the directory holding %s (%v)", path, err)}
		}
		tok, tokenFrom = strings.TrimSpace(string(b)), path
	}
	urlDir := ""
	if f.server == "" {
		urlDir = f.dataDir
	}
	return &client{base: base, from: from, urlDir: urlDir, token: tok, tokenFrom: tokenFrom, http: &http.Client{Timeout: 60 * time.Second},
		output: f.output, out: cmd.OutOrStdout(), errOut: cmd.ErrOrStderr()}, nil
}

// resolveServer picks the server to call, and says where it came from:
// --server, HOOKHOST_SERVER, <data dir>/server.url (written by hookhost
// serve), else the default.
func (f *clientFlags) resolveServer(cmd *cobra.Command) (base, from string, err error) {
	base, from = f.server, "--server"
	if fl := cmd.Flag("server"); base != "" && (fl == nil || !fl.Changed) {
		from = "HOOKHOST_SERVER"
	}
	if base == "" {
		path := filepath.Join(f.dataDir, api.ServerURLFile)
		u, err := api.ReadServerURL(f.dataDir)
		if err != nil {
			return "", "", fmt.Errorf("read the server's URL: %w", err)
		}
		base, from = u, path+" (written by hookhost serve)"
		if u == "" {
			base, from = defaultServer, "the default; no --server, HOOKHOST_SERVER or "+path
		}
	}
	base, err = serverBase(base, from)
	return base, from, err
}

// serverBase checks a server URL (from says where it came from) and
// returns it without a trailing slash, http:// added when it has no scheme.
func serverBase(base, from string) (string, error) {
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	u, perr := url.Parse(base)
	if perr != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "", usagef("server %q (from %s): want a URL such as %s", base, from, defaultServer)
	}
	return strings.TrimRight(base, "/"), nil
}

// refreshServer reads <data dir>/server.url again when it is where the
// server's URL comes from, so that a command that reconnects (tail) finds
// a server that started again on another port. It reports the new URL, or
// "" when the server has not moved (or the file names none, or no valid
// one).
func (c *client) refreshServer() string {
	if c.urlDir == "" {
		return ""
	}
	u, err := api.ReadServerURL(c.urlDir)
	if err != nil || u == "" {
		return ""
	}
	from := filepath.Join(c.urlDir, api.ServerURLFile) + " (written by hookhost serve)"
	base, err := serverBase(u, from)
	if err != nil || base == c.base {
		return ""
	}
	c.base, c.from = base, from
	return base
}

// connError is a request that never reached the server.
type connError struct {
	server, from string
	err          error
}

func (e *connError) Error() string {
	return fmt.Sprintf("cannot connect to the hookhost server at %s (from %s): %v; is hookhost serve running there? --server or HOOKHOST_SERVER names another",
		e.server, e.from, e.err)
}

func (e *connError) Unwrap() error { return e.err }

// apiError is a problem+json answer, printed as the status, the title,
// the detail and every problem with its position. An authentication
// failure also says which server was called with which token.
type apiError struct {
	*api.Problem
	server, from, tokenFrom string
}

func (e *apiError) Error() string {
	msg := fmt.Sprintf("%d %s", e.Status, e.Problem.Error())
	if e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden {
		msg += fmt.Sprintf("\n(called %s, from %s, with the token from %s)", e.server, e.from, e.tokenFrom)
	}
	return msg
}

// do sends a request and decodes a JSON answer into out (when not nil).
func (c *client) do(method, path, contentType string, body []byte, out any) error {
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return &connError{server: c.base, from: c.from, err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return &connError{server: c.base, from: c.from, err: err}
	}
	if resp.StatusCode >= 400 {
		p := &api.Problem{}
		if json.Unmarshal(b, p) != nil || p.Status == 0 {
			p = &api.Problem{Status: resp.StatusCode, Title: http.StatusText(resp.StatusCode),
				Detail: fmt.Sprintf("%s %s: %s", method, path, strings.TrimSpace(string(b)))}
		}
		return &apiError{Problem: p, server: c.base, from: c.from, tokenFrom: c.tokenFrom}
	}
	if out != nil && len(b) > 0 {
		if raw, ok := out.(*json.RawMessage); ok {
			*raw = append((*raw)[:0], b...)
			return nil
		}
		return json.Unmarshal(b, out)
	}
	return nil
}

func (c *client) doJSON(method, path string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
	}
	ct := ""
	if in != nil {
		ct = "application/json"
	}
	return c.do(method, path, ct, body, out)
}

// call sends a request like doJSON and hands the answer on: with -o json it
// prints the answer as the server sent it and reports printed; otherwise it
// decodes the answer into out (when not nil) for the caller to print.
func (c *client) call(method, path string, in, out any) (printed bool, err error) {
	var raw json.RawMessage
	if err := c.doJSON(method, path, in, &raw); err != nil {
		return false, err
	}
	if c.output == "json" {
		return true, c.printJSON(raw)
	}
	if out == nil {
		return false, nil
	}
	return false, json.Unmarshal(raw, out)
}

// getTable GETs path and prints the answer: with -o json as the server sent
// it, otherwise as a table of header and the rows made from the decoded T.
func getTable[T any](c *client, path string, header []string, rows func(T) [][]string) error {
	var res T
	if printed, err := c.call("GET", path, nil, &res); printed || err != nil {
		return err
	}
	return c.table(header, rows(res))
}

// printGet GETs path and prints the answer as JSON, whatever --output says.
func (c *client) printGet(path string) error {
	var raw json.RawMessage
	if err := c.do("GET", path, "", nil, &raw); err != nil {
		return err
	}
	return c.printJSON(raw)
}

// printJSON writes raw JSON indented.
func (c *client) printJSON(raw []byte) error {
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		_, err = c.out.Write(raw)
		return err
	}
	buf.WriteByte('\n')
	_, err := c.out.Write(buf.Bytes())
	return err
}

// table writes rows as aligned columns.
func (c *client) table(header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// timeLayout is how tables show times: in the local zone, with the zone.
const timeLayout = "2006-01-02 15:04:05 MST"

// fmtTime shows t in the local zone, with the zone ("-" for no time).
func fmtTime(t time.Time) string { return formatTime(t, time.Local) }

// formatTime shows t in loc, with the zone ("-" for no time).
func formatTime(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "-"
	}
	return t.In(loc).Format(timeLayout)
}

// fmtTimePtr is fmtTime of an optional time.
func fmtTimePtr(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return fmtTime(*t)
}

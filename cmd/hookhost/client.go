package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/hookhost/hookhost/host/api"
)

// clientFlags are the flags of every command that talks to the admin API.
type clientFlags struct {
	server  string
	token   string
	dataDir string
	output  string
}

func (f *clientFlags) register(cmd *cobra.Command) {
	fs := cmd.PersistentFlags()
	stringFlag(fs, &f.server, "server", "HOOKHOST_SERVER", "http://127.0.0.1:8080", "hookhost server URL")
	stringFlag(fs, &f.token, "token", "HOOKHOST_TOKEN", "", "admin token (default: <data dir>/admin.token)")
	stringFlag(fs, &f.dataDir, "data-dir", "HOOKHOST_DATA_DIR", "./data", "data directory to read admin.token from")
	fs.StringVarP(&f.output, "output", "o", "table", "output format: table or json")
}

// client is a small admin API client.
type client struct {
	base   string
	token  string
	http   *http.Client
	output string
	out    io.Writer
}

func (f *clientFlags) client(cmd *cobra.Command) (*client, error) {
	if f.output != "table" && f.output != "json" {
		return nil, fmt.Errorf("--output %q: want table or json", f.output)
	}
	tok := f.token
	if tok == "" {
		b, err := os.ReadFile(filepath.Join(f.dataDir, "admin.token"))
		if err != nil {
			return nil, fmt.Errorf("no admin token: set --token or HOOKHOST_TOKEN, or run from the directory holding %s (%v)", filepath.Join(f.dataDir, "admin.token"), err)
		}
		tok = strings.TrimSpace(string(b))
	}
	return &client{base: strings.TrimRight(f.server, "/"), token: tok, http: &http.Client{Timeout: 60 * time.Second},
		output: f.output, out: cmd.OutOrStdout()}, nil
}

// apiError is a problem+json answer, printed as the status, the title,
// the detail and every problem with its position.
type apiError struct{ *api.Problem }

func (e *apiError) Error() string { return fmt.Sprintf("%d %s", e.Status, e.Problem.Error()) }

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
		return fmt.Errorf("%s %s: %w (is the server running? see --server)", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode >= 400 {
		p := &api.Problem{}
		if json.Unmarshal(b, p) != nil || p.Status == 0 {
			return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(b)))
		}
		return &apiError{p}
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

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

package main

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// rest is a client of Cerb's REST API with the legacy Cerb-Auth signature
// (features/cerberusweb.restapi/api/App.php), like shared/oracle/cerb/cerb_rest.php.
type rest struct {
	base              string // http://127.0.0.1:8765
	access, secret    string
	client            *http.Client
	lastStatus, lastM string
}

func md5hex(s string) string {
	h := md5.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}

// call sends a signed request; form is the url-encoded body. It returns the
// decoded JSON reply, or an error carrying Cerb's message.
func (r *rest) call(verb, path string, query url.Values, form url.Values) (map[string]any, error) {
	q := sortedQuery(query)
	body := ""
	if form != nil {
		body = encodeForm(form)
	}
	date := time.Now().UTC().Format(time.RFC1123Z)
	sig := md5hex(verb + "\n" + date + "\n" + path + "\n" + q + "\n" + body + "\n" + md5hex(r.secret) + "\n")
	u := r.base + path
	if q != "" {
		u += "?" + q
	}
	req, err := http.NewRequest(verb, u, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Date", date)
	req.Header.Set("Cerb-Auth", r.access+":"+sig)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("Cerb is not answering at %s: %w", r.base, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s %s: HTTP %d, not JSON: %.300s", verb, path, resp.StatusCode, b)
	}
	if m["__status"] != "success" {
		msg, _ := m["message"].(string)
		if msg == "" {
			msg = string(b)
		}
		return m, &restError{msg}
	}
	return m, nil
}

type restError struct{ msg string }

func (e *restError) Error() string { return e.msg }

// sortedQuery sorts parameters by name as Ch_RestFrontController does
// before checking the signature.
func sortedQuery(v url.Values) string {
	if len(v) == 0 {
		return ""
	}
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		for _, x := range v[k] {
			parts = append(parts, rawurlencode(k)+"="+rawurlencode(x))
		}
	}
	return strings.Join(parts, "&")
}

// encodeForm encodes fields in a fixed order (sorted), RFC 3986 style.
func encodeForm(v url.Values) string { return sortedQuery(v) }

func rawurlencode(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

// upsert finds the record of context ctx whose field equals value, or
// creates it, then updates it with fields. It returns the record's id.
func (r *rest) find(ctx, field, value string) (int, error) {
	m, err := r.call("GET", "/rest/records/"+ctx+"/search.json", url.Values{
		"limit": {"100"}, "q": {field + `:"` + value + `"`},
	}, nil)
	if err != nil {
		return 0, err
	}
	res, _ := m["results"].([]any)
	for _, x := range res {
		rec, _ := x.(map[string]any)
		if rec[field] == value {
			return recordID(rec["id"]), nil
		}
	}
	return 0, nil
}

func (r *rest) create(ctx string, fields map[string]string) (int, error) {
	m, err := r.call("POST", "/rest/records/"+ctx+"/create.json", nil, formFields(fields))
	if err != nil {
		return 0, err
	}
	return recordID(m["id"]), nil
}

// recordID reads an id that Cerb gives as a number or as text.
func recordID(v any) int {
	switch x := v.(type) {
	case float64:
		return int(x)
	case string:
		n, _ := strconv.Atoi(x)
		return n
	}
	return 0
}

func (r *rest) update(ctx string, id int, fields map[string]string) error {
	_, err := r.call("PUT", fmt.Sprintf("/rest/records/%s/%d.json", ctx, id), nil, formFields(fields))
	return err
}

func formFields(fields map[string]string) url.Values {
	v := url.Values{}
	for k, x := range fields {
		v.Set("fields["+k+"]", x)
	}
	return v
}

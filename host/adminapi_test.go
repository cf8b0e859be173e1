package host

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/api"
	"github.com/hookhost/hookhost/host/api/apitest"
)

// problem decodes a problem+json answer.
func (r response) problem(t testing.TB) api.Problem {
	t.Helper()
	require.Equal(t, api.ProblemType, r.Header.Get("Content-Type"), "%s", r.Body)
	var p api.Problem
	require.NoError(t, json.Unmarshal(r.Body, &p), "%s", r.Body)
	return p
}

// TestAdmin_MethodNotAllowed asks every documented admin path with every
// method it does not document: the answer is 405 with an Allow header
// naming exactly the documented methods (HEAD with GET), never 404.
func TestAdmin_MethodNotAllowed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	k, err := apitest.Load()
	require.NoError(t, err)
	documented := map[string][]string{}
	for _, op := range k.Operations() {
		if strings.HasPrefix(op.Path, "/api/v1/") {
			documented[op.Path] = append(documented[op.Path], op.Method)
		}
	}
	require.NotEmpty(t, documented)
	for path, methods := range documented {
		if slices.Contains(methods, http.MethodGet) {
			methods = append(methods, http.MethodHead)
		}
		slices.Sort(methods)
		target := strings.NewReplacer("{id}", "x1", "{name}", "x1").Replace(path)
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
			if slices.Contains(methods, m) {
				continue
			}
			r := b.admin(t, m, strings.TrimPrefix(target, "/api/v1"), "", "")
			require.Equal(t, http.StatusMethodNotAllowed, r.Status, "%s %s: %s", m, target, r.Body)
			require.Equal(t, strings.Join(methods, ", "), r.Header.Get("Allow"), "%s %s", m, target)
			require.Equal(t, http.StatusMethodNotAllowed, r.problem(t).Status)
		}
	}
	// Case and a trailing slash do not matter, as for the routes
	// themselves; an unknown path is still 404, and the token comes first.
	r := b.admin(t, "DELETE", "/Webhooks/", "", "")
	require.Equal(t, http.StatusMethodNotAllowed, r.Status, "%s", r.Body)
	require.Equal(t, "GET, HEAD, POST", r.Header.Get("Allow"))
	r = b.admin(t, "DELETE", "/webhooks/x1/nope", "", "")
	require.Equal(t, http.StatusNotFound, r.Status, "%s", r.Body)
	r = b.do(t, "DELETE", "/api/v1/webhooks", "", "")
	require.Equal(t, http.StatusUnauthorized, r.Status, "%s", r.Body)
}

// TestAdmin_JSONErrors checks that every JSON decoding mistake is
// reported by field (or line and column), with what was expected and an
// example, and never in Go's words.
func TestAdmin_JSONErrors(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.createAutomation(t, "good", "start:\n  return:\n    body: ok\n", "")
	id, _ := b.createWebhook(t, "hook", eventFor("good"))
	event, _ := json.Marshal(eventFor("good"))

	tests := []struct {
		name, method, path, body string
		wantField                string
		wantLine, wantCol        int
		want                     string // part of the message
	}{
		{"BoolAsString", "POST", "/webhooks", `{"name":"x","event_kata":` + string(event) + `,"enabled":"no"}`,
			"enabled", 0, 0, `"enabled" must be true or false, e.g. "enabled": false (got "no")`},
		{"TimeWords", "POST", "/webhooks", `{"name":"x","event_kata":` + string(event) + `,"expires_at":"tomorrow"}`,
			"expires_at", 0, 0, `"expires_at" must be an RFC 3339 time, e.g. "2027-01-02T15:04:05Z" (got "tomorrow")`},
		{"TimeNumber", "POST", "/webhooks", `{"name":"x","expires_at":1700000000}`,
			"expires_at", 0, 0, `"expires_at" must be an RFC 3339 time, e.g. "2027-01-02T15:04:05Z" (got 1700000000)`},
		{"StringAsNumber", "POST", "/automations", `{"name":"x","script":5}`,
			"script", 0, 0, `"script" must be a string, e.g. "script": "text" (got 5)`},
		{"UnknownField", "POST", "/automations", `{"name":"x","bogus":1}`,
			"bogus", 0, 0, `unknown field "bogus" with the fields name, extension_id, description, script, policy_kata`},
		{"SyntaxLineCol", "PUT", "/automations/x", "{\n  \"script\": start\n}",
			"body", 2, 13, `invalid JSON: invalid character 's' looking for beginning of value (a value is a "quoted string", a number, true, false, null, an object or a list)`},
		{"Truncated", "POST", "/automations", `{"name":"x"`, "body", 1, 12, "the JSON ends before its value is complete"},
		{"Empty", "POST", "/automations", ``, "body", 0, 0, "the body is empty: send a JSON object with the fields name,"},
		{"NotAnObject", "POST", "/automations", `["x"]`, "body", 0, 0, "the body must be a JSON object with the fields name, extension_id, description, script, policy_kata, not a list"},
		{"Trailing", "POST", "/automations", `{"name":"x"} {"name":"y"}`, "body", 1, 14, "unexpected text after the JSON object: send one object"},
		{"NotJSON", "POST", "/automations", "name: x\n", "body", 1, 1, `the body is not JSON (it starts with "name: x")`},
		{"PackageSyntax", "POST", "/packages/import", "{\n  \"package\": {,}\n}", "package", 2, 15, `invalid JSON: invalid character ',' looking for beginning of object key string (keys are "quoted"; no comma before })`},
		{"PackageNotJSON", "POST", "/packages/import", "hello", "package", 1, 1, `the body is not JSON (it starts with "hello"): send a JSON object`},
		{"PatchBool", "PATCH", "/webhooks/" + id, `{"debug":1}`, "debug", 0, 0, `"debug" must be true or false, e.g. "debug": false (got 1)`},
		{"PatchTime", "PATCH", "/webhooks/" + id, `{"expires_at":"2027-13-01"}`, "expires_at", 0, 0, `"expires_at" must be an RFC 3339 time, e.g. "2027-01-02T15:04:05Z" (got "2027-13-01")`},
		{"PatchUnknown", "PATCH", "/webhooks/" + id, `{"enable":true}`, "enable", 0, 0, `unknown field "enable" with the fields name, event_kata, enabled, debug, expires_at`},
		{"SecretNotEchoed", "PUT", "/secrets/s", `{"value":12345678}`, "value", 0, 0, `"value" must be a string, e.g. "value": "text"`},
		{"SecretSyntaxNotEchoed", "PUT", "/secrets/s", `{"value":"hunter2hunter2`, "body", 1, 25, `invalid JSON`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := b.admin(t, tt.method, tt.path, "application/json", tt.body)
			require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
			p := r.problem(t)
			require.Len(t, p.Errors, 1, "%s", r.Body)
			it := p.Errors[0]
			require.Equal(t, tt.wantField, it.Field, "%s", r.Body)
			require.Equal(t, tt.wantLine, it.Line, "%s", r.Body)
			require.Equal(t, tt.wantCol, it.Column, "%s", r.Body)
			require.Contains(t, it.Message, tt.want)
			for _, goism := range []string{"Go value", "Go struct", "of type", "strconv.", "parsing time", "2006-01-02", "json:", "main.", "api."} {
				require.NotContains(t, string(r.Body), goism)
			}
			require.NotContains(t, string(r.Body), "hunter2")
			require.NotContains(t, string(r.Body), "12345678")
		})
	}
	// Nothing was changed by the refused PATCHes.
	r := b.admin(t, "GET", "/webhooks/"+id, "", "")
	require.Equal(t, http.StatusOK, r.Status)
	require.Equal(t, false, r.json(t)["debug"])
}

// TestAdmin_WebhookKATABodies creates webhooks by posting the event KATA
// as curl sends it: with -d (form content type), with no content type, and
// as text/plain; a JSON object without the JSON content type is JSON.
func TestAdmin_WebhookKATABodies(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.createAutomation(t, "good", "start:\n  return:\n    body: ok\n", "")
	tests := []struct {
		name, ctype, query, body string
		wantStatus               int
		wantName                 string
		want                     string // part of the problem, for a 400
	}{
		{"Form", "application/x-www-form-urlencoded", "?name=form", eventFor("good"), 201, "form", ""},
		{"NoContentType", "", "?name=none", eventFor("good"), 201, "none", ""},
		{"TextPlainCharset", "text/plain; charset=utf-8", "?name=text&enabled=false&debug=true", eventFor("good"), 201, "text", ""},
		{"JSONWithoutContentType", "", "", `{"name":"json-none","event_kata":"automation/main:\n  uri: cerb:automation:good\n"}`, 201, "json-none", ""},
		{"JSONAsForm", "application/x-www-form-urlencoded", "", `{"name":"json-form","event_kata":"automation/main:\n  uri: cerb:automation:good\n"}`, 201, "json-form", ""},
		{"FormOneLine", "application/x-www-form-urlencoded", "?name=flat", "automation/main:  uri: cerb:automation:good", 400, "",
			"curl -d drops line breaks; send the file with curl --data-binary @event.kata -H 'Content-Type: text/plain'"},
		{"BadEnabled", "text/plain", "?name=x&enabled=maybe", eventFor("good"), 400, "", `?enabled= must be true or false, e.g. ?enabled=false (got "maybe")`},
		{"BadExpiry", "text/plain", "?name=x&expires_at=tomorrow", eventFor("good"), 400, "", `?expires_at= must be an RFC 3339 time, e.g. ?expires_at=2027-01-02T15:04:05Z (got "tomorrow")`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := b.admin(t, "POST", "/webhooks"+tt.query, tt.ctype, tt.body)
			require.Equal(t, tt.wantStatus, r.Status, "%s", r.Body)
			if tt.wantStatus == http.StatusCreated {
				require.Equal(t, tt.wantName, r.json(t)["name"])
				return
			}
			p := r.problem(t)
			require.Contains(t, p.Error(), tt.want)
		})
	}
	r := b.admin(t, "GET", "/webhooks", "", "")
	var list api.WebhookList
	require.NoError(t, json.Unmarshal(r.Body, &list))
	for _, w := range list.Webhooks {
		if w.Name == "text" {
			require.False(t, w.Enabled)
			require.True(t, w.Debug)
		}
	}
}

// TestAdmin_ExpiryInThePast refuses an expiry that has passed, at create
// and in a PATCH; a PATCH may still clear it.
func TestAdmin_ExpiryInThePast(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.createAutomation(t, "good", "start:\n  return:\n    body: ok\n", "")
	event, _ := json.Marshal(eventFor("good"))
	past := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	future := time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339)

	r := b.admin(t, "POST", "/webhooks", "application/json", `{"name":"x","event_kata":`+string(event)+`,"expires_at":"`+past+`"}`)
	require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
	p := r.problem(t)
	require.Equal(t, "expires_at", p.Errors[0].Field)
	require.Contains(t, p.Errors[0].Message, "expires_at "+past+" is not in the future")
	r = b.admin(t, "POST", "/webhooks?name=x&expires_at="+past, "text/plain", eventFor("good"))
	require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)

	r = b.admin(t, "POST", "/webhooks", "application/json", `{"name":"x","event_kata":`+string(event)+`,"expires_at":"`+future+`"}`)
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	id := r.json(t)["id"].(string)
	r = b.admin(t, "PATCH", "/webhooks/"+id, "application/json", `{"expires_at":"`+past+`"}`)
	require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
	r = b.admin(t, "PATCH", "/webhooks/"+id, "application/json", `{"expires_at":null}`)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.Nil(t, r.json(t)["expires_at"])
	r = b.admin(t, "PATCH", "/webhooks/"+id, "application/json", `{"expires_at":"`+future+`","name":"renamed"}`)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.Equal(t, future, r.json(t)["expires_at"])
	require.Equal(t, "renamed", r.json(t)["name"])
	r = b.admin(t, "GET", "/webhooks", "", "")
	require.Equal(t, 1, strings.Count(string(r.Body), `"id"`), "%s", r.Body)
}

func TestAdmin_RunsBeforeIsARunID(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, before := range []string{"zzz", "1", "0190b1a4000070008000000000000bb", "{0190b1a4-0000-7000-8000-0000000000bb}"} {
		r := b.admin(t, "GET", "/runs?before="+before, "", "")
		require.Equal(t, http.StatusBadRequest, r.Status, "%s: %s", before, r.Body)
		p := r.problem(t)
		require.Equal(t, "before", p.Errors[0].Field)
		require.Contains(t, p.Errors[0].Message, "before must be a run id")
	}
	r := b.admin(t, "GET", "/runs?before=0190b1a4-0000-7000-8000-0000000000bb", "", "")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.JSONEq(t, `{"runs":[]}`, string(r.Body))
}

func TestAdmin_SigningSecretAndVersion(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.createAutomation(t, "good", "start:\n  return:\n    body: ok\n", "")
	id, _ := b.createWebhook(t, "hook", eventFor("good"))
	secret := func(method string) string {
		t.Helper()
		r := b.admin(t, method, "/webhooks/"+id+"/signing-secret", "", "")
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		var s api.SigningSecret
		require.NoError(t, json.Unmarshal(r.Body, &s))
		require.Equal(t, id, s.WebhookID)
		require.True(t, strings.HasPrefix(s.SigningSecret, "whsec_"), s.SigningSecret)
		return s.SigningSecret
	}
	first := secret("GET")
	require.Equal(t, first, secret("GET"), "showing does not change it")
	rotated := secret("POST")
	require.NotEqual(t, first, rotated)
	require.Equal(t, rotated, secret("GET"))
	r := b.admin(t, "GET", "/webhooks/nope/signing-secret", "", "")
	require.Equal(t, http.StatusNotFound, r.Status, "%s", r.Body)

	r = b.admin(t, "GET", "/version", "", "")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	var v api.Version
	require.NoError(t, json.Unmarshal(r.Body, &v))
	require.NotEmpty(t, v.Version)
	require.True(t, strings.HasPrefix(v.GoVersion, "go"), v.GoVersion)
	r = b.do(t, "GET", "/api/v1/version", "", "")
	require.Equal(t, http.StatusUnauthorized, r.Status)
}

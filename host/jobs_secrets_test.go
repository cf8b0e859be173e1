package host

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/jobs"
)

// TestJobs_SecretInputsSealed queues a job whose event KATA renders a
// secret into its fixed inputs: the automation gets the value, and no file
// of the data dir (the SQLite database and its WAL) holds it in the clear.
func TestJobs_SecretInputsSealed(t *testing.T) {
	t.Parallel()
	const value = "sk_live_SEALED_7f3c9a1e"
	b := setup(t)
	r := b.admin(t, "PUT", "/secrets/deploy_key", "text/plain", value)
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	b.createAutomation(t, "deploy", "inputs:\n  text/api_key:\nstart:\n  return:\n    body: len={{inputs.api_key|length}} ok={{inputs.api_key == secrets.deploy_key ? 'yes' : 'no'}}\n", "")
	_, tok := b.createWebhook(t, "deploy", "automation/deploy:\n  uri: cerb:automation:deploy\n  inputs:\n    api_key: {{secrets.deploy_key}}\n  job:\n    max_attempts@int: 1\n")

	id := b.fire(t, tok)
	j := b.waitState(t, id, jobs.StateCompleted)
	require.Equal(t, "len=23 ok=yes", j["response"].(map[string]any)["body"], "the automation got the unsealed value: %v", j)
	require.NotContains(t, string(b.admin(t, "GET", "/jobs/"+id, "", "").Body), value)

	files, err := filepath.Glob(filepath.Join(b.srv.cfg.DataDir, "*"))
	require.NoError(t, err)
	scanned := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue // a directory
		}
		scanned++
		require.False(t, bytes.Contains(data, []byte(value)), "%s holds the secret in the clear", f)
	}
	require.NotZero(t, scanned)
}

func TestSealJobInputs(t *testing.T) {
	b := setup(t)
	s := b.srv
	s.redactor.Add("hunter2-secret")
	tests := []struct {
		name   string
		in     string
		sealed bool
	}{
		{name: "NoSecret", in: `{"a":"b"}`},
		{name: "Secret", in: `{"a":"hunter2-secret"}`, sealed: true},
		{name: "LooksSealedButIsNot", in: `{"$sealed":"x","b":1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stored, err := s.catalog.SealJobInputs([]byte(tt.in))
			require.NoError(t, err)
			require.Equal(t, tt.sealed, !bytes.Equal(stored, []byte(tt.in)))
			require.NotContains(t, string(stored), "hunter2-secret")
			back, err := s.catalog.OpenJobInputs(stored)
			require.NoError(t, err)
			require.Equal(t, tt.in, string(back))
		})
	}
	_, err := s.catalog.OpenJobInputs([]byte(`{"$sealed":"bm90IHNlYWxlZA=="}`))
	require.Error(t, err, "a sealed value that does not open is an error")
}

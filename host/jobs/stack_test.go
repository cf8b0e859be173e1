package jobs

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestRunArgs_UnmarshalJSONAsPlain checks that runArgs' UnmarshalJSON
// (which grows the goroutine's stack first) decodes as encoding/json does
// without it, errors included.
func TestRunArgs_UnmarshalJSONAsPlain(t *testing.T) {
	type plain runArgs
	tests := []struct{ name, in string }{
		{"full", `{"job_id":"j","webhook_id":"w","handler":"automation/a","automation":"a","inputs":"eyJ4IjoxfQ==",` +
			`"explicit_attempts":true,"timeout_ms":5000,"concurrency":2,"callback_url":"https://cb.test/","credential_headers":["x-token"]}`},
		{"inputs as JSON", `{"job_id":"j","inputs":{"x":1}}`},
		{"unknown key", `{"job_id":"j","other":1}`},
		{"keys in another case", `{"JOB_ID":"j","Inputs":"e30="}`},
		{"null", `null`},
		{"wrong type", `{"timeout_ms":"5"}`},
		{"bad base64", `{"inputs":"!!"}`},
		{"not an object", `[1]`},
		{"truncated", `{"job_id":`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got runArgs
			var want plain
			gotErr := json.Unmarshal([]byte(tt.in), &got)
			wantErr := json.Unmarshal([]byte(tt.in), &want)
			assert.Equal(t, wantErr == nil, gotErr == nil, "errors: %v, %v", gotErr, wantErr)
			assert.Equal(t, runArgs(want), got)
		})
	}
}

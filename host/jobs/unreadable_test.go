package jobs

import (
	"errors"
	"fmt"
	"testing"

	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"
)

// TestUnreadable checks which failed attempts errorHandler ends: those of
// run jobs that River could not read, never an error of a worker that
// ran (whose args decode) nor a job of another kind.
func TestUnreadable(t *testing.T) {
	t.Parallel()
	good := []byte(`{"job_id":"a","inputs":"eyJ9","timeout_ms":1000}`)
	rowErr := fmt.Errorf("job row couldn't be decoded: %w", &unreadableRow{err: errors.New("error unmarshaling `metadata`")})
	tests := []struct {
		name    string
		kind    string
		args    []byte
		err     error
		wantMsg string // "": not unreadable
	}{
		{"WorkerError", kindRun, good, errors.New("boom"), ""},
		{"OtherKind", kindCallback, []byte(`{"job_id":1}`), errors.New("json: cannot unmarshal"), ""},
		{"ArgsDoNotDecode", kindRun, []byte(`{"job_id":1}`), errors.New("json: cannot unmarshal number"),
			"the job's stored arguments could not be read: json: cannot unmarshal number"},
		// River's driver leaves out args it could not decode.
		{"ArgsLeftOut", kindRun, nil, fmt.Errorf("job row couldn't be decoded: %w", &unreadableRow{err: errors.New("error unmarshaling `args`")}),
			"the job's stored arguments could not be read: job row couldn't be decoded: error unmarshaling `args`"},
		{"RowDoesNotDecode", kindRun, good, rowErr,
			"the job's stored row could not be read: job row couldn't be decoded: error unmarshaling `metadata`"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			msg, ok := unreadable(&rivertype.JobRow{Kind: tt.kind, EncodedArgs: tt.args}, tt.err)
			require.Equal(t, tt.wantMsg != "", ok)
			require.Equal(t, tt.wantMsg, msg)
		})
	}
}

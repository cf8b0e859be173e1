package jobs

import (
	"context"
	"testing"

	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"
)

// TestStartableDefinitions holds the two definitions of the run jobs whose
// start River's fetch records to one table: startableJob (SQLite, given
// the args as River's SQLite driver reads them back) and pgStartableSQL
// (PostgreSQL, on jsonb args). Only a concurrency limit of the args' own
// keeps a job out; the text "concurrency": in a value, or as a key of a
// nested object, does not.
func TestStartableDefinitions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, kind, args string
		want             bool
	}{
		{"Plain", kindRun, `{"job_id":"a","inputs":"eyJ9","timeout_ms":1000}`, true},
		{"Empty", kindRun, `{}`, true},
		{"Limit", kindRun, `{"job_id":"a","timeout_ms":1000,"concurrency":2}`, false},
		{"LimitFirst", kindRun, `{"concurrency":2,"job_id":"a"}`, false},
		{"NullLimit", kindRun, `{"concurrency":null}`, false},
		{"Spaces", kindRun, `{ "job_id" : "a" , "concurrency" : 1 }`, false},
		{"EscapedKey", kindRun, `{"job_id":"a","concurr\u0065ncy":1}`, false},
		// {"concurrency": 3} in base64, as the inputs are written.
		{"Base64InputHoldingKey", kindRun, `{"inputs":"eyJjb25jdXJyZW5jeSI6IDN9"}`, true},
		{"ValueHoldingKeyText", kindRun, `{"handler":"\"concurrency\":1","job_id":"a"}`, true},
		{"ValueIsKey", kindRun, `{"automation":"concurrency"}`, true},
		{"ValueEndsWithBackslash", kindRun, `{"handler":"x\\","concurrency":1}`, false},
		{"ValueWithEscapedQuoteThenKeyText", kindRun, `{"handler":"x\\\"concurrency\":1"}`, true},
		// Args written before inputs were base64 hold them as JSON.
		{"NestedKey", kindRun, `{"inputs":{"concurrency":3},"job_id":"a"}`, true},
		{"NestedInArray", kindRun, `{"inputs":[{"concurrency":3},"concurrency"],"x":1}`, true},
		{"NestedAndOwn", kindRun, `{"inputs":{"a":[1,{"concurrency":3}]},"concurrency":1}`, false},
		{"NotARunJob", kindCallback, `{"job_id":"a"}`, false},
	}

	t.Run("SQLite", func(t *testing.T) {
		t.Parallel()
		db := openSQLiteDB(t)
		for _, tt := range tests {
			// River's SQLite driver keeps args as jsonb and reads them back
			// with json().
			var args []byte
			require.NoError(t, db.QueryRowContext(context.Background(), `SELECT json(jsonb(?))`, tt.args).Scan(&args), tt.name)
			require.Equal(t, tt.want, startableJob(&rivertype.JobRow{Kind: tt.kind, EncodedArgs: args}), tt.name)
		}
	})

	t.Run("PostgreSQL", func(t *testing.T) {
		t.Parallel()
		db, _ := openPostgres(t, "hh_jobs_startable_")
		for _, tt := range tests {
			var got bool
			err := db.QueryRowContext(context.Background(), `SELECT `+pgStartableSQL+` FROM (SELECT $1::text AS kind, $2::jsonb AS args) AS j`,
				tt.kind, tt.args).Scan(&got)
			require.NoError(t, err, tt.name)
			require.Equal(t, tt.want, got, tt.name)
		}
	})
}

// TestHasKeyLargeArgs checks that hasKey reads args holding large inputs
// (up to the body limit, base64) without allocating: SQLite's fetch runs
// it while it holds the database's one connection.
func TestHasKeyLargeArgs(t *testing.T) {
	big := make([]byte, 0, 4<<20)
	big = append(big, `{"job_id":"a","inputs":"`...)
	for len(big) < 4<<20 {
		big = append(big, "eyJhIjoxfQ=="...)
	}
	limited := append(append([]byte{}, big...), `","concurrency":2}`...)
	big = append(big, `"}`...)
	require.False(t, hasKey(big, concurrencyKey))
	require.True(t, hasKey(limited, concurrencyKey))
	require.Zero(t, testing.AllocsPerRun(3, func() { hasKey(limited, concurrencyKey) }))
}

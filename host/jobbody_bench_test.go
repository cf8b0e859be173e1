package host

import (
	"bytes"
	"os"
	"strconv"
	"testing"

	"github.com/hookhost/hookhost/internal/pgtest"
)

// BenchmarkWebhook_JobBody measures the server's cost of a durable 202
// (a job webhook, workers off: the hand-off alone) for request bodies of
// several sizes, on SQLite: parsing, the inputs, redaction, the job's
// insert and its group commit. Compare ns/op and B/op before and after a
// change; the large sizes show what each byte of a body costs.
func BenchmarkWebhook_JobBody(b *testing.B) { benchJobBody(b, func(*Config) {}) }

// BenchmarkWebhook_JobBodyPostgres is BenchmarkWebhook_JobBody on
// PostgreSQL (HOOKHOST_TEST_POSTGRES).
func BenchmarkWebhook_JobBodyPostgres(b *testing.B) {
	dsn := os.Getenv(jobsPostgresEnv)
	if dsn == "" {
		b.Skipf("set %s to a PostgreSQL DSN", jobsPostgresEnv)
	}
	benchJobBody(b, func(c *Config) { c.Database = pgtest.SchemaOf(b, dsn, "hh_jobbody_") })
}

func benchJobBody(b *testing.B, db func(*Config)) {
	bundle := setup(b, db, func(c *Config) { c.Jobs.Workers = 0 })
	bundle.createAutomation(b, "job", "start:\n  return:\n    body: ok\n", "")
	_, tok := bundle.createWebhook(b, "job", "automation/job:\n  uri: cerb:automation:job\n  job:\n    max_attempts@int: 1\n")
	handler := bundle.srv.App().Handler()
	for _, size := range []int{0, 64 << 10, 1 << 20} {
		b.Run(strconv.Itoa(size), func(b *testing.B) {
			body := bytes.Repeat([]byte(`{"a":"xyz"},`), size/12)
			raw := append([]byte("POST /webhooks/"+tok+"?key=value HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"+
				"Content-Type: application/json\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\n\r\n"), body...)
			b.SetBytes(int64(len(body)))
			benchRequests(b, handler, raw, 202)
		})
	}
}

package jobs

import (
	"time"

	"github.com/hookhost/hookhost/internal/sqlbind"
)

// sqlDialect adapts the package's queries, written with ? placeholders, to
// a database.
type sqlDialect struct {
	name string
	// nowText is River's clock in SQL (for attempted_at heartbeats).
	nowText string
	// octets is the SQL of a column's length in bytes, whether it holds
	// text or bytes.
	octets func(col string) string
	// argsText is River's args column as JSON text: SQLite keeps it as
	// JSONB, which River reads back the same way (its fetch's expression),
	// and text that is not JSON as it is.
	argsText string
}

func newSQLDialect(name string) sqlDialect {
	if name == DialectPostgres {
		return sqlDialect{name: name, nowText: "now()",
			octets:   func(col string) string { return "octet_length(" + col + ")" },
			argsText: "args"}
	}
	return sqlDialect{name: name, nowText: "datetime('now', 'subsec')",
		octets:   func(col string) string { return "length(CAST(" + col + " AS BLOB))" },
		argsText: "CAST(CASE WHEN typeof(args) = 'text' AND NOT json_valid(args) THEN args ELSE json(args) END AS BLOB)"}
}

// q rewrites ? placeholders as $1, $2… on PostgreSQL. The queries of this
// package have no ? inside literals.
func (d sqlDialect) q(query string) string {
	if d.name != DialectPostgres {
		return query
	}
	return sqlbind.Dollar(query)
}

// bytesArg is the argument of a column that holds any bytes (bytea on
// PostgreSQL, whose text refuses NUL and invalid UTF-8; a BLOB in SQLite's
// TEXT-affinity columns, which keeps them as they are). It is never nil:
// the columns are NOT NULL.
func bytesArg[T ~string | ~[]byte](v T) []byte {
	return append([]byte{}, v...)
}

// micros stores times as unix microseconds (both dialects).
func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

// nullMicros is a nullable time column.
func nullMicros(t *time.Time) any {
	if t == nil || t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

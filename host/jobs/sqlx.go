package jobs

import (
	"strconv"
	"strings"
	"time"
)

// sqlDialect adapts the package's queries, written with ? placeholders, to
// a database.
type sqlDialect struct {
	name string
	// nowText is River's clock in SQL (for attempted_at heartbeats).
	nowText string
}

func newSQLDialect(name string) sqlDialect {
	if name == DialectPostgres {
		return sqlDialect{name: name, nowText: "now()"}
	}
	return sqlDialect{name: name, nowText: "datetime('now', 'subsec')"}
}

// q rewrites ? placeholders as $1, $2… on PostgreSQL. The queries of this
// package have no ? inside literals.
func (d sqlDialect) q(query string) string {
	if d.name != DialectPostgres {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
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

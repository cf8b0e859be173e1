// Package sqlbind rewrites the ? placeholders of a query for PostgreSQL,
// for the packages that write one query for both SQLite and PostgreSQL.
package sqlbind

import (
	"strconv"
	"strings"
)

// Dollar rewrites every ? of query as $1, $2… in order, as PostgreSQL
// numbers parameters. It does not parse SQL: the queries it serves have
// no ? inside literals or identifiers.
func Dollar(query string) string {
	if strings.IndexByte(query, '?') < 0 {
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

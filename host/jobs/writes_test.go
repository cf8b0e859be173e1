package jobs

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestWrites_NoEphemeralTables checks that SQLite runs the two writes of
// every job (and the end of one without an outcome) without building a
// temporary b-tree on each execution, as it does for a NOT IN of more than
// two values.
func TestWrites_NoEphemeralTables(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openSQLiteDB(t)
	q := newSQLiteQueue(t, db)

	for _, tt := range []struct {
		name, query string
		args        []any
	}{
		{"markRunning", q.d.q(markRunningSQL), []any{1, 2, "j"}},
		{"finish", q.d.q(q.d.finishSQL()), []any{"completed", 1, 0, 200, []byte{}, []byte{}, []byte{}, []byte{}, []byte{}, 3, 256, "j"}},
		{"finishState", q.d.q(q.d.finishStateSQL()), []any{"stopped", []byte{}, 3, 0, "j"}},
	} {
		rows, err := db.QueryContext(ctx, "EXPLAIN "+tt.query, tt.args...)
		require.NoError(t, err, tt.name)
		var opcodes []string
		for rows.Next() {
			var (
				addr, p1, p2, p3 int
				opcode           string
				p4, p5, comment  any
			)
			require.NoError(t, rows.Scan(&addr, &opcode, &p1, &p2, &p3, &p4, &p5, &comment))
			opcodes = append(opcodes, opcode)
		}
		require.NoError(t, rows.Err())
		require.NoError(t, rows.Close())
		require.NotEmpty(t, opcodes, tt.name)
		require.NotContains(t, opcodes, "OpenEphemeral", tt.name)
	}
}

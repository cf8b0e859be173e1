package sqlstore

import (
	"math"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
)

// TestCheckedSQLite fails when the linked SQLite is not the version
// runBinder's direct path was checked against: after a dependency bump,
// check TestRunBinderDirect (and the code it tests) against the new
// version's sources, then update checkedSQLite.
func TestCheckedSQLite(t *testing.T) {
	t.Parallel()
	tls := libc.NewTLS()
	defer tls.Close()
	require.Equal(t, int32(checkedSQLite), sqlite3.Xsqlite3_libversion_number(tls),
		"SQLite is not the version runBinder's direct path was checked against (checkedSQLite): "+
			"check TestRunBinderDirect and directVars against its sources, then update the constant")
}

// TestRunBinderDirect binds the same values with a runBinder on the bind
// calls (sqlite3_bind_*) to one statement and on the direct path to
// another statement of the same SQL, and compares the parameters'
// values (sqlite3.TMem at Vdbe.aVar) byte for byte, the connection's
// error code, the values read back, and the parameters after
// clearBindings (all NULL). The slots start with the same bytes (every
// byte but flags, db and szMalloc, which are all sqlite3VdbeMakeReady
// sets, is 0xa5), so a field one path writes and the other does not
// shows. Two fields are compared after normalising: z, the address of a
// text or blob, as its offset into each binder's own buffer (and, in a
// value that is neither, left stale by both paths: not compared); and
// zMalloc when szMalloc is 0 (unused: vdbeMemClear leaves it stale after
// freeing it). The other fields a path does not write for a kind (u of a
// text, blob or NULL; n, enc and xDel of an integer or NULL) are left
// stale by both and compare equal.
//
// The cases cover the fallbacks to the bind calls: a parameter that
// owns memory (bound SQLITE_TRANSIENT before), and a value over the
// length limit (SQLITE_TOOBIG); and nDirect checks the path taken.
func TestRunBinderDirect(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 31)
	values := []any{"héllo", "", []byte{0, 1, 2}, []byte{}, nil, int64(-5), int64(0), int64(math.MinInt64), int64(math.MaxInt64)}
	for _, tt := range []struct {
		name      string
		values    []any
		limit     int32 // SQLITE_LIMIT_LENGTH when not 0
		transient bool  // parameter 1 bound SQLITE_TRANSIENT before
		rc        int32
		nDirect   int32
	}{
		{name: "values", values: values, rc: sqlite3.SQLITE_OK, nDirect: int32(len(values))},
		{name: "parameter owning memory", values: values, transient: true, rc: sqlite3.SQLITE_OK, nDirect: int32(len(values)) - 1},
		{name: "too long", values: []any{"x", long, int64(1)}, limit: 30, rc: sqlite3.SQLITE_TOOBIG, nDirect: 1},
		{name: "too long blob", values: []any{[]byte(long)}, limit: 30, rc: sqlite3.SQLITE_TOOBIG},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tls := libc.NewTLS()
			defer tls.Close()
			db := openMemory(t, tls)
			if tt.limit != 0 {
				sqlite3.Xsqlite3_limit(tls, db, sqlite3.SQLITE_LIMIT_LENGTH, tt.limit)
			}
			query := "SELECT ?" + strings.Repeat(", ?", len(tt.values)-1)
			var (
				slots   [2][][]byte
				errCode [2]int32
				rows    [2][]column
			)
			for k, direct := range []bool{false, true} {
				stmt := prepare(t, tls, db, query)
				poison(t, stmt)
				if tt.transient {
					p, err := libc.CString("owned")
					require.NoError(t, err)
					require.Equal(t, int32(sqlite3.SQLITE_OK), sqlite3.Xsqlite3_bind_text(tls, stmt, 1, p, 5, ^uintptr(0)))
					libc.Xfree(tls, p)
				}
				const size = 64
				buf := libc.Xmalloc(tls, size)
				require.NotZero(t, buf)
				b := newRunBinder(tls, db, stmt, buf, size)
				if direct {
					require.NotZero(t, b.vars, "directVars refused a reset statement")
					require.Equal(t, int32(len(tt.values)), b.nVar)
				} else {
					b.vars = 0 // the bind calls
				}
				// vdbeUnbind sets the connection's error code to SQLITE_OK.
				(*sqlite3.Tsqlite3)(unsafe.Add(nil, db)).FerrCode = sqlite3.SQLITE_ERROR
				for _, v := range tt.values {
					switch v := v.(type) {
					case string:
						b.text(v, false)
					case []byte:
						b.blob(v)
					case nil:
						b.blob(nil)
					case int64:
						b.int(v)
					}
				}
				require.Equal(t, tt.rc, b.rc, "direct %t", direct)
				errCode[k] = sqlite3.Xsqlite3_errcode(tls, db)
				slots[k] = readSlots(stmt, buf)
				if direct {
					require.Equal(t, tt.nDirect, b.nDirect, "values set directly")
				} else {
					require.Zero(t, b.nDirect, "values set directly")
				}
				if b.rc == sqlite3.SQLITE_OK {
					require.Equal(t, int32(sqlite3.SQLITE_ROW), sqlite3.Xsqlite3_step(tls, stmt))
					// A statement that is not reset is not bound directly.
					vars, _, _ := directVars(db, stmt)
					require.Zero(t, vars, "directVars took a running statement")
					rows[k] = readRow(tls, stmt, len(tt.values))
				}
				require.Equal(t, int32(sqlite3.SQLITE_OK), sqlite3.Xsqlite3_reset(tls, stmt))
				if direct {
					b.clearBindings()
				} else {
					sqlite3.Xsqlite3_clear_bindings(tls, stmt) // what clearBindings must equal
				}
				libc.Xfree(tls, buf)
				for i, m := range readSlots(stmt, 0) {
					require.Equal(t, uint16(sqlite3.MEM_Null), (*sqlite3.TMem)(unsafe.Pointer(&m[0])).Fflags, "direct %t: parameter %d after clearBindings", direct, i+1)
				}
				slots[k] = append(slots[k], readSlots(stmt, 0)...)
			}
			require.Equal(t, errCode[0], errCode[1], "the connection's error code")
			if tt.rc == sqlite3.SQLITE_OK {
				require.Equal(t, int32(sqlite3.SQLITE_OK), errCode[1])
			}
			require.Equal(t, rows[0], rows[1], "the values read back")
			for i := range slots[0] {
				require.Equal(t, slots[0][i], slots[1][i], "parameter %d (after clearBindings: %t)", i%len(tt.values)+1, i >= len(tt.values))
			}
			if tt.rc == sqlite3.SQLITE_OK {
				require.Equal(t, want(tt.values), rows[1])
			}
		})
	}
}

// TestRunBinderReprepared binds values directly to an INSERT that is
// prepared again during its step (the schema changed after the values
// were bound): the row has the values, and clearBindings leaves every
// parameter of the new statement NULL.
func TestRunBinderReprepared(t *testing.T) {
	t.Parallel()
	tls := libc.NewTLS()
	defer tls.Close()
	db := openMemory(t, tls)
	exec(t, tls, db, `CREATE TABLE t(a TEXT, b BLOB, c INTEGER)`)
	stmt := prepare(t, tls, db, `INSERT INTO t VALUES (?, ?, ?)`)
	const size = 16
	buf := libc.Xmalloc(tls, size)
	require.NotZero(t, buf)
	b := newRunBinder(tls, db, stmt, buf, size)
	require.NotZero(t, b.vars, "directVars refused a reset statement")
	b.text("héllo", false)
	b.blob([]byte{1, 2})
	b.int(7)
	require.Equal(t, int32(sqlite3.SQLITE_OK), b.rc)
	require.Equal(t, int32(3), b.nDirect, "values set directly")
	exec(t, tls, db, `CREATE TABLE u(x)`)
	require.Equal(t, int32(sqlite3.SQLITE_DONE), sqlite3.Xsqlite3_step(tls, stmt))
	require.Equal(t, int32(1), sqlite3.Xsqlite3_stmt_status(tls, stmt, sqlite3.SQLITE_STMTSTATUS_REPREPARE, 0), "prepared again")
	require.NotEqual(t, b.vars, (*sqlite3.TVdbe)(unsafe.Add(nil, stmt)).FaVar, "the parameters of the statement prepared again")
	require.Equal(t, int32(sqlite3.SQLITE_OK), sqlite3.Xsqlite3_reset(tls, stmt))
	b.clearBindings()
	libc.Xfree(tls, buf)
	for i, m := range readSlots(stmt, 0) {
		require.Equal(t, uint16(sqlite3.MEM_Null), (*sqlite3.TMem)(unsafe.Pointer(&m[0])).Fflags, "parameter %d after clearBindings", i+1)
	}
	sel := prepare(t, tls, db, `SELECT a, b, c FROM t`)
	require.Equal(t, int32(sqlite3.SQLITE_ROW), sqlite3.Xsqlite3_step(tls, sel))
	require.Equal(t, want([]any{"héllo", []byte{1, 2}, int64(7)}), readRow(tls, sel, 3))
	require.Equal(t, int32(sqlite3.SQLITE_DONE), sqlite3.Xsqlite3_step(tls, sel))
}

// column is a value read back from a row.
type column struct {
	typ  int32
	text string
	n    int64
}

// want returns the columns values are read back as.
func want(values []any) []column {
	var cols []column
	for _, v := range values {
		switch v := v.(type) {
		case string:
			cols = append(cols, column{typ: sqlite3.SQLITE_TEXT, text: v})
		case []byte:
			cols = append(cols, column{typ: sqlite3.SQLITE_BLOB, text: string(v)})
		case nil:
			cols = append(cols, column{typ: sqlite3.SQLITE_NULL})
		case int64:
			cols = append(cols, column{typ: sqlite3.SQLITE_INTEGER, n: v})
		}
	}
	return cols
}

// readRow reads the first n columns of stmt's row.
func readRow(tls *libc.TLS, stmt uintptr, n int) []column {
	var cols []column
	for c := range int32(n) {
		got := column{typ: sqlite3.Xsqlite3_column_type(tls, stmt, c)}
		switch got.typ {
		case sqlite3.SQLITE_TEXT, sqlite3.SQLITE_BLOB:
			p := sqlite3.Xsqlite3_column_blob(tls, stmt, c)
			if n := sqlite3.Xsqlite3_column_bytes(tls, stmt, c); n > 0 {
				got.text = string(unsafe.Slice((*byte)(unsafe.Add(nil, p)), n))
			}
		case sqlite3.SQLITE_INTEGER:
			got.n = sqlite3.Xsqlite3_column_int64(tls, stmt, c)
		}
		cols = append(cols, got)
	}
	return cols
}

// readSlots returns copies of stmt's parameter values (sqlite3.TMem),
// normalised as TestRunBinderDirect says: z as its offset from base in a
// text or blob, else 0; zMalloc 0 when szMalloc is.
func readSlots(stmt, base uintptr) [][]byte {
	v := (*sqlite3.TVdbe)(unsafe.Add(nil, stmt))
	size := unsafe.Sizeof(sqlite3.TMem{})
	var slots [][]byte
	for i := range uintptr(v.FnVar) {
		b := make([]byte, size)
		copy(b, unsafe.Slice((*byte)(unsafe.Add(nil, v.FaVar+i*size)), size))
		m := (*sqlite3.TMem)(unsafe.Pointer(&b[0]))
		if m.Fflags&(sqlite3.MEM_Str|sqlite3.MEM_Blob) != 0 {
			m.Fz -= base
		} else {
			m.Fz = 0
		}
		if m.FszMalloc == 0 {
			m.FzMalloc = 0
		}
		slots = append(slots, b)
	}
	return slots
}

// poison sets every byte of stmt's parameter values but the fields
// sqlite3VdbeMakeReady sets (flags, db, szMalloc) to 0xa5.
func poison(t *testing.T, stmt uintptr) {
	v := (*sqlite3.TVdbe)(unsafe.Add(nil, stmt))
	size := unsafe.Sizeof(sqlite3.TMem{})
	for i := range uintptr(v.FnVar) {
		m := (*sqlite3.TMem)(unsafe.Add(nil, v.FaVar+i*size))
		flags, db := m.Fflags, m.Fdb
		require.Zero(t, m.FszMalloc)
		b := unsafe.Slice((*byte)(unsafe.Pointer(m)), size)
		for j := range b {
			b[j] = 0xa5
		}
		m.Fflags, m.Fdb, m.FszMalloc = flags, db, 0
	}
}

// openMemory opens a database in memory, closed when t ends.
func openMemory(t *testing.T, tls *libc.TLS) uintptr {
	name, err := libc.CString(":memory:")
	require.NoError(t, err)
	defer libc.Xfree(tls, name)
	pdb := tls.Alloc(8)
	defer tls.Free(8)
	require.Equal(t, int32(sqlite3.SQLITE_OK), sqlite3.Xsqlite3_open_v2(tls, name, pdb,
		sqlite3.SQLITE_OPEN_READWRITE|sqlite3.SQLITE_OPEN_CREATE|sqlite3.SQLITE_OPEN_FULLMUTEX, 0))
	db := *(*uintptr)(unsafe.Add(nil, pdb))
	t.Cleanup(func() { sqlite3.Xsqlite3_close_v2(tls, db) })
	return db
}

// prepare prepares query on db, finalized when t ends.
func prepare(t *testing.T, tls *libc.TLS, db uintptr, query string) uintptr {
	q, err := libc.CString(query)
	require.NoError(t, err)
	defer libc.Xfree(tls, q)
	p := tls.Alloc(8)
	defer tls.Free(8)
	require.Equal(t, int32(sqlite3.SQLITE_OK), sqlite3.Xsqlite3_prepare_v2(tls, db, q, -1, p, 0), query)
	stmt := *(*uintptr)(unsafe.Add(nil, p))
	t.Cleanup(func() { sqlite3.Xsqlite3_finalize(tls, stmt) })
	return stmt
}

// exec runs query on db.
func exec(t *testing.T, tls *libc.TLS, db uintptr, query string) {
	q, err := libc.CString(query)
	require.NoError(t, err)
	defer libc.Xfree(tls, q)
	require.Equal(t, int32(sqlite3.SQLITE_OK), sqlite3.Xsqlite3_exec(tls, db, q, 0, 0, 0), query)
}

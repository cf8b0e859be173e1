package sqlstore

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
)

// TestRunBinderDirect binds a record's kinds of values to a statement with
// runBinder, on the path that sets the parameters' values itself (the
// statement reset) and on the sqlite3_bind_* calls (the path of a
// statement directVars refuses), and reads them back: both give the same
// types and values, and clearBindings leaves every parameter NULL. It fails when a new version of the driver changes what
// directVars reads, so that the direct path is no longer taken.
func TestRunBinderDirect(t *testing.T) {
	t.Parallel()
	tls := libc.NewTLS()
	defer tls.Close()
	name, err := libc.CString(":memory:")
	require.NoError(t, err)
	defer libc.Xfree(tls, name)
	pdb := tls.Alloc(8)
	defer tls.Free(8)
	require.Equal(t, int32(sqlite3.SQLITE_OK), sqlite3.Xsqlite3_open_v2(tls, name, pdb,
		sqlite3.SQLITE_OPEN_READWRITE|sqlite3.SQLITE_OPEN_CREATE|sqlite3.SQLITE_OPEN_FULLMUTEX, 0))
	db := *(*uintptr)(unsafe.Add(nil, pdb))
	defer sqlite3.Xsqlite3_close_v2(tls, db)
	query, err := libc.CString(`SELECT ?, ?, ?, ?, ?, ?, ?`)
	require.NoError(t, err)
	defer libc.Xfree(tls, query)
	require.Equal(t, int32(sqlite3.SQLITE_OK), sqlite3.Xsqlite3_prepare_v2(tls, db, query, -1, pdb, 0))
	stmt := *(*uintptr)(unsafe.Add(nil, pdb))
	defer sqlite3.Xsqlite3_finalize(tls, stmt)

	type col struct {
		typ  int32
		text string
		n    int64
	}
	want := []col{
		{sqlite3.SQLITE_TEXT, "héllo", 0},
		{sqlite3.SQLITE_TEXT, "", 0},
		{sqlite3.SQLITE_BLOB, "\x00\x01\x02", 0},
		{sqlite3.SQLITE_BLOB, "", 0},
		{sqlite3.SQLITE_NULL, "", 0},
		{sqlite3.SQLITE_INTEGER, "", -5},
		{sqlite3.SQLITE_INTEGER, "", 1 << 40},
	}
	for _, tt := range []struct {
		name   string
		direct bool
	}{{"direct", true}, {"bind calls", false}, {"direct again", true}} {
		buf := libc.Xmalloc(tls, 64)
		require.NotZero(t, buf)
		b := runBinder{tls: tls, stmt: stmt, mem: unsafe.Slice((*byte)(unsafe.Add(nil, buf)), 64), base: buf}
		if tt.direct {
			b.vars, b.nVar, b.maxLen = directVars(db, stmt)
			require.NotZero(t, b.vars, "%s: directVars refused a reset statement", tt.name)
			require.Equal(t, int32(len(want)), b.nVar, tt.name)
		}
		b.text("héllo", false)
		b.text("", false)
		b.blob([]byte{0, 1, 2})
		b.blob([]byte{})
		b.blob(nil)
		b.int(-5)
		b.value(int64(1 << 40))
		require.Equal(t, int32(sqlite3.SQLITE_OK), b.rc, tt.name)
		require.Equal(t, int32(sqlite3.SQLITE_ROW), sqlite3.Xsqlite3_step(tls, stmt), tt.name)
		// A statement that is not reset is not bound directly.
		vars, _, _ := directVars(db, stmt)
		require.Zero(t, vars, "%s: directVars took a running statement", tt.name)
		for i, w := range want {
			c := int32(i)
			got := col{typ: sqlite3.Xsqlite3_column_type(tls, stmt, c)}
			switch got.typ {
			case sqlite3.SQLITE_TEXT, sqlite3.SQLITE_BLOB:
				p := sqlite3.Xsqlite3_column_blob(tls, stmt, c)
				if n := sqlite3.Xsqlite3_column_bytes(tls, stmt, c); n > 0 {
					got.text = string(unsafe.Slice((*byte)(unsafe.Add(nil, p)), n))
				}
			case sqlite3.SQLITE_INTEGER:
				got.n = sqlite3.Xsqlite3_column_int64(tls, stmt, c)
			}
			require.Equal(t, w, got, "%s: column %d", tt.name, i)
		}
		require.Equal(t, int32(sqlite3.SQLITE_OK), sqlite3.Xsqlite3_reset(tls, stmt), tt.name)
		clearBindings(tls, db, stmt, b.param-1)
		libc.Xfree(tls, buf)
		// Nothing stays bound.
		require.Equal(t, int32(sqlite3.SQLITE_ROW), sqlite3.Xsqlite3_step(tls, stmt), tt.name)
		for i := range want {
			require.Equal(t, int32(sqlite3.SQLITE_NULL), sqlite3.Xsqlite3_column_type(tls, stmt, int32(i)), "%s: column %d after clearBindings", tt.name, i)
		}
		require.Equal(t, int32(sqlite3.SQLITE_OK), sqlite3.Xsqlite3_reset(tls, stmt), tt.name)
	}
}

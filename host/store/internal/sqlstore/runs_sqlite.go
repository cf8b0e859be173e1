package sqlstore

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"unsafe"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/hookhost/hookhost/host/store"
	"github.com/hookhost/hookhost/host/store/internal/stmtcache"
)

// rawRunExec runs the INSERTs of runs on ex, a driver connection in a
// transaction (SQLite), with ctx rather than the context each is given
// (see inRunsTx). It binds the records' values to the statement the
// connection keeps prepared itself (stmtcache.SQLiteStmt, bindRuns);
// on a connection that is not modernc.org/sqlite's, it runs the INSERT
// with database/sql's arguments, reused from one INSERT to the next.
func (s *Store) rawRunExec(ctx context.Context, ex driver.ExecerContext) runExec {
	var (
		args  []any
		named []driver.NamedValue
	)
	return func(_ context.Context, query string, rows runRows) (int64, error) {
		var n int64
		ok, err := stmtcache.SQLiteStmt(ctx, ex, query, func(tls *libc.TLS, db, stmt uintptr) error {
			var err error
			n, err = bindRuns(tls, db, stmt, rows)
			return err
		})
		if ok {
			return n, err
		}
		args = s.appendRunArgs(args[:0], rows)
		named = named[:0]
		for i, a := range args {
			named = append(named, driver.NamedValue{Ordinal: i + 1, Value: a})
		}
		defer clear(named) // keeps no record's values
		res, err := ex.ExecContext(ctx, query, named)
		if err != nil {
			return 0, err
		}
		return res.RowsAffected()
	}
}

// bindRuns binds the values of rows (runValues) to stmt, a prepared
// INSERT of them on db, runs it, resets it and returns how many rows it
// wrote.
//
// modernc.org/sqlite's ExecContext copies each string and byte value into
// memory it allocates for that value, and frees it after the statement,
// having looked up every parameter's name and bound each freed value to
// NULL again; database/sql's arguments are interfaces, each string and
// number one more allocation. Here the values of all rows are copied into
// one buffer of the C heap, bound where they lie (SQLITE_STATIC), and the
// buffer freed once the statement is reset and its bindings cleared: a
// 64-record batch of BenchmarkRecorderWrite took 23% fewer instructions
// (callgrind: 2.87M to 2.20M) and 215 allocations instead of 680. And the
// values are set in the statement's parameters directly (directVars),
// not through sqlite3_bind_*, each of which locks and unlocks the
// connection's mutex and checks the statement again (with the changes
// to clearBindings, ValidName and norm: a 128-record batch of
// BenchmarkRecorderWrite 3.84M to 3.31M instructions, a record 27.5K to
// 23.4K).
func bindRuns(tls *libc.TLS, db, stmt uintptr, rows runRows) (n int64, err error) {
	size := 1 // never 0: a zero-length value needs a pointer that is not NULL
	for i, r := range rows.runs {
		size += int(store.RunSize(r)) + len(rows.ids[i])
	}
	buf := libc.Xmalloc(tls, libc.Tsize_t(size))
	if buf == 0 {
		return 0, sqliteError{code: sqlite3.SQLITE_NOMEM, msg: "out of memory"}
	}
	b := newRunBinder(tls, db, stmt, buf, size)
	defer func() {
		if rc := sqlite3.Xsqlite3_reset(tls, stmt); rc != sqlite3.SQLITE_OK && err == nil {
			err = sqliteErr(tls, db, rc)
		}
		// Nothing stays bound to the buffer.
		b.clearBindings()
		libc.Xfree(tls, buf)
	}()
	for i, r := range rows.runs {
		if _, ok := rows.created[i].(int64); !ok {
			return 0, fmt.Errorf("run %q: creation time %T is not the SQLite dialect's", rows.ids[i], rows.created[i])
		}
		runValues(&b, r, rows.ids[i], rows.created[i], rows.cols)
		if b.rc != sqlite3.SQLITE_OK {
			return 0, sqliteErr(tls, db, b.rc)
		}
	}
	if b.param-1 != sqlite3.Xsqlite3_bind_parameter_count(tls, stmt) {
		return 0, errors.New("the INSERT's parameters are not the records' values")
	}
	if rc := sqlite3.Xsqlite3_step(tls, stmt); rc != sqlite3.SQLITE_DONE {
		return 0, sqliteErr(tls, db, rc)
	}
	return int64(sqlite3.Xsqlite3_changes(tls, db)), nil
}

// checkedSQLite is the SQLite version (sqlite3_libversion_number) whose
// private structures runBinder's direct path (directVars) was checked
// against: checked against SQLite 3.54.1 in modernc.org/sqlite v1.61.1 by
// TestRunBinderDirect; on another version the bind calls are used until
// the test is checked and the constant updated (TestCheckedSQLite fails
// until then).
const checkedSQLite = 3054001

// directChecked is whether the linked SQLite is checkedSQLite
// (sqlite3_libversion_number returns SQLITE_VERSION_NUMBER, a constant of
// the driver's generated code).
const directChecked = sqlite3.SQLITE_VERSION_NUMBER == checkedSQLite

// runBinder binds the values runValues gives it to the parameters of stmt
// in order, from 1 (param, the next one), copying strings and bytes into
// mem, a buffer of the C heap at address base. rc is the first binding's
// failure (SQLITE_OK: none); past it, it binds nothing.
type runBinder struct {
	tls   *libc.TLS
	db    uintptr
	stmt  uintptr
	mem   []byte
	base  uintptr
	off   int
	param int32
	rc    int32

	// vars is the address of stmt's parameter values (sqlite3.TMem), nVar
	// their number, when directChecked and directVars allow binding them
	// directly (else 0), and maxLen the connection's limit on a value's
	// length. nDirect counts the values set directly (the tests check
	// which path was taken).
	vars    uintptr
	nVar    int32
	maxLen  int32
	nDirect int32
}

// newRunBinder returns a runBinder of stmt, a prepared statement of db,
// with the buffer of size bytes at buf.
func newRunBinder(tls *libc.TLS, db, stmt, buf uintptr, size int) runBinder {
	b := runBinder{
		tls: tls, db: db, stmt: stmt, mem: unsafe.Slice((*byte)(unsafe.Add(nil, buf)), size), base: buf,
		param: 1,
	}
	if directChecked {
		b.vars, b.nVar, b.maxLen = directVars(db, stmt)
	}
	return b
}

// directVars returns the address and number of stmt's parameter values
// (Vdbe.aVar, Vdbe.nVar) and the connection's limit on a value's length
// when runBinder may set them itself, as sqlite3_bind_text, _blob and
// _int64 do with SQLITE_STATIC values, but without taking the
// connection's mutex (each bind call locks and unlocks it: about a third
// of a call's instructions), and else 0: the statement must be ready to
// bind (reset), belong to db, not ask to be prepared again when a value
// changes (expmask), and db must keep text as UTF-8. The caller holds the
// connection: no other thread uses db meanwhile (database/sql gives a
// connection to one caller at a time; bindRuns runs inside its Conn.Raw).
//
// This couples hookhost to SQLite's private structures (sqlite3.TVdbe,
// Tsqlite3, TMem): runBinder writes them as sqlite3_bind_* would, that
// is vdbeUnbind (the value released, db->errCode set to SQLITE_OK)
// followed by sqlite3VdbeMemSetStr with SQLITE_STATIC (z, n, xDel 0,
// flags MEM_Str or MEM_Blob with MEM_Static, enc UTF-8) or
// sqlite3VdbeMemSetInt64 (u.i, MEM_Int). It releases nothing, so it only
// writes a value that holds nothing to release (direct: no MEM_Dyn or
// MEM_Agg, no memory of its own) and no longer than the length limit
// (else the bind call reports SQLITE_TOOBIG). TestRunBinderDirect checks
// that both paths leave the parameters byte for byte the same; the
// direct path is taken only on the SQLite version it was checked against
// (checkedSQLite).
func directVars(db, stmt uintptr) (vars uintptr, n, maxLen int32) {
	v := (*sqlite3.TVdbe)(unsafe.Add(nil, stmt))
	c := (*sqlite3.Tsqlite3)(unsafe.Add(nil, db))
	if v.Fdb != db || v.FeVdbeState != sqlite3.VDBE_READY_STATE || v.Fexpmask != 0 || c.Fenc != sqlite3.SQLITE_UTF8 || v.FaVar == 0 {
		return 0, 0, 0
	}
	return v.FaVar, int32(v.FnVar), c.FaLimit[sqlite3.SQLITE_LIMIT_LENGTH]
}

// clearBindings sets the parameters b bound (stmt reset) to NULL, as
// sqlite3_clear_bindings does (which sets every parameter, under the
// connection's mutex): directly when directVars allows it (read again: a
// statement prepared again during its step has other parameters), else
// through sqlite3_clear_bindings.
func (b *runBinder) clearBindings() {
	var (
		vars uintptr
		nVar int32
	)
	if directChecked {
		vars, nVar, _ = directVars(b.db, b.stmt)
	}
	n := b.param - 1
	if vars == 0 || n > nVar {
		sqlite3.Xsqlite3_clear_bindings(b.tls, b.stmt)
		return
	}
	for i := range n {
		m := memAt(vars, i)
		if owns(m) {
			sqlite3.Xsqlite3_clear_bindings(b.tls, b.stmt)
			return
		}
		m.Fflags = sqlite3.MEM_Null
	}
}

// memAt is the i-th (from 0) of the parameter values at vars.
func memAt(vars uintptr, i int32) *sqlite3.TMem {
	return (*sqlite3.TMem)(unsafe.Add(nil, vars+uintptr(i)*unsafe.Sizeof(sqlite3.TMem{})))
}

// owns reports whether m holds something to release (a destructor or
// memory of its own), which only sqlite3VdbeMemRelease may undo.
func owns(m *sqlite3.TMem) bool {
	return m.Fflags&(sqlite3.MEM_Agg|sqlite3.MEM_Dyn) != 0 || m.FszMalloc != 0
}

// direct returns parameter i's value (from 1), to be set to a value of n
// bytes, when it can be set directly: it holds nothing to release (no
// destructor, no memory of its own), as after sqlite3_clear_bindings or a
// SQLITE_STATIC binding, and n is within the length limit; else nil. Like
// vdbeUnbind, it sets the connection's error code to SQLITE_OK.
func (b *runBinder) direct(i int32, n int) *sqlite3.TMem {
	if b.vars == 0 || i > b.nVar || n > int(b.maxLen) {
		return nil
	}
	m := memAt(b.vars, i-1)
	if owns(m) {
		return nil
	}
	(*sqlite3.Tsqlite3)(unsafe.Add(nil, b.db)).FerrCode = sqlite3.SQLITE_OK
	b.nDirect++
	return m
}

// setStatic sets m to the text or blob (flag) of n bytes at p, as
// sqlite3VdbeMemSetStr does for a SQLITE_STATIC value.
func setStatic(m *sqlite3.TMem, flag uint16, p uintptr, n int) {
	m.Fz, m.Fn, m.FxDel = p, int32(n), 0
	m.Fflags = flag | sqlite3.MEM_Static
	m.Fenc = sqlite3.SQLITE_UTF8
}

func (b *runBinder) next() (int32, bool) {
	i := b.param
	b.param++
	return i, b.rc == sqlite3.SQLITE_OK
}

// put copies v (a string or bytes) into b's buffer and returns its address
// there; a buffer too small (which bindRuns sizes to be enough) fails the
// binding.
func put[T string | []byte](b *runBinder, v T) uintptr {
	p := b.base + uintptr(b.off)
	n := copy(b.mem[b.off:], v)
	b.off += n
	if n != len(v) {
		b.rc = sqlite3.SQLITE_NOMEM
	}
	return p
}

func (b *runBinder) text(v string, _ bool) {
	if i, ok := b.next(); ok {
		if p := put(b, v); b.rc == sqlite3.SQLITE_OK {
			if m := b.direct(i, len(v)); m != nil {
				setStatic(m, sqlite3.MEM_Str, p, len(v))
				return
			}
			b.rc = sqlite3.Xsqlite3_bind_text(b.tls, b.stmt, i, p, int32(len(v)), 0)
		}
	}
}

func (b *runBinder) blob(v []byte) {
	i, ok := b.next()
	switch {
	case !ok:
	case v == nil:
		if m := b.direct(i, 0); m != nil {
			m.Fflags = sqlite3.MEM_Null
			return
		}
		b.rc = sqlite3.Xsqlite3_bind_null(b.tls, b.stmt, i)
	default:
		if p := put(b, v); b.rc == sqlite3.SQLITE_OK {
			if m := b.direct(i, len(v)); m != nil {
				setStatic(m, sqlite3.MEM_Blob, p, len(v))
				return
			}
			b.rc = sqlite3.Xsqlite3_bind_blob(b.tls, b.stmt, i, p, int32(len(v)), 0)
		}
	}
}

func (b *runBinder) int(n int64) {
	if i, ok := b.next(); ok {
		if m := b.direct(i, 0); m != nil {
			*(*int64)(unsafe.Pointer(&m.Fu)) = n
			m.Fflags = sqlite3.MEM_Int
			return
		}
		b.rc = sqlite3.Xsqlite3_bind_int64(b.tls, b.stmt, i, n)
	}
}

func (b *runBinder) value(v any) { b.int(v.(int64)) }

// sqliteError is an error of SQLite's C API: its (extended) result code
// and message. Code makes store.IsStorageFull see a full disk.
type sqliteError struct {
	code int32
	msg  string
}

func (e sqliteError) Error() string { return fmt.Sprintf("%s (%d)", e.msg, e.code) }

// Code returns the extended result code.
func (e sqliteError) Code() int { return int(e.code) }

// sqliteErr returns the error of rc on db, with the connection's message
// and extended code when they are rc's (else rc's own).
func sqliteErr(tls *libc.TLS, db uintptr, rc int32) error {
	if code := sqlite3.Xsqlite3_extended_errcode(tls, db); code&0xff == rc&0xff {
		return sqliteError{code: code, msg: libc.GoString(sqlite3.Xsqlite3_errmsg(tls, db))}
	}
	return sqliteError{code: rc, msg: libc.GoString(sqlite3.Xsqlite3_errstr(tls, rc))}
}

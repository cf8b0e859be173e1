package stmtcache

import (
	"context"
	"database/sql/driver"
	"encoding/binary"
	"reflect"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
)

// SQLite prepares a statement again, at its next step, when a value bound
// to a parameter its plan was made with changes. SQLite 3.54 (as
// modernc.org/sqlite v1.61 builds it) reads a bound LIMIT ? to plan
// (sqlite3ExprIsInteger), so a cached statement whose LIMIT changes from
// one run to the next is parsed and planned on every run all the same:
// River's JobGetAvailable fetches LIMIT <free workers>, and re-preparing it
// was about a tenth of the server's CPU in the jobs benchmark. SQLite's
// query planner stability guarantee (SQLITE_DBCONFIG_ENABLE_QPSG) plans a
// statement without its bound values, once. Without ANALYZE's
// sqlite_stat4 and without LIKE or GLOB on a bound pattern, which hookhost
// has neither of, all it changes is that a bound LIMIT's value is not read
// to plan.
//
// modernc.org/sqlite has no API for sqlite3_db_config, so stablePlans
// reads its connection's handle with reflect; TestStablePlans fails when
// a new version of the driver moves it.

// modernc is the package path of modernc.org/sqlite's connection type.
const modernc = "modernc.org/sqlite"

// stablePlans turns on the query planner stability guarantee of a
// modernc.org/sqlite connection, and reports whether it did; it does
// nothing to other drivers' connections.
func stablePlans(c driver.Conn) bool {
	tls, db, ok := sqliteHandle(c)
	if !ok {
		return false
	}
	return dbConfig(tls, db, sqlite3.SQLITE_DBCONFIG_ENABLE_QPSG, 1) == 1
}

// sqliteHandle returns the thread state and database handle of a
// modernc.org/sqlite connection.
func sqliteHandle(c driver.Conn) (*libc.TLS, uintptr, bool) {
	v := reflect.ValueOf(c)
	if v.Kind() != reflect.Pointer || v.Type().Elem().Kind() != reflect.Struct || v.Type().Elem().PkgPath() != modernc || v.IsNil() {
		return nil, 0, false
	}
	tls, db := v.Elem().FieldByName("tls"), v.Elem().FieldByName("db")
	if !tls.IsValid() || tls.Type() != reflect.TypeFor[*libc.TLS]() || tls.IsNil() ||
		!db.IsValid() || db.Kind() != reflect.Uintptr || db.Uint() == 0 {
		return nil, 0, false
	}
	return (*libc.TLS)(tls.UnsafePointer()), uintptr(db.Uint()), true
}

// dbConfig calls sqlite3_db_config(db, op, onoff, &result) for a boolean
// op (onoff -1 only reads it) and returns the result: 0 or 1, or -1 when
// the call failed.
func dbConfig(tls *libc.TLS, db uintptr, op, onoff int32) int32 {
	// Two variadic arguments of 8 bytes each (libc.VaList's slots), then
	// the int the result is written to.
	bp := libc.Xmalloc(tls, 24)
	if bp == 0 {
		return -1
	}
	defer libc.Xfree(tls, bp)
	res := bp + 16
	if sqlite3.Xsqlite3_db_config(tls, db, op, libc.VaList(bp, onoff, res)) != sqlite3.SQLITE_OK {
		return -1
	}
	return int32(binary.NativeEndian.Uint32(libc.GoBytes(res, 4)))
}

// SQLiteStmt runs fn with the statement c keeps prepared for query, as
// modernc.org/sqlite's handles: the connection's thread state, its
// database handle and the statement handle, which fn binds, steps and
// resets itself (it must leave the statement reset, with no value bound
// that points to memory it frees). c is a driver connection of a
// Connector (sql.Conn.Raw's), held by the caller. It reports ok false,
// running nothing, when c is not one over modernc.org/sqlite or query is
// not a single statement; fn's error fails the statement as ExecContext's
// would (it is prepared again next time).
//
// modernc.org/sqlite binds each value through a copy in memory of its own,
// allocated and freed for that value, and database/sql's values are
// interfaces, each string and number one more allocation: for the run
// records' multi-row INSERTs, the largest part of their cost that is not
// SQLite's own. TestSQLiteStmt fails when a new version of the driver
// moves the statement handle.
func SQLiteStmt(ctx context.Context, c any, query string, fn func(tls *libc.TLS, db, stmt uintptr) error) (ok bool, err error) {
	cc, isConn := c.(*conn)
	if !isConn {
		return false, nil
	}
	tls, db, isSQLite := sqliteHandle(cc.inner)
	if !isSQLite {
		return false, nil
	}
	e, err := cc.take(ctx, query)
	if err != nil {
		return true, err
	}
	stmt, isStmt := sqliteStmtHandle(e.st)
	if !isStmt {
		cc.give(e, false)
		return false, nil
	}
	err = fn(tls, db, stmt)
	cc.give(e, err != nil)
	return true, err
}

// sqliteStmtHandle returns the statement handle of a modernc.org/sqlite
// statement prepared from a single statement (0 for several).
func sqliteStmtHandle(st driver.Stmt) (uintptr, bool) {
	v := reflect.ValueOf(st)
	if v.Kind() != reflect.Pointer || v.Type().Elem().Kind() != reflect.Struct || v.Type().Elem().PkgPath() != modernc || v.IsNil() {
		return 0, false
	}
	h := v.Elem().FieldByName("pstmt")
	if !h.IsValid() || h.Kind() != reflect.Uintptr || h.Uint() == 0 {
		return 0, false
	}
	return uintptr(h.Uint()), true
}

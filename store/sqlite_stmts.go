package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"reflect"
	"strconv"
	"time"

	msqlite "modernc.org/sqlite"
)

// The SQLite store's statements are prepared once per connection and kept.
//
// SQLite parses and plans a statement in this process, on the request's own
// CPU, and database/sql prepares afresh every statement it is not handed
// prepared: for the store's reads and writes that cost about as much as
// running them (issue 22). GORM's own statement cache does not help writes:
// it prepares a statement met in a transaction on that transaction, and
// database/sql closes such a statement when the transaction ends. This
// cache sits below database/sql, on the driver's connection, which is the
// same inside a transaction and out of one.

// sqliteStatements is how many statements one connection keeps prepared. A
// request runs a few dozen distinct statements at most; statements whose
// text varies with their input (IN lists) each take a place, and when the
// cache is full the statements not in use are finalized and it starts
// again.
const sqliteStatements = 256

// sqliteKeptLen is the longest statement text kept prepared. Longer ones are
// batches (uploads' multi-row INSERTs of up to about 1,000 parameters),
// whose text changes with their rows: each runs once, and kept it would
// only hold memory.
const sqliteKeptLen = 4096

// OpenSQLite returns the database/sql handle of the SQLite file dsn (as
// ParseURL returns it) names, whose connections keep their statements
// prepared (stmtCache): the store's own, and the load benchmark's raw
// baselines, which measure the store against the same driver set up the
// same way. It returns an error for a DSN the driver refuses.
func OpenSQLite(dsn string) (*sql.DB, error) {
	c, err := msqlite.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(stmtCacheConnector{Connector: c}), nil
}

// stmtCacheConnector opens the driver's connections wrapped in stmtCache.
type stmtCacheConnector struct{ driver.Connector }

func (c stmtCacheConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &stmtCache{Conn: conn, stmts: map[string]*cachedStmt{}}, nil
}

// stmtCache is a driver connection that runs each query through a
// statement it prepared for that text the first time and keeps. database/sql
// calls a connection, and the rows of its queries, under the connection's
// own lock, so the cache needs none. A
// statement whose rows are still open when its text runs again (a query
// within the iteration of another's rows) is not reset under them: that
// run prepares a statement of its own.
type stmtCache struct {
	driver.Conn
	stmts map[string]*cachedStmt
}

// cachedStmt is a kept statement; busy while rows of it are open.
type cachedStmt struct {
	driver.Stmt
	busy bool
}

// kept returns the kept statement of query, preparing it on a miss; ok is
// false when the query is to run on a statement of its own (its kept one
// is busy, or it is too long to keep). It returns the driver's error for a
// query that does not prepare, which is not kept.
func (c *stmtCache) kept(ctx context.Context, query string) (s *cachedStmt, ok bool, err error) {
	if len(query) > sqliteKeptLen {
		return nil, false, nil
	}
	if s, found := c.stmts[query]; found {
		return s, !s.busy, nil
	}
	if len(c.stmts) >= sqliteStatements {
		for q, s := range c.stmts {
			if !s.busy {
				_ = s.Stmt.Close()
				delete(c.stmts, q)
			}
		}
	}
	ds, err := c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
	if err != nil {
		return nil, false, err
	}
	s = &cachedStmt{Stmt: ds}
	c.stmts[query] = s
	return s, true, nil
}

// ExecContext runs query through its kept statement.
func (c *stmtCache) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	s, ok, err := c.kept(ctx, query)
	if err != nil {
		return nil, err
	}
	if !ok {
		return c.Conn.(driver.ExecerContext).ExecContext(ctx, query, args)
	}
	return s.Stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

// QueryContext runs query through its kept statement, which is busy until
// the rows close.
func (c *stmtCache) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	s, ok, err := c.kept(ctx, query)
	if err != nil {
		return nil, err
	}
	if !ok {
		return c.Conn.(driver.QueryerContext).QueryContext(ctx, query, args)
	}
	r, err := s.Stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		return nil, err
	}
	s.busy = true
	return &cachedRows{Rows: r, stmt: s}, nil
}

// PrepareContext prepares a statement of the caller's own: database/sql
// closes what it prepared, so it is not one of the kept ones.
func (c *stmtCache) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
}

func (c *stmtCache) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

func (c *stmtCache) Ping(ctx context.Context) error {
	if p, ok := c.Conn.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (c *stmtCache) ResetSession(ctx context.Context) error {
	if r, ok := c.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *stmtCache) IsValid() bool {
	if v, ok := c.Conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

// Close finalizes the kept statements and closes the connection.
func (c *stmtCache) Close() error {
	var errs []error
	for q, s := range c.stmts {
		errs = append(errs, s.Stmt.Close())
		delete(c.stmts, q)
	}
	return errors.Join(append(errs, c.Conn.Close())...)
}

// cachedRows are the rows of a kept statement, which they free when they
// close. They pass on the column types the driver reports.
type cachedRows struct {
	driver.Rows
	stmt *cachedStmt
}

func (r *cachedRows) Close() error {
	err := r.Rows.Close()
	r.stmt.busy = false
	return err
}

func (r *cachedRows) ColumnTypeDatabaseTypeName(i int) string {
	if t, ok := r.Rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return t.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}

func (r *cachedRows) ColumnTypeScanType(i int) reflect.Type {
	if t, ok := r.Rows.(driver.RowsColumnTypeScanType); ok {
		return t.ColumnTypeScanType(i)
	}
	return reflect.TypeFor[any]()
}

func (r *cachedRows) ColumnTypeNullable(i int) (nullable, ok bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeNullable); ok {
		return t.ColumnTypeNullable(i)
	}
	return false, false
}

func (r *cachedRows) ColumnTypeLength(i int) (length int64, ok bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeLength); ok {
		return t.ColumnTypeLength(i)
	}
	return 0, false
}

func (r *cachedRows) ColumnTypePrecisionScale(i int) (precision, scale int64, ok bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypePrecisionScale); ok {
		return t.ColumnTypePrecisionScale(i)
	}
	return 0, 0, false
}

// sqliteTimeLayout is how the driver writes a time on SQLite
// (_time_format=sqlite, see ParseURL), and so how started_at and the other
// time columns read as text.
const sqliteTimeLayout = "2006-01-02 15:04:05.999999999-07:00"

// sqlInt and sqliteTime write a number or a time the store chose (never a
// client's text) into a SQLite statement as a literal. SQLite compiles a
// statement again before each run when a parameter it binds is compared
// with an indexed column that ANALYZE's sqlite_stat4 has samples of (the
// value might change the plan), so a kept statement with such parameters
// is parsed and planned on every call: a deep REVE page took 1.3 ms of CPU
// on an analyzed database, 0.8 ms with its sqlite_stat4 emptied (make
// bench, small scale). A literal is planned once per text and the
// statement kept (see stmtCache).
func sqlInt(n int64) string { return strconv.FormatInt(n, 10) }

// sqliteTime is sqlInt for a time: a quoted literal in sqliteTimeLayout,
// in UTC as the store writes its times.
func sqliteTime(t time.Time) string {
	return "'" + t.UTC().Format(sqliteTimeLayout) + "'"
}

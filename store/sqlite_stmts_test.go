package store

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// mustStmtCacheDB opens a SQLite file through OpenSQLite with one
// connection, as the store does, with a table t of the rows 1, 2 and 3.
func mustStmtCacheDB(tb testing.TB) *sql.DB {
	tb.Helper()
	_, dsn, err := ParseURL("sqlite:" + filepath.Join(tb.TempDir(), "stmts.db"))
	if err != nil {
		tb.Fatal(err)
	}
	db, err := OpenSQLite(dsn)
	if err != nil {
		tb.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	tb.Cleanup(func() { db.Close() })
	if _, err := db.Exec(`CREATE TABLE t (x INTEGER NOT NULL); INSERT INTO t (x) VALUES (1), (2), (3)`); err != nil {
		tb.Fatal(err)
	}
	return db
}

// kept returns the statement texts the connection of db keeps prepared.
func kept(tb testing.TB, db *sql.DB) map[string]bool {
	tb.Helper()
	conn, err := db.Conn(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close()
	out := map[string]bool{}
	if err := conn.Raw(func(dc any) error {
		for q := range dc.(*stmtCache).stmts {
			out[q] = true
		}
		return nil
	}); err != nil {
		tb.Fatal(err)
	}
	return out
}

func sum(tb testing.TB, q interface {
	Query(string, ...any) (*sql.Rows, error)
}, query string, args ...any) int64 {
	tb.Helper()
	rows, err := q.Query(query, args...)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	var total int64
	for rows.Next() {
		var x int64
		if err := rows.Scan(&x); err != nil {
			tb.Fatal(err)
		}
		total += x
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	return total
}

func TestStmtCache_Query(t *testing.T) {
	const q = `SELECT x FROM t WHERE x >= ? ORDER BY x`
	tests := []struct {
		name string
		run  func(t *testing.T, db *sql.DB)
		keep map[string]bool // texts kept afterwards (among others)
		drop []string        // texts not kept afterwards
	}{
		{"a query runs again on its kept statement with new arguments", func(t *testing.T, db *sql.DB) {
			for _, c := range []struct{ from, want int64 }{{1, 6}, {2, 5}, {3, 3}, {4, 0}} {
				if got := sum(t, db, q, c.from); got != c.want {
					t.Errorf("sum from %d = %d, want %d", c.from, got, c.want)
				}
			}
		}, map[string]bool{q: true}, nil},
		{"a write inside a transaction keeps its statement for the next", func(t *testing.T, db *sql.DB) {
			for range 2 {
				tx, err := db.Begin()
				if err != nil {
					t.Fatal(err)
				}
				if _, err := tx.Exec(`INSERT INTO t (x) VALUES (?)`, 10); err != nil {
					t.Fatal(err)
				}
				if err := tx.Commit(); err != nil {
					t.Fatal(err)
				}
			}
			if got := sum(t, db, q, 10); got != 20 {
				t.Errorf("sum of the inserted rows = %d, want 20", got)
			}
		}, map[string]bool{`INSERT INTO t (x) VALUES (?)`: true}, nil},
		{"the same query within the iteration of its own rows", func(t *testing.T, db *sql.DB) {
			tx, err := db.Begin()
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback()
			rows, err := tx.Query(q, 1)
			if err != nil {
				t.Fatal(err)
			}
			var outer, inner int64
			for rows.Next() {
				var x int64
				if err := rows.Scan(&x); err != nil {
					t.Fatal(err)
				}
				outer += x
				inner += sum(t, tx, q, x)
			}
			if err := rows.Close(); err != nil {
				t.Fatal(err)
			}
			// 1+2+3, and (1+2+3) + (2+3) + 3: the inner runs did not reset
			// the outer one's statement under its rows.
			if outer != 6 || inner != 14 {
				t.Errorf("outer %d inner %d, want 6 and 14", outer, inner)
			}
		}, map[string]bool{q: true}, nil},
		{"a script of several statements runs whole", func(t *testing.T, db *sql.DB) {
			if _, err := db.Exec(`INSERT INTO t (x) VALUES (100); INSERT INTO t (x) VALUES (200)`); err != nil {
				t.Fatal(err)
			}
			if got := sum(t, db, q, 100); got != 300 {
				t.Errorf("sum = %d, want 300", got)
			}
		}, nil, nil},
		{"a statement that does not prepare is not kept", func(t *testing.T, db *sql.DB) {
			if _, err := db.Query(`SELECT nothing FROM nowhere`); err == nil {
				t.Fatal("a query of a missing table did not fail")
			}
		}, nil, []string{`SELECT nothing FROM nowhere`}},
		{"a statement longer than sqliteKeptLen is run, not kept", func(t *testing.T, db *sql.DB) {
			if got := sum(t, db, longQuery); got != 6 {
				t.Errorf("sum = %d, want 6", got)
			}
		}, nil, []string{longQuery}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := mustStmtCacheDB(t)
			tt.run(t, db)
			got := kept(t, db)
			for q := range tt.keep {
				if !got[q] {
					t.Errorf("%q is not kept", q)
				}
			}
			for _, q := range tt.drop {
				if got[q] {
					t.Errorf("%.60q is kept", q)
				}
			}
		})
	}
}

// longQuery is a query longer than sqliteKeptLen.
var longQuery = `SELECT x FROM t WHERE x > 0` + strings.Repeat(" AND x > 0", sqliteKeptLen/10)

// TestStmtCache_Full checks that a connection keeps at most sqliteStatements
// statements, and that queries still answer once it has started again.
func TestStmtCache_Full(t *testing.T) {
	db := mustStmtCacheDB(t)
	for i := range sqliteStatements + 10 {
		if got := sum(t, db, fmt.Sprintf(`SELECT x FROM t WHERE x <> %d`, 1000+i)); got != 6 {
			t.Fatalf("query %d: sum %d, want 6", i, got)
		}
	}
	if n := len(kept(t, db)); n > sqliteStatements || n == 0 {
		t.Errorf("%d statements kept, want 1 to %d", n, sqliteStatements)
	}
}

// TestStmtCache_FailedCommit checks that a COMMIT SQLite refuses leaves the
// connection out of the transaction, through the statement cache. SQLite
// keeps a transaction open when its COMMIT fails (here on a deferred foreign
// key), while database/sql counts the transaction ended and hands the
// connection on: were it left open, every write after it on the store's one
// SQLite connection would fail to begin. The driver rolls such a transaction
// back (modernc.org/sqlite's tx.Commit); the store relies on it.
func TestStmtCache_FailedCommit(t *testing.T) {
	db := mustStmtCacheDB(t)
	ctx := t.Context()
	if _, err := db.ExecContext(ctx, `PRAGMA foreign_keys = ON;
		CREATE TABLE parent (id INTEGER PRIMARY KEY);
		CREATE TABLE child (parent_id INTEGER NOT NULL REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)`); err != nil {
		t.Fatal(err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO child (parent_id) VALUES (99)`); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err == nil {
		t.Fatal("a commit with a dangling deferred foreign key succeeded")
	}
	tx, err = db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatalf("begin after the failed commit: %v", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO t (x) VALUES (4)`); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatalf("commit after the failed commit: %v", err)
	}
	var children int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM child`).Scan(&children); err != nil || children != 0 {
		t.Errorf("%d child rows (%v) after the failed commit, want 0", children, err)
	}
}

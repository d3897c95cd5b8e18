package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver of the admin pool

	"switchboard/store"
)

// suite is the one package-level variable of storetest, against the
// project's rule, for two reasons: the helpers are called from tests with
// only a testing.TB, which carries nothing per process, and Main must find
// what they made to remove it when the package's tests end. What it holds
// is per process by nature: one probe of PostgreSQL, one admin pool, the
// package's schemas and its SQLite template. Only tests import this package.
var suite = &process{}

// process is what one test process shares: see suite.
type process struct {
	probeOnce sync.Once
	pg        probe

	mu      sync.Mutex
	main    bool              // Main runs the tests: pooled schemas and the template are cleaned up at exit
	free    []string          // emptied, migrated schemas for the next MustOpen
	owned   []string          // every schema MustOpen made, dropped at exit
	shapes  map[string]string // a pooled schema's fingerprint when it was migrated
	tmpDir  string            // holds the SQLite template
	tmpl    string            // the migrated SQLite template file
	tmplErr error
}

// probe is the outcome of the process's one look at PostgreSQL.
type probe struct {
	url   string
	admin *sql.DB // at most adminConns connections, for schemas; nil when err is set
	err   error
}

// probe opens the admin pool and pings the server, once per process, and
// returns what it found.
func (p *process) probe() probe {
	p.probeOnce.Do(func() {
		u := os.Getenv(EnvURL)
		if u == "" {
			u = localURL
		}
		p.pg.url = u
		db, err := sql.Open("pgx", u)
		if err != nil {
			p.pg.err = err
			return
		}
		db.SetMaxOpenConns(adminConns)
		db.SetMaxIdleConns(adminConns)
		// Generous: a busy machine answers slowly, and a wrong skip hides tests.
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := db.PingContext(ctx); err != nil {
			db.Close()
			p.pg.err = err
			return
		}
		p.pg.admin = db
	})
	return p.pg
}

func (p *process) underMain() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.main
}

// Main runs the package's tests and exits with their code; a package whose
// tests open stores calls it from TestMain. Under it, MustOpen hands out a
// migrated SQLite file copied from one template and PostgreSQL schemas that
// are migrated once and emptied with TRUNCATE between tests, and everything
// is removed at exit.
func Main(m *testing.M) {
	os.Exit(Run(m))
}

// Run is Main for a TestMain with clean-up of its own: it runs the tests,
// removes what the helpers made, and returns the exit code.
func Run(m *testing.M) int {
	suite.mu.Lock()
	suite.main = true
	suite.mu.Unlock()
	code := m.Run()
	if err := suite.close(); err != nil {
		fmt.Fprintf(os.Stderr, "storetest: %v\n", err)
	}
	return code
}

// close drops the pooled schemas, removes the template and closes the admin
// pool. It returns the errors joined.
func (p *process) close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var errs []error
	if p.pg.admin != nil {
		for _, s := range p.owned {
			if err := dropSchema(p.pg.admin, s); err != nil {
				errs = append(errs, err)
			}
		}
		p.owned, p.free = nil, nil
	}
	if p.tmpDir != "" {
		if err := os.RemoveAll(p.tmpDir); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// mustPooledStore returns a store on an emptied, migrated schema of the
// package's (or of a new schema, which MustOpenURL then migrates), given back
// to the pool when the test ends.
func mustPooledStore(tb testing.TB) *store.Store {
	tb.Helper()
	admin, base := mustPostgres(tb)
	schema, fresh, err := suite.take(admin)
	if err != nil {
		tb.Fatal(err)
	}
	// Registered before the store's Close, so it runs after it.
	tb.Cleanup(func() { suite.giveBack(admin, schema) })
	s := MustOpenURL(tb, schemaURL(tb, base, schema))
	if fresh {
		shape, err := fingerprint(admin, schema)
		if err != nil {
			tb.Fatal(err)
		}
		suite.mu.Lock()
		suite.shapes[schema] = shape
		suite.mu.Unlock()
	}
	return s
}

// take returns a free schema, or a new one (fresh true) that it records as
// the package's.
func (p *process) take(admin *sql.DB) (schema string, fresh bool, err error) {
	p.mu.Lock()
	if n := len(p.free); n > 0 {
		schema = p.free[n-1]
		p.free = p.free[:n-1]
		p.mu.Unlock()
		return schema, false, nil
	}
	p.mu.Unlock()
	if schema, err = createSchema(admin); err != nil {
		return "", false, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.owned = append(p.owned, schema)
	if p.shapes == nil {
		p.shapes = map[string]string{}
	}
	return schema, true, nil
}

// giveBack empties the schema with TRUNCATE and returns it to the pool. A
// schema whose tables, columns, constraints, triggers or functions a test
// changed, or that does not empty within a few seconds, is not reused; it
// is dropped at exit with the others.
func (p *process) giveBack(admin *sql.DB, schema string) {
	p.mu.Lock()
	want := p.shapes[schema]
	p.mu.Unlock()
	if want == "" {
		return
	}
	if got, err := fingerprint(admin, schema); err != nil || got != want {
		return
	}
	if err := truncate(admin, schema); err != nil {
		return
	}
	p.mu.Lock()
	p.free = append(p.free, schema)
	p.mu.Unlock()
}

// createSchema creates a schema with a random name and returns the name.
func createSchema(admin *sql.DB) (string, error) {
	var buf [8]byte
	if _, err := rand.Read(buf[:]); err != nil {
		return "", err
	}
	schema := "sbtest_" + hex.EncodeToString(buf[:])
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		return "", fmt.Errorf("create schema: %w", err)
	}
	return schema, nil
}

// dropSchema drops the schema and everything in it.
func dropSchema(admin *sql.DB, schema string) error {
	if _, err := admin.Exec("DROP SCHEMA IF EXISTS " + schema + " CASCADE"); err != nil {
		return fmt.Errorf("drop schema %s: %w", schema, err)
	}
	return nil
}

// truncate empties every table of the schema but schema_migrations and
// restarts its sequences, so that the next test sees a freshly migrated
// database. It gives up when a table stays locked for 5 s.
func truncate(admin *sql.DB, schema string) error {
	ctx := context.Background()
	rows, err := admin.QueryContext(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = $1 AND tablename <> 'schema_migrations'`, schema)
	if err != nil {
		return err
	}
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return err
		}
		tables = append(tables, schema+"."+t)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if len(tables) == 0 {
		return nil
	}
	tx, err := admin.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`SET LOCAL lock_timeout = '5s'`); err != nil {
		return err
	}
	if _, err := tx.Exec("TRUNCATE " + strings.Join(tables, ", ") + " RESTART IDENTITY CASCADE"); err != nil {
		return fmt.Errorf("truncate %s: %w", schema, err)
	}
	return tx.Commit()
}

// fingerprint returns a digest of the schema's shape: its tables, indexes
// and sequences, columns, constraints, triggers and functions, and how many
// migrations it has applied.
func fingerprint(admin *sql.DB, schema string) (string, error) {
	var fp string
	err := admin.QueryRow(`SELECT md5(coalesce(string_agg(x, ',' ORDER BY x), '')) || ':' ||
		(SELECT count(*) FROM `+schema+`.schema_migrations)
		FROM (
			SELECT 'r:' || c.relname || ':' || c.relkind::text FROM pg_class c WHERE c.relnamespace = $1::regnamespace
			UNION ALL
			SELECT 'a:' || c.relname || '.' || a.attname || ':' || format_type(a.atttypid, a.atttypmod) || ':' || a.attnotnull::text
				FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
				WHERE c.relnamespace = $1::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
			UNION ALL
			SELECT 'k:' || conname FROM pg_constraint WHERE connamespace = $1::regnamespace
			UNION ALL
			SELECT 't:' || t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE c.relnamespace = $1::regnamespace
			UNION ALL
			SELECT 'p:' || proname FROM pg_proc WHERE pronamespace = $1::regnamespace
		) s(x)`, schema).Scan(&fp)
	if err != nil {
		return "", fmt.Errorf("fingerprint %s: %w", schema, err)
	}
	return fp, nil
}

// mustSQLiteCopy returns the URL of a copy of the migrated SQLite template
// in the test's temporary folder.
func mustSQLiteCopy(tb testing.TB) string {
	tb.Helper()
	tmpl, err := suite.template()
	if err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(tb.TempDir(), "test.db")
	if err := copyFile(tmpl, path); err != nil {
		tb.Fatal(err)
	}
	return "sqlite:" + path
}

// template returns the path of a migrated SQLite database with no rows,
// made on first use, or the error of making it.
func (p *process) template() (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tmpl != "" || p.tmplErr != nil {
		return p.tmpl, p.tmplErr
	}
	p.tmpl, p.tmplErr = p.makeTemplate()
	return p.tmpl, p.tmplErr
}

func (p *process) makeTemplate() (string, error) {
	dir, err := os.MkdirTemp("", "storetest-sqlite")
	if err != nil {
		return "", err
	}
	p.tmpDir = dir
	path := filepath.Join(dir, "template.db")
	ctx := context.Background()
	s, err := store.Open(ctx, "sqlite:"+path, store.Options{})
	if err != nil {
		return "", fmt.Errorf("open sqlite template: %w", err)
	}
	if _, err := s.Migrate(ctx); err != nil {
		s.Close()
		return "", fmt.Errorf("migrate sqlite template: %w", err)
	}
	// Everything into the main file, so that copying it alone is enough.
	if err := s.GORM().Exec("PRAGMA wal_checkpoint(TRUNCATE)").Error; err != nil {
		s.Close()
		return "", fmt.Errorf("checkpoint sqlite template: %w", err)
	}
	if err := s.Close(); err != nil {
		return "", fmt.Errorf("close sqlite template: %w", err)
	}
	return path, nil
}

func copyFile(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}

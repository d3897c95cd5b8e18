// Package storetest gives tests a fresh, migrated store on every backend the
// suite runs on, plus small fixtures. Only tests import it.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"switchboard/models"
	"switchboard/store"
)

// Environment variables that steer the PostgreSQL tests.
const (
	// EnvURL names the PostgreSQL server to test against; without it the suite
	// tries the local server on 127.0.0.1:5432.
	EnvURL = "SWITCHBOARD_TEST_DATABASE_URL"
	// EnvRequire, set to 1, turns an unreachable PostgreSQL into a failure
	// instead of a skip (CI sets it).
	EnvRequire = "SWITCHBOARD_TEST_REQUIRE_POSTGRES"
)

const localURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// Connection bounds of the stores the helpers open: small, so that a test
// process stays well inside PostgreSQL's default 100 connections even with
// two packages running at once and another client holding most of them.
const (
	maxOpenConns = 3
	bulkConns    = 2
	adminConns   = 2
)

// Postgres returns the URL of the PostgreSQL server the suite tests against
// (EnvURL, else the local server) and nil when it answers, or the error of
// opening or pinging it. The server is probed once per process.
func Postgres() (string, error) {
	p := suite.probe()
	return p.url, p.err
}

// Backends returns the backends to run on: SQLite always, PostgreSQL when it
// answers. When PostgreSQL is required (EnvRequire=1) and does not answer, the
// test fails with the probe's error.
func Backends(tb testing.TB) []store.Backend {
	tb.Helper()
	u, err := Postgres()
	if err == nil {
		return []store.Backend{store.SQLite, store.Postgres}
	}
	if os.Getenv(EnvRequire) == "1" {
		tb.Fatalf("PostgreSQL is required (%s=1) but does not answer at %s: %v", EnvRequire, redact(u), err)
	}
	tb.Logf("PostgreSQL does not answer at %s (%v): running on SQLite only", redact(u), err)
	return []store.Backend{store.SQLite}
}

// mustPostgres returns the admin pool of the PostgreSQL server and its URL.
// When the server does not answer it fails the test if PostgreSQL is
// required (EnvRequire=1) and skips it otherwise, with the probe's error.
func mustPostgres(tb testing.TB) (*sql.DB, string) {
	tb.Helper()
	p := suite.probe()
	if p.err != nil {
		if os.Getenv(EnvRequire) == "1" {
			tb.Fatalf("PostgreSQL is required (%s=1) but does not answer at %s: %v", EnvRequire, redact(p.url), p.err)
		}
		tb.Skipf("PostgreSQL does not answer at %s: %v", redact(p.url), p.err)
	}
	return p.admin, p.url
}

// ForEachBackend runs fn as a subtest per backend, each with a fresh store.
func ForEachBackend(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	t.Helper()
	for _, b := range Backends(t) {
		t.Run(string(b), func(t *testing.T) {
			fn(t, MustOpen(t, b))
		})
	}
}

// MustURL returns the URL of a fresh database on the backend with no tables
// at all (a file in a temporary folder for SQLite, a new schema for
// PostgreSQL), removed when the test ends. Tests that need a migrated store
// take MustOpen, which is cheaper.
func MustURL(tb testing.TB, b store.Backend) string {
	tb.Helper()
	switch b {
	case store.SQLite:
		return "sqlite:" + filepath.Join(tb.TempDir(), "test.db")
	case store.Postgres:
		admin, base := mustPostgres(tb)
		schema, err := createSchema(admin)
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() {
			if err := dropSchema(admin, schema); err != nil {
				tb.Error(err)
			}
		})
		return schemaURL(tb, base, schema)
	}
	tb.Fatalf("unknown backend %q", b)
	return ""
}

// MustOpen returns a migrated store with no rows on the backend, closed when
// the test ends; no other test sees its rows. Under Main it comes from a
// migrated SQLite file copied per test, or a PostgreSQL schema of the
// package's that the previous test emptied with TRUNCATE; without Main, from
// a database migrated for the test.
func MustOpen(tb testing.TB, b store.Backend) *store.Store {
	tb.Helper()
	if !suite.underMain() {
		return MustOpenURL(tb, MustURL(tb, b))
	}
	switch b {
	case store.SQLite:
		return MustOpenURL(tb, mustSQLiteCopy(tb))
	case store.Postgres:
		return mustPooledStore(tb)
	}
	tb.Fatalf("unknown backend %q", b)
	return nil
}

// MustOpenURL opens and migrates the store at the URL with a small pool,
// closed when the test ends.
func MustOpenURL(tb testing.TB, u string) *store.Store {
	tb.Helper()
	ctx := context.Background()
	s, err := store.Open(ctx, u, store.Options{MaxOpenConns: maxOpenConns, BulkConns: bulkConns})
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(ctx); err != nil {
		tb.Fatalf("migrate: %v", err)
	}
	return s
}

// schemaURL returns base with its search_path set to schema and, unless
// base sets it, synchronous_commit off: a commit then does not wait for its
// WAL to reach the disk, which only a crash of the PostgreSQL server could
// tell, and the tests' thousands of small transactions stop waiting on fsync.
func schemaURL(tb testing.TB, base, schema string) string {
	tb.Helper()
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	if q.Get("synchronous_commit") == "" {
		q.Set("synchronous_commit", "off")
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// redact returns the URL without its password, for messages.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// MustAccount creates an account named name in UTC.
func MustAccount(tb testing.TB, s *store.Store, name string) models.Account {
	tb.Helper()
	a, err := s.CreateAccount(context.Background(), store.NewAccount{Name: name})
	if err != nil {
		tb.Fatalf("create account: %v", err)
	}
	return a
}

// MustAgent creates an agent of the account with the role and a password hash.
func MustAgent(tb testing.TB, s *store.Store, accountID int64, email string, role models.Role, passwordHash string) models.Agent {
	tb.Helper()
	a, err := s.CreateAgent(context.Background(), accountID, store.NewAgent{
		Email: email, PasswordHash: passwordHash, Role: role, FirstName: "First " + email, LastName: "Last",
	})
	if err != nil {
		tb.Fatalf("create agent: %v", err)
	}
	return a
}

// MustDepartment creates a department of the account named name.
func MustDepartment(tb testing.TB, s *store.Store, accountID int64, name string) models.Department {
	tb.Helper()
	d, err := s.CreateDepartment(context.Background(), accountID, name)
	if err != nil {
		tb.Fatalf("create department: %v", err)
	}
	return d
}

// MustContact creates a contact of the account.
func MustContact(tb testing.TB, s *store.Store, accountID int64, name, email, phone string) models.Contact {
	tb.Helper()
	c, err := s.CreateContact(context.Background(), accountID, store.NewContact{Name: name, Email: email, Phone: phone})
	if err != nil {
		tb.Fatalf("create contact: %v", err)
	}
	return c
}

// MustOfflineCase creates an offline message of the contact received at at.
func MustOfflineCase(tb testing.TB, s *store.Store, accountID, contactID int64, subject, message string, at time.Time) models.Case {
	tb.Helper()
	c, err := s.CreateOfflineCase(context.Background(), accountID, store.NewOfflineCase{
		ContactID: contactID, Subject: subject, Message: message, ReceivedAt: at,
	})
	if err != nil {
		tb.Fatalf("create offline case: %v", err)
	}
	return c
}

// MustReply adds an agent's message to the case at at.
func MustReply(tb testing.TB, s *store.Store, accountID, caseID, agentID int64, text string, at time.Time) models.Message {
	tb.Helper()
	m, err := s.AddMessage(context.Background(), accountID, caseID, store.NewMessage{
		Sender: models.SenderAgent, AgentID: &agentID, Kind: models.KindMessage, Text: text, At: at,
	})
	if err != nil {
		tb.Fatalf("add reply: %v", err)
	}
	return m.Message
}

// Name returns a unique-enough name for fixtures: prefix plus random hex.
func Name(prefix string) string {
	var buf [4]byte
	_, _ = rand.Read(buf[:])
	return fmt.Sprintf("%s%s", prefix, hex.EncodeToString(buf[:]))
}

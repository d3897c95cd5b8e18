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

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver for the schema set-up

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

// PostgresURL returns the server URL the suite uses and whether it answers.
func PostgresURL() (string, bool) {
	u := os.Getenv(EnvURL)
	if u == "" {
		u = localURL
	}
	db, err := sql.Open("pgx", u)
	if err != nil {
		return u, false
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	return u, db.PingContext(ctx) == nil
}

// Backends returns the backends to run on: SQLite always, PostgreSQL when it
// answers. When PostgreSQL is required (EnvRequire=1) and does not answer, the
// test fails.
func Backends(tb testing.TB) []store.Backend {
	tb.Helper()
	if _, ok := PostgresURL(); ok {
		return []store.Backend{store.SQLite, store.Postgres}
	}
	if os.Getenv(EnvRequire) == "1" {
		tb.Fatalf("PostgreSQL is required (%s=1) but does not answer at %s", EnvRequire, os.Getenv(EnvURL))
	}
	tb.Logf("PostgreSQL does not answer: running on SQLite only")
	return []store.Backend{store.SQLite}
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

// MustURL returns the URL of a fresh, empty database on the backend (a file
// in a temporary folder for SQLite, a new schema for PostgreSQL), removed when
// the test ends.
func MustURL(tb testing.TB, b store.Backend) string {
	tb.Helper()
	switch b {
	case store.SQLite:
		return "sqlite:" + filepath.Join(tb.TempDir(), "test.db")
	case store.Postgres:
		base, ok := PostgresURL()
		if !ok {
			tb.Fatalf("PostgreSQL does not answer at %s", base)
		}
		var buf [8]byte
		if _, err := rand.Read(buf[:]); err != nil {
			tb.Fatal(err)
		}
		schema := "sbtest_" + hex.EncodeToString(buf[:])
		db, err := sql.Open("pgx", base)
		if err != nil {
			tb.Fatal(err)
		}
		defer db.Close()
		if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
			tb.Fatalf("create schema: %v", err)
		}
		tb.Cleanup(func() {
			db, err := sql.Open("pgx", base)
			if err != nil {
				tb.Errorf("drop schema: %v", err)
				return
			}
			defer db.Close()
			if _, err := db.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
				tb.Errorf("drop schema %s: %v", schema, err)
			}
		})
		u, err := url.Parse(base)
		if err != nil {
			tb.Fatal(err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	tb.Fatalf("unknown backend %q", b)
	return ""
}

// MustOpen returns a migrated store on a fresh database of the backend,
// closed when the test ends.
func MustOpen(tb testing.TB, b store.Backend) *store.Store {
	tb.Helper()
	return MustOpenURL(tb, MustURL(tb, b))
}

// MustOpenURL opens and migrates the store at the URL, closed when the test ends.
func MustOpenURL(tb testing.TB, u string) *store.Store {
	tb.Helper()
	ctx := context.Background()
	s, err := store.Open(ctx, u, store.Options{})
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(ctx); err != nil {
		tb.Fatalf("migrate: %v", err)
	}
	return s
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

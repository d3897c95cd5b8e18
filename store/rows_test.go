package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/schema"

	"switchboard/models"
)

// TestColumns_MatchModels checks that each explicit column list of the hot
// paths names its model's columns, every one and in field order, so that a
// field added to a model cannot be left out of (or scanned into the wrong
// place by) scanCase, scanAgent, scanContact or insertMessage.
func TestColumns_MatchModels(t *testing.T) {
	tests := []struct {
		name   string
		model  any
		fields string
		skipID bool
	}{
		{"case", &models.Case{}, caseFields, false},
		{"agent", &models.Agent{}, agentFields, false},
		{"contact", &models.Contact{}, contactFields, false},
		{"message insert", &models.Message{}, messageInsertFields, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sch, err := schema.Parse(tt.model, &sync.Map{}, schema.NamingStrategy{})
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, f := range sch.Fields {
				if f.DBName == "" || (tt.skipID && f.PrimaryKey) {
					continue
				}
				want = append(want, f.DBName)
			}
			var got []string
			for _, c := range strings.Split(tt.fields, ",") {
				got = append(got, strings.TrimSpace(c))
			}
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("columns\n got %v\nwant %v", got, want)
			}
		})
	}
}

// TestGormLogger_Statements checks what the slow-query and failed-query log
// shows: the SQLite statements the store sends past GORM (execIn, rowIn, the
// page walk's) as GORM's own, and every statement with its placeholders, not
// its values. Its logger counts every statement as slow, so that nothing
// here depends on how long one takes.
func TestGormLogger_Statements(t *testing.T) {
	s, err := Open(t.Context(), "sqlite:"+filepath.Join(t.TempDir(), "trace.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	// Two days of offline cases in account 1, for the page walk.
	if err := s.db.Exec(`INSERT INTO accounts (id, name, timezone, created_at, updated_at) VALUES (1, 'A', 'UTC', ?, ?);
		INSERT INTO case_day_counts (account_id, channel, day, n) VALUES (1, 'offline', 10, 3), (1, 'offline', 11, 2)`,
		time.Now(), time.Now()).Error; err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	db := s.db.Session(&gorm.Session{Logger: &gormLogger{log: log, slow: -1}})

	if err := execIn(db, `CREATE TABLE traced (x INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	type logged struct{ Msg, SQL string }
	tests := []struct {
		name string
		run  func(db *gorm.DB) error
		want []logged
	}{
		{"through GORM", func(db *gorm.DB) error { return db.Exec(`INSERT INTO traced (x) VALUES (?)`, 12345).Error },
			[]logged{{"slow query", `INSERT INTO traced (x) VALUES (?)`}}},
		{"through GORM, failing", func(db *gorm.DB) error {
			if err := db.Exec(`INSERT INTO no_such_table (x) VALUES (?)`, "secret@example.com").Error; err == nil {
				return errors.New("no error from a missing table")
			}
			return nil
		}, []logged{{"query failed", `INSERT INTO no_such_table (x) VALUES (?)`}}},
		{"exec", func(db *gorm.DB) error { return execIn(db, `INSERT INTO traced (x) VALUES (?), (?)`, 1, 2) },
			[]logged{{"slow query", `INSERT INTO traced (x) VALUES (?), (?)`}}},
		{"exec that fails", func(db *gorm.DB) error {
			if err := execIn(db, `INSERT INTO no_such_table (x) VALUES (?)`, 1); err == nil {
				return errors.New("no error from a missing table")
			}
			return nil
		}, []logged{{"query failed", `INSERT INTO no_such_table (x) VALUES (?)`}}},
		{"row", func(db *gorm.DB) error {
			_, err := rowIn(db, scanID, `SELECT x FROM traced WHERE x = ?`, 2)
			return err
		}, []logged{{"slow query", `SELECT x FROM traced WHERE x = ?`}}},
		{"page walk", func(db *gorm.DB) error {
			d, ok, err := findPageDay(db, 1, dayCounts{channel: models.ChannelOffline}, 3, 1<<62)
			if want := (pageDay{end: time.Unix(11*secondsPerDay, 0).UTC(), n: 3, skip: 1}); err == nil && (!ok || d != want) {
				return fmt.Errorf("row 3 is at %+v (%v), want %+v", d, ok, want)
			}
			return err
		}, []logged{
			{"slow query", `SELECT COALESCE(SUM(n), 0) FROM case_day_counts WHERE account_id = 1 AND channel = 'offline' AND day < 4611686018427387904 AND n > 0`},
			{"slow query", `SELECT day, n FROM case_day_counts WHERE account_id = 1 AND channel = 'offline' AND day < 4611686018427387904 AND n > 0 ORDER BY day`},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			buf.Reset()
			if err := tt.run(db); err != nil {
				t.Fatal(err)
			}
			var got []logged
			dec := json.NewDecoder(&buf)
			for dec.More() {
				var l logged
				if err := dec.Decode(&l); err != nil {
					t.Fatal(err)
				}
				got = append(got, l)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("logged %+v, want %+v", got, tt.want)
			}
		})
	}
}

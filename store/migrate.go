package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

//go:embed migrations
var migrationFiles embed.FS

// migrationLockID is the PostgreSQL advisory lock that keeps two replicas from
// migrating at once.
const migrationLockID = 7_351_104_220

type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the embedded migrations of one backend, oldest first.
func migrations(backend Backend) ([]migration, error) {
	dir := path.Join("migrations", string(backend))
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var out []migration
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must start with a positive version and an underscore", e.Name())
		}
		body, err := fs.ReadFile(migrationFiles, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", e.Name(), err)
		}
		out = append(out, migration{version: v, name: e.Name(), sql: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i := 1; i < len(out); i++ {
		if out[i].version == out[i-1].version {
			return nil, fmt.Errorf("migrations %s and %s share version %d", out[i-1].name, out[i].name, out[i].version)
		}
	}
	return out, nil
}

// Migrate applies every embedded migration not yet applied, each in its own
// transaction, and returns the versions it applied. On PostgreSQL it holds an
// advisory lock so that replicas starting together migrate once.
func (s *Store) Migrate(ctx context.Context) ([]int, error) {
	all, err := migrations(s.backend)
	if err != nil {
		return nil, err
	}
	var applied []int
	err = s.db.WithContext(ctx).Connection(func(conn *gorm.DB) error {
		if s.backend == Postgres {
			if err := conn.Exec("SELECT pg_advisory_lock(?)", migrationLockID).Error; err != nil {
				return fmt.Errorf("lock migrations: %w", err)
			}
			// Unlock even when ctx is done: the lock belongs to a pooled connection.
			defer conn.Session(&gorm.Session{Context: context.Background()}).Exec("SELECT pg_advisory_unlock(?)", migrationLockID)
		}
		if err := conn.Exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
			version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`).Error; err != nil {
			return fmt.Errorf("create schema_migrations: %w", err)
		}
		var done []int
		if err := conn.Raw("SELECT version FROM schema_migrations").Scan(&done).Error; err != nil {
			return fmt.Errorf("read schema_migrations: %w", err)
		}
		have := make(map[int]bool, len(done))
		for _, v := range done {
			have[v] = true
		}
		for _, m := range all {
			if have[m.version] {
				continue
			}
			err := conn.Transaction(func(tx *gorm.DB) error {
				if err := tx.Exec(m.sql).Error; err != nil {
					return err
				}
				return tx.Exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
					m.version, m.name, time.Now().UTC().Format(time.RFC3339)).Error
			})
			if err != nil {
				return fmt.Errorf("migration %s: %w", m.name, err)
			}
			applied = append(applied, m.version)
		}
		return nil
	})
	return applied, err
}

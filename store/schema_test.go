package store_test

import (
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm/schema"

	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

// typeFamily maps a database type name to the Go data type it holds, per backend.
func typeFamily(b store.Backend, dbType string) schema.DataType {
	t := strings.ToUpper(dbType)
	switch {
	case t == "BOOL" || t == "BOOLEAN":
		return schema.Bool
	case strings.Contains(t, "INT") || t == "BIGSERIAL" || t == "SERIAL":
		return schema.Int
	case t == "TEXT" || strings.Contains(t, "CHAR"):
		return schema.String
	case strings.Contains(t, "TIMESTAMP") || t == "DATETIME":
		return schema.Time
	case t == "BYTEA" || t == "BLOB":
		return schema.Bytes
	}
	return schema.DataType("unknown " + string(b) + " type " + dbType)
}

// TestSchema_MatchesModels migrates a fresh database with the embedded SQL and
// checks every model against it: the same columns, nullability, type family
// and primary key, and the same named indexes over the same columns.
func TestSchema_MatchesModels(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		db := s.GORM()
		for _, m := range models.All() {
			sch, err := schema.Parse(m, &sync.Map{}, db.NamingStrategy)
			if err != nil {
				t.Fatal(err)
			}
			t.Run(sch.Table, func(t *testing.T) {
				if !db.Migrator().HasTable(m) {
					t.Fatalf("table %s is missing", sch.Table)
				}
				cols, err := db.Migrator().ColumnTypes(m)
				if err != nil {
					t.Fatal(err)
				}
				pks := primaryKey(t, s, sch.Table)
				got := map[string]bool{}
				for _, c := range cols {
					got[c.Name()] = true
					f := sch.LookUpField(c.Name())
					if f == nil {
						t.Errorf("column %s.%s has no model field", sch.Table, c.Name())
						continue
					}
					wantType := f.DataType
					if wantType == schema.Uint || wantType == schema.Int {
						wantType = schema.Int
					}
					if gotType := typeFamily(s.Backend(), c.DatabaseTypeName()); gotType != wantType {
						t.Errorf("column %s.%s is %s (%s), model field %s is %s", sch.Table, c.Name(), c.DatabaseTypeName(), gotType, f.Name, wantType)
					}
					if nullable, ok := c.Nullable(); ok {
						wantNullable := !f.NotNull && !f.PrimaryKey
						if nullable != wantNullable {
							t.Errorf("column %s.%s nullable=%v, model field %s wants nullable=%v", sch.Table, c.Name(), nullable, f.Name, wantNullable)
						}
					}
					if pk := pks[c.Name()]; pk != f.PrimaryKey {
						t.Errorf("column %s.%s primary key=%v, model says %v", sch.Table, c.Name(), pk, f.PrimaryKey)
					}
				}
				for _, f := range sch.Fields {
					if f.DBName != "" && !got[f.DBName] {
						t.Errorf("model field %s.%s has no column %s", sch.Name, f.Name, f.DBName)
					}
				}

				wantIdx := map[string][]string{}
				wantPartial := map[string]bool{}
				for _, idx := range sch.ParseIndexes() {
					for _, opt := range idx.Fields {
						wantIdx[idx.Name] = append(wantIdx[idx.Name], opt.DBName)
					}
					wantPartial[idx.Name] = idx.Where != ""
				}
				gotIdx := indexColumns(t, s, sch.Table)
				for name, partial := range partialIndexes(t, s, sch.Table) {
					if _, ok := wantIdx[name]; ok && partial != wantPartial[name] {
						t.Errorf("index %s: partial %v, the model says %v", name, partial, wantPartial[name])
					}
				}
				for name, cols := range wantIdx {
					g, ok := gotIdx[name]
					if !ok {
						t.Errorf("index %s (%v) of the model is missing", name, cols)
					} else if !slices.Equal(g, cols) {
						t.Errorf("index %s is on %v, the model says %v", name, g, cols)
					}
				}
				for name, cols := range gotIdx {
					if _, ok := wantIdx[name]; !ok {
						t.Errorf("index %s (%v) is not declared on the model", name, cols)
					}
				}
			})
		}
	})
}

// TestMigrate_Idempotent checks that a second run applies nothing and that
// every embedded migration is recorded.
func TestMigrate_Idempotent(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		applied, err := s.Migrate(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if len(applied) != 0 {
			t.Errorf("second migrate applied %v, want nothing", applied)
		}
		var versions []int
		if err := s.GORM().Raw("SELECT version FROM schema_migrations").Scan(&versions).Error; err != nil {
			t.Fatal(err)
		}
		sort.Ints(versions)
		if len(versions) == 0 || versions[0] != 1 {
			t.Errorf("schema_migrations = %v, want it to start at 1", versions)
		}
	})
}

// primaryKey returns the primary-key columns of the table. It asks the
// catalog directly: the SQLite driver's DDL parser sees only the first column
// of a composite key.
func primaryKey(t *testing.T, s *store.Store, table string) map[string]bool {
	t.Helper()
	var cols []string
	var err error
	switch s.Backend() {
	case store.SQLite:
		err = s.GORM().Raw("SELECT name FROM pragma_table_info(?) WHERE pk > 0", table).Scan(&cols).Error
	case store.Postgres:
		err = s.GORM().Raw(`SELECT a.attname FROM pg_index x
			JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace
			JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = ANY (x.indkey)
			WHERE x.indisprimary AND t.relname = ? AND n.nspname = current_schema()`, table).Scan(&cols).Error
	}
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, c := range cols {
		out[c] = true
	}
	return out
}

// indexColumns returns the table's secondary indexes by name, each with its
// columns in index order (GORM's PostgreSQL migrator lists them in table order).
func indexColumns(t *testing.T, s *store.Store, table string) map[string][]string {
	t.Helper()
	var rows []struct{ Index, Col string }
	var err error
	switch s.Backend() {
	case store.SQLite:
		err = s.GORM().Raw(`SELECT il.name AS "index", ii.name AS col
			FROM pragma_index_list(?) il, pragma_index_info(il.name) ii
			WHERE il.origin = 'c' ORDER BY il.name, ii.seqno`, table).Scan(&rows).Error
	case store.Postgres:
		err = s.GORM().Raw(`SELECT i.relname AS "index", a.attname AS col
			FROM pg_index x
			JOIN pg_class i ON i.oid = x.indexrelid
			JOIN pg_class t ON t.oid = x.indrelid
			JOIN pg_namespace n ON n.oid = t.relnamespace
			CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, ord)
			JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
			WHERE NOT x.indisprimary AND t.relname = ? AND n.nspname = current_schema()
			ORDER BY i.relname, k.ord`, table).Scan(&rows).Error
	}
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, r := range rows {
		out[r.Index] = append(out[r.Index], r.Col)
	}
	return out
}

// partialIndexes returns whether each of the table's secondary indexes has
// a WHERE clause: the model's tag says which should (where:...); the
// predicates' text differs between backends, so only that is compared.
func partialIndexes(t *testing.T, s *store.Store, table string) map[string]bool {
	t.Helper()
	var rows []struct {
		Index   string
		Partial bool
	}
	var err error
	switch s.Backend() {
	case store.SQLite:
		err = s.GORM().Raw(`SELECT name AS "index", "partial" FROM pragma_index_list(?) WHERE origin = 'c'`, table).Scan(&rows).Error
	case store.Postgres:
		err = s.GORM().Raw(`SELECT i.relname AS "index", x.indpred IS NOT NULL AS "partial"
			FROM pg_index x
			JOIN pg_class i ON i.oid = x.indexrelid
			JOIN pg_class t ON t.oid = x.indrelid
			JOIN pg_namespace n ON n.oid = t.relnamespace
			WHERE NOT x.indisprimary AND t.relname = ? AND n.nspname = current_schema()`, table).Scan(&rows).Error
	}
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, r := range rows {
		out[r.Index] = r.Partial
	}
	return out
}

// TestMigrate_InitiatorWords checks that migration 12 rewrites the vendor
// words a case's initiator was stored in before to the model's, and leaves
// the model's words alone.
func TestMigrate_InitiatorWords(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		a := storetest.MustAccount(t, s, "initiators")
		ct := storetest.MustContact(t, s, a.ID, "Ann", "ann@example.com", "")
		old := map[string]models.Initiator{
			"visitor": models.InitiatorContact, "operator": models.InitiatorAgent, "autoinvite": models.InitiatorInvite,
			"agent": models.InitiatorAgent, "system": models.InitiatorSystem, "contact": models.InitiatorContact,
		}
		ids := map[int64]models.Initiator{}
		for word, want := range old {
			c := storetest.MustOfflineCase(t, s, a.ID, ct.ID, "s", "m", time.Now().Add(-time.Hour))
			if err := s.GORM().Exec("UPDATE cases SET initiator = ? WHERE id = ?", word, c.ID).Error; err != nil {
				t.Fatal(err)
			}
			ids[c.ID] = want
		}
		if err := s.GORM().Exec("DELETE FROM schema_migrations WHERE version = 12").Error; err != nil {
			t.Fatal(err)
		}
		applied, err := s.Migrate(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(applied) != 1 || applied[0] != 12 {
			t.Fatalf("migrate applied %v, want [12]", applied)
		}
		for id, want := range ids {
			var got models.Initiator
			if err := s.GORM().Raw("SELECT initiator FROM cases WHERE id = ?", id).Scan(&got).Error; err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("case %d: initiator %q, want %q", id, got, want)
			}
		}
	})
}

package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/gorm"
	"gorm.io/gorm/schema"
)

// Batch uploads write their new rows through a rowWriter: with COPY on
// PostgreSQL, with GORM's multi-row INSERT on SQLite. Both backends take the
// rows' ids first (reserveIDs), so that an upload knows every id before it
// writes anything: a message names its case and a case its last message in
// the row itself, and no statement has to go back over the rows to fill them
// in.

// rowWriter reserves ids and writes rows inside an upload's transaction.
type rowWriter interface {
	// reserveIDs returns, for each request, n new ids of its table, in
	// ascending order, or the database's error. Nothing else takes them.
	reserveIDs(tx *gorm.DB, want []idRequest) ([][]int64, error)
	// insert writes rows, a slice of one model whose ids are all set, to the
	// model's table. It returns the database's error, translated as GORM
	// translates it (a unique violation is gorm.ErrDuplicatedKey).
	insert(tx *gorm.DB, rows any) error
}

// idRequest asks reserveIDs for n ids of a table whose id is its own
// sequence (BIGSERIAL on PostgreSQL, AUTOINCREMENT on SQLite), or of the
// cases' timeline ids (table timelines, see newTimelineID).
type idRequest struct {
	table string
	n     int
}

// inUploadTx runs fn in one transaction on one connection of the bulk pool,
// with the backend's rowWriter for that connection, and releases the
// connection on every path. It is a write (see Store.write): it marks the
// request's idempotency claim applied and runs again on a deadlock or
// serialization failure. It returns fn's error, or the error of taking
// the connection, beginning or committing; a context cancelled meanwhile
// rolls the transaction back.
//
// The connection is taken by hand, not by gorm's Transaction on the pool,
// because COPY is not a database/sql statement: it needs the pgx connection
// under the transaction, which only (*sql.Conn).Raw hands out.
func (s *Store) inUploadTx(ctx context.Context, fn func(tx *gorm.DB, w rowWriter) error) error {
	// An upload reads which of its ext_ids (of cases, of visitor sessions)
	// the account has, then writes the rest. Another transaction that wrote
	// one of them meanwhile makes this one's write fail on the unique index
	// once it commits: run again, the upload finds that row and resends
	// over it, as if the two had come one after the other. On SQLite the
	// write lock already orders them.
	again := retryable
	if s.backend == Postgres {
		again = func(err error) bool { return retryable(err) || errors.Is(err, gorm.ErrDuplicatedKey) }
	}
	return s.retryingOn(ctx, again, func() error {
		pool, err := s.bulk.DB()
		if err != nil {
			return err
		}
		conn, err := pool.Conn(ctx)
		if err != nil {
			return err
		}
		// Close returns the connection to the pool, after the transaction has
		// ended: the pool drops it if pgx closed it (a cancelled COPY does).
		defer conn.Close()
		pctx, pending := withPending(ctx)
		db := s.bulk.WithContext(pctx)
		// WithContext cloned the statement: the pool's own handle keeps its pool.
		db.Statement.ConnPool = conn
		var w rowWriter = insertWriter{}
		if s.backend == Postgres {
			w = copyWriter{conn: conn}
		}
		err = db.Transaction(func(tx *gorm.DB) error {
			if err := fn(tx, w); err != nil {
				return err
			}
			return s.markApplied(ctx, tx)
		})
		if err == nil {
			s.committed(pending)
		}
		return err
	})
}

// insertWriter is SQLite's rowWriter: ids from sqlite_sequence, rows by
// GORM.
type insertWriter struct{}

// reserveIDs moves each table's AUTOINCREMENT counter on by n and returns
// the ids it stepped over. SQLite takes no id below the counter again, and
// the transaction holds the database's write lock from this statement on,
// so no other writer takes them either. The counter is kept at least the
// table's largest id, as SQLite itself does, in case a row was written with
// its id given.
func (insertWriter) reserveIDs(tx *gorm.DB, want []idRequest) ([][]int64, error) {
	out := make([][]int64, len(want))
	for i, r := range want {
		if r.n == 0 {
			continue
		}
		// r.table is one of the upload's tables, never input.
		var last []int64
		if err := tx.Raw(`UPDATE sqlite_sequence SET seq = max(seq, (SELECT COALESCE(MAX(id), 0) FROM `+r.table+`)) + ?
			WHERE name = ? RETURNING seq`, r.n, r.table).Scan(&last).Error; err != nil {
			return nil, err
		}
		if len(last) == 0 {
			// SQLite adds a table's counter with its first row.
			if err := tx.Raw(`INSERT INTO sqlite_sequence (name, seq) SELECT ?, COALESCE(MAX(id), 0) + ? FROM `+r.table+` RETURNING seq`,
				r.table, r.n).Scan(&last).Error; err != nil {
				return nil, err
			}
		}
		if len(last) != 1 {
			return nil, fmt.Errorf("reserve %s ids: sqlite_sequence has %d rows for the table", r.table, len(last))
		}
		ids := make([]int64, r.n)
		for k := range ids {
			ids[k] = last[0] - int64(r.n) + 1 + int64(k)
		}
		out[i] = ids
	}
	return out, nil
}

// insert writes the rows with one INSERT per chunk of maxRows rows.
func (insertWriter) insert(tx *gorm.DB, rows any) error {
	rv := reflect.ValueOf(rows)
	if rv.Len() == 0 {
		return nil
	}
	return tx.CreateInBatches(rows, maxRows(rv.Type().Elem())).Error
}

// copyWriter is PostgreSQL's rowWriter: ids from the tables' sequences and
// rows by COPY, both on the connection the upload's transaction runs on.
type copyWriter struct {
	conn *sql.Conn
}

// raw runs f with the pgx connection under w.conn and the transaction's
// context, and returns f's error.
//
// Raw while a transaction is open on the same *sql.Conn is safe, by
// database/sql's sql.go:
//   - The Tx that Conn.BeginTx opened holds the Conn's closemu for reading
//     until it ends, and Raw takes it for reading too (grabConn). Readers do
//     not exclude each other; a second read lock would wait only behind a
//     waiting writer, and the one writer is Conn.close, which runs from our
//     deferred Close after the transaction, or when a release reports
//     driver.ErrBadConn: pgx's commit and rollback report their own errors,
//     never that one.
//   - Raw holds the driverConn's mutex while f runs, and each statement of
//     the Tx takes the same mutex (withLock), so f and the Tx's statements
//     never overlap on the wire (the upload issues them one after another
//     anyway). A context cancelled during f makes the Tx's awaitDone wait on
//     that mutex before it rolls back, while pgx aborts f's statement for the
//     same context.
//   - COPY and the queries of f belong to the transaction: the Tx is the
//     BEGIN that pgx sent on this very connection.
func (w copyWriter) raw(tx *gorm.DB, f func(ctx context.Context, pc *pgx.Conn) error) error {
	ctx := tx.Statement.Context
	return w.conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("bulk connection is %T, not pgx's", dc)
		}
		return f(ctx, sc.Conn())
	})
}

// reserveIDs takes the ids from each table's sequence (BIGSERIAL's
// TABLE_id_seq), all tables in one statement. A sequence hands out each
// value once, whoever asks, and never gives it back, not even on rollback.
func (w copyWriter) reserveIDs(tx *gorm.DB, want []idRequest) ([][]int64, error) {
	var sb strings.Builder
	// The bulk pool runs statements without describing them first, and so
	// reads their results as text. Described first (one more round trip),
	// the thousands of ids come back binary, several times faster to decode.
	args := []any{pgx.QueryExecModeDescribeExec}
	out := make([][]int64, len(want))
	dest := make([]any, len(want))
	sb.WriteString("SELECT ")
	for i, r := range want {
		if i > 0 {
			sb.WriteString(", ")
		}
		fmt.Fprintf(&sb, "ARRAY(SELECT nextval('%s_id_seq') FROM generate_series(1, $%d::int))", r.table, i+1)
		args, dest[i] = append(args, r.n), &out[i]
	}
	if err := w.raw(tx, func(ctx context.Context, pc *pgx.Conn) error {
		return pc.QueryRow(ctx, sb.String(), args...).Scan(dest...)
	}); err != nil {
		return nil, fmt.Errorf("reserve ids: %w", err)
	}
	for i, r := range want {
		if len(out[i]) != r.n {
			return nil, fmt.Errorf("reserve %s ids: got %d, want %d", r.table, len(out[i]), r.n)
		}
		// The array keeps the order nextval ran in, which is ascending;
		// sorting makes that a promise.
		slices.Sort(out[i])
	}
	return out, nil
}

// insert writes the rows with one COPY. Its columns and values are those
// GORM's Create writes for the model: every creatable column, and each value
// as copyColumns reads it. A column left to a database default cannot be
// left out of one COPY row, so a zero id is an error, and so is a zero field
// with a database default GORM would leave out.
func (w copyWriter) insert(tx *gorm.DB, rows any) error {
	rv := reflect.ValueOf(rows)
	n := rv.Len()
	if n == 0 {
		return nil
	}
	stmt := &gorm.Statement{DB: tx}
	if err := stmt.Parse(rows); err != nil {
		return err
	}
	table := stmt.Schema.Table
	cols, names := copyColumns(stmt.Schema)
	ctx := tx.Statement.Context
	now := tx.NowFunc()
	// pgx encodes a row before it asks for the next, so one slice serves
	// every row.
	vals := make([]any, len(cols))
	next := func(i int) ([]any, error) {
		row := reflect.Indirect(rv.Index(i))
		for k, c := range cols {
			if c.plain {
				vals[k] = plainValue(row.Field(c.f.StructField.Index[0]))
				continue
			}
			v, zero := c.f.ValueOf(ctx, row)
			switch {
			case !zero:
			case c.f.DefaultValueInterface != nil:
				v = c.f.DefaultValueInterface
			case c.f.AutoCreateTime > 0 || c.f.AutoUpdateTime > 0:
				v = now
			case c.f.PrimaryKey:
				return nil, fmt.Errorf("row %d has no %s", i, c.f.DBName)
			case c.f.HasDefaultValue:
				return nil, fmt.Errorf("row %d leaves %s to its database default", i, c.f.DBName)
			}
			vals[k] = v
		}
		return vals, nil
	}
	err := w.raw(tx, func(ctx context.Context, pc *pgx.Conn) error {
		_, err := pc.CopyFrom(ctx, pgx.Identifier{table}, names, pgx.CopyFromSlice(n, next))
		return err
	})
	if err == nil {
		return nil
	}
	// The same error GORM's statements give, so that wrap sees a conflict
	// or a dropped connection alike.
	if t, ok := tx.Dialector.(gorm.ErrorTranslator); ok {
		err = t.Translate(err)
	}
	return fmt.Errorf("copy %s: %w", table, err)
}

// copyColumn is one column of a COPY and how to read its value from a row.
type copyColumn struct {
	f *schema.Field
	// plain says the value is the field's own, read by plainValue: a field
	// of the struct itself, of a basic kind or a pointer to one, with no
	// serializer, no driver.Valuer and nothing GORM fills in when it is
	// zero. The other fields go through GORM's ValueOf.
	plain bool
}

// copyColumns returns the columns GORM's Create writes for the schema's
// model (every creatable column), in the schema's order, and their names.
func copyColumns(sch *schema.Schema) ([]copyColumn, []string) {
	var cols []copyColumn
	var names []string
	for _, name := range sch.DBNames {
		f := sch.FieldsByDBName[name]
		if !f.Creatable {
			continue
		}
		t := f.FieldType
		if t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		plain := len(f.StructField.Index) == 1 && f.Serializer == nil && !f.PrimaryKey && !f.HasDefaultValue &&
			f.AutoCreateTime == 0 && f.AutoUpdateTime == 0 && !t.Implements(valuerType) && !reflect.PointerTo(t).Implements(valuerType)
		switch t.Kind() {
		case reflect.String, reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		default:
			plain = plain && t == reflect.TypeFor[time.Time]()
		}
		cols, names = append(cols, copyColumn{f: f, plain: plain}), append(names, name)
	}
	return cols, names
}

var valuerType = reflect.TypeFor[driver.Valuer]()

// plainValue returns v as its basic Go type (a named string type as a
// string, an int kind as an int64, a time.Time as itself), or nil for a nil
// pointer. pgx encodes a named type by converting it to that same basic
// type, so the column receives the value GORM would send; reading it this
// way spares a reflect allocation per value and pgx a conversion.
func plainValue(v reflect.Value) any {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.String:
		return v.String()
	case reflect.Bool:
		return v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int()
	}
	return v.Interface()
}

// maxRows returns how many rows of the model type t one INSERT carries: about
// 1,000 parameters a statement, one per column of each row. SQLite would take
// 32,766, but the driver's binding grows faster than the parameters: 500
// chats of 10 messages took 2.0 s in statements of 30,000 parameters and
// 0.38 s in statements of 1,000 (BenchmarkUploadChats/sqlite).
func maxRows(t reflect.Type) int {
	return 1000 / t.NumField()
}

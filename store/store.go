// Package store is switchboard's core: every operation on the shared model,
// each multi-step write in one transaction, every query scoped by account.
package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/libtnb/sqlite"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Backend names a database engine the store runs on.
type Backend string

// The supported backends; the names are also the migration folders.
const (
	SQLite   Backend = "sqlite"
	Postgres Backend = "postgres"
)

// Store is the shared model of contacts, cases, messages and deliveries.
// It is safe for concurrent use.
type Store struct {
	db *gorm.DB
	// bulk runs batch uploads. On PostgreSQL it is a small pool of its own
	// whose statements are not prepared (see bulkDSN); on SQLite it is db.
	bulk    *gorm.DB
	backend Backend
	now     func() time.Time
	// dsn is the PostgreSQL connection string ListenEvents dials.
	dsn string
	// hub wakes this process's event readers (see SubscribeEvents).
	hub eventHub
	// agents counts changes to agents (see AgentsVersion).
	agents agentWatch
	// batch groups SQLite's writes (see write).
	batch writeBatch
}

// Options tune Open. The zero value is fine.
type Options struct {
	// Logger receives slow queries and database errors; nil logs nothing.
	Logger *slog.Logger
	// MaxOpenConns bounds the PostgreSQL pool (default 20). SQLite always uses one
	// connection: SQLite takes one writer at a time anyway, and one connection
	// makes every transaction see the one before it.
	MaxOpenConns int
	// BulkConns bounds the PostgreSQL connections of batch uploads (default
	// 4), which also bounds how many uploads write at once.
	BulkConns int
}

// ParseURL splits a database URL into its backend and the driver's DSN.
// It accepts "sqlite:PATH" (PATH may be ":memory:") and "postgres://..." or
// "postgresql://...". It returns an error naming the URL form for anything else.
func ParseURL(raw string) (Backend, string, error) {
	switch {
	case strings.HasPrefix(raw, "postgres://"), strings.HasPrefix(raw, "postgresql://"):
		return Postgres, raw, nil
	case strings.HasPrefix(raw, "sqlite:"):
		path := strings.TrimPrefix(strings.TrimPrefix(raw, "sqlite:"), "//")
		if path == "" {
			return "", "", errors.New(`database URL "sqlite:" needs a file path, as in sqlite:switchboard.db`)
		}
		q := url.Values{}
		// Times are written as text in SQLite's own form with the offset
		// ("2006-01-02 15:04:05.999999999-07:00"), which sorts as time
		// does for the UTC times the store writes, and read back as
		// time.Time.
		q.Add("_time_format", "sqlite")
		q.Add("_texttotime", "1")
		q.Add("_pragma", "busy_timeout(10000)")
		q.Add("_pragma", "foreign_keys(1)")
		if path != ":memory:" {
			q.Add("_pragma", "journal_mode(WAL)")
			q.Add("_pragma", "synchronous(NORMAL)")
		}
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		return SQLite, "file:" + path + sep + q.Encode(), nil
	default:
		return "", "", fmt.Errorf("database URL %q: want sqlite:PATH or postgres://USER@HOST/DB", redact(raw))
	}
}

// redact hides a password in a URL so that errors can show the rest.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	return u.Redacted()
}

// Open connects to the database the URL names and checks that it answers.
// It does not migrate. It returns an error for a malformed URL or an
// unreachable database.
func Open(ctx context.Context, rawURL string, opts Options) (*Store, error) {
	backend, dsn, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	cfg := &gorm.Config{
		TranslateError:         true,
		SkipDefaultTransaction: true,
		PrepareStmt:            false,
		NowFunc:                func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) },
		Logger:                 newGormLogger(opts.Logger),
		// Open pings below and returns the error; GORM's own ping would log
		// it first, and a connection error would be printed twice.
		DisableAutomaticPing: true,
	}
	var dialector gorm.Dialector
	// sqliteDB is the SQLite handle the dialector is given, closed here if
	// GORM cannot start on it.
	var sqliteDB *sql.DB
	switch backend {
	case Postgres:
		dialector = postgres.New(postgres.Config{DSN: dsn})
	case SQLite:
		if sqliteDB, err = OpenSQLite(dsn); err != nil {
			return nil, fmt.Errorf("open %s database %s: %w", backend, redact(rawURL), err)
		}
		dialector = sqlite.New(sqlite.Config{Conn: sqliteDB})
	}
	db, err := gorm.Open(dialector, cfg)
	if err != nil {
		if sqliteDB != nil {
			sqliteDB.Close()
		}
		return nil, fmt.Errorf("open %s database: %w", backend, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", backend, err)
	}
	switch backend {
	case SQLite:
		sqlDB.SetMaxOpenConns(1)
	case Postgres:
		n := opts.MaxOpenConns
		if n <= 0 {
			n = 20
		}
		sqlDB.SetMaxOpenConns(n)
		sqlDB.SetMaxIdleConns(n)
		sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	}
	s := &Store{db: db, bulk: db, backend: backend, now: cfg.NowFunc, dsn: dsn}
	if err := s.Ping(ctx); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("open %s database %s: %w", backend, redact(rawURL), err)
	}
	if backend == Postgres {
		if s.bulk, err = openBulk(dsn, cfg, opts.BulkConns); err != nil {
			sqlDB.Close()
			return nil, fmt.Errorf("open %s database for uploads: %w", backend, err)
		}
	}
	return s, nil
}

// openBulk opens the PostgreSQL pool of batch uploads, of at most n
// connections (default 4).
//
// Its statements are sent unprepared (parse, bind and execute in one round
// trip) unless the URL chooses a mode. pgx's default prepares and caches
// every statement, and PostgreSQL may then keep a generic plan made while a
// table was small: an upload grows its tables by thousands of rows a request,
// and such a plan (a seq scan behind "email IN (...)") went from 1 ms to
// 250 ms within 20,000 contacts, before autovacuum had analyzed the table.
// Batch statements also come in many lengths, each one more prepared
// statement per connection. Unprepared statements are planned for their
// values each time, the cheaper way for statements this large. The request
// pool keeps the default: its short statements repeat and gain from it.
func openBulk(dsn string, cfg *gorm.Config, n int) (*gorm.DB, error) {
	if u, err := url.Parse(dsn); err == nil {
		q := u.Query()
		if q.Get("default_query_exec_mode") == "" {
			q.Set("default_query_exec_mode", "exec")
			u.RawQuery = q.Encode()
		}
		dsn = u.String()
	}
	db, err := gorm.Open(postgres.New(postgres.Config{DSN: dsn}), cfg)
	if err != nil {
		return nil, err
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	if n <= 0 {
		n = 4
	}
	sqlDB.SetMaxOpenConns(n)
	sqlDB.SetMaxIdleConns(n)
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	return db, nil
}

// Backend returns the engine the store runs on.
func (s *Store) Backend() Backend { return s.backend }

// Ping returns nil when the database answers, ErrUnavailable otherwise.
func (s *Store) Ping(ctx context.Context) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	if err := sqlDB.PingContext(ctx); err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return nil
}

// Close releases the database connections.
func (s *Store) Close() error {
	pools := []*gorm.DB{s.db}
	if s.bulk != s.db {
		pools = append(pools, s.bulk)
	}
	var errs []error
	for _, db := range pools {
		sqlDB, err := db.DB()
		if err == nil {
			err = sqlDB.Close()
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// GORM returns the underlying GORM handle for tests and tools that inspect the
// schema. Application code goes through Store methods.
func (s *Store) GORM() *gorm.DB { return s.db }

// wrap turns driver and GORM errors into the store's typed errors; op names
// the operation for the message.
func wrap(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gorm.ErrRecordNotFound):
		return fmt.Errorf("%s: %w", op, ErrNotFound)
	case errors.Is(err, gorm.ErrDuplicatedKey):
		return fmt.Errorf("%s: %w", op, ErrConflict)
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrConflict), errors.Is(err, ErrCaseNotActive):
		return fmt.Errorf("%s: %w", op, err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s: %w", op, err)
	}
	var fe FieldErrors
	if errors.As(err, &fe) {
		return err
	}
	if isConnectionError(err) {
		return fmt.Errorf("%s: %w: %v", op, ErrUnavailable, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// notFoundOr turns GORM's record-not-found into a NotFoundError for the
// entity and passes other errors through.
func notFoundOr(err error, entity string, id int64) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return notFound(entity, id)
	}
	return err
}

// isConnectionError reports whether err says the database could not be reached
// rather than that a statement failed.
func isConnectionError(err error) bool {
	var connectErr *pgconn.ConnectError
	// pgconn.ErrConnClosed: a statement on a connection that PostgreSQL
	// dropped under it (the fault suite stops PostgreSQL with pg_ctl -m
	// immediate mid-transaction); it used to come out as a 500.
	if errors.Is(err, sql.ErrConnDone) || errors.Is(err, driver.ErrBadConn) || errors.As(err, &connectErr) || errors.Is(err, pgconn.ErrConnClosed) {
		return true
	}
	msg := err.Error()
	for _, s := range []string{"connection refused", "failed to connect", "broken pipe", "connection reset", "unexpected EOF", "the database system is shutting down", "no such host", "database is closed", "conn closed", "connection timed out", "i/o timeout"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// gormLogger forwards GORM's slow-query and error reports to slog and drops
// the routine "record not found", which the store turns into ErrNotFound.
type gormLogger struct {
	log  *slog.Logger
	slow time.Duration
}

func newGormLogger(l *slog.Logger) logger.Interface {
	if l == nil {
		return logger.Discard
	}
	return &gormLogger{log: l, slow: 500 * time.Millisecond}
}

func (g *gormLogger) LogMode(logger.LogLevel) logger.Interface { return g }
func (g *gormLogger) Info(ctx context.Context, msg string, args ...any) {
	g.log.InfoContext(ctx, fmt.Sprintf(msg, args...))
}
func (g *gormLogger) Warn(ctx context.Context, msg string, args ...any) {
	g.log.WarnContext(ctx, fmt.Sprintf(msg, args...))
}
func (g *gormLogger) Error(ctx context.Context, msg string, args ...any) {
	g.log.ErrorContext(ctx, fmt.Sprintf(msg, args...))
}

// ParamsFilter keeps a statement's values out of the log: GORM then writes
// it with its placeholders, not the message texts, addresses and key hashes
// it carries.
func (g *gormLogger) ParamsFilter(_ context.Context, sql string, _ ...any) (string, []any) {
	return sql, nil
}

func (g *gormLogger) Trace(ctx context.Context, begin time.Time, fc func() (string, int64), err error) {
	elapsed := time.Since(begin)
	switch {
	case err != nil && !errors.Is(err, gorm.ErrRecordNotFound) && !errors.Is(err, context.Canceled):
		sqlText, rows := fc()
		g.log.DebugContext(ctx, "query failed", "err", err, "sql", sqlText, "rows", rows, "elapsed", elapsed)
	case elapsed > g.slow:
		sqlText, rows := fc()
		g.log.WarnContext(ctx, "slow query", "sql", sqlText, "rows", rows, "elapsed", elapsed)
	}
}

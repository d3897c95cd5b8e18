package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/gorm"

	"switchboard/models"
)

// maxWriteAttempts bounds how often write runs a transaction that
// PostgreSQL aborted for a serialization failure or a deadlock.
const maxWriteAttempts = 4

// claimKey is the context key of the idempotency claim a request holds.
type claimKey struct{}

// WithIdempotencyClaim returns ctx carrying the claim (ClaimIdempotencyKey's
// ID) of the request it serves. Every write the store makes with that
// context marks the claim applied in the write's own transaction, so that
// whether the write happened is known even when its response is lost (a
// commit whose answer never came back, a client gone): a claim released
// after that is not run again but answered ErrIdempotencyApplied.
func WithIdempotencyClaim(ctx context.Context, claimID int64) context.Context {
	return context.WithValue(ctx, claimKey{}, claimID)
}

// write runs fn in one transaction on db (s.db, or s.bulk for uploads), the
// way every write of the store runs: see retrying and markApplied. On
// SQLite, where db is s.db, writes that arrive together share a transaction
// (see writeBatch). Once it commits, the readers of the events fn appended
// are woken (see appendEvents). It returns fn's error or the database's.
func (s *Store) write(ctx context.Context, db *gorm.DB, fn func(tx *gorm.DB) error) error {
	return s.retrying(ctx, func() error {
		pctx, pending := withPending(ctx)
		txn := func(tx *gorm.DB) error {
			if err := fn(tx); err != nil {
				return err
			}
			return s.markApplied(ctx, tx)
		}
		var err error
		if s.backend == SQLite {
			err = s.batch.do(pctx, txn, s.runBatch)
		} else {
			err = db.WithContext(pctx).Transaction(txn)
		}
		if err == nil {
			s.committed(pending)
		}
		return err
	})
}

// committed wakes the readers of the accounts a committed transaction
// appended events to, in this process and (announce) in the others.
func (s *Store) committed(p *pendingEvents) {
	for _, acct := range p.accounts {
		s.hub.wake(acct)
	}
	if s.backend == Postgres && len(p.accounts) > 0 {
		s.announce(p.accounts)
	}
}

// markApplied marks the idempotency claim that ctx carries, if any, applied:
// tx is the write's own transaction, so the mark commits if and only if the
// write does.
func (s *Store) markApplied(ctx context.Context, tx *gorm.DB) error {
	claim, ok := ctx.Value(claimKey{}).(int64)
	if !ok {
		return nil
	}
	return tx.Model(&models.IdempotencyKey{}).Where("id = ? AND status = 0", claim).Update("applied_at", s.now()).Error
}

// retrying runs txn, one whole transaction, and runs it again when
// PostgreSQL aborted it for a serialization failure (40001) or a deadlock
// (40P01), up to maxWriteAttempts in all, after a short random pause: those
// aborts say nothing about the request, only about its timing. txn must
// therefore set what it returns afresh on each run.
//
// When ctx has ended, the error matches ctx.Err() whatever the driver made
// of it ("transaction has already been committed or rolled back",
// "interrupted"): a client that hung up is not a server error.
func (s *Store) retrying(ctx context.Context, txn func() error) error {
	return s.retryingOn(ctx, retryable, txn)
}

// retryingOn is retrying, running txn again on the errors again accepts.
func (s *Store) retryingOn(ctx context.Context, again func(error) bool, txn func() error) error {
	for attempt := 1; ; attempt++ {
		err := txn()
		switch {
		case err == nil:
			return nil
		case ctx.Err() != nil:
			return fmt.Errorf("%w (%v)", ctx.Err(), err)
		case !again(err) || attempt == maxWriteAttempts:
			return err
		}
		// 1 to 4 ms, then 2 to 8, then 4 to 16: the other transaction has
		// usually finished by then.
		pause := time.Duration(1<<(attempt-1)) * (time.Millisecond + rand.N(3*time.Millisecond))
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (%v)", ctx.Err(), err)
		case <-t.C:
		}
	}
}

// retryable reports whether err is PostgreSQL aborting a transaction for
// its timing alone: a serialization failure or a deadlock.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// readTx runs fn in a read-only transaction that sees one snapshot of the
// database, so that a page and the counts that located it agree.
func (s *Store) readTx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	var opts *sql.TxOptions
	if s.backend == Postgres {
		opts = &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}
	}
	return s.db.WithContext(ctx).Transaction(fn, opts)
}

// pipe is one PostgreSQL connection of the pool held for a write that sends
// its statements in batches (pgx's extended-protocol pipeline): BEGIN with
// the first read, and the last write with COMMIT. A write inside BEGIN and
// COMMIT holds its row locks (the case's, the account's event_seqs row) for
// the round trips between them, and every writer of the account waits
// behind the event_seqs row: sending COMMIT with the statement that takes it
// leaves only the commit's own time under the lock.
type pipe struct {
	conn *sql.Conn
	ctx  context.Context
	// open says a transaction was begun and not yet ended.
	open bool
}

// writePiped is write for the PostgreSQL writes that pipeline their
// statements: fn gets a pipe on one connection, begins with p.begin and ends
// with p.commit. A transaction fn leaves open (an error) is rolled back. It
// retries as write does, wakes the readers of the events once it commits,
// and returns fn's error or the database's.
func (s *Store) writePiped(ctx context.Context, fn func(p *pipe) error) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	return s.retrying(ctx, func() error {
		pctx, pending := withPending(ctx)
		conn, err := sqlDB.Conn(pctx)
		if err != nil {
			return err
		}
		defer conn.Close()
		p := &pipe{conn: conn, ctx: pctx}
		err = fn(p)
		if p.open {
			p.rollback()
		}
		if err == nil {
			s.committed(pending)
		}
		return err
	})
}

// raw runs fn on the pgx connection under the pipe's.
func (p *pipe) raw(fn func(c *pgx.Conn) error) error {
	return p.conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("store: a PostgreSQL connection is %T, not pgx's", dc)
		}
		return fn(sc.Conn())
	})
}

// gorm returns a session of db on the pipe's connection, inside its
// transaction: for the reads a write makes between begin and commit.
func (p *pipe) gorm(db *gorm.DB) *gorm.DB {
	tx := db.WithContext(p.ctx).Session(&gorm.Session{NewDB: true})
	tx.Statement.ConnPool = p.conn
	return tx
}

// begin begins the transaction and runs the read q (GORM's ? placeholders)
// in the same round trip; scan reads its one row. It returns pgx.ErrNoRows
// when the read has no row, or the database's error.
func (p *pipe) begin(q string, args []any, scan func(pgx.Row) error) error {
	return p.raw(func(c *pgx.Conn) error {
		b := &pgx.Batch{}
		b.Queue("BEGIN")
		b.Queue(numbered(q), args...)
		br := c.SendBatch(p.ctx, b)
		_, err := br.Exec()
		if err == nil {
			p.open = true
			err = scan(br.QueryRow())
		}
		return errors.Join(err, br.Close())
	})
}

// commit runs the writes before, each a statement of its own, then the
// write q (GORM's ? placeholders) and COMMIT, all in one round trip; scan
// reads q's one row. It returns the database's error; the transaction is
// over (committed, or to be rolled back) either way.
func (p *pipe) commit(before []rider, q string, args []any, scan func(pgx.Row) error) error {
	return p.raw(func(c *pgx.Conn) error {
		b := &pgx.Batch{}
		for _, r := range before {
			b.Queue(numbered(r.sql), r.args...)
		}
		b.Queue(numbered(q), args...)
		b.Queue("COMMIT")
		br := c.SendBatch(p.ctx, b)
		var err error
		for range before {
			if _, err = br.Exec(); err != nil {
				break
			}
		}
		if err == nil {
			err = scan(br.QueryRow())
		}
		if err == nil {
			_, err = br.Exec()
		}
		err = errors.Join(err, br.Close())
		if err == nil || c.PgConn().TxStatus() == 'I' {
			p.open = false
		}
		return err
	})
}

// rollback ends a transaction a failed write left open. A connection that
// cannot roll back is closed, so that the pool never hands it out again in
// the middle of a transaction.
func (p *pipe) rollback() {
	_ = p.raw(func(c *pgx.Conn) error {
		ctx := context.WithoutCancel(p.ctx)
		if _, err := c.Exec(ctx, "ROLLBACK"); err != nil || c.PgConn().TxStatus() != 'I' {
			return c.Close(ctx)
		}
		return nil
	})
	p.open = false
}

// numbered rewrites GORM's ? placeholders of q as PostgreSQL's $1, $2, ...
// for pgx; a ? inside a quoted literal is left alone.
func numbered(q string) string {
	var b strings.Builder
	b.Grow(len(q) + 16)
	n, quoted := 0, false
	for i := 0; i < len(q); i++ {
		switch ch := q[i]; {
		case ch == '\'':
			quoted = !quoted
			b.WriteByte(ch)
		case ch == '?' && !quoted:
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
		default:
			b.WriteByte(ch)
		}
	}
	return b.String()
}

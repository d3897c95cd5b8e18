package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
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
// way every write of the store runs: see retrying and markApplied. Once it
// commits, the readers of the events fn appended are woken (see
// appendEvents). It returns fn's error or the database's.
func (s *Store) write(ctx context.Context, db *gorm.DB, fn func(tx *gorm.DB) error) error {
	return s.retrying(ctx, func() error {
		pctx, pending := withPending(ctx)
		err := db.WithContext(pctx).Transaction(func(tx *gorm.DB) error {
			if err := fn(tx); err != nil {
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

// committed wakes the readers of the accounts a committed transaction
// appended events to.
func (s *Store) committed(p *pendingEvents) {
	for _, acct := range p.accounts {
		s.hub.wake(acct)
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
	for attempt := 1; ; attempt++ {
		err := txn()
		switch {
		case err == nil:
			return nil
		case ctx.Err() != nil:
			return fmt.Errorf("%w (%v)", ctx.Err(), err)
		case !retryable(err) || attempt == maxWriteAttempts:
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

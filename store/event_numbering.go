package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"
)

// On PostgreSQL an event is written by its change's transaction without its
// number: its seq is the negative of its id (pending). The account's
// numbers are given after the commit, by a numbering round: a transaction
// that locks the account's event_seqs row and numbers every pending event
// of the account it sees, in id order. Numbering inside each write made
// every writer of an account wait for the one before it to reach the disk,
// as the event_seqs row stayed locked through its commit; a round numbers
// the events of every write that committed while the one before ran, so
// the account's writes commit side by side.
//
// What a reader relies on holds as before: the events of a round become
// visible at once and the rounds of an account follow each other, so a
// reader that has seen number n has seen every number below it, and a
// write's events are numbered in the order of its statements. A write
// returns once a round that began after its commit has ended (committed),
// so its events are numbered and its readers woken by the time its caller
// hears of it. A round that fails (the database gone) leaves its events
// pending: NumberEvents, which serve runs every few seconds, numbers them,
// including those a process stopped between its commit and its round.
//
// On SQLite, which takes one writer at a time anyway, a write numbers its
// events itself and nothing is ever pending.

// numberer runs this process's numbering rounds, one at a time.
type numberer struct {
	mu sync.Mutex
	// pending are the accounts the next round numbers; next is the round
	// their writers wait for (nil: none asked yet).
	pending map[int64]struct{}
	next    *round
	// running says numberLoop runs (and will see pending).
	running bool
}

// round is one numbering round; done is closed when it has ended.
type round struct {
	done chan struct{}
}

// numberingTimeout bounds one round; a round that does not end in it leaves
// its events to the next round or to NumberEvents.
const numberingTimeout = 10 * time.Second

// committed numbers the events of a committed transaction p appended, in a
// round that begins after the commit, then wakes their readers in this
// process and (announce) in the others. It returns once that round has
// ended or ctx is done; the write has committed either way, so it returns
// nothing. On SQLite, where the write numbered its events, it only wakes.
func (s *Store) committed(ctx context.Context, p *pendingEvents) {
	if len(p.accounts) == 0 {
		return
	}
	if s.backend != Postgres {
		s.wakeAccounts(p.accounts)
		return
	}
	n := &s.numbering
	n.mu.Lock()
	if n.pending == nil {
		n.pending = map[int64]struct{}{}
	}
	for _, a := range p.accounts {
		n.pending[a] = struct{}{}
	}
	if n.next == nil {
		n.next = &round{done: make(chan struct{})}
	}
	r := n.next
	if !n.running {
		n.running = true
		go s.numberLoop()
	}
	n.mu.Unlock()
	select {
	case <-r.done:
	case <-ctx.Done():
	}
}

// wakeAccounts wakes the readers of the accounts' events in this process and,
// on PostgreSQL, in the others.
func (s *Store) wakeAccounts(accounts []int64) {
	for _, acct := range accounts {
		s.hub.wake(acct)
	}
	if s.backend == Postgres && len(accounts) > 0 {
		s.announce(accounts)
	}
}

// numberLoop runs rounds until no account is left to number. Writers that
// commit while a round runs wait for the next, which numbers all of them
// at once.
func (s *Store) numberLoop() {
	n := &s.numbering
	for {
		n.mu.Lock()
		if len(n.pending) == 0 {
			n.running = false
			n.mu.Unlock()
			return
		}
		accounts := make([]int64, 0, len(n.pending))
		for a := range n.pending {
			accounts = append(accounts, a)
		}
		clear(n.pending)
		r := n.next
		n.next = nil
		n.mu.Unlock()

		ctx, cancel := context.WithTimeout(context.Background(), numberingTimeout)
		// A failed round leaves its events pending for NumberEvents; its
		// writers have committed, so they are let go all the same.
		_, _ = s.numberRound(ctx, accounts)
		cancel()
		s.wakeAccounts(accounts)
		if r != nil {
			close(r.done)
		}
	}
}

// lockEventSeq locks the account's event_seqs row (making it at the
// account's first event) until the transaction ends: numbering rounds of
// every process take it, so an account's rounds follow each other.
const lockEventSeq = `INSERT INTO event_seqs (account_id, seq) VALUES (?, 0)
	ON CONFLICT (account_id) DO UPDATE SET seq = event_seqs.seq`

// numberPending numbers the account's pending events after its last
// number, in id order, and moves the account's sequence past them; it
// returns how many it numbered. It must run after lockEventSeq in the same
// transaction, as a statement of its own: on PostgreSQL a statement sees
// what committed before it began, so it sees every event the round before
// it numbered as numbered.
const numberPending = `WITH p AS (
		SELECT id, row_number() OVER (ORDER BY id) AS k FROM events WHERE account_id = ? AND seq < 0
	), u AS (
		UPDATE events e SET seq = (SELECT seq FROM event_seqs WHERE account_id = ?) + p.k FROM p WHERE e.id = p.id RETURNING 1
	), c AS (SELECT count(*) AS n FROM u)
	UPDATE event_seqs SET seq = event_seqs.seq + c.n FROM c WHERE event_seqs.account_id = ? AND c.n > 0 RETURNING c.n`

// numberRound numbers the pending events of the accounts in one
// transaction, sent in one round trip, and returns how many it numbered.
// The accounts' rows are locked in id order, so that two processes' rounds
// never wait for each other in a circle. It returns the database's error.
func (s *Store) numberRound(ctx context.Context, accounts []int64) (int64, error) {
	if len(accounts) == 0 || s.backend != Postgres {
		return 0, nil
	}
	accounts = slices.Clone(accounts)
	slices.Sort(accounts)
	sqlDB, err := s.db.DB()
	if err != nil {
		return 0, err
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return 0, fmt.Errorf("number events: %w", err)
	}
	defer conn.Close()
	p := &pipe{conn: conn, ctx: ctx}
	var total int64
	err = p.raw(func(c *pgx.Conn) error {
		b := &pgx.Batch{}
		b.Queue("BEGIN")
		for _, a := range accounts {
			b.Queue(numbered(lockEventSeq), a)
			b.Queue(numbered(numberPending), a, a, a)
		}
		b.Queue("COMMIT")
		br := c.SendBatch(ctx, b)
		err := func() error {
			if _, err := br.Exec(); err != nil {
				return err
			}
			for range accounts {
				if _, err := br.Exec(); err != nil {
					return err
				}
				rows, err := br.Query()
				if err != nil {
					return err
				}
				for rows.Next() {
					var n int64
					if err := rows.Scan(&n); err != nil {
						rows.Close()
						return err
					}
					total += n
				}
				rows.Close()
				if err := rows.Err(); err != nil {
					return err
				}
			}
			_, err := br.Exec()
			return err
		}()
		err = errors.Join(err, br.Close())
		if err != nil && c.PgConn().TxStatus() != 'I' {
			p.open = true
		}
		return err
	})
	if p.open {
		p.rollback()
	}
	if err != nil {
		return 0, fmt.Errorf("number events: %w", err)
	}
	return total, nil
}

// numberInTx is a numbering round of the account inside tx, a write's own
// transaction on PostgreSQL: for the write that must know its own event's
// number before it commits (CreateWebhook). The account's row stays locked
// until tx ends, so events tx appends next with appendNumbered follow every
// event committed before.
func (s *Store) numberInTx(tx *gorm.DB, accountID int64) error {
	if s.backend != Postgres {
		return nil
	}
	if err := tx.Exec(lockEventSeq, accountID).Error; err != nil {
		return err
	}
	return tx.Exec(numberPending, accountID, accountID, accountID).Error
}

// NumberEvents numbers the pending events of every account that has one
// written before before (PostgreSQL; on SQLite none is ever pending) and
// returns how many it numbered. A write numbers its own events once it
// commits; this finds those of a round that failed or of a process that
// stopped in between: a time a little in the past leaves the writes still
// waiting for their rounds to them. It returns the database's error.
func (s *Store) NumberEvents(ctx context.Context, before time.Time) (int64, error) {
	if s.backend != Postgres {
		return 0, nil
	}
	var accounts []int64
	if err := s.db.WithContext(ctx).Raw(`SELECT DISTINCT account_id FROM events WHERE seq < 0 AND created_at < ?`,
		before.UTC()).Scan(&accounts).Error; err != nil {
		return 0, wrap("find pending events", err)
	}
	if len(accounts) == 0 {
		return 0, nil
	}
	n, err := s.numberRound(ctx, accounts)
	if err != nil {
		return 0, wrap("number pending events", err)
	}
	if n > 0 {
		s.wakeAccounts(accounts)
	}
	return n, nil
}

package store

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"gorm.io/gorm"
)

// maxBatchedWrites bounds how many writes share one SQLite transaction.
const maxBatchedWrites = 64

// writeBatch groups the SQLite writes that arrive while another runs into
// one transaction, each in a savepoint of its own (group commit).
//
// SQLite takes one writer at a time, and the store's one connection runs
// each write from BEGIN to COMMIT while the others wait: under load a
// write's time went mostly to the commit (appending its pages to the WAL)
// and to handing the connection from one waiter to the next, both once per
// write. In a batch they are paid once for all. Each write still runs
// alone, in arrival order, and sees the ones before it, as it would one
// after the other: a write that fails is rolled back to its savepoint and
// leaves the others as if it had never run, and a commit that fails fails
// every write of the batch, none of which then happened.
//
// No goroutine of its own runs the batches: the first writer to find none
// running leads, running the writes queued at that moment (its own first),
// and hands the lead to the next waiter when the queue has more.
type writeBatch struct {
	mu sync.Mutex
	// queue holds the writes waiting for a batch, oldest first.
	queue []*batchedWrite
	// leading says a writer is running a batch or about to; the queue is
	// empty when it is false.
	leading bool
	// batches counts the batches run (for tests).
	batches int64
}

// batchedWrite is one write waiting in a writeBatch.
type batchedWrite struct {
	ctx context.Context
	fn  func(tx *gorm.DB) error
	// answer gets the write's result, or the lead (see writeBatch).
	answer chan batchAnswer
}

// batchAnswer is what a waiting writer is told: its result, a panic of
// its fn to raise in its own goroutine, or that it leads the next batch.
type batchAnswer struct {
	err   error
	panic any
	lead  bool
}

// do runs fn in the next batch with ctx as its statements' context, run
// (the leader's) committing each batch. It returns fn's error, the
// database's, or ctx's when ctx ended before fn's turn, and re-raises a
// panic of fn in the caller.
func (b *writeBatch) do(ctx context.Context, fn func(tx *gorm.DB) error, run func([]*batchedWrite)) error {
	w := &batchedWrite{ctx: ctx, fn: fn, answer: make(chan batchAnswer, 1)}
	b.mu.Lock()
	b.queue = append(b.queue, w)
	lead := !b.leading
	b.leading = true
	b.mu.Unlock()
	for {
		if !lead {
			a := <-w.answer
			if !a.lead {
				if a.panic != nil {
					panic(a.panic)
				}
				return a.err
			}
		}
		lead = false
		// The leader's write is first in the queue: it became leader
		// either on an empty queue or by the hand-off below, made to the
		// first waiter. So it is in this batch, and answered by run.
		b.mu.Lock()
		n := min(len(b.queue), maxBatchedWrites)
		batch := make([]*batchedWrite, n)
		copy(batch, b.queue)
		b.queue = append(b.queue[:0:0], b.queue[n:]...)
		b.batches++
		b.mu.Unlock()
		run(batch)
		b.mu.Lock()
		if len(b.queue) == 0 {
			b.leading = false
		} else {
			b.queue[0].answer <- batchAnswer{lead: true}
		}
		b.mu.Unlock()
	}
}

// queued returns how many writes wait for a batch and how many batches
// have run (for tests).
func (b *writeBatch) queued() (int, int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.queue), b.batches
}

// runBatch runs a batch of SQLite writes in one transaction and answers
// each. A write alone runs as write runs it elsewhere, its statements
// interrupted when its context ends. In a batch of more, a write whose
// context has ended by its turn is not run, and the others' statements run
// to their end whoever hangs up: SQLite answers an interrupted write inside
// a transaction by rolling back the whole transaction, with the other
// writes of the batch in it.
func (s *Store) runBatch(batch []*batchedWrite) {
	answers := make([]batchAnswer, len(batch))
	var err error
	if len(batch) == 1 {
		w := batch[0]
		err = s.db.WithContext(w.ctx).Transaction(func(tx *gorm.DB) error {
			answers[0] = callWrite(tx, w.fn)
			if answers[0].panic != nil {
				return errWritePanicked
			}
			return answers[0].err
		})
	} else {
		err = s.db.WithContext(context.Background()).Transaction(func(tx *gorm.DB) error {
			for i, w := range batch {
				if err := w.ctx.Err(); err != nil {
					answers[i].err = err
					continue
				}
				if err := execIn(tx, `SAVEPOINT batched_write`); err != nil {
					return err
				}
				answers[i] = callWrite(tx.WithContext(context.WithoutCancel(w.ctx)), w.fn)
				if answers[i].err != nil || answers[i].panic != nil {
					if err := execIn(tx, `ROLLBACK TO batched_write`); err != nil {
						return fmt.Errorf("roll back a failed write of a batch: %w", err)
					}
				}
				if err := execIn(tx, `RELEASE batched_write`); err != nil {
					return err
				}
			}
			return nil
		})
	}
	for i, w := range batch {
		a := answers[i]
		if err != nil && a.err == nil && a.panic == nil {
			a.err = err
		}
		w.answer <- a
	}
}

// errWritePanicked rolls back the transaction of a write that panicked;
// the panic itself is raised again in the write's caller.
var errWritePanicked = errors.New("store: the write panicked")

// callWrite runs fn in tx and returns its result, or its panic to raise
// again in the goroutine that asked for the write, so that one write's
// panic neither leaves the others of its batch waiting nor is taken for
// theirs.
func callWrite(tx *gorm.DB, fn func(tx *gorm.DB) error) (a batchAnswer) {
	defer func() {
		if r := recover(); r != nil {
			a = batchAnswer{panic: r}
		}
	}()
	return batchAnswer{err: fn(tx)}
}

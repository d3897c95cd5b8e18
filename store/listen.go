package store

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// listener is what listen does on one PostgreSQL channel: up runs once each
// connection listens (what was sent while there was none is missed, so up
// makes up for it), note for each notification, down when a connection is
// lost or listen ends.
type listener struct {
	channel string
	what    string // names the listener in the log
	up      func()
	note    func(*pgconn.Notification)
	down    func()
}

// listen runs l on its own connection until ctx is done; it then returns
// nil. A lost connection is logged and made again after a second. On SQLite,
// where there is no channel, it returns nil at once.
func (s *Store) listen(ctx context.Context, log *slog.Logger, l listener) error {
	if s.backend != Postgres {
		return nil
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	for ctx.Err() == nil {
		err := s.listenOnce(ctx, l)
		if l.down != nil {
			l.down()
		}
		if ctx.Err() != nil {
			return nil
		}
		log.Warn(l.what+" lost its connection; reconnecting", "err", err)
		t := time.NewTimer(time.Second)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
	return nil
}

// listenOnce listens on one connection until it fails or ctx is done.
func (s *Store) listenOnce(ctx context.Context, l listener) error {
	conn, err := pgx.Connect(ctx, s.dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+l.channel); err != nil {
		return err
	}
	l.up()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return ctx.Err()
			}
			return err
		}
		l.note(n)
	}
}

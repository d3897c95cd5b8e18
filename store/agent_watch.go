package store

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// agentsChannel is the PostgreSQL channel on which migration 0023's trigger
// announces every committed change of an agent's email, password, role or
// enabled flag (and every deleted agent), whoever made it.
const agentsChannel = "switchboard_agents"

// agentWatch counts the changes to agents that this process knows of, so
// that a reader of agents (Basic auth) may reuse what it read until the
// count moves.
type agentWatch struct {
	mu      sync.Mutex
	version uint64
	// live: on PostgreSQL, ListenAgents is connected, so other processes'
	// changes reach version.
	live bool
}

func (w *agentWatch) bump() {
	w.mu.Lock()
	w.version++
	w.mu.Unlock()
}

// AgentsVersion returns a number that moves after every committed change of
// an agent's email, password, role or enabled flag: this process's at once
// (UpdateAgent moves it before it returns), another process's when its
// notification arrives. ok is false when other processes' changes cannot be
// seen now: then nothing read of an agent may be reused. That is PostgreSQL
// while ListenAgents is not connected, and SQLite always: the admin
// commands (agent set-password, agent disable) are other processes writing
// the same file, and SQLite tells no one.
func (s *Store) AgentsVersion() (version uint64, ok bool) {
	s.agents.mu.Lock()
	defer s.agents.mu.Unlock()
	return s.agents.version, s.backend == Postgres && s.agents.live
}

// ListenAgents keeps AgentsVersion up to date with the changes other
// processes on the same PostgreSQL database commit (LISTEN on
// agentsChannel), until ctx is done; it then returns nil. A lost connection
// is logged and made again after a second; meanwhile AgentsVersion says it
// is not live, and it moves when the connection is back, in case a change
// was missed. On SQLite it returns nil at once.
func (s *Store) ListenAgents(ctx context.Context, log *slog.Logger) error {
	if s.backend != Postgres {
		return nil
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	for ctx.Err() == nil {
		err := s.listenAgentsOnce(ctx)
		s.agents.mu.Lock()
		s.agents.live = false
		s.agents.mu.Unlock()
		if ctx.Err() != nil {
			return nil
		}
		log.Warn("agent listener lost its connection; reconnecting", "err", err)
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

// listenAgentsOnce listens on one connection until it fails or ctx is done.
func (s *Store) listenAgentsOnce(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, s.dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+agentsChannel); err != nil {
		return err
	}
	s.agents.mu.Lock()
	s.agents.version++ // a change may have come while there was no connection
	s.agents.live = true
	s.agents.mu.Unlock()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return ctx.Err()
			}
			return err
		}
		s.agents.bump()
	}
}

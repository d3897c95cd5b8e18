package store

import (
	"context"
	"log/slog"
	"sync"

	"github.com/jackc/pgx/v5/pgconn"
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
	return s.listen(ctx, log, listener{
		channel: agentsChannel,
		what:    "agent listener",
		up: func() {
			s.agents.mu.Lock()
			s.agents.version++ // a change may have come while there was no connection
			s.agents.live = true
			s.agents.mu.Unlock()
		},
		note: func(*pgconn.Notification) { s.agents.bump() },
		down: func() {
			s.agents.mu.Lock()
			s.agents.live = false
			s.agents.mu.Unlock()
		},
	})
}

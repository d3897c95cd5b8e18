package store_test

import (
	"context"
	"testing"
	"time"

	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

// TestStore_AgentsVersion checks that AgentsVersion moves after UpdateAgent
// commits, that on PostgreSQL it is live only while ListenAgents is
// connected, and that it then moves after a change made by SQL outside the
// store (as another replica's, or one typed by hand).
func TestStore_AgentsVersion(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		acct := storetest.MustAccount(t, s, "A")
		ag := storetest.MustAgent(t, s, acct.ID, "boss@example.com", models.RoleSuperadmin, hash)
		v0, live := s.AgentsVersion()
		if live {
			t.Fatal("live without a listener (SQLite: never, as other processes write the file unheard)")
		}
		off := false
		if _, err := s.UpdateAgent(ctx, acct.ID, ag.ID, store.AgentUpdate{Enabled: &off}); err != nil {
			t.Fatal(err)
		}
		v1, _ := s.AgentsVersion()
		if v1 == v0 {
			t.Errorf("version %d unmoved by UpdateAgent", v1)
		}
		if s.Backend() != store.Postgres {
			return
		}
		lctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- s.ListenAgents(lctx, nil) }()
		// Waits for the listener's connection, which it makes on its own
		// time; the deadline only ends a hung test.
		v2 := waitVersion(t, s, func(v uint64, live bool) bool { return live })
		if err := s.GORM().Exec("UPDATE agents SET enabled = true WHERE id = ?", ag.ID).Error; err != nil {
			t.Fatal(err)
		}
		waitVersion(t, s, func(v uint64, live bool) bool { return live && v != v2 })
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ListenAgents = %v after its context ended, want nil", err)
		}
		if _, live := s.AgentsVersion(); live {
			t.Error("live after ListenAgents returned")
		}
	})
}

// waitVersion waits until ok holds for AgentsVersion and returns the version.
func waitVersion(t *testing.T, s *store.Store, ok func(v uint64, live bool) bool) uint64 {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		v, live := s.AgentsVersion()
		if ok(v, live) {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("AgentsVersion = %d, %v after a minute", v, live)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

package store_test

import (
	"errors"
	"testing"

	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

func TestAdminLists_ByAccount(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		a := storetest.MustAccount(t, s, "A")
		b := storetest.MustAccount(t, s, "B")
		ann := storetest.MustAgent(t, s, a.ID, "ann@example.com", models.RoleAdmin, "h1")
		bob := storetest.MustAgent(t, s, a.ID, "bob@example.com", models.RoleAgent, "h2")
		storetest.MustAgent(t, s, b.ID, "cy@example.com", models.RoleAgent, "h3")
		s1, err := s.CreateSite(ctx, a.ID, "a.example.com")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateSite(ctx, b.ID, "b.example.com"); err != nil {
			t.Fatal(err)
		}
		in, err := s.CreateInbox(ctx, a.ID, models.InboxEmail, "help@a.example.com")
		if err != nil {
			t.Fatal(err)
		}

		t.Run("accounts", func(t *testing.T) {
			list, err := s.Accounts(ctx)
			if err != nil || len(list) != 2 || list[0].ID != a.ID || list[1].ID != b.ID || list[0].Name != "A" {
				t.Errorf("Accounts = %+v, %v", list, err)
			}
		})
		t.Run("agents of one account", func(t *testing.T) {
			list, err := s.AccountAgents(ctx, a.ID)
			if err != nil || len(list) != 2 || list[0].ID != ann.ID || list[1].ID != bob.ID {
				t.Errorf("AccountAgents = %+v, %v", list, err)
			}
		})
		t.Run("sites of one account", func(t *testing.T) {
			list, err := s.Sites(ctx, a.ID)
			if err != nil || len(list) != 1 || list[0].ID != s1.ID || list[0].Domain != "a.example.com" {
				t.Errorf("Sites = %+v, %v", list, err)
			}
		})
		t.Run("inboxes of one account, no secret", func(t *testing.T) {
			list, err := s.Inboxes(ctx, a.ID)
			if err != nil || len(list) != 1 || list[0].ID != in.ID || list[0].Secret != "" || list[0].Address != "help@a.example.com" {
				t.Errorf("Inboxes = %+v, %v", list, err)
			}
			if list, err := s.Inboxes(ctx, b.ID); err != nil || len(list) != 0 {
				t.Errorf("Inboxes of B = %+v, %v; want an empty list", list, err)
			}
		})
		unknown := []struct {
			name string
			call func() error
		}{
			{"agents", func() error { _, err := s.AccountAgents(ctx, 987654); return err }},
			{"sites", func() error { _, err := s.Sites(ctx, 987654); return err }},
			{"inboxes", func() error { _, err := s.Inboxes(ctx, 987654); return err }},
		}
		for _, tt := range unknown {
			t.Run(tt.name+" of an unknown account", func(t *testing.T) {
				var nf *store.NotFoundError
				if err := tt.call(); !errors.As(err, &nf) || nf.Entity != "account" || nf.ID != 987654 {
					t.Errorf("err = %v, want account 987654 not found", err)
				}
			})
		}
	})
}

func TestAdminLists_SetAgentPassword(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		a := storetest.MustAccount(t, s, "A")
		b := storetest.MustAccount(t, s, "B")
		ann := storetest.MustAgent(t, s, a.ID, "ann@example.com", models.RoleSuperadmin, "old-hash")
		session, err := s.CreateAPIKey(ctx, a.ID, store.NewAPIKey{ID: "sess-1", AgentID: &ann.ID, Kind: models.KeySession})
		if err != nil {
			t.Fatal(err)
		}
		apiKey, err := s.CreateAPIKey(ctx, a.ID, store.NewAPIKey{ID: "api-1", AgentID: &ann.ID})
		if err != nil {
			t.Fatal(err)
		}

		got, err := s.SetAgentPassword(ctx, a.ID, ann.ID, "new-hash")
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != ann.ID || got.PasswordHash != "new-hash" {
			t.Errorf("agent = %+v", got)
		}
		if read, err := s.AgentByEmail(ctx, "ann@example.com"); err != nil || read.PasswordHash != "new-hash" {
			t.Errorf("stored hash = %q, %v", read.PasswordHash, err)
		}
		t.Run("revokes the agent's login sessions", func(t *testing.T) {
			k, err := s.APIKey(ctx, session.ID)
			if err != nil || k.Key.RevokedAt == nil {
				t.Errorf("session = %+v, %v; want it revoked", k.Key, err)
			}
		})
		t.Run("keeps its API keys", func(t *testing.T) {
			k, err := s.APIKey(ctx, apiKey.ID)
			if err != nil || k.Key.RevokedAt != nil {
				t.Errorf("api key = %+v, %v; want it working", k.Key, err)
			}
		})
		t.Run("records agent.updated naming the password only", func(t *testing.T) {
			evs, err := s.Events(ctx, a.ID, store.EventFilter{Types: []models.EventType{models.EventAgentUpdated}})
			if err != nil || len(evs) != 1 || evs[0].AgentID != ann.ID {
				t.Fatalf("events = %+v, %v", evs, err)
			}
		})
		errs := []struct {
			name          string
			account, id   int64
			hash          string
			entity        string
			wantFieldErrs bool
		}{
			{name: "another account's agent", account: b.ID, id: ann.ID, hash: "x", entity: "agent"},
			{name: "unknown agent", account: a.ID, id: 987654, hash: "x", entity: "agent"},
			{name: "unknown account", account: 987654, id: ann.ID, hash: "x", entity: "account"},
			{name: "empty hash", account: a.ID, id: ann.ID, hash: "", wantFieldErrs: true},
		}
		for _, tt := range errs {
			t.Run(tt.name, func(t *testing.T) {
				_, err := s.SetAgentPassword(ctx, tt.account, tt.id, tt.hash)
				if tt.wantFieldErrs {
					var fe store.FieldErrors
					if !errors.As(err, &fe) {
						t.Errorf("err = %v, want FieldErrors", err)
					}
					return
				}
				var nf *store.NotFoundError
				if !errors.As(err, &nf) || nf.Entity != tt.entity {
					t.Errorf("err = %v, want %s not found", err, tt.entity)
				}
			})
		}
		if read, _ := s.AgentByEmail(ctx, "ann@example.com"); read.PasswordHash != "new-hash" {
			t.Errorf("a refused change wrote the hash: %q", read.PasswordHash)
		}
	})
}

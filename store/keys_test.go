package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

// MustAPIKey stores a key of the account for the agent (nil: the default agent).
func MustAPIKey(tb testing.TB, s *store.Store, accountID int64, id string, agentID *int64) models.APIKey {
	tb.Helper()
	k, err := s.CreateAPIKey(context.Background(), accountID, store.NewAPIKey{ID: id, AgentID: agentID})
	if err != nil {
		tb.Fatalf("create api key %s: %v", id, err)
	}
	return k
}

func TestStore_CreateAPIKey(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		a1 := storetest.MustAccount(t, s, "A")
		a2 := storetest.MustAccount(t, s, "B")
		noBoss := storetest.MustAccount(t, s, "C")
		off := storetest.MustAgent(t, s, a1.ID, "off@example.com", models.RoleSuperadmin, hash)
		disabled := false
		if _, err := s.UpdateAgent(ctx, a1.ID, off.ID, store.AgentUpdate{Enabled: &disabled}); err != nil {
			t.Fatal(err)
		}
		boss := storetest.MustAgent(t, s, a1.ID, "boss@example.com", models.RoleSuperadmin, hash)
		storetest.MustAgent(t, s, a1.ID, "boss2@example.com", models.RoleSuperadmin, hash)
		helper := storetest.MustAgent(t, s, a1.ID, "helper@example.com", models.RoleAgent, hash)
		other := storetest.MustAgent(t, s, a2.ID, "other@example.com", models.RoleSuperadmin, hash)
		storetest.MustAgent(t, s, noBoss.ID, "admin@example.com", models.RoleAdmin, hash)
		expires := time.Date(2030, 1, 2, 3, 4, 5, 678_901_234, time.FixedZone("X", 3600))
		missing := int64(999_999)

		tests := []struct {
			name      string
			account   int64
			in        store.NewAPIKey
			wantAgent int64
			wantErr   error
			wantField string
		}{
			{"default agent is the first enabled superadmin", a1.ID, store.NewAPIKey{ID: "k-default", Name: " ci ", Scopes: "read,chat"}, boss.ID, nil, ""},
			{"explicit agent", a1.ID, store.NewAPIKey{ID: "k-helper", AgentID: &helper.ID, ExpiresAt: &expires}, helper.ID, nil, ""},
			{"another account's agent", a1.ID, store.NewAPIKey{ID: "k-x1", AgentID: &other.ID}, 0, store.ErrNotFound, ""},
			{"unknown agent", a1.ID, store.NewAPIKey{ID: "k-x2", AgentID: &missing}, 0, store.ErrNotFound, ""},
			{"unknown account", missing, store.NewAPIKey{ID: "k-x3"}, 0, store.ErrNotFound, ""},
			{"account without a superadmin", noBoss.ID, store.NewAPIKey{ID: "k-x4"}, 0, store.ErrNotFound, ""},
			{"empty id", a1.ID, store.NewAPIKey{ID: "  "}, 0, nil, "id"},
			{"duplicate id", a2.ID, store.NewAPIKey{ID: "k-default"}, 0, store.ErrConflict, ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				k, err := s.CreateAPIKey(ctx, tt.account, tt.in)
				switch {
				case tt.wantField != "":
					assertFields(t, err, []string{tt.wantField})
					return
				case tt.wantErr != nil:
					if !errors.Is(err, tt.wantErr) {
						t.Fatalf("err = %v, want %v", err, tt.wantErr)
					}
					return
				case err != nil:
					t.Fatal(err)
				}
				if k.ID != tt.in.ID || k.AccountID != tt.account || k.AgentID != tt.wantAgent || k.CreatedAt.IsZero() {
					t.Errorf("key = %+v, want agent %d", k, tt.wantAgent)
				}
				got, err := s.APIKey(ctx, k.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got.Agent.ID != tt.wantAgent || got.Key.Scopes != tt.in.Scopes || !got.Key.CreatedAt.Equal(k.CreatedAt) {
					t.Errorf("stored = %+v, created = %+v", got, k)
				}
				if got.Key.Name != "ci" && tt.in.Name != "" {
					t.Errorf("name = %q, want it trimmed", got.Key.Name)
				}
				if (tt.in.ExpiresAt == nil) != (got.Key.ExpiresAt == nil) ||
					tt.in.ExpiresAt != nil && !got.Key.ExpiresAt.Equal(tt.in.ExpiresAt.Truncate(time.Microsecond)) {
					t.Errorf("expires_at = %v, want %v", got.Key.ExpiresAt, tt.in.ExpiresAt)
				}
			})
		}
	})
}

func TestStore_APIKey(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		a := storetest.MustAccount(t, s, "A")
		boss := storetest.MustAgent(t, s, a.ID, "boss@example.com", models.RoleSuperadmin, hash)
		MustAPIKey(t, s, a.ID, "k1", nil)
		tests := []struct {
			name    string
			id      string
			wantErr error
		}{
			{"known", "k1", nil},
			{"unknown", "k2", store.ErrNotFound},
			{"empty", "", store.ErrNotFound},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := s.APIKey(t.Context(), tt.id)
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if err == nil && (got.Key.ID != tt.id || got.Agent.ID != boss.ID || got.Agent.Email != "boss@example.com" || got.Key.CreatedAt.Location() != time.UTC) {
					t.Errorf("got %+v", got)
				}
			})
		}
	})
}

func TestStore_ListAPIKeys(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		a1 := storetest.MustAccount(t, s, "A")
		a2 := storetest.MustAccount(t, s, "B")
		empty := storetest.MustAccount(t, s, "C")
		storetest.MustAgent(t, s, a1.ID, "one@example.com", models.RoleSuperadmin, hash)
		storetest.MustAgent(t, s, a2.ID, "two@example.com", models.RoleSuperadmin, hash)
		for _, id := range []string{"k1", "k2", "k3"} {
			MustAPIKey(t, s, a1.ID, id, nil)
		}
		MustAPIKey(t, s, a2.ID, "other", nil)
		tests := []struct {
			name    string
			account int64
			want    []string
			wantErr error
		}{
			{"oldest first, own keys only", a1.ID, []string{"k1", "k2", "k3"}, nil},
			{"other account", a2.ID, []string{"other"}, nil},
			{"no keys", empty.ID, []string{}, nil},
			{"unknown account", 999_999, nil, store.ErrNotFound},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				keys, err := s.ListAPIKeys(t.Context(), tt.account)
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if err != nil {
					return
				}
				if keys == nil {
					t.Error("nil list, want an empty one")
				}
				got := []string{}
				for _, k := range keys {
					got = append(got, k.ID)
				}
				if fmt.Sprint(got) != fmt.Sprint(tt.want) {
					t.Errorf("keys = %v, want %v", got, tt.want)
				}
			})
		}
	})
}

func TestStore_RevokeAPIKey(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		a := storetest.MustAccount(t, s, "A")
		storetest.MustAgent(t, s, a.ID, "boss@example.com", models.RoleSuperadmin, hash)
		MustAPIKey(t, s, a.ID, "k1", nil)
		MustAPIKey(t, s, a.ID, "k2", nil)
		var first time.Time
		tests := []struct {
			name    string
			id      string
			wantErr error
			check   func(t *testing.T, k models.APIKey)
		}{
			{"first revocation", "k1", nil, func(t *testing.T, k models.APIKey) {
				if k.RevokedAt == nil {
					t.Fatal("revoked_at not set")
				}
				first = *k.RevokedAt
			}},
			{"second keeps the first time", "k1", nil, func(t *testing.T, k models.APIKey) {
				if k.RevokedAt == nil || !k.RevokedAt.Equal(first) {
					t.Errorf("revoked_at = %v, want %v", k.RevokedAt, first)
				}
			}},
			{"unknown key", "nope", store.ErrNotFound, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				k, err := s.RevokeAPIKey(t.Context(), tt.id)
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if tt.check != nil {
					tt.check(t, k)
				}
			})
		}
		if got, err := s.APIKey(t.Context(), "k2"); err != nil || got.Key.RevokedAt != nil {
			t.Errorf("revoking k1 touched k2: %+v %v", got.Key, err)
		}
	})
}

func TestStore_TouchAPIKey(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		a := storetest.MustAccount(t, s, "A")
		storetest.MustAgent(t, s, a.ID, "boss@example.com", models.RoleSuperadmin, hash)
		MustAPIKey(t, s, a.ID, "k1", nil)
		t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
		// Steps run in order against one key.
		tests := []struct {
			name string
			id   string
			at   time.Time
			want time.Time
		}{
			{"first use is written", "k1", t0, t0},
			{"within the minute is not", "k1", t0.Add(30 * time.Second), t0},
			{"exactly a minute later is not", "k1", t0.Add(time.Minute), t0},
			{"over a minute later is", "k1", t0.Add(61 * time.Second), t0.Add(61 * time.Second)},
			{"an older time is not", "k1", t0, t0.Add(61 * time.Second)},
			{"unknown key is no error", "nope", t0, t0.Add(61 * time.Second)},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if err := s.TouchAPIKey(t.Context(), tt.id, tt.at); err != nil {
					t.Fatal(err)
				}
				got, err := s.APIKey(t.Context(), "k1")
				if err != nil {
					t.Fatal(err)
				}
				if got.Key.LastUsedAt == nil || !got.Key.LastUsedAt.Equal(tt.want) {
					t.Errorf("last_used_at = %v, want %v", got.Key.LastUsedAt, tt.want)
				}
			})
		}
	})
}

func TestStore_Setting(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		value := func(v string) func() (string, error) { return func() (string, error) { return v, nil } }
		boom := errors.New("boom")
		tests := []struct {
			name     string
			setting  string
			generate func() (string, error)
			want     string
			wantErr  error
		}{
			{"generated when absent", "a", value("first"), "first", nil},
			{"stored value wins", "a", value("second"), "first", nil},
			{"generate fails", "b", func() (string, error) { return "", boom }, "", boom},
			{"nothing stored after a failure", "b", value("third"), "third", nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := s.Setting(ctx, tt.setting, tt.generate)
				if !errors.Is(err, tt.wantErr) || got != tt.want {
					t.Errorf("Setting = %q, %v; want %q, %v", got, err, tt.want, tt.wantErr)
				}
			})
		}
		t.Run("empty name", func(t *testing.T) {
			_, err := s.Setting(ctx, "", value("x"))
			assertFields(t, err, []string{"name"})
		})
		t.Run("replicas race", func(t *testing.T) {
			// On PostgreSQL separate stores on one database stand for
			// replicas. SQLite serves one process, so there the calls race
			// within one store.
			u := storetest.MustURL(t, s.Backend())
			replicas := []*store.Store{storetest.MustOpenURL(t, u)}
			if s.Backend() == store.Postgres {
				replicas = append(replicas, storetest.MustOpenURL(t, u), storetest.MustOpenURL(t, u))
			}
			const n = 9
			var wg sync.WaitGroup
			got := make([]string, n)
			errs := make([]error, n)
			for i := range n {
				wg.Go(func() {
					got[i], errs[i] = replicas[i%len(replicas)].Setting(ctx, "raced", value(fmt.Sprint("v", i)))
				})
			}
			wg.Wait()
			for i := range n {
				if errs[i] != nil || got[i] != got[0] {
					t.Errorf("replica %d got %q, %v; replica 0 got %q", i, got[i], errs[i], got[0])
				}
			}
		})
	})
}

package auth

import (
	"context"
	"errors"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

// finderOnly hides its finder's other methods (AgentsVersion).
type finderOnly struct{ AgentFinder }

// TestBasic_AgentTTL checks the bound AgentTTL sets: a change to the agent
// (password, role, disabling) reaches a caller whose credentials were just
// verified only once the agent's last read is AgentTTL old, and at once
// without AgentTTL.
func TestBasic_AgentTTL(t *testing.T) {
	h := Hasher{Cost: bcrypt.MinCost}
	newHash, _ := h.Hash("password-2")
	role, off := models.RoleAgent, false
	tests := []struct {
		name     string
		agentTTL time.Duration
		change   store.AgentUpdate
		// wantSoon is the answer right after the change; after AgentTTL it
		// is always the changed agent's.
		wantSoon error
		wantRole models.Role
	}{
		{"password change within the bound", time.Second, store.AgentUpdate{PasswordHash: &newHash}, nil, models.RoleSuperadmin},
		{"password change without one", 0, store.AgentUpdate{PasswordHash: &newHash}, ErrBadCredentials, ""},
		{"disabled within the bound", time.Second, store.AgentUpdate{Enabled: &off}, nil, models.RoleSuperadmin},
		{"role change within the bound", time.Second, store.AgentUpdate{Role: &role}, nil, models.RoleSuperadmin},
		{"role change without one", 0, store.AgentUpdate{Role: &role}, nil, models.RoleAgent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := storetest.MustOpen(t, store.SQLite)
			ctx := context.Background()
			hash, _ := h.Hash("password-1")
			acct := storetest.MustAccount(t, s, "A")
			ag := storetest.MustAgent(t, s, acct.ID, "boss@example.com", models.RoleSuperadmin, hash)
			clk := &clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
			// The store's AgentsVersion would end the bound at the change
			// (TestBasic_AgentVersions): without it, the bound is all.
			b, err := NewBasic(finderOnly{s}, BasicOptions{Hasher: h, CacheTTL: time.Minute, AgentTTL: tt.agentTTL, Now: clk.Now})
			if err != nil {
				t.Fatal(err)
			}
			if c, err := b.Authenticate(ctx, "boss@example.com", "password-1", testAddr); err != nil || c.AgentID != ag.ID {
				t.Fatalf("first login = %+v, %v", c, err)
			}
			if _, err := s.UpdateAgent(ctx, acct.ID, ag.ID, tt.change); err != nil {
				t.Fatal(err)
			}
			c, err := b.Authenticate(ctx, "boss@example.com", "password-1", testAddr)
			if !errors.Is(err, tt.wantSoon) || err == nil && c.Role != tt.wantRole {
				t.Errorf("right after the change = %+v, %v; want role %q, err %v", c, err, tt.wantRole, tt.wantSoon)
			}
			clk.Advance(tt.agentTTL + time.Millisecond)
			c, err = b.Authenticate(ctx, "boss@example.com", "password-1", testAddr)
			switch {
			case tt.change.Role != nil:
				if err != nil || c.Role != models.RoleAgent {
					t.Errorf("after AgentTTL = %+v, %v; want the new role", c, err)
				}
			case !errors.Is(err, ErrBadCredentials):
				t.Errorf("after AgentTTL err = %v, want ErrBadCredentials", err)
			}
		})
	}
}

// countingFinder counts its store's AgentByEmail calls and reports its
// store's AgentsVersion as live (a SQLite store's never is: the listener of
// PostgreSQL's is stood in for), or none live when notLive.
type countingFinder struct {
	*store.Store
	reads   int
	notLive bool
}

func (f *countingFinder) AgentByEmail(ctx context.Context, email string) (models.Agent, error) {
	f.reads++
	return f.Store.AgentByEmail(ctx, email)
}

func (f *countingFinder) AgentsVersion() (uint64, bool) {
	v, _ := f.Store.AgentsVersion()
	return v, !f.notLive
}

// TestBasic_AgentVersions checks that with the store's AgentsVersion the
// default Basic reads the agent of verified credentials once until an agent
// changes, and that the change counts at once; without a live version, or
// with a negative AgentTTL, it reads the agent on every request.
func TestBasic_AgentVersions(t *testing.T) {
	h := Hasher{Cost: bcrypt.MinCost}
	newHash, _ := h.Hash("password-2")
	role, off := models.RoleAgent, false
	tests := []struct {
		name     string
		agentTTL time.Duration
		notLive  bool
		change   store.AgentUpdate
		// wantReads: the agent reads of three logins before the change.
		wantReads int
		// wantErr and wantRole: the login right after the change.
		wantErr  error
		wantRole models.Role
	}{
		{"password change", 0, false, store.AgentUpdate{PasswordHash: &newHash}, 1, ErrBadCredentials, ""},
		{"disabled", 0, false, store.AgentUpdate{Enabled: &off}, 1, ErrBadCredentials, ""},
		{"role change", 0, false, store.AgentUpdate{Role: &role}, 1, nil, models.RoleAgent},
		{"password change within a bound", time.Hour, false, store.AgentUpdate{PasswordHash: &newHash}, 1, ErrBadCredentials, ""},
		{"not live", 0, true, store.AgentUpdate{PasswordHash: &newHash}, 3, ErrBadCredentials, ""},
		{"never reused", -1, false, store.AgentUpdate{Role: &role}, 3, nil, models.RoleAgent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := storetest.MustOpen(t, store.SQLite)
			ctx := context.Background()
			hash, _ := h.Hash("password-1")
			acct := storetest.MustAccount(t, s, "A")
			ag := storetest.MustAgent(t, s, acct.ID, "boss@example.com", models.RoleSuperadmin, hash)
			f := &countingFinder{Store: s, notLive: tt.notLive}
			b, err := NewBasic(f, BasicOptions{Hasher: h, AgentTTL: tt.agentTTL})
			if err != nil {
				t.Fatal(err)
			}
			for range 3 {
				if c, err := b.Authenticate(ctx, "boss@example.com", "password-1", testAddr); err != nil || c.AgentID != ag.ID {
					t.Fatalf("login = %+v, %v", c, err)
				}
			}
			if f.reads != tt.wantReads {
				t.Errorf("agent read %d times for three logins, want %d", f.reads, tt.wantReads)
			}
			if _, err := s.UpdateAgent(ctx, acct.ID, ag.ID, tt.change); err != nil {
				t.Fatal(err)
			}
			c, err := b.Authenticate(ctx, "boss@example.com", "password-1", testAddr)
			if !errors.Is(err, tt.wantErr) || err == nil && c.Role != tt.wantRole {
				t.Errorf("right after the change = %+v, %v; want role %q, err %v", c, err, tt.wantRole, tt.wantErr)
			}
		})
	}
}

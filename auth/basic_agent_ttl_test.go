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
			b, err := NewBasic(s, BasicOptions{Hasher: h, CacheTTL: time.Minute, AgentTTL: tt.agentTTL, Now: clk.Now})
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

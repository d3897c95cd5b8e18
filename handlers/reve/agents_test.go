package reve_test

import (
	"fmt"
	"testing"

	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

// agentJSON is what REVE shows for a.
func agentJSON(a models.Agent, role string) map[string]any {
	return map[string]any{
		"agent_id": a.ID, "first_name": a.FirstName, "last_name": a.LastName, "email": a.Email, "phone_no": a.Phone,
		"role": role, "status": "Offline", "last_login_time": msOrNil(a.LastLoginAt),
		"concurrent_chat_limit": a.ConcurrentChatLimit, "create_time": ms(a.CreatedAt),
		"designation": "", "additional_info": "", "enabled": map[bool]int{true: 1, false: 0}[a.Enabled],
	}
}

func TestAgents_List(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		p := mustPeople(t, st, 2)
		// The first request logs the superadmin in; read the agents after it.
		p.mustOK(t, "/api/agents")
		boss := mustAgentNow(t, st, p.superadmin)
		if boss.LastLoginAt == nil {
			t.Fatal("a Basic login did not record the superadmin's last login")
		}
		all := []map[string]any{
			agentJSON(boss, "Super Admin"),
			agentJSON(mustAgentNow(t, st, p.agents[0]), "Admin"),
			agentJSON(mustAgentNow(t, st, p.agents[1]), "Agent"),
			agentJSON(mustAgentNow(t, st, p.disabled), "Agent"),
		}
		if all[1]["last_login_time"] != nil || all[3]["enabled"] != 0 || all[0]["enabled"] != 1 {
			t.Fatalf("fixture: %v", all)
		}
		tests := []struct {
			name, path string
			want       []map[string]any
		}{
			{"default page", "/api/agents", all[:2]},
			{"trailing slash", "/api/agents/", all[:2]},
			{"empty page_no", "/api/agents?page_no=", all[:2]},
			{"page 2", "/api/agents?page_no=2", all[2:]},
			{"page 002, trailing slash", "/api/agents/?page_no=002", all[2:]},
			{"past the end", "/api/agents?page_no=3", []map[string]any{}},
			{"largest int64 page", "/api/agents?page_no=9223372036854775807", []map[string]any{}},
			{"huge page", "/api/agents?page_no=99999999999999999999999", []map[string]any{}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				assertJSON(t, p.mustOK(t, tt.path), jsonOf(t, tt.want))
			})
		}
		t.Run("other account sees only its own", func(t *testing.T) {
			r := p.get(t, "/api/agents", p.other.Email, password)
			other := mustAgentNow(t, st, p.other)
			assertJSON(t, r.body, jsonOf(t, []map[string]any{agentJSON(other, "Super Admin")}))
		})
	})
}

func TestAgents_Get(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		p := mustPeople(t, st, 20)
		p.mustOK(t, "/api/agents")
		tests := []struct {
			name  string
			agent models.Agent
			path  string
			role  string
		}{
			{"superadmin", p.superadmin, fmt.Sprint("/api/agents/", p.superadmin.ID), "Super Admin"},
			{"admin, trailing slash", p.agents[0], fmt.Sprint("/api/agents/", p.agents[0].ID, "/"), "Admin"},
			{"agent, leading zeros", p.agents[1], fmt.Sprint("/api/agents/00", p.agents[1].ID), "Agent"},
			{"disabled", p.disabled, fmt.Sprint("/api/agents/", p.disabled.ID), "Agent"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got := p.mustOK(t, tt.path)
				assertJSON(t, got, jsonOf(t, agentJSON(mustAgentNow(t, st, tt.agent), tt.role)))
			})
		}
	})
}

func TestAgents_Errors(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		p := mustPeople(t, st, 2)
		boss := p.superadmin.Email
		foreign := fmt.Sprint(p.other.ID)
		invalid := func(v string) string {
			return reveError(400, "Invalid Agent Id: "+v+". Please enter a valid Agent Id.")
		}
		notFound := func(v string) string {
			return reveError(404, "No Record found for Agent Id = "+v+". Please enter a another Agent Id.")
		}
		tests := append(authErrors("/api/agents", fmt.Sprint("/api/agents/", p.superadmin.ID)), pageErrors("/api/agents")...)
		tests = append(tests, []errorCase{
			{"id -14", "/api/agents/-14", boss, password, 400, invalid("-14")},
			{"id 0", "/api/agents/0", boss, password, 400, invalid("0")},
			{"id abc, trailing slash", "/api/agents/abc/", boss, password, 400, invalid("abc")},
			{"id 1.5", "/api/agents/1.5", boss, password, 400, invalid("1.5")},
			{"id unknown", "/api/agents/744", boss, password, 404, notFound("744")},
			{"id huge", "/api/agents/99999999999999999999999", boss, password, 404, notFound("99999999999999999999999")},
			{"id of another account", "/api/agents/" + foreign, boss, password, 404, notFound(foreign)},
			{"id of another account, trailing slash", "/api/agents/" + foreign + "/", boss, password, 404, notFound(foreign)},
		}...)
		runErrors(t, p.fixture, tests)
	})
}

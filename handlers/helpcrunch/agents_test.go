package helpcrunch_test

import (
	"fmt"
	"net/http"
	"testing"

	"switchboard/store"
	"switchboard/store/storetest"
)

func TestAgents_List(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		boss, agent := f.boss.ID, f.agent.ID
		t.Run("shape", func(t *testing.T) {
			r := mustOK(t, f.do(t, http.MethodGet, "/v1/agents", f.readToken, ""))
			assertJSON(t, mustJSON(t, r), `{"data":[`+agentJSON(f.boss)+`,`+agentJSON(f.agent)+`],"total":2}`)
		})
		tests := []struct {
			query string
			want  []int64
		}{
			{"", []int64{boss, agent}},
			{"?limit=1", []int64{boss}},
			{"?offset=1", []int64{agent}},
			{"?offset=1&limit=1", []int64{agent}},
			{"?offset=2", []int64{}},
			{"?offset=9223372036854775807", []int64{}},
			{"?offset=&limit=", []int64{boss, agent}},
			{"?cachebuster=1", []int64{boss, agent}},
		}
		for _, tt := range tests {
			t.Run("query "+tt.query, func(t *testing.T) {
				ids, total := customerIDs(t, mustOK(t, f.do(t, http.MethodGet, "/v1/agents"+tt.query, f.token, "")))
				if fmt.Sprint(ids) != fmt.Sprint(tt.want) || total != 2 {
					t.Errorf("ids %v total %v, want %v total 2", ids, total, tt.want)
				}
			})
		}
		t.Run("another account's key sees its own", func(t *testing.T) {
			ids, total := customerIDs(t, mustOK(t, f.do(t, http.MethodGet, "/v1/agents", f.foreignToken, "")))
			if fmt.Sprint(ids) != fmt.Sprint([]int64{f.foreignAgent.ID}) || total != 1 {
				t.Errorf("ids %v total %v, want [%d] total 1", ids, total, f.foreignAgent.ID)
			}
		})
		errs := []struct {
			name, query, want string
		}{
			{"bad paging", "?offset=x&limit=0", hcErrors("offset", numeric, "limit", "This value should be greater than or equal to 1.")},
			{"limit over 100", "?limit=101", hcErrors("limit", "This value should be less than or equal to 100.")},
			{"negative offset", "?offset=-1", hcErrors("offset", "This value should be greater than or equal to 0.")},
			{"a filter", "?email=boss@example.com", hcErrors("email", "This field was not expected.")},
			{"a sort", "?sort=agents.id", hcErrors("sort", "This field was not expected.")},
		}
		for _, tt := range errs {
			t.Run(tt.name, func(t *testing.T) {
				assertError(t, f.do(t, http.MethodGet, "/v1/agents"+tt.query, f.token, ""), http.StatusBadRequest, tt.want)
			})
		}
	})
}

func TestAgents_Get(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		t.Run("shape", func(t *testing.T) {
			r := mustOK(t, f.do(t, http.MethodGet, fmt.Sprint("/v1/agents/", f.agent.ID), f.readToken, ""))
			assertJSON(t, mustJSON(t, r), agentJSON(f.agent))
		})
		notFound := hcErrors("entity_not_found", "Agent not found")
		invalid := hcErrors("invalid_agent_value", "Invalid agent ID")
		errs := []struct {
			name, path string
			status     int
			want       string
		}{
			{"id not a number", "/v1/agents/abc", 400, invalid},
			{"id negative", "/v1/agents/-5", 400, invalid},
			{"id zero", "/v1/agents/0", 400, invalid},
			{"id with a fraction", "/v1/agents/1.5", 400, invalid},
			{"id huge", "/v1/agents/99999999999999999999", 404, notFound},
			{"id unknown", "/v1/agents/987654321", 404, notFound},
			{"id of another account", fmt.Sprint("/v1/agents/", f.foreignAgent.ID), 404, notFound},
		}
		for _, tt := range errs {
			t.Run(tt.name, func(t *testing.T) {
				assertError(t, f.do(t, http.MethodGet, tt.path, f.token, ""), tt.status, tt.want)
			})
		}
	})
}

package reve_test

import (
	"fmt"
	"strings"
	"testing"

	"switchboard/handlers/apitest"
	"switchboard/store"
	"switchboard/store/storetest"
)

// TestVendorExamples sends the requests of REVE's Offline Messages page and
// checks each answer against the page's example: every key path there with
// the same JSON type, and the headers the page shows.
func TestVendorExamples(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st, 2)
		boss, agent := f.superadmin.Email, f.agents[1].Email
		replied := fmt.Sprint(f.cases[4].ID)
		tests := []struct {
			name   string
			path   string
			user   string
			status int
			like   string
			// wwwAuth is whether the page's example carries
			// WWW-Authenticate: Basic realm="revechat".
			wwwAuth bool
		}{
			{"list", "/api/offlinemessages/", boss, 200, "offlinemessages-list.response.json", false},
			{"list page 3", "/api/offlinemessages?page_no=3", boss, 200, "", false},
			{"list page -2", "/api/offlinemessages?page_no=-2", boss, 400, "offlinemessages-list.400.json", true},
			{"one with replies", "/api/offlinemessages/" + replied, boss, 200, "offlinemessages-detail.response.json", false},
			{"one, id -14", "/api/offlinemessages/-14", boss, 400, "offlinemessages-detail.400.json", true},
			{"one, unknown id", "/api/offlinemessages/744", boss, 404, "offlinemessages-detail.404.json", false},
			{"one, not a superadmin", "/api/offlinemessages/744", agent, 403, "offlinemessages-detail.403.json", false},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := f.get(t, tt.path, tt.user, password)
				if r.status != tt.status {
					t.Fatalf("status = %d, want %d: %s", r.status, tt.status, r.body)
				}
				if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
					t.Errorf("Content-Type = %q, want JSON", ct)
				}
				if got := r.header.Get("WWW-Authenticate"); tt.wwwAuth && got != `Basic realm="revechat"` {
					t.Errorf("WWW-Authenticate = %q, want the page's", got)
				}
				if tt.like != "" {
					apitest.AssertLike(t, "testdata/vendor/"+tt.like, []byte(r.body))
				}
			})
		}
		// The detail's 403 names the id asked for, as the page does.
		r := f.get(t, "/api/offlinemessages/744", agent, password)
		assertJSON(t, r.body, `{"code":403,"message":"You don't have permission to see offline message details with Id 744"}`)
	})
}

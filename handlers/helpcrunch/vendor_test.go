package helpcrunch_test

import (
	"net/http"
	"testing"

	"switchboard/handlers/apitest"
	"switchboard/store"
	"switchboard/store/storetest"
)

// TestVendorExamples sends the requests of HelpCrunch's own page and checks
// each response against the page's example: every key path there, with the
// same JSON type.
func TestVendorExamples(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		example := apitest.MustExample(t, "testdata/vendor/messages.request.json",
			map[string]any{"chat": f.chat.ID, "agent": f.agent.ID})
		tests := []struct {
			name   string
			token  string
			body   string
			status int
			like   string
		}{
			{"create a message", f.token, example, http.StatusOK, "messages.response.json"},
			{"a field of the wrong type", f.token, `{"chat":"x","text":"a","type":"message"}`, http.StatusBadRequest, "messages.400.json"},
			{"no key", "", example, http.StatusUnauthorized, "messages.401.json"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := f.do(t, http.MethodPost, "/v1/messages", tt.token, tt.body)
				if r.status != tt.status {
					t.Fatalf("status = %d, want %d: %s", r.status, tt.status, r.body)
				}
				apitest.AssertLike(t, "testdata/vendor/"+tt.like, []byte(r.body))
			})
		}
	})
}

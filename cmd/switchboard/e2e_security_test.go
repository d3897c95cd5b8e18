package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"switchboard/cmd/switchboard/binarytest"
	"switchboard/store/storetest"
)

// rpc sends one CallGear call to the running server and returns its reply.
func (s *server) rpc(t *testing.T, method string, params map[string]any) reply {
	t.Helper()
	b, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
	if err != nil {
		t.Fatal(err)
	}
	return s.mustSend(t, request{method: http.MethodPost, path: "/data-api/v2.0", body: b})
}

// TestE2E_SessionTokens checks through the real binary that a CallGear
// login.user session is a CallGear credential only, with its agent's role's
// scopes: HelpCrunch and Acquire refuse it with their own 401, an agent's
// session may not upload while an admin's may, and the first start's API key
// works everywhere as before.
func TestE2E_SessionTokens(t *testing.T) {
	bin := mustBuild(t)
	for _, b := range storetest.Backends(t) {
		t.Run(string(b), func(t *testing.T) {
			dbURL := storetest.MustURL(t, b)
			s := mustStart(t, bin, dbURL)
			_, _, key := binarytest.MustCredentials(t, s.stdout)
			mustRunBinary(t, bin, dbURL, "site", "create", "--account", "1", "--domain", "shop.example")
			for _, role := range []string{"agent", "admin"} {
				mustRunBinary(t, bin, dbURL, "agent", "create", "--account", "1", "--email", role+"@example.com",
					"--password", "password-of-"+role, "--role", role)
			}
			upload := func(token string) reply {
				return s.rpc(t, "upload.offline_messages", map[string]any{"access_token": token,
					"offline_messages": []any{map[string]any{"date_time": time.Now().Add(-time.Hour).UTC().Format("2006-01-02 15:04:05"),
						"name": "Ann Lee", "email": "ann@example.com", "message": "Hello?", "site_id": 1}}})
			}
			sessions := map[string]string{}
			for _, role := range []string{"agent", "admin"} {
				r := s.rpc(t, "login.user", map[string]any{"login": role + "@example.com", "password": "password-of-" + role})
				var out struct {
					Result struct {
						Data struct {
							AccessToken string `json:"access_token"`
						} `json:"data"`
					} `json:"result"`
				}
				mustJSON(t, "login.user", r.body, &out)
				if out.Result.Data.AccessToken == "" {
					t.Fatalf("login.user as %s: %s", role, r.body)
				}
				sessions[role] = out.Result.Data.AccessToken
			}

			for role, token := range sessions {
				t.Run(role, func(t *testing.T) {
					hc := s.mustSend(t, request{method: http.MethodGet, path: "/v1/chats", token: token})
					if hc.code != http.StatusUnauthorized || !strings.Contains(hc.body, `{"code":"unauthorized","message":"Unauthorized"}`) {
						t.Errorf("HelpCrunch with a session: %d %s, want its 401", hc.code, hc.body)
					}
					post := s.mustSend(t, request{method: http.MethodPost, path: "/v1/messages", token: token,
						body: []byte(`{"chat":1,"text":"hi"}`)})
					if post.code != http.StatusUnauthorized {
						t.Errorf("HelpCrunch POST with a session: %d %s, want 401", post.code, post.body)
					}
					ac := s.mustSend(t, request{method: http.MethodPost, path: "/api/v1/voip/send-sms", token: token,
						body: []byte(`{}`), header: map[string]string{"x-user-type": "user"}})
					if ac.code != http.StatusUnauthorized || !strings.Contains(ac.body, `"type":"ERROR_UNAUTHORIZED"`) {
						t.Errorf("Acquire with a session: %d %s, want its 401", ac.code, ac.body)
					}
				})
			}
			if r := upload(sessions["agent"]); !strings.Contains(r.body, `"mnemonic":"forbidden"`) {
				t.Errorf("agent's session uploads: %s, want -32003 forbidden", r.body)
			}
			if r := upload(sessions["admin"]); !strings.Contains(r.body, `"result":{"data":[{"id":`) {
				t.Errorf("admin's session upload: %s, want a result", r.body)
			}
			// The first start's key is unchanged: every dialect takes it.
			if r := s.mustSend(t, request{method: http.MethodGet, path: "/v1/chats", token: key}); r.code != http.StatusOK {
				t.Errorf("HelpCrunch with the API key: %d %s", r.code, r.body)
			}
			if r := upload(key); !strings.Contains(r.body, `"result":{"data":[{"id":`) {
				t.Errorf("upload with the API key: %s, want a result", r.body)
			}
		})
	}
}

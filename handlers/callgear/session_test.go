package callgear_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"switchboard/auth"
	"switchboard/handlers/dialect"
	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

// session is login.user's result data.
type session struct {
	AccessToken string `json:"access_token"`
	ExpireAt    int64  `json:"expire_at"`
	AppID       int64  `json:"app_id"`
}

// mustLogin logs in as the agent and returns the session.
func (f *fixture) mustLogin(tb testing.TB, email string) session {
	tb.Helper()
	var s session
	if err := json.Unmarshal(mustResult(tb, f.call(tb, "login.user", obj{"login": email, "password": password})), &s); err != nil {
		tb.Fatal(err)
	}
	return s
}

func TestLoginUser_RoundTrip(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		s := f.mustLogin(t, f.admin.Email)
		if s.AccessToken == "" || s.AppID != f.acct.ID {
			t.Errorf("session = %+v, want a token of account %d", s, f.acct.ID)
		}
		if d := time.Until(time.Unix(s.ExpireAt, 0)); d < 59*time.Minute || d > time.Hour {
			t.Errorf("expire_at is %s from now, want an hour", d)
		}
		upload := obj{"access_token": s.AccessToken, "offline_messages": []any{f.offlineItem()}}
		ids := mustIDs(t, f.call(t, "upload.offline_messages", upload))
		if len(ids) != 1 {
			t.Fatalf("ids = %v", ids)
		}

		if data := mustResult(t, f.call(t, "logout.user", obj{"access_token": s.AccessToken})); string(data) != "{}" {
			t.Errorf("logout data = %s, want {}", data)
		}
		before := f.counts(t)
		assertError(t, f.call(t, "upload.offline_messages", upload), http.StatusOK, -32001, "access_token_invalid", "")
		assertError(t, f.call(t, "logout.user", obj{"access_token": s.AccessToken}), http.StatusOK, -32001, "access_token_invalid", "")
		f.assertUnchanged(t, before)

		// Another login is another session.
		if s2 := f.mustLogin(t, f.admin.Email); s2.AccessToken == s.AccessToken {
			t.Error("a second login gave the same token")
		}
	})
}

func TestLoginUser_Errors(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		tests := []struct {
			name     string
			params   obj
			code     int
			mnemonic string
			field    string
		}{
			{"wrong password", obj{"login": f.agent.Email, "password": "nope"}, -32001, "auth_error", ""},
			{"unknown login", obj{"login": "who@example.com", "password": password}, -32001, "auth_error", ""},
			{"empty login", obj{"login": "", "password": password}, -32001, "auth_error", ""},
			{"no login", obj{"password": password}, -32602, "required_parameter_missed", "login"},
			{"no password", obj{"login": f.agent.Email}, -32602, "required_parameter_missed", "password"},
			{"password a number", obj{"login": f.agent.Email, "password": 123}, -32602, "data_type_error", "password"},
			{"an access token too", obj{"login": f.agent.Email, "password": password, "access_token": f.token}, -32602, "unexpected_parameters", "access_token"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var keys int64
				if err := f.st.GORM().Table("api_keys").Count(&keys).Error; err != nil {
					t.Fatal(err)
				}
				assertError(t, f.call(t, "login.user", tt.params), http.StatusOK, tt.code, tt.mnemonic, tt.field)
				var after int64
				if err := f.st.GORM().Table("api_keys").Count(&after).Error; err != nil {
					t.Fatal(err)
				}
				if after != keys {
					t.Errorf("api keys %d, then %d", keys, after)
				}
			})
		}
	})
}

func TestLogoutUser_Errors(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		// A permanent API key is the operator's to revoke: it keeps working.
		assertError(t, f.call(t, "logout.user", obj{"access_token": f.token}), http.StatusOK, -32602, "invalid_parameter_value", "access_token")
		mustIDs(t, f.call(t, "upload.offline_messages", obj{"access_token": f.token, "offline_messages": []any{f.offlineItem()}}))

		s := f.mustLogin(t, f.boss.Email)
		assertError(t, f.call(t, "logout.user", obj{"access_token": s.AccessToken, "all": true}), http.StatusOK, -32602, "unexpected_parameters", "all")
		assertError(t, f.call(t, "logout.user", obj{"access_token": f.expiredSession}), http.StatusOK, -32001, "access_token_expired", "")
		// The refused logouts left the session working.
		mustResult(t, f.call(t, "logout.user", obj{"access_token": s.AccessToken}))
	})
}

// TestLoginUser_RoleScopes checks that a session carries the scopes of its
// agent's role (auth.RoleScopes) and no more, on every method that needs a
// scope: an agent's session may not upload or delete uploads, an admin's and
// a superadmin's may.
func TestLoginUser_RoleScopes(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		for _, ag := range []models.Agent{f.boss, f.admin, f.agent} {
			s := f.mustLogin(t, ag.Email)
			may := auth.Caller{Scopes: auth.RoleScopes(ag.Role)}.Require(auth.ScopeUpload) == nil
			t.Run(string(ag.Role), func(t *testing.T) {
				calls := []struct {
					method string
					params obj
				}{
					{"upload.offline_messages", obj{"offline_messages": []any{f.offlineItem()}}},
					{"upload.chats", obj{"chats": []any{f.chatItem()}}},
					{"delete.offline_messages", obj{"offline_message_ids": []any{f.notUploaded.ID}}},
					{"delete.chats", obj{"chat_ids": []any{f.notUploaded.ID}}},
				}
				for _, c := range calls {
					t.Run(c.method, func(t *testing.T) {
						c.params["access_token"] = s.AccessToken
						before := f.counts(t)
						r := f.call(t, c.method, c.params)
						if !may {
							assertError(t, r, http.StatusOK, -32003, "forbidden", "")
							f.assertUnchanged(t, before)
							return
						}
						var rpc rpcResponse
						decode(t, r, &rpc)
						if rpc.Error != nil && rpc.Error.Data.Mnemonic == "forbidden" {
							t.Errorf("%s's session refused: %+v", ag.Role, rpc.Error)
						}
					})
				}
			})
		}
	})
}

// TestSessionToken_RESTRoutes checks that a login.user session is a CallGear
// credential only: every route of the REST dialects refuses it with its own
// 401, while an API key of the same agent passes the same routes' auth.
func TestSessionToken_RESTRoutes(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		session := f.mustLogin(t, f.boss.Email).AccessToken
		param := regexp.MustCompile(`:[a-z_]+`)
		var n int
		for _, r := range f.h.(*echo.Echo).Routes() {
			if !strings.HasPrefix(r.Path, "/v1/") && !strings.HasPrefix(r.Path, "/api/v1/") || r.Name == dialect.FallbackRoute {
				continue
			}
			n++
			target := param.ReplaceAllString(r.Path, "1")
			t.Run(r.Method+" "+r.Path, func(t *testing.T) {
				before := f.counts(t)
				got := f.send(t, r.Method, target, map[string]string{"Authorization": "Bearer " + session,
					"Content-Type": "application/json"}, strings.NewReader("{}"))
				if got.status != http.StatusUnauthorized {
					t.Fatalf("session token: %d %s, want 401", got.status, got.body)
				}
				switch {
				case strings.HasPrefix(r.Path, "/api/v1/"):
					if !strings.Contains(got.body, `"type":"ERROR_UNAUTHORIZED"`) || !strings.Contains(got.body, "CallGear") {
						t.Errorf("Acquire body %s, want ERROR_UNAUTHORIZED saying where sessions work", got.body)
					}
				default:
					if !strings.Contains(got.body, `{"code":"unauthorized","message":"Unauthorized"}`) {
						t.Errorf("HelpCrunch body %s, want its unauthorized error", got.body)
					}
				}
				f.assertUnchanged(t, before)
				withKey := f.send(t, r.Method, target, map[string]string{"Authorization": "Bearer " + f.token,
					"Content-Type": "application/json"}, strings.NewReader("{}"))
				if withKey.status == http.StatusUnauthorized {
					t.Errorf("API key: %d %s, want past the auth check", withKey.status, withKey.body)
				}
			})
		}
		if n < 10 {
			t.Errorf("%d REST routes checked, want every HelpCrunch and Acquire route", n)
		}
		// REVE takes Basic credentials only: a bearer session is no login.
		if got := f.send(t, http.MethodGet, "/api/offlinemessages", map[string]string{"Authorization": "Bearer " + session}, nil); got.status != http.StatusUnauthorized {
			t.Errorf("REVE with a session: %d %s, want 401", got.status, got.body)
		}
	})
}

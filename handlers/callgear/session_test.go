package callgear_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

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
		s := f.mustLogin(t, f.agent.Email)
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
		if s2 := f.mustLogin(t, f.agent.Email); s2.AccessToken == s.AccessToken {
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

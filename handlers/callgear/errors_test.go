package callgear_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"switchboard/auth"
	"switchboard/handlers/callgear"
	"switchboard/handlers/dialect"
	"switchboard/models"
	"switchboard/store"
)

// fakeKeys accepts the token "ok" with every scope and "agent-session" as a
// non-admin agent's session with every scope, and fails "down" as the
// database being unreachable.
type fakeKeys struct {
	dialect.Keys // nil: any other method panics
}

func (fakeKeys) AuthenticateAny(_ context.Context, token string) (auth.Caller, error) {
	switch token {
	case "ok":
		return auth.Caller{AccountID: 1, AgentID: 7, Scopes: auth.AllScopes(), KeyID: "k"}, nil
	case "agent-session":
		// A login.user session of an agent who is no admin, with the upload
		// scope that real ones lack, to reach the rules behind the scope.
		return auth.Caller{AccountID: 1, AgentID: 7, Role: models.RoleAgent, Scopes: auth.AllScopes(), KeyID: "s", Session: true}, nil
	case "down":
		return auth.Caller{}, fmt.Errorf("authenticate key: %w", store.ErrUnavailable)
	}
	return auth.Caller{}, auth.ErrInvalidToken
}

func (fakeKeys) Issue(context.Context, int64, auth.KeySpec) (models.APIKey, string, error) {
	return models.APIKey{}, "", store.ErrUnavailable
}

// fakeStore answers Account with a UTC account unless account is set, and
// every other method with err.
type fakeStore struct {
	account func() (models.Account, error)
	err     func() error
}

func (s fakeStore) Account(context.Context, int64) (models.Account, error) {
	if s.account != nil {
		return s.account()
	}
	return models.Account{ID: 1, Timezone: "UTC"}, nil
}

func (s fakeStore) Agent(context.Context, int64, int64) (models.Agent, error) {
	return models.Agent{}, s.err()
}

func (s fakeStore) APIKey(context.Context, string) (store.KeyOwner, error) {
	return store.KeyOwner{}, s.err()
}

func (s fakeStore) RevokeAPIKey(context.Context, string) (models.APIKey, error) {
	return models.APIKey{}, s.err()
}

func (s fakeStore) UploadOfflineMessages(context.Context, int64, []store.OfflineUpload) ([]int64, error) {
	return nil, s.err()
}

func (s fakeStore) UploadChats(context.Context, int64, []store.ChatUpload) ([]int64, error) {
	return nil, s.err()
}

func (s fakeStore) DeleteUploaded(context.Context, int64, models.Channel, []int64) ([]int64, error) {
	return nil, s.err()
}

func (s fakeStore) AgentList(context.Context, int64, store.ListQuery) ([]models.Agent, int64, error) {
	return nil, 0, s.err()
}

func (s fakeStore) SiteList(context.Context, int64, store.ListQuery) ([]models.Site, int64, error) {
	return nil, 0, s.err()
}

func (s fakeStore) CampaignList(context.Context, int64, store.ListQuery) ([]store.CampaignView, int64, error) {
	return nil, 0, s.err()
}

func (s fakeStore) VisitorSessionReport(context.Context, int64, store.ListQuery) ([]store.SessionView, int64, error) {
	return nil, 0, s.err()
}

func (s fakeStore) ReportCases(context.Context, int64, models.Channel, store.ListQuery) ([]store.CaseReportRow, int64, error) {
	return nil, 0, s.err()
}

func (s fakeStore) ReportChatMessages(context.Context, int64, []int64, store.ListQuery) ([]store.MessageReportRow, int64, error) {
	return nil, 0, s.err()
}

// TestErrors_Server checks the failures a client cannot cause, and the
// store's errors that are not about one field, each as a JSON-RPC error with
// the request's id.
func TestErrors_Server(t *testing.T) {
	unavailable := func() error { return fmt.Errorf("upload: %w: connection refused", store.ErrUnavailable) }
	upload := func(token string) string {
		return `{"jsonrpc":"2.0","id":"req-9","method":"upload.offline_messages","params":{"access_token":"` + token +
			`","offline_messages":[{"phone":"+14155550100","site_id":1}]}}`
	}
	tests := []struct {
		name      string
		st        fakeStore
		passwords dialect.Passwords
		body      string
		status    int
		code      int
		mnemonic  string
		field     string
		message   string
	}{
		{"auth database down", fakeStore{}, nil, upload("down"), 503, -32603, "internal_error", "", "Service temporarily unavailable. Retry after the number of seconds in Retry-After; send a write again with the same Idempotency-Key header so that it is not made twice"},
		{"account read down", fakeStore{account: func() (models.Account, error) { return models.Account{}, unavailable() }}, nil, upload("ok"),
			503, -32603, "internal_error", "", "Service temporarily unavailable. Retry after the number of seconds in Retry-After; send a write again with the same Idempotency-Key header so that it is not made twice"},
		{"store down on upload", fakeStore{err: unavailable}, nil, upload("ok"), 503, -32603, "internal_error", "", "Service temporarily unavailable. Retry after the number of seconds in Retry-After; send a write again with the same Idempotency-Key header so that it is not made twice"},
		{"timeout", fakeStore{err: func() error { return fmt.Errorf("upload: %w", context.DeadlineExceeded) }}, nil, upload("ok"),
			503, -32603, "internal_error", "", "Service temporarily unavailable. Retry after the number of seconds in Retry-After; send a write again with the same Idempotency-Key header so that it is not made twice"},
		{"store down on login", fakeStore{}, fakePasswords{}, `{"jsonrpc":"2.0","id":"req-9","method":"login.user","params":{"login":"a@example.com","password":"x"}}`,
			503, -32603, "internal_error", "", "Service temporarily unavailable. Retry after the number of seconds in Retry-After; send a write again with the same Idempotency-Key header so that it is not made twice"},
		{"bug", fakeStore{err: func() error { return errors.New("no such column: c.nope") }}, nil, upload("ok"), 500, -32603, "internal_error", "", "Internal error"},
		{"panic", fakeStore{err: func() error { panic("boom") }}, nil, upload("ok"), 500, -32603, "internal_error", "", "Internal error"},
		{"unknown time zone", fakeStore{account: func() (models.Account, error) { return models.Account{Timezone: "Mars/Base"}, nil }}, nil, upload("ok"),
			500, -32603, "internal_error", "", "Internal error"},
		{"no password checker", fakeStore{}, nil, `{"jsonrpc":"2.0","id":"req-9","method":"login.user","params":{"login":"a@example.com","password":"x"}}`,
			500, -32603, "internal_error", "", "Internal error"},
		{"a record not found", fakeStore{err: func() error { return fmt.Errorf("upload: %w", &store.NotFoundError{Entity: "account", ID: 1}) }}, nil, upload("ok"),
			200, -32602, "entity_not_found", "", "Entity not found: account 1"},
		{"a list too long for the store", fakeStore{err: func() error {
			return store.FieldErrors{{Reason: store.ReasonTooMany, Message: "at most 2"}}
		}}, nil, upload("ok"), 200, -32602, "data_limit_exceeded", "offline_messages", "Parameter offline_messages: at most 2"},
		{"a store field error", fakeStore{err: func() error {
			var fe store.FieldErrors
			fe.AddReason(store.ReasonCombination, "[0].campaign_id", int64(4), "campaign 4 is of site 2")
			return fe
		}}, nil, upload("ok"), 200, -32602, "invalid_parameters_combination", "offline_messages[0].campaign_id",
			"Parameter offline_messages[0].campaign_id: campaign 4 is of site 2"},
		{"logout, key gone", fakeStore{err: func() error { return fmt.Errorf("api key: %w", store.ErrNotFound) }}, nil,
			`{"jsonrpc":"2.0","id":"req-9","method":"logout.user","params":{"access_token":"ok"}}`, 200, -32001, "access_token_invalid", "", "Access token is invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := echo.New()
			callgear.RegisterStore(e, tt.st, dialect.Deps{Keys: fakeKeys{}, Passwords: tt.passwords, Log: slog.New(slog.NewTextHandler(io.Discard, nil))},
				callgear.Config{BodyLimit: "1M"})
			req := httptest.NewRequest(http.MethodPost, callgear.Path, strings.NewReader(tt.body))
			rec := httptest.NewRecorder()
			specChecked(t, e).ServeHTTP(rec, req)
			r := response{status: rec.Code, header: rec.Header(), body: rec.Body.String()}
			res := assertError(t, r, tt.status, tt.code, tt.mnemonic, tt.field)
			if res.Error.Message != tt.message {
				t.Errorf("message = %q, want %q", res.Error.Message, tt.message)
			}
			if string(res.ID) != `"req-9"` {
				t.Errorf("id = %s, want the request's", res.ID)
			}
			if got := rec.Header().Get("Retry-After"); (tt.status == 503) != (got == "1") {
				t.Errorf("Retry-After = %q", got)
			}
		})
	}
}

// fakePasswords accepts any login, as agent 7 of account 1.
type fakePasswords struct{}

func (fakePasswords) Authenticate(context.Context, string, string, string) (auth.Caller, error) {
	return auth.Caller{AccountID: 1, AgentID: 7, Scopes: auth.AllScopes()}, nil
}

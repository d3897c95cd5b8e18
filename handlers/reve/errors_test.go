package reve_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"

	"switchboard/auth"
	"switchboard/handlers/apitest"
	"switchboard/handlers/dialect"
	"switchboard/handlers/reve"
	"switchboard/models"
	"switchboard/store"
)

// failingStore fails every read with err.
type failingStore struct {
	reve.Store // nil: any other method panics
	err        error
}

func (s failingStore) ListOfflineCases(context.Context, int64, int64, int) ([]store.OfflineCase, error) {
	return nil, s.err
}
func (s failingStore) OfflineCase(context.Context, int64, int64) (store.OfflineCaseDetail, error) {
	return store.OfflineCaseDetail{}, s.err
}
func (s failingStore) ListAgents(context.Context, int64, int64, int) ([]models.Agent, error) {
	return nil, s.err
}
func (s failingStore) Agent(context.Context, int64, int64) (models.Agent, error) {
	return models.Agent{}, s.err
}
func (s failingStore) ListChats(context.Context, int64, store.ChatQuery) ([]store.ChatView, error) {
	return nil, s.err
}
func (s failingStore) Chat(context.Context, int64, int64) (store.ChatView, error) {
	return store.ChatView{}, s.err
}
func (s failingStore) ListContactViews(context.Context, int64, int64, int) ([]store.ContactView, error) {
	return nil, s.err
}
func (s failingStore) ContactView(context.Context, int64, int64) (store.ContactViewDetail, error) {
	return store.ContactViewDetail{}, s.err
}
func (s failingStore) Account(context.Context, int64) (models.Account, error) {
	return models.Account{}, s.err
}

// TestRoutes_StoreFailure checks that a store failure is REVE's 503 or 500
// on every route, never a "No Record found" 404 or its message.
func TestRoutes_StoreFailure(t *testing.T) {
	const unavailable = "Service is temporarily unavailable. Retry after the number of seconds in Retry-After; send a write again with the same Idempotency-Key header so that it is not made twice."
	for _, tc := range []struct {
		name   string
		err    error
		status int
		msg    string
	}{
		{"database down", fmt.Errorf("read: %w", store.ErrUnavailable), 503, unavailable},
		{"timeout", context.DeadlineExceeded, 503, unavailable},
		{"unexpected", fmt.Errorf("boom"), 500, "Internal Server Error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := echo.New()
			reve.RegisterStore(e, failingStore{err: tc.err}, dialect.Deps{
				Passwords: fixedCaller{auth.Caller{AccountID: 1, AgentID: 1, Role: models.RoleSuperadmin}},
				Log:       slog.New(slog.NewTextHandler(io.Discard, nil)),
			}, reve.Config{})
			h := apitest.Wrap(t, e)
			for _, path := range []string{
				"/api/offlinemessages", "/api/offlinemessages/1", "/api/agents", "/api/agents/1/",
				"/api/chats", "/api/chats/?date_from=2021-01-01", "/api/chats/1", "/api/visitors/", "/api/visitors/1",
			} {
				rec := httptest.NewRecorder()
				req := httptest.NewRequest(http.MethodGet, path, nil)
				req.SetBasicAuth("boss@example.com", "x")
				h.ServeHTTP(rec, req)
				if rec.Code != tc.status {
					t.Errorf("%s: status %d, want %d; body %s", path, rec.Code, tc.status, rec.Body)
					continue
				}
				assertJSON(t, rec.Body.String(), reveError(tc.status, tc.msg))
			}
		})
	}
}

package handlers_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"switchboard/handlers"
	"switchboard/handlers/dialect"
	"switchboard/store"
	"switchboard/store/storetest"
)

// TestRouter_Fallback checks that a path no route has, under a dialect's
// prefix, and a method its path does not take are answered in that
// dialect's error format, 404 and 405 with Allow, not in Echo's
// {"message":...}; outside every dialect Echo's own 404 stays.
func TestRouter_Fallback(t *testing.T) {
	st := storetest.MustOpen(t, store.SQLite)
	e := handlers.New(handlers.Config{}, handlers.Deps{Deps: dialect.Deps{Store: st, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}})
	const (
		reve404 = `{"error":[{"code":404,"message":"Not Found"}]}`
		reve405 = `{"error":[{"code":405,"message":"Method Not Allowed"}]}`
	)
	tests := []struct {
		name, method, path string
		status             int
		body               string // the body's start
		allow              string
	}{
		{"REVE unknown path", http.MethodGet, "/api/nothing", 404, reve404, ""},
		{"REVE unknown path deeper", http.MethodGet, "/api/offlinemessages/1/replies", 404, reve404, ""},
		{"REVE wrong method", http.MethodPost, "/api/offlinemessages", 405, reve405, "GET, OPTIONS"},
		{"REVE wrong method on one", http.MethodDelete, "/api/chats/7", 405, reve405, "GET, OPTIONS"},
		{"REVE OPTIONS", http.MethodOptions, "/api/agents", 204, "", "GET, OPTIONS"},
		{"HelpCrunch unknown path", http.MethodGet, "/v1/departments/x", 404, `{"errors":[`, ""},
		{"HelpCrunch wrong method", http.MethodDelete, "/v1/chats", 405, `{"errors":[`, "GET, OPTIONS, POST"},
		{"Acquire unknown path", http.MethodGet, "/api/v1/crm/nothing", 404, `{"error":{"type":`, ""},
		{"Acquire short unknown path", http.MethodGet, "/voip/nothing", 404, `{"error":{"type":`, ""},
		{"Acquire wrong method", http.MethodGet, "/api/v1/voip/send-sms", 405, `{"error":{"type":`, "OPTIONS, POST"},
		{"Acquire short wrong method", http.MethodPut, "/mail/add-message", 405, `{"error":{"type":`, "OPTIONS, POST"},
		{"CallGear wrong method", http.MethodGet, "/data-api/v2.0", 405, `{"jsonrpc":"2.0"`, "OPTIONS, POST"},
		{"CallGear vendor path wrong method", http.MethodGet, "/v2.0", 405, `{"jsonrpc":"2.0"`, "OPTIONS, POST"},
		{"CallGear unknown path", http.MethodPost, "/data-api/v3.0", 404, `{"jsonrpc":"2.0"`, ""},
		{"outside every dialect", http.MethodGet, "/nope", 404, `{"message":"Not Found"}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
			if rec.Code != tt.status {
				t.Fatalf("%s %s = %d %s, want %d", tt.method, tt.path, rec.Code, rec.Body, tt.status)
			}
			if body := rec.Body.String(); !strings.HasPrefix(body, tt.body) {
				t.Errorf("body = %s, want it to start with %s", body, tt.body)
			}
			if got := rec.Header().Get("Allow"); got != tt.allow {
				t.Errorf("Allow = %q, want %q", got, tt.allow)
			}
		})
	}
}

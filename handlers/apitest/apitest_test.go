package apitest_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"switchboard/handlers/apitest"
)

// recorder is a testing.TB that keeps what Wrap reports instead of failing.
type recorder struct {
	testing.TB
	mu     sync.Mutex
	errors []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func (r *recorder) Helper() {}

func TestWrap(t *testing.T) {
	tests := []struct {
		name    string
		method  string
		path    string
		status  int
		body    string
		ctype   string
		wantErr []string // substrings of the one report; none means it conforms
	}{
		{"conforming", http.MethodGet, "/healthz", 200, `{"status":"ok"}`, "application/json", nil},
		{"field of the wrong type", http.MethodGet, "/healthz", 200, `{"status":1}`, "application/json",
			[]string{"GET /healthz", "response 200", "field /status"}},
		{"required field missing", http.MethodGet, "/readyz", 200, `{"status":"ok"}`, "application/json",
			[]string{"GET /readyz", "field /database", "missing"}},
		{"undocumented status", http.MethodGet, "/healthz", 418, `{"status":"ok"}`, "application/json",
			[]string{"GET /healthz", "response 418"}},
		{"route missing from the spec", http.MethodGet, "/nope", 200, `{}`, "application/json",
			[]string{"GET /nope", "no such operation"}},
		{"REST field inside a list", http.MethodGet, "/api/agents", 200, `[{"agent_id":"x"}]`, "application/json",
			[]string{"GET /api/agents", "field /0/agent_id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{TB: t}
			h := apitest.Wrap(rec, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tt.ctype)
				w.WriteHeader(tt.status)
				w.Write([]byte(tt.body))
			}))
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(tt.method, tt.path, nil))
			if w.Code != tt.status || w.Body.String() != tt.body {
				t.Errorf("the wrapped response is %d %q, want %d %q", w.Code, w.Body.String(), tt.status, tt.body)
			}
			if len(tt.wantErr) == 0 {
				if len(rec.errors) != 0 {
					t.Errorf("reported %q, want nothing", rec.errors)
				}
				return
			}
			if len(rec.errors) != 1 {
				t.Fatalf("reported %q, want one report", rec.errors)
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(rec.errors[0], want) {
					t.Errorf("report %q lacks %q", rec.errors[0], want)
				}
			}
		})
	}
}

// TestWrap_AcceptedBadRequest checks that a request outside the spec fails
// only when the server accepts it.
func TestWrap_AcceptedBadRequest(t *testing.T) {
	for _, tt := range []struct {
		name   string
		status int
		body   string
		want   bool
	}{
		{"refused", 400, `{"error":[{"code":400,"message":"Invalid Page Number: x. Please enter a valid Page Number."}]}`, false},
		{"accepted", 200, `[]`, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{TB: t}
			h := apitest.Wrap(rec, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("RateLimit-Policy", `"minute";q=120;w=60`)
				w.Header().Set("RateLimit", `"minute";r=119;t=60`)
				w.WriteHeader(tt.status)
				w.Write([]byte(tt.body))
			}))
			req := httptest.NewRequest(http.MethodGet, "/api/agents?page_no=x", nil)
			req.SetBasicAuth("admin@example.com", "secret")
			h.ServeHTTP(httptest.NewRecorder(), req)
			got := false
			for _, e := range rec.errors {
				if strings.Contains(e, "request is outside openapi.yaml") && strings.Contains(e, `query parameter "page_no"`) {
					got = true
				}
			}
			if got != tt.want {
				t.Errorf("reports %q: bad request reported = %v, want %v", rec.errors, got, tt.want)
			}
		})
	}
}

// TestWrap_JSONRPCRefusal checks that a CallGear call outside the spec that
// got a JSON-RPC error (with HTTP 200, as CallGear answers) counts as refused.
func TestWrap_JSONRPCRefusal(t *testing.T) {
	rec := &recorder{TB: t}
	h := apitest.Wrap(rec, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		w.Write([]byte(`{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"Method nope not found","data":{"mnemonic":"method_not_found","field":"method","value":"nope"}}}`))
	}))
	req := httptest.NewRequest(http.MethodPost, "/data-api/v2.0", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"nope","params":{}}`))
	req.Header.Set("Content-Type", "application/json")
	h.ServeHTTP(httptest.NewRecorder(), req)
	for _, e := range rec.errors {
		if strings.Contains(e, "request is outside openapi.yaml") {
			t.Errorf("a refused call was reported as accepted: %s", e)
		}
	}
}

package handlers_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
	"golang.org/x/crypto/bcrypt"

	"switchboard/api"
	"switchboard/auth"
	"switchboard/handlers"
	"switchboard/handlers/apitest"
	"switchboard/handlers/dialect"
	"switchboard/store"
	"switchboard/store/storetest"
)

func TestRouter_Health(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		basic, err := auth.NewBasic(st, auth.BasicOptions{Hasher: auth.Hasher{Cost: bcrypt.MinCost}})
		if err != nil {
			t.Fatal(err)
		}
		e := handlers.New(handlers.Config{},
			handlers.Deps{Deps: dialect.Deps{Store: st, Passwords: basic, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}})
		// The routes of openapi.yaml are checked against it; /nope is no
		// route of it, so it goes to the router unchecked.
		checked := apitest.Wrap(t, e)
		tests := []struct {
			path   string
			h      http.Handler
			status int
			body   string
		}{
			{"/healthz", checked, 200, `{"status":"ok"}` + "\n"},
			{"/readyz", checked, 200, `{"database":"ok","status":"ok"}` + "\n"},
			{"/nope", e, 404, `{"message":"Not Found"}` + "\n"},
		}
		for _, tt := range tests {
			t.Run(tt.path, func(t *testing.T) {
				rec := httptest.NewRecorder()
				tt.h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tt.path, nil))
				if rec.Code != tt.status || rec.Body.String() != tt.body {
					t.Errorf("%s = %d %q, want %d %q", tt.path, rec.Code, rec.Body.String(), tt.status, tt.body)
				}
				if rec.Header().Get("X-Request-Id") == "" {
					t.Error("no X-Request-Id")
				}
			})
		}
	})
}

// TestRouter_PanicInDialect checks that a panic inside a REVE route becomes a
// REVE-shaped 500 rather than a dropped connection.
func TestRouter_PanicInDialect(t *testing.T) {
	st := storetest.MustOpen(t, store.SQLite)
	e := handlers.New(handlers.Config{},
		handlers.Deps{Deps: dialect.Deps{Store: st, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}})
	// A nil authenticator panics on the first authenticated request.
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/api/offlinemessages", nil)
	req.SetBasicAuth("a@example.com", "password")
	apitest.Wrap(t, e).ServeHTTP(rec, req)
	if rec.Code != http.StatusInternalServerError || rec.Body.String() != `{"error":[{"code":500,"message":"Internal Server Error"}]}`+"\n" {
		t.Errorf("panic gave %d %q", rec.Code, rec.Body.String())
	}
}

// TestRouter_MatchesSpec checks that every route on the router is a path and
// method of openapi.yaml, and every operation of openapi.yaml is routed.
func TestRouter_MatchesSpec(t *testing.T) {
	var spec struct {
		Paths map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(api.Spec(), &spec); err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	inSpec := map[string]bool{}
	for path, ops := range spec.Paths {
		for method := range ops {
			switch method {
			case "get", "put", "post", "delete", "patch", "head", "options":
				inSpec[strings.ToUpper(method)+" "+path] = true
			}
		}
	}
	st := storetest.MustOpen(t, store.SQLite)
	e := handlers.New(handlers.Config{},
		handlers.Deps{Deps: dialect.Deps{Store: st, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}})
	routed := map[string]bool{}
	param := regexp.MustCompile(`:([A-Za-z_]+)`)
	for _, r := range e.Routes() {
		if r.Name == dialect.FallbackRoute {
			continue // a dialect's 404 and 405, no operation
		}
		routed[r.Method+" "+param.ReplaceAllString(r.Path, "{$1}")] = true
	}
	for k := range routed {
		if !inSpec[k] {
			t.Errorf("route %s is not in openapi.yaml", k)
		}
	}
	for k := range inSpec {
		if !routed[k] {
			t.Errorf("openapi.yaml has %s, which no route serves", k)
		}
	}
}

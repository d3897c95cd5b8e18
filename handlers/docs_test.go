package handlers_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"switchboard/api"
	"switchboard/handlers"
	"switchboard/handlers/apitest"
	"switchboard/handlers/dialect"
	"switchboard/store"
	"switchboard/store/storetest"
)

// TestRouter_Docs checks that the server serves its OpenAPI document as
// built in and the reference page made from it, without authentication,
// each as the spec says.
func TestRouter_Docs(t *testing.T) {
	st := storetest.MustOpen(t, store.SQLite)
	e := handlers.New(handlers.Config{},
		handlers.Deps{Deps: dialect.Deps{Store: st, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}})
	srv := httptest.NewServer(apitest.Wrap(t, e))
	t.Cleanup(srv.Close)

	get := func(path string) (*http.Response, []byte) {
		t.Helper()
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		return res, body
	}

	t.Run("openapi.yaml", func(t *testing.T) {
		res, body := get("/openapi.yaml")
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET /openapi.yaml = %d", res.StatusCode)
		}
		if ct := res.Header.Get("Content-Type"); ct != "application/yaml" {
			t.Errorf("Content-Type = %q, want application/yaml", ct)
		}
		if !bytes.Equal(body, api.Spec()) {
			t.Errorf("GET /openapi.yaml gave %d bytes that are not api.Spec() (%d bytes)", len(body), len(api.Spec()))
		}
	})

	t.Run("docs", func(t *testing.T) {
		res, body := get("/docs")
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET /docs = %d %s", res.StatusCode, body)
		}
		if ct := res.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("Content-Type = %q, want text/html; charset=utf-8", ct)
		}
		if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("Content-Security-Policy = %q, want default-src 'none'", csp)
		}
		page, err := api.Docs()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(body, page) {
			t.Error("GET /docs is not api.Docs()")
		}
		for _, want := range []string{"<!DOCTYPE html>", "/v1/messages", "/api/offlinemessages", "/data-api/v2.0",
			"/api/v1/crm/messenger/chat/add-message", "/openapi.yaml"} {
			if !strings.Contains(string(body), want) {
				t.Errorf("GET /docs lacks %q", want)
			}
		}
	})
}

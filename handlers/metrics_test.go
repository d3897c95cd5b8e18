package handlers_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"

	"switchboard/auth"
	"switchboard/handlers"
	"switchboard/handlers/dialect"
	"switchboard/metrics"
	"switchboard/store"
	"switchboard/store/storetest"
)

// TestRouter_RequestMetrics sends a few requests through the real router
// and scrapes /metrics: each is counted under its route template (not its
// raw path), method and status, a request no route takes under
// "unmatched", and the latency histogram and in-flight gauge are there.
func TestRouter_RequestMetrics(t *testing.T) {
	st := storetest.MustOpen(t, store.SQLite)
	basic, err := auth.NewBasic(st, auth.BasicOptions{Hasher: auth.Hasher{Cost: bcrypt.MinCost}})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	e := handlers.New(handlers.Config{}, handlers.Deps{
		Deps:    dialect.Deps{Store: st, Passwords: basic, Log: slog.New(slog.NewTextHandler(io.Discard, nil))},
		Metrics: reg, Instruments: metrics.New(reg)})
	send := func(method, path string) {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	}
	for range 3 {
		send(http.MethodGet, "/healthz")
	}
	send(http.MethodGet, "/api/offlinemessages/7")  // REVE without credentials: 401
	send(http.MethodGet, "/api/offlinemessages/42") // the same route
	send(http.MethodGet, "/nope/123")               // no route at all
	send("BREW", "/healthz")                        // a made-up method

	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("/metrics = %d %s", rec.Code, rec.Body)
	}
	out := rec.Body.String()
	tests := []struct {
		name string
		line string // a whole line of the exposition
	}{
		{"a route counted by template", `switchboard_http_requests_total{method="GET",route="/healthz",status="200"} 3`},
		{"ids folded into the template", `switchboard_http_requests_total{method="GET",route="/api/offlinemessages/:id",status="401"} 2`},
		{"no route", `switchboard_http_requests_total{method="GET",route="unmatched",status="404"} 1`},
		{"a made-up method", `switchboard_http_requests_total{method="other",route="/healthz",status="405"} 1`},
		{"the histogram's count", `switchboard_http_request_duration_seconds_count{method="GET",route="/healthz",status="200"} 3`},
		{"the histogram's last bucket", `switchboard_http_request_duration_seconds_bucket{method="GET",route="/healthz",status="200",le="+Inf"} 3`},
		// The scrape itself is the one request in flight.
		{"in flight", `switchboard_http_requests_in_flight 1`},
		{"deliveries at zero from the start", `switchboard_deliveries_total{channel="webhook",result="failed"} 0`},
		{"bcrypt compares at zero from the start", `switchboard_bcrypt_compares_total{result="match"} 0`},
	}
	lines := strings.Split(out, "\n")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, l := range lines {
				if l == tt.line {
					return
				}
			}
			t.Errorf("/metrics lacks the line\n%s\nin:\n%s", tt.line, grepLines(out, "switchboard_http_requests_total"))
		})
	}
	t.Run("no raw path", func(t *testing.T) {
		for _, raw := range []string{"/api/offlinemessages/7", "/api/offlinemessages/42", "/nope/123"} {
			if strings.Contains(out, `"`+raw+`"`) {
				t.Errorf("/metrics has the raw path %s as a label", raw)
			}
		}
	})
}

// grepLines returns the lines of s that hold sub.
func grepLines(s, sub string) string {
	var b strings.Builder
	for l := range strings.SplitSeq(s, "\n") {
		if strings.Contains(l, sub) {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// TestRouter_MetricsElsewhere checks that with the metrics on their own
// address the router has no /metrics.
func TestRouter_MetricsElsewhere(t *testing.T) {
	st := storetest.MustOpen(t, store.SQLite)
	reg := prometheus.NewRegistry()
	e := handlers.New(handlers.Config{MetricsElsewhere: true}, handlers.Deps{
		Deps:    dialect.Deps{Store: st, Log: slog.New(slog.NewTextHandler(io.Discard, nil))},
		Metrics: reg, Instruments: metrics.New(reg)})
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusNotFound || strings.Contains(rec.Body.String(), "switchboard_") {
		t.Errorf("/metrics = %d %.200s, want 404", rec.Code, rec.Body)
	}
}

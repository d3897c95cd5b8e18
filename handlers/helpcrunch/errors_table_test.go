package helpcrunch

import (
	"log/slog"
	"strings"
	"testing"

	"switchboard/handlers/errkind/errkindtest"
)

// TestErrors_EveryKind answers one error of every kind (errkindtest.Samples)
// through HelpCrunch's error table and checks the status, headers and body
// HelpCrunch's format gives it.
func TestErrors_EveryKind(t *testing.T) {
	tests := []struct {
		kind                                     string
		status                                   int
		retryAfter, wwwAuthenticate, contentType string
		body                                     string
	}{
		{kind: "Internal", status: 500, retryAfter: "", wwwAuthenticate: ``, contentType: "application/json",
			body: `{"errors":[{"code":"invalid_request","message":"Invalid request"},{"code":"internal_error","message":"Internal server error"}]}`},
		{kind: "NotFound", status: 404, retryAfter: "", wwwAuthenticate: ``, contentType: "application/json",
			body: `{"errors":[{"code":"invalid_request","message":"Invalid request"},{"code":"not_found","message":"Not found"}]}`},
		{kind: "NotFound/entity", status: 404, retryAfter: "", wwwAuthenticate: ``, contentType: "application/json",
			body: `{"errors":[{"code":"invalid_request","message":"Invalid request"},{"code":"not_found","message":"Not found"}]}`},
		{kind: "Invalid/fields", status: 400, retryAfter: "", wwwAuthenticate: ``, contentType: "application/json",
			body: `{"errors":[{"code":"invalid_request","message":"Invalid request"},{"code":"name","message":"must not be empty"}]}`},
		{kind: "Invalid/key", status: 400, retryAfter: "", wwwAuthenticate: ``, contentType: "application/json",
			body: `{"errors":[{"code":"invalid_request","message":"Invalid request"},{"code":"idempotency_key","message":"Idempotency-Key is invalid: it is empty"}]}`},
		{kind: "Conflict/duplicate", status: 500, retryAfter: "", wwwAuthenticate: ``, contentType: "application/json",
			body: `{"errors":[{"code":"invalid_request","message":"Invalid request"},{"code":"internal_error","message":"Internal server error"}]}`},
		{kind: "Conflict/closed", status: 400, retryAfter: "", wwwAuthenticate: ``, contentType: "application/json",
			body: `{"errors":[{"code":"invalid_request","message":"Invalid request"},{"code":"chat","message":"Chat is closed"}]}`},
		{kind: "InFlight", status: 409, retryAfter: "", wwwAuthenticate: ``, contentType: "application/json",
			body: `{"errors":[{"code":"invalid_request","message":"Invalid request"},{"code":"idempotency_key_in_use","message":"A request with this Idempotency-Key is still in progress"}]}`},
		{kind: "InFlight/applied", status: 409, retryAfter: "", wwwAuthenticate: ``, contentType: "application/json",
			body: `{"errors":[{"code":"invalid_request","message":"Invalid request"},{"code":"idempotency_key_applied","message":"The request with this Idempotency-Key was applied, but its response was lost: read the result instead of sending it again"}]}`},
		{kind: "Mismatch", status: 422, retryAfter: "", wwwAuthenticate: ``, contentType: "application/json",
			body: `{"errors":[{"code":"invalid_request","message":"Invalid request"},{"code":"idempotency_key_reused","message":"This Idempotency-Key was used with a different request"}]}`},
		{kind: "Limited/requests", status: 429, retryAfter: "30", wwwAuthenticate: ``, contentType: "application/json",
			body: `{"errors":[{"code":"invalid_request","message":"Invalid request"},{"code":"too_many_requests","message":"Too many requests"}]}`},
		{kind: "Limited/logins", status: 500, retryAfter: "", wwwAuthenticate: ``, contentType: "application/json",
			body: `{"errors":[{"code":"invalid_request","message":"Invalid request"},{"code":"internal_error","message":"Internal server error"}]}`},
		{kind: "Limited/checks", status: 500, retryAfter: "", wwwAuthenticate: ``, contentType: "application/json",
			body: `{"errors":[{"code":"invalid_request","message":"Invalid request"},{"code":"internal_error","message":"Internal server error"}]}`},
		{kind: "Limited/quota", status: 500, retryAfter: "", wwwAuthenticate: ``, contentType: "application/json",
			body: `{"errors":[{"code":"invalid_request","message":"Invalid request"},{"code":"internal_error","message":"Internal server error"}]}`},
		{kind: "Unavailable", status: 503, retryAfter: "1", wwwAuthenticate: ``, contentType: "application/json",
			body: `{"errors":[{"code":"invalid_request","message":"Invalid request"},{"code":"service_unavailable","message":"Service is temporarily unavailable. Retry after the number of seconds in Retry-After; send a write again with the same Idempotency-Key header so that it is not made twice"}]}`},
		{kind: "Unauthenticated/none", status: 401, retryAfter: "", wwwAuthenticate: ``, contentType: "application/json",
			body: `{"errors":[{"code":"invalid_request","message":"Invalid request"},{"code":"unauthorized","message":"Unauthorized"}]}`},
		{kind: "Unauthenticated/token", status: 401, retryAfter: "", wwwAuthenticate: ``, contentType: "application/json",
			body: `{"errors":[{"code":"invalid_request","message":"Invalid request"},{"code":"unauthorized","message":"Unauthorized"}]}`},
		{kind: "Unauthenticated/expired", status: 401, retryAfter: "", wwwAuthenticate: ``, contentType: "application/json",
			body: `{"errors":[{"code":"invalid_request","message":"Invalid request"},{"code":"unauthorized","message":"Unauthorized"}]}`},
		{kind: "Unauthenticated/session", status: 401, retryAfter: "", wwwAuthenticate: ``, contentType: "application/json",
			body: `{"errors":[{"code":"invalid_request","message":"Invalid request"},{"code":"unauthorized","message":"Unauthorized"}]}`},
		{kind: "Unauthenticated/password", status: 500, retryAfter: "", wwwAuthenticate: ``, contentType: "application/json",
			body: `{"errors":[{"code":"invalid_request","message":"Invalid request"},{"code":"internal_error","message":"Internal server error"}]}`},
		{kind: "Forbidden", status: 403, retryAfter: "", wwwAuthenticate: ``, contentType: "application/json",
			body: `{"errors":[{"code":"invalid_request","message":"Invalid request"},{"code":"forbidden","message":"Forbidden"}]}`},
		{kind: "Forbidden/scope", status: 403, retryAfter: "", wwwAuthenticate: ``, contentType: "application/json",
			body: `{"errors":[{"code":"invalid_request","message":"Invalid request"},{"code":"forbidden","message":"This API key lacks the \"email\" scope"}]}`},
		{kind: "TooLarge", status: 413, retryAfter: "", wwwAuthenticate: ``, contentType: "application/json",
			body: `{"errors":[{"code":"invalid_request","message":"Invalid request"},{"code":"request_too_large","message":"Request body is too large"}]}`},
	}
	want := make(map[string]int, len(tests))
	for i, tt := range tests {
		want[tt.kind] = i
	}
	render := renderErrors(slog.New(slog.DiscardHandler))
	for _, s := range errkindtest.Samples() {
		t.Run(s.Name, func(t *testing.T) {
			i, ok := want[s.Name]
			if !ok {
				t.Fatalf("the table test has no answer for %s", s.Name)
			}
			tt := tests[i]
			rec := errkindtest.Serve(t, render, s.Err)
			h := rec.Header()
			if rec.Code != tt.status {
				t.Errorf("status = %d, want %d", rec.Code, tt.status)
			}
			if got := h.Get("Retry-After"); got != tt.retryAfter {
				t.Errorf("Retry-After = %q, want %q", got, tt.retryAfter)
			}
			if got := h.Get("WWW-Authenticate"); got != tt.wwwAuthenticate {
				t.Errorf("WWW-Authenticate = %q, want %q", got, tt.wwwAuthenticate)
			}
			if got := h.Get("Content-Type"); got != tt.contentType {
				t.Errorf("Content-Type = %q, want %q", got, tt.contentType)
			}
			if got := strings.TrimSpace(rec.Body.String()); got != tt.body {
				t.Errorf("body = %s\nwant   %s", got, tt.body)
			}
		})
	}
}

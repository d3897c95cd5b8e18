package acquire

import (
	"log/slog"
	"strings"
	"testing"

	"switchboard/handlers/errkind/errkindtest"
)

// TestErrors_EveryKind answers one error of every kind (errkindtest.Samples)
// through Acquire's error table and checks the status, headers and body
// Acquire's format gives it.
func TestErrors_EveryKind(t *testing.T) {
	tests := []struct {
		kind                                     string
		status                                   int
		retryAfter, wwwAuthenticate, contentType string
		body                                     string
	}{
		{kind: "Internal", status: 500, retryAfter: "", wwwAuthenticate: ``, contentType: "application/json",
			body: `{"error":{"type":"ERROR_SERVER_ERROR","message":"Internal server error"}}`},
		{kind: "NotFound", status: 400, retryAfter: "", wwwAuthenticate: ``, contentType: "application/json",
			body: `{"error":{"type":"ERROR_RECORD_NOT_FOUND","message":"Record not found"}}`},
		{kind: "NotFound/entity", status: 400, retryAfter: "", wwwAuthenticate: ``, contentType: "application/json",
			body: `{"error":{"type":"ERROR_RECORD_NOT_FOUND","message":"Record not found"}}`},
		{kind: "Invalid/fields", status: 400, retryAfter: "", wwwAuthenticate: ``, contentType: "application/json",
			body: `{"error":{"type":"ERROR_INVALID_INPUT","message":"name: must not be empty"}}`},
		{kind: "Invalid/key", status: 400, retryAfter: "", wwwAuthenticate: ``, contentType: "application/json",
			body: `{"error":{"type":"ERROR_INVALID_INPUT","message":"Idempotency-Key is invalid: it is empty"}}`},
		{kind: "Conflict/duplicate", status: 500, retryAfter: "", wwwAuthenticate: ``, contentType: "application/json",
			body: `{"error":{"type":"ERROR_SERVER_ERROR","message":"Internal server error"}}`},
		{kind: "Conflict/closed", status: 400, retryAfter: "", wwwAuthenticate: ``, contentType: "application/json",
			body: `{"error":{"type":"ERROR_INVALID_INPUT","message":"Only active cases may receive messages via the API"}}`},
		{kind: "InFlight", status: 409, retryAfter: "", wwwAuthenticate: ``, contentType: "application/json",
			body: `{"error":{"type":"ERROR_CONFLICT","message":"A request with this Idempotency-Key is still in progress"}}`},
		{kind: "InFlight/applied", status: 409, retryAfter: "", wwwAuthenticate: ``, contentType: "application/json",
			body: `{"error":{"type":"ERROR_CONFLICT","message":"The request with this Idempotency-Key was applied, but its response was lost: read the result instead of sending it again"}}`},
		{kind: "Mismatch", status: 422, retryAfter: "", wwwAuthenticate: ``, contentType: "application/json",
			body: `{"error":{"type":"ERROR_CONFLICT","message":"This Idempotency-Key was used with a different request"}}`},
		{kind: "Limited/requests", status: 429, retryAfter: "30", wwwAuthenticate: ``, contentType: "application/json",
			body: `{"error":{"type":"ERROR_TOO_MANY_REQUESTS","message":"Too many requests: the limit is 60 requests per minute. Try again in 30 seconds."}}`},
		{kind: "Limited/logins", status: 500, retryAfter: "", wwwAuthenticate: ``, contentType: "application/json",
			body: `{"error":{"type":"ERROR_SERVER_ERROR","message":"Internal server error"}}`},
		{kind: "Limited/checks", status: 500, retryAfter: "", wwwAuthenticate: ``, contentType: "application/json",
			body: `{"error":{"type":"ERROR_SERVER_ERROR","message":"Internal server error"}}`},
		{kind: "Limited/quota", status: 429, retryAfter: "1200", wwwAuthenticate: ``, contentType: "application/json",
			body: `{"error":{"type":"ERROR_TOO_MANY_REQUESTS","message":"the account may send 100 emails an hour; try again in 20m0s"}}`},
		{kind: "Unavailable", status: 503, retryAfter: "1", wwwAuthenticate: ``, contentType: "application/json",
			body: `{"error":{"type":"ERROR_SERVICE_UNAVAILABLE","message":"Service is temporarily unavailable. Retry after the number of seconds in Retry-After; send a write again with the same Idempotency-Key header so that it is not made twice."}}`},
		{kind: "Unauthenticated/none", status: 401, retryAfter: "", wwwAuthenticate: `Bearer`, contentType: "application/json",
			body: `{"error":{"type":"ERROR_UNAUTHORIZED","message":"Missing API key: send the header Authorization: Bearer \u003cAPI key\u003e"}}`},
		{kind: "Unauthenticated/token", status: 401, retryAfter: "", wwwAuthenticate: `Bearer`, contentType: "application/json",
			body: `{"error":{"type":"ERROR_UNAUTHORIZED","message":"Invalid API key"}}`},
		{kind: "Unauthenticated/expired", status: 401, retryAfter: "", wwwAuthenticate: `Bearer`, contentType: "application/json",
			body: `{"error":{"type":"ERROR_UNAUTHORIZED","message":"The API key has expired"}}`},
		{kind: "Unauthenticated/session", status: 401, retryAfter: "", wwwAuthenticate: `Bearer`, contentType: "application/json",
			body: `{"error":{"type":"ERROR_UNAUTHORIZED","message":"A login.user session token is valid only on the CallGear Data API: send an API key"}}`},
		{kind: "Unauthenticated/password", status: 500, retryAfter: "", wwwAuthenticate: ``, contentType: "application/json",
			body: `{"error":{"type":"ERROR_SERVER_ERROR","message":"Internal server error"}}`},
		{kind: "Forbidden", status: 403, retryAfter: "", wwwAuthenticate: ``, contentType: "application/json",
			body: `{"error":{"type":"ERROR_UNAUTHORIZED_ACCESS","message":"This API key may not do this"}}`},
		{kind: "Forbidden/scope", status: 403, retryAfter: "", wwwAuthenticate: ``, contentType: "application/json",
			body: `{"error":{"type":"ERROR_UNAUTHORIZED_ACCESS","message":"This API key lacks the \"email\" scope"}}`},
		{kind: "TooLarge", status: 413, retryAfter: "", wwwAuthenticate: ``, contentType: "application/json",
			body: `{"error":{"type":"ERROR_INVALID_INPUT","message":"request body too large"}}`},
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

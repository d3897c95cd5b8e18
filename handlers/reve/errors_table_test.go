package reve

import (
	"log/slog"
	"strings"
	"testing"

	"switchboard/handlers/errkind/errkindtest"
)

// TestErrors_EveryKind answers one error of every kind (errkindtest.Samples)
// through REVE's error table and checks the status, headers and body
// REVE's format gives it.
func TestErrors_EveryKind(t *testing.T) {
	tests := []struct {
		kind                                     string
		status                                   int
		retryAfter, wwwAuthenticate, contentType string
		body                                     string
	}{
		{kind: "Internal", status: 500, retryAfter: "", wwwAuthenticate: ``, contentType: "application/json",
			body: `{"error":[{"code":500,"message":"Internal Server Error"}]}`},
		{kind: "NotFound", status: 404, retryAfter: "", wwwAuthenticate: ``, contentType: "application/json",
			body: `{"error":[{"code":404,"message":"Not Found"}]}`},
		{kind: "NotFound/entity", status: 404, retryAfter: "", wwwAuthenticate: ``, contentType: "application/json",
			body: `{"error":[{"code":404,"message":"Not Found"}]}`},
		{kind: "Invalid/fields", status: 400, retryAfter: "", wwwAuthenticate: `Basic realm="revechat"`, contentType: "application/json",
			body: `{"error":[{"code":400,"message":"invalid input: name: must not be empty"}]}`},
		{kind: "Invalid/key", status: 400, retryAfter: "", wwwAuthenticate: `Basic realm="revechat"`, contentType: "application/json",
			body: `{"error":[{"code":400,"message":"Invalid Idempotency-Key: it is empty."}]}`},
		{kind: "Conflict/duplicate", status: 500, retryAfter: "", wwwAuthenticate: ``, contentType: "application/json",
			body: `{"error":[{"code":500,"message":"Internal Server Error"}]}`},
		{kind: "Conflict/closed", status: 500, retryAfter: "", wwwAuthenticate: ``, contentType: "application/json",
			body: `{"error":[{"code":500,"message":"Internal Server Error"}]}`},
		{kind: "InFlight", status: 409, retryAfter: "", wwwAuthenticate: ``, contentType: "application/json",
			body: `{"error":[{"code":409,"message":"A request with this Idempotency-Key is still in progress."}]}`},
		{kind: "InFlight/applied", status: 409, retryAfter: "", wwwAuthenticate: ``, contentType: "application/json",
			body: `{"error":[{"code":409,"message":"The request with this Idempotency-Key was applied, but its response was lost: read the result instead of sending it again."}]}`},
		{kind: "Mismatch", status: 422, retryAfter: "", wwwAuthenticate: ``, contentType: "application/json",
			body: `{"error":[{"code":422,"message":"This Idempotency-Key was used with a different request."}]}`},
		{kind: "Limited/requests", status: 429, retryAfter: "30", wwwAuthenticate: ``, contentType: "application/json",
			body: `{"error":[{"code":429,"message":"Too many requests: the limit is 60 requests per minute. Please wait 30 seconds and try again."}]}`},
		{kind: "Limited/logins", status: 429, retryAfter: "90", wwwAuthenticate: ``, contentType: "application/json",
			body: `{"error":[{"code":429,"message":"Too many failed logins for this address: the limit is 5 per 15 minutes. Please wait 90 seconds and try again."}]}`},
		{kind: "Limited/checks", status: 503, retryAfter: "1", wwwAuthenticate: ``, contentType: "application/json",
			body: `{"error":[{"code":503,"message":"Too many logins are being checked at once. Please wait 1 second and try again."}]}`},
		{kind: "Limited/quota", status: 500, retryAfter: "", wwwAuthenticate: ``, contentType: "application/json",
			body: `{"error":[{"code":500,"message":"Internal Server Error"}]}`},
		{kind: "Unavailable", status: 503, retryAfter: "1", wwwAuthenticate: ``, contentType: "application/json",
			body: `{"error":[{"code":503,"message":"Service is temporarily unavailable. Retry after the number of seconds in Retry-After; send a write again with the same Idempotency-Key header so that it is not made twice."}]}`},
		{kind: "Unauthenticated/none", status: 401, retryAfter: "", wwwAuthenticate: `Basic realm="revechat"`, contentType: "application/json;charset=UTF-8",
			body: `Bad credentials`},
		{kind: "Unauthenticated/token", status: 401, retryAfter: "", wwwAuthenticate: `Basic realm="revechat"`, contentType: "application/json;charset=UTF-8",
			body: `Bad credentials`},
		{kind: "Unauthenticated/expired", status: 401, retryAfter: "", wwwAuthenticate: `Basic realm="revechat"`, contentType: "application/json;charset=UTF-8",
			body: `Bad credentials`},
		{kind: "Unauthenticated/session", status: 401, retryAfter: "", wwwAuthenticate: `Basic realm="revechat"`, contentType: "application/json;charset=UTF-8",
			body: `Bad credentials`},
		{kind: "Unauthenticated/password", status: 401, retryAfter: "", wwwAuthenticate: `Basic realm="revechat"`, contentType: "application/json;charset=UTF-8",
			body: `Bad credentials`},
		{kind: "Forbidden", status: 403, retryAfter: "", wwwAuthenticate: `Basic realm="revechat"`, contentType: "application/json;charset=UTF-8",
			body: `Access is denied! Only user with Super Admin role can access the REST API`},
		{kind: "Forbidden/scope", status: 403, retryAfter: "", wwwAuthenticate: `Basic realm="revechat"`, contentType: "application/json;charset=UTF-8",
			body: `Access is denied! Only user with Super Admin role can access the REST API`},
		{kind: "TooLarge", status: 413, retryAfter: "", wwwAuthenticate: ``, contentType: "application/json",
			body: `{"error":[{"code":413,"message":"Request Entity Too Large"}]}`},
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

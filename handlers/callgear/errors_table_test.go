package callgear

import (
	"log/slog"
	"strings"
	"testing"

	"switchboard/handlers/errkind/errkindtest"
)

// TestErrors_EveryKind answers one error of every kind (errkindtest.Samples)
// through CallGear's error table and checks the status, headers and body
// CallGear's format gives it.
func TestErrors_EveryKind(t *testing.T) {
	tests := []struct {
		kind                                     string
		status                                   int
		retryAfter, wwwAuthenticate, contentType string
		body                                     string
	}{
		{kind: "Internal", status: 500, retryAfter: "", wwwAuthenticate: ``, contentType: "application/json; charset=UTF-8",
			body: `{"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":"Internal error","data":{"mnemonic":"internal_error"}}}`},
		{kind: "NotFound", status: 200, retryAfter: "", wwwAuthenticate: ``, contentType: "application/json; charset=UTF-8",
			body: `{"jsonrpc":"2.0","id":null,"error":{"code":-32602,"message":"Entity not found","data":{"mnemonic":"entity_not_found"}}}`},
		{kind: "NotFound/entity", status: 200, retryAfter: "", wwwAuthenticate: ``, contentType: "application/json; charset=UTF-8",
			body: `{"jsonrpc":"2.0","id":null,"error":{"code":-32602,"message":"Entity not found: contact 42","data":{"mnemonic":"entity_not_found","value":42}}}`},
		{kind: "Invalid/fields", status: 200, retryAfter: "", wwwAuthenticate: ``, contentType: "application/json; charset=UTF-8",
			body: `{"jsonrpc":"2.0","id":null,"error":{"code":-32602,"message":"Parameter name: must not be empty","data":{"mnemonic":"required_parameter_missed","field":"name"}}}`},
		{kind: "Invalid/key", status: 400, retryAfter: "", wwwAuthenticate: ``, contentType: "application/json; charset=UTF-8",
			body: `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid Idempotency-Key header: it is empty","data":{"mnemonic":"invalid_request","field":"Idempotency-Key"}}}`},
		{kind: "Conflict/duplicate", status: 500, retryAfter: "", wwwAuthenticate: ``, contentType: "application/json; charset=UTF-8",
			body: `{"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":"Internal error","data":{"mnemonic":"internal_error"}}}`},
		{kind: "Conflict/closed", status: 500, retryAfter: "", wwwAuthenticate: ``, contentType: "application/json; charset=UTF-8",
			body: `{"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":"Internal error","data":{"mnemonic":"internal_error"}}}`},
		{kind: "InFlight", status: 409, retryAfter: "", wwwAuthenticate: ``, contentType: "application/json; charset=UTF-8",
			body: `{"jsonrpc":"2.0","id":null,"error":{"code":-32004,"message":"A request with this Idempotency-Key is still in progress","data":{"mnemonic":"idempotency_key_in_use"}}}`},
		{kind: "InFlight/applied", status: 409, retryAfter: "", wwwAuthenticate: ``, contentType: "application/json; charset=UTF-8",
			body: `{"jsonrpc":"2.0","id":null,"error":{"code":-32004,"message":"The request with this Idempotency-Key was applied, but its response was lost: read the result instead of sending it again","data":{"mnemonic":"idempotency_key_applied"}}}`},
		{kind: "Mismatch", status: 422, retryAfter: "", wwwAuthenticate: ``, contentType: "application/json; charset=UTF-8",
			body: `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"This Idempotency-Key was used with a different request","data":{"mnemonic":"idempotency_key_reused"}}}`},
		{kind: "Limited/requests", status: 200, retryAfter: "", wwwAuthenticate: ``, contentType: "application/json; charset=UTF-8",
			body: `{"jsonrpc":"2.0","id":null,"error":{"code":-32029,"message":"Limit per minute has been exceeded. Value of current limit per minute is 60","data":{"mnemonic":"limit_exceeded"}}}`},
		{kind: "Limited/logins", status: 200, retryAfter: "90", wwwAuthenticate: ``, contentType: "application/json; charset=UTF-8",
			body: `{"jsonrpc":"2.0","id":null,"error":{"code":-32029,"message":"Limit of failed logins per address has been exceeded. Value of current limit per 15 minutes is 5","data":{"mnemonic":"limit_exceeded"}}}`},
		{kind: "Limited/checks", status: 200, retryAfter: "1", wwwAuthenticate: ``, contentType: "application/json; charset=UTF-8",
			body: `{"jsonrpc":"2.0","id":null,"error":{"code":-32029,"message":"Limit of password checks at once has been exceeded. Retry in 1 second","data":{"mnemonic":"limit_exceeded"}}}`},
		{kind: "Limited/quota", status: 500, retryAfter: "", wwwAuthenticate: ``, contentType: "application/json; charset=UTF-8",
			body: `{"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":"Internal error","data":{"mnemonic":"internal_error"}}}`},
		{kind: "Unavailable", status: 503, retryAfter: "1", wwwAuthenticate: ``, contentType: "application/json; charset=UTF-8",
			body: `{"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":"Service temporarily unavailable. Retry after the number of seconds in Retry-After; send a write again with the same Idempotency-Key header so that it is not made twice","data":{"mnemonic":"internal_error"}}}`},
		{kind: "Unauthenticated/none", status: 500, retryAfter: "", wwwAuthenticate: ``, contentType: "application/json; charset=UTF-8",
			body: `{"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":"Internal error","data":{"mnemonic":"internal_error"}}}`},
		{kind: "Unauthenticated/token", status: 200, retryAfter: "", wwwAuthenticate: ``, contentType: "application/json; charset=UTF-8",
			body: `{"jsonrpc":"2.0","id":null,"error":{"code":-32001,"message":"Access token is invalid","data":{"mnemonic":"access_token_invalid"}}}`},
		{kind: "Unauthenticated/expired", status: 200, retryAfter: "", wwwAuthenticate: ``, contentType: "application/json; charset=UTF-8",
			body: `{"jsonrpc":"2.0","id":null,"error":{"code":-32001,"message":"Access token has expired","data":{"mnemonic":"access_token_expired"}}}`},
		{kind: "Unauthenticated/session", status: 200, retryAfter: "", wwwAuthenticate: ``, contentType: "application/json; charset=UTF-8",
			body: `{"jsonrpc":"2.0","id":null,"error":{"code":-32001,"message":"Access token is invalid","data":{"mnemonic":"access_token_invalid"}}}`},
		{kind: "Unauthenticated/password", status: 200, retryAfter: "", wwwAuthenticate: ``, contentType: "application/json; charset=UTF-8",
			body: `{"jsonrpc":"2.0","id":null,"error":{"code":-32001,"message":"Wrong login or password","data":{"mnemonic":"auth_error"}}}`},
		{kind: "Forbidden", status: 200, retryAfter: "", wwwAuthenticate: ``, contentType: "application/json; charset=UTF-8",
			body: `{"jsonrpc":"2.0","id":null,"error":{"code":-32003,"message":"Access denied","data":{"mnemonic":"forbidden"}}}`},
		{kind: "Forbidden/scope", status: 200, retryAfter: "", wwwAuthenticate: ``, contentType: "application/json; charset=UTF-8",
			body: `{"jsonrpc":"2.0","id":null,"error":{"code":-32003,"message":"Access denied: this access token lacks the \"email\" scope","data":{"mnemonic":"forbidden"}}}`},
		{kind: "TooLarge", status: 413, retryAfter: "", wwwAuthenticate: ``, contentType: "application/json; charset=UTF-8",
			body: `{"jsonrpc":"2.0","id":null,"error":{"code":-32602,"message":"The request body is larger than the server accepts","data":{"mnemonic":"data_limit_exceeded"}}}`},
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

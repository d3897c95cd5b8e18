package callgear

import (
	"log/slog"
	"testing"

	"switchboard/handlers/errkind/errkindtest"
)

// TestErrors_EveryKind answers one error of every kind (errkindtest.Samples)
// through CallGear's error table and checks the status, headers and body
// CallGear's format gives it.
func TestErrors_EveryKind(t *testing.T) {
	errkindtest.CheckEveryKind(t, renderErrors(slog.New(slog.DiscardHandler)), []errkindtest.Answer{
		{Kind: "Internal", Status: 500, RetryAfter: "", WWWAuthenticate: ``, ContentType: "application/json; charset=UTF-8",
			Body: `{"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":"Internal error","data":{"mnemonic":"internal_error"}}}`},
		{Kind: "NotFound", Status: 200, RetryAfter: "", WWWAuthenticate: ``, ContentType: "application/json; charset=UTF-8",
			Body: `{"jsonrpc":"2.0","id":null,"error":{"code":-32602,"message":"Entity not found","data":{"mnemonic":"entity_not_found"}}}`},
		{Kind: "NotFound/entity", Status: 200, RetryAfter: "", WWWAuthenticate: ``, ContentType: "application/json; charset=UTF-8",
			Body: `{"jsonrpc":"2.0","id":null,"error":{"code":-32602,"message":"Entity not found: contact 42","data":{"mnemonic":"entity_not_found","value":42}}}`},
		{Kind: "Invalid/fields", Status: 200, RetryAfter: "", WWWAuthenticate: ``, ContentType: "application/json; charset=UTF-8",
			Body: `{"jsonrpc":"2.0","id":null,"error":{"code":-32602,"message":"Parameter name: must not be empty","data":{"mnemonic":"required_parameter_missed","field":"name"}}}`},
		{Kind: "Invalid/key", Status: 400, RetryAfter: "", WWWAuthenticate: ``, ContentType: "application/json; charset=UTF-8",
			Body: `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid Idempotency-Key header: it is empty","data":{"mnemonic":"invalid_request","field":"Idempotency-Key"}}}`},
		{Kind: "Conflict/duplicate", Status: 500, RetryAfter: "", WWWAuthenticate: ``, ContentType: "application/json; charset=UTF-8",
			Body: `{"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":"Internal error","data":{"mnemonic":"internal_error"}}}`},
		{Kind: "Conflict/closed", Status: 500, RetryAfter: "", WWWAuthenticate: ``, ContentType: "application/json; charset=UTF-8",
			Body: `{"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":"Internal error","data":{"mnemonic":"internal_error"}}}`},
		{Kind: "InFlight", Status: 409, RetryAfter: "", WWWAuthenticate: ``, ContentType: "application/json; charset=UTF-8",
			Body: `{"jsonrpc":"2.0","id":null,"error":{"code":-32004,"message":"A request with this Idempotency-Key is still in progress","data":{"mnemonic":"idempotency_key_in_use"}}}`},
		{Kind: "InFlight/applied", Status: 409, RetryAfter: "", WWWAuthenticate: ``, ContentType: "application/json; charset=UTF-8",
			Body: `{"jsonrpc":"2.0","id":null,"error":{"code":-32004,"message":"The request with this Idempotency-Key was applied, but its response was lost: read the result instead of sending it again","data":{"mnemonic":"idempotency_key_applied"}}}`},
		{Kind: "Mismatch", Status: 422, RetryAfter: "", WWWAuthenticate: ``, ContentType: "application/json; charset=UTF-8",
			Body: `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"This Idempotency-Key was used with a different request","data":{"mnemonic":"idempotency_key_reused"}}}`},
		{Kind: "Limited/requests", Status: 200, RetryAfter: "", WWWAuthenticate: ``, ContentType: "application/json; charset=UTF-8",
			Body: `{"jsonrpc":"2.0","id":null,"error":{"code":-32029,"message":"Limit per minute has been exceeded. Value of current limit per minute is 60","data":{"mnemonic":"limit_exceeded"}}}`},
		{Kind: "Limited/logins", Status: 200, RetryAfter: "90", WWWAuthenticate: ``, ContentType: "application/json; charset=UTF-8",
			Body: `{"jsonrpc":"2.0","id":null,"error":{"code":-32029,"message":"Limit of failed logins per address has been exceeded. Value of current limit per 15 minutes is 5","data":{"mnemonic":"limit_exceeded"}}}`},
		{Kind: "Limited/checks", Status: 200, RetryAfter: "1", WWWAuthenticate: ``, ContentType: "application/json; charset=UTF-8",
			Body: `{"jsonrpc":"2.0","id":null,"error":{"code":-32029,"message":"Limit of password checks at once has been exceeded. Retry in 1 second","data":{"mnemonic":"limit_exceeded"}}}`},
		{Kind: "Limited/quota", Status: 500, RetryAfter: "", WWWAuthenticate: ``, ContentType: "application/json; charset=UTF-8",
			Body: `{"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":"Internal error","data":{"mnemonic":"internal_error"}}}`},
		{Kind: "Unavailable", Status: 503, RetryAfter: "1", WWWAuthenticate: ``, ContentType: "application/json; charset=UTF-8",
			Body: `{"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":"Service temporarily unavailable. Retry after the number of seconds in Retry-After; send a write again with the same Idempotency-Key header so that it is not made twice","data":{"mnemonic":"internal_error"}}}`},
		{Kind: "Unauthenticated/none", Status: 500, RetryAfter: "", WWWAuthenticate: ``, ContentType: "application/json; charset=UTF-8",
			Body: `{"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":"Internal error","data":{"mnemonic":"internal_error"}}}`},
		{Kind: "Unauthenticated/token", Status: 200, RetryAfter: "", WWWAuthenticate: ``, ContentType: "application/json; charset=UTF-8",
			Body: `{"jsonrpc":"2.0","id":null,"error":{"code":-32001,"message":"Access token is invalid","data":{"mnemonic":"access_token_invalid"}}}`},
		{Kind: "Unauthenticated/expired", Status: 200, RetryAfter: "", WWWAuthenticate: ``, ContentType: "application/json; charset=UTF-8",
			Body: `{"jsonrpc":"2.0","id":null,"error":{"code":-32001,"message":"Access token has expired","data":{"mnemonic":"access_token_expired"}}}`},
		{Kind: "Unauthenticated/session", Status: 200, RetryAfter: "", WWWAuthenticate: ``, ContentType: "application/json; charset=UTF-8",
			Body: `{"jsonrpc":"2.0","id":null,"error":{"code":-32001,"message":"Access token is invalid","data":{"mnemonic":"access_token_invalid"}}}`},
		{Kind: "Unauthenticated/password", Status: 200, RetryAfter: "", WWWAuthenticate: ``, ContentType: "application/json; charset=UTF-8",
			Body: `{"jsonrpc":"2.0","id":null,"error":{"code":-32001,"message":"Wrong login or password","data":{"mnemonic":"auth_error"}}}`},
		{Kind: "Forbidden", Status: 200, RetryAfter: "", WWWAuthenticate: ``, ContentType: "application/json; charset=UTF-8",
			Body: `{"jsonrpc":"2.0","id":null,"error":{"code":-32003,"message":"Access denied","data":{"mnemonic":"forbidden"}}}`},
		{Kind: "Forbidden/scope", Status: 200, RetryAfter: "", WWWAuthenticate: ``, ContentType: "application/json; charset=UTF-8",
			Body: `{"jsonrpc":"2.0","id":null,"error":{"code":-32003,"message":"Access denied: this access token lacks the \"email\" scope","data":{"mnemonic":"forbidden"}}}`},
		{Kind: "TooLarge", Status: 413, RetryAfter: "", WWWAuthenticate: ``, ContentType: "application/json; charset=UTF-8",
			Body: `{"jsonrpc":"2.0","id":null,"error":{"code":-32602,"message":"The request body is larger than the server accepts","data":{"mnemonic":"data_limit_exceeded"}}}`},
	})
}

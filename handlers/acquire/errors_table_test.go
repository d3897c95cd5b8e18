package acquire

import (
	"log/slog"
	"testing"

	"switchboard/handlers/errkind/errkindtest"
)

// TestErrors_EveryKind answers one error of every kind (errkindtest.Samples)
// through Acquire's error table and checks the status, headers and body
// Acquire's format gives it.
func TestErrors_EveryKind(t *testing.T) {
	errkindtest.CheckEveryKind(t, renderErrors(slog.New(slog.DiscardHandler)), []errkindtest.Answer{
		{Kind: "Internal", Status: 500, RetryAfter: "", WWWAuthenticate: ``, ContentType: "application/json",
			Body: `{"error":{"type":"ERROR_SERVER_ERROR","message":"Internal server error"}}`},
		{Kind: "NotFound", Status: 400, RetryAfter: "", WWWAuthenticate: ``, ContentType: "application/json",
			Body: `{"error":{"type":"ERROR_RECORD_NOT_FOUND","message":"Record not found"}}`},
		{Kind: "NotFound/entity", Status: 400, RetryAfter: "", WWWAuthenticate: ``, ContentType: "application/json",
			Body: `{"error":{"type":"ERROR_RECORD_NOT_FOUND","message":"Record not found"}}`},
		{Kind: "Invalid/fields", Status: 400, RetryAfter: "", WWWAuthenticate: ``, ContentType: "application/json",
			Body: `{"error":{"type":"ERROR_INVALID_INPUT","message":"name: must not be empty"}}`},
		{Kind: "Invalid/key", Status: 400, RetryAfter: "", WWWAuthenticate: ``, ContentType: "application/json",
			Body: `{"error":{"type":"ERROR_INVALID_INPUT","message":"Idempotency-Key is invalid: it is empty"}}`},
		{Kind: "Conflict/duplicate", Status: 500, RetryAfter: "", WWWAuthenticate: ``, ContentType: "application/json",
			Body: `{"error":{"type":"ERROR_SERVER_ERROR","message":"Internal server error"}}`},
		{Kind: "Conflict/closed", Status: 400, RetryAfter: "", WWWAuthenticate: ``, ContentType: "application/json",
			Body: `{"error":{"type":"ERROR_INVALID_INPUT","message":"Only active cases may receive messages via the API"}}`},
		{Kind: "InFlight", Status: 409, RetryAfter: "", WWWAuthenticate: ``, ContentType: "application/json",
			Body: `{"error":{"type":"ERROR_CONFLICT","message":"A request with this Idempotency-Key is still in progress"}}`},
		{Kind: "InFlight/applied", Status: 409, RetryAfter: "", WWWAuthenticate: ``, ContentType: "application/json",
			Body: `{"error":{"type":"ERROR_CONFLICT","message":"The request with this Idempotency-Key was applied, but its response was lost: read the result instead of sending it again"}}`},
		{Kind: "Mismatch", Status: 422, RetryAfter: "", WWWAuthenticate: ``, ContentType: "application/json",
			Body: `{"error":{"type":"ERROR_CONFLICT","message":"This Idempotency-Key was used with a different request"}}`},
		{Kind: "Limited/requests", Status: 429, RetryAfter: "30", WWWAuthenticate: ``, ContentType: "application/json",
			Body: `{"error":{"type":"ERROR_TOO_MANY_REQUESTS","message":"Too many requests: the limit is 60 requests per minute. Try again in 30 seconds."}}`},
		{Kind: "Limited/logins", Status: 500, RetryAfter: "", WWWAuthenticate: ``, ContentType: "application/json",
			Body: `{"error":{"type":"ERROR_SERVER_ERROR","message":"Internal server error"}}`},
		{Kind: "Limited/checks", Status: 500, RetryAfter: "", WWWAuthenticate: ``, ContentType: "application/json",
			Body: `{"error":{"type":"ERROR_SERVER_ERROR","message":"Internal server error"}}`},
		{Kind: "Limited/quota", Status: 429, RetryAfter: "1200", WWWAuthenticate: ``, ContentType: "application/json",
			Body: `{"error":{"type":"ERROR_TOO_MANY_REQUESTS","message":"the account may send 100 emails an hour; try again in 20m0s"}}`},
		{Kind: "Unavailable", Status: 503, RetryAfter: "1", WWWAuthenticate: ``, ContentType: "application/json",
			Body: `{"error":{"type":"ERROR_SERVICE_UNAVAILABLE","message":"Service is temporarily unavailable. Retry after the number of seconds in Retry-After; send a write again with the same Idempotency-Key header so that it is not made twice."}}`},
		{Kind: "Unauthenticated/none", Status: 401, RetryAfter: "", WWWAuthenticate: `Bearer`, ContentType: "application/json",
			Body: `{"error":{"type":"ERROR_UNAUTHORIZED","message":"Missing API key: send the header Authorization: Bearer \u003cAPI key\u003e"}}`},
		{Kind: "Unauthenticated/token", Status: 401, RetryAfter: "", WWWAuthenticate: `Bearer`, ContentType: "application/json",
			Body: `{"error":{"type":"ERROR_UNAUTHORIZED","message":"Invalid API key"}}`},
		{Kind: "Unauthenticated/expired", Status: 401, RetryAfter: "", WWWAuthenticate: `Bearer`, ContentType: "application/json",
			Body: `{"error":{"type":"ERROR_UNAUTHORIZED","message":"The API key has expired"}}`},
		{Kind: "Unauthenticated/session", Status: 401, RetryAfter: "", WWWAuthenticate: `Bearer`, ContentType: "application/json",
			Body: `{"error":{"type":"ERROR_UNAUTHORIZED","message":"A login.user session token is valid only on the CallGear Data API: send an API key"}}`},
		{Kind: "Unauthenticated/password", Status: 500, RetryAfter: "", WWWAuthenticate: ``, ContentType: "application/json",
			Body: `{"error":{"type":"ERROR_SERVER_ERROR","message":"Internal server error"}}`},
		{Kind: "Forbidden", Status: 403, RetryAfter: "", WWWAuthenticate: ``, ContentType: "application/json",
			Body: `{"error":{"type":"ERROR_UNAUTHORIZED_ACCESS","message":"This API key may not do this"}}`},
		{Kind: "Forbidden/scope", Status: 403, RetryAfter: "", WWWAuthenticate: ``, ContentType: "application/json",
			Body: `{"error":{"type":"ERROR_UNAUTHORIZED_ACCESS","message":"This API key lacks the \"email\" scope"}}`},
		{Kind: "TooLarge", Status: 413, RetryAfter: "", WWWAuthenticate: ``, ContentType: "application/json",
			Body: `{"error":{"type":"ERROR_INVALID_INPUT","message":"request body too large"}}`},
	})
}

package helpcrunch

import (
	"log/slog"
	"testing"

	"switchboard/handlers/errkind/errkindtest"
)

// TestErrors_EveryKind answers one error of every kind (errkindtest.Samples)
// through HelpCrunch's error table and checks the status, headers and body
// HelpCrunch's format gives it.
func TestErrors_EveryKind(t *testing.T) {
	errkindtest.CheckEveryKind(t, renderErrors(slog.New(slog.DiscardHandler)), []errkindtest.Answer{
		{Kind: "Internal", Status: 500, RetryAfter: "", WWWAuthenticate: ``, ContentType: "application/json",
			Body: `{"errors":[{"code":"invalid_request","message":"Invalid request"},{"code":"internal_error","message":"Internal server error"}]}`},
		{Kind: "NotFound", Status: 404, RetryAfter: "", WWWAuthenticate: ``, ContentType: "application/json",
			Body: `{"errors":[{"code":"invalid_request","message":"Invalid request"},{"code":"not_found","message":"Not found"}]}`},
		{Kind: "NotFound/entity", Status: 404, RetryAfter: "", WWWAuthenticate: ``, ContentType: "application/json",
			Body: `{"errors":[{"code":"invalid_request","message":"Invalid request"},{"code":"not_found","message":"Not found"}]}`},
		{Kind: "Invalid/fields", Status: 400, RetryAfter: "", WWWAuthenticate: ``, ContentType: "application/json",
			Body: `{"errors":[{"code":"invalid_request","message":"Invalid request"},{"code":"name","message":"must not be empty"}]}`},
		{Kind: "Invalid/key", Status: 400, RetryAfter: "", WWWAuthenticate: ``, ContentType: "application/json",
			Body: `{"errors":[{"code":"invalid_request","message":"Invalid request"},{"code":"idempotency_key","message":"Idempotency-Key is invalid: it is empty"}]}`},
		{Kind: "Conflict/duplicate", Status: 500, RetryAfter: "", WWWAuthenticate: ``, ContentType: "application/json",
			Body: `{"errors":[{"code":"invalid_request","message":"Invalid request"},{"code":"internal_error","message":"Internal server error"}]}`},
		{Kind: "Conflict/closed", Status: 400, RetryAfter: "", WWWAuthenticate: ``, ContentType: "application/json",
			Body: `{"errors":[{"code":"invalid_request","message":"Invalid request"},{"code":"chat","message":"Chat is closed"}]}`},
		{Kind: "InFlight", Status: 409, RetryAfter: "", WWWAuthenticate: ``, ContentType: "application/json",
			Body: `{"errors":[{"code":"invalid_request","message":"Invalid request"},{"code":"idempotency_key_in_use","message":"A request with this Idempotency-Key is still in progress"}]}`},
		{Kind: "InFlight/applied", Status: 409, RetryAfter: "", WWWAuthenticate: ``, ContentType: "application/json",
			Body: `{"errors":[{"code":"invalid_request","message":"Invalid request"},{"code":"idempotency_key_applied","message":"The request with this Idempotency-Key was applied, but its response was lost: read the result instead of sending it again"}]}`},
		{Kind: "Mismatch", Status: 422, RetryAfter: "", WWWAuthenticate: ``, ContentType: "application/json",
			Body: `{"errors":[{"code":"invalid_request","message":"Invalid request"},{"code":"idempotency_key_reused","message":"This Idempotency-Key was used with a different request"}]}`},
		{Kind: "Limited/requests", Status: 429, RetryAfter: "30", WWWAuthenticate: ``, ContentType: "application/json",
			Body: `{"errors":[{"code":"invalid_request","message":"Invalid request"},{"code":"too_many_requests","message":"Too many requests"}]}`},
		{Kind: "Limited/logins", Status: 500, RetryAfter: "", WWWAuthenticate: ``, ContentType: "application/json",
			Body: `{"errors":[{"code":"invalid_request","message":"Invalid request"},{"code":"internal_error","message":"Internal server error"}]}`},
		{Kind: "Limited/checks", Status: 500, RetryAfter: "", WWWAuthenticate: ``, ContentType: "application/json",
			Body: `{"errors":[{"code":"invalid_request","message":"Invalid request"},{"code":"internal_error","message":"Internal server error"}]}`},
		{Kind: "Limited/quota", Status: 500, RetryAfter: "", WWWAuthenticate: ``, ContentType: "application/json",
			Body: `{"errors":[{"code":"invalid_request","message":"Invalid request"},{"code":"internal_error","message":"Internal server error"}]}`},
		{Kind: "Unavailable", Status: 503, RetryAfter: "1", WWWAuthenticate: ``, ContentType: "application/json",
			Body: `{"errors":[{"code":"invalid_request","message":"Invalid request"},{"code":"service_unavailable","message":"Service is temporarily unavailable. Retry after the number of seconds in Retry-After; send a write again with the same Idempotency-Key header so that it is not made twice"}]}`},
		{Kind: "Unauthenticated/none", Status: 401, RetryAfter: "", WWWAuthenticate: ``, ContentType: "application/json",
			Body: `{"errors":[{"code":"invalid_request","message":"Invalid request"},{"code":"unauthorized","message":"Unauthorized"}]}`},
		{Kind: "Unauthenticated/token", Status: 401, RetryAfter: "", WWWAuthenticate: ``, ContentType: "application/json",
			Body: `{"errors":[{"code":"invalid_request","message":"Invalid request"},{"code":"unauthorized","message":"Unauthorized"}]}`},
		{Kind: "Unauthenticated/expired", Status: 401, RetryAfter: "", WWWAuthenticate: ``, ContentType: "application/json",
			Body: `{"errors":[{"code":"invalid_request","message":"Invalid request"},{"code":"unauthorized","message":"Unauthorized"}]}`},
		{Kind: "Unauthenticated/session", Status: 401, RetryAfter: "", WWWAuthenticate: ``, ContentType: "application/json",
			Body: `{"errors":[{"code":"invalid_request","message":"Invalid request"},{"code":"unauthorized","message":"Unauthorized"}]}`},
		{Kind: "Unauthenticated/password", Status: 500, RetryAfter: "", WWWAuthenticate: ``, ContentType: "application/json",
			Body: `{"errors":[{"code":"invalid_request","message":"Invalid request"},{"code":"internal_error","message":"Internal server error"}]}`},
		{Kind: "Forbidden", Status: 403, RetryAfter: "", WWWAuthenticate: ``, ContentType: "application/json",
			Body: `{"errors":[{"code":"invalid_request","message":"Invalid request"},{"code":"forbidden","message":"Forbidden"}]}`},
		{Kind: "Forbidden/scope", Status: 403, RetryAfter: "", WWWAuthenticate: ``, ContentType: "application/json",
			Body: `{"errors":[{"code":"invalid_request","message":"Invalid request"},{"code":"forbidden","message":"This API key lacks the \"email\" scope"}]}`},
		{Kind: "TooLarge", Status: 413, RetryAfter: "", WWWAuthenticate: ``, ContentType: "application/json",
			Body: `{"errors":[{"code":"invalid_request","message":"Invalid request"},{"code":"request_too_large","message":"Request body is too large"}]}`},
	})
}

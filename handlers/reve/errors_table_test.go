package reve

import (
	"log/slog"
	"testing"

	"switchboard/handlers/errkind/errkindtest"
)

// TestErrors_EveryKind answers one error of every kind (errkindtest.Samples)
// through REVE's error table and checks the status, headers and body
// REVE's format gives it.
func TestErrors_EveryKind(t *testing.T) {
	errkindtest.CheckEveryKind(t, renderErrors(slog.New(slog.DiscardHandler)), []errkindtest.Answer{
		{Kind: "Internal", Status: 500, RetryAfter: "", WWWAuthenticate: ``, ContentType: "application/json",
			Body: `{"error":[{"code":500,"message":"Internal Server Error"}]}`},
		{Kind: "NotFound", Status: 404, RetryAfter: "", WWWAuthenticate: ``, ContentType: "application/json",
			Body: `{"error":[{"code":404,"message":"Not Found"}]}`},
		{Kind: "NotFound/entity", Status: 404, RetryAfter: "", WWWAuthenticate: ``, ContentType: "application/json",
			Body: `{"error":[{"code":404,"message":"Not Found"}]}`},
		{Kind: "Invalid/fields", Status: 400, RetryAfter: "", WWWAuthenticate: `Basic realm="revechat"`, ContentType: "application/json",
			Body: `{"error":[{"code":400,"message":"invalid input: name: must not be empty"}]}`},
		{Kind: "Invalid/key", Status: 400, RetryAfter: "", WWWAuthenticate: `Basic realm="revechat"`, ContentType: "application/json",
			Body: `{"error":[{"code":400,"message":"Invalid Idempotency-Key: it is empty."}]}`},
		{Kind: "Conflict/duplicate", Status: 500, RetryAfter: "", WWWAuthenticate: ``, ContentType: "application/json",
			Body: `{"error":[{"code":500,"message":"Internal Server Error"}]}`},
		{Kind: "Conflict/closed", Status: 500, RetryAfter: "", WWWAuthenticate: ``, ContentType: "application/json",
			Body: `{"error":[{"code":500,"message":"Internal Server Error"}]}`},
		{Kind: "InFlight", Status: 409, RetryAfter: "", WWWAuthenticate: ``, ContentType: "application/json",
			Body: `{"error":[{"code":409,"message":"A request with this Idempotency-Key is still in progress."}]}`},
		{Kind: "InFlight/applied", Status: 409, RetryAfter: "", WWWAuthenticate: ``, ContentType: "application/json",
			Body: `{"error":[{"code":409,"message":"The request with this Idempotency-Key was applied, but its response was lost: read the result instead of sending it again."}]}`},
		{Kind: "Mismatch", Status: 422, RetryAfter: "", WWWAuthenticate: ``, ContentType: "application/json",
			Body: `{"error":[{"code":422,"message":"This Idempotency-Key was used with a different request."}]}`},
		{Kind: "Limited/requests", Status: 429, RetryAfter: "30", WWWAuthenticate: ``, ContentType: "application/json",
			Body: `{"error":[{"code":429,"message":"Too many requests: the limit is 60 requests per minute. Please wait 30 seconds and try again."}]}`},
		{Kind: "Limited/logins", Status: 429, RetryAfter: "90", WWWAuthenticate: ``, ContentType: "application/json",
			Body: `{"error":[{"code":429,"message":"Too many failed logins for this address: the limit is 5 per 15 minutes. Please wait 90 seconds and try again."}]}`},
		{Kind: "Limited/checks", Status: 503, RetryAfter: "1", WWWAuthenticate: ``, ContentType: "application/json",
			Body: `{"error":[{"code":503,"message":"Too many logins are being checked at once. Please wait 1 second and try again."}]}`},
		{Kind: "Limited/quota", Status: 500, RetryAfter: "", WWWAuthenticate: ``, ContentType: "application/json",
			Body: `{"error":[{"code":500,"message":"Internal Server Error"}]}`},
		{Kind: "Unavailable", Status: 503, RetryAfter: "1", WWWAuthenticate: ``, ContentType: "application/json",
			Body: `{"error":[{"code":503,"message":"Service is temporarily unavailable. Retry after the number of seconds in Retry-After; send a write again with the same Idempotency-Key header so that it is not made twice."}]}`},
		{Kind: "Unauthenticated/none", Status: 401, RetryAfter: "", WWWAuthenticate: `Basic realm="revechat"`, ContentType: "application/json;charset=UTF-8",
			Body: `Bad credentials`},
		{Kind: "Unauthenticated/token", Status: 401, RetryAfter: "", WWWAuthenticate: `Basic realm="revechat"`, ContentType: "application/json;charset=UTF-8",
			Body: `Bad credentials`},
		{Kind: "Unauthenticated/expired", Status: 401, RetryAfter: "", WWWAuthenticate: `Basic realm="revechat"`, ContentType: "application/json;charset=UTF-8",
			Body: `Bad credentials`},
		{Kind: "Unauthenticated/session", Status: 401, RetryAfter: "", WWWAuthenticate: `Basic realm="revechat"`, ContentType: "application/json;charset=UTF-8",
			Body: `Bad credentials`},
		{Kind: "Unauthenticated/password", Status: 401, RetryAfter: "", WWWAuthenticate: `Basic realm="revechat"`, ContentType: "application/json;charset=UTF-8",
			Body: `Bad credentials`},
		{Kind: "Forbidden", Status: 403, RetryAfter: "", WWWAuthenticate: `Basic realm="revechat"`, ContentType: "application/json;charset=UTF-8",
			Body: `Access is denied! Only user with Super Admin role can access the REST API`},
		{Kind: "Forbidden/scope", Status: 403, RetryAfter: "", WWWAuthenticate: `Basic realm="revechat"`, ContentType: "application/json;charset=UTF-8",
			Body: `Access is denied! Only user with Super Admin role can access the REST API`},
		{Kind: "TooLarge", Status: 413, RetryAfter: "", WWWAuthenticate: ``, ContentType: "application/json",
			Body: `{"error":[{"code":413,"message":"Request Entity Too Large"}]}`},
	})
}

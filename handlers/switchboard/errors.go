package switchboard

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"

	"switchboard/handlers/errkind"
)

// The error codes of the namespace, one per thing that went wrong; the
// status says the class, the code says which.
const (
	codeBadRequest   = "bad_request" // 400: the body is not JSON, or a value has the wrong type
	codeBadKey       = "bad_idempotency_key"
	codeUnauthorized = "unauthorized" // 401: no key, or a bad, expired or revoked one
	codeForbidden    = "forbidden"    // 403: the key lacks the scope, or an inbound SMS's signature is wrong
	codeNotFound     = "not_found"    // 404: no such webhook of the account, or no such route
	codeMethod       = "method_not_allowed"
	codeConflict     = "conflict"  // 409: an Idempotency-Key still in flight
	codeTooLarge     = "too_large" // 413
	codeInvalid      = "invalid"   // 422: fields are wrong (see "fields")
	codeKeyMismatch  = "idempotency_key_mismatch"
	codeRateLimited  = "rate_limited"     // 429
	codeInternal     = "internal"         // 500
	codeUnavailable  = "unavailable"      // 503: the database failed; retry
	codeStreamsFull  = "too_many_streams" // 503: the server holds --max-streams streams
)

// errorBody is every error the namespace answers:
//
//	{"error": {"code": "invalid", "message": "...", "fields": [{"field": "url", "message": "..."}]}}
//
// fields is there only for a 422.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string       `json:"code"`
	Message string       `json:"message"`
	Fields  []fieldError `json:"fields,omitempty"`
}

// fieldError is one wrong field of a request, by the request's name of it.
type fieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// apiError is one of the namespace's own errors, already worded: a body
// that is not JSON, a stream refused because the server holds too many.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.message }

// Kind is the apiError's errkind (the table answers it as it is).
func (e *apiError) Kind() errkind.Kind {
	switch e.status {
	case http.StatusServiceUnavailable:
		return errkind.Unavailable
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		return errkind.Invalid
	case http.StatusUnauthorized:
		return errkind.Unauthenticated
	case http.StatusForbidden:
		return errkind.Forbidden
	case http.StatusRequestEntityTooLarge:
		return errkind.TooLarge
	}
	return errkind.Internal
}

// errMissingKey means the request carries no bearer API key.
var errMissingKey = fmt.Errorf("no bearer API key: %w", errkind.ErrNoCredentials)

// answer is the namespace's error table: the status, code and message of
// each class of error.
func answer(cl errkind.Class) errkind.Answer {
	var ae *apiError
	status, code, msg := http.StatusInternalServerError, codeInternal, "Internal error"
	var fields []fieldError
	switch k := cl.Kind; {
	case errors.As(cl.Cause, &ae):
		status, code, msg = ae.status, ae.code, ae.message
	case cl.Status != 0:
		status, code, msg = answerHTTP(cl.Status, cl.Detail)
	case k == errkind.Unauthenticated:
		status, code = http.StatusUnauthorized, codeUnauthorized
		msg = map[errkind.Reason]string{
			errkind.NoCredentials: "Missing API key: send the header Authorization: Bearer <API key>",
			errkind.Expired:       "The API key has expired",
			errkind.Session:       "A session token is not valid here: send an API key",
			errkind.BadToken:      "Invalid API key",
			errkind.BadPassword:   "Invalid API key",
		}[cl.Reason]
	case k == errkind.Forbidden && cl.Scope != "":
		status, code, msg = http.StatusForbidden, codeForbidden, fmt.Sprintf("This API key lacks the %q scope", cl.Scope)
	case k == errkind.Forbidden:
		status, code, msg = http.StatusForbidden, codeForbidden, "This API key may not do this"
	case k == errkind.NotFound && cl.Ref.Entity != "":
		status, code, msg = http.StatusNotFound, codeNotFound, fmt.Sprintf("No %s %s", cl.Ref.Entity, cl.Ref.Value)
	case k == errkind.NotFound:
		status, code, msg = http.StatusNotFound, codeNotFound, "Not found"
	case k == errkind.Invalid && cl.Reason == errkind.BadKey:
		status, code, msg = http.StatusBadRequest, codeBadKey, "Idempotency-Key is invalid: "+cl.Detail
	case k == errkind.Invalid && cl.Fields != nil:
		status, code, msg = http.StatusUnprocessableEntity, codeInvalid, "The request is invalid: see fields"
		for _, f := range cl.Fields {
			fields = append(fields, fieldError{Field: f.Field, Message: f.Message})
		}
	case k == errkind.Invalid:
		status, code, msg = http.StatusBadRequest, codeBadRequest, "The body is not a valid JSON object"
	case k == errkind.InFlight && cl.Reason == errkind.Applied:
		status, code, msg = http.StatusConflict, codeConflict, "The request with this Idempotency-Key was applied, but its response was lost: read the result instead of sending it again"
	case k == errkind.InFlight:
		status, code, msg = http.StatusConflict, codeConflict, "A request with this Idempotency-Key is still in progress"
	case k == errkind.Mismatch:
		status, code, msg = http.StatusUnprocessableEntity, codeKeyMismatch, "This Idempotency-Key was used with a different request"
	case k == errkind.Conflict:
		status, code, msg = http.StatusConflict, codeConflict, "The request conflicts with what is stored"
	case k == errkind.Limited:
		status, code, msg = http.StatusTooManyRequests, codeRateLimited, "Too many requests: retry after the seconds in Retry-After"
		if cl.Reason == errkind.Quota {
			msg = cl.Detail
		}
	case k == errkind.TooLarge:
		status, code, msg = http.StatusRequestEntityTooLarge, codeTooLarge, "The request body is too large"
	case k == errkind.Unavailable:
		status, code, msg = http.StatusServiceUnavailable, codeUnavailable, "Service is temporarily unavailable. "+errkind.UnavailableRetry+"."
	}
	a := errkind.Answer{Status: status, Body: errorBody{Error: errorDetail{Code: code, Message: msg, Fields: fields}}}
	switch status {
	case http.StatusUnauthorized:
		a.WWWAuthenticate = "Bearer"
	case http.StatusServiceUnavailable:
		a.RetryAfter = 1
	case http.StatusTooManyRequests:
		a.RetryAfter = max(cl.RetryAfter, 1)
	}
	return a
}

// answerHTTP words Echo's own errors: an unknown route, a method the route
// does not take, the body limit.
func answerHTTP(status int, msg string) (int, string, string) {
	switch {
	case status == http.StatusNotFound:
		return status, codeNotFound, "No such route"
	case status == http.StatusMethodNotAllowed:
		return status, codeMethod, "The route does not take this method: see the Allow header"
	case status == http.StatusRequestEntityTooLarge:
		return status, codeTooLarge, "The request body is too large"
	case status == http.StatusUnauthorized:
		return status, codeUnauthorized, "Missing or invalid API key"
	case status == http.StatusServiceUnavailable:
		return status, codeUnavailable, "Service is temporarily unavailable. " + errkind.UnavailableRetry + "."
	case status >= 500:
		return http.StatusInternalServerError, codeInternal, "Internal error"
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	return status, codeBadRequest, msg
}

// renderErrors is the middleware that answers any error a handler of the
// namespace returns from answer; log gets the server errors.
func renderErrors(log *slog.Logger) echo.MiddlewareFunc {
	return errkind.Render(log, errkind.Dialect{Name: "switchboard", Table: answer})
}

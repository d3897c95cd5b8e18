package acquire

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"switchboard/handlers/errkind"
)

// The error types Acquire documents, plus ERROR_SERVICE_UNAVAILABLE for its
// documented 503 and ERROR_TOO_MANY_REQUESTS for a spent sending quota (Acquire
// says it has no consumption limits, so it documents no type for a 429).
const (
	typeInvalidInput       = "ERROR_INVALID_INPUT"
	typeRecordNotFound     = "ERROR_RECORD_NOT_FOUND"
	typeUnauthorized       = "ERROR_UNAUTHORIZED"
	typeUnauthorizedAccess = "ERROR_UNAUTHORIZED_ACCESS"
	typeServerError        = "ERROR_SERVER_ERROR"
	typeServiceUnavailable = "ERROR_SERVICE_UNAVAILABLE"
	typeTooManyRequests    = "ERROR_TOO_MANY_REQUESTS"
	// ERROR_CONFLICT: an Idempotency-Key whose first request still runs, or
	// that was first sent with another request.
	typeConflict = "ERROR_CONFLICT"
)

// errMissingKey means the request carries no bearer API key.
var errMissingKey = fmt.Errorf("no bearer API key: %w", errkind.ErrNoCredentials)

// notFoundMessages are Acquire's messages for a record the request names,
// by the entity its handler looked up (errkind.Lookup), each with the
// reference as the client sent it.
var notFoundMessages = map[string]string{
	"case":    "Case %s not found",
	"contact": "Contact %s not found",
	"thread":  "Thread %s not found",
}

// answer is Acquire's error table: the status, type and message of each
// class of error, and for a 429 or 503 the seconds the client is to wait.
// A record a request's body or query names is an ERROR_RECORD_NOT_FOUND
// with status 400, as Acquire documents, the one a route's path names 404.
func answer(cl errkind.Class) errkind.Answer {
	var (
		ae *apiError
		tl *tooLargeError
	)
	status, typ, msg := http.StatusInternalServerError, typeServerError, "Internal server error"
	switch k := cl.Kind; {
	case errors.As(cl.Cause, &ae):
		return errkind.Answer{Status: http.StatusBadRequest, Body: errorBody{Error: errorDetail{Type: typeInvalidInput, Message: ae.Message}}}
	case errors.As(cl.Cause, &tl):
		return errkind.Answer{Status: http.StatusRequestEntityTooLarge, Body: errorBody{Error: errorDetail{Type: typeInvalidInput, Message: tl.Message}}}
	case cl.Status != 0:
		status, typ, msg = answerHTTP(cl.Status, cl.Detail)
	case k == errkind.Limited && cl.Reason == errkind.Requests:
		status, typ = http.StatusTooManyRequests, typeTooManyRequests
		msg = fmt.Sprintf("Too many requests: the limit is %d requests per %s. Try again in %d seconds.", cl.Limit, cl.Per, cl.RetryAfter)
	case k == errkind.Limited && cl.Reason == errkind.Quota:
		status, typ, msg = http.StatusTooManyRequests, typeTooManyRequests, cl.Detail
	case k == errkind.Invalid && cl.Reason == errkind.BadKey:
		status, typ, msg = http.StatusBadRequest, typeInvalidInput, "Idempotency-Key is invalid: "+cl.Detail
	case k == errkind.InFlight && cl.Reason == errkind.Applied:
		status, typ, msg = http.StatusConflict, typeConflict, "The request with this Idempotency-Key was applied, but its response was lost: read the result instead of sending it again"
	case k == errkind.InFlight:
		status, typ, msg = http.StatusConflict, typeConflict, "A request with this Idempotency-Key is still in progress"
	case k == errkind.Mismatch:
		status, typ, msg = http.StatusUnprocessableEntity, typeConflict, "This Idempotency-Key was used with a different request"
	case k == errkind.Unauthenticated && cl.Reason != errkind.BadPassword:
		status, typ, msg = http.StatusUnauthorized, typeUnauthorized, map[errkind.Reason]string{
			errkind.NoCredentials: "Missing API key: send the header Authorization: Bearer <API key>",
			errkind.Expired:       "The API key has expired",
			errkind.Session:       "A login.user session token is valid only on the CallGear Data API: send an API key",
			errkind.BadToken:      "Invalid API key",
		}[cl.Reason]
	case k == errkind.Forbidden && cl.Scope != "":
		status, typ, msg = http.StatusForbidden, typeUnauthorizedAccess, fmt.Sprintf("This API key lacks the %q scope", cl.Scope)
	case k == errkind.Forbidden:
		status, typ, msg = http.StatusForbidden, typeUnauthorizedAccess, "This API key may not do this"
	case k == errkind.NotFound:
		status, typ, msg = http.StatusBadRequest, typeRecordNotFound, "Record not found"
		if format, ok := notFoundMessages[cl.Ref.Entity]; ok {
			msg = fmt.Sprintf(format, cl.Ref.Value)
		}
		if cl.Ref.Entity == "case" && cl.Entity == "agent" {
			// The key's own agent, which the write names as its author.
			msg = fmt.Sprintf("User %d of this API key not found", cl.ID)
		}
		if cl.Ref.InPath {
			status = http.StatusNotFound
		}
	case k == errkind.Conflict && cl.Reason == errkind.Closed:
		status, typ, msg = http.StatusBadRequest, typeInvalidInput, "Only active cases may receive messages via the API"
		if cl.Ref.Entity == "case" {
			msg += ": case " + cl.Ref.Value + " is closed"
		}
	case k == errkind.Invalid && cl.Fields != nil:
		// Handlers check their input before the store does; unless a
		// handler words them (described), this is the safety net, in the
		// store's words.
		parts := make([]string, len(cl.Fields))
		for i, f := range cl.Fields {
			parts[i] = f.Message
			if f.Field != "" {
				parts[i] = f.Field + ": " + f.Message
			}
		}
		status, typ, msg = http.StatusBadRequest, typeInvalidInput, strings.Join(parts, "; ")
	case k == errkind.Unavailable:
		status, typ, msg = http.StatusServiceUnavailable, typeServiceUnavailable, "Service is temporarily unavailable. "+errkind.UnavailableRetry+"."
	}
	a := errkind.Answer{Status: status, Body: errorBody{Error: errorDetail{Type: typ, Message: msg}}}
	switch status {
	case http.StatusUnauthorized:
		// RFC 7235: a 401 names the scheme it wants.
		a.WWWAuthenticate = "Bearer"
	case http.StatusServiceUnavailable:
		a.RetryAfter = 1
	case http.StatusTooManyRequests:
		a.RetryAfter = cl.RetryAfter
	}
	return a
}

// answerHTTP maps Echo's own errors (the body limit) to Acquire's types.
func answerHTTP(status int, msg string) (int, string, string) {
	switch {
	case status == http.StatusRequestEntityTooLarge:
		return status, typeInvalidInput, "request body too large"
	case status == http.StatusUnauthorized:
		return status, typeUnauthorized, msg
	case status == http.StatusForbidden:
		return status, typeUnauthorizedAccess, msg
	case status == http.StatusNotFound:
		return status, typeRecordNotFound, msg
	case status == http.StatusServiceUnavailable:
		return status, typeServiceUnavailable, "Service is temporarily unavailable. " + errkind.UnavailableRetry + "."
	case status >= 500:
		return http.StatusInternalServerError, typeServerError, "Internal server error"
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	return status, typeInvalidInput, msg
}

// errorBody is Acquire's error response.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// renderErrors is the middleware that answers any error an Acquire handler
// returns from the error table (answer), so that handlers just return
// errors; log gets the server errors.
func renderErrors(log *slog.Logger) echo.MiddlewareFunc {
	return errkind.Render(log, errkind.Dialect{Name: "acquire", Table: answer})
}

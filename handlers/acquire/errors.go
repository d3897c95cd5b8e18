package acquire

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"switchboard/auth"
	"switchboard/handlers/errkind"
	"switchboard/handlers/guard"
	"switchboard/store"
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
var errMissingKey = errors.New("no bearer API key")

// apiError is an error with the status, type and message Acquire shows for
// it, whatever the error table (classify) would say for Err.
type apiError struct {
	Status  int
	Type    string
	Message string
	Err     error
}

func (e *apiError) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *apiError) Unwrap() error { return e.Err }

// invalidInput returns a 400 ERROR_INVALID_INPUT with the message.
func invalidInput(format string, args ...any) error {
	return &apiError{Status: http.StatusBadRequest, Type: typeInvalidInput, Message: fmt.Sprintf(format, args...)}
}

// notFound returns an ERROR_RECORD_NOT_FOUND with the message: status 400 for
// a record the body or query refers to, as Acquire documents, and 404 for the
// object a route's path names.
func notFound(status int, format string, args ...any) error {
	return &apiError{Status: status, Type: typeRecordNotFound, Message: fmt.Sprintf(format, args...), Err: store.ErrNotFound}
}

// fieldErrors collects the invalid fields of one request so that the client
// hears of all of them at once.
type fieldErrors []string

// add records that field is invalid.
func (fe *fieldErrors) add(field, format string, args ...any) {
	*fe = append(*fe, field+": "+fmt.Sprintf(format, args...))
}

// addMessage records a problem whose message names its fields itself, such
// as "attachments are not supported".
func (fe *fieldErrors) addMessage(msg string) {
	*fe = append(*fe, msg)
}

// err returns the collected fields as one ERROR_INVALID_INPUT, or nil.
func (fe fieldErrors) err() error {
	if len(fe) == 0 {
		return nil
	}
	return invalidInput("%s", strings.Join(fe, "; "))
}

// writeError turns an error of the store's AddMessage, AddEmail or AddSMS
// into Acquire's: a closed case is ERROR_INVALID_INPUT, an unknown case or
// key agent ERROR_RECORD_NOT_FOUND (400), and the store's field errors one
// ERROR_INVALID_INPUT with each field as describe words it in the request's
// names (with describe nil they reach the error table in the store's words).
// A *store.QuotaError and other errors pass through to the error table.
func writeError(err error, caseID, agentID int64, describe func(store.FieldError) string) error {
	var nf *store.NotFoundError
	var fe store.FieldErrors
	switch {
	case errors.Is(err, store.ErrCaseNotActive):
		return invalidInput("Only active cases may receive messages via the API: case %d is closed", caseID)
	case errors.As(err, &nf) && nf.Entity == "agent":
		return notFound(http.StatusBadRequest, "User %d of this API key not found", agentID)
	case errors.Is(err, store.ErrNotFound):
		return notFound(http.StatusBadRequest, "Case %d not found", caseID)
	case errors.As(err, &fe) && describe != nil:
		parts := make([]string, len(fe))
		for i, f := range fe {
			parts[i] = describe(f)
		}
		return &apiError{Status: http.StatusBadRequest, Type: typeInvalidInput, Message: strings.Join(parts, "; "), Err: err}
	}
	return err
}

// classify is Acquire's error table: the status, type and message for each
// store, auth and HTTP error, and for a 429 or 503 the seconds the client is
// to wait (Retry-After; 0 for other statuses).
func classify(err error) (status int, typ, msg string, retryAfter int) {
	var ae *apiError
	var he *echo.HTTPError
	var se *auth.ScopeError
	var fe store.FieldErrors
	var qe *store.QuotaError
	var le *guard.LimitError
	var ke *guard.KeyError
	switch {
	case errors.As(err, &ae):
		return ae.Status, ae.Type, ae.Message, 0
	case errors.As(err, &le):
		status, typ = http.StatusTooManyRequests, typeTooManyRequests
		msg = fmt.Sprintf("Too many requests: the limit is %d requests per %s. Try again in %d seconds.", le.Limit, le.Per(), le.RetrySeconds())
		retryAfter = le.RetrySeconds()
	case errors.As(err, &ke):
		status, typ, msg = http.StatusBadRequest, typeInvalidInput, "Idempotency-Key is invalid: "+ke.Reason
	case errors.Is(err, store.ErrIdempotencyInFlight):
		status, typ, msg = http.StatusConflict, typeConflict, "A request with this Idempotency-Key is still in progress"
	case errors.Is(err, store.ErrIdempotencyApplied):
		status, typ, msg = http.StatusConflict, typeConflict, "The request with this Idempotency-Key was applied, but its response was lost: read the result instead of sending it again"
	case errors.Is(err, store.ErrIdempotencyMismatch):
		status, typ, msg = http.StatusUnprocessableEntity, typeConflict, "This Idempotency-Key was used with a different request"
	case errors.Is(err, errMissingKey):
		status, typ, msg = http.StatusUnauthorized, typeUnauthorized, "Missing API key: send the header Authorization: Bearer <API key>"
	case errors.Is(err, auth.ErrExpiredToken):
		status, typ, msg = http.StatusUnauthorized, typeUnauthorized, "The API key has expired"
	case errors.Is(err, auth.ErrSessionToken):
		status, typ, msg = http.StatusUnauthorized, typeUnauthorized, "A login.user session token is valid only on the CallGear Data API: send an API key"
	case errors.Is(err, auth.ErrInvalidToken):
		status, typ, msg = http.StatusUnauthorized, typeUnauthorized, "Invalid API key"
	case errors.As(err, &se):
		status, typ, msg = http.StatusForbidden, typeUnauthorizedAccess, fmt.Sprintf("This API key lacks the %q scope", se.Scope)
	case errors.Is(err, auth.ErrForbidden):
		status, typ, msg = http.StatusForbidden, typeUnauthorizedAccess, "This API key may not do this"
	case errors.As(err, &qe):
		status, typ, msg = http.StatusTooManyRequests, typeTooManyRequests, qe.Error()
		retryAfter = retrySeconds(qe.RetryAfter)
	case errors.Is(err, store.ErrNotFound):
		status, typ, msg = http.StatusBadRequest, typeRecordNotFound, "Record not found"
	case errors.Is(err, store.ErrCaseNotActive):
		status, typ, msg = http.StatusBadRequest, typeInvalidInput, "Only active cases may receive messages via the API"
	case errors.As(err, &fe):
		// Handlers check their input before the store does; this is the
		// safety net, in the store's words.
		status, typ, msg = http.StatusBadRequest, typeInvalidInput, strings.TrimPrefix(fe.Error(), "invalid input: ")
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		status, typ, msg = http.StatusServiceUnavailable, typeServiceUnavailable, "Service is temporarily unavailable. "+errkind.UnavailableRetry+"."
	case errors.As(err, &he):
		status, typ, msg = classifyHTTP(he)
	default:
		status, typ, msg = http.StatusInternalServerError, typeServerError, "Internal server error"
	}
	if status == http.StatusServiceUnavailable {
		// An unreachable database is usually back within a second.
		retryAfter = 1
	}
	return status, typ, msg, retryAfter
}

// retrySeconds returns d in whole seconds, rounded up so that a client that
// waits that long finds the quota free, and at least 1.
func retrySeconds(d time.Duration) int {
	return max(int((d+time.Second-1)/time.Second), 1)
}

// classifyHTTP maps Echo's own errors (body limit, unknown route, bad method)
// to Acquire's types.
func classifyHTTP(he *echo.HTTPError) (int, string, string) {
	msg, _ := he.Message.(string)
	switch {
	case he.Code == http.StatusRequestEntityTooLarge:
		return he.Code, typeInvalidInput, "request body too large"
	case he.Code == http.StatusUnauthorized:
		return he.Code, typeUnauthorized, msg
	case he.Code == http.StatusForbidden:
		return he.Code, typeUnauthorizedAccess, msg
	case he.Code == http.StatusNotFound:
		return he.Code, typeRecordNotFound, msg
	case he.Code == http.StatusServiceUnavailable:
		return he.Code, typeServiceUnavailable, "Service is temporarily unavailable. " + errkind.UnavailableRetry + "."
	case he.Code >= 500:
		return http.StatusInternalServerError, typeServerError, "Internal server error"
	}
	if msg == "" {
		msg = http.StatusText(he.Code)
	}
	return he.Code, typeInvalidInput, msg
}

// errorBody is Acquire's error response.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// renderErrors is the middleware that writes any error an Acquire handler
// returns as {"error":{"type":"ERROR_...","message":"..."}} with its status,
// so that handlers just return errors.
func renderErrors(log *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			err := next(c)
			if err == nil || c.Response().Committed {
				return err
			}
			if errkind.ClientGone(c) {
				return errkind.AnswerClientGone(c)
			}
			status, typ, msg, retryAfter := classify(err)
			if status >= 500 {
				log.ErrorContext(c.Request().Context(), "acquire request failed", "err", err, "status", status,
					"request_id", c.Response().Header().Get(echo.HeaderXRequestID))
			}
			if status == http.StatusUnauthorized {
				// RFC 7235: a 401 names the scheme it wants.
				c.Response().Header().Set(echo.HeaderWWWAuthenticate, "Bearer")
			}
			if retryAfter > 0 {
				c.Response().Header().Set("Retry-After", strconv.Itoa(retryAfter))
			}
			return c.JSON(status, errorBody{Error: errorDetail{Type: typ, Message: msg}})
		}
	}
}

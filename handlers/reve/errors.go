package reve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"switchboard/auth"
	"switchboard/handlers/errkind"
	"switchboard/handlers/guard"
	"switchboard/store"
)

// The bodies REVE sends as plain text (its 401 and 403 are not JSON, whatever
// their Content-Type says).
const (
	badCredentials = "Bad credentials"
	superadminOnly = "Access is denied! Only user with Super Admin role can access the REST API"
)

// REVE's messages, by the error names its documentation gives. Each takes the
// value the client sent.
const (
	// InvalidPageNumber: page_no is not a positive number.
	msgInvalidPageNumber = "Invalid Page Number: %s. Please enter a valid Page Number."
	// InvalidOfflineMessageID and OfflineMessageNotFound.
	msgInvalidOfflineMessageID = "Invalid Offline message Id: %s. Please enter a Valid Offline message Id."
	msgOfflineMessageNotFound  = "No Record found for Offline Message Id = %s. Please enter a another Offline Message Id."
	// InvalidAgentid and AgentNotFound; agent_id on the chat list is
	// InvalidAgentid too.
	msgInvalidAgentID = "Invalid Agent Id: %s. Please enter a valid Agent Id."
	msgAgentNotFound  = "No Record found for Agent Id = %s. Please enter a another Agent Id."
	// The chat and visitor errors follow the same pattern (REVE names only
	// VisitorNotFound).
	msgInvalidChatID    = "Invalid Chat Id: %s. Please enter a valid Chat Id."
	msgChatNotFound     = "No Record found for Chat Id = %s. Please enter a another Chat Id."
	msgInvalidVisitorID = "Invalid Visitor Id: %s. Please enter a valid Visitor Id."
	msgVisitorNotFound  = "No Record found for Visitor Id = %s. Please enter a another Visitor Id."
	msgInvalidDate      = "Invalid %s: %s. Please enter a valid date as yyyy-mm-dd."
	msgInvalidDateRange = "Invalid date range: date_from %s is after date_to %s. Please enter a valid date range."
)

// errForbidden means the caller is an agent but not a superadmin.
var errForbidden = errors.New("superadmin role required")

// apiError is an error with the message REVE shows for it. Its status comes
// from the error table (statusOf) unless Status is set.
type apiError struct {
	Status  int
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

// badRequest returns a 400 with REVE's message.
func badRequest(format string, args ...any) error {
	return &apiError{Status: http.StatusBadRequest, Message: fmt.Sprintf(format, args...)}
}

// withMessage gives err the message REVE shows for it; the status still comes
// from the error table.
func withMessage(err error, format string, args ...any) error {
	return &apiError{Message: fmt.Sprintf(format, args...), Err: err}
}

// notFoundAs gives a not-found err REVE's message for it; any other error
// (the database down, a timeout) keeps its own.
func notFoundAs(err error, format string, args ...any) error {
	if errors.Is(err, store.ErrNotFound) {
		return withMessage(err, format, args...)
	}
	return err
}

// statusOf is REVE's error table: the status for each store, auth and HTTP error.
func statusOf(err error) int {
	var ae *apiError
	var he *echo.HTTPError
	switch {
	case errors.As(err, &ae) && ae.Status != 0:
		return ae.Status
	case errors.As(err, new(*guard.LimitError)), errors.As(err, new(*auth.ThrottledError)):
		return http.StatusTooManyRequests
	case errors.Is(err, auth.ErrBusy):
		return http.StatusServiceUnavailable
	case errors.As(err, new(*guard.KeyError)):
		return http.StatusBadRequest
	case errors.Is(err, store.ErrIdempotencyInFlight), errors.Is(err, store.ErrIdempotencyApplied):
		return http.StatusConflict
	case errors.Is(err, store.ErrIdempotencyMismatch):
		return http.StatusUnprocessableEntity
	case errors.Is(err, auth.ErrBadCredentials):
		return http.StatusUnauthorized
	case errors.Is(err, errForbidden):
		return http.StatusForbidden
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound
	case errors.As(err, new(store.FieldErrors)):
		return http.StatusBadRequest
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return http.StatusServiceUnavailable
	case errors.As(err, &he):
		return he.Code
	}
	return http.StatusInternalServerError
}

// messageOf returns the text REVE shows for err at status.
func messageOf(err error, status int) string {
	var ae *apiError
	var he *echo.HTTPError
	var fe store.FieldErrors
	var le *guard.LimitError
	var ke *guard.KeyError
	var te *auth.ThrottledError
	switch {
	case errors.As(err, &ae):
		return ae.Message
	case errors.As(err, &le):
		return fmt.Sprintf("Too many requests: the limit is %d requests per %s. Please wait %d seconds and try again.", le.Limit, le.Per(), le.RetrySeconds())
	case errors.As(err, &te):
		return fmt.Sprintf("Too many failed logins for this %s: the limit is %d per %s. Please wait %d seconds and try again.", te.By, te.Limit, te.Per(), te.RetrySeconds())
	case errors.Is(err, auth.ErrBusy):
		return fmt.Sprintf("Too many logins are being checked at once. Please wait %d second and try again.", int(auth.BusyRetryAfter/time.Second))
	case errors.As(err, &ke):
		return "Invalid Idempotency-Key: " + ke.Reason + "."
	case errors.Is(err, store.ErrIdempotencyInFlight):
		return "A request with this Idempotency-Key is still in progress."
	case errors.Is(err, store.ErrIdempotencyApplied):
		return "The request with this Idempotency-Key was applied, but its response was lost: read the result instead of sending it again."
	case errors.Is(err, store.ErrIdempotencyMismatch):
		return "This Idempotency-Key was used with a different request."
	case errors.As(err, &fe):
		return fe.Error()
	case status == http.StatusServiceUnavailable:
		return "Service is temporarily unavailable. " + errkind.UnavailableRetry + "."
	case status >= 500:
		return "Internal Server Error"
	case errors.As(err, &he):
		if m, ok := he.Message.(string); ok {
			return m
		}
	}
	return http.StatusText(status)
}

type errorItem struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

type errorBody struct {
	Error []errorItem `json:"error"`
}

// renderErrors is the middleware that writes any error a REVE handler returns
// in REVE's format, so that handlers just return errors.
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
			status := statusOf(err)
			if status >= 500 {
				log.ErrorContext(c.Request().Context(), "reve request failed", "err", err, "status", status,
					"request_id", c.Response().Header().Get(echo.HeaderXRequestID))
			}
			switch status {
			case http.StatusUnauthorized, http.StatusForbidden:
				body := badCredentials
				if status == http.StatusForbidden {
					body = superadminOnly
				}
				c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Basic realm="revechat"`)
				c.Response().Header().Set(echo.HeaderContentType, "application/json;charset=UTF-8")
				c.Response().WriteHeader(status)
				_, werr := c.Response().Write([]byte(body))
				return werr
			case http.StatusServiceUnavailable:
				c.Response().Header().Set("Retry-After", "1")
			case http.StatusTooManyRequests:
				// The guard's limits set it themselves; the throttle's is here.
				if te := (*auth.ThrottledError)(nil); errors.As(err, &te) {
					c.Response().Header().Set("Retry-After", strconv.Itoa(te.RetrySeconds()))
				}
			}
			return c.JSON(status, errorBody{Error: []errorItem{{Code: status, Message: messageOf(err, status)}}})
		}
	}
}

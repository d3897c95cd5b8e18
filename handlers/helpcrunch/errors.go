package helpcrunch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"switchboard/auth"
	"switchboard/handlers/errkind"
	"switchboard/handlers/guard"
	"switchboard/store"
)

// HelpCrunch's messages for invalid fields (they are Symfony's validator
// messages, which HelpCrunch shows as they are).
const (
	msgBlank    = "This value should not be blank."
	msgNumeric  = "This value should be of type numeric."
	msgString   = "This value should be of type string."
	msgArray    = "This value should be of type array."
	msgChoice   = "The value you selected is not a valid choice."
	msgPositive = "This value should be positive."
	msgMin0     = "This value should be greater than or equal to 0."
	msgMin1     = "This value should be greater than or equal to 1."
	msgMax100   = "This value should be less than or equal to 100."
	msgDatetime = "This value is not a valid datetime."
	msgEmail    = "This value is not a valid email address."
	msgPhone    = "This value is not a valid phone number."
	msgNUL      = "This value should not contain NUL characters."
)

// msgMaxOffset is for an offset beyond the largest 64-bit integer, the bound
// openapi.yaml gives.
const msgMaxOffset = "This value should be less than or equal to 9223372036854775807."

// msgMaxFilters returns the message for a search with more filters than the
// store takes.
func msgMaxFilters() string {
	return fmt.Sprintf("This collection should contain %d elements or less.", store.MaxFilters)
}

// errorItem is one entry of HelpCrunch's "errors" list.
type errorItem struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// errorBody is every HelpCrunch error response.
type errorBody struct {
	Errors []errorItem `json:"errors"`
}

// errUnauthorized means the request carries no well-formed bearer token.
var errUnauthorized = errors.New("missing or malformed bearer token")

// apiError is an error with the entries HelpCrunch lists for it after
// invalid_request. Its status comes from the error table (statusOf) unless
// Status is set.
type apiError struct {
	Status int
	Items  []errorItem
	Err    error
}

func (e *apiError) Error() string {
	parts := make([]string, len(e.Items))
	for i, it := range e.Items {
		parts[i] = it.Code + ": " + it.Message
	}
	msg := strings.Join(parts, "; ")
	if e.Err != nil {
		return msg + ": " + e.Err.Error()
	}
	return msg
}

func (e *apiError) Unwrap() error { return e.Err }

// problems collects the invalid fields of one request, in the order found,
// so that a response names every bad field rather than the first.
type problems []errorItem

// add records that the field named code is invalid.
func (p *problems) add(code, message string) {
	*p = append(*p, errorItem{Code: code, Message: message})
}

// err returns the 400 listing every problem, or nil when there is none.
func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	return &apiError{Status: http.StatusBadRequest, Items: p}
}

// badRequest returns a 400 with one entry.
func badRequest(code, message string) error {
	return &apiError{Status: http.StatusBadRequest, Items: []errorItem{{Code: code, Message: message}}}
}

// notFound returns err with the entry HelpCrunch shows for it when err is a
// store.ErrNotFound, and err unchanged otherwise (a database failure while
// looking a row up must stay a 503, not become a 404).
func notFound(err error, code, message string) error {
	if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return &apiError{Items: []errorItem{{Code: code, Message: message}}, Err: err}
}

// chatNotFound is notFound with HelpCrunch's entry for a chat.
func chatNotFound(err error) error { return notFound(err, "chat_not_found", "Chat not found") }

// agentNotFound is notFound with HelpCrunch's entry for an agent.
func agentNotFound(err error) error { return notFound(err, "entity_not_found", "Agent not found") }

// customerNotFound is notFound with HelpCrunch's entry for a customer.
func customerNotFound(err error) error {
	return notFound(err, "entity_not_found", "Customer not found")
}

// statusOf is HelpCrunch's error table: the status for each store, auth and
// HTTP error.
func statusOf(err error) int {
	var ae *apiError
	var he *echo.HTTPError
	switch {
	case errors.As(err, &ae) && ae.Status != 0:
		return ae.Status
	case errors.As(err, new(*guard.LimitError)):
		return http.StatusTooManyRequests
	case errors.As(err, new(*guard.KeyError)):
		return http.StatusBadRequest
	case errors.Is(err, store.ErrIdempotencyInFlight), errors.Is(err, store.ErrIdempotencyApplied):
		return http.StatusConflict
	case errors.Is(err, store.ErrIdempotencyMismatch):
		return http.StatusUnprocessableEntity
	case errors.Is(err, errUnauthorized), errors.Is(err, auth.ErrInvalidToken):
		return http.StatusUnauthorized
	case errors.Is(err, auth.ErrForbidden):
		return http.StatusForbidden
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound
	case errors.As(err, new(store.FieldErrors)), errors.Is(err, store.ErrCaseNotActive):
		return http.StatusBadRequest
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return http.StatusServiceUnavailable
	case errors.As(err, &he):
		return he.Code
	}
	return http.StatusInternalServerError
}

// itemsOf returns the entries HelpCrunch lists after invalid_request for err
// at status.
func itemsOf(err error, status int) []errorItem {
	var ae *apiError
	var se *auth.ScopeError
	var fe store.FieldErrors
	var ke *guard.KeyError
	switch {
	case status == http.StatusServiceUnavailable:
		return []errorItem{{Code: "service_unavailable", Message: "Service is temporarily unavailable. " + errkind.UnavailableRetry}}
	case status >= 500:
		return []errorItem{{Code: "internal_error", Message: "Internal server error"}}
	case errors.As(err, &ae) && len(ae.Items) > 0:
		return ae.Items
	case status == http.StatusUnauthorized:
		return []errorItem{{Code: "unauthorized", Message: "Unauthorized"}}
	case errors.As(err, &ke):
		return []errorItem{{Code: "idempotency_key", Message: "Idempotency-Key is invalid: " + ke.Reason}}
	case errors.Is(err, store.ErrIdempotencyInFlight):
		return []errorItem{{Code: "idempotency_key_in_use", Message: "A request with this Idempotency-Key is still in progress"}}
	case errors.Is(err, store.ErrIdempotencyApplied):
		return []errorItem{{Code: "idempotency_key_applied", Message: "The request with this Idempotency-Key was applied, but its response was lost: read the result instead of sending it again"}}
	case errors.Is(err, store.ErrIdempotencyMismatch):
		return []errorItem{{Code: "idempotency_key_reused", Message: "This Idempotency-Key was used with a different request"}}
	case errors.As(err, &se):
		return []errorItem{{Code: "forbidden", Message: `This API key lacks the "` + string(se.Scope) + `" scope`}}
	case status == http.StatusForbidden:
		return []errorItem{{Code: "forbidden", Message: "Forbidden"}}
	case errors.As(err, &fe):
		items := make([]errorItem, len(fe))
		for i, f := range fe {
			items[i] = fieldItem(f)
		}
		return items
	case errors.Is(err, store.ErrCaseNotActive):
		return []errorItem{{Code: "chat", Message: "Chat is closed"}}
	case status == http.StatusNotFound:
		return []errorItem{{Code: "not_found", Message: "Not found"}}
	case status == http.StatusRequestEntityTooLarge:
		return []errorItem{{Code: "request_too_large", Message: "Request body is too large"}}
	case status == http.StatusTooManyRequests:
		return []errorItem{{Code: "too_many_requests", Message: "Too many requests"}}
	}
	text := http.StatusText(status)
	if text == "" {
		text = "Error"
	}
	return []errorItem{{Code: strings.ToLower(strings.ReplaceAll(text, " ", "_")), Message: text}}
}

// fieldItem turns one of the store's field errors into HelpCrunch's entry:
// HelpCrunch's field name and message where it has one, the store's message
// otherwise.
func fieldItem(f store.FieldError) errorItem {
	if f.Reason == store.ReasonTooLong {
		// The handlers check the limits first; this is the store's backstop.
		code := map[string]string{"user_id": "userId", "markdown": "markdownText"}[f.Field]
		if code == "" {
			code = f.Field
		}
		if f.Field == "email" {
			return errorItem{Code: code, Message: msgTooLongBytes(f.Limit)}
		}
		return errorItem{Code: code, Message: msgTooLong(f.Limit)}
	}
	switch f.Field {
	case "email":
		return errorItem{Code: "email", Message: msgEmail}
	case "phone":
		return errorItem{Code: "phone", Message: msgPhone}
	case "text":
		return errorItem{Code: "text", Message: msgBlank}
	case "sender", "kind":
		return errorItem{Code: "type", Message: msgChoice}
	case "offset":
		return errorItem{Code: "offset", Message: msgMin0}
	case "limit":
		return errorItem{Code: "limit", Message: msgMax100}
	case "status", "sort":
		return errorItem{Code: f.Field, Message: msgChoice}
	case "filter":
		return errorItem{Code: "filter", Message: msgMaxFilters()}
	case "user_id":
		return errorItem{Code: "userId", Message: f.Message}
	}
	return errorItem{Code: f.Field, Message: f.Message}
}

// renderErrors is the middleware that writes any error a HelpCrunch handler
// returns in HelpCrunch's format, so that handlers just return errors.
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
				log.ErrorContext(c.Request().Context(), "helpcrunch request failed", "err", err, "status", status,
					"request_id", c.Response().Header().Get(echo.HeaderXRequestID))
			}
			h := c.Response().Header()
			switch {
			case status == http.StatusServiceUnavailable:
				h.Set("Retry-After", "1")
			case status == http.StatusTooManyRequests && h.Get("Retry-After") == "":
				// A rate limiter that knows the wait has set it already.
				h.Set("Retry-After", "1")
			}
			// invalid_request heads every HelpCrunch error list, whatever the status.
			items := append([]errorItem{{Code: "invalid_request", Message: "Invalid request"}}, itemsOf(err, status)...)
			return c.JSON(status, errorBody{Errors: items})
		}
	}
}

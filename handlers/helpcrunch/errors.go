package helpcrunch

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"switchboard/handlers/errkind"
	"switchboard/store"
)

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
var errUnauthorized = fmt.Errorf("missing or malformed bearer token: %w", errkind.ErrNoCredentials)

// notFoundItems are HelpCrunch's entries for a record not found, by the
// entity the handler looked up (errkind.Lookup).
var notFoundItems = map[string]errorItem{
	"chat":       {Code: "chat_not_found", Message: "Chat not found"},
	"agent":      {Code: "entity_not_found", Message: "Agent not found"},
	"customer":   {Code: "entity_not_found", Message: "Customer not found"},
	"department": {Code: "entity_not_found", Message: "Department not found"},
}

// answer is HelpCrunch's error table: the status of each class of error
// and the entries listed after the invalid_request that heads every
// HelpCrunch error list.
func answer(cl errkind.Class) errkind.Answer {
	status, items := statusItems(cl)
	a := errkind.Answer{Status: status,
		Body: errorBody{Errors: append([]errorItem{{Code: "invalid_request", Message: "Invalid request"}}, items...)}}
	switch status {
	case http.StatusServiceUnavailable:
		a.RetryAfter = 1
	case http.StatusTooManyRequests:
		a.RetryAfter = max(cl.RetryAfter, 1)
	}
	return a
}

// statusItems returns the status and entries of answer.
func statusItems(cl errkind.Class) (int, []errorItem) {
	var ae *apiError
	one := func(status int, code, message string) (int, []errorItem) {
		return status, []errorItem{{Code: code, Message: message}}
	}
	switch k := cl.Kind; {
	case errors.As(cl.Cause, &ae):
		return http.StatusBadRequest, ae.Items
	case cl.Status != 0:
		return httpItems(cl.Status)
	case k == errkind.Limited && cl.Reason == errkind.Requests:
		return one(http.StatusTooManyRequests, "too_many_requests", "Too many requests")
	case k == errkind.Invalid && cl.Reason == errkind.BadKey:
		return one(http.StatusBadRequest, "idempotency_key", "Idempotency-Key is invalid: "+cl.Detail)
	case k == errkind.InFlight && cl.Reason == errkind.Applied:
		return one(http.StatusConflict, "idempotency_key_applied", "The request with this Idempotency-Key was applied, but its response was lost: read the result instead of sending it again")
	case k == errkind.InFlight:
		return one(http.StatusConflict, "idempotency_key_in_use", "A request with this Idempotency-Key is still in progress")
	case k == errkind.Mismatch:
		return one(http.StatusUnprocessableEntity, "idempotency_key_reused", "This Idempotency-Key was used with a different request")
	case k == errkind.Unauthenticated && cl.Reason != errkind.BadPassword:
		return one(http.StatusUnauthorized, "unauthorized", "Unauthorized")
	case k == errkind.Forbidden && cl.Scope != "":
		return one(http.StatusForbidden, "forbidden", `This API key lacks the "`+string(cl.Scope)+`" scope`)
	case k == errkind.Forbidden:
		return one(http.StatusForbidden, "forbidden", "Forbidden")
	case k == errkind.NotFound:
		it, ok := notFoundItems[cl.Ref.Entity]
		if cl.Entity == "agent" || cl.Entity == "department" {
			// What the request named beside the record it looked up.
			it, ok = notFoundItems[cl.Entity], true
		}
		if !ok {
			it = errorItem{Code: "not_found", Message: "Not found"}
		}
		return http.StatusNotFound, []errorItem{it}
	case k == errkind.Invalid && cl.Fields != nil:
		items := make([]errorItem, len(cl.Fields))
		for i, f := range cl.Fields {
			items[i] = fieldItem(f)
		}
		return http.StatusBadRequest, items
	case k == errkind.Conflict && cl.Reason == errkind.Closed:
		return one(http.StatusBadRequest, "chat", "Chat is closed")
	case k == errkind.Unavailable:
		return one(http.StatusServiceUnavailable, "service_unavailable", "Service is temporarily unavailable. "+errkind.UnavailableRetry)
	}
	return one(http.StatusInternalServerError, "internal_error", "Internal server error")
}

// httpItems returns the status and entries for one of Echo's own errors
// (the body limit) with the status.
func httpItems(status int) (int, []errorItem) {
	var it errorItem
	switch {
	case status == http.StatusServiceUnavailable:
		it = errorItem{Code: "service_unavailable", Message: "Service is temporarily unavailable. " + errkind.UnavailableRetry}
	case status >= 500:
		it = errorItem{Code: "internal_error", Message: "Internal server error"}
	case status == http.StatusUnauthorized:
		it = errorItem{Code: "unauthorized", Message: "Unauthorized"}
	case status == http.StatusForbidden:
		it = errorItem{Code: "forbidden", Message: "Forbidden"}
	case status == http.StatusNotFound:
		it = errorItem{Code: "not_found", Message: "Not found"}
	case status == http.StatusRequestEntityTooLarge:
		it = errorItem{Code: "request_too_large", Message: "Request body is too large"}
	case status == http.StatusTooManyRequests:
		it = errorItem{Code: "too_many_requests", Message: "Too many requests"}
	default:
		text := http.StatusText(status)
		if text == "" {
			text = "Error"
		}
		it = errorItem{Code: strings.ToLower(strings.ReplaceAll(text, " ", "_")), Message: text}
	}
	return status, []errorItem{it}
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

// renderErrors is the middleware that answers any error a HelpCrunch handler
// returns from the error table (answer), so that handlers just return
// errors; log gets the server errors.
func renderErrors(log *slog.Logger) echo.MiddlewareFunc {
	return errkind.Render(log, errkind.Dialect{Name: "helpcrunch", Table: answer})
}

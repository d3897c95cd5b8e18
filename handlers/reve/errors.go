package reve

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"

	"switchboard/auth"
	"switchboard/handlers/errkind"
	"switchboard/store"
)

// The bodies REVE sends as plain text (its 401 and 403 are not JSON, whatever
// their Content-Type says).
const (
	badCredentials = "Bad credentials"
	superadminOnly = "Access is denied! Only user with Super Admin role can access the REST API"
	// basicChallenge is the WWW-Authenticate of REVE's 401, 403 and 400.
	basicChallenge = `Basic realm="revechat"`
)

// errForbidden means the caller is an agent but not a superadmin.
var errForbidden = fmt.Errorf("superadmin role required: %w", auth.ErrForbidden)

// detailForbidden is errForbidden on the offline message detail, which
// REVE's page answers in JSON naming the id asked for.
type detailForbidden struct{ id string }

func (e *detailForbidden) Error() string {
	return "superadmin role required for offline message " + e.id
}

func (e *detailForbidden) Unwrap() error { return errForbidden }

// forbiddenBody is REVE's JSON 403 of the offline message detail: a bare
// code and message, not its usual error list.
type forbiddenBody struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// notFoundMessages are REVE's messages for a record a route's path names,
// by the entity its handler looked up (errkind.LookupPath).
var notFoundMessages = map[string]string{
	"agent":           msgAgentNotFound,
	"chat":            msgChatNotFound,
	"visitor":         msgVisitorNotFound,
	"offline_message": msgOfflineMessageNotFound,
}

// answer is REVE's error table: the status and message of each class of
// error, in REVE's {"error":[{"code","message"}]}, except its 401 and 403,
// which are plain text.
func answer(cl errkind.Class) errkind.Answer {
	var ae *apiError
	var df *detailForbidden
	var fe store.FieldErrors
	status, msg := http.StatusInternalServerError, "Internal Server Error"
	switch k := cl.Kind; {
	case errors.As(cl.Cause, &ae):
		status, msg = http.StatusBadRequest, ae.Message
	case errors.As(cl.Cause, &df):
		return errkind.Answer{Status: http.StatusForbidden,
			Body: forbiddenBody{Code: http.StatusForbidden, Message: "You don't have permission to see offline message details with Id " + df.id}}
	case k == errkind.Unauthenticated, k == errkind.Forbidden:
		status, msg = http.StatusUnauthorized, badCredentials
		if k == errkind.Forbidden {
			status, msg = http.StatusForbidden, superadminOnly
		}
		return errkind.Answer{Status: status, Text: msg, ContentType: "application/json;charset=UTF-8",
			WWWAuthenticate: basicChallenge}
	case k == errkind.Limited && cl.Status == 0 && cl.Reason == errkind.Requests:
		status, msg = http.StatusTooManyRequests, fmt.Sprintf("Too many requests: the limit is %d requests per %s. Please wait %d seconds and try again.", cl.Limit, cl.Per, cl.RetryAfter)
	case k == errkind.Limited && cl.Reason == errkind.Logins:
		status, msg = http.StatusTooManyRequests, fmt.Sprintf("Too many failed logins for this %s: the limit is %d per %s. Please wait %d seconds and try again.", cl.By, cl.Limit, cl.Per, cl.RetryAfter)
	case k == errkind.Limited && cl.Reason == errkind.Checks:
		status, msg = http.StatusServiceUnavailable, fmt.Sprintf("Too many logins are being checked at once. Please wait %d second and try again.", cl.RetryAfter)
	case k == errkind.Invalid && cl.Reason == errkind.BadKey:
		status, msg = http.StatusBadRequest, "Invalid Idempotency-Key: "+cl.Detail+"."
	case k == errkind.InFlight && cl.Reason == errkind.Applied:
		status, msg = http.StatusConflict, "The request with this Idempotency-Key was applied, but its response was lost: read the result instead of sending it again."
	case k == errkind.InFlight:
		status, msg = http.StatusConflict, "A request with this Idempotency-Key is still in progress."
	case k == errkind.Mismatch:
		status, msg = http.StatusUnprocessableEntity, "This Idempotency-Key was used with a different request."
	case k == errkind.NotFound && cl.Status == 0:
		status, msg = http.StatusNotFound, http.StatusText(http.StatusNotFound)
		if format, ok := notFoundMessages[cl.Ref.Entity]; ok {
			msg = fmt.Sprintf(format, cl.Ref.Value)
		}
	case errors.As(cl.Cause, &fe):
		status, msg = http.StatusBadRequest, fe.Error()
	case k == errkind.Unavailable:
		status, msg = http.StatusServiceUnavailable, "Service is temporarily unavailable. "+errkind.UnavailableRetry+"."
	case cl.Status >= 500:
		status = cl.Status
	case cl.Status != 0:
		status, msg = cl.Status, cl.Detail
		if msg == "" {
			msg = http.StatusText(status)
		}
	}
	a := errkind.Answer{Status: status, Body: errorBody{Error: []errorItem{{Code: status, Message: msg}}}}
	switch status {
	case http.StatusServiceUnavailable, http.StatusTooManyRequests:
		a.RetryAfter = cl.RetryAfter
	case http.StatusBadRequest:
		// REVE's pages show its 400s with the Basic challenge too.
		a.WWWAuthenticate = basicChallenge
	}
	return a
}

type errorItem struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

type errorBody struct {
	Error []errorItem `json:"error"`
}

// renderErrors is the middleware that answers any error a REVE handler
// returns from the error table (answer), so that handlers just return
// errors; log gets the server errors.
func renderErrors(log *slog.Logger) echo.MiddlewareFunc {
	return errkind.Render(log, errkind.Dialect{Name: "reve", Table: answer})
}

package callgear

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"switchboard/handlers/errkind"
	"switchboard/handlers/guard"
	"switchboard/store"
)

// CallGear's error mnemonics (data.mnemonic). codeOf gives each its JSON-RPC
// error code.
const (
	mParseError          = "parse_error"
	mInvalidRequest      = "invalid_request"
	mMethodNotFound      = "method_not_found"
	mRequiredMissed      = "required_parameter_missed"
	mInvalidValue        = "invalid_parameter_value"
	mDataType            = "data_type_error"
	mUnexpected          = "unexpected_parameters"
	mCombination         = "invalid_parameters_combination"
	mEntityNotFound      = "entity_not_found"
	mInvalidDateTime     = "invalid_date_time"
	mDataLimitExceeded   = "data_limit_exceeded"
	mAccessTokenInvalid  = "access_token_invalid"
	mAccessTokenExpired  = "access_token_expired"
	mAuthError           = "auth_error"
	mForbidden           = "forbidden"
	mLimitExceeded       = "limit_exceeded"
	mBatchNotSupported   = "batch_operations_not_supported"
	mNotificationsNotSup = "notifications_not_supported"
	mInternalError       = "internal_error"
	// The get methods' own: a sort or filter on a field the method does
	// not allow, and a report period over its limit.
	mSortProhibited    = "sort_prohibited"
	mFilterProhibited  = "filter_prohibited"
	mDateIntervalLimit = "date_interval_limit_reached"
	// Idempotency-Key outcomes: a key whose first request still runs, and
	// one first sent with another request. CallGear has no such header, so
	// it documents no mnemonics for them.
	mKeyInUse   = "idempotency_key_in_use"
	mKeyApplied = "idempotency_key_applied"
	mKeyReused  = "idempotency_key_reused"
)

// codeOf is CallGear's table of error codes: the JSON-RPC code of each
// mnemonic. An unknown mnemonic is an internal error.
func codeOf(mnemonic string) int {
	switch mnemonic {
	case mParseError:
		return -32700
	case mInvalidRequest, mKeyReused:
		return -32600
	case mKeyInUse, mKeyApplied:
		// The "call order" group: the call came while its twin still ran.
		return -32004
	case mMethodNotFound:
		return -32601
	case mRequiredMissed, mInvalidValue, mDataType, mUnexpected, mCombination,
		mEntityNotFound, mInvalidDateTime, mDataLimitExceeded, mSortProhibited, mFilterProhibited, mDateIntervalLimit:
		return -32602
	case mAccessTokenInvalid, mAccessTokenExpired, mAuthError:
		return -32001
	case mForbidden:
		return -32003
	case mLimitExceeded:
		return -32029
	case mBatchNotSupported, mNotificationsNotSup:
		return -32099
	}
	return -32603
}

// reasonMnemonic maps the store's reason for a bad field to CallGear's mnemonic.
func reasonMnemonic(r store.Reason) string {
	switch r {
	case store.ReasonRequired:
		return mRequiredMissed
	case store.ReasonNotFound:
		return mEntityNotFound
	case store.ReasonCombination:
		return mCombination
	case store.ReasonTime:
		return mInvalidDateTime
	case store.ReasonTooMany:
		return mDataLimitExceeded
	}
	return mInvalidValue
}

// fieldProblems turns the store's field errors into problems, naming each
// field with rename (the store names an item "[i].x"; the request calls it
// "offline_messages[i].x").
func fieldProblems(fe store.FieldErrors, rename func(string) string) problems {
	p := make(problems, 0, len(fe))
	for _, f := range fe {
		field := rename(f.Field)
		p = append(p, problem{Field: field, Mnemonic: reasonMnemonic(f.Reason), Value: shownValue(f.Value),
			Message: fmt.Sprintf("Parameter %s: %s", field, f.Message)})
	}
	return p
}

// listField returns a rename for fieldProblems that puts list in front of
// the store's item field names: "[3].phone" becomes "list[3].phone", "" the
// list itself, and any other name "list.name".
func listField(list string) func(string) string {
	return func(f string) string {
		switch {
		case f == "":
			return list
		case strings.HasPrefix(f, "["):
			return list + f
		}
		return list + "." + f
	}
}

// fieldNames returns the errkind.Named renaming that gives each of the
// store's field errors the request's name for its field (see listField).
func fieldNames(rename func(string) string) func(store.FieldError) store.FieldError {
	return func(f store.FieldError) store.FieldError {
		f.Field = rename(f.Field)
		return f
	}
}

// answer is the dialect's error table: the HTTP status and JSON-RPC error
// object for each class of error. Everything but a body over the limit
// (413), an unavailable database (503), a bug (500) and the Idempotency-Key
// errors (400, 409, 422) is HTTP 200, an exceeded rate limit included.
func answer(cl errkind.Class) errkind.Answer {
	status, obj := statusObject(cl)
	a := errkind.Answer{Status: status, Body: obj}
	switch {
	case status == http.StatusServiceUnavailable:
		a.RetryAfter = 1
	case cl.Kind == errkind.Limited && (cl.Reason == errkind.Logins || cl.Reason == errkind.Checks):
		// A refused login's wait; the guard's limits set theirs themselves.
		a.RetryAfter = cl.RetryAfter
	}
	return a
}

// statusObject returns the status and error object of answer.
func statusObject(cl errkind.Class) (int, errorObject) {
	var re *rpcError
	one := func(status int, mnemonic, format string, args ...any) (int, errorObject) {
		return status, objectOf(problems{{Mnemonic: mnemonic, Message: fmt.Sprintf(format, args...)}})
	}
	switch k := cl.Kind; {
	case cl.Status != 0:
		switch {
		case cl.Status == http.StatusRequestEntityTooLarge:
			return one(cl.Status, mDataLimitExceeded, "The request body is larger than the server accepts")
		case cl.Status >= 400 && cl.Status < 500:
			return one(cl.Status, mInvalidRequest, "Invalid request")
		}
	case k == errkind.Unavailable:
		return one(http.StatusServiceUnavailable, mInternalError, "Service temporarily unavailable. %s", errkind.UnavailableRetry)
	case errors.As(cl.Cause, &re) && k != errkind.Internal:
		return http.StatusOK, objectOf(re.problems)
	case k == errkind.Limited && cl.Reason == errkind.Requests:
		return one(http.StatusOK, mLimitExceeded, "Limit per %s has been exceeded. Value of current limit per %s is %d", cl.Per, cl.Per, cl.Limit)
	case k == errkind.Limited && cl.Reason == errkind.Logins:
		// A login refused before its password was checked, as a limit is.
		return one(http.StatusOK, mLimitExceeded, "Limit of failed logins per %s has been exceeded. Value of current limit per %s is %d", cl.By, cl.Per, cl.Limit)
	case k == errkind.Limited && cl.Reason == errkind.Checks:
		return one(http.StatusOK, mLimitExceeded, "Limit of password checks at once has been exceeded. Retry in %d second", cl.RetryAfter)
	case k == errkind.Invalid && cl.Reason == errkind.BadKey:
		return http.StatusBadRequest, objectOf(problems{{Field: guard.HeaderIdempotencyKey, Mnemonic: mInvalidRequest,
			Message: "Invalid Idempotency-Key header: " + cl.Detail}})
	case k == errkind.InFlight && cl.Reason == errkind.Applied:
		return one(http.StatusConflict, mKeyApplied, "The request with this Idempotency-Key was applied, but its response was lost: read the result instead of sending it again")
	case k == errkind.InFlight:
		return one(http.StatusConflict, mKeyInUse, "A request with this Idempotency-Key is still in progress")
	case k == errkind.Mismatch:
		return one(http.StatusUnprocessableEntity, mKeyReused, "This Idempotency-Key was used with a different request")
	case k == errkind.Unauthenticated && cl.Reason == errkind.Expired:
		return one(http.StatusOK, mAccessTokenExpired, "Access token has expired")
	case k == errkind.Unauthenticated && (cl.Reason == errkind.BadToken || cl.Reason == errkind.Session):
		return one(http.StatusOK, mAccessTokenInvalid, "Access token is invalid")
	case k == errkind.Unauthenticated && cl.Reason == errkind.BadPassword:
		return one(http.StatusOK, mAuthError, "Wrong login or password")
	case k == errkind.Forbidden && cl.Scope != "":
		return one(http.StatusOK, mForbidden, "Access denied: this access token lacks the %q scope", string(cl.Scope))
	case k == errkind.Forbidden:
		return one(http.StatusOK, mForbidden, "Access denied")
	case k == errkind.Invalid && cl.Fields != nil:
		return http.StatusOK, objectOf(fieldProblems(cl.Fields, func(f string) string { return f }))
	case k == errkind.NotFound && cl.Entity != "":
		return http.StatusOK, objectOf(problems{{Mnemonic: mEntityNotFound, Value: cl.ID,
			Message: fmt.Sprintf("Entity not found: %s %d", cl.Entity, cl.ID)}})
	case k == errkind.NotFound:
		return one(http.StatusOK, mEntityNotFound, "Entity not found")
	}
	return one(http.StatusInternalServerError, mInternalError, "Internal error")
}

// objectOf returns the error object describing the first problem and, when
// there are several, listing them all in data.params.
func objectOf(p problems) errorObject {
	if len(p) == 0 {
		p = problems{{Mnemonic: mInternalError, Message: "Internal error"}}
	}
	first := p[0]
	obj := errorObject{Code: codeOf(first.Mnemonic), Message: first.Message, Data: errorData{
		Mnemonic: first.Mnemonic, Field: first.Field, Value: first.Value,
	}}
	if len(p) > 1 {
		obj.Data.Params = p
	}
	return obj
}

// writeAnswer returns the errkind.Writer that answers with a JSON-RPC error
// response, echoing the request's id when it was read.
func writeAnswer(log *slog.Logger) errkind.Writer {
	return func(c echo.Context, a errkind.Answer) error {
		obj, _ := a.Body.(errorObject)
		id, _ := c.Get(ctxID).(json.RawMessage)
		if werr := writeJSON(c, a.Status, response{JSONRPC: version, ID: id, Error: &obj}); werr != nil {
			// Only a value of the store's that JSON cannot encode gets here:
			// answer without the data that failed.
			log.ErrorContext(c.Request().Context(), "callgear error response", "err", werr)
			obj = objectOf(problems{{Mnemonic: mInternalError, Message: "Internal error"}})
			return writeJSON(c, http.StatusInternalServerError, response{JSONRPC: version, ID: id, Error: &obj})
		}
		return nil
	}
}

// renderErrors is the middleware that answers any error a CallGear handler
// returns from the error table (answer), so that handlers just return
// errors; log gets the server errors.
func renderErrors(log *slog.Logger) echo.MiddlewareFunc {
	return errkind.Render(log, errkind.Dialect{Name: "callgear", Table: answer, Write: writeAnswer(log)})
}

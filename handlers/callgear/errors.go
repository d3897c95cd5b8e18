package callgear

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"unicode/utf8"

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
		mEntityNotFound, mInvalidDateTime, mDataLimitExceeded:
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

// maxValueLen bounds a string echoed in data.value: an error names the bad
// value, it does not send a megabyte of it back.
const maxValueLen = 256

// problem is one thing wrong with a request: the error object's data for a
// single problem, and one entry of data.params when there are several.
type problem struct {
	Field    string `json:"field,omitempty"`
	Mnemonic string `json:"mnemonic"`
	Message  string `json:"message"`
	Value    any    `json:"value,omitempty"`
}

// problems collects everything wrong with one request, in the order found,
// so that the answer lists every bad field rather than the first.
type problems []problem

// add records a problem of the field (which may be empty) with its value
// (nil for none) and message.
func (p *problems) add(field, mnemonic string, value any, format string, args ...any) {
	*p = append(*p, problem{Field: field, Mnemonic: mnemonic, Value: shownValue(value), Message: fmt.Sprintf(format, args...)})
}

// missing records a required parameter that is absent or null.
func (p *problems) missing(field string) {
	p.add(field, mRequiredMissed, nil, "Required parameter %s is missed", field)
}

// wrongType records a value of the wrong JSON type; want says which, as "a string".
func (p *problems) wrongType(field string, value any, want string) {
	p.add(field, mDataType, value, "Parameter %s must be %s, not %s", field, want, jsonType(value))
}

// invalid records a value of the right type that is not allowed.
func (p *problems) invalid(field string, value any, format string, args ...any) {
	p.add(field, mInvalidValue, value, "Invalid value of parameter %s: %s", field, fmt.Sprintf(format, args...))
}

// err returns the error listing every problem, or nil when there is none.
func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	return &rpcError{problems: p}
}

// rpcError is an error answered with a JSON-RPC error object: its first
// problem gives the code, message, mnemonic, field and value, and all of
// them are listed in data.params when there are several. err is the cause,
// kept for errors.Is and the log.
type rpcError struct {
	problems problems
	err      error
}

func (e *rpcError) Error() string {
	parts := make([]string, len(e.problems))
	for i, p := range e.problems {
		parts[i] = p.Mnemonic + ": " + p.Message
	}
	msg := strings.Join(parts, "; ")
	if e.err != nil {
		return msg + ": " + e.err.Error()
	}
	return msg
}

func (e *rpcError) Unwrap() error { return e.err }

// Kind makes an rpcError an Invalid request, worded already.
func (e *rpcError) Kind() errkind.Kind { return errkind.Invalid }

// newError returns an rpcError with one problem.
func newError(mnemonic, field string, value any, format string, args ...any) *rpcError {
	var p problems
	p.add(field, mnemonic, value, format, args...)
	return &rpcError{problems: p}
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

// shownValue returns v as data.value shows it: scalars as they are (a string
// cut to maxValueLen bytes), nothing for objects and arrays, which would
// echo a whole subtree of the request. A number no float64 holds (1e400), or
// longer than maxValueLen digits, is shown as a string, cut the same way:
// echoed as a number it would be one that clients' JSON decoders refuse.
func shownValue(v any) any {
	switch t := v.(type) {
	case map[string]any, []any:
		return nil
	case json.Number:
		if f, err := t.Float64(); err != nil || math.IsInf(f, 0) || len(t) > maxValueLen {
			return shownValue(string(t))
		}
		return t
	case string:
		if len(t) <= maxValueLen {
			return t
		}
		cut := maxValueLen
		for cut > 0 && !utf8.RuneStart(t[cut]) {
			cut--
		}
		return t[:cut] + "…"
	}
	return v
}

// jsonType names the JSON type of a decoded value for error messages.
func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

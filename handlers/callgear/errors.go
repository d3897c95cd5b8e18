package callgear

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"switchboard/auth"
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

// newError returns an rpcError with one problem.
func newError(mnemonic, field string, value any, format string, args ...any) *rpcError {
	var p problems
	p.add(field, mnemonic, value, format, args...)
	return &rpcError{problems: p}
}

// internalError marks an error that must be answered as an internal error
// even though it wraps one the table would answer otherwise (a store field
// error about a value the handler made, not the client).
type internalError struct{ err error }

func (e *internalError) Error() string { return e.err.Error() }
func (e *internalError) Unwrap() error { return e.err }

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

// storeError returns err from a store method that read the list as
// an rpcError naming the request's fields (see listField), and err unchanged
// when it is not a field error.
func storeError(err error, rename func(string) string) error {
	var fe store.FieldErrors
	if errors.As(err, &fe) {
		return &rpcError{problems: fieldProblems(fe, rename), err: err}
	}
	return err
}

// errorOf is the dialect's error table: the HTTP status and JSON-RPC error
// object for any error a method returns. Everything but a body over the
// limit (413), an unavailable database (503), a bug (500) and the
// Idempotency-Key errors (400, 409, 422) is HTTP 200, an exceeded rate limit
// included.
func errorOf(err error) (int, errorObject) {
	var re *rpcError
	var he *echo.HTTPError
	var fe store.FieldErrors
	var nf *store.NotFoundError
	var se *auth.ScopeError
	var ie *internalError
	var le *guard.LimitError
	var ke *guard.KeyError
	var te *auth.ThrottledError
	switch {
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return http.StatusServiceUnavailable, objectOf(problems{{Mnemonic: mInternalError, Message: "Service temporarily unavailable. " + errkind.UnavailableRetry}})
	case errors.As(err, &ie):
		return http.StatusInternalServerError, objectOf(problems{{Mnemonic: mInternalError, Message: "Internal error"}})
	case errors.As(err, &re):
		return http.StatusOK, objectOf(re.problems)
	case errors.As(err, &le):
		return http.StatusOK, objectOf(problems{{Mnemonic: mLimitExceeded, Message: fmt.Sprintf(
			"Limit per %s has been exceeded. Value of current limit per %s is %d", le.Per(), le.Per(), le.Limit)}})
	case errors.As(err, &te):
		// A login refused before its password was checked, as a limit is.
		return http.StatusOK, objectOf(problems{{Mnemonic: mLimitExceeded, Message: fmt.Sprintf(
			"Limit of failed logins per %s has been exceeded. Value of current limit per %s is %d", te.By, te.Per(), te.Limit)}})
	case errors.Is(err, auth.ErrBusy):
		return http.StatusOK, objectOf(problems{{Mnemonic: mLimitExceeded, Message: fmt.Sprintf(
			"Limit of password checks at once has been exceeded. Retry in %d second", int(auth.BusyRetryAfter/time.Second))}})
	case errors.As(err, &ke):
		return http.StatusBadRequest, objectOf(problems{{Field: guard.HeaderIdempotencyKey, Mnemonic: mInvalidRequest,
			Message: "Invalid Idempotency-Key header: " + ke.Reason}})
	case errors.Is(err, store.ErrIdempotencyApplied):
		return http.StatusConflict, objectOf(problems{{Mnemonic: mKeyApplied,
			Message: "The request with this Idempotency-Key was applied, but its response was lost: read the result instead of sending it again"}})
	case errors.Is(err, store.ErrIdempotencyInFlight):
		return http.StatusConflict, objectOf(problems{{Mnemonic: mKeyInUse,
			Message: "A request with this Idempotency-Key is still in progress"}})
	case errors.Is(err, store.ErrIdempotencyMismatch):
		return http.StatusUnprocessableEntity, objectOf(problems{{Mnemonic: mKeyReused,
			Message: "This Idempotency-Key was used with a different request"}})
	case errors.Is(err, auth.ErrExpiredToken):
		// Before ErrInvalidToken: an expired token matches both.
		return http.StatusOK, objectOf(problems{{Mnemonic: mAccessTokenExpired, Message: "Access token has expired"}})
	case errors.Is(err, auth.ErrInvalidToken):
		return http.StatusOK, objectOf(problems{{Mnemonic: mAccessTokenInvalid, Message: "Access token is invalid"}})
	case errors.Is(err, auth.ErrBadCredentials):
		return http.StatusOK, objectOf(problems{{Mnemonic: mAuthError, Message: "Wrong login or password"}})
	case errors.As(err, &se):
		return http.StatusOK, objectOf(problems{{Mnemonic: mForbidden,
			Message: fmt.Sprintf("Access denied: this access token lacks the %q scope", string(se.Scope))}})
	case errors.Is(err, auth.ErrForbidden):
		return http.StatusOK, objectOf(problems{{Mnemonic: mForbidden, Message: "Access denied"}})
	case errors.As(err, &fe):
		return http.StatusOK, objectOf(fieldProblems(fe, func(f string) string { return f }))
	case errors.As(err, &nf):
		return http.StatusOK, objectOf(problems{{Mnemonic: mEntityNotFound, Value: nf.ID,
			Message: fmt.Sprintf("Entity not found: %s %d", nf.Entity, nf.ID)}})
	case errors.Is(err, store.ErrNotFound):
		return http.StatusOK, objectOf(problems{{Mnemonic: mEntityNotFound, Message: "Entity not found"}})
	case errors.As(err, &he) && he.Code == http.StatusRequestEntityTooLarge:
		return http.StatusRequestEntityTooLarge, objectOf(problems{{Mnemonic: mDataLimitExceeded,
			Message: "The request body is larger than the server accepts"}})
	case errors.As(err, &he) && he.Code >= 400 && he.Code < 500:
		return he.Code, objectOf(problems{{Mnemonic: mInvalidRequest, Message: "Invalid request"}})
	}
	return http.StatusInternalServerError, objectOf(problems{{Mnemonic: mInternalError, Message: "Internal error"}})
}

// retryAfter returns the seconds a refused login should wait (Retry-After)
// for a throttled login or a busy password check, and 0 for any other
// error. The guard's limits set their Retry-After themselves.
func retryAfter(err error) int {
	var te *auth.ThrottledError
	switch {
	case errors.As(err, &te):
		return te.RetrySeconds()
	case errors.Is(err, auth.ErrBusy):
		return int(auth.BusyRetryAfter / time.Second)
	}
	return 0
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

// renderErrors is the middleware that answers any error a method returns
// (or the body limit or panic recovery inside it) with a JSON-RPC error
// response, echoing the request's id when it was read, so that methods just
// return errors.
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
			status, obj := errorOf(err)
			if status >= 500 {
				log.ErrorContext(c.Request().Context(), "callgear request failed", "err", err, "status", status,
					"request_id", c.Response().Header().Get(echo.HeaderXRequestID))
			}
			if status == http.StatusServiceUnavailable {
				c.Response().Header().Set("Retry-After", "1")
			}
			if s := retryAfter(err); s > 0 {
				c.Response().Header().Set("Retry-After", strconv.Itoa(s))
			}
			id, _ := c.Get(ctxID).(json.RawMessage)
			if werr := writeJSON(c, status, response{JSONRPC: version, ID: id, Error: &obj}); werr != nil {
				// Only a value of the store's that JSON cannot encode gets here:
				// answer without the data that failed.
				log.ErrorContext(c.Request().Context(), "callgear error response", "err", werr)
				obj = objectOf(problems{{Mnemonic: mInternalError, Message: "Internal error"}})
				return writeJSON(c, http.StatusInternalServerError, response{JSONRPC: version, ID: id, Error: &obj})
			}
			return nil
		}
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

package errkind

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"switchboard/auth"
	"switchboard/handlers/guard"
	"switchboard/handlers/jsonbody"
	"switchboard/store"
)

// Kind is what went wrong with a request, in words no vendor's: each
// dialect's error table gives every kind its status and body.
type Kind int

// The kinds of error. The zero value, Internal, is every error Of does not
// know: a bug, answered as a server error.
const (
	Internal Kind = iota
	// NotFound: a record the request names is not the account's
	// (Class.Entity, Class.Ref).
	NotFound
	// Invalid: the request is malformed (Class.Fields, or Reason BadKey).
	Invalid
	// Conflict: the write contradicts what is stored (Reason Duplicate or
	// Closed).
	Conflict
	// InFlight: a request with the Idempotency-Key still runs (Reason
	// Running), or ran and lost its response (Reason Applied).
	InFlight
	// Mismatch: the Idempotency-Key was first sent with another request.
	Mismatch
	// Limited: a limit is spent (Reason Requests, Logins, Checks or Quota);
	// Class.RetryAfter says when it frees.
	Limited
	// Unavailable: the database (or a deadline) failed; a retry may pass.
	Unavailable
	// Unauthenticated: the credentials are missing or wrong (Reason says
	// which).
	Unauthenticated
	// Forbidden: the caller may not do this (Class.Scope names the scope it
	// lacks, when one does).
	Forbidden
	// TooLarge: the body is over the limit.
	TooLarge
)

var kindNames = [...]string{"Internal", "NotFound", "Invalid", "Conflict", "InFlight", "Mismatch", "Limited",
	"Unavailable", "Unauthenticated", "Forbidden", "TooLarge"}

func (k Kind) String() string {
	if k < 0 || int(k) >= len(kindNames) {
		return "Kind(?)"
	}
	return kindNames[k]
}

// Reason tells apart the errors of one kind that dialects word differently.
type Reason string

// The reasons of each kind; "" is the kind's plain case.
const (
	// Invalid: an Idempotency-Key header that is not a valid key
	// (Class.Detail says why).
	BadKey Reason = "key"

	// Conflict: a unique value stored twice (the plain case), or a message
	// for a closed case.
	Duplicate Reason = ""
	Closed    Reason = "closed"

	// InFlight: still running (the plain case), or applied with its
	// response lost.
	Running Reason = ""
	Applied Reason = "applied"

	// Limited: the guard's request limits (the plain case), failed logins
	// (Class.By), password checks at once, a sending quota (Class.Detail).
	Requests Reason = ""
	Logins   Reason = "logins"
	Checks   Reason = "checks"
	Quota    Reason = "quota"

	// Unauthenticated: no credentials (the plain case), a bad, expired or
	// session token where an API key is wanted, a wrong login or password.
	NoCredentials Reason = ""
	BadToken      Reason = "token"
	Expired       Reason = "expired"
	Session       Reason = "session"
	BadPassword   Reason = "password"
)

// Ref is how the request named a record it refers to: set by a handler
// with Lookup or LookupPath, for the tables that echo the client's words
// (NotFound, and Conflict for a closed case).
type Ref struct {
	// Entity is what the handler looked up, in its own dialect's words
	// ("chat", "customer", "offline_message").
	Entity string
	// Value is the reference as the client sent it ("" when the table does
	// not show it).
	Value string
	// InPath is true for a record the route's path names, false for one
	// the body or query refers to.
	InPath bool
}

// Class is an error's kind and the details a dialect's table words it with.
type Class struct {
	Kind   Kind
	Reason Reason
	// Entity is the record the store says was not found ("case", "agent",
	// "contact" ...), "" when it names none.
	Entity string
	// ID is the id of Entity.
	ID int64
	// Ref is the handler's own name for what was not found (zero when it
	// gave none).
	Ref Ref
	// Fields are an Invalid request's fields, in the request's names when
	// a handler renamed them (Named).
	Fields store.FieldErrors
	// Detail is a BadKey's reason, a Quota's message, or an Echo error's
	// message.
	Detail string
	// Scope is the scope a Forbidden caller lacks, "" when it is no scope.
	Scope auth.Scope
	// Limit, Per and By describe a Limited request's limit: Limit
	// requests (or logins) per Per ("minute", "day"), counted By ("ip",
	// "email"; logins only).
	Limit int64
	Per   string
	By    string
	// RetryAfter is the seconds to wait before a retry (Limited and
	// Unavailable; 0 when it is not known).
	RetryAfter int
	// Status is the status of an *echo.HTTPError, 0 for any other error.
	Status int
	// Cause is the error classified.
	Cause error
}

// Worded is a dialect's own error, already in its vendor's words (its
// decoders' errors): Of gives it its own Kind, and the dialect's table
// answers it as it is.
type Worded interface {
	error
	Kind() Kind
}

// internalError is an error marked a bug whatever it wraps.
type internalError struct{ err error }

func (e *internalError) Error() string { return e.err.Error() }
func (e *internalError) Unwrap() error { return e.err }

// AsInternal returns err marked as a server bug: Of classes it Internal even
// when it wraps an error of another kind (a store field error about a value
// the handler made, not the client). nil stays nil.
func AsInternal(err error) error {
	if err == nil {
		return nil
	}
	return &internalError{err: err}
}

// refError is a not-found error with the handler's name for it.
type refError struct {
	ref Ref
	err error
}

func (e *refError) Error() string { return e.ref.Entity + " " + e.ref.Value + ": " + e.err.Error() }
func (e *refError) Unwrap() error { return e.err }

// Lookup returns err with what the handler looked up, entity named as
// value in the body or query, when err is about that record (see Ref): it
// is not found, or it is a case that is not active. Any other error, and
// nil, are returned unchanged: a database failure while looking a record up
// stays Unavailable.
func Lookup(err error, entity, value string) error {
	return lookup(err, Ref{Entity: entity, Value: value})
}

// LookupPath is Lookup for a record the route's path names.
func LookupPath(err error, entity, value string) error {
	return lookup(err, Ref{Entity: entity, Value: value, InPath: true})
}

func lookup(err error, ref Ref) error {
	if !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrCaseNotActive) {
		return err
	}
	return &refError{ref: ref, err: err}
}

// namedError is a store's field error with the request's names.
type namedError struct {
	fields store.FieldErrors
	err    error
}

func (e *namedError) Error() string { return e.fields.Error() }
func (e *namedError) Unwrap() error { return e.err }

// Named returns err with each of the store's field errors passed through
// name (which gives a field the name the request calls it by, or words its
// message in the request's terms) when err holds store.FieldErrors; any
// other error, and nil, are returned unchanged.
func Named(err error, name func(store.FieldError) store.FieldError) error {
	var fe store.FieldErrors
	if !errors.As(err, &fe) {
		return err
	}
	named := make(store.FieldErrors, len(fe))
	for i, f := range fe {
		named[i] = name(f)
	}
	return &namedError{fields: named, err: err}
}

// ErrNoCredentials means a request carries no credentials at all; a
// dialect's own error for it wraps it.
var ErrNoCredentials = errors.New("no credentials")

// unavailableRetrySeconds is the Retry-After of an Unavailable error: an
// unreachable database is usually back within a second.
const unavailableRetrySeconds = 1

// Of returns the class of err: its kind and the details a dialect's table
// needs. It knows the store's, auth's, the guard's, jsonbody's and Echo's
// errors, and a dialect's Worded errors; any other error is Internal.
func Of(err error) Class {
	cl := Class{Cause: err}
	var (
		ie *internalError
		wd Worded
		le *guard.LimitError
		ke *guard.KeyError
		te *auth.ThrottledError
		se *auth.ScopeError
		qe *store.QuotaError
		fe store.FieldErrors
		ne *namedError
		nf *store.NotFoundError
		re *refError
		he *echo.HTTPError
	)
	switch {
	case err == nil:
		return cl
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		cl.Kind, cl.RetryAfter = Unavailable, unavailableRetrySeconds
	case errors.As(err, &ie):
		cl.Kind = Internal
	case errors.As(err, &wd):
		cl.Kind = wd.Kind()
	case errors.As(err, &le):
		cl.Kind, cl.Limit, cl.Per, cl.RetryAfter = Limited, le.Limit, le.Per(), le.RetrySeconds()
	case errors.As(err, &te):
		cl.Kind, cl.Reason, cl.By, cl.Limit, cl.Per, cl.RetryAfter = Limited, Logins, te.By, te.Limit, te.Per(), te.RetrySeconds()
	case errors.Is(err, auth.ErrBusy):
		cl.Kind, cl.Reason, cl.RetryAfter = Limited, Checks, int(auth.BusyRetryAfter/time.Second)
	case errors.As(err, &ke):
		cl.Kind, cl.Reason, cl.Detail = Invalid, BadKey, ke.Reason
	case errors.Is(err, store.ErrIdempotencyInFlight):
		cl.Kind, cl.Reason = InFlight, Running
	case errors.Is(err, store.ErrIdempotencyApplied):
		cl.Kind, cl.Reason = InFlight, Applied
	case errors.Is(err, store.ErrIdempotencyMismatch):
		cl.Kind = Mismatch
	case errors.Is(err, ErrNoCredentials):
		cl.Kind, cl.Reason = Unauthenticated, NoCredentials
	case errors.Is(err, auth.ErrExpiredToken):
		// Before ErrInvalidToken, which an expired token matches too.
		cl.Kind, cl.Reason = Unauthenticated, Expired
	case errors.Is(err, auth.ErrSessionToken):
		cl.Kind, cl.Reason = Unauthenticated, Session
	case errors.Is(err, auth.ErrInvalidToken):
		cl.Kind, cl.Reason = Unauthenticated, BadToken
	case errors.Is(err, auth.ErrBadCredentials):
		cl.Kind, cl.Reason = Unauthenticated, BadPassword
	case errors.As(err, &se):
		cl.Kind, cl.Scope = Forbidden, se.Scope
	case errors.Is(err, auth.ErrForbidden):
		cl.Kind = Forbidden
	case errors.As(err, &qe):
		cl.Kind, cl.Reason, cl.Detail, cl.RetryAfter = Limited, Quota, qe.Error(), retrySeconds(qe.RetryAfter)
	case errors.As(err, &ne):
		cl.Kind, cl.Fields = Invalid, ne.fields
	case errors.As(err, &fe):
		cl.Kind, cl.Fields = Invalid, fe
	case errors.Is(err, store.ErrNotFound):
		cl.Kind = NotFound
		if errors.As(err, &nf) {
			cl.Entity, cl.ID = nf.Entity, nf.ID
		}
		if errors.As(err, &re) {
			cl.Ref = re.ref
		}
	case errors.Is(err, store.ErrCaseNotActive):
		cl.Kind, cl.Reason = Conflict, Closed
		if errors.As(err, &re) {
			cl.Ref = re.ref
		}
	case errors.Is(err, store.ErrConflict):
		cl.Kind, cl.Reason = Conflict, Duplicate
	case errors.As(err, new(*jsonbody.Error)), errors.As(err, new(*jsonbody.SyntaxError)):
		cl.Kind = Invalid
	case errors.As(err, &he):
		cl.Kind, cl.Status = httpKind(he.Code), he.Code
		cl.Detail, _ = he.Message.(string)
		if cl.Kind == Unavailable {
			cl.RetryAfter = unavailableRetrySeconds
		}
	}
	return cl
}

// httpKind is the kind of an Echo error's status.
func httpKind(status int) Kind {
	switch {
	case status == http.StatusRequestEntityTooLarge:
		return TooLarge
	case status == http.StatusServiceUnavailable:
		return Unavailable
	case status == http.StatusUnauthorized:
		return Unauthenticated
	case status == http.StatusForbidden:
		return Forbidden
	case status == http.StatusNotFound:
		return NotFound
	case status == http.StatusTooManyRequests:
		return Limited
	case status >= 400 && status < 500:
		return Invalid
	}
	return Internal
}

// retrySeconds returns d in whole seconds, rounded up so that a client that
// waits that long finds the limit free, and at least 1.
func retrySeconds(d time.Duration) int {
	return max(int((d+time.Second-1)/time.Second), 1)
}

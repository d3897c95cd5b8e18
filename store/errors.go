package store

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Typed errors of the store. Callers match them with errors.Is; each dialect
// turns them into its vendor's status and body.
var (
	// ErrNotFound means the record does not exist in the caller's account
	// (a record of another account is not found either).
	ErrNotFound = errors.New("not found")
	// ErrConflict means the write would duplicate a unique value.
	ErrConflict = errors.New("already exists")
	// ErrCaseNotActive means the case is closed and takes no new messages.
	ErrCaseNotActive = errors.New("case is not active")
	// ErrUnavailable means the database could not be reached.
	ErrUnavailable = errors.New("database unavailable")
)

// NotFoundError names the record that was not found. It matches ErrNotFound,
// and lets a dialect that names the missing thing (HelpCrunch's "Agent not
// found" beside "Chat not found") tell which reference of a request failed.
type NotFoundError struct {
	// Entity is "case", "contact", "agent", "account" or "site".
	Entity string
	ID     int64
}

func (e *NotFoundError) Error() string { return fmt.Sprintf("%s %d: %v", e.Entity, e.ID, ErrNotFound) }

// Is makes a NotFoundError match ErrNotFound.
func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// notFound returns a NotFoundError for the entity and id.
func notFound(entity string, id int64) error { return &NotFoundError{Entity: entity, ID: id} }

// Reason says why a field is invalid, for dialects whose errors tell the
// cases apart (CallGear's mnemonics).
type Reason string

// The reasons of a FieldError; the zero value is ReasonInvalid.
const (
	// ReasonInvalid: the value is malformed or not allowed.
	ReasonInvalid Reason = ""
	// ReasonRequired: a needed value is missing.
	ReasonRequired Reason = "required"
	// ReasonNotFound: the value names a record the account does not have.
	ReasonNotFound Reason = "not_found"
	// ReasonCombination: the value contradicts another field.
	ReasonCombination Reason = "combination"
	// ReasonTime: a time is out of its allowed range (in the future, before
	// the start it belongs to).
	ReasonTime Reason = "time"
	// ReasonTooMany: a list is longer than allowed.
	ReasonTooMany Reason = "too_many"
)

// FieldError is one invalid input field.
type FieldError struct {
	Field   string
	Message string
	Reason  Reason
	// Value is the offending value, when there is one to show.
	Value any
}

// FieldErrors collects every invalid field of one request. A store method
// returns it (as error) when its input is invalid, before writing anything.
type FieldErrors []FieldError

// Error lists the fields and their messages.
func (fe FieldErrors) Error() string {
	parts := make([]string, len(fe))
	for i, f := range fe {
		parts[i] = fmt.Sprintf("%s: %s", f.Field, f.Message)
	}
	return "invalid input: " + strings.Join(parts, "; ")
}

// Add records one invalid field.
func (fe *FieldErrors) Add(field, format string, args ...any) {
	*fe = append(*fe, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// AddReason records one invalid field with why it is invalid and its value.
func (fe *FieldErrors) AddReason(reason Reason, field string, value any, format string, args ...any) {
	*fe = append(*fe, FieldError{Field: field, Message: fmt.Sprintf(format, args...), Reason: reason, Value: value})
}

// Err returns fe as an error, or nil when no field was invalid.
func (fe FieldErrors) Err() error {
	if len(fe) == 0 {
		return nil
	}
	return fe
}

// checkText adds a field error when s holds a NUL character or is not UTF-8:
// PostgreSQL stores neither, and the request would fail as a server error.
// storable reports whether s can be stored in and compared with a text
// column: UTF-8 without NUL (PostgreSQL refuses anything else).
func storable(s string) bool {
	return strings.IndexByte(s, 0) < 0 && utf8.ValidString(s)
}

func checkText(fe *FieldErrors, field, s string) {
	if strings.IndexByte(s, 0) >= 0 {
		fe.Add(field, "must not contain NUL characters")
	} else if !utf8.ValidString(s) {
		fe.Add(field, "must be valid UTF-8")
	}
}

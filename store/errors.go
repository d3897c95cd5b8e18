package store

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"switchboard/models"
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
	// ReasonTooLong: a text is longer than its limit (FieldError.Limit).
	ReasonTooLong Reason = "too_long"
	// ReasonOptedOut: the SMS number asked not to be texted (STOP).
	ReasonOptedOut Reason = "opted_out"
)

// FieldError is one invalid input field.
type FieldError struct {
	Field   string
	Message string
	Reason  Reason
	// Value is the offending value, when there is one to show.
	Value any
	// Limit is the bound a ReasonTooLong text exceeds, in the unit its
	// message names (characters, or bytes for a subject).
	Limit int
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

// storable reports whether s can be stored in and compared with a text
// column: UTF-8 without NUL (PostgreSQL refuses anything else).
func storable(s string) bool {
	return strings.IndexByte(s, 0) < 0 && utf8.ValidString(s)
}

// checkText adds a field error when s holds a NUL character or is not UTF-8:
// PostgreSQL stores neither, and the request would fail as a server error.
func checkText(fe *FieldErrors, field, s string) {
	if strings.IndexByte(s, 0) >= 0 {
		fe.Add(field, "must not contain NUL characters")
	} else if !utf8.ValidString(s) {
		fe.Add(field, "must be valid UTF-8")
	}
}

// checkBlock checks free text that may run over several lines (a message, a
// body): checkText, and at most max characters.
func checkBlock(fe *FieldErrors, field, s string, max int) {
	checkText(fe, field, s)
	checkLen(fe, field, s, max)
}

// checkLine checks one-line text (a name, an address, an id): checkText, no
// other control character (see models.HasControl) and at most max
// characters.
func checkLine(fe *FieldErrors, field, s string, max int) {
	checkText(fe, field, s)
	checkControl(fe, field, s)
	checkLen(fe, field, s, max)
}

// checkSubject checks a subject: checkText, one line, no other control
// character and at most models.MaxSubjectBytes bytes.
func checkSubject(fe *FieldErrors, field, s string) {
	checkText(fe, field, s)
	if strings.ContainsAny(s, "\r\n") {
		// A line break in a header would let the client write headers of
		// its own.
		fe.AddReason(ReasonInvalid, field, nil, "must be one line")
	} else {
		checkControl(fe, field, s)
	}
	if len(s) > models.MaxSubjectBytes {
		*fe = append(*fe, FieldError{Field: field, Reason: ReasonTooLong, Limit: models.MaxSubjectBytes,
			Message: fmt.Sprintf("must be at most %d bytes, not %d", models.MaxSubjectBytes, len(s))})
	}
}

// tooLongEmail adds a ReasonTooLong field error when the address s is
// longer than models.MaxEmailBytes, and reports whether it did: such an
// address is not valid either, but the error does not echo it back.
func tooLongEmail(fe *FieldErrors, field, s string) bool {
	if len(s) <= models.MaxEmailBytes {
		return false
	}
	*fe = append(*fe, FieldError{Field: field, Reason: ReasonTooLong, Limit: models.MaxEmailBytes,
		Message: fmt.Sprintf("must be at most %d bytes, not %d", models.MaxEmailBytes, len(s))})
	return true
}

// checkControl adds a field error when s holds a control character other
// than NUL (which checkText reports).
func checkControl(fe *FieldErrors, field, s string) {
	if strings.IndexByte(s, 0) < 0 && models.HasControl(s) {
		fe.AddReason(ReasonInvalid, field, nil, "must not contain control characters")
	}
}

// checkLen adds a ReasonTooLong field error when s has more than max
// characters.
func checkLen(fe *FieldErrors, field, s string, max int) {
	if models.TooLong(s, max) {
		*fe = append(*fe, FieldError{Field: field, Reason: ReasonTooLong, Limit: max,
			Message: fmt.Sprintf("must be at most %d characters, not %d", max, utf8.RuneCountInString(s))})
	}
}

package store

import (
	"errors"
	"fmt"
	"strings"
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

// FieldError is one invalid input field.
type FieldError struct {
	Field   string
	Message string
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

// Err returns fe as an error, or nil when no field was invalid.
func (fe FieldErrors) Err() error {
	if len(fe) == 0 {
		return nil
	}
	return fe
}

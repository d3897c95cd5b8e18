// Acquire's own errors for an invalid request, each in Acquire's words; the
// error table (errors.go) answers them as they are.

package acquire

import (
	"fmt"
	"strings"

	"switchboard/handlers/errkind"
	"switchboard/store"
)

// apiError is a 400 ERROR_INVALID_INPUT with the message Acquire shows for it.
type apiError struct {
	Message string
}

func (e *apiError) Error() string { return e.Message }

// Kind makes an apiError an Invalid request, worded already.
func (e *apiError) Kind() errkind.Kind { return errkind.Invalid }

// invalidInput returns a 400 ERROR_INVALID_INPUT with the message.
func invalidInput(format string, args ...any) error {
	return &apiError{Message: fmt.Sprintf(format, args...)}
}

// fieldErrors collects the invalid fields of one request so that the client
// hears of all of them at once.
type fieldErrors []string

// add records that field is invalid.
func (fe *fieldErrors) add(field, format string, args ...any) {
	*fe = append(*fe, field+": "+fmt.Sprintf(format, args...))
}

// addMessage records a problem whose message names its fields itself, such
// as "attachments are not supported".
func (fe *fieldErrors) addMessage(msg string) {
	*fe = append(*fe, msg)
}

// err returns the collected fields as one ERROR_INVALID_INPUT, or nil.
func (fe fieldErrors) err() error {
	if len(fe) == 0 {
		return nil
	}
	return invalidInput("%s", strings.Join(fe, "; "))
}

// described returns the errkind.Named renaming that words each of the
// store's field errors as describe does, in the request's names.
func described(describe func(store.FieldError) string) func(store.FieldError) store.FieldError {
	return func(f store.FieldError) store.FieldError {
		return store.FieldError{Message: describe(f), Reason: f.Reason, Value: f.Value, Limit: f.Limit}
	}
}

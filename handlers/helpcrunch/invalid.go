// HelpCrunch's own errors for an invalid request, each in HelpCrunch's words;
// the error table (errors.go) answers them as they are.

package helpcrunch

import (
	"fmt"
	"strings"

	"switchboard/handlers/errkind"
	"switchboard/store"
)

// HelpCrunch's messages for invalid fields (they are Symfony's validator
// messages, which HelpCrunch shows as they are).
const (
	msgBlank    = "This value should not be blank."
	msgNumeric  = "This value should be of type numeric."
	msgString   = "This value should be of type string."
	msgArray    = "This value should be of type array."
	msgChoice   = "The value you selected is not a valid choice."
	msgPositive = "This value should be positive."
	msgMin0     = "This value should be greater than or equal to 0."
	msgMin1     = "This value should be greater than or equal to 1."
	msgMax100   = "This value should be less than or equal to 100."
	msgDatetime = "This value is not a valid datetime."
	msgEmail    = "This value is not a valid email address."
	msgPhone    = "This value is not a valid phone number."
	msgNUL      = "This value should not contain NUL characters."
)

// msgMaxOffset is for an offset beyond the largest 64-bit integer, the bound
// openapi.yaml gives.
const msgMaxOffset = "This value should be less than or equal to 9223372036854775807."

// msgMaxFilters returns the message for a search with more filters than the
// store takes.
func msgMaxFilters() string {
	return fmt.Sprintf("This collection should contain %d elements or less.", store.MaxFilters)
}

// apiError is a 400 with the entries HelpCrunch lists for it after
// invalid_request.
type apiError struct {
	Items []errorItem
}

func (e *apiError) Error() string {
	parts := make([]string, len(e.Items))
	for i, it := range e.Items {
		parts[i] = it.Code + ": " + it.Message
	}
	return strings.Join(parts, "; ")
}

// Kind makes an apiError an Invalid request, worded already.
func (e *apiError) Kind() errkind.Kind { return errkind.Invalid }

// problems collects the invalid fields of one request, in the order found,
// so that a response names every bad field rather than the first.
type problems []errorItem

// add records that the field named code is invalid.
func (p *problems) add(code, message string) {
	*p = append(*p, errorItem{Code: code, Message: message})
}

// err returns the 400 listing every problem, or nil when there is none.
func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	return &apiError{Items: p}
}

// badRequest returns a 400 with one entry.
func badRequest(code, message string) error {
	return &apiError{Items: []errorItem{{Code: code, Message: message}}}
}

// CallGear's own errors for an invalid request, each a list of problems in
// CallGear's words; the error table (errors.go) answers them as they are.

package callgear

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"

	"switchboard/handlers/errkind"
)

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

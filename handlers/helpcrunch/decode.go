package helpcrunch

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
)

// Paging bounds of HelpCrunch's lists: 100 rows unless the client asks for
// fewer, never more.
const (
	defaultLimit = 100
	maxLimit     = 100
)

// readObject reads the request body as one JSON object, numbers kept as
// json.Number so that each field's type can be checked on its own. It returns
// a 400 naming "body" for an empty body, malformed JSON or a value that is
// not an object, and the body limit's 413 for a body over the limit.
func readObject(c echo.Context) (map[string]any, error) {
	b, err := io.ReadAll(c.Request().Body)
	if err != nil {
		var he *echo.HTTPError
		if errors.As(err, &he) {
			return nil, err
		}
		return nil, badRequest("body", "The request body could not be read.")
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, badRequest("body", "The request body should not be empty.")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, badRequest("body", "The request body is not valid JSON: "+jsonProblem(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, badRequest("body", "The request body is not valid JSON: unexpected data after the top-level value.")
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, badRequest("body", "The request body should be a JSON object.")
	}
	return obj, nil
}

// jsonProblem says what is wrong with malformed JSON without echoing the
// decoder's internals.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "unexpected end of input."
	case errors.As(err, &se):
		return se.Error() + " at offset " + strconv.FormatInt(se.Offset, 10) + "."
	}
	return "malformed input."
}

// idValue is an id read from a request.
type idValue struct {
	N int64
	// Set says the field was present and not null.
	Set bool
	// Huge says it is a positive integer too large for int64, which no row has.
	Huge bool
}

// readID reads obj[name] as HelpCrunch's numeric id: a JSON integer above 0.
// A missing or null field is not Set, and a problem when required. A string,
// a fraction, a boolean, an object or an array is "of type numeric"; zero or
// a negative number is not "positive".
func readID(obj map[string]any, name string, required bool, p *problems) idValue {
	v, present := obj[name]
	if !present || v == nil {
		if required {
			p.add(name, msgBlank)
		}
		return idValue{}
	}
	num, ok := v.(json.Number)
	if !ok {
		p.add(name, msgNumeric)
		return idValue{}
	}
	n, huge, ok := parseInteger(string(num))
	switch {
	case !ok:
		p.add(name, msgNumeric)
		return idValue{}
	case n <= 0:
		p.add(name, msgPositive)
		return idValue{}
	}
	return idValue{N: n, Set: true, Huge: huge}
}

// readString reads obj[name] as a string. A missing or null field gives
// ok=false, and a problem when required; so does a required string that is
// blank. A value of another type is a problem, and so is a NUL character,
// which PostgreSQL cannot store.
func readString(obj map[string]any, name string, required bool, p *problems) (s string, ok bool) {
	return readStringAs(obj, name, name, required, p)
}

// readStringAs is readString naming the problems code rather than name (as
// "filter[0].field" for the field "field" of the first filter).
func readStringAs(obj map[string]any, name, code string, required bool, p *problems) (s string, ok bool) {
	v, present := obj[name]
	if !present || v == nil {
		if required {
			p.add(code, msgBlank)
		}
		return "", false
	}
	s, isString := v.(string)
	switch {
	case !isString:
		p.add(code, msgString)
		return "", false
	case strings.ContainsRune(s, 0):
		p.add(code, msgNUL)
		return "", false
	case required && strings.TrimSpace(s) == "":
		p.add(code, msgBlank)
		return "", false
	}
	return s, true
}

// parseInteger reads s as a decimal integer: an optional minus sign, then
// digits only. huge says it does not fit int64; n is then MaxInt64 or
// MinInt64. It returns ok=false for anything else (fractions, exponents,
// signs other than one leading minus, spaces).
func parseInteger(s string) (n int64, huge, ok bool) {
	digits := strings.TrimPrefix(s, "-")
	if digits == "" {
		return 0, false, false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, false, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		if strings.HasPrefix(s, "-") {
			return math.MinInt64, true, true
		}
		return math.MaxInt64, true, true
	}
	return n, false, true
}

// integerOf reads a paging or id value as a query string, a JSON string or a
// JSON number gives it. present is false for a missing, null or empty value;
// ok is false when the value is not an integer.
func integerOf(v any) (n int64, huge, present, ok bool) {
	var s string
	switch t := v.(type) {
	case nil:
		return 0, false, false, true
	case string:
		s = t
	case json.Number:
		s = string(t)
	default:
		return 0, false, true, false
	}
	if s == "" {
		return 0, false, false, true
	}
	n, huge, ok = parseInteger(s)
	return n, huge, true, ok
}

// readPage checks a list's offset and limit (query strings or JSON values):
// offset 0 to math.MaxInt64 (the largest 64-bit integer, as openapi.yaml
// says), default 0; limit 1 to 100, default 100. An offset past the end, or
// too large for an int on a 32-bit machine, reads past every row.
func readPage(offsetV, limitV any, p *problems) (offset, limit int) {
	limit = defaultLimit
	if n, huge, present, ok := integerOf(offsetV); !ok {
		p.add("offset", msgNumeric)
	} else if present {
		switch {
		case n < 0:
			p.add("offset", msgMin0)
		case huge:
			p.add("offset", msgMaxOffset)
		case n > math.MaxInt:
			offset = math.MaxInt
		default:
			offset = int(n)
		}
	}
	if n, huge, present, ok := integerOf(limitV); !ok {
		p.add("limit", msgNumeric)
	} else if present {
		switch {
		case n < 1:
			p.add("limit", msgMin1)
		case huge || n > maxLimit:
			p.add("limit", msgMax100)
		default:
			limit = int(n)
		}
	}
	return offset, limit
}

// readChoice reads a sort key, order or comparison (a query string or a JSON
// value): ok=false when it is missing, null or empty, or not a string (a
// problem named code).
func readChoice(v any, code string, p *problems) (string, bool) {
	switch t := v.(type) {
	case nil:
		return "", false
	case string:
		return t, t != ""
	}
	p.add(code, msgString)
	return "", false
}

// queryValue returns the query parameter as readPage and readChoice take it:
// nil when absent.
func queryValue(c echo.Context, name string) any {
	if !c.QueryParams().Has(name) {
		return nil
	}
	return c.QueryParam(name)
}

// readOrder reads "asc" or "desc" (default desc) and returns whether it is asc.
func readOrder(v any, p *problems) bool {
	s, ok := readChoice(v, "order", p)
	if !ok {
		return false
	}
	switch strings.ToLower(s) {
	case "asc":
		return true
	case "desc":
		return false
	}
	p.add("order", msgChoice)
	return false
}

package helpcrunch

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"switchboard/handlers/jsonbody"
	"switchboard/handlers/rawquery"
	"switchboard/models"
)

// Paging bounds of HelpCrunch's lists: 100 rows unless the client asks for
// fewer, never more.
const (
	defaultLimit = 100
	maxLimit     = 100
)

// readObject reads the request body as one JSON object, whose getters
// record their problems in p in HelpCrunch's words (problems.report). It
// returns a 400 naming "body" for an empty body, malformed JSON or a value
// that is not an object; a 400 naming the path of every string that is not
// UTF-8 and every key repeated in its object (see jsonbody.Check), which
// encoding/json would take lossily; and the body limit's 413 for a body over
// the limit.
func readObject(c echo.Context, p *problems) (*jsonbody.Object, error) {
	b, err := io.ReadAll(c.Request().Body)
	if err != nil {
		var he *echo.HTTPError
		if errors.As(err, &he) {
			return nil, err
		}
		return nil, badRequest("body", "The request body could not be read.")
	}
	obj, err := jsonbody.Parse(b, p.report)
	var je *jsonbody.Error
	switch {
	case errors.Is(err, jsonbody.ErrEmpty):
		return nil, badRequest("body", "The request body should not be empty.")
	case errors.As(err, &je):
		return nil, bodyProblems(je)
	case errors.As(err, new(*jsonbody.SyntaxError)):
		return nil, badRequest("body", "The request body is not valid JSON: "+syntaxProblem(b))
	case err != nil:
		return nil, badRequest("body", "The request body should be a JSON object.")
	}
	return obj, nil
}

// report words a problem the body's reader found as HelpCrunch's entry,
// named by its path. A JSON object is "of type array", as PHP has it.
func (p *problems) report(f jsonbody.FieldError) {
	code := f.Path.Full()
	switch f.Kind {
	case jsonbody.Missing:
		p.add(code, msgBlank)
	case jsonbody.WrongType:
		switch f.Want {
		case "string":
			p.add(code, msgString)
		case "array", "object":
			p.add(code, msgArray)
		default:
			p.add(code, msgNumeric)
		}
	case jsonbody.NotInteger:
		p.add(code, msgNumeric)
	case jsonbody.NotPositive:
		p.add(code, msgPositive)
	case jsonbody.HasNUL:
		p.add(code, msgNUL)
	case jsonbody.NotAllowed:
		p.add(code, msgChoice)
	default:
		p.add(code, msgInvalid)
	}
}

// bodyProblems returns the 400 listing each problem jsonbody found, named by
// its path ("body" for the top-level value).
func bodyProblems(je *jsonbody.Error) error {
	var p problems
	for _, pr := range je.Problems {
		code := pr.Path.String()
		if code == "" {
			code = "body"
		}
		switch pr.Kind {
		case jsonbody.DuplicateKey:
			p.add(code, msgDuplicate)
		default:
			p.add(code, msgUTF8)
		}
	}
	return p.err()
}

// syntaxProblem says what is wrong with malformed JSON as encoding/json's
// decoder finds it, without echoing the decoder's internals.
func syntaxProblem(b []byte) string {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return jsonProblem(err)
	}
	return "unexpected data after the top-level value."
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

// ptr returns the id, or nil when it is not Set.
func (v idValue) ptr() *int64 {
	if !v.Set {
		return nil
	}
	n := v.N
	return &n
}

// readID reads the member name as HelpCrunch's numeric id: a JSON integer
// above 0. A missing or null field is not Set, and a problem when required.
// A string, a fraction, a boolean, an object or an array is "of type
// numeric"; zero or a negative number is not "positive".
func readID(obj *jsonbody.Object, name string, required bool) idValue {
	var id jsonbody.ID
	var ok bool
	if required {
		id, ok = obj.ID(name)
	} else {
		id, ok = obj.OptionalID(name)
	}
	return idValue{N: id.N, Set: ok, Huge: id.Huge}
}

// readString reads the member name as a string. A missing or null field
// gives ok=false, and a problem when required; so does a required string
// that is blank. A value of another type is a problem, and so is a NUL
// character, which PostgreSQL cannot store.
func readString(obj *jsonbody.Object, name string, required bool) (s string, ok bool) {
	if !required {
		return obj.OptionalText(name)
	}
	s, ok = obj.Text(name)
	if ok && strings.TrimSpace(s) == "" {
		obj.Fail(name, jsonbody.Missing, "", s)
		return "", false
	}
	return s, ok
}

// HelpCrunch's (Symfony's) messages for the problems of free text and of
// the body's JSON.
const (
	msgControl    = "This value should not contain control characters."
	msgUTF8       = "This value should be valid UTF-8."
	msgDuplicate  = "This field should appear only once."
	msgUnexpected = "This field was not expected."
	msgInvalid    = "This value is not valid."
)

// msgTooLong returns the message for a value over max characters.
func msgTooLong(max int) string {
	return fmt.Sprintf("This value is too long. It should have %d characters or less.", max)
}

// msgTooLongBytes returns the message for a value over max bytes.
func msgTooLongBytes(max int) string {
	return fmt.Sprintf("This value is too long. It should have %d bytes or less.", max)
}

// checkText records code as too long when s has more than max characters
// and, for one-line text (a name, an address, an id), as holding a control
// character when it has one (tab and line breaks included). It returns
// whether s passed.
func checkText(p *problems, code, s string, max int, oneLine bool) bool {
	ok := true
	if oneLine && models.HasControl(s) && !strings.ContainsRune(s, 0) {
		// NUL has its own message (readString).
		p.add(code, msgControl)
		ok = false
	}
	if models.TooLong(s, max) {
		p.add(code, msgTooLong(max))
		ok = false
	}
	return ok
}

// checkEmail records an email address over models.MaxEmailBytes or holding
// a control character; the store judges the rest of its form.
func checkEmail(p *problems, code, s string) {
	switch {
	case len(s) > models.MaxEmailBytes:
		p.add(code, msgTooLongBytes(models.MaxEmailBytes))
	case models.HasControl(s) && !strings.ContainsRune(s, 0):
		p.add(code, msgControl)
	}
}

// refuseFilters records each query parameter the list route does not take
// (known) that looks like a filter or a sort (see looksLikeFilter with
// isField), as not expected, and each that net/url dropped (rawquery: a
// semicolon, a malformed escape), as not valid: answering every row for a
// filter the route ignored would be answering another question. Other
// parameters (cache busters, tracking tags) pass.
func refuseFilters(c echo.Context, p *problems, known []string, isField func(string) bool) {
	for _, pr := range rawquery.Check(c.Request().URL.RawQuery) {
		p.add(pr.Param, msgInvalid)
	}
	names := make([]string, 0, len(c.QueryParams()))
	for name := range c.QueryParams() {
		if !slices.Contains(known, name) && looksLikeFilter(name, isField) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		p.add(name, msgUnexpected)
	}
}

// looksLikeFilter reports whether a query parameter or search body key
// asks for filtering or sorting: a word APIs use for that (filterWord,
// before any "[...]"), a dotted field name (chats.status), or a field of
// the listed resource (isField, as status for chats).
func looksLikeFilter(name string, isField func(string) bool) bool {
	base, _, _ := strings.Cut(name, "[")
	return filterWord(base) || strings.Contains(base, ".") || isField(base)
}

// isChatField reports whether name is a field of a chat a client could
// filter by, as chats/search names it without "chats." (status,
// customer.email).
func isChatField(name string) bool {
	_, ok := chatField("chats." + name)
	return ok || name == "createdWith" || name == "department"
}

// isCustomerField reports whether name is a field of a customer a client
// could filter by (name, email, firstSeen).
func isCustomerField(name string) bool {
	_, ok := customerField("customers." + name)
	return ok
}

// isMessageField reports whether name is a field of a message a client
// could filter by.
func isMessageField(name string) bool {
	switch name {
	case "id", "type", "from", "agent", "read", "text", "edited", "createdAt", "updatedAt", "broadcastType":
		return true
	}
	return false
}

// filterWord reports whether name (in any letter case) is a word list APIs
// filter or sort with.
func filterWord(name string) bool {
	switch strings.ToLower(name) {
	case "filter", "filters", "where", "q", "query", "search", "comparison", "condition",
		"sort", "sortby", "sort_by", "order", "orderby", "order_by", "dir", "direction":
		return true
	}
	return false
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
	n, huge, ok = jsonbody.ParseInteger(s)
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

// readMessageOrder checks the sort and order of a chat's messages, which
// are always newest first: a sort of createdAt (or messages.createdAt) and
// an order of desc are taken, as is their absence; anything else is not a
// valid choice, rather than an order silently not kept.
func readMessageOrder(c echo.Context, p *problems) {
	if key, ok := readChoice(queryValue(c, "sort"), "sort", p); ok && key != "createdAt" && key != "messages.createdAt" {
		p.add("sort", msgChoice)
	}
	if s, ok := readChoice(queryValue(c, "order"), "order", p); ok && !strings.EqualFold(s, "desc") {
		p.add("order", msgChoice)
	}
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

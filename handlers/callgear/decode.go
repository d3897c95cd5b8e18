package callgear

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"switchboard/models"
)

// dateTimeLayout is CallGear's "YYYY-MM-DD hh:mm:ss".
const dateTimeLayout = "2006-01-02 15:04:05"

// object reads the members of one JSON object of a request's params. Each
// accessor takes one member, checks its JSON type and value, and records
// problems under the member's full name (as "chats[2].messages[0].source");
// unexpected then reports every member no accessor took, since CallGear
// refuses parameters a method does not take.
type object struct {
	m    map[string]any
	path string
	p    *problems
	used map[string]bool
}

// newObject returns a reader of m, whose members are named path.member (or
// member when path is empty), recording problems in p.
func newObject(m map[string]any, path string, p *problems) *object {
	return &object{m: m, path: path, p: p, used: make(map[string]bool, len(m))}
}

// join returns the name of the member key of the object named path.
func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// index returns the name of the element i of the array named path.
func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// name returns the full name of the member key.
func (o *object) name(key string) string { return join(o.path, key) }

// get returns the member's value, marking it taken. ok is false when the
// member is absent or null: CallGear treats null as not given.
func (o *object) get(key string) (v any, ok bool) {
	o.used[key] = true
	v, ok = o.m[key]
	return v, ok && v != nil
}

// skip marks members as taken without reading them (the access token, which
// the method checked first).
func (o *object) skip(keys ...string) {
	for _, k := range keys {
		o.used[k] = true
	}
}

// unexpected records unexpected_parameters for every member no accessor
// took, in name order.
func (o *object) unexpected() {
	var extra []string
	for k := range o.m {
		if !o.used[k] {
			extra = append(extra, k)
		}
	}
	slices.Sort(extra)
	for _, k := range extra {
		o.p.add(o.name(k), mUnexpected, nil, "Unexpected parameter %s", o.name(k))
	}
}

// str reads a string member. ok is false when it is absent or null (a
// problem when required), of another type, or holds a NUL character, which
// PostgreSQL cannot store.
func (o *object) str(key string, required bool) (s string, ok bool) {
	v, present := o.get(key)
	if !present {
		if required {
			o.p.missing(o.name(key))
		}
		return "", false
	}
	s, isString := v.(string)
	switch {
	case !isString:
		o.p.wrongType(o.name(key), v, "a string")
		return "", false
	case strings.ContainsRune(s, 0):
		o.p.invalid(o.name(key), nil, "must not contain NUL characters")
		return "", false
	}
	return s, true
}

// optText reads an optional string member as text to store, of at most max
// characters and, when oneLine, without control characters (see
// object.limit): "" when absent, null or invalid (the problem is recorded).
func (o *object) optText(key string, max int, oneLine bool) string {
	s, ok := o.str(key, false)
	if !ok || !o.limit(key, s, max, oneLine) {
		return ""
	}
	return s
}

// limit checks the string s of the member key: at most max characters and,
// when oneLine (a name, an address, an id), no control character (tab and
// line breaks included). It records invalid_parameter_value and returns
// false when s fails.
func (o *object) limit(key, s string, max int, oneLine bool) bool {
	return limitOf(s, o.name(key), max, oneLine, o.p)
}

// limitOf is object.limit for the value s of field.
func limitOf(s, field string, max int, oneLine bool, p *problems) bool {
	ok := true
	if oneLine && models.HasControl(s) && !strings.ContainsRune(s, 0) {
		// NUL has its own problem (object.str).
		p.invalid(field, s, "must not contain control characters")
		ok = false
	}
	if models.TooLong(s, max) {
		p.invalid(field, s, "must be at most %d characters, not %d", max, utf8.RuneCountInString(s))
		ok = false
	}
	return ok
}

// address checks the email address s of the member key: at most
// models.MaxEmailBytes bytes and no control character. It records
// invalid_parameter_value and returns false when s fails.
func (o *object) address(key, s string) bool {
	switch {
	case len(s) > models.MaxEmailBytes:
		o.p.invalid(o.name(key), s, "must be at most %d bytes, not %d", models.MaxEmailBytes, len(s))
		return false
	case models.HasControl(s) && !strings.ContainsRune(s, 0):
		o.p.invalid(o.name(key), s, "must not contain control characters")
		return false
	}
	return true
}

// id reads an id member: a JSON integer above 0. given says the member is
// present and not null, whatever its value; ok says n is the id. A string or
// other type is data_type_error, a fraction, zero or a negative number
// invalid_parameter_value, and an integer too large for 64 bits, which no
// row has, entity_not_found.
func (o *object) id(key string, required bool) (n int64, given, ok bool) {
	v, present := o.get(key)
	if !present {
		if required {
			o.p.missing(o.name(key))
		}
		return 0, false, false
	}
	n, ok = idOf(v, o.name(key), o.p)
	return n, true, ok
}

// idOf checks that v, the value of the field, is an id (see object.id) and
// returns it; ok is false after recording a problem.
func idOf(v any, field string, p *problems) (int64, bool) {
	num, isNum := v.(json.Number)
	if !isNum {
		p.wrongType(field, v, "a number")
		return 0, false
	}
	n, huge, isInt := parseInteger(string(num))
	switch {
	case !isInt || n <= 0:
		p.invalid(field, num, "must be a positive integer")
		return 0, false
	case huge:
		p.add(field, mEntityNotFound, num, "Entity not found: no %s %s", field, num)
		return 0, false
	}
	return n, true
}

// idPtr returns the id read by object.id as a pointer: nil unless ok.
func idPtr(n int64, ok bool) *int64 {
	if !ok {
		return nil
	}
	return &n
}

// optID reads an optional id member (see object.id): nil when absent, null
// or invalid.
func (o *object) optID(key string) *int64 {
	n, _, ok := o.id(key, false)
	return idPtr(n, ok)
}

// dateTime reads a date and time member, "YYYY-MM-DD hh:mm:ss" in loc. ok is
// false when it is absent or null (a problem when required), not a string
// (data_type_error), or not such a date and time (invalid_date_time).
func (o *object) dateTime(key string, required bool, loc *time.Location) (t time.Time, ok bool) {
	s, ok := o.str(key, required)
	if !ok {
		return time.Time{}, false
	}
	t, ok = parseDateTime(s, loc)
	if !ok {
		o.p.add(o.name(key), mInvalidDateTime, s, "Invalid date and time in parameter %s: want YYYY-MM-DD hh:mm:ss", o.name(key))
	}
	return t, ok
}

// parseDateTime reads s as "YYYY-MM-DD hh:mm:ss" in loc, with every digit
// written (Go's parser alone would take a one-digit hour), and returns the
// time in UTC. ok is false for any other text or a date that does not exist.
func parseDateTime(s string, loc *time.Location) (time.Time, bool) {
	if len(s) != len(dateTimeLayout) {
		return time.Time{}, false
	}
	for i := 0; i < len(s); i++ {
		want := dateTimeLayout[i]
		isDigit := s[i] >= '0' && s[i] <= '9'
		if (want >= '0' && want <= '9') != isDigit || (!isDigit && s[i] != want) {
			return time.Time{}, false
		}
	}
	t, err := time.ParseInLocation(dateTimeLayout, s, loc)
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}

// choice reads a string member that must be one of allowed. ok is false when
// it is absent or null (a problem when required), not a string, or another
// value (invalid_parameter_value).
func (o *object) choice(key string, required bool, allowed ...string) (string, bool) {
	s, ok := o.str(key, required)
	if !ok {
		return "", false
	}
	if !slices.Contains(allowed, s) {
		o.p.invalid(o.name(key), s, "must be one of %s", strings.Join(allowed, ", "))
		return "", false
	}
	return s, true
}

// extID reads an ext_id member: a string, or an integer number, which is
// taken as its decimal text. It returns nil when the member is absent, null
// or blank, or invalid (the problem is recorded).
func (o *object) extID(key string) *string {
	v, present := o.get(key)
	if !present {
		return nil
	}
	s, ok := extIDOf(v, o.name(key), o.p)
	if !ok || strings.TrimSpace(s) == "" {
		return nil
	}
	return &s
}

// extIDOf checks that v, the value of the field, is an ext_id (see
// object.extID): one line of at most models.MaxExtIDLen characters, or an
// integer. It returns its text.
func extIDOf(v any, field string, p *problems) (string, bool) {
	switch t := v.(type) {
	case string:
		if strings.ContainsRune(t, 0) {
			p.invalid(field, nil, "must not contain NUL characters")
			return "", false
		}
		if !limitOf(t, field, models.MaxExtIDLen, true, p) {
			return "", false
		}
		return t, true
	case json.Number:
		if _, _, isInt := parseInteger(string(t)); !isInt {
			p.invalid(field, t, "must be a string or an integer")
			return "", false
		}
		return string(t), true
	}
	p.wrongType(field, v, "a string or a number")
	return "", false
}

// array reads an array member. ok is false when it is absent or null (a
// problem when required) or of another type.
func (o *object) array(key string, required bool) ([]any, bool) {
	v, present := o.get(key)
	if !present {
		if required {
			o.p.missing(o.name(key))
		}
		return nil, false
	}
	a, isArray := v.([]any)
	if !isArray {
		o.p.wrongType(o.name(key), v, "an array")
		return nil, false
	}
	return a, true
}

// list reads a required array member of objects with between 1 and max
// elements. It returns the elements' readers, or ok=false after recording
// why not: absent, not an array, empty (invalid_parameter_value), or longer
// than max (data_limit_exceeded, and then the elements are not read at all).
// An element that is not an object is a data_type_error and has no reader.
func (o *object) list(key string, max int) (items []*object, ok bool) {
	a, ok := o.array(key, true)
	if !ok {
		return nil, false
	}
	name := o.name(key)
	switch {
	case len(a) == 0:
		o.p.invalid(name, nil, "must not be empty")
		return nil, false
	case len(a) > max:
		o.p.add(name, mDataLimitExceeded, len(a), "Data limit exceeded: %s has %d items, at most %d are allowed", name, len(a), max)
		return nil, false
	}
	items = make([]*object, len(a))
	ok = true
	for i, v := range a {
		m, isObj := v.(map[string]any)
		if !isObj {
			o.p.wrongType(index(name, i), v, "an object")
			ok = false
			continue
		}
		items[i] = newObject(m, index(name, i), o.p)
	}
	return items, ok
}

// parseInteger reads s as a decimal integer: an optional minus sign, then
// digits only. huge says it does not fit int64; n is then MaxInt64 or
// MinInt64. It returns ok=false for anything else (fractions, exponents,
// other signs, spaces).
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

package callgear

import (
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"

	"switchboard/handlers/jsonbody"
	"switchboard/models"
)

// dateTimeLayout is CallGear's "YYYY-MM-DD hh:mm:ss".
const dateTimeLayout = "2006-01-02 15:04:05"

// object reads the members of one JSON object of a request's params
// (jsonbody.Object) and words its problems as CallGear does (report), under
// each member's full name (as "chats[2].messages[0].source"); unexpected
// then reports every member no accessor took, since CallGear refuses
// parameters a method does not take.
type object struct {
	r *jsonbody.Object
	p *problems
}

// newObject returns a reader of m, the top-level params, recording
// problems in p.
func newObject(m map[string]any, p *problems) *object {
	return &object{r: jsonbody.NewObject(m, nil, p.report), p: p}
}

// report words a problem the reader found as CallGear's problem.
func (p *problems) report(f jsonbody.FieldError) {
	name := f.Path.Full()
	switch f.Kind {
	case jsonbody.Missing:
		p.missing(name)
	case jsonbody.WrongType:
		p.wrongType(name, f.Value, typeName(f.Want))
	case jsonbody.NotInteger, jsonbody.NotPositive:
		p.invalid(name, f.Value, "must be a positive integer")
	case jsonbody.HasNUL:
		p.invalid(name, nil, "must not contain NUL characters")
	case jsonbody.BadTime:
		p.add(name, mInvalidDateTime, f.Value, "Invalid date and time in parameter %s: want YYYY-MM-DD hh:mm:ss", name)
	case jsonbody.NotAllowed:
		p.invalid(name, f.Value, "must be one of %s", f.Want)
	case jsonbody.TooFew:
		p.invalid(name, nil, "must not be empty")
	case jsonbody.TooMany:
		p.add(name, mDataLimitExceeded, f.Value, "Data limit exceeded: %s has %d items, at most %s are allowed", name, f.Value, f.Want)
	case jsonbody.Unexpected:
		p.add(name, mUnexpected, nil, "Unexpected parameter %s", name)
	default:
		p.invalid(name, f.Value, "%s", f.Kind)
	}
}

// typeName returns a JSON type as CallGear's messages name it: "a string".
func typeName(t string) string {
	if t == "array" || t == "object" {
		return "an " + t
	}
	return "a " + t
}

// name returns the full name of the member key.
func (o *object) name(key string) string { return o.r.Name(key) }

// get returns the member's value, marking it taken. ok is false when the
// member is absent or null: CallGear treats null as not given.
func (o *object) get(key string) (v any, ok bool) { return o.r.Value(key) }

// skip marks members as taken without reading them (the access token, which
// the method checked first).
func (o *object) skip(keys ...string) { o.r.Skip(keys...) }

// unexpected records unexpected_parameters for every member no accessor
// took, in name order.
func (o *object) unexpected() { o.r.RefuseUnread() }

// str reads a string member. ok is false when it is absent or null (a
// problem when required), of another type, or holds a NUL character, which
// PostgreSQL cannot store.
func (o *object) str(key string, required bool) (s string, ok bool) {
	if required {
		return o.r.Text(key)
	}
	return o.r.OptionalText(key)
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
	given = o.r.Has(key)
	var id jsonbody.ID
	if required {
		id, ok = o.r.ID(key)
	} else {
		id, ok = o.r.OptionalID(key)
	}
	return id.N, given, ok && o.notHuge(o.name(key), id)
}

// idAt checks that v, the value at path, is an id (see object.id) and
// returns it; ok is false after recording a problem.
func (o *object) idAt(path jsonbody.Path, v any) (int64, bool) {
	id, ok := o.r.IDOf(path, v)
	return id.N, ok && o.notHuge(path.Full(), id)
}

// notHuge records entity_not_found for an id too large for 64 bits and
// returns false; it returns true for any other id.
func (o *object) notHuge(field string, id jsonbody.ID) bool {
	if id.Huge {
		o.p.add(field, mEntityNotFound, json.Number(id.Raw), "Entity not found: no %s %s", field, id.Raw)
		return false
	}
	return true
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
	return o.r.Time(key, dateTimeLayout, loc, required)
}

// parseDateTime reads s as "YYYY-MM-DD hh:mm:ss" in loc, with every digit
// written, and returns the time in UTC (see jsonbody.ParseTime).
func parseDateTime(s string, loc *time.Location) (time.Time, bool) {
	return jsonbody.ParseTime(s, dateTimeLayout, loc)
}

// choice reads a string member that must be one of allowed. ok is false when
// it is absent or null (a problem when required), not a string, or another
// value (invalid_parameter_value).
func (o *object) choice(key string, required bool, allowed ...string) (string, bool) {
	return o.r.Choice(key, required, allowed...)
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
		if _, _, isInt := jsonbody.ParseInteger(string(t)); !isInt {
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
	return o.r.Array(key, required)
}

// elem returns the reader of v, the element i of the array member key, or
// nil after recording data_type_error when it is not an object.
func (o *object) elem(key string, i int, v any) *object {
	e, ok := o.r.Element(key, i, v)
	if !ok {
		return nil
	}
	return &object{r: e, p: o.p}
}

// list reads a required array member of objects with between 1 and max
// elements. It returns the elements' readers, or ok=false after recording
// why not: absent, not an array, empty (invalid_parameter_value), or longer
// than max (data_limit_exceeded, and then the elements are not read at all).
// An element that is not an object is a data_type_error and has no reader.
func (o *object) list(key string, max int) (items []*object, ok bool) {
	objs, ok := o.r.Objects(key, true, 1, max)
	if objs == nil {
		return nil, ok
	}
	items = make([]*object, len(objs))
	for i, e := range objs {
		if e != nil {
			items[i] = &object{r: e, p: o.p}
		}
	}
	return items, ok
}

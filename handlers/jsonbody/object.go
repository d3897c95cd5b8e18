package jsonbody

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The kinds of a FieldError: what is wrong with one member a getter read.
const (
	// Missing is a required member that is absent or null.
	Missing Kind = iota + 100
	// WrongType is a member of another JSON type than the getter's; Want
	// names the type read ("string", "number", "boolean", "array",
	// "object").
	WrongType
	// NotInteger is a number with a fraction or an exponent where an
	// integer is read.
	NotInteger
	// NotPositive is an integer of 0 or below where an id is read.
	NotPositive
	// HasNUL is text holding a NUL character, which PostgreSQL cannot store.
	HasNUL
	// BadTime is a string that is not a time in the getter's layout (Want).
	BadTime
	// NotAllowed is a string that is none of the choices (Want, joined by
	// ", ").
	NotAllowed
	// TooFew is an array shorter than its minimum (Want), Value its length.
	TooFew
	// TooMany is an array longer than its maximum (Want), Value its length.
	TooMany
	// Unexpected is a member no getter read, reported by RefuseUnread.
	Unexpected
)

var fieldKindNames = map[Kind]string{
	Missing: "missing", WrongType: "wrong type", NotInteger: "not an integer", NotPositive: "not positive",
	HasNUL: "NUL character", BadTime: "not a time", NotAllowed: "not allowed", TooFew: "too few items",
	TooMany: "too many items", Unexpected: "unexpected",
}

// FieldError is one problem of one member of a request: its path, its kind,
// what the getter wanted (a JSON type, a layout, the choices, a bound) and
// the value found (a decoded JSON value, nil when there is none).
type FieldError struct {
	Path  Path
	Kind  Kind
	Want  string
	Value any
}

func (f FieldError) Error() string {
	msg := f.Path.Full() + ": " + f.Kind.String()
	if f.Want != "" {
		msg += " (want " + f.Want + ")"
	}
	return msg
}

// FieldErrors lists the problems the getters of one body found, in the order
// they were read.
type FieldErrors []FieldError

func (fe FieldErrors) Error() string {
	parts := make([]string, len(fe))
	for i, f := range fe {
		parts[i] = f.Error()
	}
	return "json body: " + strings.Join(parts, "; ")
}

// Report is how a dialect words a FieldError when a getter finds it: each
// dialect passes its own, so that the problems come out in its vendor's
// format and in the order they were read.
type Report func(FieldError)

// ErrEmpty says a body holds nothing but whitespace.
var ErrEmpty = errors.New("json body: empty")

// ErrNotObject says a body's top-level value is not an object.
var ErrNotObject = errors.New("json body: not an object")

// Parse reads data as one JSON object and returns its reader, whose getters
// word their problems through report. It returns ErrEmpty for a body of
// nothing but whitespace, a *SyntaxError when data is not JSON, an *Error
// when it holds invalid UTF-8 or duplicate keys (see Check), and
// ErrNotObject when its value is not an object, in that order.
func Parse(data []byte, report Report) (*Object, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, ErrEmpty
	}
	if err := Check(data); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		// Check refuses whatever the decoder refuses.
		return nil, &SyntaxError{msg: err.Error()}
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, ErrNotObject
	}
	return NewObject(m, nil, report), nil
}

// NewObject returns the reader of m, an object decoded by encoding/json
// with numbers as json.Number, at path; its getters word their problems
// through report (which may be nil).
func NewObject(m map[string]any, path Path, report Report) *Object {
	return &Object{m: m, path: path, used: make(map[string]bool, len(m)), shared: &shared{report: report}}
}

// Object reads the members of one JSON object. Each getter takes one
// member, marks it read, checks its type and value and, on a problem,
// records a FieldError and hands it to the Report; it never stops the
// others, so one answer can name every bad field. null is taken as absent.
type Object struct {
	m      map[string]any
	path   Path
	used   map[string]bool
	shared *shared
}

// shared is what an object and the objects inside it have in common.
type shared struct {
	report Report
	errs   FieldErrors
}

// Errors returns every problem the getters of this object, and of the
// objects read from it, found so far; nil when there is none.
func (o *Object) Errors() FieldErrors { return o.shared.errs }

// Err returns Errors as an error, or nil when there is none.
func (o *Object) Err() error {
	if len(o.shared.errs) == 0 {
		return nil
	}
	return o.shared.errs
}

// Path returns where the object is in its body.
func (o *Object) Path() Path { return o.path }

// At returns the path of the member key.
func (o *Object) At(key string) Path { return o.path.Member(key) }

// Name returns the path of the member key in full, as "chats[2].status".
func (o *Object) Name(key string) string { return o.At(key).Full() }

// Fail records a problem of the member key found by the dialect's own
// check, so that it is in Errors and is worded by the Report.
func (o *Object) Fail(key string, kind Kind, want string, value any) {
	o.fail(o.At(key), kind, want, value)
}

func (o *Object) fail(path Path, kind Kind, want string, value any) {
	f := FieldError{Path: path, Kind: kind, Want: want, Value: value}
	o.shared.errs = append(o.shared.errs, f)
	if o.shared.report != nil {
		o.shared.report(f)
	}
}

// Has reports whether the member key is given: present and not null. It
// does not mark it read.
func (o *Object) Has(key string) bool {
	v, ok := o.m[key]
	return ok && v != nil
}

// Peek returns the member's value without marking it read; ok is false when
// it is absent or null.
func (o *Object) Peek(key string) (v any, ok bool) {
	v, ok = o.m[key]
	return v, ok && v != nil
}

// Value returns the member's value as decoded (string, json.Number, bool,
// []any, map[string]any) and marks it read; ok is false when it is absent
// or null.
func (o *Object) Value(key string) (v any, ok bool) {
	o.used[key] = true
	return o.Peek(key)
}

// Keys returns the object's member names in order, null ones too, read
// or not.
func (o *Object) Keys() []string {
	keys := make([]string, 0, len(o.m))
	for k := range o.m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Skip marks members read without reading them (a token checked before).
func (o *Object) Skip(keys ...string) {
	for _, k := range keys {
		o.used[k] = true
	}
}

// RefuseUnread records Unexpected for every member no getter read, in key
// order: the strict mode of a dialect that refuses parameters a method does
// not take.
func (o *Object) RefuseUnread() {
	var extra []string
	for k := range o.m {
		if !o.used[k] {
			extra = append(extra, k)
		}
	}
	slices.Sort(extra)
	for _, k := range extra {
		o.fail(o.At(k), Unexpected, "", o.m[k])
	}
}

// value reads the member key: ok is false when it is absent or null, a
// Missing problem when required.
func (o *Object) value(key string, required bool) (any, bool) {
	v, ok := o.Value(key)
	if !ok && required {
		o.fail(o.At(key), Missing, "", nil)
	}
	return v, ok
}

// String reads a required string member. ok is false after a problem:
// Missing, or WrongType.
func (o *Object) String(key string) (s string, ok bool) { return o.str(key, true, false) }

// OptionalString reads an optional string member: ok is false when it is
// absent or null, or after a WrongType problem.
func (o *Object) OptionalString(key string) (s string, ok bool) { return o.str(key, false, false) }

// Text is String refusing a NUL character too (HasNUL).
func (o *Object) Text(key string) (s string, ok bool) { return o.str(key, true, true) }

// OptionalText is OptionalString refusing a NUL character too (HasNUL).
func (o *Object) OptionalText(key string) (s string, ok bool) { return o.str(key, false, true) }

func (o *Object) str(key string, required, text bool) (string, bool) {
	v, ok := o.value(key, required)
	if !ok {
		return "", false
	}
	s, isString := v.(string)
	switch {
	case !isString:
		o.fail(o.At(key), WrongType, "string", v)
		return "", false
	case text && strings.IndexByte(s, 0) >= 0:
		o.fail(o.At(key), HasNUL, "", s)
		return "", false
	}
	return s, true
}

// Bool reads a boolean member, required or not: ok is false when it is
// absent or null (Missing when required) or of another type (WrongType).
func (o *Object) Bool(key string, required bool) (b, ok bool) {
	v, ok := o.value(key, required)
	if !ok {
		return false, false
	}
	b, isBool := v.(bool)
	if !isBool {
		o.fail(o.At(key), WrongType, "boolean", v)
	}
	return b, isBool
}

// Int64 reads an integer member, required or not: ok is false when it is
// absent or null (Missing when required), not a number (WrongType), a
// fraction or exponent (NotInteger) or beyond 64 bits (NotInteger, with
// Want "int64").
func (o *Object) Int64(key string, required bool) (n int64, ok bool) {
	v, ok := o.value(key, required)
	if !ok {
		return 0, false
	}
	num, isNum := v.(json.Number)
	if !isNum {
		o.fail(o.At(key), WrongType, "number", v)
		return 0, false
	}
	n, huge, isInt := ParseInteger(string(num))
	switch {
	case !isInt:
		o.fail(o.At(key), NotInteger, "", num)
		return 0, false
	case huge:
		o.fail(o.At(key), NotInteger, "int64", num)
		return 0, false
	}
	return n, true
}

// ID is an id read from a body: N when it fits an int64, Raw as written.
type ID struct {
	N   int64
	Raw string
	// Huge says it is a positive integer too large for int64: no row has
	// it, which the dialect words as it likes.
	Huge bool
}

// ID reads a required id member: a JSON integer above 0. ok is false after
// a problem: Missing, WrongType (Want "number"), NotInteger or NotPositive.
func (o *Object) ID(key string) (ID, bool) { return o.id(key, true) }

// OptionalID is ID for an optional member: ok is false as well when it is
// absent or null.
func (o *Object) OptionalID(key string) (ID, bool) { return o.id(key, false) }

func (o *Object) id(key string, required bool) (ID, bool) {
	v, ok := o.value(key, required)
	if !ok {
		return ID{}, false
	}
	return o.idOf(o.At(key), v)
}

// IDOf checks v, the value at path (an element of an array the dialect
// reads itself), as an id (see Object.ID).
func (o *Object) IDOf(path Path, v any) (ID, bool) { return o.idOf(path, v) }

func (o *Object) idOf(path Path, v any) (ID, bool) {
	num, isNum := v.(json.Number)
	if !isNum {
		o.fail(path, WrongType, "number", v)
		return ID{}, false
	}
	n, huge, isInt := ParseInteger(string(num))
	switch {
	case !isInt:
		o.fail(path, NotInteger, "", num)
		return ID{}, false
	case n <= 0:
		o.fail(path, NotPositive, "", num)
		return ID{}, false
	}
	return ID{N: n, Raw: string(num), Huge: huge}, true
}

// Time reads a time member written in layout, a layout of digits and
// separators only ("2006-01-02 15:04:05") in loc, required or not. ok is
// false when it is absent or null (Missing when required), not a string
// (WrongType), holds a NUL character (HasNUL) or is not such a time
// (BadTime, Want the layout). The time is returned in UTC.
func (o *Object) Time(key, layout string, loc *time.Location, required bool) (time.Time, bool) {
	s, ok := o.str(key, required, true)
	if !ok {
		return time.Time{}, false
	}
	t, ok := ParseTime(s, layout, loc)
	if !ok {
		o.fail(o.At(key), BadTime, layout, s)
	}
	return t, ok
}

// ParseTime reads s as layout in loc with every digit written (Go's parser
// alone would take a one-digit hour for "15") and returns it in UTC. ok is
// false for any other text or a date that does not exist.
func ParseTime(s, layout string, loc *time.Location) (time.Time, bool) {
	if len(s) != len(layout) {
		return time.Time{}, false
	}
	for i := 0; i < len(s); i++ {
		want := layout[i]
		isDigit := s[i] >= '0' && s[i] <= '9'
		if (want >= '0' && want <= '9') != isDigit || (!isDigit && s[i] != want) {
			return time.Time{}, false
		}
	}
	t, err := time.ParseInLocation(layout, s, loc)
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}

// Choice reads a string member that must be one of allowed, required or
// not: ok is false when it is absent or null (Missing when required), not a
// string (WrongType), holds a NUL character (HasNUL) or is another value
// (NotAllowed).
func (o *Object) Choice(key string, required bool, allowed ...string) (string, bool) {
	s, ok := o.str(key, required, true)
	if !ok {
		return "", false
	}
	if !slices.Contains(allowed, s) {
		o.fail(o.At(key), NotAllowed, strings.Join(allowed, ", "), s)
		return "", false
	}
	return s, true
}

// Array reads an array member, required or not: ok is false when it is
// absent or null (Missing when required) or of another type (WrongType).
func (o *Object) Array(key string, required bool) ([]any, bool) {
	v, ok := o.value(key, required)
	if !ok {
		return nil, false
	}
	a, isArray := v.([]any)
	if !isArray {
		o.fail(o.At(key), WrongType, "array", v)
		return nil, false
	}
	return a, true
}

// StringArray reads an array of strings, required or not (see Array). Each
// element that is not a string is a WrongType of its own and is left out.
func (o *Object) StringArray(key string, required bool) ([]string, bool) {
	a, ok := o.Array(key, required)
	if !ok {
		return nil, false
	}
	out := make([]string, 0, len(a))
	for i, v := range a {
		s, isString := v.(string)
		if !isString {
			o.fail(o.At(key).Element(i), WrongType, "string", v)
			ok = false
			continue
		}
		out = append(out, s)
	}
	return out, ok
}

// Object reads an object member, required or not: ok is false when it is
// absent or null (Missing when required) or of another type (WrongType).
// Its reader shares this one's Report and Errors.
func (o *Object) Object(key string, required bool) (*Object, bool) {
	v, ok := o.value(key, required)
	if !ok {
		return nil, false
	}
	m, isObject := v.(map[string]any)
	if !isObject {
		o.fail(o.At(key), WrongType, "object", v)
		return nil, false
	}
	return o.child(m, o.At(key)), true
}

// Objects reads an array of objects, required or not, of at least min and
// at most max elements (max < 0: no bound). ok is false when it is absent
// or null (Missing when required), not an array (WrongType), shorter than
// min (TooFew) or longer than max (TooMany; its elements are then not read
// at all). An element that is not an object is a WrongType and has a nil
// reader, and ok is then false too.
func (o *Object) Objects(key string, required bool, min, max int) ([]*Object, bool) {
	a, ok := o.Array(key, required)
	if !ok {
		return nil, false
	}
	switch {
	case len(a) < min:
		o.fail(o.At(key), TooFew, strconv.Itoa(min), len(a))
		return nil, false
	case max >= 0 && len(a) > max:
		o.fail(o.At(key), TooMany, strconv.Itoa(max), len(a))
		return nil, false
	}
	items := make([]*Object, len(a))
	for i, v := range a {
		m, isObject := v.(map[string]any)
		if !isObject {
			o.fail(o.At(key).Element(i), WrongType, "object", v)
			ok = false
			continue
		}
		items[i] = o.child(m, o.At(key).Element(i))
	}
	return items, ok
}

// Element reads v, the element i of the array member key that the dialect
// walks itself, as an object: ok is false after a WrongType. Its reader
// shares this one's Report and Errors.
func (o *Object) Element(key string, i int, v any) (*Object, bool) {
	path := o.At(key).Element(i)
	m, isObject := v.(map[string]any)
	if !isObject {
		o.fail(path, WrongType, "object", v)
		return nil, false
	}
	return o.child(m, path), true
}

func (o *Object) child(m map[string]any, path Path) *Object {
	return &Object{m: m, path: path, used: make(map[string]bool, len(m)), shared: o.shared}
}

// Member returns the path of the member key inside p.
func (p Path) Member(key string) Path { return append(slices.Clip(p), Member(key)) }

// Element returns the path of the element i of the array at p.
func (p Path) Element(i int) Path { return append(slices.Clip(p), Element(i)) }

// ParseInteger reads s as a decimal integer: an optional minus sign, then
// digits only. huge says it does not fit int64; n is then MaxInt64 or
// MinInt64. It returns ok=false for anything else (fractions, exponents,
// other signs, spaces).
func ParseInteger(s string) (n int64, huge, ok bool) {
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

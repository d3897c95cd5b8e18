package jsonbody_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"switchboard/handlers/jsonbody"
)

// fieldError is a FieldError as the tests compare them: the path in words.
type fieldError struct {
	Path  string
	Kind  jsonbody.Kind
	Want  string
	Value any
}

// fieldErrorsOf returns fe with each path in words.
func fieldErrorsOf(fe jsonbody.FieldErrors) []fieldError {
	var out []fieldError
	for _, f := range fe {
		out = append(out, fieldError{f.Path.Full(), f.Kind, f.Want, f.Value})
	}
	return out
}

// MustParse returns the reader of body, failing tb when Parse refuses it,
// and the FieldErrors its Report was handed, in order.
func MustParse(tb testing.TB, body string) (*jsonbody.Object, *jsonbody.FieldErrors) {
	tb.Helper()
	reported := new(jsonbody.FieldErrors)
	o, err := jsonbody.Parse([]byte(body), func(f jsonbody.FieldError) { *reported = append(*reported, f) })
	if err != nil {
		tb.Fatalf("Parse(%q) = %v", body, err)
	}
	return o, reported
}

func TestParse_Errors(t *testing.T) {
	tests := []struct {
		name string
		body string
		want func(error) bool
	}{
		{"empty", "", func(err error) bool { return errors.Is(err, jsonbody.ErrEmpty) }},
		{"whitespace", " \n\t", func(err error) bool { return errors.Is(err, jsonbody.ErrEmpty) }},
		{"malformed", `{"a":`, func(err error) bool { return errors.As(err, new(*jsonbody.SyntaxError)) }},
		{"trailing data", `{} {}`, func(err error) bool { return errors.As(err, new(*jsonbody.SyntaxError)) }},
		{"duplicate key", `{"a":1,"a":2}`, func(err error) bool { return errors.As(err, new(*jsonbody.Error)) }},
		{"invalid UTF-8", "{\"a\":\"\xff\"}", func(err error) bool { return errors.As(err, new(*jsonbody.Error)) }},
		{"duplicate key in an array", `[{"a":1,"a":2}]`, func(err error) bool { return errors.As(err, new(*jsonbody.Error)) }},
		{"array", `[]`, func(err error) bool { return errors.Is(err, jsonbody.ErrNotObject) }},
		{"null", `null`, func(err error) bool { return errors.Is(err, jsonbody.ErrNotObject) }},
		{"string", `"x"`, func(err error) bool { return errors.Is(err, jsonbody.ErrNotObject) }},
		{"OK", ` {"a":1} `, func(err error) bool { return err == nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := jsonbody.Parse([]byte(tt.body), nil)
			if !tt.want(err) {
				t.Fatalf("Parse(%q) = %v (%T)", tt.body, err, err)
			}
			if (err == nil) != (o != nil) {
				t.Errorf("Parse(%q) = %v, %v: want a reader exactly when there is no error", tt.body, o, err)
			}
		})
	}
}

func TestObject_Getters(t *testing.T) {
	const body = `{"s":"hi","blank":"","nul":"a\u0000b","n":42,"neg":-3,"zero":0,"frac":1.5,"exp":1e3,
		"huge":99999999999999999999,"b":true,"null":null,"arr":[1,"x"],"strs":["a","b"],"mixed":["a",2],
		"obj":{"k":"v"},"objs":[{"k":1},{"k":2}],"badobjs":[{"k":1},3],"t":"2024-03-05 14:30:00","badt":"2024-03-05 4:30:00"}`
	type result struct {
		value any
		ok    bool
	}
	tests := []struct {
		name string
		read func(o *jsonbody.Object) result
		want result
		errs []fieldError
	}{
		{"String", func(o *jsonbody.Object) result { s, ok := o.String("s"); return result{s, ok} }, result{"hi", true}, nil},
		{"String blank", func(o *jsonbody.Object) result { s, ok := o.String("blank"); return result{s, ok} }, result{"", true}, nil},
		{"String missing", func(o *jsonbody.Object) result { s, ok := o.String("absent"); return result{s, ok} },
			result{"", false}, []fieldError{{"absent", jsonbody.Missing, "", nil}}},
		{"String null", func(o *jsonbody.Object) result { s, ok := o.String("null"); return result{s, ok} },
			result{"", false}, []fieldError{{"null", jsonbody.Missing, "", nil}}},
		{"String wrong type", func(o *jsonbody.Object) result { s, ok := o.String("n"); return result{s, ok} },
			result{"", false}, []fieldError{{"n", jsonbody.WrongType, "string", json.Number("42")}}},
		{"String keeps NUL", func(o *jsonbody.Object) result { s, ok := o.String("nul"); return result{s, ok} }, result{"a\x00b", true}, nil},
		{"OptionalString absent", func(o *jsonbody.Object) result { s, ok := o.OptionalString("absent"); return result{s, ok} }, result{"", false}, nil},
		{"OptionalString wrong type", func(o *jsonbody.Object) result { s, ok := o.OptionalString("b"); return result{s, ok} },
			result{"", false}, []fieldError{{"b", jsonbody.WrongType, "string", true}}},
		{"Text refuses NUL", func(o *jsonbody.Object) result { s, ok := o.Text("nul"); return result{s, ok} },
			result{"", false}, []fieldError{{"nul", jsonbody.HasNUL, "", "a\x00b"}}},
		{"OptionalText absent", func(o *jsonbody.Object) result { s, ok := o.OptionalText("null"); return result{s, ok} }, result{"", false}, nil},
		{"Bool", func(o *jsonbody.Object) result { b, ok := o.Bool("b", true); return result{b, ok} }, result{true, true}, nil},
		{"Bool wrong type", func(o *jsonbody.Object) result { b, ok := o.Bool("s", false); return result{b, ok} },
			result{false, false}, []fieldError{{"s", jsonbody.WrongType, "boolean", "hi"}}},
		{"Int64", func(o *jsonbody.Object) result { n, ok := o.Int64("neg", true); return result{n, ok} }, result{int64(-3), true}, nil},
		{"Int64 fraction", func(o *jsonbody.Object) result { n, ok := o.Int64("frac", true); return result{n, ok} },
			result{int64(0), false}, []fieldError{{"frac", jsonbody.NotInteger, "", json.Number("1.5")}}},
		{"Int64 huge", func(o *jsonbody.Object) result { n, ok := o.Int64("huge", true); return result{n, ok} },
			result{int64(0), false}, []fieldError{{"huge", jsonbody.NotInteger, "int64", json.Number("99999999999999999999")}}},
		{"Int64 optional absent", func(o *jsonbody.Object) result { n, ok := o.Int64("absent", false); return result{n, ok} }, result{int64(0), false}, nil},
		{"ID", func(o *jsonbody.Object) result { id, ok := o.ID("n"); return result{id, ok} }, result{jsonbody.ID{N: 42, Raw: "42"}, true}, nil},
		{"ID huge", func(o *jsonbody.Object) result { id, ok := o.ID("huge"); return result{id, ok} },
			result{jsonbody.ID{N: math.MaxInt64, Raw: "99999999999999999999", Huge: true}, true}, nil},
		{"ID zero", func(o *jsonbody.Object) result { id, ok := o.ID("zero"); return result{id, ok} },
			result{jsonbody.ID{}, false}, []fieldError{{"zero", jsonbody.NotPositive, "", json.Number("0")}}},
		{"ID exponent", func(o *jsonbody.Object) result { id, ok := o.ID("exp"); return result{id, ok} },
			result{jsonbody.ID{}, false}, []fieldError{{"exp", jsonbody.NotInteger, "", json.Number("1e3")}}},
		{"ID string", func(o *jsonbody.Object) result { id, ok := o.ID("s"); return result{id, ok} },
			result{jsonbody.ID{}, false}, []fieldError{{"s", jsonbody.WrongType, "number", "hi"}}},
		{"OptionalID absent", func(o *jsonbody.Object) result { id, ok := o.OptionalID("absent"); return result{id, ok} }, result{jsonbody.ID{}, false}, nil},
		{"Time", func(o *jsonbody.Object) result {
			tm, ok := o.Time("t", "2006-01-02 15:04:05", time.UTC, true)
			return result{tm, ok}
		}, result{time.Date(2024, 3, 5, 14, 30, 0, 0, time.UTC), true}, nil},
		{"Time one-digit hour", func(o *jsonbody.Object) result {
			tm, ok := o.Time("badt", "2006-01-02 15:04:05", time.UTC, true)
			return result{tm, ok}
		}, result{time.Time{}, false}, []fieldError{{"badt", jsonbody.BadTime, "2006-01-02 15:04:05", "2024-03-05 4:30:00"}}},
		{"Time NUL", func(o *jsonbody.Object) result {
			tm, ok := o.Time("nul", "2006-01-02 15:04:05", time.UTC, true)
			return result{tm, ok}
		}, result{time.Time{}, false}, []fieldError{{"nul", jsonbody.HasNUL, "", "a\x00b"}}},
		{"Choice", func(o *jsonbody.Object) result { s, ok := o.Choice("s", true, "hi", "bye"); return result{s, ok} }, result{"hi", true}, nil},
		{"Choice not allowed", func(o *jsonbody.Object) result { s, ok := o.Choice("s", true, "a", "b"); return result{s, ok} },
			result{"", false}, []fieldError{{"s", jsonbody.NotAllowed, "a, b", "hi"}}},
		{"Array", func(o *jsonbody.Object) result { a, ok := o.Array("arr", true); return result{len(a), ok} }, result{2, true}, nil},
		{"Array wrong type", func(o *jsonbody.Object) result { a, ok := o.Array("obj", true); return result{len(a), ok} },
			result{0, false}, []fieldError{{"obj", jsonbody.WrongType, "array", map[string]any{"k": "v"}}}},
		{"StringArray", func(o *jsonbody.Object) result {
			a, ok := o.StringArray("strs", true)
			return result{strings.Join(a, ","), ok}
		}, result{"a,b", true}, nil},
		{"StringArray element", func(o *jsonbody.Object) result {
			a, ok := o.StringArray("mixed", true)
			return result{strings.Join(a, ","), ok}
		},
			result{"a", false}, []fieldError{{"mixed[1]", jsonbody.WrongType, "string", json.Number("2")}}},
		{"Object member path", func(o *jsonbody.Object) result {
			c, ok := o.Object("obj", true)
			if !ok {
				return result{nil, false}
			}
			n, _ := c.Int64("k", true)
			return result{n, ok}
		}, result{int64(0), true}, []fieldError{{"obj.k", jsonbody.WrongType, "number", "v"}}},
		{"Objects", func(o *jsonbody.Object) result {
			items, ok := o.Objects("objs", true, 1, 2)
			var sum int64
			for _, it := range items {
				n, _ := it.Int64("k", true)
				sum += n
			}
			return result{sum, ok}
		}, result{int64(3), true}, nil},
		{"Objects element not an object", func(o *jsonbody.Object) result {
			items, ok := o.Objects("badobjs", true, 0, -1)
			return result{len(items), ok}
		}, result{2, false}, []fieldError{{"badobjs[1]", jsonbody.WrongType, "object", json.Number("3")}}},
		{"Objects too many", func(o *jsonbody.Object) result {
			items, ok := o.Objects("objs", true, 0, 1)
			return result{len(items), ok}
		},
			result{0, false}, []fieldError{{"objs", jsonbody.TooMany, "1", 2}}},
		{"Objects too few", func(o *jsonbody.Object) result {
			items, ok := o.Objects("objs", true, 3, -1)
			return result{len(items), ok}
		},
			result{0, false}, []fieldError{{"objs", jsonbody.TooFew, "3", 2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, reported := MustParse(t, body)
			got := tt.read(o)
			if gt, ok := got.value.(time.Time); ok {
				if !gt.Equal(tt.want.value.(time.Time)) || got.ok != tt.want.ok {
					t.Errorf("got %v, %v; want %v, %v", got.value, got.ok, tt.want.value, tt.want.ok)
				}
			} else if !equalJSON(got.value, tt.want.value) || got.ok != tt.want.ok {
				t.Errorf("got %#v, %v; want %#v, %v", got.value, got.ok, tt.want.value, tt.want.ok)
			}
			if errs := fieldErrorsOf(o.Errors()); !equalJSON(errs, tt.errs) {
				t.Errorf("Errors() = %+v, want %+v", errs, tt.errs)
			}
			if rep := fieldErrorsOf(*reported); !equalJSON(rep, tt.errs) {
				t.Errorf("reported %+v, want %+v", rep, tt.errs)
			}
			if (o.Err() == nil) != (len(tt.errs) == 0) {
				t.Errorf("Err() = %v with %d errors", o.Err(), len(tt.errs))
			}
		})
	}
}

// equalJSON reports whether a and b are deeply equal, comparing nil and
// empty slices alike.
func equalJSON(a, b any) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	if errA != nil || errB != nil {
		return false
	}
	return bytes.Equal(ja, jb) || string(ja) == "null" && string(jb) == "[]" || string(ja) == "[]" && string(jb) == "null"
}

func TestObject_RefuseUnread(t *testing.T) {
	tests := []struct {
		name string
		body string
		read func(o *jsonbody.Object)
		want []string
	}{
		{"all read", `{"a":1,"b":2}`, func(o *jsonbody.Object) { o.Int64("a", true); o.Skip("b") }, nil},
		{"unread in key order, null too", `{"z":1,"a":null,"m":2}`, func(o *jsonbody.Object) { o.Int64("m", true) }, []string{"a", "z"}},
		{"absent members read are not refused", `{"x":1}`, func(o *jsonbody.Object) { o.String("y"); o.Value("x") }, nil},
		{"nested, with its path", `{"list":[{"k":1,"extra":2}]}`, func(o *jsonbody.Object) {
			items, _ := o.Objects("list", true, 0, -1)
			items[0].Int64("k", true)
			items[0].RefuseUnread()
		}, []string{"list[0].extra"}},
		{"keys shown in full", `{"` + strings.Repeat("k", 100) + `":1}`, func(o *jsonbody.Object) {}, []string{strings.Repeat("k", 100)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, _ := MustParse(t, tt.body)
			tt.read(o)
			o.RefuseUnread()
			var got []string
			for _, f := range o.Errors() {
				if f.Kind == jsonbody.Unexpected {
					got = append(got, f.Path.Full())
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("unexpected = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestObject_ReportOrder(t *testing.T) {
	o, reported := MustParse(t, `{"b":"x","list":[{"t":1},{"t":"ok"},7]}`)
	o.ID("a")
	o.ID("b")
	items, _ := o.Objects("list", true, 0, -1)
	for _, it := range items {
		if it != nil {
			it.String("t")
		}
	}
	o.Fail("c", jsonbody.Missing, "", nil)
	want := []string{"a: missing", "b: wrong type (want number)", "list[2]: wrong type (want object)", "list[0].t: wrong type (want string)", "c: missing"}
	var got []string
	for _, f := range *reported {
		got = append(got, f.Error())
	}
	if !slices.Equal(got, want) {
		t.Errorf("reported\n %q\nwant\n %q", got, want)
	}
	if !strings.Contains(o.Err().Error(), "list[0].t: wrong type") {
		t.Errorf("Err() = %v", o.Err())
	}
}

func TestParseInteger(t *testing.T) {
	tests := []struct {
		in       string
		n        int64
		huge, ok bool
	}{
		{"0", 0, false, true},
		{"42", 42, false, true},
		{"-7", -7, false, true},
		{"9223372036854775807", math.MaxInt64, false, true},
		{"9223372036854775808", math.MaxInt64, true, true},
		{"-9223372036854775809", math.MinInt64, true, true},
		{"", 0, false, false},
		{"-", 0, false, false},
		{"+1", 0, false, false},
		{"1.0", 0, false, false},
		{"1e3", 0, false, false},
		{" 1", 0, false, false},
		{"--1", 0, false, false},
		{"١", 0, false, false}, // an Arabic-Indic digit
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			n, huge, ok := jsonbody.ParseInteger(tt.in)
			if n != tt.n || huge != tt.huge || ok != tt.ok {
				t.Errorf("ParseInteger(%q) = %d, %v, %v; want %d, %v, %v", tt.in, n, huge, ok, tt.n, tt.huge, tt.ok)
			}
		})
	}
}

// FuzzObject parses fuzzed bodies and reads every member with every getter.
// It fails when Parse takes a body encoding/json would not decode to an
// object or refuses one it would (outside the duplicate-key and UTF-8
// rules), when a getter's value differs from encoding/json's, when the
// Report is not handed exactly Errors in order, or on a path outside the
// object.
func FuzzObject(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"a":1}`, `{"a":"x","b":[1,2,{"c":null}],"d":{"e":true}}`, `{"a":1e3,"b":-0,"c":99999999999999999999}`,
		`{"a":"a\u0000b","t":"2024-03-05 14:30:00"}`, `{"a":1,"a":2}`, "{\"a\":\"\xff\"}", `[]`, `null`, `{"a":`, ``,
		`{"list":[{"k":1},2,{"k":"v"}]}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var reported jsonbody.FieldErrors
		o, err := jsonbody.Parse([]byte(body), func(fe jsonbody.FieldError) { reported = append(reported, fe) })
		var v any
		dec := json.NewDecoder(strings.NewReader(body))
		dec.UseNumber()
		decErr := dec.Decode(&v)
		m, isObject := v.(map[string]any)
		switch {
		case err == nil && (!json.Valid([]byte(body)) || !isObject):
			t.Fatalf("Parse took %q, which is not a JSON object", body)
		case err != nil && json.Valid([]byte(body)) && decErr == nil && isObject && jsonbody.Check([]byte(body)) == nil:
			t.Fatalf("Parse(%q) = %v for a clean object", body, err)
		case err != nil:
			return
		}
		for _, key := range o.Keys() {
			if s, ok := o.String(key); ok && s != m[key] {
				t.Errorf("String(%q) = %q, want %v", key, s, m[key])
			}
			o.Text(key)
			o.Bool(key, true)
			if n, ok := o.Int64(key, false); ok {
				if want, huge, _ := jsonbody.ParseInteger(string(m[key].(json.Number))); huge || want != n {
					t.Errorf("Int64(%q) = %d, want %v", key, n, m[key])
				}
			}
			if id, ok := o.ID(key); ok && (id.Raw != string(m[key].(json.Number)) || id.N <= 0) {
				t.Errorf("ID(%q) = %+v, want %v", key, id, m[key])
			}
			o.Time(key, "2006-01-02 15:04:05", time.UTC, false)
			o.Choice(key, false, "a", "b")
			o.StringArray(key, false)
			if items, ok := o.Objects(key, false, 0, -1); ok {
				for _, it := range items {
					it.String("k")
					it.RefuseUnread()
				}
			}
			if c, ok := o.Object(key, false); ok {
				c.ID("k")
				c.RefuseUnread()
			}
		}
		o.String("\x00absent")
		o.RefuseUnread()
		if !equalJSON(fieldErrorsOf(reported), fieldErrorsOf(o.Errors())) {
			t.Fatalf("reported %v, Errors %v", reported, o.Errors())
		}
		for _, fe := range o.Errors() {
			if len(fe.Path) == 0 || fe.Path[0].InArray {
				t.Fatalf("path %q of %v is not inside the object", fe.Path.Full(), fe)
			}
			if _, ok := m[fe.Path[0].Key]; !ok && fe.Path[0].Key != "\x00absent" {
				t.Fatalf("path %q names no member", fe.Path.Full())
			}
		}
	})
}

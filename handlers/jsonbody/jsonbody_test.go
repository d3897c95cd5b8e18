package jsonbody_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"

	"switchboard/handlers/jsonbody"
)

// found is a problem as the tests compare them: the path in words and the kind.
type found struct {
	path string
	kind jsonbody.Kind
}

func (f found) String() string { return fmt.Sprintf("%q %s", f.path, f.kind) }

// problemsOf returns the problems err lists, failing on a syntax error.
func problemsOf(t *testing.T, err error) []found {
	t.Helper()
	if err == nil {
		return nil
	}
	var e *jsonbody.Error
	if !errors.As(err, &e) {
		t.Fatalf("Check = %v (%T), want nil or an *Error", err, err)
	}
	out := make([]found, len(e.Problems))
	for i, p := range e.Problems {
		out[i] = found{p.Path.String(), p.Kind}
	}
	return out
}

func TestCheck_Problems(t *testing.T) {
	const (
		utf8Bad = jsonbody.InvalidUTF8
		dup     = jsonbody.DuplicateKey
	)
	tests := []struct {
		name string
		body string
		want []found
	}{
		{"clean object", `{"chat":1,"text":"héllo ✓","agent":null,"a":[true,false,1.5e3,{}]}`, nil},
		{"clean scalars", ` "x" `, nil},
		{"a surrogate pair", `{"t":"\ud83d\ude00"}`, nil},
		{"an escaped replacement character", `{"t":"\ufffd \uFFFD �"}`, nil},
		{"the same key in sibling objects", `[{"a":1},{"a":2}]`, nil},
		{"the same key at two depths", `{"a":{"a":1}}`, nil},
		{"keys differing in case", `{"From":"x","from":"y"}`, nil},

		{"duplicate key", `{"a":1,"a":2}`, []found{{"a", dup}}},
		{"duplicate key thrice", `{"a":1,"a":2,"a":3}`, []found{{"a", dup}, {"a", dup}}},
		{"duplicate key nested in an array", `{"messages":[{"text":"x"},{"text":"y","type":"m","text":"z"}]}`,
			[]found{{"messages[1].text", dup}}},
		{"duplicate key written with an escape", `{"caseId":1,"\u0063aseId":2}`, []found{{"caseId", dup}}},
		{"duplicate object-valued key", `{"data":{"to":["a"]},"data":{"to":["b"]}}`, []found{{"data", dup}}},
		{"duplicate among many keys", manyKeys(40, 33), []found{{"k33", dup}}},

		{"invalid UTF-8 in a value", "{\"messages\":[{\"text\":\"a\xffb\"}]}", []found{{"messages[0].text", utf8Bad}}},
		{"invalid UTF-8 in a top-level string", "\"\xc3\"", []found{{"", utf8Bad}}},
		{"truncated sequence", "{\"t\":\"\xe2\x82\"}", []found{{"t", utf8Bad}}},
		{"overlong encoding", "{\"t\":\"\xc0\xaf\"}", []found{{"t", utf8Bad}}},
		{"encoded surrogate", "{\"t\":\"\xed\xa0\x80\"}", []found{{"t", utf8Bad}}},
		{"lone high surrogate escape", `{"t":"a\ud800b"}`, []found{{"t", utf8Bad}}},
		{"lone low surrogate escape", `{"t":"\udc00"}`, []found{{"t", utf8Bad}}},
		{"high surrogate before another escape", `{"t":"\ud800\u0041"}`, []found{{"t", utf8Bad}}},
		{"high surrogate at the end", `["\ud83d"]`, []found{{"[0]", utf8Bad}}},
		{"invalid UTF-8 in a key", "{\"a\xff\":1}", []found{{"a\uFFFD", utf8Bad}}},
		{"invalid keys that decode alike", "{\"a\xff\":1,\"a\xfe\":2}",
			[]found{{"a\uFFFD", utf8Bad}, {"a\uFFFD", utf8Bad}, {"a\uFFFD", dup}}},
		{"every problem, in order", "{\"a\":\"\xff\",\"b\":[1,\"\xff\"],\"a\":1,\"c\":{\"d\":\"\\udfff\"}}",
			[]found{{"a", utf8Bad}, {"b[1]", utf8Bad}, {"a", dup}, {"c.d", utf8Bad}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := problemsOf(t, jsonbody.Check([]byte(tt.body)))
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("problems\n got: %v\nwant: %v", got, tt.want)
			}
		})
	}
}

// manyKeys returns an object with n keys k0, k1, ..., then k<dup> again.
func manyKeys(n, dup int) string {
	var b strings.Builder
	b.WriteByte('{')
	for i := range n {
		fmt.Fprintf(&b, `"k%d":%d,`, i, i)
	}
	fmt.Fprintf(&b, `"k%d":0}`, dup)
	return b.String()
}

func TestCheck_Syntax(t *testing.T) {
	tests := []struct {
		name string
		body string
	}{
		{"empty", ``},
		{"blank", " \n\t"},
		{"unclosed object", `{"a":1`},
		{"unclosed string", `{"a":"x`},
		{"missing value", `{"a":}`},
		{"missing colon", `{"a" 1}`},
		{"trailing comma", `[1,]`},
		{"trailing comma in an object", `{"a":1,}`},
		{"key not a string", `{a:1}`},
		{"leading zero", `01`},
		{"bare minus", `-`},
		{"no fraction digits", `1.`},
		{"no exponent digits", `1e+`},
		{"plus sign", `+1`},
		{"bad literal", `tru`},
		{"literal with a tail", `nulll`},
		{"control character in a string", "\"a\x01b\""},
		{"raw newline in a string", "\"a\nb\""},
		{"bad escape", `"\x41"`},
		{"short unicode escape", `"\u12"`},
		{"non-hex unicode escape", `"\u12G4"`},
		{"two values", `{} {}`},
		{"byte order mark", "\ufeff{}"},
		{"single quotes", `{'a':1}`},
		{"too deep", strings.Repeat("[", 10001) + strings.Repeat("]", 10001)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if json.Valid([]byte(tt.body)) {
				t.Fatalf("json.Valid takes %q: not a syntax error case", tt.body)
			}
			var se *jsonbody.SyntaxError
			if err := jsonbody.Check([]byte(tt.body)); !errors.As(err, &se) {
				t.Errorf("Check = %v, want a *SyntaxError", err)
			}
		})
	}
	t.Run("deepest nesting encoding/json takes", func(t *testing.T) {
		body := strings.Repeat("[", 10000) + strings.Repeat("]", 10000)
		if err := jsonbody.Check([]byte(body)); err != nil {
			t.Errorf("Check = %v, want nil", err)
		}
	})
}

func TestCheck_MaxProblems(t *testing.T) {
	body := "[" + strings.Repeat("\"\xff\",", jsonbody.MaxProblems+50) + "1]"
	var e *jsonbody.Error
	if err := jsonbody.Check([]byte(body)); !errors.As(err, &e) {
		t.Fatalf("Check = %v, want an *Error", err)
	}
	if len(e.Problems) != jsonbody.MaxProblems || !e.Truncated {
		t.Errorf("%d problems, truncated %v; want %d, true", len(e.Problems), e.Truncated, jsonbody.MaxProblems)
	}
	if got := e.Problems[len(e.Problems)-1].Path.String(); got != fmt.Sprintf("[%d]", jsonbody.MaxProblems-1) {
		t.Errorf("last path = %q", got)
	}
	// A syntax error after the cap still makes the body not JSON.
	var se *jsonbody.SyntaxError
	if err := jsonbody.Check([]byte(body[:len(body)-1])); !errors.As(err, &se) {
		t.Errorf("Check of the unclosed body = %v, want a *SyntaxError", err)
	}
}

func TestCheck_Offset(t *testing.T) {
	body := `{"a":1, "a":2}`
	var e *jsonbody.Error
	if err := jsonbody.Check([]byte(body)); !errors.As(err, &e) {
		t.Fatalf("Check = %v", err)
	}
	if got := e.Problems[0].Offset; got != strings.LastIndex(body, `"a"`) {
		t.Errorf("offset = %d, want the second key's", got)
	}
}

func TestPath_String(t *testing.T) {
	long := strings.Repeat("é", 40) // 80 bytes
	tests := []struct {
		name string
		path jsonbody.Path
		want string
	}{
		{"empty", nil, ""},
		{"member", jsonbody.Path{jsonbody.Member("text")}, "text"},
		{"nested", jsonbody.Path{jsonbody.Member("chats"), jsonbody.Element(2), jsonbody.Member("messages"),
			jsonbody.Element(0), jsonbody.Member("message")}, "chats[2].messages[0].message"},
		{"top-level array", jsonbody.Path{jsonbody.Element(3), jsonbody.Member("a")}, "[3].a"},
		{"long key cut at a rune", jsonbody.Path{jsonbody.Member(long)}, strings.Repeat("é", 32) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.path.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

// FuzzCheck holds Check to encoding/json: it refuses exactly what json.Valid
// refuses, and on JSON it reports exactly the duplicate keys and the strings
// encoding/json would decode lossily, found by a walk with json.Decoder.Token
// (see reference), in the same order and at the same paths.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{
		`{"chat":1,"text":"x","agent":2,"type":"message"}`,
		`{"a":1,"a":2}`, `{"a":{"b":[{"c":1,"c":2}]}}`, `{"\u0061":1,"a":2}`,
		"{\"t\":\"\xff\"}", `{"t":"\ud800"}`, `{"t":"\ud83d\ude00"}`, `{"t":"\ud800\udbff\udc00"}`,
		"{\"a\xff\":1,\"a\xfe\":2}", `[1,-0.5e+3,true,false,null,"",{},[]]`,
		`{"jsonrpc":"2.0","id":1,"method":"upload.chats","params":{"access_token":"t","chats":[{"name":"A","messages":[{"message":"hi","message":"again"}]}]}}`,
		`{"data":{"caseId":1,"to":["a@b.c"],"subject":"s","subject":"t"}}`,
		``, `{`, `[1,]`, `01`, "\"\x01\"", `"\u12"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		err := jsonbody.Check(data)
		var se *jsonbody.SyntaxError
		if isSyntax := errors.As(err, &se); isSyntax == json.Valid(data) {
			t.Fatalf("Check = %v, json.Valid = %v for %q", err, json.Valid(data), data)
		}
		if se != nil {
			return
		}
		var e *jsonbody.Error
		if err != nil && !errors.As(err, &e) {
			t.Fatalf("Check = %v (%T)", err, err)
		}
		got := problemsOf(t, err)
		want := reference(t, data)
		if e != nil && e.Truncated {
			if len(want) <= jsonbody.MaxProblems {
				t.Fatalf("truncated with %d problems in all", len(want))
			}
			want = want[:jsonbody.MaxProblems]
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("for %q\n got: %v\nwant: %v", data, got, want)
		}
	})
}

// reference finds the problems of a valid JSON body another way: it walks
// the tokens encoding/json reads, naming each place by the keys encoding/json
// decodes, and judges each string by its raw literal.
func reference(t *testing.T, data []byte) []found {
	t.Helper()
	type level struct {
		array     bool
		index     int
		key       string
		keys      map[string]bool
		expectKey bool
	}
	var stack []*level
	var out []found
	path := func() string {
		p := make(jsonbody.Path, len(stack))
		for i, l := range stack {
			if l.array {
				p[i] = jsonbody.Element(l.index)
			} else {
				p[i] = jsonbody.Member(l.key)
			}
		}
		return p.String()
	}
	// afterValue moves past a value that ended.
	afterValue := func() {
		if len(stack) == 0 {
			return
		}
		if top := stack[len(stack)-1]; top.array {
			top.index++
		} else {
			top.expectKey = true
		}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	for {
		before := dec.InputOffset()
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("Token: %v for valid JSON %q", err, data)
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{':
				stack = append(stack, &level{keys: map[string]bool{}, expectKey: true})
			case '[':
				stack = append(stack, &level{array: true})
			default:
				stack = stack[:len(stack)-1]
				afterValue()
			}
		case string:
			raw := bytes.TrimLeft(data[before:dec.InputOffset()], " \t\r\n,:")
			lossy := lossyLiteral(raw[1 : len(raw)-1])
			if len(stack) > 0 && !stack[len(stack)-1].array && stack[len(stack)-1].expectKey {
				top := stack[len(stack)-1]
				top.key, top.expectKey = v, false
				if lossy {
					out = append(out, found{path(), jsonbody.InvalidUTF8})
				}
				if top.keys[v] {
					out = append(out, found{path(), jsonbody.DuplicateKey})
				}
				top.keys[v] = true
				continue
			}
			if lossy {
				out = append(out, found{path(), jsonbody.InvalidUTF8})
			}
			afterValue()
		default:
			afterValue()
		}
	}
}

// lossyLiteral reports whether decoding the contents of a JSON string
// literal loses anything: bytes that are not UTF-8, or \u escapes of
// surrogates that utf16.DecodeRune cannot pair.
func lossyLiteral(lit []byte) bool {
	if !utf8.Valid(lit) {
		return true
	}
	var units []rune // a run of consecutive \u escapes
	lossyRun := func() bool {
		for i := 0; i < len(units); i++ {
			if !utf16.IsSurrogate(units[i]) {
				continue
			}
			if i+1 < len(units) && utf16.DecodeRune(units[i], units[i+1]) != utf8.RuneError {
				i++
				continue
			}
			return true
		}
		return false
	}
	for i := 0; i < len(lit); i++ {
		if lit[i] != '\\' {
			if lossyRun() {
				return true
			}
			units = units[:0]
			continue
		}
		if lit[i+1] != 'u' {
			if lossyRun() {
				return true
			}
			units = units[:0]
			i++
			continue
		}
		var r rune
		fmt.Sscanf(string(lit[i+2:i+6]), "%04x", &r)
		units = append(units, r)
		i += 5
	}
	return lossyRun()
}

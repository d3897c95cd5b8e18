// Package jsonbody checks the raw bytes of a JSON request body before a
// dialect decodes it, for what encoding/json lets through silently: bytes
// that are not UTF-8 in a string (encoding/json replaces each with U+FFFD)
// and a key repeated in one object (encoding/json keeps the last). Check
// scans the body once, without reflection, and reports every such problem
// with the JSON path of the value it is in (as "messages[0].text"); each
// dialect words the problems in its vendor's error format. It is also a full
// JSON syntax check, as strict as json.Valid, so a dialect need not run both.
//
// Parse then reads a checked body as an Object, the one field reader of every
// dialect: typed getters (String, Text, ID, Int64, Bool, Time, Choice, Array,
// StringArray, Object, Objects), each problem a FieldError with the member's
// path, collected rather than stopping at the first, and handed to the
// dialect's Report so that it comes out in the vendor's words; RefuseUnread
// is the strict mode of a dialect that refuses members it does not take.
package jsonbody

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxProblems is the most problems one Check reports: a body of millions of
// bad strings gets an answer of bounded size.
const MaxProblems = 100

// maxDepth is encoding/json's nesting limit, so that Check refuses exactly
// what json.Valid refuses.
const maxDepth = 10000

// maxKeyShown bounds the bytes of one key written in a path: a problem names
// its place, it does not echo a megabyte key back.
const maxKeyShown = 64

// Kind is what is wrong at one place of a body.
type Kind int

const (
	// InvalidUTF8 is a string (a value or a key) with bytes that are not
	// UTF-8, or a \u escape of a lone UTF-16 surrogate (such as "\ud800"):
	// encoding/json would decode each as U+FFFD.
	InvalidUTF8 Kind = iota + 1
	// DuplicateKey is a key an object already has (compared as decoded, so
	// "a" and "\u0061" are the same key): encoding/json would keep the last.
	DuplicateKey
)

// String returns the kind in words, as "invalid UTF-8".
func (k Kind) String() string {
	switch k {
	case InvalidUTF8:
		return "invalid UTF-8"
	case DuplicateKey:
		return "duplicate key"
	}
	if name, ok := fieldKindNames[k]; ok {
		return name
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Step is one step of a Path: an object member named Key, or, when InArray,
// the element Index of an array.
type Step struct {
	Key     string
	Index   int
	InArray bool
}

// Member returns the step into the object member key.
func Member(key string) Step { return Step{Key: key} }

// Element returns the step into the array element i.
func Element(i int) Step { return Step{Index: i, InArray: true} }

// Path is where a value is in a body, from the top-level value down. The
// top-level value itself has the empty path.
type Path []Step

// String returns the path as the dialects name fields: members joined by
// dots, elements as [i] ("chats[2].messages[0].message"). A key longer than
// 64 bytes is cut, with "…" after it.
func (p Path) String() string { return p.format(true) }

// Full is String with every key in full, as a dialect names a member it
// refuses.
func (p Path) Full() string { return p.format(false) }

func (p Path) format(cut bool) string {
	var b strings.Builder
	for i, s := range p {
		if s.InArray {
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(s.Index))
			b.WriteByte(']')
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		if cut {
			b.WriteString(shortKey(s.Key))
		} else {
			b.WriteString(s.Key)
		}
	}
	return b.String()
}

// shortKey returns key cut to maxKeyShown bytes at a rune boundary.
func shortKey(key string) string {
	if len(key) <= maxKeyShown {
		return key
	}
	cut := maxKeyShown
	for cut > 0 && !utf8.RuneStart(key[cut]) {
		cut--
	}
	return key[:cut] + "…"
}

// Problem is one problem of a body: its kind, the path of the value it is in
// (for a duplicate key, the path of the repeated member) and the byte offset
// where that string starts.
type Problem struct {
	Path   Path
	Kind   Kind
	Offset int
}

// Error lists the problems of a body that is well-formed JSON, in the order
// they occur, at most MaxProblems of them (Truncated says there were more).
type Error struct {
	Problems  []Problem
	Truncated bool
}

func (e *Error) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		where := p.Path.String()
		if where == "" {
			where = "the top-level value"
		}
		parts[i] = where + ": " + p.Kind.String()
	}
	msg := "json body: " + strings.Join(parts, "; ")
	if e.Truncated {
		msg += "; and more"
	}
	return msg
}

// SyntaxError says a body is not one JSON value: what json.Valid refuses.
type SyntaxError struct {
	// Offset is the byte offset where the body stops being JSON.
	Offset int
	msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("json body: %s at offset %d", e.msg, e.Offset)
}

// Check scans data, which should hold one JSON value and nothing but
// whitespace around it. It returns a *SyntaxError when data is not JSON
// (exactly what json.Valid refuses), an *Error listing every invalid UTF-8
// string and duplicate key when it is JSON with such problems, and nil
// otherwise. It reads data once and allocates only for large objects,
// escaped keys and the problems it reports.
func Check(data []byte) error {
	s := scanner{data: data}
	if err := s.run(); err != nil {
		return err
	}
	if len(s.problems) > 0 {
		return &Error{Problems: s.problems, Truncated: s.truncated}
	}
	return nil
}

// frame is one open object or array of the scan.
type frame struct {
	array bool
	// index is the array element being read.
	index int
	// key is the object member being read, decoded; keys the members seen
	// so far, and set them as a set once there are many.
	key    []byte
	keys   [][]byte
	set    map[string]struct{}
	keybuf []byte
}

// linearKeys is how many keys an object is searched one by one for a
// duplicate before they go into a map.
const linearKeys = 16

// scanner is the state of one Check.
type scanner struct {
	data      []byte
	i         int
	stack     []frame
	problems  []Problem
	truncated bool
}

// The scanner's states between tokens.
const (
	stValue = iota // a value is next
	stKey          // an object member's key is next
	stAfter        // a value has ended
)

func (s *scanner) run() error {
	state := stValue
	for {
		s.skipSpace()
		switch state {
		case stValue:
			if s.i >= len(s.data) {
				return s.syntax("unexpected end of input")
			}
			switch c := s.data[s.i]; {
			case c == '{':
				if err := s.push(false); err != nil {
					return err
				}
				s.i++
				s.skipSpace()
				if s.i < len(s.data) && s.data[s.i] == '}' {
					s.i++
					s.pop()
					state = stAfter
				} else {
					state = stKey
				}
			case c == '[':
				if err := s.push(true); err != nil {
					return err
				}
				s.i++
				s.skipSpace()
				if s.i < len(s.data) && s.data[s.i] == ']' {
					s.i++
					s.pop()
					state = stAfter
				}
			case c == '"':
				start := s.i
				_, bad, err := s.str()
				if err != nil {
					return err
				}
				if bad {
					s.report(InvalidUTF8, start)
				}
				state = stAfter
			case c == '-' || c >= '0' && c <= '9':
				if err := s.number(); err != nil {
					return err
				}
				state = stAfter
			case c == 't':
				if err := s.literal("true"); err != nil {
					return err
				}
				state = stAfter
			case c == 'f':
				if err := s.literal("false"); err != nil {
					return err
				}
				state = stAfter
			case c == 'n':
				if err := s.literal("null"); err != nil {
					return err
				}
				state = stAfter
			default:
				return s.syntax("invalid character " + quoteChar(c) + " looking for the beginning of a value")
			}
		case stKey:
			if err := s.key(); err != nil {
				return err
			}
			state = stValue
		case stAfter:
			if len(s.stack) == 0 {
				if s.i < len(s.data) {
					return s.syntax("invalid character " + quoteChar(s.data[s.i]) + " after the top-level value")
				}
				return nil
			}
			if s.i >= len(s.data) {
				return s.syntax("unexpected end of input")
			}
			top := &s.stack[len(s.stack)-1]
			c := s.data[s.i]
			switch {
			case c == ',' && top.array:
				s.i++
				top.index++
				state = stValue
			case c == ',':
				s.i++
				state = stKey
			case c == ']' && top.array, c == '}' && !top.array:
				s.i++
				s.pop()
			case top.array:
				return s.syntax("invalid character " + quoteChar(c) + " after an array element")
			default:
				return s.syntax("invalid character " + quoteChar(c) + " after an object member's value")
			}
		}
	}
}

// key reads an object member's key and the colon after it, checks the key
// against the object's others and makes it the frame's current key.
func (s *scanner) key() error {
	if s.i >= len(s.data) {
		return s.syntax("unexpected end of input")
	}
	if s.data[s.i] != '"' {
		return s.syntax("invalid character " + quoteChar(s.data[s.i]) + " looking for the beginning of an object key")
	}
	start := s.i
	escaped, bad, err := s.str()
	if err != nil {
		return err
	}
	top := &s.stack[len(s.stack)-1]
	raw := s.data[start+1 : s.i-1]
	if escaped || bad {
		// Decoded as encoding/json decodes it, so that the path and the
		// duplicate check see the key encoding/json would.
		n := len(top.keybuf)
		top.keybuf = appendUnquoted(top.keybuf, raw)
		top.key = top.keybuf[n:len(top.keybuf):len(top.keybuf)]
	} else {
		top.key = raw
	}
	if bad {
		s.report(InvalidUTF8, start)
	}
	if top.seen(top.key) {
		s.report(DuplicateKey, start)
	}
	s.skipSpace()
	if s.i >= len(s.data) {
		return s.syntax("unexpected end of input")
	}
	if s.data[s.i] != ':' {
		return s.syntax("invalid character " + quoteChar(s.data[s.i]) + " after an object key")
	}
	s.i++
	return nil
}

// seen reports whether the object has the key already, and adds it.
func (f *frame) seen(key []byte) bool {
	if f.set != nil {
		if _, ok := f.set[string(key)]; ok {
			return true
		}
		f.set[string(key)] = struct{}{}
		return false
	}
	for _, k := range f.keys {
		if string(k) == string(key) {
			return true
		}
	}
	f.keys = append(f.keys, key)
	if len(f.keys) > linearKeys {
		f.set = make(map[string]struct{}, 2*len(f.keys))
		for _, k := range f.keys {
			f.set[string(k)] = struct{}{}
		}
	}
	return false
}

// push opens an object or array, reusing the frame a closed one left.
func (s *scanner) push(array bool) error {
	if len(s.stack) >= maxDepth {
		return s.syntax("exceeded max depth")
	}
	if len(s.stack) < cap(s.stack) {
		s.stack = s.stack[:len(s.stack)+1]
		f := &s.stack[len(s.stack)-1]
		f.array, f.index, f.key = array, 0, nil
		f.keys, f.keybuf, f.set = f.keys[:0], f.keybuf[:0], nil
		return nil
	}
	s.stack = append(s.stack, frame{array: array})
	return nil
}

func (s *scanner) pop() { s.stack = s.stack[:len(s.stack)-1] }

// report records a problem of the value (or key) being read, whose string
// starts at offset, unless MaxProblems are recorded already.
func (s *scanner) report(kind Kind, offset int) {
	if len(s.problems) >= MaxProblems {
		s.truncated = true
		return
	}
	path := make(Path, len(s.stack))
	for i, f := range s.stack {
		if f.array {
			path[i] = Element(f.index)
		} else {
			path[i] = Member(string(f.key))
		}
	}
	s.problems = append(s.problems, Problem{Path: path, Kind: kind, Offset: offset})
}

func (s *scanner) skipSpace() {
	for s.i < len(s.data) {
		switch s.data[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// plain marks the bytes a string holds as they are: printable ASCII other
// than the quote and the backslash.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// str reads the string that starts at s.i and moves past it. escaped says
// it holds a backslash escape; bad that it holds bytes that are not UTF-8 or
// a lone surrogate escape.
func (s *scanner) str() (escaped, bad bool, err error) {
	start := s.i
	i := s.i + 1
	nonASCII := false
	for {
		for i < len(s.data) && plain[s.data[i]] {
			i++
		}
		if i >= len(s.data) {
			s.i = i
			return false, false, s.syntax("unexpected end of input in a string")
		}
		c := s.data[i]
		switch {
		case c == '"':
			s.i = i + 1
			if nonASCII && !utf8.Valid(s.data[start+1:i]) {
				bad = true
			}
			return escaped, bad, nil
		case c == '\\':
			escaped = true
			n, lone, err := s.escape(i)
			if err != nil {
				return false, false, err
			}
			bad = bad || lone
			i += n
		case c < 0x20:
			s.i = i
			return false, false, s.syntax("invalid character " + quoteChar(c) + " in a string")
		default:
			nonASCII = true
			i++
		}
	}
}

// escape reads the backslash escape at i and returns its length; lone says
// it is a \u escape of a UTF-16 surrogate not part of a pair (a high one
// followed by a \u escape of a low one is read as the pair).
func (s *scanner) escape(i int) (n int, lone bool, err error) {
	if i+1 >= len(s.data) {
		s.i = i + 1
		return 0, false, s.syntax("unexpected end of input in a string escape")
	}
	switch s.data[i+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 2, false, nil
	case 'u':
		r, ok := hex4(s.data, i+2)
		if !ok {
			s.i = i + 2
			return 0, false, s.syntax("invalid \\u escape in a string")
		}
		switch {
		case r < 0xD800 || r > 0xDFFF:
			return 6, false, nil
		case r <= 0xDBFF:
			if _, ok := lowSurrogate(s.data, i+6); ok {
				return 12, false, nil
			}
		}
		// A surrogate alone: what follows, if an escape, is read on its own.
		return 6, true, nil
	}
	s.i = i + 1
	return 0, false, s.syntax("invalid escape " + quoteChar(s.data[i+1]) + " in a string")
}

// hex4 reads the four hex digits at i as a number; ok is false when there
// are not four.
func hex4(data []byte, i int) (r rune, ok bool) {
	if i+4 > len(data) {
		return 0, false
	}
	for _, c := range data[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// appendUnquoted appends the string whose quoted contents (between the
// quotes, already checked by str) are raw, decoded as encoding/json decodes
// it: each byte that is not UTF-8 and each lone surrogate becomes U+FFFD.
func appendUnquoted(dst, raw []byte) []byte {
	for i := 0; i < len(raw); {
		c := raw[i]
		switch {
		case c == '\\':
			switch raw[i+1] {
			case 'u':
				r, _ := hex4(raw, i+2)
				i += 6
				if r >= 0xD800 && r <= 0xDFFF {
					r2, pair := lowSurrogate(raw, i)
					if r <= 0xDBFF && pair {
						r = 0x10000 + (r-0xD800)<<10 + (r2 - 0xDC00)
						i += 6
					} else {
						r = utf8.RuneError
					}
				}
				dst = utf8.AppendRune(dst, r)
				continue
			case 'b':
				dst = append(dst, '\b')
			case 'f':
				dst = append(dst, '\f')
			case 'n':
				dst = append(dst, '\n')
			case 'r':
				dst = append(dst, '\r')
			case 't':
				dst = append(dst, '\t')
			default: // '"', '\\', '/'
				dst = append(dst, raw[i+1])
			}
			i += 2
		case c < utf8.RuneSelf:
			dst = append(dst, c)
			i++
		default:
			r, size := utf8.DecodeRune(raw[i:])
			dst = utf8.AppendRune(dst, r)
			i += size
		}
	}
	return dst
}

// lowSurrogate reads a \u escape of a low surrogate at i; ok is false when
// there is none.
func lowSurrogate(raw []byte, i int) (r rune, ok bool) {
	if i+1 >= len(raw) || raw[i] != '\\' || raw[i+1] != 'u' {
		return 0, false
	}
	r, ok = hex4(raw, i+2)
	return r, ok && r >= 0xDC00 && r <= 0xDFFF
}

// number reads the number that starts at s.i: JSON's grammar, -?(0|[1-9]
// digits)(.digits)?([eE][+-]?digits)?.
func (s *scanner) number() error {
	d := s.data
	i := s.i
	if d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && d[i] >= '1' && d[i] <= '9':
		i = digits(d, i)
	default:
		s.i = i
		return s.syntax("invalid number")
	}
	if i < len(d) && d[i] == '.' {
		i++
		if i >= len(d) || d[i] < '0' || d[i] > '9' {
			s.i = i
			return s.syntax("invalid number: no digit after the decimal point")
		}
		i = digits(d, i)
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if i >= len(d) || d[i] < '0' || d[i] > '9' {
			s.i = i
			return s.syntax("invalid number: no digit in the exponent")
		}
		i = digits(d, i)
	}
	s.i = i
	return nil
}

// digits returns the index after the run of digits at i.
func digits(d []byte, i int) int {
	for i < len(d) && d[i] >= '0' && d[i] <= '9' {
		i++
	}
	return i
}

// literal reads true, false or null at s.i.
func (s *scanner) literal(word string) error {
	end := s.i + len(word)
	if end > len(s.data) || string(s.data[s.i:end]) != word {
		return s.syntax("invalid literal, expected " + word)
	}
	s.i = end
	return nil
}

func (s *scanner) syntax(msg string) error {
	return &SyntaxError{Offset: s.i, msg: msg}
}

// quoteChar returns c quoted for a message, as encoding/json's do.
func quoteChar(c byte) string {
	switch {
	case c == '\'':
		return `'\''`
	case c == '"':
		return `'"'`
	case c >= 0x20 && c < 0x7f:
		return "'" + string(c) + "'"
	}
	return strconv.Quote(string(c))
}

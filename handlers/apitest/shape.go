package apitest

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

// Shape is the key paths of a JSON document, each with the JSON types seen
// there ("object", "array", "string", "number", "bool", "null"). An array's
// elements share one path ending in "[]", so the shape of a list is the
// union of its items' shapes.
type Shape map[string]map[string]bool

// ShapeOf returns the shape of the JSON document doc, or an error when doc
// is not JSON.
func ShapeOf(doc []byte) (Shape, error) {
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		return nil, fmt.Errorf("shape: %w", err)
	}
	s := Shape{}
	s.add("", v)
	return s, nil
}

func (s Shape) add(path string, v any) {
	typ := jsonType(v)
	if s[path] == nil {
		s[path] = map[string]bool{}
	}
	s[path][typ] = true
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			s.add(join(path, k), e)
		}
	case []any:
		for _, e := range v {
			s.add(path+"[]", e)
		}
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func jsonType(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	}
	return "null"
}

// Missing returns what a response of shape got lacks against a vendor's
// example of shape want, one line per path, sorted: a path the example has
// and the response does not, or one whose type differs. A null on either
// side matches any type: the example's null says nothing of the type, and
// the response's null is a value we do not have. Paths below an array or
// object that the response has empty or null are not required: that
// response had no items to show them on.
func (want Shape) Missing(got Shape) []string {
	var out []string
	for path, types := range want {
		if path == "" || !got.reachable(path) {
			continue
		}
		have, ok := got[path]
		if !ok {
			out = append(out, fmt.Sprintf("%s: missing (the example has %s)", path, names(types)))
			continue
		}
		if types["null"] || have["null"] {
			continue
		}
		for typ := range have {
			if !types[typ] {
				out = append(out, fmt.Sprintf("%s: %s, the example has %s", path, names(have), names(types)))
				break
			}
		}
	}
	slices.Sort(out)
	return out
}

// reachable reports whether every parent of path holds something in s: an
// object for a key, a non-empty array for "[]".
func (s Shape) reachable(path string) bool {
	for i := len(path) - 1; i >= 0; i-- {
		var parent string
		switch {
		case path[i] == '.':
			parent = path[:i]
		case path[i] == '[' && strings.HasPrefix(path[i:], "[]"):
			parent = path[:i]
			if _, ok := s[parent+"[]"]; !ok {
				return false // an empty array: no items to check
			}
			continue
		default:
			continue
		}
		if !s[parent]["object"] {
			return false
		}
	}
	return true
}

func names(types map[string]bool) string {
	var out []string
	for t := range types {
		out = append(out, t)
	}
	slices.Sort(out)
	return strings.Join(out, "|")
}

// AssertLike fails the test when body, a response, lacks a key path of the
// vendor's example response in the file example or has one with another
// JSON type (see Shape.Missing).
func AssertLike(tb testing.TB, example string, body []byte) {
	tb.Helper()
	doc, err := os.ReadFile(example)
	if err != nil {
		tb.Fatal(err)
	}
	want, err := ShapeOf(doc)
	if err != nil {
		tb.Fatalf("%s: %v", example, err)
	}
	got, err := ShapeOf(body)
	if err != nil {
		tb.Fatalf("response: %v\n%s", err, body)
	}
	if m := want.Missing(got); len(m) > 0 {
		tb.Errorf("the response departs from %s:\n%s\nresponse: %s", example, strings.Join(m, "\n"), body)
	}
}

// MustExample returns the vendor's example request in the file example with
// each "{{name}}" replaced by vars[name], failing the test when the file
// cannot be read.
func MustExample(tb testing.TB, example string, vars map[string]any) string {
	tb.Helper()
	doc, err := os.ReadFile(example)
	if err != nil {
		tb.Fatal(err)
	}
	s := string(doc)
	for k, v := range vars {
		s = strings.ReplaceAll(s, "{{"+k+"}}", fmt.Sprint(v))
	}
	return s
}

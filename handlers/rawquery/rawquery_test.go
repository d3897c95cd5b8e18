package rawquery_test

import (
	"fmt"
	"net/url"
	"testing"

	"switchboard/handlers/rawquery"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want []rawquery.Problem
	}{
		{"empty", "", nil},
		{"plain", "sort=chats.createdAt&order=asc&limit=10", nil},
		{"escapes", "where=title%7Clike%7C%25sale%25&q=a+b", nil},
		{"semicolon in a value", "sort=id;DROP&limit=1",
			[]rawquery.Problem{{"sort", "holds a semicolon, which is not a separator"}}},
		{"semicolon as a separator", "a=1;b=2", []rawquery.Problem{{"a", "holds a semicolon, which is not a separator"}}},
		{"escaped semicolon is fine", "sort=id%3BDROP", nil},
		{"bad escape in a value", "limit=10&sort=%zz", []rawquery.Problem{{"sort", "has a malformed percent escape"}}},
		{"bad escape in a name", "so%rt=1", []rawquery.Problem{{"so%rt", "has a malformed percent escape"}}},
		{"escaped name", "where%5B0%5D=x;y", []rawquery.Problem{{"where[0]", "holds a semicolon, which is not a separator"}}},
		{"every one", "a=%&b=;", []rawquery.Problem{{"a", "has a malformed percent escape"}, {"b", "holds a semicolon, which is not a separator"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := rawquery.Check(tt.raw)
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("Check(%q) = %v, want %v", tt.raw, got, tt.want)
			}
			// Check finds a problem exactly when net/url drops something.
			_, err := url.ParseQuery(tt.raw)
			if (err != nil) != (len(got) > 0) {
				t.Errorf("ParseQuery error %v, but Check found %v", err, got)
			}
		})
	}
}

// FuzzCheck holds Check to net/url: it reports a problem exactly when
// url.ParseQuery reports an error (drops a pair).
func FuzzCheck(f *testing.F) {
	for _, s := range []string{"", "a=1&b=2", "sort=id;DROP", "a=%zz", "%=", "a=%4", "where[0]=x%7Cy"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got := rawquery.Check(raw)
		if _, err := url.ParseQuery(raw); (err != nil) != (len(got) > 0) {
			t.Fatalf("Check(%q) = %v, ParseQuery error %v", raw, got, err)
		}
	})
}

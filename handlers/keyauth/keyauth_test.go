package keyauth_test

import (
	"testing"

	"switchboard/handlers/keyauth"
)

func TestToken(t *testing.T) {
	tests := []struct {
		name, header, want string
		ok                 bool
	}{
		{"bearer", "Bearer abc.def", "abc.def", true},
		{"scheme in any case, extra spaces", "  bearer   abc  ", "abc", true},
		{"no header", "", "", false},
		{"basic scheme", "Basic dXNlcjpwYXNz", "", false},
		{"scheme alone", "Bearer", "", false},
		{"scheme and blanks", "Bearer   ", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := keyauth.Token(tt.header)
			if got != tt.want || ok != tt.ok {
				t.Errorf("Token(%q) = %q, %v; want %q, %v", tt.header, got, ok, tt.want, tt.ok)
			}
		})
	}
}

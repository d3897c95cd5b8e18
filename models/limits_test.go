package models

import (
	"strings"
	"testing"
)

func TestTooLong(t *testing.T) {
	tests := []struct {
		name string
		s    string
		max  int
		want bool
	}{
		{"empty", "", 0, false},
		{"at the limit", "abc", 3, false},
		{"over the limit", "abcd", 3, true},
		{"multibyte at the limit", "ééé", 3, false}, // 6 bytes, 3 characters
		{"multibyte over the limit", "éééé", 3, true},
		{"emoji count once each", strings.Repeat("😀", MaxNameLen), MaxNameLen, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := TooLong(tt.s, tt.max); got != tt.want {
				t.Errorf("TooLong(%q, %d) = %v, want %v", tt.s, tt.max, got, tt.want)
			}
		})
	}
}

func TestHasControl(t *testing.T) {
	tests := []struct {
		s    string
		want bool
	}{
		{"Ann Lee", false},
		{"Łukasz Ñoño 😀", false},
		{"a\tb", true},
		{"a\nb", true},
		{"a\rb", true},
		{"a\x00b", true},
		{"a\x1fb", true},
		{"a\x7fb", true},
		{"a\u0080b", true},
		{"a\u009fb", true},
		{"a\u00a0b", false}, // no-break space: not a control character
		{"\u0100", false},   // 0xC4 0x80: a continuation byte after another lead
	}
	for _, tt := range tests {
		t.Run(tt.s, func(t *testing.T) {
			if got := HasControl(tt.s); got != tt.want {
				t.Errorf("HasControl(%q) = %v, want %v", tt.s, got, tt.want)
			}
		})
	}
}

func TestTruncate(t *testing.T) {
	for _, tt := range []struct {
		s    string
		max  int
		want string
	}{
		{"abc", 5, "abc"},
		{"abcdef", 3, "abc"},
		{"ééé", 2, "éé"},
		{"", 0, ""},
	} {
		if got := Truncate(tt.s, tt.max); got != tt.want {
			t.Errorf("Truncate(%q, %d) = %q, want %q", tt.s, tt.max, got, tt.want)
		}
	}
}

// TestValidEmail_Limits checks the length and control-character bounds of
// an email address.
func TestValidEmail_Limits(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"254 bytes", strings.Repeat("a", 64) + "@" + strings.Repeat("b", 185) + ".com", true},
		{"255 bytes", strings.Repeat("a", 64) + "@" + strings.Repeat("b", 186) + ".com", false},
		{"C1 control character", "ann\u0085@example.com", false},
		{"DEL", "ann\x7f@example.com", false},
		{"control character in a quoted local part", "\"ann\x01\"@example.com", false},
		{"tab", "ann\t@example.com", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ValidEmail(tt.in); got != tt.want {
				t.Errorf("ValidEmail(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

package models

import (
	"net/mail"
	"strings"
	"time"
)

// ValidEmail reports whether s is a bare email address (no display name) of
// at most MaxEmailBytes and no control characters, with a dot-free local part
// allowed and a domain that has at least one dot.
func ValidEmail(s string) bool {
	if s == "" || len(s) > MaxEmailBytes || strings.ContainsAny(s, " <>") || HasControl(s) {
		return false
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	domain := s[at+1:]
	return at > 0 && strings.Contains(domain, ".") && !strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".")
}

// NormalizeEmail returns s trimmed and lower-cased, the form emails are stored in.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// ValidTimezone reports whether tz names an IANA time zone known to this binary.
func ValidTimezone(tz string) bool {
	if tz == "" || tz == "Local" {
		return false
	}
	_, err := time.LoadLocation(tz)
	return err == nil
}

package auth

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Scope is one thing an API key may do.
type Scope string

// The scopes of an API key. A key made without scopes has all of them.
const (
	ScopeRead   Scope = "read"   // read chats, messages, customers and cases
	ScopeChat   Scope = "chat"   // write chat messages, chats and customers
	ScopeEmail  Scope = "email"  // send email replies
	ScopeSMS    Scope = "sms"    // send SMS replies
	ScopeUpload Scope = "upload" // bulk-upload chats and offline messages
)

// AllScopes returns every scope, in a fixed order.
func AllScopes() []Scope {
	return []Scope{ScopeRead, ScopeChat, ScopeEmail, ScopeSMS, ScopeUpload}
}

// ParseScopes reads a comma-separated scope list as the CLI and the api_keys
// table write it. An empty list means every scope. It returns an error naming
// each unknown scope.
func ParseScopes(s string) ([]Scope, error) {
	if strings.TrimSpace(s) == "" {
		return AllScopes(), nil
	}
	var out []Scope
	var bad []string
	for part := range strings.SplitSeq(s, ",") {
		sc := Scope(strings.ToLower(strings.TrimSpace(part)))
		switch {
		case sc == "":
		case !slices.Contains(AllScopes(), sc):
			bad = append(bad, fmt.Sprintf("%q", part))
		case !slices.Contains(out, sc):
			out = append(out, sc)
		}
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("unknown scope %s: want some of read, chat, email, sms, upload", strings.Join(bad, ", "))
	}
	if len(out) == 0 {
		return AllScopes(), nil
	}
	return out, nil
}

// FormatScopes writes scopes as ParseScopes reads them.
func FormatScopes(scopes []Scope) string {
	parts := make([]string, len(scopes))
	for i, s := range scopes {
		parts[i] = string(s)
	}
	return strings.Join(parts, ",")
}

// ErrForbidden means the caller is who they say but may not do this.
var ErrForbidden = errors.New("forbidden")

// ScopeError says which scope a request needed and the caller's key lacks.
// It matches ErrForbidden.
type ScopeError struct{ Scope Scope }

func (e *ScopeError) Error() string {
	return fmt.Sprintf("this API key lacks the %q scope", e.Scope)
}

// Is makes a ScopeError match ErrForbidden.
func (e *ScopeError) Is(target error) bool { return target == ErrForbidden }

// Require returns nil when the caller has the scope, and a *ScopeError when
// it does not.
func (c Caller) Require(s Scope) error {
	if slices.Contains(c.Scopes, s) {
		return nil
	}
	return &ScopeError{Scope: s}
}

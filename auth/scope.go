package auth

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"switchboard/models"
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
	ScopeAdmin  Scope = "admin"  // manage the account's webhook subscriptions
)

// AllScopes returns every scope, in a fixed order.
func AllScopes() []Scope {
	return []Scope{ScopeRead, ScopeChat, ScopeEmail, ScopeSMS, ScopeUpload, ScopeAdmin}
}

// RoleScopes returns what an agent of the role may do: the scopes a session
// of that agent carries (a CallGear login.user token, a console sign-in).
// It is the one table of roles and scopes:
//
//	role        read  chat  email  sms  upload  admin
//	superadmin   ✓     ✓     ✓     ✓     ✓       ✓
//	admin        ✓     ✓     ✓     ✓     ✓       ✓
//	agent        ✓     ✓     ✓     ✓     -       -
//
// Agents answer customers by chat, email and SMS; bulk uploads and their
// deletes, and the account's webhook subscriptions, are for admins. An unknown role has no scopes.
func RoleScopes(r models.Role) []Scope {
	switch r {
	case models.RoleSuperadmin, models.RoleAdmin:
		return AllScopes()
	case models.RoleAgent:
		return []Scope{ScopeRead, ScopeChat, ScopeEmail, ScopeSMS}
	}
	return nil
}

// withinRole returns scopes without admin when the role r has not got it:
// an API key made with every scope (the default) manages the account's
// webhooks only when its agent is an admin, now. The other scopes of an API
// key stand as issued, whatever its agent's role: integrations made with an
// agent's key keep working.
func withinRole(scopes []Scope, r models.Role) []Scope {
	if !slices.Contains(scopes, ScopeAdmin) || slices.Contains(RoleScopes(r), ScopeAdmin) {
		return scopes
	}
	return slices.DeleteFunc(slices.Clone(scopes), func(s Scope) bool { return s == ScopeAdmin })
}

// intersect returns the scopes of a that b has too, in a's order.
func intersect(a, b []Scope) []Scope {
	out := []Scope{}
	for _, s := range a {
		if slices.Contains(b, s) {
			out = append(out, s)
		}
	}
	return out
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
		return nil, fmt.Errorf("unknown scope %s: want some of read, chat, email, sms, upload, admin", strings.Join(bad, ", "))
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

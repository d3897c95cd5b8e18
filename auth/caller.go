package auth

import (
	"context"

	"switchboard/models"
)

// Caller is who is making a request.
type Caller struct {
	AccountID int64
	AgentID   int64
	Email     string
	Role      models.Role
	// Scopes are what the caller may do: an API key's scopes, or every scope
	// for an agent who logged in with a password.
	Scopes []Scope
	// KeyID is the API key the caller used, empty for a password login.
	KeyID string
	// Session says the key is a session token a password login issued
	// (models.KeySession); its scopes are its agent's role's.
	Session bool
}

type callerKey struct{}

// WithCaller returns ctx carrying the caller.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the caller that ctx carries, and false when it carries none.
func CallerFrom(ctx context.Context) (Caller, bool) {
	c, ok := ctx.Value(callerKey{}).(Caller)
	return c, ok
}

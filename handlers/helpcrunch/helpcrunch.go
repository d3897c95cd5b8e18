// Package helpcrunch serves the HelpCrunch REST API v1 dialect: bearer API
// keys, unix-second string times and HelpCrunch's {"errors":[...]} bodies.
package helpcrunch

import (
	"context"
	"log/slog"

	"github.com/labstack/echo/v4"

	"switchboard/auth"
)

// Authenticator checks a bearer API key and returns its caller.
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (auth.Caller, error)
}

// Store is what this dialect reads and writes.
type Store interface{}

// Deps are the parts this dialect's routes use.
type Deps struct {
	Store Store
	Auth  Authenticator
	Log   *slog.Logger
}

// Register adds the dialect's routes to e; each runs mw (recovery, body
// limit) inside the dialect's error rendering.
func Register(e *echo.Echo, deps Deps, mw ...echo.MiddlewareFunc) {}

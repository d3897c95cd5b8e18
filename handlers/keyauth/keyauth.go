// Package keyauth is the bearer API-key middleware of the dialects that take
// keys in an "Authorization: Bearer" header (HelpCrunch, Acquire). Each
// dialect renders the errors it returns in its own format.
package keyauth

import (
	"context"
	"errors"
	"strings"

	"github.com/labstack/echo/v4"

	"switchboard/auth"
)

// Authenticator checks a bearer API key and returns its caller; *auth.Keys
// is the real one.
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (auth.Caller, error)
}

// Require checks the request's bearer key and puts its caller in the
// request's context. A request without a key gets the missing error; a bad
// key gets the authenticator's error (auth.ErrInvalidToken,
// auth.ErrExpiredToken, or a wrapped store.ErrUnavailable).
func Require(authn Authenticator, missing error) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			token, ok := Token(c.Request().Header.Get(echo.HeaderAuthorization))
			if !ok {
				return missing
			}
			caller, err := authn.Authenticate(c.Request().Context(), token)
			if err != nil {
				return err
			}
			c.SetRequest(c.Request().WithContext(auth.WithCaller(c.Request().Context(), caller)))
			return next(c)
		}
	}
}

// Token returns the token of an "Authorization: Bearer <token>" header (the
// scheme in any case), and false when there is none.
func Token(header string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// RequireScope lets through only callers whose key has the scope; others get
// an *auth.ScopeError (403 in every dialect).
func RequireScope(s auth.Scope) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			cl, err := Caller(c)
			if err != nil {
				return err
			}
			if err := cl.Require(s); err != nil {
				return err
			}
			return next(c)
		}
	}
}

// errNoCaller means a route ran without Require before it: a wiring bug.
var errNoCaller = errors.New("keyauth: no caller in the request context")

// Caller returns the caller Require put in the request's context, or an
// error (a server error in every dialect) when there is none.
func Caller(c echo.Context) (auth.Caller, error) {
	cl, ok := auth.CallerFrom(c.Request().Context())
	if !ok {
		return auth.Caller{}, errNoCaller
	}
	return cl, nil
}

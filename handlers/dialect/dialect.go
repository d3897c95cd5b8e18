// Package dialect is what every dialect's registration takes: the
// dependencies the dialects share and the middleware each one runs around
// its routes. Every dialect package (handlers/reve, handlers/helpcrunch,
// handlers/acquire, handlers/callgear) has the one shape
//
//	func Register(e *echo.Echo, deps dialect.Deps, cfg Config)
//
// where Config is the dialect's own settings (its body limit, page size ...),
// whose zero value is its defaults. A dialect wraps each of its routes in,
// from the outside in: its own error rendering, deps.Before(cfg.BodyLimit),
// its authentication, then deps.After() once the caller is known.
package dialect

import (
	"context"
	"log/slog"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"switchboard/auth"
	"switchboard/handlers/guard"
	"switchboard/models"
	"switchboard/store"
)

// DefaultBodyLimit caps request bodies on a REST dialect whose Config leaves
// its BodyLimit empty.
const DefaultBodyLimit = "2M"

// Deps are the dependencies every dialect shares.
type Deps struct {
	// Store is the one store; each dialect keeps only the methods it uses,
	// behind its own Store interface.
	Store *store.Store
	// Passwords checks an agent's email and password (REVE's Basic auth,
	// CallGear's login.user); nil turns password logins into server errors.
	Passwords Passwords
	// Keys checks bearer API keys and CallGear's session tokens, and issues
	// those sessions.
	Keys Keys
	// Limits and Idempotency guard every dialect; nil turns them off.
	Limits      *guard.Limits
	Idempotency *guard.Idempotency
	// Log is where requests' failures are logged; nil discards them.
	Log *slog.Logger
}

// Passwords checks an agent's login and password sent from a client
// address; *auth.Basic is the real one.
type Passwords interface {
	Authenticate(ctx context.Context, email, password, addr string) (auth.Caller, error)
}

// Keys checks bearer tokens and issues session tokens; *auth.Keys is the
// real one.
type Keys interface {
	// Authenticate takes API keys only: a session token is refused.
	Authenticate(ctx context.Context, token string) (auth.Caller, error)
	// AuthenticateAny takes API keys and session tokens alike, for the one
	// endpoint where sessions are valid (CallGear's).
	AuthenticateAny(ctx context.Context, token string) (auth.Caller, error)
	// Issue issues a key (CallGear's login.user sessions).
	Issue(ctx context.Context, accountID int64, spec auth.KeySpec) (models.APIKey, string, error)
}

// Registration adds one dialect's routes, with its settings, to e.
type Registration func(e *echo.Echo, deps Deps)

// With returns the registration of a dialect: its Register with its
// settings. It takes only a Register of the one shape every dialect has.
func With[C any](register func(e *echo.Echo, deps Deps, cfg C), cfg C) Registration {
	return func(e *echo.Echo, deps Deps) { register(e, deps, cfg) }
}

// Logger returns d.Log, or a logger that discards everything when it is nil.
func (d Deps) Logger() *slog.Logger {
	if d.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return d.Log
}

// Before returns the middleware a dialect runs inside its own error
// rendering and before it authenticates the caller, in this order: recovery
// (a panic becomes an error for the dialect to render, logged with its
// stack), the body limit (bodyLimit as "2M" or "512K"; empty means
// DefaultBodyLimit), and the limit on requests per client address. Running
// the last before authentication makes it bound password guessing too.
func (d Deps) Before(bodyLimit string) []echo.MiddlewareFunc {
	if bodyLimit == "" {
		bodyLimit = DefaultBodyLimit
	}
	recovery := middleware.RecoverWithConfig(middleware.RecoverConfig{DisableErrorHandler: true, LogErrorFunc: d.LogPanic})
	return []echo.MiddlewareFunc{recovery, middleware.BodyLimit(bodyLimit), d.Limits.ByIP()}
}

// After returns the middleware a dialect runs once the caller is known: the
// caller's own rate limits, then Idempotency-Key.
func (d Deps) After() []echo.MiddlewareFunc {
	return []echo.MiddlewareFunc{d.Limits.ByCaller(), d.Idempotency.Middleware()}
}

// LogPanic logs a recovered panic with its stack and the request's id, and
// returns err; it is an echo RecoverConfig's LogErrorFunc.
func (d Deps) LogPanic(c echo.Context, err error, stack []byte) error {
	d.Logger().ErrorContext(c.Request().Context(), "panic", "err", err, "stack", string(stack),
		"request_id", c.Response().Header().Get(echo.HeaderXRequestID))
	return err
}

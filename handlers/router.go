// Package handlers builds the HTTP router shared by every dialect: the
// middleware every request passes through, the health endpoints, and the
// registration of each dialect's routes.
package handlers

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"switchboard/handlers/acquire"
	"switchboard/handlers/callgear"
	"switchboard/handlers/helpcrunch"
	"switchboard/handlers/reve"
	"switchboard/store"
)

// Config is what the router needs to know beyond its dependencies.
type Config struct {
	// BodyLimit caps request bodies on the REST routes, as "2M" or "512K".
	BodyLimit string
	// CallGearBodyLimit caps request bodies on the CallGear endpoint (default 16M).
	CallGearBodyLimit string
	// UploadMaxItems is the most items one CallGear upload takes (default 500).
	UploadMaxItems int
	// REVEPageSize is the number of offline messages per REVE page.
	REVEPageSize int
}

// Deps are the parts the router wires together.
type Deps struct {
	Store *store.Store
	// Basic checks REVE's Basic credentials; *auth.Basic is the real one.
	Basic reve.Authenticator
	// Keys checks the API keys of HelpCrunch, Acquire and CallGear and
	// issues CallGear's session tokens; *auth.Keys is the real one.
	Keys callgear.Keys
	Log  *slog.Logger
}

// New returns the router with every route of every dialect registered.
func New(cfg Config, deps Deps) *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	// switchboard is reached directly or through a proxy the operator runs; the
	// peer address is the only one it can trust without configuration.
	e.IPExtractor = echo.ExtractIPDirect()
	log := deps.Log

	e.Use(middleware.RequestID())
	e.Use(middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		LogStatus: true, LogMethod: true, LogURIPath: true, LogLatency: true, LogRequestID: true,
		LogRemoteIP: true, LogError: true, HandleError: false,
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			level := slog.LevelInfo
			if v.Status >= 500 {
				level = slog.LevelError
			}
			attrs := []slog.Attr{
				slog.String("request_id", v.RequestID), slog.String("method", v.Method),
				slog.String("path", v.URIPath), slog.Int("status", v.Status),
				slog.Duration("latency", v.Latency), slog.String("remote_ip", v.RemoteIP),
			}
			if v.Error != nil {
				attrs = append(attrs, slog.String("err", v.Error.Error()))
			}
			log.LogAttrs(c.Request().Context(), level, "request", attrs...)
			return nil
		},
	}))
	logPanic := func(c echo.Context, err error, stack []byte) error {
		log.ErrorContext(c.Request().Context(), "panic", "err", err, "stack", string(stack),
			"request_id", c.Response().Header().Get(echo.HeaderXRequestID))
		return err
	}
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{LogErrorFunc: logPanic}))

	e.GET("/healthz", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
	})
	e.GET("/readyz", func(c echo.Context) error {
		ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
		defer cancel()
		if err := deps.Store.Ping(ctx); err != nil {
			log.WarnContext(ctx, "not ready", "err", err)
			return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "database": "unreachable"})
		}
		return c.JSON(http.StatusOK, map[string]string{"status": "ok", "database": "ok"})
	})

	// Each dialect renders errors in its own format, so its routes recover
	// panics themselves and hand the error back to that renderer.
	rest := []echo.MiddlewareFunc{
		middleware.RecoverWithConfig(middleware.RecoverConfig{DisableErrorHandler: true, LogErrorFunc: logPanic}),
		middleware.BodyLimit(cfg.BodyLimit),
	}
	reve.Register(e, reve.Deps{Store: deps.Store, Auth: deps.Basic, Log: log}, reve.Config{PageSize: cfg.REVEPageSize}, rest...)
	helpcrunch.Register(e, helpcrunch.Deps{Store: deps.Store, Auth: deps.Keys, Log: log}, rest...)
	acquire.Register(e, acquire.Deps{Store: deps.Store, Auth: deps.Keys, Log: log}, rest...)
	rpcLimit := cfg.CallGearBodyLimit
	if rpcLimit == "" {
		rpcLimit = "16M"
	}
	callgear.Register(e, callgear.Deps{Store: deps.Store, Keys: deps.Keys, Passwords: deps.Basic, Log: log},
		callgear.Config{MaxItems: cfg.UploadMaxItems},
		middleware.RecoverWithConfig(middleware.RecoverConfig{DisableErrorHandler: true, LogErrorFunc: logPanic}),
		middleware.BodyLimit(rpcLimit))
	return e
}

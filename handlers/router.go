// Package handlers builds the HTTP router shared by every dialect: the
// middleware every request passes through, the health endpoints, and the
// registration of each dialect's routes.
package handlers

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"switchboard/api"
	"switchboard/auth"
	"switchboard/handlers/acquire"
	"switchboard/handlers/callgear"
	"switchboard/handlers/guard"
	"switchboard/handlers/helpcrunch"
	"switchboard/handlers/reve"
	"switchboard/models"
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
	// TrustedProxies are the networks whose X-Forwarded-For the router
	// believes when it reads a client's address (for the per-address rate
	// limit and the logs). Empty means none: the peer address is the client.
	TrustedProxies []*net.IPNet
}

// Deps are the parts the router wires together.
type Deps struct {
	Store *store.Store
	// Basic checks REVE's Basic credentials; *auth.Basic is the real one.
	Basic reve.Authenticator
	// Keys checks the API keys of HelpCrunch, Acquire and CallGear and
	// issues CallGear's session tokens; *auth.Keys is the real one.
	Keys Keys
	// Limits and Idempotency guard every dialect; nil turns them off.
	Limits      *guard.Limits
	Idempotency *guard.Idempotency
	// Metrics is served at /metrics; nil serves an empty registry.
	Metrics prometheus.Gatherer
	Log     *slog.Logger
}

// Keys checks bearer tokens: API keys on every dialect (Authenticate), and
// session tokens too where they were issued (AuthenticateAny, CallGear's
// endpoint alone); it issues the sessions of CallGear's login.user.
type Keys interface {
	Authenticate(ctx context.Context, token string) (auth.Caller, error)
	AuthenticateAny(ctx context.Context, token string) (auth.Caller, error)
	Issue(ctx context.Context, accountID int64, spec auth.KeySpec) (models.APIKey, string, error)
}

// New returns the router with every route of every dialect registered.
func New(cfg Config, deps Deps) *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.IPExtractor = ipExtractor(cfg.TrustedProxies)
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

	metrics := deps.Metrics
	if metrics == nil {
		metrics = prometheus.NewRegistry()
	}
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(metrics, promhttp.HandlerOpts{})))

	// The API's description, as built in, and the reference page made from
	// it, rendered once here rather than per request.
	e.GET("/openapi.yaml", func(c echo.Context) error {
		return c.Blob(http.StatusOK, "application/yaml", api.Spec())
	})
	docs, docsErr := api.Docs()
	if docsErr != nil {
		log.Error("the API reference page cannot be rendered; /docs answers 500", "err", docsErr)
	}
	e.GET("/docs", func(c echo.Context) error {
		if docsErr != nil {
			return c.String(http.StatusInternalServerError,
				"The API reference page could not be rendered; /openapi.yaml describes the API.\n")
		}
		c.Response().Header().Set("Content-Security-Policy", docsPolicy)
		return c.Blob(http.StatusOK, "text/html; charset=utf-8", docs)
	})

	// Each dialect renders errors in its own format, so its routes recover
	// panics themselves and hand the error back to that renderer; the limit
	// on client addresses runs inside it, before authentication, so that it
	// also bounds password guessing.
	recovery := middleware.RecoverWithConfig(middleware.RecoverConfig{DisableErrorHandler: true, LogErrorFunc: logPanic})
	rest := []echo.MiddlewareFunc{recovery, middleware.BodyLimit(cfg.BodyLimit), deps.Limits.ByIP()}
	// Once the caller is known: its own rate limits, then Idempotency-Key.
	afterAuth := []echo.MiddlewareFunc{deps.Limits.ByCaller(), deps.Idempotency.Middleware()}
	reve.Register(e, reve.Deps{Store: deps.Store, Auth: deps.Basic, Log: log, AfterAuth: afterAuth},
		reve.Config{PageSize: cfg.REVEPageSize}, rest...)
	helpcrunch.Register(e, helpcrunch.Deps{Store: deps.Store, Auth: deps.Keys, Log: log, AfterAuth: afterAuth}, rest...)
	acquire.Register(e, acquire.Deps{Store: deps.Store, Auth: deps.Keys, Log: log, AfterAuth: afterAuth}, rest...)
	rpcLimit := cfg.CallGearBodyLimit
	if rpcLimit == "" {
		rpcLimit = "16M"
	}
	callgear.Register(e, callgear.Deps{Store: deps.Store, Keys: deps.Keys, Passwords: deps.Basic, Log: log,
		Limits: deps.Limits, Idempotency: deps.Idempotency},
		callgear.Config{MaxItems: cfg.UploadMaxItems},
		recovery, middleware.BodyLimit(rpcLimit), deps.Limits.ByIP())
	return e
}

// docsPolicy lets the reference page use its inline styles and nothing
// else: no scripts, and nothing loaded from anywhere.
const docsPolicy = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// ipExtractor returns how the router reads a client's address: the peer's,
// unless the peer is one of the trusted proxies, whose X-Forwarded-For is
// then read back to the first address not trusted. Echo's own defaults
// (trusting every private and loopback address) are turned off, so that a
// client cannot name its own address in a header.
func ipExtractor(trusted []*net.IPNet) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, n := range trusted {
		opts = append(opts, echo.TrustIPRange(n))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

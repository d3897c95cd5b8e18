// Package handlers builds the HTTP router shared by every dialect: the
// middleware every request passes through, the health endpoints, and the
// registration of each dialect's routes.
package handlers

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"switchboard/api"
	"switchboard/handlers/acquire"
	"switchboard/handlers/callgear"
	"switchboard/handlers/console"
	"switchboard/handlers/dialect"
	"switchboard/handlers/helpcrunch"
	"switchboard/handlers/reve"
	"switchboard/handlers/switchboard"
	"switchboard/metrics"
	"switchboard/store"
)

// Config is what the router needs to know beyond its dependencies: each
// dialect's settings, which cmd builds from its flags (the zero value of
// each is that dialect's defaults), and the proxies it trusts.
type Config struct {
	REVE       reve.Config
	HelpCrunch helpcrunch.Config
	Acquire    acquire.Config
	CallGear   callgear.Config
	// Switchboard is our own namespace's (/switchboard/v1: webhooks and
	// the live stream); its Catalogs default to WebhookCatalogs.
	Switchboard switchboard.Config
	// Console is the agents' web console's (/console).
	Console console.Config
	// TrustedProxies are the networks whose X-Forwarded-For the router
	// believes when it reads a client's address (for the per-address rate
	// limit and the logs). Empty means none: the peer address is the client.
	TrustedProxies []*net.IPNet
	// MetricsElsewhere leaves /metrics out of the router: the metrics are
	// served on an address of their own (serve's --metrics-addr).
	MetricsElsewhere bool
}

// Deps are the parts the router wires together: those every dialect shares,
// and the metrics it serves.
type Deps struct {
	dialect.Deps
	// Metrics is served at /metrics; nil serves an empty registry.
	Metrics prometheus.Gatherer
	// Instruments count and time every request; nil measures nothing.
	Instruments *metrics.Metrics
}

// dialects returns every dialect's registration with its settings.
//
// Adding a dialect: write its package, handlers/<name>, with a Config and a
// Register(e *echo.Echo, deps dialect.Deps, cfg Config) as package dialect
// describes; add its Config to Config and one line here; describe its routes
// in openapi.yaml; and fill its Config from the flags in
// cmd/switchboard/serve.go (a REST dialect's BodyLimit from --body-limit).
func dialects(cfg Config) []dialect.Registration {
	return []dialect.Registration{
		dialect.With(reve.Register, cfg.REVE),
		dialect.With(helpcrunch.Register, cfg.HelpCrunch),
		dialect.With(acquire.Register, cfg.Acquire),
		dialect.With(callgear.Register, cfg.CallGear),
		dialect.With(switchboard.Register, switchboardConfig(cfg.Switchboard)),
		dialect.With(console.Register, consoleConfig(cfg.Console)),
	}
}

// switchboardConfig returns cfg with the formats' catalogs when it has
// none.
func switchboardConfig(cfg switchboard.Config) switchboard.Config {
	if cfg.Catalogs == nil {
		cfg.Catalogs = WebhookCatalogs()
	}
	return cfg
}

// consoleConfig returns cfg with the webhook check of the REST route and
// the CLI (switchboard.BuildWebhook over WebhookCatalogs) when it has none.
func consoleConfig(cfg console.Config) console.Config {
	if cfg.BuildWebhook == nil {
		cats := WebhookCatalogs()
		cfg.BuildWebhook = func(url, format string, events []string, secret string) (store.NewWebhook, error) {
			return switchboard.BuildWebhook(cats, switchboard.WebhookRequest{URL: url, Format: format, Events: events, Secret: secret})
		}
	}
	return cfg
}

// New returns the router with every route of every dialect registered.
func New(cfg Config, deps Deps) *echo.Echo {
	if cfg.MetricsElsewhere {
		deps.Metrics = nil
	}
	return newRouter(cfg.TrustedProxies, !cfg.MetricsElsewhere, deps, dialects(cfg))
}

// newRouter returns the router: the middleware and routes every request
// shares (/metrics when withMetrics), and the routes of each dialect
// registered.
func newRouter(trusted []*net.IPNet, withMetrics bool, deps Deps, registrations []dialect.Registration) *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.IPExtractor = ipExtractor(trusted)
	log := deps.Logger()

	e.Use(middleware.RequestID())
	e.Use(deps.Instruments.Middleware())
	e.Use(accessLog(log))
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{LogErrorFunc: deps.LogPanic}))

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

	if withMetrics {
		gatherer := deps.Metrics
		if gatherer == nil {
			gatherer = prometheus.NewRegistry()
		}
		e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{})))
	}

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

	// Each dialect renders errors in its own format, so it runs the shared
	// middleware (recovery, body limit, the per-address limit) inside its
	// own rendering: dialect.Deps.Before.
	for _, register := range registrations {
		register(e, deps.Deps)
	}
	return e
}

// accessLog returns the middleware writing one "request" record per
// request: request_id, method, path, status, latency_ms (milliseconds, with
// a fraction), remote_ip and, when the handler returned one, err; at level
// Error for a 5xx status, else Info.
//
// It is written out rather than built on Echo's RequestLogger: that one
// fills a large values struct and calls back through a closure on every
// request, and the attributes here are built only when the logger takes
// the record, straight into a fixed array that does not escape.
func accessLog(log *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			req, res := c.Request(), c.Response()
			status := res.Status
			if err != nil {
				// As Echo's RequestLogger reports an error the router's
				// error handler has yet to write.
				var he *echo.HTTPError
				if errors.As(err, &he) {
					status = he.Code
				}
			}
			level := slog.LevelInfo
			if status >= 500 {
				level = slog.LevelError
			}
			ctx := req.Context()
			if !log.Enabled(ctx, level) {
				return err
			}
			latency := time.Since(start)
			id := req.Header.Get(echo.HeaderXRequestID)
			if id == "" {
				id = res.Header().Get(echo.HeaderXRequestID)
			}
			path := req.URL.Path
			if path == "" {
				path = "/"
			}
			var attrs [7]slog.Attr
			attrs[0], attrs[1], attrs[2] = slog.String("request_id", id), slog.String("method", req.Method), slog.String("path", path)
			attrs[3], attrs[4], attrs[5] = slog.Int("status", status), slog.Float64("latency_ms", float64(latency.Nanoseconds())/1e6), slog.String("remote_ip", c.RealIP())
			n := 6
			if err != nil {
				attrs[n] = slog.String("err", err.Error())
				n++
			}
			log.LogAttrs(ctx, level, "request", attrs[:n]...)
			return err
		}
	}
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

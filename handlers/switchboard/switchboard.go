package switchboard

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"switchboard/auth"
	"switchboard/handlers/dialect"
	"switchboard/handlers/keyauth"
	"switchboard/models"
	"switchboard/store"
)

// Store is what the namespace reads and writes; *store.Store is the real
// one.
type Store interface {
	CreateWebhook(ctx context.Context, accountID int64, in store.NewWebhook) (models.Webhook, error)
	Webhooks(ctx context.Context, accountID int64) ([]models.Webhook, error)
	Webhook(ctx context.Context, accountID, id int64) (models.Webhook, error)
	DisableWebhook(ctx context.Context, accountID, id int64, reason string) (models.Webhook, error)
	DeleteWebhook(ctx context.Context, accountID, id int64) error
	WebhookDeliveries(ctx context.Context, accountID, webhookID int64, f store.WebhookDeliveryFilter) ([]models.WebhookDelivery, error)
	EventSource
	InboundStore
}

// EventSource is what the live stream reads: the account's events, its
// last sequence number and the wake-ups of its commits.
type EventSource interface {
	Events(ctx context.Context, accountID int64, f store.EventFilter) ([]models.Event, error)
	LastEventSeq(ctx context.Context, accountID int64) (int64, error)
	SubscribeEvents(accountID int64) (wake <-chan struct{}, cancel func())
}

// Config tunes the namespace; its zero value is the defaults, except
// Catalogs, which the router fills.
type Config struct {
	// BodyLimit caps request bodies, as "2M"; empty means
	// dialect.DefaultBodyLimit.
	BodyLimit string
	// Catalogs are the webhook formats' event names; a format without one
	// takes no "events".
	Catalogs map[models.WebhookFormat]Catalog
	// Stream tunes the live stream.
	Stream StreamConfig
	// Inbound tunes the routes that take mail and SMS in.
	Inbound InboundConfig
}

// InboundConfig tunes POST /switchboard/v1/inbound/email/{inbox} and
// POST /switchboard/v1/inbound/sms; its zero value is the defaults.
type InboundConfig struct {
	// PublicURL is the server's base address as the providers reach it
	// (https://desk.example.com): the SMS provider signs the URL it posted
	// to, which a proxy in front may have changed. Empty: the request's own
	// scheme and host.
	PublicURL string
	// SMSAuthToken is the SMS provider's auth token, the key of its
	// X-Twilio-Signature; empty: every inbound SMS is refused (403).
	SMSAuthToken string
	// EmailLimit is the largest raw email the email route takes, in bytes
	// (0: inbound.DefaultMaxMessageBytes); one larger is answered 413.
	EmailLimit int64
}

// StreamConfig tunes GET /switchboard/v1/events; the zero value of each
// field is its default.
type StreamConfig struct {
	// MaxStreams is the most streams open at once on this server
	// (default DefaultMaxStreams); one more is answered 503.
	MaxStreams int
	// KeepAlive is how often an idle stream gets a comment line
	// (default 15 s), which keeps proxies from closing it.
	KeepAlive time.Duration
	// Poll is how often an account's feed reads the event table without a
	// wake-up (default 5 s), in case one was lost.
	Poll time.Duration
	// Coalesce is the shortest time between two reads of an account's
	// feed (default DefaultCoalesce): commits within it reach the streams
	// in one batch, so that a busy account costs its streams one write per
	// window rather than one per commit, at the price of up to that much
	// delay.
	Coalesce time.Duration
	// MaxCoalesce is the widest the window grows to while an account stays
	// busy (default five times Coalesce, at most 1 s but never below
	// Coalesce): see nextWindow.
	MaxCoalesce time.Duration
	// Buffer is the most batches of events a stream may lag behind its
	// feed (default 64); past it the stream catches up by reading the
	// table itself.
	Buffer int
	// WriteTimeout bounds each write to a stream's client (default 30 s):
	// a client that does not read for that long is dropped.
	WriteTimeout time.Duration
	// Done, when closed, ends every open stream: the server is shutting
	// down (http.Server.Shutdown does not end streams by itself).
	Done <-chan struct{}
}

// DefaultMaxStreams is StreamConfig.MaxStreams's default.
const DefaultMaxStreams = 1000

// DefaultCoalesce is StreamConfig.Coalesce's default. With 100 streams of
// a busy account open (BenchmarkStream_Writes, two cores shared with other
// work, so the figures are rough), writers kept 0.5 to 0.8 of their
// throughput with 20 ms and about 0.9 with 100 ms; 50 ms sits between, and
// its delay is a twentieth of the second a stream is allowed.
const DefaultCoalesce = 50 * time.Millisecond

// withDefaults returns c with its zero fields set to their defaults.
func (c StreamConfig) withDefaults() StreamConfig {
	if c.MaxStreams <= 0 {
		c.MaxStreams = DefaultMaxStreams
	}
	if c.KeepAlive <= 0 {
		c.KeepAlive = 15 * time.Second
	}
	if c.Poll <= 0 {
		c.Poll = 5 * time.Second
	}
	if c.Coalesce <= 0 {
		c.Coalesce = DefaultCoalesce
	}
	if c.MaxCoalesce <= 0 {
		c.MaxCoalesce = max(c.Coalesce, min(5*c.Coalesce, time.Second))
	}
	if c.Buffer <= 0 {
		c.Buffer = 64
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 30 * time.Second
	}
	return c
}

// The namespace's paths.
const (
	prefix          = "/switchboard/v1"
	pathWebhooks    = prefix + "/webhooks"
	pathWebhook     = prefix + "/webhooks/:id"
	pathDisable     = prefix + "/webhooks/:id/disable"
	pathDeliveries  = prefix + "/webhooks/:id/deliveries"
	pathEventStream = prefix + "/events"
)

type api struct {
	store   Store
	inbound InboundStore
	// inboundCfg tunes the inbound routes.
	inboundCfg InboundConfig
	catalogs   map[models.WebhookFormat]Catalog
	stream     StreamConfig
	feeds      *feeds
	log        *slog.Logger
	// open counts the open streams, under mu.
	mu   sync.Mutex
	open int
}

// route is one route of the namespace and the key scope it needs.
type route struct {
	method, path string
	scope        auth.Scope
	handler      func(*api, echo.Context) error
}

// routes lists the namespace's routes.
func routes() []route {
	return []route{
		{http.MethodGet, pathWebhooks, auth.ScopeAdmin, (*api).listWebhooks},
		{http.MethodPost, pathWebhooks, auth.ScopeAdmin, (*api).createWebhook},
		{http.MethodGet, pathWebhook, auth.ScopeAdmin, (*api).getWebhook},
		{http.MethodDelete, pathWebhook, auth.ScopeAdmin, (*api).deleteWebhook},
		{http.MethodPost, pathDisable, auth.ScopeAdmin, (*api).disableWebhook},
		{http.MethodGet, pathDeliveries, auth.ScopeAdmin, (*api).listDeliveries},
		{http.MethodGet, pathEventStream, auth.ScopeRead, (*api).streamEvents},
	}
}

// Register adds the namespace's routes to e. Each runs, inside the
// namespace's error rendering, the shared middleware before
// authentication (deps.Before), the bearer key check (deps.Keys), the
// route's scope check (admin for the webhooks, read for the stream), then
// the shared middleware after authentication (deps.After). The inbound
// routes (inbound.go) run deps.Before alone and check the provider's
// signature or the inbox's secret themselves.
func Register(e *echo.Echo, deps dialect.Deps, cfg Config) {
	register(e, deps.Store, deps, cfg)
}

// register is Register over st, which the tests may replace.
func register(e *echo.Echo, st Store, deps dialect.Deps, cfg Config) {
	a := &api{store: st, inbound: st, inboundCfg: cfg.Inbound, catalogs: cfg.Catalogs, stream: cfg.Stream.withDefaults(), log: deps.Logger()}
	a.feeds = newFeeds(st, a.stream, deps.Logger())
	before := append([]echo.MiddlewareFunc{renderErrors(deps.Logger())}, deps.Before(cfg.BodyLimit)...)
	after := deps.After()
	var routed []*echo.Route
	for _, r := range routes() {
		chain := append(slices.Clone(before), keyauth.Require(deps.Keys, errMissingKey), keyauth.RequireScope(r.scope))
		chain = append(chain, after...)
		h := r.handler
		routed = append(routed, e.Add(r.method, r.path, func(c echo.Context) error { return h(a, c) }, chain...))
	}
	// The providers that post to the inbound routes hold no API key: each
	// route checks its own credentials, under its own body limit.
	for _, r := range inboundRoutes(cfg.Inbound.emailLimit()) {
		chain := append([]echo.MiddlewareFunc{renderErrors(deps.Logger())}, deps.Before(r.bodyLimit)...)
		h := r.handler
		routed = append(routed, e.Add(r.method, r.path, func(c echo.Context) error { return h(a, c) }, chain...))
	}
	dialect.Fallback(e, routed, []string{prefix}, before...)
}

// Package console is the agents' web console at /console: server-rendered
// html/template pages over the same store operations the dialects use, so
// that what an agent writes here every dialect reads, and the reverse.
//
// Pages, styles and scripts are embedded in the binary (assets/, templates/),
// with htmx vendored at a pinned version (assets/vendor/htmx); nothing is
// fetched from anywhere else. An agent signs in with the email and password
// that REVE's Basic auth takes, checked by the same auth.Basic (bcrypt, the
// failed-login throttle), and gets a server-side session (the cookie holds a
// random token, the store its SHA-256). Every POST carries the session's
// CSRF token, in a form field or the X-CSRF-Token header. The open pages
// follow the account's event stream (/console/events) and reload the parts
// that changed.
package console

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"switchboard/handlers/dialect"
	"switchboard/models"
	"switchboard/store"
)

// Store is what the console reads and writes; *store.Store is the real one.
type Store interface {
	CreateConsoleSession(ctx context.Context, in store.NewConsoleSession) (store.ConsoleSession, error)
	ConsoleSessionByToken(ctx context.Context, tokenHash string) (store.ConsoleSessionView, error)
	DeleteConsoleSession(ctx context.Context, tokenHash string) error
	DeleteConsoleSessionsOf(ctx context.Context, accountID, agentID int64) (int64, error)
	ExpireConsoleSessions(ctx context.Context, at time.Time) (int64, error)

	Agent(ctx context.Context, accountID, id int64) (models.Agent, error)
	AgentPage(ctx context.Context, accountID int64, offset, limit int) ([]models.Agent, int64, error)
	AccountInboxes(ctx context.Context, accountID int64) ([]models.Inbox, error)

	Inbox(ctx context.Context, accountID int64, q store.InboxQuery) ([]store.CaseView, bool, error)
	UnreadCounts(ctx context.Context, accountID int64) (store.UnreadCounts, error)
	Case(ctx context.Context, accountID, id int64) (store.CaseView, error)
	MarkCaseRead(ctx context.Context, accountID, caseID int64) error
	ListMessages(ctx context.Context, accountID, caseID int64, q store.MessageQuery) ([]store.MessageView, int64, error)
	AddMessage(ctx context.Context, accountID, caseID int64, in store.NewMessage) (store.MessageView, error)
	AddEmail(ctx context.Context, accountID, caseID int64, in store.NewEmail) (store.SentMessage, error)
	AddSMS(ctx context.Context, accountID, caseID int64, in store.NewSMS) (store.SentMessage, error)
	SetCaseStatus(ctx context.Context, accountID, id int64, status models.CaseStatus, by *int64) (store.CaseView, error)
	AssignCase(ctx context.Context, accountID, id int64, agentID *int64) (store.CaseView, error)
	RetryDelivery(ctx context.Context, accountID, messageID int64) error

	ListOfflineCases(ctx context.Context, accountID, page int64, size int) ([]store.OfflineCase, error)

	SubscribeEvents(accountID int64) (wake <-chan struct{}, cancel func())
}

// Config tunes the console; its zero value is the defaults.
type Config struct {
	// SessionTTL is how long a sign-in lasts (default DefaultSessionTTL).
	SessionTTL time.Duration
	// BodyLimit caps form bodies, as "64K"; empty means 256K.
	BodyLimit string
	// PageSize is how many cases an inbox page shows (default 50).
	PageSize int
	// MaxStreams is the most live streams (/console/events) open at once on
	// this server (default 1000); one more is answered 503.
	MaxStreams int
	// KeepAlive is how often an idle stream gets a comment line (default
	// 15 s).
	KeepAlive time.Duration
	// Done, when closed, ends every open stream: the server is shutting
	// down.
	Done <-chan struct{}
	// BuildWebhook checks a new webhook subscription from the admin page's
	// form (events nil: all of them; secret "": a new one) and returns what
	// the store takes, or store.FieldErrors. It is the REST route's and the
	// CLI's check, which the router fills in (the console imports no other
	// dialect); nil leaves the admin page unable to create webhooks.
	BuildWebhook func(url, format string, events []string, secret string) (store.NewWebhook, error)
}

// DefaultSessionTTL is Config.SessionTTL's default: a working day.
const DefaultSessionTTL = 12 * time.Hour

func (c Config) withDefaults() Config {
	if c.SessionTTL <= 0 {
		c.SessionTTL = DefaultSessionTTL
	}
	if c.BodyLimit == "" {
		c.BodyLimit = "256K"
	}
	if c.PageSize <= 0 {
		c.PageSize = 50
	}
	if c.MaxStreams <= 0 {
		c.MaxStreams = 1000
	}
	if c.KeepAlive <= 0 {
		c.KeepAlive = 15 * time.Second
	}
	return c
}

// The console's paths.
const (
	prefix       = "/console"
	pathLogin    = prefix + "/login"
	pathLogout   = prefix + "/logout"
	pathInbox    = prefix + "/inbox"
	pathUnread   = prefix + "/unread"
	pathEvents   = prefix + "/events"
	pathCase     = prefix + "/cases/:id"
	pathMessages = prefix + "/cases/:id/messages"
	pathReply    = prefix + "/cases/:id/reply"
	pathNote     = prefix + "/cases/:id/note"
	pathStatus   = prefix + "/cases/:id/status"
	pathAssign   = prefix + "/cases/:id/assign"
	pathRetry    = prefix + "/cases/:id/messages/:message/retry"
	pathOffline  = prefix + "/offline"
	pathAssets   = prefix + "/assets/:name"
	pathAdmin    = prefix + "/admin"
)

// console holds what the handlers share.
type console struct {
	store     Store
	admin     AdminStore
	keys      dialect.Keys
	passwords dialect.Passwords
	cfg       Config
	pages     *pages
	log       *slog.Logger

	mu      sync.Mutex
	streams int
}

// access is who may use a route.
type access int

const (
	// public routes need no session (the sign-in page, the assets).
	public access = iota
	// agents: any signed-in agent.
	agents
	// admins: signed-in admins and superadmins.
	admins
	// superadmins: signed-in superadmins only.
	superadmins
)

type route struct {
	method, path string
	access       access
	handler      func(*console, echo.Context) error
}

func routes() []route {
	return []route{
		{http.MethodGet, prefix, agents, (*console).inboxPage},
		{http.MethodGet, pathLogin, public, (*console).loginPage},
		{http.MethodPost, pathLogin, public, (*console).login},
		{http.MethodPost, pathLogout, agents, (*console).logout},
		{http.MethodGet, pathInbox, agents, (*console).inboxRows},
		{http.MethodGet, pathUnread, agents, (*console).unreadCounts},
		{http.MethodGet, pathEvents, agents, (*console).events},
		{http.MethodGet, pathCase, agents, (*console).casePage},
		{http.MethodGet, pathMessages, agents, (*console).messageList},
		{http.MethodPost, pathReply, agents, (*console).reply},
		{http.MethodPost, pathNote, agents, (*console).note},
		{http.MethodPost, pathStatus, agents, (*console).setStatus},
		{http.MethodPost, pathAssign, agents, (*console).assign},
		{http.MethodPost, pathRetry, agents, (*console).retry},
		{http.MethodGet, pathOffline, superadmins, (*console).offlinePage},
		{http.MethodGet, pathAssets, public, (*console).asset},
		{http.MethodGet, pathAdmin, admins, (*console).adminPage},
		{http.MethodPost, pathAdmin + "/keys", admins, (*console).createKey},
		{http.MethodPost, pathAdmin + "/keys/:key/revoke", admins, (*console).revokeKey},
		{http.MethodPost, pathAdmin + "/agents", admins, (*console).createAgent},
		{http.MethodPost, pathAdmin + "/agents/:agent", admins, (*console).updateAgent},
		{http.MethodPost, pathAdmin + "/inboxes", admins, (*console).createInbox},
		{http.MethodPost, pathAdmin + "/webhooks", admins, (*console).createWebhook},
		{http.MethodPost, pathAdmin + "/webhooks/:webhook/disable", admins, (*console).disableWebhook},
		{http.MethodGet, pathAdmin + "/webhooks/:webhook/failed", admins, (*console).failedDeliveries},
	}
}

// Register adds the console's routes to e. Each runs, inside the console's
// error pages, the shared middleware before authentication (deps.Before:
// recovery, the body limit, the per-address limit), then, for every route
// but the sign-in page and the assets, the session check, and for every
// POST the CSRF check. It panics when the embedded templates do not parse.
func Register(e *echo.Echo, deps dialect.Deps, cfg Config) {
	register(e, deps.Store, deps, cfg)
}

func register(e *echo.Echo, st interface {
	Store
	AdminStore
}, deps dialect.Deps, cfg Config) {
	cfg = cfg.withDefaults()
	pg, err := parsePages()
	if err != nil {
		panic(err)
	}
	c := &console{store: st, admin: st, keys: deps.Keys, passwords: deps.Passwords, cfg: cfg, pages: pg, log: deps.Logger()}
	before := append([]echo.MiddlewareFunc{c.renderErrors, securityHeaders}, deps.Before(cfg.BodyLimit)...)
	for _, r := range routes() {
		chain := slices.Clone(before)
		if r.access != public {
			chain = append(chain, c.requireSession(r.access))
			if r.method == http.MethodPost {
				chain = append(chain, requireCSRF)
			}
		}
		h := r.handler
		e.Add(r.method, r.path, func(ec echo.Context) error { return h(c, ec) }, chain...)
	}
}

// policy lets a page load only the console's own scripts, styles and
// images, connect only back to the server, and post only to it.
const policy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// securityHeaders sets the console's Content-Security-Policy and keeps its
// pages out of frames and caches.
func securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Security-Policy", policy)
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		return next(c)
	}
}

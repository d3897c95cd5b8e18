// Package acquire serves the Acquire REST API v1 dialect: bearer API keys,
// x-user-type, ISO-8601 millisecond times and {"error":{"type":"ERROR_..."}} bodies.
//
// Routes (under /api/v1, and the same without that prefix): POST crm/messenger/chat/add-message (scope chat),
// POST mail/add-message (scope email), POST voip/send-sms (scope sms);
// GET crm/messenger/chat/messages, crm/objects/case, crm/objects/case/{id},
// crm/objects/contact and crm/objects/contact/{id} (scope read). Each handler only returns errors; renderErrors turns them
// into Acquire's bodies through one table (errors.go). Request structs and
// their checks live beside each handler, response structs and their
// converters in convert.go.
package acquire

import (
	"context"
	"encoding/base64"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"switchboard/auth"
	"switchboard/bytesize"
	"switchboard/delivery"
	"switchboard/handlers/dialect"
	"switchboard/handlers/errkind"
	"switchboard/handlers/keyauth"
	"switchboard/models"
	"switchboard/store"
)

// Store is what this dialect reads and writes; *store.Store is the real one.
type Store interface {
	AddMessage(ctx context.Context, accountID, caseID int64, in store.NewMessage) (store.MessageView, error)
	AddEmail(ctx context.Context, accountID, caseID int64, in store.NewEmail) (store.SentMessage, error)
	AddSMS(ctx context.Context, accountID, caseID int64, in store.NewSMS) (store.SentMessage, error)
	Case(ctx context.Context, accountID, id int64) (store.CaseView, error)
	Contact(ctx context.Context, accountID, id int64) (models.Contact, error)
	ContactPage(ctx context.Context, accountID int64, q store.ContactPageQuery) ([]models.Contact, int64, error)
	ListCases(ctx context.Context, accountID int64, q store.CaseQuery) ([]store.CaseView, int64, error)
	ListMessages(ctx context.Context, accountID, caseID int64, q store.MessageQuery) ([]store.MessageView, int64, error)
}

// Config tunes the dialect; its zero value is the defaults.
type Config struct {
	// BodyLimit caps request bodies, as "2M" or "512K"; empty means
	// dialect.DefaultBodyLimit. The mail route takes that much more than
	// its attachments in base64.
	BodyLimit string
	// AttachmentLimit is the most bytes an email's attachments may hold
	// together; 0 means DefaultAttachmentLimit.
	AttachmentLimit int64
	// Fetcher downloads attachments given by URL; nil means a
	// delivery.Fetcher with its defaults, which connects to public
	// addresses only.
	Fetcher Fetcher
}

// The paths Acquire serves, as its documentation spells them. Each is
// served without apiPrefix as well (/voip/send-sms), the short form the
// brief and some of Acquire's pages use.
const (
	apiPrefix = "/api/v1"

	pathChatAddMessage = "/api/v1/crm/messenger/chat/add-message"
	pathChatMessages   = "/api/v1/crm/messenger/chat/messages"
	pathMailAddMessage = "/api/v1/mail/add-message"
	pathSendSMS        = "/api/v1/voip/send-sms"
	pathCases          = "/api/v1/crm/objects/case"
	pathCase           = "/api/v1/crm/objects/case/:id"
	pathContacts       = "/api/v1/crm/objects/contact"
	pathContact        = "/api/v1/crm/objects/contact/:id"
)

type api struct {
	store           Store
	fetcher         Fetcher
	attachmentLimit int64
}

// route is one Acquire route and the key scope it needs.
type route struct {
	method, path string
	scope        auth.Scope
	handler      func(*api, echo.Context) error
}

// routes lists the dialect's routes.
func routes() []route {
	return []route{
		{http.MethodPost, pathChatAddMessage, auth.ScopeChat, (*api).addChatMessage},
		{http.MethodPost, pathMailAddMessage, auth.ScopeEmail, (*api).addMail},
		{http.MethodPost, pathSendSMS, auth.ScopeSMS, (*api).sendSMS},
		{http.MethodGet, pathChatMessages, auth.ScopeRead, (*api).listChatMessages},
		{http.MethodGet, pathCases, auth.ScopeRead, (*api).listCases},
		{http.MethodGet, pathCase, auth.ScopeRead, (*api).getCase},
		{http.MethodGet, pathContacts, auth.ScopeRead, (*api).listContacts},
		{http.MethodGet, pathContact, auth.ScopeRead, (*api).getContact},
	}
}

// Register adds the dialect's routes to e. Each route runs, inside
// Acquire's error rendering, the shared middleware before authentication
// (deps.Before), the bearer key check (deps.Keys) and the route's scope
// check, then the shared middleware after authentication (deps.After). The
// mail route's body limit has room for cfg.AttachmentLimit in base64.
func Register(e *echo.Echo, deps dialect.Deps, cfg Config) {
	register(e, deps.Store, deps, cfg)
}

// register is Register over st, which the tests replace.
func register(e *echo.Echo, st Store, deps dialect.Deps, cfg Config) {
	a := &api{store: st, fetcher: cfg.Fetcher, attachmentLimit: cfg.AttachmentLimit}
	if a.fetcher == nil {
		a.fetcher = delivery.NewFetcher(delivery.FetchOptions{})
	}
	if a.attachmentLimit <= 0 {
		a.attachmentLimit = DefaultAttachmentLimit
	}
	before := append([]echo.MiddlewareFunc{renderErrors(deps.Logger())}, deps.Before(cfg.BodyLimit)...)
	mailBefore := append([]echo.MiddlewareFunc{renderErrors(deps.Logger())}, deps.Before(mailBodyLimit(cfg.BodyLimit, a.attachmentLimit))...)
	after := deps.After()
	var routed []*echo.Route
	for _, r := range routes() {
		pre := before
		if r.path == pathMailAddMessage {
			pre = mailBefore
		}
		chain := append(slices.Clone(pre), keyauth.Require(deps.Keys, errMissingKey), keyauth.RequireScope(r.scope))
		chain = append(chain, after...)
		h := r.handler
		handle := func(c echo.Context) error { return h(a, c) }
		routed = append(routed, e.Add(r.method, r.path, handle, chain...),
			e.Add(r.method, strings.TrimPrefix(r.path, apiPrefix), handle, chain...))
	}
	dialect.Fallback(e, routed, prefixes(), before...)
}

// prefixes returns the paths Acquire's routes are under: /api/v1, and the
// first segments of the same routes without it.
func prefixes() []string { return []string{apiPrefix, "/crm", "/mail", "/voip"} }

// mailBodyLimit returns the body limit of the mail route: bodyLimit (the
// other routes', "" for dialect.DefaultBodyLimit) plus attachmentLimit
// bytes in base64, which is 4/3 larger, so that an email with attachments
// at the limit is read and the limit is told by its own 413.
func mailBodyLimit(bodyLimit string, attachmentLimit int64) string {
	if bodyLimit == "" {
		bodyLimit = dialect.DefaultBodyLimit
	}
	n, err := bytesize.Parse(bodyLimit)
	if err != nil {
		// Left to the body limit middleware, which reports it.
		return bodyLimit
	}
	return strconv.FormatInt(n+int64(base64.StdEncoding.EncodedLen(int(attachmentLimit))), 10)
}

// idState says what a client's id turned out to be.
type idState int

const (
	idMissing idState = iota
	idOK
	// idHuge is a positive integer too large for int64: no row has it.
	idHuge
	idBad
)

// pathID reads the route's {id} as the id of an entity ("case",
// "contact"). It returns ERROR_INVALID_INPUT for one that is not a positive
// integer, and the entity's not-found error for one too large for any row.
func pathID(c echo.Context, entity string) (int64, error) {
	raw := c.Param("id")
	id, st := parseID(raw)
	switch st {
	case idMissing, idBad:
		return 0, invalidInput("id: must be a positive integer, not %q", raw)
	case idHuge:
		return 0, errkind.LookupPath(store.ErrNotFound, entity, raw)
	}
	return id, nil
}

// parseID reads a decimal id from a path or query string: digits only, not
// zero. Empty is idMissing.
func parseID(s string) (int64, idState) {
	if s == "" {
		return 0, idMissing
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0, idBad
		}
	}
	trimmed := strings.TrimLeft(s, "0")
	if trimmed == "" {
		return 0, idBad
	}
	n, err := strconv.ParseInt(trimmed, 10, 64)
	if err != nil {
		return 0, idHuge
	}
	return n, idOK
}

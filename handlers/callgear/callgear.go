// Package callgear serves the CallGear Data API dialect: JSON-RPC 2.0 on one
// endpoint, the access token in the params, and JSON-RPC error objects with
// CallGear's codes and mnemonics.
//
// Most answers are HTTP 200, errors included: a body over the limit is 413,
// an unavailable database 503 (with Retry-After: 1), a bug 500, and a bad,
// busy or reused Idempotency-Key 400, 409 or 422, each still with a JSON-RPC
// error object. An exceeded rate limit is HTTP 200 with -32029
// limit_exceeded and Retry-After. As CallGear documents, only successful
// calls are charged to the limits, whose state every result reports in
// metadata.limits. Parameters are strict, as CallGear's are: a
// wrong JSON type, a missing required parameter and a parameter the method
// does not take are all refused, and every problem of a request is listed:
// the error's message, data.mnemonic, data.field and data.value describe the
// first, and data.params lists them all when there are two or more. field and
// value are left out (not null) when the error is not about one parameter.
package callgear

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/labstack/echo/v4"

	"switchboard/auth"
	"switchboard/handlers/dialect"
	"switchboard/handlers/errkind"
	"switchboard/handlers/guard"
	"switchboard/models"
	"switchboard/store"
)

// Path is the endpoint's path: CallGear's "/v2.0" under /data-api.
const Path = "/data-api/v2.0"

// VendorPath serves the endpoint at the path of CallGear's own base URL
// (https://dataapi.callgear.com/v2.0), so that a client configured with
// that URL works once its host is ours.
const VendorPath = "/v2.0"

// Store is what this dialect reads and writes.
type Store interface {
	// Account gives the account's time zone, in which CallGear's times are.
	Account(ctx context.Context, id int64) (models.Account, error)
	// Agent checks an upload's user_id: ErrNotFound unless it is the account's.
	Agent(ctx context.Context, accountID, id int64) (models.Agent, error)
	// APIKey and RevokeAPIKey let logout.user end a session key, and only that.
	APIKey(ctx context.Context, id string) (store.KeyOwner, error)
	RevokeAPIKey(ctx context.Context, id string) (models.APIKey, error)
	UploadOfflineMessages(ctx context.Context, accountID int64, items []store.OfflineUpload) ([]int64, error)
	UploadChats(ctx context.Context, accountID int64, items []store.ChatUpload) ([]int64, error)
	DeleteUploaded(ctx context.Context, accountID int64, channel models.Channel, ids []int64) ([]int64, error)
	// The directories and the visitor sessions report (get.employees,
	// get.customer_users, get.sites, get.campaigns,
	// get.visitor_sessions_report).
	AgentList(ctx context.Context, accountID int64, q store.ListQuery) ([]models.Agent, int64, error)
	SiteList(ctx context.Context, accountID int64, q store.ListQuery) ([]models.Site, int64, error)
	CampaignList(ctx context.Context, accountID int64, q store.ListQuery) ([]store.CampaignView, int64, error)
	VisitorSessionReport(ctx context.Context, accountID int64, q store.ListQuery) ([]store.SessionView, int64, error)
	// ReportCases and ReportChatMessages read the get.*_report methods.
	ReportCases(ctx context.Context, accountID int64, ch models.Channel, q store.ListQuery) ([]store.CaseReportRow, int64, error)
	ReportChatMessages(ctx context.Context, accountID int64, chatIDs []int64, q store.ListQuery) ([]store.MessageReportRow, int64, error)
}

// Config tunes the dialect; its zero value is the defaults.
type Config struct {
	// MaxItems is the most offline messages or chats one upload takes
	// (default DefaultMaxItems).
	MaxItems int
	// BodyLimit caps request bodies, as "16M" or "512K" (default
	// DefaultBodyLimit).
	BodyLimit string
}

// DefaultBodyLimit caps request bodies when Config leaves BodyLimit empty;
// uploads are larger than the bodies of the REST dialects.
const DefaultBodyLimit = "16M"

// DefaultMaxItems is the upload batch limit CallGear documents.
const DefaultMaxItems = 500

// SessionKeyName is the name of the session keys login.user issues, as
// `key list` shows them; logout.user revokes session keys
// (models.KeySession) and nothing else.
const SessionKeyName = "login.user session"

// sessionTTL is how long a login.user session lasts, as CallGear's do.
const sessionTTL = time.Hour

type api struct {
	store     Store
	keys      dialect.Keys
	passwords dialect.Passwords
	limits    *guard.Limits
	idem      *guard.Idempotency
	maxItems  int
	now       func() time.Time
}

// method is one JSON-RPC method. run gets the caller its access token names
// (the zero Caller for an anonymous method) and returns the result's data,
// or an error the error table answers.
type method struct {
	run func(a *api, c echo.Context, cl auth.Caller, params map[string]any) (any, error)
	// scope is what the access token must allow ("" for any token).
	scope auth.Scope
	// anonymous methods take no access token (login.user).
	anonymous bool
}

// methodOf returns the method with the name, and false for an unknown one.
func methodOf(name string) (method, bool) {
	switch name {
	case "upload.offline_messages":
		return method{run: (*api).uploadOfflineMessages, scope: auth.ScopeUpload}, true
	case "upload.chats":
		return method{run: (*api).uploadChats, scope: auth.ScopeUpload}, true
	case "login.user":
		return method{run: (*api).loginUser, anonymous: true}, true
	case "logout.user":
		return method{run: (*api).logoutUser}, true
	case "delete.offline_messages":
		return method{run: (*api).deleteOfflineMessages, scope: auth.ScopeUpload}, true
	case "delete.chats":
		return method{run: (*api).deleteChats, scope: auth.ScopeUpload}, true
	case "get.employees":
		return method{run: (*api).getEmployees, scope: auth.ScopeRead}, true
	case "get.customer_users":
		return method{run: (*api).getCustomerUsers, scope: auth.ScopeRead}, true
	case "get.sites":
		return method{run: (*api).getSites, scope: auth.ScopeRead}, true
	case "get.campaigns":
		return method{run: (*api).getCampaigns, scope: auth.ScopeRead}, true
	case "get.visitor_sessions_report":
		return method{run: (*api).getVisitorSessionsReport, scope: auth.ScopeRead}, true
	case "get.offline_messages_report":
		return method{run: (*api).getOfflineMessagesReport, scope: auth.ScopeRead}, true
	case "get.chats_report":
		return method{run: (*api).getChatsReport, scope: auth.ScopeRead}, true
	case "get.chat_messages_report":
		return method{run: (*api).getChatMessagesReport, scope: auth.ScopeRead}, true
	}
	return method{}, false
}

// Register adds the JSON-RPC endpoint to e. It runs, inside the dialect's
// error rendering, the shared middleware before authentication
// (deps.Before); the access token is in the body, so serve checks it and
// runs the guards (deps.Limits, deps.Idempotency) itself.
func Register(e *echo.Echo, deps dialect.Deps, cfg Config) {
	register(e, deps.Store, deps, cfg)
}

// register is Register over st, which the tests replace.
func register(e *echo.Echo, st Store, deps dialect.Deps, cfg Config) {
	a := &api{store: st, keys: deps.Keys, passwords: deps.Passwords, limits: deps.Limits, idem: deps.Idempotency,
		maxItems: cfg.MaxItems, now: time.Now}
	if a.maxItems <= 0 {
		a.maxItems = DefaultMaxItems
	}
	limit := cfg.BodyLimit
	if limit == "" {
		limit = DefaultBodyLimit
	}
	chain := append([]echo.MiddlewareFunc{renderErrors(deps.Logger())}, deps.Before(limit)...)
	routed := []*echo.Route{e.POST(Path, a.serve, chain...), e.POST(VendorPath, a.serve, chain...)}
	dialect.Fallback(e, routed, []string{"/data-api", VendorPath}, chain...)
}

// serve is POST /data-api/v2.0: it reads one JSON-RPC request, checks its
// access token and the caller's rate limits, runs its method (once per
// Idempotency-Key) and answers its result. Errors go to renderErrors.
func (a *api) serve(c echo.Context) error {
	req, err := readRequest(c)
	if req.id != nil {
		c.Set(ctxID, req.id)
	}
	if err != nil {
		return err
	}
	m, ok := methodOf(req.method)
	if !ok {
		return newError(mMethodNotFound, "method", req.method, "Method %s not found", req.method)
	}
	if m.anonymous {
		data, err := m.run(a, c, auth.Caller{}, req.params)
		if err != nil {
			return err
		}
		return writeResult(c, req.id, resultOf(data))
	}
	cl, err := a.authenticate(c.Request().Context(), req.params, m.scope)
	if err != nil {
		return err
	}
	if err := a.limits.Check(c, cl); err != nil {
		return err
	}
	return a.idem.Do(c, cl.AccountID, func(c echo.Context) error {
		data, err := m.run(a, c, cl, req.params)
		if err != nil {
			return err
		}
		res := resultOf(data)
		if u, ok := a.limits.Charge(c, cl); ok {
			res.Metadata.Limits = limitsOf(u)
		}
		return writeResult(c, req.id, res)
	})
}

// authenticate checks params.access_token and returns its caller, who must
// have the scope unless it is empty. It returns required_parameter_missed
// for a missing, null or empty token, data_type_error for one that is not a
// string, the Keys' errors (an expired, invalid or revoked token) and a
// *auth.ScopeError.
func (a *api) authenticate(ctx context.Context, params map[string]any, scope auth.Scope) (auth.Caller, error) {
	var p problems
	o := newObject(params, &p)
	token, ok := o.str("access_token", true)
	if !ok {
		return auth.Caller{}, p.err()
	}
	if token == "" {
		p.missing("access_token")
		return auth.Caller{}, p.err()
	}
	cl, err := a.keys.AuthenticateAny(ctx, token)
	if err != nil {
		return auth.Caller{}, err
	}
	if scope != "" {
		if err := cl.Require(scope); err != nil {
			return auth.Caller{}, err
		}
	}
	return cl, nil
}

// location returns the account's time zone, in which the dialect reads
// times. It returns the store's errors, and an internal error for a zone
// this binary does not know.
func (a *api) location(ctx context.Context, accountID int64) (*time.Location, error) {
	acct, err := a.store.Account(ctx, accountID)
	if err != nil {
		return nil, fmt.Errorf("account of the caller: %w", err)
	}
	loc, err := time.LoadLocation(acct.Timezone)
	if err != nil {
		return nil, errkind.AsInternal(fmt.Errorf("time zone of account %d: %w", accountID, err))
	}
	return loc, nil
}

// errNoPasswords means the server was wired without a password checker, so
// login.user cannot work.
var errNoPasswords = errors.New("callgear: no password checker configured")

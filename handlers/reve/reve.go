// Package reve serves the REVE Chat REST dialect: HTTP Basic auth for
// superadmins, bare JSON arrays, epoch-millisecond times and REVE's error
// bodies.
package reve

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"switchboard/auth"
	"switchboard/handlers/dialect"
	"switchboard/handlers/errkind"
	"switchboard/models"
	"switchboard/store"
)

// DefaultPageSize is the number of rows on one REVE page; REVE does not
// document its own.
const DefaultPageSize = 20

// Store is what the REVE dialect reads.
type Store interface {
	ListOfflineCases(ctx context.Context, accountID, page int64, size int) ([]store.OfflineCase, error)
	OfflineCase(ctx context.Context, accountID, id int64) (store.OfflineCaseDetail, error)
	ListAgents(ctx context.Context, accountID, page int64, size int) ([]models.Agent, error)
	Agent(ctx context.Context, accountID, id int64) (models.Agent, error)
	ListChats(ctx context.Context, accountID int64, q store.ChatQuery) ([]store.ChatView, error)
	Chat(ctx context.Context, accountID, id int64) (store.ChatView, error)
	ListContactViews(ctx context.Context, accountID, page int64, size int) ([]store.ContactView, error)
	ContactView(ctx context.Context, accountID, id int64) (store.ContactViewDetail, error)
	// Account gives the time zone that REVE's dates (date_from, date_to) are in.
	Account(ctx context.Context, id int64) (models.Account, error)
}

// Config tunes the REVE routes; its zero value is the defaults.
type Config struct {
	// PageSize is the rows per page; 0 means DefaultPageSize.
	PageSize int
	// BodyLimit caps request bodies, as "2M" or "512K"; empty means
	// dialect.DefaultBodyLimit.
	BodyLimit string
}

type api struct {
	store    Store
	pageSize int
	// now is the clock that "today" (the default date_to) is read from.
	now func() time.Time
}

// Register adds the REVE routes to e. Each route runs, inside REVE's error
// rendering, the shared middleware before authentication (deps.Before), the
// Basic auth check of a superadmin (deps.Passwords), then the shared
// middleware after it (deps.After).
func Register(e *echo.Echo, deps dialect.Deps, cfg Config) {
	register(e, deps.Store, deps, cfg)
}

// register is Register over st, which the tests replace.
func register(e *echo.Echo, st Store, deps dialect.Deps, cfg Config) {
	a := &api{store: st, pageSize: cfg.PageSize, now: time.Now}
	if a.pageSize <= 0 {
		a.pageSize = DefaultPageSize
	}
	before := append([]echo.MiddlewareFunc{renderErrors(deps.Logger())}, deps.Before(cfg.BodyLimit)...)
	// The routes of one kind of record: the lists and the other details
	// refuse a caller who is not a superadmin in plain text, the offline
	// message detail in the JSON its page shows, naming the id asked for.
	chain := append(append(slices.Clone(before), requireSuperadmin(deps.Passwords, refuseAll)), deps.After()...)
	detail := append(append(slices.Clone(before), requireSuperadmin(deps.Passwords, refuseOfflineMessage)), deps.After()...)
	// REVE's own examples call the lists with and without the trailing
	// slash; every route takes both.
	routes := []struct {
		path  string
		h     echo.HandlerFunc
		chain []echo.MiddlewareFunc
	}{
		{"/api/offlinemessages", a.listOfflineMessages, chain},
		{"/api/offlinemessages/:id", a.getOfflineMessage, detail},
		{"/api/agents", a.listAgents, chain},
		{"/api/agents/:id", a.getAgent, chain},
		{"/api/chats", a.listChats, chain},
		{"/api/chats/:id", a.getChat, chain},
		{"/api/visitors", a.listVisitors, chain},
		{"/api/visitors/:id", a.getVisitor, chain},
	}
	var registered []*echo.Route
	for _, r := range routes {
		registered = append(registered, e.GET(r.path, r.h, r.chain...), e.GET(r.path+"/", r.h, r.chain...))
	}
	dialect.Fallback(e, registered, []string{Prefix}, before...)
}

// Prefix is the path every REVE route is under.
const Prefix = "/api"

// refuseAll is the error for a caller who is not a superadmin.
func refuseAll(echo.Context) error { return errForbidden }

// refuseOfflineMessage is the error for a caller who is not a superadmin
// asking for one offline message: REVE's page answers that one in JSON,
// with the id asked for.
func refuseOfflineMessage(c echo.Context) error {
	return &detailForbidden{id: c.Param("id")}
}

// requireSuperadmin checks Basic credentials, sent from the client address
// the router trusts, and lets only superadmins through: any other agent
// gets refuse's error.
func requireSuperadmin(authn dialect.Passwords, refuse func(echo.Context) error) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			email, password, ok := c.Request().BasicAuth()
			if !ok {
				return auth.ErrBadCredentials
			}
			caller, err := authn.Authenticate(c.Request().Context(), email, password, c.RealIP())
			if err != nil {
				return err
			}
			if caller.Role != models.RoleSuperadmin {
				return refuse(c)
			}
			c.SetRequest(c.Request().WithContext(auth.WithCaller(c.Request().Context(), caller)))
			return next(c)
		}
	}
}

// caller returns the authenticated caller; requireSuperadmin guarantees one.
func caller(c echo.Context) (auth.Caller, error) {
	cl, ok := auth.CallerFrom(c.Request().Context())
	if !ok {
		return auth.Caller{}, errors.New("reve: no caller in context")
	}
	return cl, nil
}

// parsePositive reads a decimal id or page number as REVE accepts it: digits
// only, not zero. It returns ok=false for anything else; huge=true for a
// positive number too large for int64 (which no row can have).
func parsePositive(s string) (n int64, huge, ok bool) {
	if s == "" {
		return 0, false, false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0, false, false
		}
	}
	trimmed := strings.TrimLeft(s, "0")
	if trimmed == "" {
		return 0, false, false
	}
	n, err := strconv.ParseInt(trimmed, 10, 64)
	if err != nil {
		return 0, true, true
	}
	return n, false, true
}

// pageNo reads the page_no parameter: 1 when absent or empty, REVE's 400
// for anything but a positive number, and past=true for a page too large for
// int64, which is past the end of any list.
func pageNo(c echo.Context) (page int64, past bool, err error) {
	raw := c.QueryParam("page_no")
	if raw == "" {
		return 1, false, nil
	}
	n, huge, ok := parsePositive(raw)
	if !ok {
		return 0, false, badRequest(msgInvalidPageNumber, raw)
	}
	if huge {
		return 0, true, nil
	}
	return n, false, nil
}

// pathID reads the id in the path: REVE's 400 (invalid, a format with the
// raw value) for anything but a positive number and a not-found error of
// the entity for a number too large for int64, which no row has.
func pathID(c echo.Context, invalid, entity string) (int64, error) {
	raw := c.Param("id")
	id, huge, ok := parsePositive(raw)
	if !ok {
		return 0, badRequest(invalid, raw)
	}
	if huge {
		return 0, errkind.LookupPath(store.ErrNotFound, entity, raw)
	}
	return id, nil
}

// listOfflineMessages serves GET /api/offlinemessages: the account's offline
// messages, page_no at a time, newest first. A parameter asking for a filter
// or sort is refused (checkParams).
func (a *api) listOfflineMessages(c echo.Context) error {
	cl, err := caller(c)
	if err != nil {
		return err
	}
	if err := checkParams(c, []string{"page_no"}, offlineMessageFields()); err != nil {
		return err
	}
	page, past, err := pageNo(c)
	if err != nil || past {
		return emptyOr(c, err)
	}
	rows, err := a.store.ListOfflineCases(c.Request().Context(), cl.AccountID, page, a.pageSize)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toOfflineMessages(rows))
}

func (a *api) getOfflineMessage(c echo.Context) error {
	cl, err := caller(c)
	if err != nil {
		return err
	}
	id, err := pathID(c, msgInvalidOfflineMessageID, "offline_message")
	if err != nil {
		return err
	}
	d, err := a.store.OfflineCase(c.Request().Context(), cl.AccountID, id)
	if err != nil {
		return errkind.LookupPath(err, "offline_message", c.Param("id"))
	}
	return c.JSON(http.StatusOK, toOfflineMessageDetail(d))
}

// emptyOr returns err, or with no error answers an empty page: REVE's [].
func emptyOr(c echo.Context, err error) error {
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, []struct{}{})
}

// Package reve serves the REVE Chat REST dialect: HTTP Basic auth for
// superadmins, bare JSON arrays, epoch-millisecond times and REVE's error
// bodies.
package reve

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"switchboard/auth"
	"switchboard/models"
	"switchboard/store"
)

// DefaultPageSize is the number of rows on one REVE page; REVE does not
// document its own.
const DefaultPageSize = 20

// Store is what the REVE dialect reads.
type Store interface {
	ListOfflineMessages(ctx context.Context, accountID, page int64, size int) ([]store.OfflineMessage, error)
	OfflineMessage(ctx context.Context, accountID, id int64) (store.OfflineMessageDetail, error)
}

// Authenticator checks an agent's Basic credentials.
type Authenticator interface {
	Authenticate(ctx context.Context, email, password string) (auth.Caller, error)
}

// Deps are the parts the REVE routes use.
type Deps struct {
	Store Store
	Auth  Authenticator
	Log   *slog.Logger
}

// Config tunes the REVE routes.
type Config struct {
	// PageSize is the rows per page; 0 means DefaultPageSize.
	PageSize int
}

type api struct {
	store    Store
	pageSize int
}

// Register adds the REVE routes to e. Each route runs mw (body limit,
// recovery) inside REVE's error rendering and before the Basic auth check.
func Register(e *echo.Echo, deps Deps, cfg Config, mw ...echo.MiddlewareFunc) {
	a := &api{store: deps.Store, pageSize: cfg.PageSize}
	if a.pageSize <= 0 {
		a.pageSize = DefaultPageSize
	}
	chain := append([]echo.MiddlewareFunc{renderErrors(deps.Log)}, mw...)
	chain = append(chain, requireSuperadmin(deps.Auth))
	// REVE's own examples call the list with and without the trailing slash.
	for _, p := range []string{"/api/offlinemessages", "/api/offlinemessages/"} {
		e.GET(p, a.listOfflineMessages, chain...)
	}
	for _, p := range []string{"/api/offlinemessages/:id", "/api/offlinemessages/:id/"} {
		e.GET(p, a.getOfflineMessage, chain...)
	}
}

// requireSuperadmin checks Basic credentials and lets only superadmins through.
func requireSuperadmin(authn Authenticator) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			email, password, ok := c.Request().BasicAuth()
			if !ok {
				return auth.ErrBadCredentials
			}
			caller, err := authn.Authenticate(c.Request().Context(), email, password)
			if err != nil {
				return err
			}
			if caller.Role != models.RoleSuperadmin {
				return errForbidden
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

func (a *api) listOfflineMessages(c echo.Context) error {
	cl, err := caller(c)
	if err != nil {
		return err
	}
	page := int64(1)
	if raw := c.QueryParam("page_no"); raw != "" {
		n, huge, ok := parsePositive(raw)
		if !ok {
			return badRequest("Invalid Page Number: %s. Please enter a valid Page Number.", raw)
		}
		if huge {
			return c.JSON(http.StatusOK, []offlineMessage{})
		}
		page = n
	}
	rows, err := a.store.ListOfflineMessages(c.Request().Context(), cl.AccountID, page, a.pageSize)
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
	raw := c.Param("id")
	id, huge, ok := parsePositive(raw)
	if !ok {
		return badRequest("Invalid Offline message Id: %s. Please enter a Valid Offline message Id.", raw)
	}
	if huge {
		return withMessage(store.ErrNotFound, notFoundOffline, raw)
	}
	d, err := a.store.OfflineMessage(c.Request().Context(), cl.AccountID, id)
	if err != nil {
		return withMessage(err, notFoundOffline, raw)
	}
	return c.JSON(http.StatusOK, toOfflineMessageDetail(d))
}

const notFoundOffline = "No Record found for Offline Message Id = %s. Please enter a another Offline Message Id."

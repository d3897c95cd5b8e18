package reve

import (
	"net/http"

	"switchboard/handlers/errkind"

	"github.com/labstack/echo/v4"
)

// listVisitors serves GET /api/visitors: the account's contacts, page_no at
// a time, newest first. A parameter asking for a filter or sort is refused
// (checkParams).
func (a *api) listVisitors(c echo.Context) error {
	cl, err := caller(c)
	if err != nil {
		return err
	}
	if err := checkParams(c, []string{"page_no"}, visitorFields()); err != nil {
		return err
	}
	page, past, err := pageNo(c)
	if err != nil || past {
		return emptyOr(c, err)
	}
	rows, err := a.store.ListContactViews(c.Request().Context(), cl.AccountID, page, a.pageSize)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toVisitors(rows))
}

// getVisitor serves GET /api/visitors/{id}: one visitor with its totals.
func (a *api) getVisitor(c echo.Context) error {
	cl, err := caller(c)
	if err != nil {
		return err
	}
	id, err := pathID(c, msgInvalidVisitorID, "visitor")
	if err != nil {
		return err
	}
	v, err := a.store.ContactView(c.Request().Context(), cl.AccountID, id)
	if err != nil {
		return errkind.LookupPath(err, "visitor", c.Param("id"))
	}
	return c.JSON(http.StatusOK, toVisitorDetail(v))
}

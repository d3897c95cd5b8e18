package reve

import (
	"net/http"

	"switchboard/handlers/errkind"

	"github.com/labstack/echo/v4"
)

// listAgents serves GET /api/agents: the account's agents, page_no at a
// time, by id. A parameter asking for a filter or sort is refused
// (checkParams).
func (a *api) listAgents(c echo.Context) error {
	cl, err := caller(c)
	if err != nil {
		return err
	}
	if err := checkParams(c, []string{"page_no"}, agentFields()); err != nil {
		return err
	}
	page, past, err := pageNo(c)
	if err != nil || past {
		return emptyOr(c, err)
	}
	rows, err := a.store.ListAgents(c.Request().Context(), cl.AccountID, page, a.pageSize)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toAgents(rows))
}

// getAgent serves GET /api/agents/{id}.
func (a *api) getAgent(c echo.Context) error {
	cl, err := caller(c)
	if err != nil {
		return err
	}
	id, err := pathID(c, msgInvalidAgentID, "agent")
	if err != nil {
		return err
	}
	ag, err := a.store.Agent(c.Request().Context(), cl.AccountID, id)
	if err != nil {
		return errkind.LookupPath(err, "agent", c.Param("id"))
	}
	return c.JSON(http.StatusOK, toAgent(ag))
}

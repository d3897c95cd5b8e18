package helpcrunch

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"switchboard/handlers/errkind"
	"switchboard/handlers/keyauth"
)

// listAgents is GET /v1/agents: a page of the account's agents by id, as
// {data, total}, paged by offset and limit as GET /v1/customers is. Errors:
// 400 naming each bad offset or limit, and each parameter that asks for a
// filter or a sort (the list has neither).
func (a *api) listAgents(c echo.Context) error {
	cl, err := keyauth.Caller(c)
	if err != nil {
		return err
	}
	var p problems
	offset, limit := readPage(queryValue(c, "offset"), queryValue(c, "limit"), &p)
	refuseFilters(c, &p, []string{"offset", "limit"}, isAgentField)
	if err := p.err(); err != nil {
		return err
	}
	rows, total, err := a.store.AgentPage(c.Request().Context(), cl.AccountID, offset, limit)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toAgents(rows, total))
}

// getAgent is GET /v1/agents/{id}: the same object as in the list. Errors:
// 400 invalid_agent_value for an id that is not a positive number, 404
// entity_not_found for an id that is not the account's.
func (a *api) getAgent(c echo.Context) error {
	cl, err := keyauth.Caller(c)
	if err != nil {
		return err
	}
	id, err := pathID(c, "agent", "invalid_agent_value", "Invalid agent ID")
	if err != nil {
		return err
	}
	ag, err := a.store.Agent(c.Request().Context(), cl.AccountID, id)
	if err != nil {
		return errkind.Lookup(err, "agent", "")
	}
	return c.JSON(http.StatusOK, toAgent(ag))
}

// isAgentField reports whether name is a field of an agent a client could
// filter by.
func isAgentField(name string) bool {
	switch name {
	case "id", "name", "email", "role":
		return true
	}
	return false
}

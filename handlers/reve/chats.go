package reve

import (
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"switchboard/handlers/errkind"
	"switchboard/models"
	"switchboard/store"
)

// epochDate is REVE's default date_from.
const epochDate = "1970-01-01"

// listChats serves GET /api/chats: the account's chats newest first, page_no
// at a time, started between date_from and date_to (yyyy-mm-dd in the
// account's time zone, both days included; by default from 1970-01-01 to
// today), of the agent agent_id or agent_email_id when given. Any other
// parameter asking for a filter or sort is refused (checkParams).
func (a *api) listChats(c echo.Context) error {
	cl, err := caller(c)
	if err != nil {
		return err
	}
	if err := checkParams(c, []string{"page_no", "date_from", "date_to", "agent_id", "agent_email_id"}, chatFields()); err != nil {
		return err
	}
	page, past, err := pageNo(c)
	if err != nil {
		return err
	}
	rawFrom, rawTo := c.QueryParam("date_from"), c.QueryParam("date_to")
	if rawFrom != "" && !validDate(rawFrom) {
		return badRequest(msgInvalidDate, "date_from", rawFrom)
	}
	if rawTo != "" && !validDate(rawTo) {
		return badRequest(msgInvalidDate, "date_to", rawTo)
	}
	// yyyy-mm-dd strings order as their dates do.
	if rawFrom != "" && rawTo != "" && rawFrom > rawTo {
		return badRequest(msgInvalidDateRange, rawFrom, rawTo)
	}
	q := store.ChatQuery{Page: page, Size: a.pageSize}
	if raw := c.QueryParam("agent_id"); raw != "" {
		id, huge, ok := parsePositive(raw)
		switch {
		case !ok:
			return badRequest(msgInvalidAgentID, raw)
		case huge:
			past = true // no agent has it: no chat matches
		default:
			q.AgentID = &id
		}
	}
	if err := agentEmail(c.QueryParam("agent_email_id")); err != nil {
		return err
	}
	// Agent emails are stored normalised (trimmed, lower case).
	q.AgentEmail = models.NormalizeEmail(c.QueryParam("agent_email_id"))
	if past {
		return emptyOr(c, nil)
	}

	ctx := c.Request().Context()
	acct, err := a.store.Account(ctx, cl.AccountID)
	if err != nil {
		return err
	}
	loc, err := time.LoadLocation(acct.Timezone)
	if err != nil {
		return fmt.Errorf("account %d time zone %q: %w", acct.ID, acct.Timezone, err)
	}
	if rawFrom == "" {
		rawFrom = epochDate
	}
	if rawTo == "" {
		rawTo = a.now().In(loc).Format(time.DateOnly)
		if rawFrom > rawTo {
			// A date_from after today, with no date_to: nothing started yet.
			return emptyOr(c, nil)
		}
	}
	from, to := dayStart(rawFrom, loc, 0), dayStart(rawTo, loc, 1)
	switch {
	case from.Year() > maxYear || to.Year() < minYear:
		return emptyOr(c, nil) // no chat starts then
	case from.Year() >= minYear:
		q.From = from
	}
	// Beyond year 9999 the bound stays open: not every backend orders such
	// times, and no chat starts that late.
	if to.Year() <= maxYear {
		q.To = to
	}
	rows, err := a.store.ListChats(ctx, cl.AccountID, q)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toChats(rows))
}

// getChat serves GET /api/chats/{id}.
func (a *api) getChat(c echo.Context) error {
	cl, err := caller(c)
	if err != nil {
		return err
	}
	id, err := pathID(c, msgInvalidChatID, "chat")
	if err != nil {
		return err
	}
	r, err := a.store.Chat(c.Request().Context(), cl.AccountID, id)
	if err != nil {
		return errkind.LookupPath(err, "chat", c.Param("id"))
	}
	return c.JSON(http.StatusOK, toChatDetail(r))
}

// validDate reports whether s is a real date written yyyy-mm-dd.
func validDate(s string) bool {
	if len(s) != len(time.DateOnly) {
		return false
	}
	for i := range len(s) {
		if i == 4 || i == 7 {
			if s[i] != '-' {
				return false
			}
		} else if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	// Parse refuses a month or day out of range, and Feb 29 of a common year.
	_, err := time.Parse(time.DateOnly, s)
	return err == nil
}

// The years a date bound is passed to the store within; outside them it is
// open (or the answer empty).
const minYear, maxYear = 1, 9999

// dayStart returns, in UTC, the start (00:00 in loc) of the day plusDays after
// the valid date s.
func dayStart(s string, loc *time.Location, plusDays int) time.Time {
	d, _ := time.Parse(time.DateOnly, s)
	return time.Date(d.Year(), d.Month(), d.Day()+plusDays, 0, 0, 0, 0, loc).UTC()
}

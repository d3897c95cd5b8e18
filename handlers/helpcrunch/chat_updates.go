package helpcrunch

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"switchboard/handlers/errkind"
	"switchboard/handlers/jsonbody"
	"switchboard/handlers/keyauth"
	"switchboard/models"
	"switchboard/store"
)

// The chat updates come in two forms: PUT /v1/chats/{field} with the chat's
// id in the body ({id, field}), as HelpCrunch documents them, and PUT
// /v1/chats/{id}/{field} with the id in the path, as clients in the wild call
// them. Both answer the chat object as GET /v1/chats/{id} does.

// readUpdate reads the chat a chat update names and the body holding the
// new value. On a per-chat route the path's {id} names it: a path that is not
// a chat id is answered at once (400 invalid_chat_value, 404 for a number
// too large for any row), and an id in the body must be the same (else a 400
// on id, recorded in p). On the others the body's id names it, as a problem
// in p when missing or not a positive integer. Problems of the body are
// recorded in p; a body that is not a JSON object is returned as an error.
func readUpdate(c echo.Context, p *problems) (idValue, *jsonbody.Object, error) {
	perChat := strings.Contains(c.Path(), ":id")
	var path int64
	if perChat {
		n, err := chatID(c)
		if err != nil {
			return idValue{}, nil, err
		}
		path = n
	}
	obj, err := readObject(c, p)
	if err != nil {
		return idValue{}, nil, err
	}
	if !perChat {
		return readID(obj, "id", true), obj, nil
	}
	if body := readID(obj, "id", false); body.Set && (body.Huge || body.N != path) {
		p.add("id", fmt.Sprintf("This value should be equal to %d.", path))
	}
	return idValue{N: path, Set: true}, obj, nil
}

// present reports whether the body has the member name, null or not; a
// null member is marked read.
func present(obj *jsonbody.Object, name string) bool {
	if !slices.Contains(obj.Keys(), name) {
		return false
	}
	if _, ok := obj.Peek(name); !ok {
		obj.Skip(name)
	}
	return true
}

// readNullableID reads the member name, which must be given but may be null
// (clearing what it names; the id is then not Set). A missing member is "not
// blank"; any other value readID refuses is a problem as there.
func readNullableID(obj *jsonbody.Object, name string) idValue {
	if present(obj, name) {
		if _, ok := obj.Peek(name); !ok {
			return idValue{}
		}
	}
	return readID(obj, name, true)
}

// setChatStatus is PUT /v1/chats/status and PUT /v1/chats/{id}/status;
// closing records the key's agent as the closer. Errors: 400 listing a bad
// id (or one that is not the path's) and a bad status, 404 chat_not_found.
func (a *api) setChatStatus(c echo.Context) error {
	cl, err := keyauth.Caller(c)
	if err != nil {
		return err
	}
	var p problems
	id, obj, err := readUpdate(c, &p)
	if err != nil {
		return err
	}
	var status models.CaseStatus
	if name, ok := readString(obj, "status", true); ok {
		if status, ok = chatStatusNamed(name, false); !ok {
			p.add("status", msgChoice)
		}
	}
	if err := p.err(); err != nil {
		return err
	}
	if id.Huge {
		return errkind.Lookup(store.ErrNotFound, "chat", "")
	}
	var by *int64
	if status == models.StatusClosed && cl.AgentID != 0 {
		agentID := cl.AgentID
		by = &agentID
	}
	v, err := a.store.SetCaseStatus(c.Request().Context(), cl.AccountID, id.N, status, by)
	if err != nil {
		// A missing agent is the key's own, gone since.
		return errkind.Lookup(err, "chat", "")
	}
	return c.JSON(http.StatusOK, toChat(v))
}

// setChatAssignee is PUT /v1/chats/assignee and PUT /v1/chats/{id}/assignee:
// assignee is an agent id of the account, or null to unassign the chat.
// Errors: 400 listing a bad id (or one that is not the path's) and a missing
// or bad assignee, 404 chat_not_found, 404 entity_not_found for an agent that
// is not the account's.
func (a *api) setChatAssignee(c echo.Context) error {
	return a.setChatRef(c, "assignee", "agent", a.store.AssignCase)
}

// setChatDepartment is PUT /v1/chats/department and PUT
// /v1/chats/{id}/department: department is a department id of the account
// (GET /v1/departments), or null to take the chat out of its department.
// Errors: 400 listing a bad id (or one that is not the path's) and a missing
// or bad department, 404 chat_not_found, 404 entity_not_found for a
// department that is not the account's.
func (a *api) setChatDepartment(c echo.Context) error {
	return a.setChatRef(c, "department", "department", a.store.SetCaseDepartment)
}

// setChatRef runs a chat update whose body member names a record of the
// account (entity, for a not-found answer) or is null to clear it, and
// answers the updated chat. set is the store's update.
func (a *api) setChatRef(c echo.Context, member, entity string,
	set func(ctx context.Context, accountID, caseID int64, ref *int64) (store.CaseView, error)) error {
	cl, err := keyauth.Caller(c)
	if err != nil {
		return err
	}
	var p problems
	id, obj, err := readUpdate(c, &p)
	if err != nil {
		return err
	}
	ref := readNullableID(obj, member)
	if err := p.err(); err != nil {
		return err
	}
	switch {
	case id.Huge:
		return errkind.Lookup(store.ErrNotFound, "chat", "")
	case ref.Huge:
		return errkind.Lookup(store.ErrNotFound, entity, "")
	}
	v, err := set(c.Request().Context(), cl.AccountID, id.N, ref.ptr())
	if err != nil {
		return errkind.Lookup(err, "chat", "")
	}
	return c.JSON(http.StatusOK, toChat(v))
}

// snoozeChat is PUT /v1/chats/snooze: snoozedUntil is HelpCrunch's time
// (unix seconds, a number or a numeric string, maybe with a fraction). A
// time to come snoozes the chat: it is "on hold" until then. null or a time
// past unsnoozes it: a snoozed chat still on hold is "opened" again (see
// store.SnoozeCase). Errors: 400 listing a bad id and a missing or bad
// snoozedUntil, 404 chat_not_found.
func (a *api) snoozeChat(c echo.Context) error {
	cl, err := keyauth.Caller(c)
	if err != nil {
		return err
	}
	var p problems
	id, obj, err := readUpdate(c, &p)
	if err != nil {
		return err
	}
	until := readSnooze(obj, &p)
	if err := p.err(); err != nil {
		return err
	}
	if id.Huge {
		return errkind.Lookup(store.ErrNotFound, "chat", "")
	}
	v, err := a.store.SnoozeCase(c.Request().Context(), cl.AccountID, id.N, until)
	if err != nil {
		return errkind.Lookup(err, "chat", "")
	}
	return c.JSON(http.StatusOK, toChat(v))
}

// readSnooze reads snoozedUntil, which must be given: nil for null, else the
// time (timeOf), recording in p why it is not one.
func readSnooze(obj *jsonbody.Object, p *problems) *time.Time {
	const name = "snoozedUntil"
	if !present(obj, name) {
		p.add(name, msgBlank)
		return nil
	}
	v, ok := obj.Value(name)
	if !ok {
		return nil
	}
	t, msg := timeOf(v)
	if msg != "" {
		p.add(name, msg)
		return nil
	}
	return &t
}

// Package helpcrunch serves the HelpCrunch REST API v1 dialect: bearer API
// keys, unix-second string times and HelpCrunch's {"errors":[...]} bodies.
package helpcrunch

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"switchboard/auth"
	"switchboard/handlers/dialect"
	"switchboard/handlers/errkind"
	"switchboard/handlers/jsonbody"
	"switchboard/handlers/keyauth"
	"switchboard/models"
	"switchboard/store"
)

// Store is what this dialect reads and writes.
type Store interface {
	AddMessage(ctx context.Context, accountID, caseID int64, in store.NewMessage) (store.MessageView, error)
	ListMessages(ctx context.Context, accountID, caseID int64, q store.MessageQuery) ([]store.MessageView, int64, error)
	Case(ctx context.Context, accountID, id int64) (store.CaseView, error)
	ListCases(ctx context.Context, accountID int64, q store.CaseQuery) ([]store.CaseView, int64, error)
	CreateCase(ctx context.Context, accountID int64, in store.NewCase) (store.CaseView, error)
	SetCaseStatus(ctx context.Context, accountID, id int64, status models.CaseStatus, by *int64) (store.CaseView, error)
	AssignCase(ctx context.Context, accountID, id int64, agentID *int64) (store.CaseView, error)
	SetCaseDepartment(ctx context.Context, accountID, id int64, departmentID *int64) (store.CaseView, error)
	SnoozeCase(ctx context.Context, accountID, id int64, until *time.Time) (store.CaseView, error)
	DepartmentPage(ctx context.Context, accountID int64, offset, limit int) ([]models.Department, int64, error)
	CreateContact(ctx context.Context, accountID int64, in store.NewContact) (models.Contact, error)
	ListContacts(ctx context.Context, accountID int64, q store.ContactQuery) ([]models.Contact, int64, error)
	Contact(ctx context.Context, accountID, id int64) (models.Contact, error)
	AgentPage(ctx context.Context, accountID int64, offset, limit int) ([]models.Agent, int64, error)
	Agent(ctx context.Context, accountID, id int64) (models.Agent, error)
}

// Config tunes the dialect; its zero value is the defaults.
type Config struct {
	// BodyLimit caps request bodies, as "2M" or "512K"; empty means
	// dialect.DefaultBodyLimit.
	BodyLimit string
}

type api struct {
	store Store
}

// Prefix is the path every HelpCrunch route is under.
const Prefix = "/v1"

// Register adds the dialect's routes to e. Each route runs, inside the
// dialect's error rendering, the shared middleware before authentication
// (deps.Before), the bearer key check (deps.Keys), the check of the scope
// the route needs, then the shared middleware after authentication
// (deps.After).
func Register(e *echo.Echo, deps dialect.Deps, cfg Config) {
	a := &api{store: deps.Store}
	before := append([]echo.MiddlewareFunc{renderErrors(deps.Logger())}, deps.Before(cfg.BodyLimit)...)
	chain := append(slices.Clone(before), keyauth.Require(deps.Keys, errUnauthorized))
	after := deps.After()
	with := func(s auth.Scope) []echo.MiddlewareFunc {
		return append(append(chain[:len(chain):len(chain)], keyauth.RequireScope(s)), after...)
	}
	read, chat := with(auth.ScopeRead), with(auth.ScopeChat)

	routed := []*echo.Route{
		e.POST("/v1/messages", a.createMessage, chat...),
		e.GET("/v1/chats", a.listChats, read...),
		e.POST("/v1/chats", a.createChat, chat...),
		e.POST("/v1/chats/search", a.searchChats, read...),
		e.PUT("/v1/chats/status", a.setChatStatus, chat...),
		e.PUT("/v1/chats/assignee", a.setChatAssignee, chat...),
		e.PUT("/v1/chats/department", a.setChatDepartment, chat...),
		e.PUT("/v1/chats/snooze", a.snoozeChat, chat...),
		e.GET("/v1/chats/:id", a.getChat, read...),
		e.PUT("/v1/chats/:id/status", a.setChatStatus, chat...),
		e.PUT("/v1/chats/:id/assignee", a.setChatAssignee, chat...),
		e.PUT("/v1/chats/:id/department", a.setChatDepartment, chat...),
		e.GET("/v1/chats/:id/messages", a.listMessages, read...),
		e.GET("/v1/customers", a.listCustomers, read...),
		e.GET("/v1/customers/:id", a.getCustomer, read...),
		e.POST("/v1/customers", a.createCustomer, chat...),
		e.POST("/v1/customers/search", a.searchCustomers, read...),
		e.GET("/v1/agents", a.listAgents, read...),
		e.GET("/v1/agents/:id", a.getAgent, read...),
		e.GET("/v1/departments", a.listDepartments, read...),
	}
	dialect.Fallback(e, routed, []string{Prefix}, before...)
}

// chatID reads the {id} of a chat route: a positive decimal number. It
// returns 400 invalid_chat_value for anything else, and 404 for a number too
// large for any row.
func chatID(c echo.Context) (int64, error) {
	return pathID(c, "chat", "invalid_chat_value", "Invalid chat ID")
}

// pathID reads the {id} of a route about one entity (a notFoundItems key): a
// positive decimal number. It returns 400 with code and message for anything
// else, and the entity's 404 for a number too large for any row.
func pathID(c echo.Context, entity, code, message string) (int64, error) {
	n, huge, ok := jsonbody.ParseInteger(c.Param("id"))
	switch {
	case !ok || n <= 0:
		return 0, badRequest(code, message)
	case huge:
		return 0, errkind.Lookup(store.ErrNotFound, entity, "")
	}
	return n, nil
}

// createMessage is POST /v1/messages: it writes the message as the agent, or
// as the customer when agent is left out, reopening a closed chat, and
// answers the message. Errors: 400 listing every bad field (text and
// markdownText up to models.MaxTextLen characters), 404 for a chat or agent
// that is not the account's.
func (a *api) createMessage(c echo.Context) error {
	cl, err := keyauth.Caller(c)
	if err != nil {
		return err
	}
	var p problems
	obj, err := readObject(c, &p)
	if err != nil {
		return err
	}
	chat := readID(obj, "chat", true)
	text, _ := readString(obj, "text", true)
	checkText(&p, "text", text, models.MaxTextLen, false)
	markdown, _ := readString(obj, "markdownText", false)
	checkText(&p, "markdownText", markdown, models.MaxTextLen, false)
	agent := readID(obj, "agent", false)
	in := store.NewMessage{Sender: models.SenderContact, Text: text, Markdown: markdown, Reopen: true}
	if typ, ok := readString(obj, "type", true); ok {
		switch typ {
		case "message":
			in.Kind = models.KindMessage
		case "private":
			in.Kind = models.KindNote
			// A note is an agent's: a customer's message cannot be private.
			if !obj.Has("agent") {
				p.add("type", msgChoice)
			}
		default:
			p.add("type", msgChoice)
		}
	}
	if err := p.err(); err != nil {
		return err
	}
	if chat.Huge {
		return errkind.Lookup(store.ErrNotFound, "chat", "")
	}
	if agent.Huge {
		return errkind.Lookup(store.ErrNotFound, "agent", "")
	}
	if agent.Set {
		id := agent.N
		in.Sender, in.AgentID = models.SenderAgent, &id
	}
	m, err := a.store.AddMessage(c.Request().Context(), cl.AccountID, chat.N, in)
	if err != nil {
		return errkind.Lookup(err, "chat", "")
	}
	return c.JSON(http.StatusOK, toMessage(m))
}

// readList reads the sort, order, offset and limit of a GET list, recording
// every problem in p, and refuses the parameters that look like filters of
// the resource isField names (refuseFilters). sort is def unless the query
// names a key sortOf knows.
func readList(c echo.Context, def string, sortOf func(string) (string, bool), isField func(string) bool, p *problems) (sort string, asc bool, offset, limit int) {
	sort = def
	if key, ok := readChoice(queryValue(c, "sort"), "sort", p); ok {
		if sort, ok = sortOf(key); !ok {
			sort = def
			p.add("sort", msgChoice)
		}
	}
	asc = readOrder(queryValue(c, "order"), p)
	offset, limit = readPage(queryValue(c, "offset"), queryValue(c, "limit"), p)
	refuseFilters(c, p, []string{"sort", "order", "offset", "limit"}, isField)
	return sort, asc, offset, limit
}

// listChats is GET /v1/chats: a page of every case of the account, of any
// channel. Errors: 400 naming each bad sort, order, offset or limit, and each
// parameter that asks for a filter the list does not have.
func (a *api) listChats(c echo.Context) error {
	cl, err := keyauth.Caller(c)
	if err != nil {
		return err
	}
	var p problems
	q := store.CaseQuery{}
	q.Sort, q.Asc, q.Offset, q.Limit = readList(c, store.CaseStartedAt, chatSort, isChatField, &p)
	if err := p.err(); err != nil {
		return err
	}
	views, total, err := a.store.ListCases(c.Request().Context(), cl.AccountID, q)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toChats(views, total))
}

// searchChats is POST /v1/chats/search: a page of the cases the filters
// select. Errors: 400 naming each bad filter part and paging field.
func (a *api) searchChats(c echo.Context) error {
	cl, err := keyauth.Caller(c)
	if err != nil {
		return err
	}
	var p problems
	obj, err := readObject(c, &p)
	if err != nil {
		return err
	}
	sq, err := readSearch(obj, &p, chatField, chatSort, isChatField)
	if err != nil {
		return err
	}
	q := store.CaseQuery{Filters: sq.Filters, Any: sq.Any, Sort: sq.Sort, Asc: sq.Asc, Offset: sq.Offset, Limit: sq.Limit}
	views, total, err := a.store.ListCases(c.Request().Context(), cl.AccountID, q)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toChats(views, total))
}

// getChat is GET /v1/chats/{id}. Errors: 400 invalid_chat_value, 404
// chat_not_found.
func (a *api) getChat(c echo.Context) error {
	cl, err := keyauth.Caller(c)
	if err != nil {
		return err
	}
	id, err := chatID(c)
	if err != nil {
		return err
	}
	v, err := a.store.Case(c.Request().Context(), cl.AccountID, id)
	if err != nil {
		return errkind.Lookup(err, "chat", "")
	}
	return c.JSON(http.StatusOK, toChat(v))
}

// createChat is POST /v1/chats: a chat-channel case of the customer with no
// messages yet, in the department when one is given. Errors: 400 listing
// every bad field, 404 for a customer, assignee or department that is not
// the account's.
func (a *api) createChat(c echo.Context) error {
	cl, err := keyauth.Caller(c)
	if err != nil {
		return err
	}
	var p problems
	obj, err := readObject(c, &p)
	if err != nil {
		return err
	}
	customer := readID(obj, "customer", true)
	assignee := readID(obj, "assignee", false)
	department := readID(obj, "department", false)
	// application names a HelpCrunch object switchboard does not have;
	// clients send it, so it is accepted and ignored.
	if err := p.err(); err != nil {
		return err
	}
	if customer.Huge {
		return errkind.Lookup(store.ErrNotFound, "customer", "")
	}
	if assignee.Huge {
		return errkind.Lookup(store.ErrNotFound, "agent", "")
	}
	if department.Huge {
		return errkind.Lookup(store.ErrNotFound, "department", "")
	}
	in := store.NewCase{ContactID: customer.N, Channel: models.ChannelChat,
		AssigneeID: assignee.ptr(), DepartmentID: department.ptr()}
	v, err := a.store.CreateCase(c.Request().Context(), cl.AccountID, in)
	if err != nil {
		return errkind.Lookup(err, "customer", "")
	}
	return c.JSON(http.StatusOK, toChat(v))
}

// listMessages is GET /v1/chats/{id}/messages: newest first, notes included.
// Errors: 400 invalid_chat_value, a bad offset or limit, a sort or order
// other than the list's own (createdAt, desc) and any parameter that asks for
// a filter; 404 chat_not_found.
func (a *api) listMessages(c echo.Context) error {
	cl, err := keyauth.Caller(c)
	if err != nil {
		return err
	}
	id, err := chatID(c)
	if err != nil {
		return err
	}
	var p problems
	// The problems come in the order of the other lists: sort, order,
	// offset, limit.
	readMessageOrder(c, &p)
	offset, limit := readPage(queryValue(c, "offset"), queryValue(c, "limit"), &p)
	refuseFilters(c, &p, []string{"sort", "order", "offset", "limit"}, isMessageField)
	if err := p.err(); err != nil {
		return err
	}
	msgs, total, err := a.store.ListMessages(c.Request().Context(), cl.AccountID, id,
		store.MessageQuery{Offset: offset, Limit: limit})
	if err != nil {
		return errkind.Lookup(err, "chat", "")
	}
	return c.JSON(http.StatusOK, toMessages(msgs, total))
}

// listCustomers is GET /v1/customers. Errors: 400 naming each bad sort,
// order, offset or limit, and each parameter that asks for a filter the list
// does not have.
func (a *api) listCustomers(c echo.Context) error {
	cl, err := keyauth.Caller(c)
	if err != nil {
		return err
	}
	var p problems
	q := store.ContactQuery{}
	q.Sort, q.Asc, q.Offset, q.Limit = readList(c, store.ContactCreatedAt, customerSort, isCustomerField, &p)
	if err := p.err(); err != nil {
		return err
	}
	rows, total, err := a.store.ListContacts(c.Request().Context(), cl.AccountID, q)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toCustomers(rows, total))
}

// getCustomer is GET /v1/customers/{id}: the same object as in the list.
// Errors: 400 invalid_customer_value for an id that is not a positive
// number, 404 entity_not_found for an id that is not the account's.
func (a *api) getCustomer(c echo.Context) error {
	cl, err := keyauth.Caller(c)
	if err != nil {
		return err
	}
	id, err := pathID(c, "customer", "invalid_customer_value", "Invalid customer ID")
	if err != nil {
		return err
	}
	ct, err := a.store.Contact(c.Request().Context(), cl.AccountID, id)
	if err != nil {
		return errkind.Lookup(err, "customer", "")
	}
	return c.JSON(http.StatusOK, toCustomer(ct))
}

// searchCustomers is POST /v1/customers/search, with the filter grammar of
// searchChats over customer fields.
func (a *api) searchCustomers(c echo.Context) error {
	cl, err := keyauth.Caller(c)
	if err != nil {
		return err
	}
	var p problems
	obj, err := readObject(c, &p)
	if err != nil {
		return err
	}
	sq, err := readSearch(obj, &p, customerField, customerSort, isCustomerField)
	if err != nil {
		return err
	}
	if sq.Sort == "" {
		sq.Sort = store.ContactCreatedAt
	}
	q := store.ContactQuery{Filters: sq.Filters, Any: sq.Any, Sort: sq.Sort, Asc: sq.Asc, Offset: sq.Offset, Limit: sq.Limit}
	rows, total, err := a.store.ListContacts(c.Request().Context(), cl.AccountID, q)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toCustomers(rows, total))
}

// createCustomer is POST /v1/customers. Errors: 400 for a field that is not a
// string, a bad email or phone, a name or userId over its limit (models) or
// holding control characters, or no field that is not blank.
func (a *api) createCustomer(c echo.Context) error {
	cl, err := keyauth.Caller(c)
	if err != nil {
		return err
	}
	var p problems
	obj, err := readObject(c, &p)
	if err != nil {
		return err
	}
	var in store.NewContact
	in.Name, _ = readString(obj, "name", false)
	checkText(&p, "name", in.Name, models.MaxNameLen, true)
	in.Email, _ = readString(obj, "email", false)
	checkEmail(&p, "email", in.Email)
	in.Phone, _ = readString(obj, "phone", false)
	in.UserID, _ = readString(obj, "userId", false)
	checkText(&p, "userId", in.UserID, models.MaxExtIDLen, true)
	if len(p) == 0 && strings.TrimSpace(in.Name+in.Email+in.Phone+in.UserID) == "" {
		p.add("customer", "At least one of name, email, phone or userId should not be blank.")
	}
	if err := p.err(); err != nil {
		return err
	}
	ct, err := a.store.CreateContact(c.Request().Context(), cl.AccountID, in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toCustomer(ct))
}

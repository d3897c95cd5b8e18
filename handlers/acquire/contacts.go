package acquire

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"switchboard/handlers/errkind"
	"switchboard/handlers/keyauth"
	"switchboard/store"
)

// contactPage is the answer of GET /crm/objects/contact: Acquire's
// {data:{list:[…]}} with the paging of the case list beside it.
type contactPage struct {
	Page   int64           `json:"page"`
	Offset int64           `json:"offset"`
	Limit  int             `json:"limit"`
	Count  int64           `json:"count"`
	List   []contactObject `json:"list"`
}

// contactColumnOf returns the column an Acquire contact column name
// filters, and false for one switchboard cannot filter. Names match in any
// case; name, email and phone may be spelled as the fields they are in the
// contact object (fields.name).
func contactColumnOf(name string) (whereColumn, bool) {
	switch strings.TrimPrefix(strings.ToLower(name), "fields.") {
	case "id":
		return whereColumn{store.ContactID, colInt, false}, true
	case "name":
		return whereColumn{store.ContactName, colText, false}, true
	case "email":
		return whereColumn{store.ContactEmail, colText, false}, true
	case "phone":
		return whereColumn{store.ContactPhone, colText, false}, true
	case "datecreated":
		return whereColumn{store.ContactCreatedAt, colTime, false}, true
	case "dateupdated":
		return whereColumn{store.ContactUpdatedAt, colTime, false}, true
	}
	return whereColumn{}, false
}

// contactColumns are the contact attributes Acquire shows, which a client
// may send as a bare parameter (?email=…) expecting a filter.
func contactColumns() []string {
	return []string{"id", "name", "email", "phone", "fields", "dateCreated", "dateUpdated", "archive", "clientType",
		"company", "tags", "visits", "cases", "timeline", "city", "country"}
}

// listContacts serves GET /api/v1/crm/objects/contact: a page of the
// account's contacts, newest first, filtered by where items, paged as the
// case list is. relations and select are accepted and ignored.
func (a *api) listContacts(c echo.Context) error {
	cl, err := keyauth.Caller(c)
	if err != nil {
		return err
	}
	var fe fieldErrors
	page, offset, limit := parsePage(c, &fe)
	filters := parseWhere(&fe, whereParams(c), contactColumnOf, "contact")
	refuseFilters(c, &fe, []string{"where", "limit", "page", "offset", "relations", "select", "x-user-type"}, contactColumns())
	if err := fe.err(); err != nil {
		return err
	}
	rows, total, err := a.store.ContactPage(c.Request().Context(), cl.AccountID, store.ContactPageQuery{
		Filters: filters, Offset: offset, Limit: limit,
	})
	if err != nil {
		return err
	}
	list := make([]contactObject, len(rows))
	for i, ct := range rows {
		list[i] = toContact(ct)
	}
	return c.JSON(http.StatusOK, dataBody[contactPage]{Data: contactPage{
		Page: page, Offset: offset, Limit: limit, Count: total, List: list,
	}})
}

// getContact serves GET /api/v1/crm/objects/contact/{id}: one contact of
// the account.
func (a *api) getContact(c echo.Context) error {
	cl, err := keyauth.Caller(c)
	if err != nil {
		return err
	}
	id, err := pathID(c, "contact")
	if err != nil {
		return err
	}
	ct, err := a.store.Contact(c.Request().Context(), cl.AccountID, id)
	if err != nil {
		return errkind.LookupPath(err, "contact", strconv.FormatInt(id, 10))
	}
	return c.JSON(http.StatusOK, dataBody[contactObject]{Data: toContact(ct)})
}

package acquire

import (
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"switchboard/handlers/errkind"
	"switchboard/handlers/keyauth"
	"switchboard/handlers/rawquery"
	"switchboard/models"
	"switchboard/store"
)

// Paging of GET /crm/objects/case.
const (
	defaultCaseLimit = 20
	maxCaseLimit     = 100
	// maxWhereValues bounds the values of all where items together: each
	// becomes a bound parameter, and PostgreSQL and SQLite cap those.
	maxWhereValues = 1000
)

// colKind is how a where column reads its values.
type colKind int

const (
	colInt colKind = iota
	colText
	colTime
	// colStatus is Acquire's active|closed, over switchboard's statuses.
	colStatus
	// colChannel is one of switchboard's channels.
	colChannel
)

// whereColumn is a column a where item may name: the store field it filters
// and how its values read. Nullable columns take the value null.
type whereColumn struct {
	field    string
	kind     colKind
	nullable bool
}

// whereColumnOf returns the column an Acquire case column name filters, and
// false for a column switchboard cannot filter. Names match in any case.
// Every date Acquire keeps for a case's start (created, queued, pending,
// active) is switchboard's started_at.
func whereColumnOf(name string) (whereColumn, bool) {
	switch strings.ToLower(name) {
	case "id", "threadid":
		return whereColumn{store.CaseID, colInt, false}, true
	case "contactid":
		return whereColumn{store.CaseContactID, colInt, false}, true
	case "closedby":
		return whereColumn{store.CaseClosedBy, colInt, true}, true
	case "visitid":
		return whereColumn{store.CaseVisitorSessionID, colInt, true}, true
	case "userid":
		return whereColumn{store.CaseAssigneeID, colInt, true}, true
	case "title":
		return whereColumn{store.CaseSubject, colText, false}, true
	case "status":
		return whereColumn{store.CaseStatus, colStatus, false}, true
	case "channel":
		return whereColumn{store.CaseChannel, colChannel, false}, true
	case "datecreated", "datequeue", "datepending", "dateactive":
		return whereColumn{store.CaseStartedAt, colTime, false}, true
	case "dateupdated":
		return whereColumn{store.CaseUpdatedAt, colTime, false}, true
	case "dateclosed":
		return whereColumn{store.CaseClosedAt, colTime, true}, true
	}
	return whereColumn{}, false
}

// whereOp returns the store operator of an Acquire where operator, and false
// for an unknown one.
func whereOp(name string) (store.Op, bool) {
	switch strings.ToLower(name) {
	case "eq":
		return store.OpEq, true
	case "ne", "neq":
		return store.OpNe, true
	case "gt":
		return store.OpGt, true
	case "gte":
		return store.OpGe, true
	case "lt":
		return store.OpLt, true
	case "lte":
		return store.OpLe, true
	case "like":
		return store.OpContains, true
	case "in":
		return store.OpIn, true
	}
	return "", false
}

// whereParams returns the where items of the query: every where parameter,
// then any where[...] ones (as qs-style clients send arrays) by name. Blank
// items are dropped.
func whereParams(c echo.Context) []string {
	q := c.QueryParams()
	items := slices.Clone(q["where"])
	var keys []string
	for k := range q {
		if strings.HasPrefix(k, "where[") {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		items = append(items, q[k]...)
	}
	return slices.DeleteFunc(items, func(s string) bool { return strings.TrimSpace(s) == "" })
}

// columnsOf returns the where column a client's column name filters, and
// false for one that cannot be filtered.
type columnsOf func(name string) (whereColumn, bool)

// parseWhere turns where items (column|operator|value, ANDed) over the
// columns of an object (noun, as "case") into store filters. An item that
// adds no condition (status in active,closed) adds no filter. Every bad
// item is named in fe.
func parseWhere(fe *fieldErrors, items []string, columns columnsOf, noun string) []store.Filter {
	var filters []store.Filter
	values := 0
	for _, item := range items {
		name := fmt.Sprintf("where %q", shorten(item))
		parts := strings.SplitN(item, "|", 3)
		if len(parts) != 3 {
			fe.add(name, "must be column|operator|value")
			continue
		}
		colName, opName, value := strings.TrimSpace(parts[0]), strings.TrimSpace(parts[1]), parts[2]
		col, ok := columns(colName)
		if !ok {
			fe.add(name, "%q is not a %s column that can be filtered", colName, noun)
			continue
		}
		op, ok := whereOp(opName)
		if !ok {
			fe.add(name, "%q is not an operator: use eq, ne, gt, gte, lt, lte, like or in", opName)
			continue
		}
		if op == store.OpIn {
			values += strings.Count(value, ",") + 1
		} else {
			values++
		}
		if values > maxWhereValues {
			fe.add("where", "at most %d values in all", maxWhereValues)
			break
		}
		if !cleanText(value) {
			fe.add(name, "the value must be UTF-8 text without NUL characters")
			continue
		}
		if v, long := longValue(op, value); long {
			fe.add(name, "a value may have at most %d characters, not %d", models.MaxSearchValueLen, utf8.RuneCountInString(v))
			continue
		}
		f, add, msg := whereFilter(col, op, value)
		if msg != "" {
			fe.add(name, "%s", msg)
			continue
		}
		if add {
			filters = append(filters, f)
		}
	}
	return filters
}

// longValue returns the first of an item's values (see splitIn) longer than
// models.MaxSearchValueLen, and whether there is one.
func longValue(op store.Op, value string) (string, bool) {
	for _, v := range splitIn(op, value) {
		if models.TooLong(v, models.MaxSearchValueLen) {
			return v, true
		}
	}
	return "", false
}

// maxShown bounds the characters of a client's value an error message
// repeats.
const maxShown = 64

// shorten returns s cut to maxShown characters, with "…" when it was cut.
func shorten(s string) string {
	if !models.TooLong(s, maxShown) {
		return s
	}
	return models.Truncate(s, maxShown) + "…"
}

// caseColumns are the case attributes Acquire documents (its case object
// and its where columns), which a client may send as a bare parameter
// (?status=active) expecting a filter.
func caseColumns() []string {
	return []string{"id", "title", "description", "channel", "status", "threadId", "closingState", "dateQueue",
		"datePending", "dateActive", "dateClosed", "userId", "waitTime", "contact", "contactId", "closedBy", "visitId",
		"queueId", "meta", "parentId", "dateCreated", "dateUpdated", "tags", "fields"}
}

// messageColumns are the message attributes Acquire shows, which a client
// may send as a bare parameter expecting a filter.
func messageColumns() []string {
	return []string{"id", "caseId", "channel", "senderType", "senderId", "type", "seen", "message", "dateCreated", "dateUpdated"}
}

// refuseFilters records every query parameter that the list does not take
// (known, or where[...] when takesWhere) and that asks for a filter or a sort
// it would not get: a word APIs filter or sort with, a dotted name, or one
// of columns (in any letter case). It records too every parameter net/url
// dropped (see rawquery). Other parameters, such as cache busters, pass.
func refuseFilters(c echo.Context, fe *fieldErrors, known, columns []string) {
	for _, p := range rawquery.Check(c.Request().URL.RawQuery) {
		fe.add(shorten(p.Param), "is malformed: it %s", p.Reason)
	}
	var names []string
	for name := range c.QueryParams() {
		base, _, _ := strings.Cut(name, "[")
		if slices.Contains(known, base) {
			continue
		}
		if filterWord(base) || strings.Contains(base, ".") || slices.ContainsFunc(columns, func(col string) bool {
			return strings.EqualFold(col, base)
		}) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		fe.add(shorten(name), "is not a parameter of this list: filter with where=column|operator|value")
	}
}

// filterWord reports whether name (in any letter case) is a word list APIs
// filter or sort with.
func filterWord(name string) bool {
	switch strings.ToLower(name) {
	case "filter", "filters", "where", "q", "query", "search", "condition",
		"sort", "sortby", "sort_by", "order", "orderby", "order_by", "dir", "direction":
		return true
	}
	return false
}

// whereFilter returns the store filter of one where item, whether it adds a
// condition at all, or a message saying what is wrong with it.
func whereFilter(col whereColumn, op store.Op, value string) (store.Filter, bool, string) {
	f := store.Filter{Field: col.field, Op: op}
	if col.nullable && strings.EqualFold(strings.TrimSpace(value), "null") {
		if op != store.OpEq && op != store.OpNe {
			return f, false, "null works only with eq and ne"
		}
		return f, true, ""
	}
	switch col.kind {
	case colStatus:
		return statusFilter(op, value)
	case colChannel:
		if op != store.OpEq && op != store.OpNe && op != store.OpIn {
			return f, false, "channel works only with eq, ne and in"
		}
		// Acquire knows chat, email and sms; an offline message is a chat
		// to it (caseChannel), so each value becomes the store channels it
		// covers, and ne the channels it does not.
		covered := map[models.Channel]bool{}
		for _, v := range splitIn(op, value) {
			chans, ok := storeChannels(v)
			if !ok {
				return f, false, fmt.Sprintf("%q is not a channel: use chat, email or sms", v)
			}
			for _, ch := range chans {
				covered[ch] = true
			}
		}
		var vals []string
		for _, ch := range []models.Channel{models.ChannelChat, models.ChannelOffline, models.ChannelEmail, models.ChannelSMS} {
			if covered[ch] != (op == store.OpNe) {
				vals = append(vals, string(ch))
			}
		}
		f.Op, f.Value = store.OpIn, vals
		return f, true, ""
	case colText:
		switch op {
		case store.OpContains:
			// SQL-minded clients wrap a like value in %; the match is a
			// substring match anyway.
			f.Value = strings.Trim(value, "%")
		case store.OpIn:
			f.Value = splitIn(op, value)
		default:
			f.Value = value
		}
		return f, true, ""
	case colInt:
		if op == store.OpContains {
			return f, false, "like works only on text columns"
		}
		var ns []int64
		for _, v := range splitIn(op, value) {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return f, false, fmt.Sprintf("%q is not an integer", v)
			}
			ns = append(ns, n)
		}
		if op == store.OpIn {
			f.Value = ns
		} else {
			f.Value = ns[0]
		}
		return f, true, ""
	case colTime:
		if op == store.OpContains || op == store.OpIn {
			return f, false, "dates work only with eq, ne, gt, gte, lt and lte"
		}
		t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(value))
		if err != nil {
			return f, false, fmt.Sprintf("%q is not an ISO-8601 time such as 2021-03-30T16:05:46.000Z", value)
		}
		f.Value = t
		return f, true, ""
	}
	return f, false, "cannot be filtered"
}

// statusFilter maps Acquire's status (active or closed) to switchboard's
// statuses: active is every status but closed.
func statusFilter(op store.Op, value string) (store.Filter, bool, string) {
	f := store.Filter{Field: store.CaseStatus, Value: string(models.StatusClosed)}
	if op != store.OpEq && op != store.OpNe && op != store.OpIn {
		return f, false, "status works only with eq, ne and in"
	}
	active, closed := false, false
	for _, v := range splitIn(op, value) {
		switch strings.ToLower(v) {
		case "active":
			active = true
		case "closed":
			closed = true
		default:
			return f, false, fmt.Sprintf("%q is not a status: use active or closed", v)
		}
	}
	// Which statuses the item keeps: active ones, closed ones or both.
	if op == store.OpNe {
		active, closed = !active, !closed
	}
	switch {
	case active && closed:
		return f, false, ""
	case active:
		f.Op = store.OpNe
	case closed:
		f.Op = store.OpEq
	default:
		// status ne active and closed at once: nothing matches.
		f.Op, f.Value = store.OpIn, []string{}
	}
	return f, true, ""
}

// splitIn returns the values of an item: the comma-separated list for in,
// the one value otherwise, trimmed.
func splitIn(op store.Op, value string) []string {
	if op != store.OpIn {
		return []string{strings.TrimSpace(value)}
	}
	parts := strings.Split(value, ",")
	for i, p := range parts {
		parts[i] = strings.TrimSpace(p)
	}
	return parts
}

// storeChannels returns the store channels an Acquire channel covers, and
// false for a value that is not one of Acquire's channels.
func storeChannels(v string) ([]models.Channel, bool) {
	switch v {
	case "chat":
		return []models.Channel{models.ChannelChat, models.ChannelOffline}, true
	case "email":
		return []models.Channel{models.ChannelEmail}, true
	case "sms":
		return []models.Channel{models.ChannelSMS}, true
	}
	return nil, false
}

// parseCount reads a non-negative integer query parameter: def when absent,
// ok false when it is not a non-negative integer.
func parseCount(c echo.Context, name string, def int64) (n int64, ok bool) {
	raw := strings.TrimSpace(c.QueryParam(name))
	if raw == "" {
		return def, true
	}
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || n < 0 {
		return def, false
	}
	return n, true
}

// parsePage reads a list's paging: limit (1 to maxCaseLimit, default
// defaultCaseLimit), then offset, or else page (0-based) times limit. It
// returns the page the offset falls in and records every bad value in fe.
func parsePage(c echo.Context, fe *fieldErrors) (page, offset int64, limit int) {
	lim, ok := parseCount(c, "limit", defaultCaseLimit)
	if !ok || lim < 1 || lim > maxCaseLimit {
		fe.add("limit", "must be 1 to %d", maxCaseLimit)
		lim = defaultCaseLimit
	}
	page, ok = parseCount(c, "page", 0)
	if !ok {
		fe.add("page", "must be 0 or a positive integer")
	}
	offset, ok = parseCount(c, "offset", -1)
	if !ok {
		fe.add("offset", "must be 0 or a positive integer")
		offset = 0
	} else if offset < 0 {
		if page > math.MaxInt64/lim {
			fe.add("page", "is too large")
		}
		offset = page * lim
	} else {
		page = offset / lim
	}
	return page, offset, int(lim)
}

// listCases serves GET /api/v1/crm/objects/case: a page of the account's
// cases, newest first, filtered by where items. relations and select are
// accepted and ignored: every case carries its contact and users. A
// parameter asking for another filter or a sort (?status=active,
// ?sort=dateCreated) is refused, as is one net/url drops (?where=a;b).
func (a *api) listCases(c echo.Context) error {
	cl, err := keyauth.Caller(c)
	if err != nil {
		return err
	}
	var fe fieldErrors
	page, offset, limit := parsePage(c, &fe)
	filters := parseWhere(&fe, whereParams(c), whereColumnOf, "case")
	refuseFilters(c, &fe, []string{"where", "limit", "page", "offset", "relations", "select", "x-user-type"}, caseColumns())
	if err := fe.err(); err != nil {
		return err
	}
	views, total, err := a.store.ListCases(c.Request().Context(), cl.AccountID, store.CaseQuery{
		Filters: filters, Offset: int(offset), Limit: limit,
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, dataBody[casePage]{Data: casePage{
		Page: page, Offset: offset, Limit: limit, Count: total, Data: toCases(views),
	}})
}

// getCase serves GET /api/v1/crm/objects/case/{id}: one case of the account.
func (a *api) getCase(c echo.Context) error {
	cl, err := keyauth.Caller(c)
	if err != nil {
		return err
	}
	id, err := pathID(c, "case")
	if err != nil {
		return err
	}
	v, err := a.store.Case(c.Request().Context(), cl.AccountID, id)
	if err != nil {
		return errkind.LookupPath(err, "case", strconv.FormatInt(id, 10))
	}
	return c.JSON(http.StatusOK, dataBody[caseObject]{Data: toCase(v)})
}

package console

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"switchboard/models"
	"switchboard/store"
)

// inboxFilter is what the inbox's form asks for, as the query string has it.
type inboxFilter struct {
	Channel, Status, Assignee, Q string
}

// inboxData is the inbox page's data.
type inboxData struct {
	Filter inboxFilter
	Cases  []store.CaseView
	// Me is the signed-in agent's id, for the "mine" filter.
	Me     int64
	Agents []models.Agent
	// More is the next page's address; "" on the last page.
	More string
	// Rows is the address of the first page's rows, which the live stream
	// reloads.
	Rows string
	// Unread is the account's unread cases, which the live stream reloads
	// too.
	Unread unreadData
}

// unreadData is the inbox's unread counts as the page shows them: in all
// and by channel, each "999+" from store.UnreadCap on (the store counts no
// further).
type unreadData struct {
	Total    string
	Channels []unreadChannel
}

// unreadChannel is one channel's unread count.
type unreadChannel struct {
	Channel models.Channel
	Count   string
	// None says the channel has no unread case.
	None bool
}

// newUnreadData returns the counts u as the page shows them.
func newUnreadData(u store.UnreadCounts) unreadData {
	text := func(n int) string {
		if n >= u.Cap {
			return strconv.Itoa(u.Cap-1) + "+"
		}
		return strconv.Itoa(n)
	}
	d := unreadData{Total: text(u.Total())}
	for _, ch := range models.Channels() {
		n := u.ByChannel[ch]
		d.Channels = append(d.Channels, unreadChannel{Channel: ch, Count: text(n), None: n == 0})
	}
	return d
}

// loadUnread reads the account's unread counts.
func (con *console) loadUnread(c echo.Context) (unreadData, error) {
	u, err := con.store.UnreadCounts(c.Request().Context(), sessionOf(c).AccountID)
	if err != nil {
		return unreadData{}, err
	}
	return newUnreadData(u), nil
}

// readInbox reads the inbox's query: channel, status, assignee ("",
// "none" or an agent id), q (a contact's name, email or phone) and after
// (the cursor of the previous page). It returns FieldErrors for a value
// that is none of those.
func readInbox(c echo.Context, pageSize int) (inboxFilter, store.InboxQuery, error) {
	f := inboxFilter{Channel: c.QueryParam("channel"), Status: c.QueryParam("status"), Assignee: c.QueryParam("assignee"), Q: c.QueryParam("q")}
	q := store.InboxQuery{Channel: models.Channel(f.Channel), Status: models.CaseStatus(f.Status), Search: f.Q, Limit: pageSize}
	var fe store.FieldErrors
	switch f.Assignee {
	case "":
	case "none":
		q.Unassigned = true
	default:
		id, err := strconv.ParseInt(f.Assignee, 10, 64)
		if err != nil || id <= 0 {
			fe.Add("assignee", "must be an agent's id or none")
		}
		q.AssigneeID = &id
	}
	if a := c.QueryParam("after"); a != "" {
		cur, ok := parseCursor(a)
		if !ok {
			fe.Add("after", "is not a page's cursor")
		}
		q.After = &cur
	}
	return f, q, fe.Err()
}

// cursorText writes a cursor as "<unix nanoseconds>.<id>", or "-.<id>" for
// a case without messages.
func cursorText(cur store.InboxCursor) string {
	at := "-"
	if cur.At != nil {
		at = strconv.FormatInt(cur.At.UnixNano(), 10)
	}
	return at + "." + strconv.FormatInt(cur.ID, 10)
}

func parseCursor(s string) (store.InboxCursor, bool) {
	at, id, ok := strings.Cut(s, ".")
	n, err := strconv.ParseInt(id, 10, 64)
	if !ok || err != nil || n <= 0 {
		return store.InboxCursor{}, false
	}
	cur := store.InboxCursor{ID: n}
	if at != "-" {
		ns, err := strconv.ParseInt(at, 10, 64)
		if err != nil {
			return store.InboxCursor{}, false
		}
		t := time.Unix(0, ns).UTC()
		cur.At = &t
	}
	return cur, true
}

// query returns the filter as a query string, with after when it is set.
func (f inboxFilter) query(after string) string {
	v := url.Values{}
	for _, p := range []struct{ k, v string }{{"channel", f.Channel}, {"status", f.Status}, {"assignee", f.Assignee}, {"q", f.Q}, {"after", after}} {
		if p.v != "" {
			v.Set(p.k, p.v)
		}
	}
	return v.Encode()
}

// loadInbox reads the page of cases the request asks for.
func (con *console) loadInbox(c echo.Context) (inboxData, error) {
	f, q, err := readInbox(c, con.cfg.PageSize)
	if err != nil {
		return inboxData{Filter: f}, err
	}
	s := sessionOf(c)
	cases, more, err := con.store.Inbox(c.Request().Context(), s.AccountID, q)
	if err != nil {
		return inboxData{Filter: f}, err
	}
	d := inboxData{Filter: f, Cases: cases, Me: s.AgentID, Rows: pathInbox + "?" + f.query("")}
	if more {
		d.More = prefix + "?" + f.query(cursorText(store.CursorOf(cases[len(cases)-1].Case)))
	}
	return d, nil
}

// inboxPage is GET /console: the account's cases, the newest activity
// first, with the filters and search of the query string.
func (con *console) inboxPage(c echo.Context) error {
	d, err := con.loadInbox(c)
	status, problem := http.StatusOK, ""
	if fe := (store.FieldErrors{}); asFieldErrors(err, &fe) {
		status, problem = http.StatusUnprocessableEntity, fe.Error()
	} else if err != nil {
		return err
	}
	agents, _, err := con.store.AgentPage(c.Request().Context(), sessionOf(c).AccountID, 0, store.MaxLimit)
	if err != nil {
		return err
	}
	d.Agents = agents
	if d.Unread, err = con.loadUnread(c); err != nil {
		return err
	}
	return con.render(c, status, "inbox", pageData{Title: "Inbox", Error: problem, Page: d})
}

// inboxRows is GET /console/inbox: the rows of the inbox page the query
// asks for, which the page reloads when the event stream says the account
// changed.
func (con *console) inboxRows(c echo.Context) error {
	d, err := con.loadInbox(c)
	if err != nil {
		return err
	}
	return con.renderPart(c, http.StatusOK, "inbox", "rows", pageData{Page: d})
}

// unreadCounts is GET /console/unread: the inbox's line of unread counts,
// which the page reloads with its rows when the event stream says the
// account changed.
func (con *console) unreadCounts(c echo.Context) error {
	u, err := con.loadUnread(c)
	if err != nil {
		return err
	}
	return con.renderPart(c, http.StatusOK, "inbox", "unread", pageData{Page: inboxData{Unread: u}})
}

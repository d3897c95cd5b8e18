package console

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"switchboard/models"
	"switchboard/store"
)

// caseData is the case page's data.
type caseData struct {
	Case     store.CaseView
	Messages []store.MessageView
	// Total is how many messages the case has; Shown how many the page
	// shows (the first store.MaxLimit).
	Total  int64
	Agents []models.Agent
	// EmailFrom and SMSFrom are the account's addresses a reply may go
	// out from.
	EmailFrom, SMSFrom []models.Inbox
	// Reply is what the agent typed, kept when the reply was refused.
	Reply replyForm
}

// replyForm is the reply form's fields.
type replyForm struct {
	Text, From, To, Cc, Bcc, Subject string
}

func asFieldErrors(err error, fe *store.FieldErrors) bool { return err != nil && errors.As(err, fe) }

// caseID reads the :id of the path; one that is no id is a case that does
// not exist.
func caseID(c echo.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, store.ErrNotFound
	}
	return id, nil
}

// loadCase reads what the case page shows.
func (con *console) loadCase(c echo.Context, id int64) (caseData, error) {
	ctx, s := c.Request().Context(), sessionOf(c)
	cv, err := con.store.Case(ctx, s.AccountID, id)
	if err != nil {
		return caseData{}, err
	}
	msgs, total, err := con.store.ListMessages(ctx, s.AccountID, id, store.MessageQuery{Limit: store.MaxLimit, Oldest: true})
	if err != nil {
		return caseData{}, err
	}
	d := caseData{Case: cv, Messages: msgs, Total: total}
	if d.Agents, _, err = con.store.AgentPage(ctx, s.AccountID, 0, store.MaxLimit); err != nil {
		return caseData{}, err
	}
	inboxes, err := con.store.AccountInboxes(ctx, s.AccountID)
	if err != nil {
		return caseData{}, err
	}
	for _, in := range inboxes {
		switch in.Kind {
		case models.InboxEmail:
			d.EmailFrom = append(d.EmailFrom, in)
		case models.InboxSMS:
			d.SMSFrom = append(d.SMSFrom, in)
		}
	}
	d.Reply = replyForm{To: cv.Contact.Email, Subject: replySubject(cv.Subject)}
	if cv.Channel == models.ChannelSMS {
		d.Reply.To = cv.Contact.Phone
	}
	return d, nil
}

// replySubject is the subject a reply to subject gets.
func replySubject(subject string) string {
	if subject == "" || strings.HasPrefix(strings.ToLower(subject), "re:") {
		return subject
	}
	return "Re: " + subject
}

// casePage is GET /console/cases/{id}: the case's messages, notes and
// events in order, and the forms that reply, note, set its status and
// assign it. Opening the case marks it read, before its messages are read,
// so that a message arriving in between leaves it unread. The reloads of
// an open page (/messages) do not mark it: the agent may not be looking.
func (con *console) casePage(c echo.Context) error {
	id, err := caseID(c)
	if err != nil {
		return err
	}
	if err := con.store.MarkCaseRead(c.Request().Context(), sessionOf(c).AccountID, id); err != nil {
		return err
	}
	d, err := con.loadCase(c, id)
	if err != nil {
		return err
	}
	return con.render(c, http.StatusOK, "case", pageData{Title: caseTitle(d.Case), Page: d})
}

func caseTitle(cv store.CaseView) string {
	name := cv.Contact.Name
	if name == "" {
		name = cv.Contact.Email
	}
	return "Case " + strconv.FormatInt(cv.ID, 10) + " · " + name
}

// messageList is GET /console/cases/{id}/messages: the case's messages,
// which the case page reloads when the event stream says the account
// changed.
func (con *console) messageList(c echo.Context) error {
	id, err := caseID(c)
	if err != nil {
		return err
	}
	d, err := con.loadCase(c, id)
	if err != nil {
		return err
	}
	return con.renderPart(c, http.StatusOK, "case", "messages", pageData{Page: d})
}

// afterWrite answers a form: back to the case page when the write went
// through (303), the page again with the problem when the store refused
// the input (422 for bad fields, 409 for a closed case, 429 for a spent
// quota), and any other error to renderErrors.
func (con *console) afterWrite(c echo.Context, id int64, form replyForm, err error) error {
	if err == nil {
		return seeOther(c, prefix+"/cases/"+strconv.FormatInt(id, 10))
	}
	var fe store.FieldErrors
	var quota *store.QuotaError
	status := 0
	switch {
	case errors.As(err, &fe):
		status = http.StatusUnprocessableEntity
	case errors.Is(err, store.ErrCaseNotActive), errors.Is(err, store.ErrConflict):
		status = http.StatusConflict
	case errors.As(err, &quota):
		status = http.StatusTooManyRequests
	default:
		return err
	}
	d, lerr := con.loadCase(c, id)
	if lerr != nil {
		return lerr
	}
	if form != (replyForm{}) {
		d.Reply = form
	}
	return con.render(c, status, "case", pageData{Title: caseTitle(d.Case), Error: err.Error(), Page: d})
}

// splitAddresses reads a comma- or space-separated list of addresses.
func splitAddresses(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\n' })
}

// reply is POST /console/cases/{id}/reply: the agent's reply by the case's
// channel. A chat or offline message is a message (as HelpCrunch's POST
// /v1/messages writes it, reopening a closed case); an email goes from the
// chosen address with subject, to, cc and bcc, and an SMS from the chosen
// number, each queued for delivery as Acquire's routes queue them.
func (con *console) reply(c echo.Context) error {
	id, err := caseID(c)
	if err != nil {
		return err
	}
	ctx, s := c.Request().Context(), sessionOf(c)
	cv, err := con.store.Case(ctx, s.AccountID, id)
	if err != nil {
		return err
	}
	form := replyForm{Text: c.FormValue("text"), From: c.FormValue("from"), To: c.FormValue("to"), Cc: c.FormValue("cc"),
		Bcc: c.FormValue("bcc"), Subject: c.FormValue("subject")}
	agent := s.AgentID
	switch cv.Channel {
	case models.ChannelEmail:
		_, err = con.store.AddEmail(ctx, s.AccountID, id, store.NewEmail{Sender: models.SenderAgent, AgentID: &agent, From: form.From,
			To: splitAddresses(form.To), Cc: splitAddresses(form.Cc), Bcc: splitAddresses(form.Bcc), Subject: form.Subject, TextBody: form.Text})
	case models.ChannelSMS:
		_, err = con.store.AddSMS(ctx, s.AccountID, id, store.NewSMS{Sender: models.SenderAgent, AgentID: &agent, From: form.From,
			To: strings.TrimSpace(form.To), Body: form.Text})
	default:
		_, err = con.store.AddMessage(ctx, s.AccountID, id, store.NewMessage{Sender: models.SenderAgent, AgentID: &agent,
			Kind: models.KindMessage, Text: form.Text, Reopen: true})
	}
	return con.afterWrite(c, id, form, err)
}

// note is POST /console/cases/{id}/note: a private note, which only agents
// see.
func (con *console) note(c echo.Context) error {
	id, err := caseID(c)
	if err != nil {
		return err
	}
	s := sessionOf(c)
	agent := s.AgentID
	_, err = con.store.AddMessage(c.Request().Context(), s.AccountID, id, store.NewMessage{Sender: models.SenderAgent, AgentID: &agent,
		Kind: models.KindNote, Text: c.FormValue("text"), Reopen: true})
	return con.afterWrite(c, id, replyForm{}, err)
}

// setStatus is POST /console/cases/{id}/status: the case's new status,
// set by the signed-in agent.
func (con *console) setStatus(c echo.Context) error {
	id, err := caseID(c)
	if err != nil {
		return err
	}
	s := sessionOf(c)
	agent := s.AgentID
	st := models.CaseStatus(c.FormValue("status"))
	if !st.Valid() {
		var fe store.FieldErrors
		fe.Add("status", "%q is not a case status", st)
		return con.afterWrite(c, id, replyForm{}, fe)
	}
	_, err = con.store.SetCaseStatus(c.Request().Context(), s.AccountID, id, st, &agent)
	return con.afterWrite(c, id, replyForm{}, err)
}

// assign is POST /console/cases/{id}/assign: the case to the agent of
// the form's agent_id, or to no one when it is empty.
func (con *console) assign(c echo.Context) error {
	id, err := caseID(c)
	if err != nil {
		return err
	}
	var to *int64
	if v := c.FormValue("agent_id"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			var fe store.FieldErrors
			fe.Add("agent_id", "must be an agent's id")
			return con.afterWrite(c, id, replyForm{}, fe)
		}
		to = &n
	}
	_, err = con.store.AssignCase(c.Request().Context(), sessionOf(c).AccountID, id, to)
	var nf *store.NotFoundError
	if errors.As(err, &nf) && nf.Entity == "agent" {
		var fe store.FieldErrors
		fe.Add("agent_id", "is not an agent of this account")
		err = fe
	}
	return con.afterWrite(c, id, replyForm{}, err)
}

// retry is POST /console/cases/{id}/messages/{message}/retry: the failed
// email or SMS of the case is queued again.
func (con *console) retry(c echo.Context) error {
	id, err := caseID(c)
	if err != nil {
		return err
	}
	msg, err := strconv.ParseInt(c.Param("message"), 10, 64)
	if err != nil || msg <= 0 {
		return store.ErrNotFound
	}
	ctx, s := c.Request().Context(), sessionOf(c)
	if _, err := con.store.Case(ctx, s.AccountID, id); err != nil {
		return err
	}
	return con.afterWrite(c, id, replyForm{}, con.store.RetryDelivery(ctx, s.AccountID, msg))
}

// offlineData is the offline messages page's data.
type offlineData struct {
	Cases []store.OfflineCase
	// Page is this page's number from 1; Prev and Next the neighbours' (0:
	// none).
	Page, Prev, Next int64
}

// offlinePage is GET /console/offline (superadmins): the account's
// offline messages as REVE lists them, a page at a time (?page=).
func (con *console) offlinePage(c echo.Context) error {
	page := int64(1)
	if v := c.QueryParam("page"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			var fe store.FieldErrors
			fe.Add("page", "must be a whole number from 1")
			return fe
		}
		page = n
	}
	size := con.cfg.PageSize
	cases, err := con.store.ListOfflineCases(c.Request().Context(), sessionOf(c).AccountID, page, size)
	if err != nil {
		return err
	}
	d := offlineData{Cases: cases, Page: page}
	if len(cases) == size {
		// Perhaps the last page: the next one then shows none.
		d.Next = page + 1
	}
	if page > 1 {
		d.Prev = page - 1
	}
	return con.render(c, http.StatusOK, "offline", pageData{Title: "Offline messages", Page: d})
}

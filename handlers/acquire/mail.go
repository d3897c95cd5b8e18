package acquire

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"switchboard/handlers/errkind"
	"switchboard/handlers/jsonbody"
	"switchboard/handlers/keyauth"
	"switchboard/models"
	"switchboard/store"
)

// maxRecipients bounds the addresses of one email (to, cc and bcc together).
// The hourly quota counts emails, not recipients, so without a bound one
// request could mail tens of thousands of people; 50 is what transactional
// mail providers such as Postmark (whose Message-IDs Acquire's example shows)
// take per message.
const maxRecipients = 50

// mailInput is a checked mail add-message request. The addresses are as
// sent, trimmed; the store normalizes them.
type mailInput struct {
	Case        jsonbody.ID
	ContactID   *jsonbody.ID
	UserType    string
	From        string
	To, Cc, Bcc []string
	Subject     string
	TextBody    string
	HTMLBody    string
	Attachments []attachmentInput
	// AttachmentBytes is the decoded size of the base64 attachments.
	AttachmentBytes int64
}

// parseMail checks a mail add-message request: the body, the x-user-type
// header or query parameter and the contactId query parameter. Every
// member the page marks required (caseId, to, from, cc, bcc, subject,
// contactId, type, textBody, htmlBody, attachments) must be given, arrays
// possibly empty; contactId may come in the query instead. It returns the
// body's errors (413, an empty or malformed body) or one
// ERROR_INVALID_INPUT naming every bad field.
func parseMail(c echo.Context) (mailInput, error) {
	var fe fieldErrors
	obj, err := readJSONObject(c, &fe)
	if err != nil {
		return mailInput{}, err
	}
	in := mailInput{UserType: parseUserType(c, &fe)}
	// Acquire wraps the email in a data object, whose members are named
	// without "data.".
	v, _ := obj.Value("data")
	m, isObject := v.(map[string]any)
	switch {
	case v == nil:
		fe.add("data", "is required: send the email as {\"data\":{\"caseId\":...,\"to\":[...],...}}")
		return in, fe.err()
	case !isObject:
		fe.add("data", "must be an object")
		return in, fe.err()
	}
	d := jsonbody.NewObject(m, nil, fe.report)

	if id, ok := d.ID("caseId"); ok {
		in.Case = id
	}
	in.To = parseAddresses(&fe, d, "to", true)
	if s, ok := d.String("from"); ok {
		s = strings.TrimSpace(s)
		switch {
		case s == "":
			fe.add("from", "is required")
		case !checkAddress(&fe, "from", s):
		case !validAddress(s):
			fe.add("from", "%q is not a valid email address", s)
		default:
			in.From = s
		}
	}
	in.Cc = parseAddresses(&fe, d, "cc", false)
	in.Bcc = parseAddresses(&fe, d, "bcc", false)
	for _, list := range []string{"cc", "bcc"} {
		if !d.Has(list) {
			fe.add(list, "is required: send [] for none")
		}
	}
	if n := len(in.To) + len(in.Cc) + len(in.Bcc); n > maxRecipients {
		fe.add("to", "an email may have at most %d recipients in to, cc and bcc together, not %d", maxRecipients, n)
	}
	if s, ok := d.Text("subject"); ok {
		switch {
		case strings.ContainsAny(s, "\r\n"):
			// A line break would end the Subject header and start another.
			fe.add("subject", "must be one line")
		case !checkLine(&fe, "subject", s):
		case len(s) > models.MaxSubjectBytes:
			// RFC 5322's line limit: the subject is sent as one header line.
			fe.add("subject", "must be at most %d bytes, not %d", models.MaxSubjectBytes, len(s))
		default:
			in.Subject = s
		}
	}
	in.ContactID = parseContactRef(&fe, c.QueryParam("contactId"), d)
	if c.QueryParam("contactId") == "" && !d.Has("contactId") {
		fe.add("contactId", "is required")
	}
	if v, ok := d.Value("type"); !ok {
		fe.add("type", `is required: send "message"`)
	} else if v != string(models.KindMessage) {
		fe.add("type", `must be "message"`)
	}
	text, textOK := requiredText(&fe, d, "textBody", models.MaxEmailBodyLen)
	html, htmlOK := requiredText(&fe, d, "htmlBody", models.MaxEmailBodyLen)
	if textOK && htmlOK && strings.TrimSpace(text) == "" && strings.TrimSpace(html) == "" {
		fe.addMessage("textBody, htmlBody: at least one must not be blank")
	}
	in.TextBody, in.HTMLBody = text, html
	in.Attachments, in.AttachmentBytes = parseAttachments(&fe, d)
	return in, fe.err()
}

// validAddress reports whether s is an email address the store takes.
func validAddress(s string) bool {
	return !strings.ContainsRune(s, 0) && models.ValidEmail(models.NormalizeEmail(s))
}

// checkAddress records field when the address s is longer than
// models.MaxEmailBytes or holds a control character, which validAddress
// would refuse too, but by echoing the value back; it returns whether s
// passed.
func checkAddress(fe *fieldErrors, field, s string) bool {
	if len(s) > models.MaxEmailBytes {
		fe.add(field, "must be at most %d bytes, not %d", models.MaxEmailBytes, len(s))
		return false
	}
	return checkLine(fe, field, s)
}

// parseAddresses reads the recipient list field of d: a JSON array of
// address strings or of {"Name","Email"} objects (the name is not kept:
// switchboard stores bare addresses). It returns the trimmed addresses, nil
// for an absent list, and records each bad item as field[i]. A required
// list must have an item.
func parseAddresses(fe *fieldErrors, d *jsonbody.Object, field string, required bool) []string {
	v, present := d.Value(field)
	if !present {
		if required {
			fe.add(field, "is required")
		}
		return nil
	}
	items, ok := v.([]any)
	if !ok {
		fe.add(field, "must be an array of email addresses")
		return nil
	}
	if required && len(items) == 0 {
		fe.add(field, "needs at least one address")
		return nil
	}
	out := make([]string, 0, len(items))
	for i, item := range items {
		name := d.At(field).Element(i).Full()
		addr, ok := addressItem(item)
		switch {
		case !ok:
			fe.add(name, `must be an email address or an object with "Email"`)
		case !checkAddress(fe, name, addr):
		case !validAddress(addr):
			fe.add(name, "%q is not a valid email address", addr)
		default:
			out = append(out, addr)
		}
	}
	return out
}

// addressItem reads one recipient: a string, or an object whose Email is a
// string. It returns the address trimmed, and false for anything else.
func addressItem(v any) (string, bool) {
	if m, ok := v.(map[string]any); ok {
		v = m["Email"]
	}
	s, ok := v.(string)
	return strings.TrimSpace(s), ok
}

// requiredText reads the required string field of d, of at most max
// characters (it may be empty). It returns false, recording the field, for
// an absent value or one that is not a string, holds a NUL character or is
// too long.
func requiredText(fe *fieldErrors, d *jsonbody.Object, field string, max int) (string, bool) {
	s, ok := d.Text(field)
	if ok && checkLength(fe, field, s, max) {
		return s, true
	}
	return "", false
}

// describe words a field error of store.AddEmail in the request's names.
func (in mailInput) describe(f store.FieldError) string {
	switch {
	case f.Field == "from" && f.Reason == store.ReasonNotFound:
		return fmt.Sprintf("from: %q is not an email inbox of this account", in.From)
	case f.Field == "to" && f.Reason == store.ReasonNotFound:
		return "to: none of the recipients is an email inbox of this account, and an email from the contact must be sent to one"
	}
	field := f.Field
	switch field {
	case "text_body":
		field = "textBody"
	case "html_body":
		field = "htmlBody"
	}
	field = strings.NewReplacer(".content_type", ".contentType", ".source_url", ".url").Replace(field)
	return field + ": " + f.Message
}

// addMail serves POST /api/v1/mail/add-message: it adds an email to an
// active case as the key's agent's reply (x-user-type user; from must be an
// email inbox of the account, and the email is queued for delivery) or as an
// email the case's contact sent (contact; recorded only), and answers with
// the email and its attachments. Attachments given by URL are fetched here,
// before anything is written: a file that cannot be fetched is refused in
// the answer rather than failing the delivery later, and every delivery
// attempt sends the same bytes. Attachments over the limit are a 413; a
// spent hourly email quota is a 429 (store.QuotaError).
func (a *api) addMail(c echo.Context) error {
	cl, err := keyauth.Caller(c)
	if err != nil {
		return err
	}
	in, err := parseMail(c)
	if err != nil {
		return err
	}
	if in.Case.Huge {
		return errkind.Lookup(store.ErrNotFound, "case", shorten(in.Case.Raw))
	}
	ctx := c.Request().Context()
	if err := a.checkContact(ctx, cl.AccountID, in.Case.N, in.ContactID); err != nil {
		return err
	}
	files, err := fetchAttachments(ctx, a.fetcher, in.Attachments, in.AttachmentBytes, a.attachmentLimit)
	if err != nil {
		return err
	}
	ne := store.NewEmail{
		Sender: models.SenderContact, From: in.From, To: in.To, Cc: in.Cc, Bcc: in.Bcc,
		Subject: in.Subject, TextBody: in.TextBody, HTMLBody: in.HTMLBody, Attachments: files, WithCase: true,
	}
	if in.UserType == userTypeUser {
		agentID := cl.AgentID
		ne.Sender, ne.AgentID = models.SenderAgent, &agentID
	}
	sm, err := a.store.AddEmail(ctx, cl.AccountID, in.Case.N, ne)
	if err != nil {
		return errkind.Lookup(errkind.Named(err, described(in.describe)), "case", strconv.FormatInt(in.Case.N, 10))
	}
	return c.JSON(http.StatusOK, dataBody[mailResponse]{Data: toMailResponse(sm, *sm.Case)})
}

package acquire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"switchboard/handlers/errkind"
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

// mailRequest is the body of POST /api/v1/mail/add-message: Acquire wraps the
// email in a data object.
type mailRequest struct {
	Data json.RawMessage `json:"data"`
}

// mailData is the data object of mailRequest, as Acquire's example and
// parameter table spell it. Each field is kept raw so that every bad one is
// named.
type mailData struct {
	CaseID      json.RawMessage `json:"caseId"`
	To          json.RawMessage `json:"to"`
	From        json.RawMessage `json:"from"`
	Cc          json.RawMessage `json:"cc"`
	Bcc         json.RawMessage `json:"bcc"`
	Subject     json.RawMessage `json:"subject"`
	ContactID   json.RawMessage `json:"contactId"`
	Type        json.RawMessage `json:"type"`
	TextBody    json.RawMessage `json:"textBody"`
	HTMLBody    json.RawMessage `json:"htmlBody"`
	Attachments json.RawMessage `json:"attachments"`
}

// caseRef is a case id the client sent: Raw as sent, ID when it fits an
// int64 (Huge when it does not: no case has it).
type caseRef struct {
	Raw  string
	ID   int64
	Huge bool
}

// toCaseRef reads a case id from a JSON value and says what it turned out to
// be (see jsonID).
func toCaseRef(raw json.RawMessage) (caseRef, idState) {
	id, st := jsonID(raw)
	return caseRef{Raw: strings.TrimSpace(string(raw)), ID: id, Huge: st == idHuge}, st
}

// mailInput is a checked mail add-message request. The addresses are as
// sent, trimmed; the store normalizes them.
type mailInput struct {
	Case        caseRef
	ContactID   *contactRef
	UserType    string
	From        string
	To, Cc, Bcc []string
	Subject     string
	TextBody    string
	HTMLBody    string
}

// parseMail checks a mail add-message request: the body, the x-user-type
// header or query parameter and the contactId query parameter. It returns
// the body's errors (413, an empty or malformed body) or one
// ERROR_INVALID_INPUT naming every bad field.
func parseMail(c echo.Context) (mailInput, error) {
	body, err := readJSONObject(c)
	if err != nil {
		return mailInput{}, err
	}
	var req mailRequest
	if err := unmarshalFields(body, &req); err != nil {
		return mailInput{}, invalidInput("the request body is not valid JSON: %v", err)
	}
	var fe fieldErrors
	in := mailInput{UserType: parseUserType(c, &fe)}
	var d mailData
	data := bytes.TrimSpace(req.Data)
	switch {
	case len(data) == 0 || string(data) == "null":
		fe.add("data", "is required: send the email as {\"data\":{\"caseId\":...,\"to\":[...],...}}")
		return in, fe.err()
	case data[0] != '{' || unmarshalFields(data, &d) != nil:
		fe.add("data", "must be an object")
		return in, fe.err()
	}

	switch ref, st := toCaseRef(d.CaseID); st {
	case idMissing:
		fe.add("caseId", "is required")
	case idBad:
		fe.add("caseId", "must be a positive integer")
	default:
		in.Case = ref
	}
	in.To = parseAddresses(&fe, "to", d.To, true)
	switch s, present, ok := jsonString(d.From); {
	case !present || ok && strings.TrimSpace(s) == "":
		fe.add("from", "is required")
	case !ok:
		fe.add("from", "must be a string")
	case !checkAddress(&fe, "from", strings.TrimSpace(s)):
	case !validAddress(strings.TrimSpace(s)):
		fe.add("from", "%q is not a valid email address", strings.TrimSpace(s))
	default:
		in.From = strings.TrimSpace(s)
	}
	in.Cc = parseAddresses(&fe, "cc", d.Cc, false)
	in.Bcc = parseAddresses(&fe, "bcc", d.Bcc, false)
	if n := len(in.To) + len(in.Cc) + len(in.Bcc); n > maxRecipients {
		fe.add("to", "an email may have at most %d recipients in to, cc and bcc together, not %d", maxRecipients, n)
	}
	switch s, present, ok := jsonString(d.Subject); {
	case !present:
	case !ok:
		fe.add("subject", "must be a string")
	case strings.ContainsRune(s, 0):
		fe.add("subject", "must not contain NUL characters")
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
	in.ContactID = parseContactRef(&fe, c.QueryParam("contactId"), d.ContactID)
	if s, present, ok := jsonString(d.Type); present && (!ok || s != string(models.KindMessage)) {
		fe.add("type", `must be "message"`)
	}
	text, textOK := optionalText(&fe, "textBody", d.TextBody, models.MaxEmailBodyLen)
	html, htmlOK := optionalText(&fe, "htmlBody", d.HTMLBody, models.MaxEmailBodyLen)
	if textOK && htmlOK && strings.TrimSpace(text) == "" && strings.TrimSpace(html) == "" {
		fe.addMessage("textBody, htmlBody: at least one must be given and not blank")
	}
	in.TextBody, in.HTMLBody = text, html
	switch t := bytes.TrimSpace(d.Attachments); {
	case len(t) == 0 || string(t) == "null":
	case t[0] != '[':
		fe.add("attachments", "must be an array")
	default:
		var items []json.RawMessage
		if err := json.Unmarshal(t, &items); err != nil {
			fe.add("attachments", "must be an array")
		} else if len(items) > 0 {
			// Said out loud: an email that silently lost its files would
			// look sent to the client.
			fe.addMessage("attachments are not supported")
		}
	}
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

// parseAddresses reads a recipient list: a JSON array of address strings or
// of {"Name","Email"} objects (the name is not kept: switchboard stores bare
// addresses). It returns the trimmed addresses, nil for an absent list, and
// records each bad item as field[i]. A required list must have an item.
func parseAddresses(fe *fieldErrors, field string, raw json.RawMessage, required bool) []string {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || string(t) == "null" {
		if required {
			fe.add(field, "is required")
		}
		return nil
	}
	var items []json.RawMessage
	if t[0] != '[' || json.Unmarshal(t, &items) != nil {
		fe.add(field, "must be an array of email addresses")
		return nil
	}
	if required && len(items) == 0 {
		fe.add(field, "needs at least one address")
		return nil
	}
	out := make([]string, 0, len(items))
	for i, item := range items {
		name := fmt.Sprintf("%s[%d]", field, i)
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
func addressItem(raw json.RawMessage) (string, bool) {
	t := bytes.TrimSpace(raw)
	if len(t) > 0 && t[0] == '{' {
		var o struct {
			Email json.RawMessage `json:"Email"`
		}
		if err := unmarshalFields(t, &o); err != nil {
			return "", false
		}
		t = o.Email
	}
	s, present, ok := jsonString(t)
	return strings.TrimSpace(s), present && ok
}

// optionalText reads an optional string field of at most max characters.
// It returns "" for an absent one, and false (recording the field) for a
// value that is not a string, holds a NUL character or is too long.
func optionalText(fe *fieldErrors, field string, raw json.RawMessage, max int) (string, bool) {
	switch s, present, ok := jsonString(raw); {
	case !present:
		return "", true
	case !ok:
		fe.add(field, "must be a string")
	case strings.ContainsRune(s, 0):
		fe.add(field, "must not contain NUL characters")
	case checkLength(fe, field, s, max):
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
	return field + ": " + f.Message
}

// addMail serves POST /api/v1/mail/add-message: it adds an email to an
// active case as the key's agent's reply (x-user-type user; from must be an
// email inbox of the account, and the email is queued for delivery) or as an
// email the case's contact sent (contact; recorded only), and answers with
// the email. A spent hourly email quota is a 429 (store.QuotaError).
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
	if err := a.checkContact(ctx, cl.AccountID, in.Case.ID, in.ContactID); err != nil {
		return err
	}
	ne := store.NewEmail{
		Sender: models.SenderContact, From: in.From, To: in.To, Cc: in.Cc, Bcc: in.Bcc,
		Subject: in.Subject, TextBody: in.TextBody, HTMLBody: in.HTMLBody, WithCase: true,
	}
	if in.UserType == userTypeUser {
		agentID := cl.AgentID
		ne.Sender, ne.AgentID = models.SenderAgent, &agentID
	}
	sm, err := a.store.AddEmail(ctx, cl.AccountID, in.Case.ID, ne)
	if err != nil {
		return errkind.Lookup(errkind.Named(err, described(in.describe)), "case", strconv.FormatInt(in.Case.ID, 10))
	}
	return c.JSON(http.StatusOK, dataBody[mailObject]{Data: toMail(sm, *sm.Case)})
}

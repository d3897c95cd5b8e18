package acquire

import (
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

// smsRequest is the body of POST /api/v1/voip/send-sms, flat as Acquire's
// example sends it. The example's isClosed, isMultiChannel, markValue (the
// HTML form of the text), msgType and title are accepted and ignored, so
// they are not read at all. Each read field is kept raw so that every bad
// one is named.
type smsRequest struct {
	Body json.RawMessage `json:"Body"`
	// SMS and Message carry the text too in Acquire's example; they are read
	// only when Body is absent.
	SMS       json.RawMessage `json:"sms"`
	Message   json.RawMessage `json:"message"`
	From      json.RawMessage `json:"From"`
	To        json.RawMessage `json:"To"`
	ContactID json.RawMessage `json:"contactId"`
	// ThreadID is the case; the example also sends the case as ID.
	ThreadID json.RawMessage `json:"threadId"`
	ID       json.RawMessage `json:"id"`
	// TimelineID is the case's timeline, whose id is the case's.
	TimelineID json.RawMessage `json:"timelineId"`
}

// smsInput is a checked send-sms request.
type smsInput struct {
	Case      caseRef
	ContactID *contactRef
	UserType  string
	From, To  string
	Body      string
}

// parseSMS checks a send-sms request: the body, the x-user-type header or
// query parameter and the contactId query parameter. It returns the body's
// errors (413, an empty or malformed body) or one ERROR_INVALID_INPUT naming
// every bad field.
func parseSMS(c echo.Context) (smsInput, error) {
	body, err := readJSONObject(c)
	if err != nil {
		return smsInput{}, err
	}
	var req smsRequest
	if err := unmarshalFields(body, &req); err != nil {
		return smsInput{}, invalidInput("the request body is not valid JSON: %v", err)
	}
	var fe fieldErrors
	in := smsInput{UserType: parseUserType(c, &fe)}

	// The case: threadId, else id; both must agree when both are given.
	thread, tst := toCaseRef(req.ThreadID)
	id, ist := toCaseRef(req.ID)
	if tst == idBad {
		fe.add("threadId", "must be a positive integer")
	}
	if ist == idBad {
		fe.add("id", "must be a positive integer")
	}
	switch {
	case tst == idBad || ist == idBad:
	case tst == idMissing && ist == idMissing:
		fe.add("threadId", "is required")
	case tst == idMissing:
		in.Case = id
	case ist != idMissing && id.Raw != thread.Raw:
		fe.add("id", "case %s is not threadId %s: both name the case", shorten(id.Raw), shorten(thread.Raw))
	default:
		in.Case = thread
	}
	switch tl, st := toCaseRef(req.TimelineID); {
	case st == idMissing:
	case st == idBad:
		fe.add("timelineId", "must be a positive integer")
	case in.Case.Raw != "" && tl.Raw != in.Case.Raw:
		fe.add("timelineId", "%s is not the timeline of case %s: a case's timeline has the case's id", shorten(tl.Raw), shorten(in.Case.Raw))
	}

	in.From = parsePhone(&fe, "From", req.From)
	in.To = parsePhone(&fe, "To", req.To)

	bodyField, bodyRaw := "Body", req.Body
	for _, alt := range []struct {
		field string
		raw   json.RawMessage
	}{{"sms", req.SMS}, {"message", req.Message}} {
		if _, present, _ := jsonString(bodyRaw); present {
			break
		}
		bodyField, bodyRaw = alt.field, alt.raw
	}
	switch s, present, ok := jsonString(bodyRaw); {
	case !present:
		fe.add("Body", "is required")
	case !ok:
		fe.add(bodyField, "must be a string")
	case strings.TrimSpace(s) == "":
		fe.add(bodyField, "must not be blank")
	case strings.ContainsRune(s, 0):
		fe.add(bodyField, "must not contain NUL characters")
	case checkLength(&fe, bodyField, s, models.MaxSMSLen):
		in.Body = s
	}
	in.ContactID = parseContactRef(&fe, c.QueryParam("contactId"), req.ContactID)
	return in, fe.err()
}

// parsePhone reads a required phone number in international form
// (models.ParsePhone: "+1 415 555 0100" is taken too). It returns it in
// E.164, or "" after recording the field as bad.
func parsePhone(fe *fieldErrors, field string, raw json.RawMessage) string {
	s, present, ok := jsonString(raw)
	s = strings.TrimSpace(s)
	switch {
	case !present || ok && s == "":
		fe.add(field, "is required")
	case !ok:
		fe.add(field, "must be a string")
	default:
		p, err := models.ParsePhone(s)
		if err != nil {
			fe.add(field, "%v", err)
			return ""
		}
		return p.E164
	}
	return ""
}

// describe words a field error of store.AddSMS in the request's names: the
// store's from, to and body are From, To and Body.
func (in smsInput) describe(f store.FieldError) string {
	field, value := f.Field, ""
	switch f.Field {
	case "from":
		field, value = "From", in.From
	case "to":
		field, value = "To", in.To
	case "body":
		field = "Body"
	}
	if f.Reason == store.ReasonNotFound && value != "" {
		return fmt.Sprintf("%s: %q is not an SMS number of this account", field, value)
	}
	return field + ": " + f.Message
}

// sendSMS serves POST /api/v1/voip/send-sms: it adds an SMS to an active
// case as the key's agent's reply (x-user-type user; From must be an SMS
// number of the account, and the SMS is queued for delivery) or as an SMS the
// case's contact sent (contact; To must be a number of the account, and it is
// recorded only), and answers with the SMS, its case and the case's timeline.
// A spent hourly SMS quota is a 429 (store.QuotaError).
func (a *api) sendSMS(c echo.Context) error {
	cl, err := keyauth.Caller(c)
	if err != nil {
		return err
	}
	in, err := parseSMS(c)
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
	ns := store.NewSMS{Sender: models.SenderContact, From: in.From, To: in.To, Body: in.Body, WithCase: true}
	if in.UserType == userTypeUser {
		agentID := cl.AgentID
		ns.Sender, ns.AgentID = models.SenderAgent, &agentID
	}
	sm, err := a.store.AddSMS(ctx, cl.AccountID, in.Case.ID, ns)
	if err != nil {
		return errkind.Lookup(errkind.Named(err, described(in.describe)), "case", strconv.FormatInt(in.Case.ID, 10))
	}
	return c.JSON(http.StatusOK, dataBody[smsSent]{Data: toSMSSent(sm, *sm.Case)})
}

package acquire

import (
	"context"
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

// smsInput is a checked send-sms request.
type smsInput struct {
	Case      jsonbody.ID
	ContactID *jsonbody.ID
	// Timeline is the case's timeline id, when the request gives one.
	Timeline *jsonbody.ID
	UserType string
	From, To string
	Body     string
}

// parseSMS checks a send-sms request: the body, the x-user-type header or
// query parameter and the contactId query parameter. It returns the body's
// errors (413, an empty or malformed body) or one ERROR_INVALID_INPUT naming
// every bad field. The body is flat, as Acquire's example sends it; the
// example's isClosed, isMultiChannel, markValue (the HTML form of the text),
// msgType and title are accepted and ignored, so they are not read at all.
func parseSMS(c echo.Context) (smsInput, error) {
	var fe fieldErrors
	obj, err := readJSONObject(c, &fe)
	if err != nil {
		return smsInput{}, err
	}
	in := smsInput{UserType: parseUserType(c, &fe)}

	// The case: threadId, else id (the example sends the case as both);
	// both must agree when both are given.
	thread, threadOK := obj.OptionalID("threadId")
	id, idOK := obj.OptionalID("id")
	threadGiven, idGiven := obj.Has("threadId"), obj.Has("id")
	switch {
	case threadGiven && !threadOK || idGiven && !idOK:
	case !threadGiven && !idGiven:
		fe.add("threadId", "is required")
	case !threadGiven:
		in.Case = id
	case idGiven && id.Raw != thread.Raw:
		fe.add("id", "case %s is not threadId %s: both name the case", shorten(id.Raw), shorten(thread.Raw))
	default:
		in.Case = thread
	}
	// timelineId is optional, as it was before cases had timelines of their
	// own: the case names the thread. Given, it must be the case's timeline,
	// which sendSMS checks against the store.
	if tl, ok := obj.OptionalID("timelineId"); ok {
		in.Timeline = &tl
	}

	in.From = parsePhone(&fe, obj, "From")
	in.To = parsePhone(&fe, obj, "To")

	// sms and message carry the text too in Acquire's example; they are
	// read only when Body is absent.
	bodyField := "Body"
	for _, alt := range []string{"sms", "message"} {
		if obj.Has(bodyField) {
			break
		}
		bodyField = alt
	}
	if !obj.Has(bodyField) {
		fe.add("Body", "is required")
	} else if s, ok := obj.Text(bodyField); ok {
		switch {
		case strings.TrimSpace(s) == "":
			fe.add(bodyField, "must not be blank")
		case checkLength(&fe, bodyField, s, models.MaxSMSLen):
			in.Body = s
		}
	}
	in.ContactID = parseContactRef(&fe, c.QueryParam("contactId"), obj)
	return in, fe.err()
}

// parsePhone reads the required phone number field of obj in international
// form (models.ParsePhone: "+1 415 555 0100" is taken too). It returns it in
// E.164, or "" after recording the field as bad.
func parsePhone(fe *fieldErrors, obj *jsonbody.Object, field string) string {
	s, ok := obj.String(field)
	if !ok {
		return ""
	}
	s = strings.TrimSpace(s)
	if s == "" {
		fe.add(field, "is required")
		return ""
	}
	p, err := models.ParsePhone(s)
	if err != nil {
		fe.add(field, "%v", err)
		return ""
	}
	return p.E164
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

// checkTimeline checks that tl, when given, is the timeline id of the case
// caseID. It returns the store's error for a case that is not the account's
// and an ERROR_INVALID_INPUT naming timelineId for a timeline of another case
// or of none.
func (a *api) checkTimeline(ctx context.Context, accountID, caseID int64, tl *jsonbody.ID) error {
	if tl == nil {
		return nil
	}
	v, err := a.store.Case(ctx, accountID, caseID)
	if err != nil {
		return errkind.Lookup(err, "case", strconv.FormatInt(caseID, 10))
	}
	if tl.Huge || tl.N != v.TimelineID {
		return invalidInput("timelineId: %s is not the timeline of case %d, whose timelineId is %d",
			shorten(tl.Raw), caseID, v.TimelineID)
	}
	return nil
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
	if err := a.checkContact(ctx, cl.AccountID, in.Case.N, in.ContactID); err != nil {
		return err
	}
	if err := a.checkTimeline(ctx, cl.AccountID, in.Case.N, in.Timeline); err != nil {
		return err
	}
	ns := store.NewSMS{Sender: models.SenderContact, From: in.From, To: in.To, Body: in.Body, WithCase: true}
	if in.UserType == userTypeUser {
		agentID := cl.AgentID
		ns.Sender, ns.AgentID = models.SenderAgent, &agentID
	}
	sm, err := a.store.AddSMS(ctx, cl.AccountID, in.Case.N, ns)
	if err != nil {
		return errkind.Lookup(errkind.Named(err, described(in.describe)), "case", strconv.FormatInt(in.Case.N, 10))
	}
	return c.JSON(http.StatusOK, dataBody[smsSent]{Data: toSMSSent(sm, *sm.Case)})
}

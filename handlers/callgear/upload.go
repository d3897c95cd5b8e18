package callgear

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"switchboard/auth"
	"switchboard/handlers/errkind"
	"switchboard/models"
	"switchboard/store"
)

// contactIn is who an uploaded item is from, as the request gives it.
type contactIn struct {
	Name  string
	Phone string
	Email string
}

// sourceIn is where an uploaded item came from, as the request gives it.
type sourceIn struct {
	VisitorSessionID *int64
	CampaignID       *int64
	SiteID           *int64
	// NoCampaign is campaign_id -1.
	NoCampaign bool
}

// offlineMessageIn is one item of upload.offline_messages.
type offlineMessageIn struct {
	// DateTime is zero when not given: the store takes now.
	DateTime time.Time
	Contact  contactIn
	Message  string
	Source   sourceIn
	FormName string
	ExtID    *string
}

// chatIn is one item of upload.chats.
type chatIn struct {
	StartDateTime time.Time
	Contact       contactIn
	// Status is lost, succeed, succeeded or refused.
	Status string
	// Initiator is operator, visitor, autoinvite or empty.
	Initiator string
	Source    sourceIn
	ExtID     *string
	Messages  []chatMessageIn
}

// chatMessageIn is one message of an uploaded chat.
type chatMessageIn struct {
	DateTime time.Time
	// Source is operator, visitor or system.
	Source     string
	EmployeeID *int64
	Message    string
}

// idData is one entry of an upload's or delete's result data.
type idData struct {
	ID int64 `json:"id"`
}

// idsData returns the result data listing the ids in order.
func idsData(ids []int64) []idData {
	out := make([]idData, len(ids))
	for i, id := range ids {
		out[i] = idData{ID: id}
	}
	return out
}

// uploadOfflineMessages is upload.offline_messages {access_token, user_id,
// offline_messages}: it writes the batch as offline-message cases, all or
// nothing, and returns their ids in the order of the request (an ext_id
// uploaded before keeps its case and id). Errors: -32602 listing every bad
// field (data_limit_exceeded for more than MaxItems, and the store's
// reference and consistency checks), -32001 for the token, -32003 without
// the upload scope.
func (a *api) uploadOfflineMessages(c echo.Context, cl auth.Caller, params map[string]any) (any, error) {
	return upload(a, c, cl, params, "offline_messages", decodeOfflineParams,
		func(ctx context.Context, accountID int64, items []offlineMessageIn) ([]int64, error) {
			return a.store.UploadOfflineMessages(ctx, accountID, toOfflineUploads(items))
		})
}

// uploadChats is upload.chats {access_token, user_id, chats}: it writes the
// batch as closed chat cases with their messages, all or nothing, and
// returns their ids in the order of the request. Errors are those of
// upload.offline_messages.
func (a *api) uploadChats(c echo.Context, cl auth.Caller, params map[string]any) (any, error) {
	return upload(a, c, cl, params, "chats", decodeChatParams,
		func(ctx context.Context, accountID int64, items []chatIn) ([]int64, error) {
			return a.store.UploadChats(ctx, accountID, toChatUploads(items))
		})
}

// upload is both upload methods: it decodes user_id and the list (named
// list in errors) in the account's time zone, checks user_id (see
// checkUser), writes the list, and answers the new ids.
func upload[T any](a *api, c echo.Context, cl auth.Caller, params map[string]any, list string,
	decode func(map[string]any, *time.Location, int, *problems) []T,
	write func(ctx context.Context, accountID int64, items []T) ([]int64, error)) (any, error) {
	ctx := c.Request().Context()
	loc, err := a.location(ctx, cl.AccountID)
	if err != nil {
		return nil, err
	}
	var p problems
	userID := newObject(params, &p).optID("user_id")
	items := decode(params, loc, a.maxItems, &p)
	if err := p.err(); err != nil {
		return nil, err
	}
	if err := a.checkUser(ctx, cl, userID); err != nil {
		return nil, err
	}
	ids, err := write(ctx, cl.AccountID, items)
	if err != nil {
		return nil, errkind.Named(wireErrors(err), fieldNames(listField(list)))
	}
	return idsData(ids), nil
}

// checkUser checks an upload's user_id, the user who makes the request: it
// must name an agent of the caller's account, and a login.user session of
// an agent who is no admin must give it, as CallGear's agents must. It
// returns required_parameter_missed or entity_not_found naming user_id, and
// the store's other errors. The user is not stored: the caller's key says
// who wrote.
func (a *api) checkUser(ctx context.Context, cl auth.Caller, userID *int64) error {
	if userID == nil {
		if cl.Session && cl.Role != models.RoleAdmin && cl.Role != models.RoleSuperadmin {
			return newError(mRequiredMissed, "user_id", nil, "Required parameter user_id is missed: an agent's session must give the id of its user")
		}
		return nil
	}
	_, err := a.store.Agent(ctx, cl.AccountID, *userID)
	if errors.Is(err, store.ErrNotFound) {
		return newError(mEntityNotFound, "user_id", *userID, "Entity not found: no user %d in this account", *userID)
	}
	if err != nil {
		return fmt.Errorf("user of the upload: %w", err)
	}
	return nil
}

// decodeOfflineParams reads upload.offline_messages' params (the access
// token already checked, user_id read by upload), recording every problem in p. Times are in loc.
func decodeOfflineParams(params map[string]any, loc *time.Location, maxItems int, p *problems) []offlineMessageIn {
	o := newObject(params, p)
	o.skip("access_token", "user_id")
	list, _ := o.list("offline_messages", maxItems)
	o.unexpected()
	items := make([]offlineMessageIn, 0, len(list))
	for _, it := range list {
		if it != nil {
			items = append(items, decodeOfflineMessage(it, loc))
		}
	}
	return items
}

// decodeOfflineMessage reads one offline message.
func decodeOfflineMessage(o *object, loc *time.Location) offlineMessageIn {
	var in offlineMessageIn
	in.DateTime, _ = o.dateTime("date_time", false, loc)
	in.Contact = decodeContact(o)
	in.Message = o.optText("message", models.MaxTextLen, false)
	in.Source = decodeSource(o, true)
	o.id("source_id", false) // accepted, not stored
	in.FormName = o.optText("form_name", models.MaxNameLen, true)
	in.ExtID = o.extID("ext_id")
	decodeUserFields(o)
	requireContact(o, in.Contact)
	requireSource(o, in.Source)
	o.unexpected()
	return in
}

// decodeChatParams reads upload.chats' params (the access token already
// checked, user_id read by upload), recording every problem in p. Times are in loc.
func decodeChatParams(params map[string]any, loc *time.Location, maxItems int, p *problems) []chatIn {
	o := newObject(params, p)
	o.skip("access_token", "user_id")
	list, _ := o.list("chats", maxItems)
	o.unexpected()
	items := make([]chatIn, 0, len(list))
	for _, it := range list {
		if it != nil {
			items = append(items, decodeChat(it, loc))
		}
	}
	return items
}

// decodeChat reads one chat with its messages.
func decodeChat(o *object, loc *time.Location) chatIn {
	var in chatIn
	in.StartDateTime, _ = o.dateTime("start_date_time", true, loc)
	in.Contact = decodeContact(o)
	in.Status, _ = o.choice("status", true, "lost", "succeed", "succeeded", "refused")
	in.Initiator, _ = o.choice("initiator", false, "operator", "visitor", "autoinvite")
	in.Source = decodeSource(o, false)
	o.id("source_id", false) // accepted, not stored
	in.ExtID = o.extID("ext_id")
	msgs, _ := o.array("messages", true)
	if msgs != nil && len(msgs) == 0 {
		o.p.invalid(o.name("messages"), nil, "a chat needs at least one message")
	}
	for j, v := range msgs {
		if m := o.elem("messages", j, v); m != nil {
			in.Messages = append(in.Messages, decodeChatMessage(m, loc))
		}
	}
	requireContact(o, in.Contact)
	requireSource(o, in.Source)
	o.unexpected()
	return in
}

// decodeChatMessage reads one message of a chat. An operator's message
// needs employee_id; a visitor's or system message's employee_id, of which
// CallGear's page says nothing, is ignored when it is a number.
func decodeChatMessage(o *object, loc *time.Location) chatMessageIn {
	var in chatMessageIn
	in.DateTime, _ = o.dateTime("date_time", true, loc)
	in.Source, _ = o.choice("source", true, "operator", "visitor", "system")
	if in.Source == "visitor" || in.Source == "system" {
		if v, ok := o.get("employee_id"); ok {
			if _, isNumber := v.(json.Number); !isNumber {
				o.p.wrongType(o.name("employee_id"), v, "a number")
			}
		}
	} else {
		n, given, ok := o.id("employee_id", false)
		in.EmployeeID = idPtr(n, ok)
		if in.Source == "operator" && !given {
			o.p.add(o.name("employee_id"), mRequiredMissed, nil, "Required parameter %s is missed: an operator's message needs its employee", o.name("employee_id"))
		}
	}
	if s, ok := o.str("message", true); ok {
		if strings.TrimSpace(s) == "" {
			o.p.invalid(o.name("message"), s, "must not be blank")
		}
		o.limit("message", s, models.MaxTextLen, false)
		in.Message = s
	}
	o.unexpected()
	return in
}

// decodeContact reads an item's name, phone (in international form, see
// models.ParsePhone; kept in E.164) and email. An empty or
// blank phone or email is taken as not given.
func decodeContact(o *object) contactIn {
	var in contactIn
	in.Name = o.optText("name", models.MaxNameLen, true)
	if s, ok := o.str("phone", false); ok && strings.TrimSpace(s) != "" {
		if p, err := models.ParsePhone(s); err == nil {
			in.Phone = p.E164
		} else {
			reason := err.Error()
			if pe := (*models.PhoneError)(nil); errors.As(err, &pe) {
				reason = pe.Reason
			}
			o.p.invalid(o.name("phone"), s, "must be a valid phone number in international form, as +14155550100: %s", reason)
		}
	}
	if s, ok := o.str("email", false); ok && strings.TrimSpace(s) != "" && o.address("email", s) {
		if s = models.NormalizeEmail(s); models.ValidEmail(s) {
			in.Email = s
		} else {
			o.p.invalid(o.name("email"), s, "must be an email address")
		}
	}
	return in
}

// requireContact records a missing contact: neither phone nor email given.
// A phone or email that was given but invalid has its own problem already.
func requireContact(o *object, in contactIn) {
	if in.Phone == "" && in.Email == "" && !o.given("phone") && !o.given("email") {
		o.p.add(o.name("phone"), mRequiredMissed, nil, "Required parameter %s is missed: give phone or email", o.name("phone"))
	}
}

// decodeSource reads an item's visitor_session_id, campaign_id and site_id.
// campaign_id -1 means no campaign where noCampaign allows it
// (offline messages) and is invalid elsewhere (chats).
func decodeSource(o *object, noCampaign bool) sourceIn {
	var in sourceIn
	in.VisitorSessionID = o.optID("visitor_session_id")
	if v, ok := o.get("campaign_id"); ok && isMinusOne(v) {
		if noCampaign {
			in.NoCampaign = true
		} else {
			o.p.invalid(o.name("campaign_id"), v, "a chat's campaign_id may not be -1")
		}
	} else {
		in.CampaignID = o.optID("campaign_id")
	}
	in.SiteID = o.optID("site_id")
	return in
}

// requireSource records a missing source: none of visitor_session_id,
// campaign_id and site_id given, or campaign_id -1 without site_id. CallGear
// names site_id for both, as the store does.
func requireSource(o *object, in sourceIn) {
	switch {
	case in.NoCampaign && !o.given("site_id"):
		o.p.add(o.name("site_id"), mRequiredMissed, nil, "Required parameter %s is missed: campaign_id -1 needs site_id", o.name("site_id"))
	case !o.given("visitor_session_id") && !o.given("campaign_id") && !o.given("site_id"):
		o.p.add(o.name("site_id"), mRequiredMissed, nil,
			"Required parameter %s is missed: give one of visitor_session_id, campaign_id, site_id", o.name("site_id"))
	}
}

// given reports whether the member is present and not null (nor a blank
// string), whatever its value.
func (o *object) given(key string) bool {
	v, ok := o.r.Peek(key)
	if s, isString := v.(string); isString {
		return strings.TrimSpace(s) != ""
	}
	return ok
}

// isMinusOne reports whether v is the JSON number -1.
func isMinusOne(v any) bool {
	n, ok := v.(json.Number)
	return ok && n == "-1"
}

// decodeUserFields checks an offline message's user_fields, which are
// accepted and not stored: an array of {ext_id, value} with ext_id a string
// or integer and value a string (of at most models.MaxFieldValueLen
// characters), number or boolean.
func decodeUserFields(o *object) {
	list, _ := o.array("user_fields", false)
	for i, v := range list {
		f := o.elem("user_fields", i, v)
		if f == nil {
			continue
		}
		if ext, ok := f.get("ext_id"); ok {
			extIDOf(ext, f.name("ext_id"), f.p)
		} else {
			f.p.missing(f.name("ext_id"))
		}
		if val, ok := f.get("value"); ok {
			switch t := val.(type) {
			case map[string]any, []any:
				f.p.wrongType(f.name("value"), val, "a string, a number or a boolean")
			case string:
				f.limit("value", t, models.MaxFieldValueLen, false)
			}
		}
		f.unexpected()
	}
}

// toOfflineUploads converts the request's offline messages to the store's input.
func toOfflineUploads(in []offlineMessageIn) []store.OfflineUpload {
	out := make([]store.OfflineUpload, len(in))
	for i, m := range in {
		out[i] = toOfflineUpload(m)
	}
	return out
}

// toOfflineUpload converts one offline message. CallGear has no subject: the
// store's Subject stays empty, and form_name is kept as the form's name.
func toOfflineUpload(in offlineMessageIn) store.OfflineUpload {
	return store.OfflineUpload{
		ReceivedAt: in.DateTime, Contact: toUploadContact(in.Contact), Message: in.Message,
		Source: toUploadSource(in.Source), FormName: in.FormName, ExtID: in.ExtID,
	}
}

// toChatUploads converts the request's chats to the store's input.
func toChatUploads(in []chatIn) []store.ChatUpload {
	out := make([]store.ChatUpload, len(in))
	for i, c := range in {
		out[i] = toChatUpload(c)
	}
	return out
}

// toChatUpload converts one chat and its messages.
func toChatUpload(in chatIn) store.ChatUpload {
	msgs := make([]store.ChatUploadMessage, len(in.Messages))
	for j, m := range in.Messages {
		msgs[j] = store.ChatUploadMessage{At: m.DateTime, Sender: senderOf(m.Source), AgentID: m.EmployeeID, Text: m.Message}
	}
	return store.ChatUpload{
		StartedAt: in.StartDateTime, Contact: toUploadContact(in.Contact), Outcome: outcomeOf(in.Status),
		Initiator: initiatorOf(in.Initiator), Source: toUploadSource(in.Source), ExtID: in.ExtID, Messages: msgs,
	}
}

// toUploadContact converts an item's contact.
func toUploadContact(in contactIn) store.UploadContact {
	return store.UploadContact{Name: in.Name, Email: in.Email, Phone: in.Phone}
}

// toUploadSource converts an item's source.
func toUploadSource(in sourceIn) store.UploadSource {
	return store.UploadSource{SiteID: in.SiteID, CampaignID: in.CampaignID, VisitorSessionID: in.VisitorSessionID, NoCampaign: in.NoCampaign}
}

// outcomeOf returns the outcome of a CallGear chat status; CallGear's own
// example writes "succeed" for succeeded.
func outcomeOf(status string) models.Outcome {
	switch status {
	case "succeed", "succeeded":
		return models.OutcomeSucceeded
	case "refused":
		return models.OutcomeRefused
	}
	return models.OutcomeLost
}

// senderOf returns who wrote a message of a CallGear message source.
func senderOf(source string) models.Sender {
	switch source {
	case "operator":
		return models.SenderAgent
	case "system":
		return models.SenderSystem
	}
	return models.SenderContact
}

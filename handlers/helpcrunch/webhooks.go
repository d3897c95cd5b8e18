package helpcrunch

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"switchboard/handlers/dialect"
	"switchboard/models"
	"switchboard/store"
)

// HelpCrunch's webhook events (docs.helpcrunch.com/webhooks/webhook-event-types)
// and the model's event types each stems from. chat.rated and the
// customer tag, subscription and blocking events have no change in the
// model that makes them, so they are not offered.
var webhookEvents = dialect.EventNames{
	{Name: "chat.new", Types: []models.EventType{models.EventCaseCreated}},
	{Name: "chat.status_updated", Types: []models.EventType{models.EventCaseStatusChanged}},
	{Name: "chat.assigned", Types: []models.EventType{models.EventCaseAssigned}},
	{Name: "chat.snoozed", Types: []models.EventType{models.EventCaseSnoozed}},
	{Name: "chat.unsnoozed", Types: []models.EventType{models.EventCaseSnoozed}},
	{Name: "chat.closed", Types: []models.EventType{models.EventCaseClosed}},
	{Name: "customer.new", Types: []models.EventType{models.EventContactCreated}},
	{Name: "customer.email_updated", Types: []models.EventType{models.EventContactUpdated}},
	{Name: "customer.deleted", Types: []models.EventType{models.EventContactDeleted}},
	{Name: "message.chat.customer", Types: []models.EventType{models.EventMessageCreated}},
	{Name: "message.email.customer", Types: []models.EventType{models.EventMessageCreated}},
	{Name: "message.chat.agent", Types: []models.EventType{models.EventMessageCreated}},
	{Name: "message.email.agent", Types: []models.EventType{models.EventMessageCreated}},
	{Name: "message.private", Types: []models.EventType{models.EventNoteCreated}},
}

// WebhookFormat is HelpCrunch's webhook format: its event names, its
// envelope {event, eventData, attempts, lastAttemptAt, createdAt, id} with
// eventData in the v1 model, and X-HelpCrunch-Signature, the hex HMAC-SHA1
// of the body keyed with the subscription's secret.
type WebhookFormat struct{}

// EventNames returns HelpCrunch's event names that switchboard sends.
func (WebhookFormat) EventNames() []string { return webhookEvents.EventNames() }

// TypesOf returns the model's event types the named event stems from, and
// false for a name HelpCrunch does not have.
func (WebhookFormat) TypesOf(name string) ([]models.EventType, bool) {
	return webhookEvents.TypesOf(name)
}

// eventDetails is what NameOf reads of an event's data.
type eventDetails struct {
	Sender  models.Sender `json:"sender"`
	Channel string        `json:"channel"`
	Fields  []string      `json:"fields"`
}

// NameOf returns HelpCrunch's name of ev, and false when HelpCrunch has
// none (a system message, an agent's change, an upload, ...): such an event
// is not sent in this format.
func (WebhookFormat) NameOf(ev models.Event) (string, bool) {
	var d eventDetails
	_ = json.Unmarshal([]byte(ev.Data), &d) // details missing: the plainest name
	switch ev.Type {
	case models.EventCaseCreated:
		return "chat.new", true
	case models.EventCaseStatusChanged:
		return "chat.status_updated", true
	case models.EventCaseAssigned:
		return "chat.assigned", true
	case models.EventCaseClosed:
		return "chat.closed", true
	case models.EventCaseSnoozed:
		if !hasUntil(ev.Data) {
			return "chat.unsnoozed", true
		}
		return "chat.snoozed", true
	case models.EventContactCreated:
		return "customer.new", true
	case models.EventContactUpdated:
		return "customer.email_updated", slices.Contains(d.Fields, "email")
	case models.EventContactDeleted:
		return "customer.deleted", true
	case models.EventNoteCreated:
		return "message.private", true
	case models.EventMessageCreated:
		medium := "chat"
		if d.Channel == string(models.ChannelEmail) {
			medium = "email"
		}
		switch d.Sender {
		case models.SenderContact:
			return "message." + medium + ".customer", true
		case models.SenderAgent:
			return "message." + medium + ".agent", true
		}
	}
	return "", false
}

// hasUntil reports whether a case.snoozed event's data has a non-null
// "until": snoozed till then; null is unsnoozed.
func hasUntil(data string) bool {
	var d struct {
		Until json.RawMessage `json:"until"`
	}
	if json.Unmarshal([]byte(data), &d) != nil {
		return false
	}
	return len(d.Until) > 0 && string(d.Until) != "null"
}

// webhookEnvelope is the body of every HelpCrunch webhook request. attempts
// counts this attempt (1 for the first) and lastAttemptAt is its time; id is
// the delivery's, the same on every attempt.
type webhookEnvelope struct {
	Event         string `json:"event"`
	EventData     any    `json:"eventData"`
	Attempts      int    `json:"attempts"`
	LastAttemptAt string `json:"lastAttemptAt"`
	CreatedAt     string `json:"createdAt"`
	ID            string `json:"id"`
}

// webhookMessage is a message event's eventData
// (docs.helpcrunch.com/webhooks/message-webhooks).
type webhookMessage struct {
	ChatID   int64              `json:"chat_id"`
	Agent    *agentJSON         `json:"agent"`
	Customer chatCustomer       `json:"customer"`
	Message  webhookMessageBody `json:"message"`
}

type webhookMessageBody struct {
	ApplicationID *int64  `json:"applicationId"`
	BroadcastType *string `json:"broadcastType"`
	CreatedAt     string  `json:"createdAt"`
	Edited        bool    `json:"edited"`
	ID            int64   `json:"id"`
	Read          bool    `json:"read"`
	Text          string  `json:"text"`
	UpdatedAt     string  `json:"updatedAt"`
}

// errGone is a render of an event whose chat, message or customer no longer
// exists.
var errGone = errors.New("what the event names no longer exists")

// Render returns the body and headers of the delivery o's attempt at at,
// or an error when the event has no HelpCrunch name or what it names is
// gone.
func (f WebhookFormat) Render(o store.WebhookOutgoing, at time.Time) ([]byte, http.Header, error) {
	name, ok := f.NameOf(o.Event)
	if !ok {
		return nil, nil, errors.New("the event has no HelpCrunch name")
	}
	var data any
	switch {
	case o.Event.Type == models.EventMessageCreated || o.Event.Type == models.EventNoteCreated:
		if o.Message == nil {
			return nil, nil, errGone
		}
		m := toMessage(*o.Message)
		wm := webhookMessage{ChatID: o.Message.CaseID, Agent: m.Agent, Message: webhookMessageBody{
			BroadcastType: m.BroadcastType, CreatedAt: m.CreatedAt, Edited: m.Edited, ID: m.ID, Read: m.Read,
			Text: m.Text, UpdatedAt: m.UpdatedAt,
		}}
		if c := o.Contact; c != nil {
			wm.Customer = chatCustomer{ID: c.ID, Name: nullIfEmpty(c.Name), Email: nullIfEmpty(c.Email), UserID: nullIfEmpty(c.UserID)}
		}
		data = wm
	case strings.HasPrefix(name, "customer."):
		if o.Contact == nil {
			if o.Event.Type != models.EventContactDeleted {
				return nil, nil, errGone
			}
			data = map[string]int64{"id": o.Event.ContactID}
			break
		}
		data = toCustomer(*o.Contact)
	default:
		if o.Case == nil {
			return nil, nil, errGone
		}
		data = toChat(*o.Case)
	}
	body, err := json.Marshal(webhookEnvelope{
		Event: name, EventData: data, Attempts: o.Delivery.Attempts, LastAttemptAt: unixString(at),
		CreatedAt: unixString(o.Event.CreatedAt), ID: o.Delivery.Reference,
	})
	if err != nil {
		return nil, nil, err
	}
	mac := hmac.New(sha1.New, []byte(o.Webhook.Secret))
	mac.Write(body)
	h := http.Header{}
	h.Set("X-HelpCrunch-Signature", hex.EncodeToString(mac.Sum(nil)))
	return body, h, nil
}

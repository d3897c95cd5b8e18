package acquire

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"time"

	"switchboard/handlers/dialect"
	"switchboard/models"
	"switchboard/store"
)

// Acquire's webhook events. Its v2 event names are not public; these are the
// documented v1 triggers (developer.acquire.io/master/webhook-api), with
// the model's event types each stems from: a case opened, taken by an agent,
// a message (or note) in it, closed. Acquire has no event for an email's or
// SMS's delivery, so delivery.sent and delivery.failed are not sent in this
// format.
var webhookEvents = dialect.EventNames{
	{Name: "CHAT_ON_START", Types: []models.EventType{models.EventCaseCreated}},
	{Name: "CHAT_ON_ACCEPT", Types: []models.EventType{models.EventCaseAssigned}},
	{Name: "CHAT_ON_MESSAGE", Types: []models.EventType{models.EventMessageCreated, models.EventNoteCreated}},
	{Name: "CHAT_ON_CLOSE", Types: []models.EventType{models.EventCaseClosed}},
}

// WebhookFormat is Acquire's webhook format: its event names, the body
// {event, data} with data in Acquire's case and message shapes, and
// x-acquire-signature, the hex HMAC-SHA256 of the body keyed with the
// subscription's secret (developer.acquire.io/webhook-api/securing-webhook).
type WebhookFormat struct{}

// EventNames returns Acquire's event names that switchboard sends.
func (WebhookFormat) EventNames() []string { return webhookEvents.EventNames() }

// TypesOf returns the model's event types the named event stems from, and
// false for a name Acquire does not have.
func (WebhookFormat) TypesOf(name string) ([]models.EventType, bool) {
	return webhookEvents.TypesOf(name)
}

// NameOf returns Acquire's name of ev, and false when Acquire has none: a
// case taken from its agent (no agent after the change) is not an accept.
func (WebhookFormat) NameOf(ev models.Event) (string, bool) {
	if ev.Type == models.EventCaseAssigned && ev.AgentID == 0 {
		return "", false
	}
	for _, e := range webhookEvents {
		if slices.Contains(e.Types, ev.Type) {
			return e.Name, true
		}
	}
	return "", false
}

// webhookBody is the body of every Acquire webhook request.
type webhookBody struct {
	Event string `json:"event"`
	Data  any    `json:"data"`
}

// Render returns the body and headers of the delivery o (at is unused:
// Acquire's body carries no attempt), or an error when the event has no
// Acquire name or its case or message is gone.
func (f WebhookFormat) Render(o store.WebhookOutgoing, _ time.Time) ([]byte, http.Header, error) {
	name, ok := f.NameOf(o.Event)
	if !ok {
		return nil, nil, errors.New("the event has no Acquire name")
	}
	if o.Case == nil {
		return nil, nil, errors.New("the event's case no longer exists")
	}
	var data any = toCase(*o.Case)
	if o.Event.MessageID != 0 {
		if o.Message == nil {
			return nil, nil, errors.New("the event's message no longer exists")
		}
		data = toAddedMessage(*o.Message, *o.Case)
	}
	body, err := json.Marshal(webhookBody{Event: name, Data: data})
	if err != nil {
		return nil, nil, err
	}
	mac := hmac.New(sha256.New, []byte(o.Webhook.Secret))
	mac.Write(body)
	h := http.Header{}
	h.Set("x-acquire-signature", hex.EncodeToString(mac.Sum(nil)))
	return body, h, nil
}

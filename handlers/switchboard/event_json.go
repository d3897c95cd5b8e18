// Package switchboard serves switchboard's own namespace, /switchboard/v1:
// what no vendor has (webhook subscriptions, the live event stream), in
// switchboard's own neutral words, and the Standard Webhooks format of an
// event.
package switchboard

import (
	"encoding/json"

	"switchboard/models"
)

// Event is an event as the live stream and the standard webhook format show
// it: the model's own words, ids 0 left out.
type Event struct {
	Seq       int64           `json:"seq"`
	Type      string          `json:"type"`
	AccountID int64           `json:"account_id"`
	CaseID    int64           `json:"case_id,omitempty"`
	ContactID int64           `json:"contact_id,omitempty"`
	MessageID int64           `json:"message_id,omitempty"`
	AgentID   int64           `json:"agent_id,omitempty"`
	Data      json.RawMessage `json:"data"`
	CreatedAt string          `json:"created_at"`
}

// ToEvent returns ev as the stream and the standard format show it: times
// in RFC 3339 UTC with milliseconds.
func ToEvent(ev models.Event) Event {
	data := json.RawMessage(ev.Data)
	if !json.Valid(data) {
		data = json.RawMessage("{}")
	}
	return Event{
		Seq: ev.Seq, Type: string(ev.Type), AccountID: ev.AccountID, CaseID: ev.CaseID, ContactID: ev.ContactID,
		MessageID: ev.MessageID, AgentID: ev.AgentID, Data: data,
		CreatedAt: ev.CreatedAt.UTC().Format("2006-01-02T15:04:05.000Z07:00"),
	}
}

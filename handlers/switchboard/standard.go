package switchboard

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"switchboard/models"
	"switchboard/store"
)

// StandardFormat is the Standard Webhooks format (standardwebhooks.com):
// every event of the model under its own type name, the body
// {"type", "timestamp", "data"} the spec recommends with data the event as
// the live stream shows it (Event), and the spec's headers webhook-id (the
// delivery's id, the same on every attempt), webhook-timestamp (the
// attempt's, unix seconds) and webhook-signature ("v1," and the base64
// HMAC-SHA256 of id.timestamp.body), made by the spec's own Go library.
type StandardFormat struct{}

// EventNames returns the model's event types: the standard format has a
// name for every one.
func (StandardFormat) EventNames() []string {
	types := models.EventTypes()
	out := make([]string, len(types))
	for i, t := range types {
		out[i] = string(t)
	}
	return out
}

// TypesOf returns the one model type named name, and false for a name that
// is not an event type.
func (StandardFormat) TypesOf(name string) ([]models.EventType, bool) {
	t := models.EventType(name)
	if !t.Valid() {
		return nil, false
	}
	return []models.EventType{t}, true
}

// NameOf returns ev's type: every event is sent in the standard format.
func (StandardFormat) NameOf(ev models.Event) (string, bool) {
	return string(ev.Type), ev.Type.Valid()
}

// standardBody is the body of a standard webhook request.
type standardBody struct {
	Type      string `json:"type"`
	Timestamp string `json:"timestamp"`
	Data      Event  `json:"data"`
}

// StandardSecretPrefix starts every standard format secret: the rest is the
// key in base64.
const StandardSecretPrefix = "whsec_"

// standardKey returns the signing key of secret: the base64 after whsec_,
// or, for a secret given in another form, its bytes as they are.
func standardKey(secret string) ([]byte, error) {
	if rest, ok := strings.CutPrefix(secret, StandardSecretPrefix); ok {
		if key, err := base64.StdEncoding.DecodeString(rest); err == nil && len(key) > 0 {
			return key, nil
		}
	}
	if secret == "" {
		return nil, fmt.Errorf("empty secret")
	}
	return []byte(secret), nil
}

// Render returns the body and headers of the delivery o's attempt at at. It
// returns an error only for a subscription without a usable secret.
func (StandardFormat) Render(o store.WebhookOutgoing, at time.Time) ([]byte, http.Header, error) {
	ev := ToEvent(o.Event)
	body, err := json.Marshal(standardBody{Type: ev.Type, Timestamp: ev.CreatedAt, Data: ev})
	if err != nil {
		return nil, nil, err
	}
	key, err := standardKey(o.Webhook.Secret)
	if err != nil {
		return nil, nil, err
	}
	wh, err := standardwebhooks.NewWebhookRaw(key)
	if err != nil {
		return nil, nil, err
	}
	sig, err := wh.Sign(o.Delivery.Reference, at, body)
	if err != nil {
		return nil, nil, err
	}
	h := http.Header{}
	h.Set(standardwebhooks.HeaderWebhookID, o.Delivery.Reference)
	h.Set(standardwebhooks.HeaderWebhookTimestamp, strconv.FormatInt(at.Unix(), 10))
	h.Set(standardwebhooks.HeaderWebhookSignature, sig)
	return body, h, nil
}

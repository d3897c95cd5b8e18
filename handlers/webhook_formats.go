package handlers

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"switchboard/delivery"
	"switchboard/handlers/acquire"
	"switchboard/handlers/helpcrunch"
	"switchboard/handlers/switchboard"
	"switchboard/models"
	"switchboard/store"
)

// webhookFormat is what one webhook format does: its catalog of names, the
// name of each event it sends, and the rendering of a delivery (body and
// headers, the signature among them). Each lives in its dialect's package;
// the standard one in switchboard's own.
type webhookFormat interface {
	switchboard.Catalog
	// NameOf returns the format's name of ev, and false when the format
	// has none (the event is not sent in it).
	NameOf(ev models.Event) (string, bool)
	// Render returns the request body and headers of the delivery's
	// attempt at at.
	Render(o store.WebhookOutgoing, at time.Time) ([]byte, http.Header, error)
}

// webhookFormats returns every webhook format by its name.
func webhookFormats() map[models.WebhookFormat]webhookFormat {
	return map[models.WebhookFormat]webhookFormat{
		models.FormatHelpCrunch: helpcrunch.WebhookFormat{},
		models.FormatAcquire:    acquire.WebhookFormat{},
		models.FormatStandard:   switchboard.StandardFormat{},
	}
}

// WebhookCatalogs returns each webhook format's catalog: the event names a
// subscription may ask for and the model's types behind each.
func WebhookCatalogs() map[models.WebhookFormat]switchboard.Catalog {
	out := map[models.WebhookFormat]switchboard.Catalog{}
	for f, wf := range webhookFormats() {
		out[f] = wf
	}
	return out
}

// WebhookFormats renders webhook deliveries in their subscription's format
// for delivery.WebhookWorker. Create it with NewWebhookFormats.
type WebhookFormats struct {
	formats map[models.WebhookFormat]webhookFormat
}

// NewWebhookFormats returns the renderer of every format.
func NewWebhookFormats() *WebhookFormats {
	return &WebhookFormats{formats: webhookFormats()}
}

var _ delivery.WebhookRenderer = (*WebhookFormats)(nil)

// Wants reports whether the subscription w is sent ev: its format has a
// name for ev and w asked for that name, or for every event (Events empty).
func (f *WebhookFormats) Wants(w models.Webhook, ev models.Event) bool {
	wf, ok := f.formats[w.Format]
	if !ok {
		return false
	}
	name, ok := wf.NameOf(ev)
	if !ok {
		return false
	}
	return w.Events == "" || slices.Contains(strings.Split(w.Events, ","), name)
}

// Render returns the request of the delivery o's attempt at at in its
// subscription's format, or an error for an unknown format or an event
// that cannot be rendered.
func (f *WebhookFormats) Render(o store.WebhookOutgoing, at time.Time) (delivery.WebhookRequest, error) {
	wf, ok := f.formats[o.Webhook.Format]
	if !ok {
		return delivery.WebhookRequest{}, fmt.Errorf("unknown webhook format %q", o.Webhook.Format)
	}
	body, h, err := wf.Render(o, at)
	if err != nil {
		return delivery.WebhookRequest{}, err
	}
	return delivery.WebhookRequest{Body: body, Header: h}, nil
}

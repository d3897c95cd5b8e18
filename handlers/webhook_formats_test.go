package handlers_test

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"switchboard/handlers"
	"switchboard/models"
	"switchboard/store"
)

// verifyHelpCrunch checks X-HelpCrunch-Signature as HelpCrunch describes it
// (docs.helpcrunch.com/webhooks/setting-up-webhooks): the 40-character hex
// HMAC-SHA1 of the raw JSON body, keyed with the signing key.
func verifyHelpCrunch(t *testing.T, secret string, h http.Header, body []byte) {
	t.Helper()
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write(body)
	want := hex.EncodeToString(mac.Sum(nil))
	if got := h.Get("X-HelpCrunch-Signature"); len(got) != 40 || !hmac.Equal([]byte(got), []byte(want)) {
		t.Fatalf("X-HelpCrunch-Signature %q, want %q", got, want)
	}
}

// verifyAcquire checks x-acquire-signature as Acquire describes it
// (developer.acquire.io/webhook-api/securing-webhook): the hex HMAC-SHA256
// of the body's JSON text in UTF-8, keyed with the webhook's secret.
func verifyAcquire(t *testing.T, secret string, h http.Header, body []byte) {
	t.Helper()
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	want := hex.EncodeToString(mac.Sum(nil))
	if got := h.Get("x-acquire-signature"); !hmac.Equal([]byte(got), []byte(want)) {
		t.Fatalf("x-acquire-signature %q, want %q", got, want)
	}
}

// formatFixture returns a delivery of an event of type typ with data in
// format f, with a case, a message by the contact and the contact loaded.
func formatFixture(f models.WebhookFormat, typ models.EventType, data string, agentID int64) store.WebhookOutgoing {
	at := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	contact := models.Contact{ID: 4, AccountID: 1, Name: "Ann", Email: "ann@example.com", CreatedAt: at, UpdatedAt: at}
	c := store.CaseView{Case: models.Case{ID: 3, AccountID: 1, ContactID: 4, Channel: models.ChannelChat,
		Status: models.StatusOpen, StartedAt: at, UpdatedAt: at}, Contact: contact}
	m := store.MessageView{Message: models.Message{ID: 5, AccountID: 1, CaseID: 3, Sender: models.SenderContact,
		Kind: models.KindMessage, Text: "hello", CreatedAt: at, UpdatedAt: at}}
	return store.WebhookOutgoing{
		Delivery: models.WebhookDelivery{ID: 1, EventSeq: 7, Reference: "6f1c0c5e-8a43-4b7e-9d55-3c2b1a0f9e88", Attempts: 2},
		Webhook:  models.Webhook{ID: 2, Format: f, Secret: "s3cret-key"},
		Event: models.Event{ID: 9, AccountID: 1, Seq: 7, Type: typ, CaseID: 3, ContactID: 4, MessageID: 5, AgentID: agentID,
			Data: data, CreatedAt: at},
		Case: &c, Message: &m, Contact: &contact,
	}
}

func TestWebhookFormats_Render(t *testing.T) {
	formats := handlers.NewWebhookFormats()
	at := time.Date(2026, 12, 5, 10, 0, 5, 0, time.UTC)
	const contactMsg = `{"sender":"contact","channel":"chat","kind":"message"}`
	for _, tc := range []struct {
		name     string
		format   models.WebhookFormat
		typ      models.EventType
		data     string
		agent    int64
		wantName string // "": not sent in the format
	}{
		{"HelpCrunchCustomerMessage", models.FormatHelpCrunch, models.EventMessageCreated, contactMsg, 0, "message.chat.customer"},
		{"HelpCrunchAgentEmail", models.FormatHelpCrunch, models.EventMessageCreated, `{"sender":"agent","channel":"email","kind":"message"}`, 6, "message.email.agent"},
		{"HelpCrunchNote", models.FormatHelpCrunch, models.EventNoteCreated, `{"sender":"agent","channel":"chat"}`, 6, "message.private"},
		{"HelpCrunchSystemMessage", models.FormatHelpCrunch, models.EventMessageCreated, `{"sender":"system","channel":"chat","kind":"event"}`, 0, ""},
		{"HelpCrunchChatNew", models.FormatHelpCrunch, models.EventCaseCreated, `{"channel":"chat"}`, 0, "chat.new"},
		{"HelpCrunchUnsnoozed", models.FormatHelpCrunch, models.EventCaseSnoozed, `{"until":null}`, 0, "chat.unsnoozed"},
		{"HelpCrunchSnoozed", models.FormatHelpCrunch, models.EventCaseSnoozed, `{"until":"2026-12-06T10:00:00Z"}`, 0, "chat.snoozed"},
		{"HelpCrunchCustomerNew", models.FormatHelpCrunch, models.EventContactCreated, `{}`, 0, "customer.new"},
		{"HelpCrunchDeliverySent", models.FormatHelpCrunch, models.EventDeliverySent, `{}`, 0, ""},
		{"AcquireMessage", models.FormatAcquire, models.EventMessageCreated, contactMsg, 0, "CHAT_ON_MESSAGE"},
		{"AcquireStart", models.FormatAcquire, models.EventCaseCreated, `{}`, 0, "CHAT_ON_START"},
		{"AcquireAccept", models.FormatAcquire, models.EventCaseAssigned, `{}`, 6, "CHAT_ON_ACCEPT"},
		{"AcquireUnassigned", models.FormatAcquire, models.EventCaseAssigned, `{}`, 0, ""},
		{"AcquireClose", models.FormatAcquire, models.EventCaseClosed, `{}`, 0, "CHAT_ON_CLOSE"},
		{"AcquireDeliveryFailed", models.FormatAcquire, models.EventDeliveryFailed, `{}`, 0, ""},
		{"StandardDeliveryFailed", models.FormatStandard, models.EventDeliveryFailed, `{"reason":"x"}`, 0, "delivery.failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := formatFixture(tc.format, tc.typ, tc.data, tc.agent)
			if o.Webhook.Format == models.FormatStandard {
				o.Webhook.Secret = "whsec_c2VjcmV0LWtleS1ieXRlcw=="
			}
			wants := formats.Wants(o.Webhook, o.Event)
			if wants != (tc.wantName != "") {
				t.Fatalf("Wants = %v, want %v", wants, tc.wantName != "")
			}
			if !wants {
				return
			}
			// A subscription to another name does not get it.
			other := o.Webhook
			other.Events = "no.such.event"
			if formats.Wants(other, o.Event) {
				t.Errorf("a subscription to other events wants %s", tc.wantName)
			}
			other.Events = "x," + tc.wantName
			if !formats.Wants(other, o.Event) {
				t.Errorf("a subscription to %s does not want it", tc.wantName)
			}
			req, err := formats.Render(o, at)
			if err != nil {
				t.Fatal(err)
			}
			var body map[string]json.RawMessage
			if err := json.Unmarshal(req.Body, &body); err != nil {
				t.Fatal(err)
			}
			var name string
			switch tc.format {
			case models.FormatHelpCrunch:
				verifyHelpCrunch(t, o.Webhook.Secret, req.Header, req.Body)
				for _, k := range []string{"event", "eventData", "attempts", "lastAttemptAt", "createdAt", "id"} {
					if _, ok := body[k]; !ok {
						t.Errorf("body has no %q: %s", k, req.Body)
					}
				}
				_ = json.Unmarshal(body["event"], &name)
				if string(body["id"]) != `"`+o.Delivery.Reference+`"` || string(body["attempts"]) != "2" ||
					string(body["lastAttemptAt"]) != `"1796464805"` {
					t.Errorf("envelope %s", req.Body)
				}
			case models.FormatAcquire:
				verifyAcquire(t, o.Webhook.Secret, req.Header, req.Body)
				if len(body) != 2 || body["data"] == nil {
					t.Errorf("body %s, want {event, data}", req.Body)
				}
				_ = json.Unmarshal(body["event"], &name)
			case models.FormatStandard:
				_ = json.Unmarshal(body["type"], &name)
				if req.Header.Get("webhook-id") != o.Delivery.Reference {
					t.Errorf("webhook-id %q", req.Header.Get("webhook-id"))
				}
			}
			if name != tc.wantName {
				t.Errorf("event %q, want %q", name, tc.wantName)
			}
		})
	}
}

func TestWebhookCatalogs(t *testing.T) {
	cats := handlers.WebhookCatalogs()
	for _, tc := range []struct {
		format models.WebhookFormat
		name   string
		want   models.EventType
	}{
		{models.FormatHelpCrunch, "chat.assigned", models.EventCaseAssigned},
		{models.FormatHelpCrunch, "message.chat.customer", models.EventMessageCreated},
		{models.FormatAcquire, "CHAT_ON_CLOSE", models.EventCaseClosed},
		{models.FormatStandard, "note.created", models.EventNoteCreated},
	} {
		t.Run(string(tc.format)+"/"+tc.name, func(t *testing.T) {
			c, ok := cats[tc.format]
			if !ok {
				t.Fatal("no catalog")
			}
			types, ok := c.TypesOf(tc.name)
			if !ok || len(types) == 0 || types[0] != tc.want {
				t.Errorf("TypesOf(%q) = %v, %v", tc.name, types, ok)
			}
			found := false
			for _, n := range c.EventNames() {
				found = found || n == tc.name
			}
			if !found {
				t.Errorf("EventNames() lacks %q", tc.name)
			}
		})
	}
}

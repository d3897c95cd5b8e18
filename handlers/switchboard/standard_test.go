package switchboard_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"switchboard/handlers/switchboard"
	"switchboard/models"
	"switchboard/store"
)

// verifyStandard checks a request's signature as the Standard Webhooks spec
// describes it (standardwebhooks.com, "Verifying webhooks"), written from
// the spec and not from the signing code: the key is the base64 after
// "whsec_"; the signed content is id "." timestamp "." body; the header is
// space-separated "v1,<base64 HMAC-SHA256>" entries, one of which must match.
func verifyStandard(t *testing.T, secret string, h http.Header, body []byte) {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		t.Fatalf("secret %q: %v", secret, err)
	}
	id, ts := h.Get("webhook-id"), h.Get("webhook-timestamp")
	if id == "" || ts == "" {
		t.Fatalf("missing webhook-id or webhook-timestamp in %v", h)
	}
	if _, err := strconv.ParseInt(ts, 10, 64); err != nil {
		t.Fatalf("webhook-timestamp %q is not unix seconds", ts)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "." + string(body)))
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	for _, sig := range strings.Fields(h.Get("webhook-signature")) {
		if hmac.Equal([]byte(sig), []byte(want)) {
			return
		}
	}
	t.Fatalf("webhook-signature %q: none is %q", h.Get("webhook-signature"), want)
}

// TestStandardFormat_SpecVector checks the verifier above against the
// spec's published example, then the format's own signature with it.
func TestStandardFormat_SpecVector(t *testing.T) {
	const (
		secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
		id     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
		ts     = "1614265330"
		body   = `{"test": 2432232314}`
		sig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	)
	t.Run("Verifier", func(t *testing.T) {
		h := http.Header{}
		h.Set("webhook-id", id)
		h.Set("webhook-timestamp", ts)
		h.Set("webhook-signature", "v1,bm9wZQ== "+sig)
		verifyStandard(t, secret, h, []byte(body))
	})
	t.Run("Render", func(t *testing.T) {
		at := time.Unix(1614265330, 0)
		o := store.WebhookOutgoing{
			Delivery: models.WebhookDelivery{ID: 1, EventSeq: 7, Reference: id, Attempts: 1},
			Webhook:  models.Webhook{ID: 2, Format: models.FormatStandard, Secret: secret},
			Event: models.Event{ID: 9, AccountID: 1, Seq: 7, Type: models.EventMessageCreated, CaseID: 3, ContactID: 4,
				MessageID: 5, Data: `{"sender":"contact","channel":"chat","kind":"message"}`, CreatedAt: at},
		}
		body, h, err := switchboard.StandardFormat{}.Render(o, at)
		if err != nil {
			t.Fatal(err)
		}
		if h.Get("webhook-id") != id || h.Get("webhook-timestamp") != ts {
			t.Errorf("headers %v", h)
		}
		verifyStandard(t, secret, h, body)
		var got struct {
			Type      string            `json:"type"`
			Timestamp string            `json:"timestamp"`
			Data      switchboard.Event `json:"data"`
		}
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatal(err)
		}
		if got.Type != "message.created" || got.Data.Seq != 7 || got.Data.MessageID != 5 || got.Timestamp != "2021-02-25T15:02:10.000Z" {
			t.Errorf("body %s", body)
		}
	})
}

func TestStandardFormat_Catalog(t *testing.T) {
	f := switchboard.StandardFormat{}
	names := f.EventNames()
	if len(names) != len(models.EventTypes()) {
		t.Errorf("%d names, want one per event type (%d)", len(names), len(models.EventTypes()))
	}
	for _, tc := range []struct {
		name string
		ok   bool
	}{{"message.created", true}, {"delivery.failed", true}, {"chat.new", false}, {"", false}} {
		t.Run(tc.name, func(t *testing.T) {
			types, ok := f.TypesOf(tc.name)
			if ok != tc.ok || ok && (len(types) != 1 || string(types[0]) != tc.name) {
				t.Errorf("TypesOf(%q) = %v, %v", tc.name, types, ok)
			}
		})
	}
}

package acquire

import (
	"strings"
	"testing"
	"time"

	"switchboard/models"
	"switchboard/store"
)

func TestSMSStatus(t *testing.T) {
	sent := &models.Delivery{Status: models.DeliverySent}
	tests := []struct {
		name string
		m    models.DeliveryStatus
		d    *models.Delivery
		want string
	}{
		{"the contact's SMS", "", nil, "received"},
		{"queued", models.DeliveryQueued, &models.Delivery{Status: models.DeliveryQueued}, "queued"},
		{"being sent", models.DeliverySending, &models.Delivery{Status: models.DeliverySending}, "sending"},
		{"sent", models.DeliverySent, sent, "sent"},
		{"failed", models.DeliveryFailed, &models.Delivery{Status: models.DeliveryFailed}, "failed"},
		{"a receipt said delivered", models.DeliveryDelivered, sent, "delivered"},
		{"a receipt said undelivered", models.DeliveryUndelivered, &models.Delivery{Status: models.DeliveryFailed}, "undelivered"},
		{"a receipt said failed", models.DeliveryFailed, sent, "failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := smsStatus(models.Message{DeliveryStatus: string(tt.m)}, tt.d); got != tt.want {
				t.Errorf("smsStatus = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestToSMSMeta_Receipts(t *testing.T) {
	at := time.Date(2026, 12, 5, 20, 15, 0, 0, time.UTC)
	tests := []struct {
		name      string
		m         models.Message
		d         models.Delivery
		status    string
		wantError *string
		wantSent  bool
	}{
		{"delivered", models.Message{DeliveryStatus: string(models.DeliveryDelivered), DeliveredAt: &at},
			models.Delivery{Status: models.DeliverySent, ProviderRef: "SM1"}, "delivered", nil, true},
		{"undelivered shows the reason", models.Message{DeliveryStatus: string(models.DeliveryUndelivered), DeliveredAt: &at,
			FailReason: "error 30003: Unreachable destination handset"},
			models.Delivery{Status: models.DeliveryFailed, ProviderRef: "SM1"}, "undelivered", ptr("error 30003: Unreachable destination handset"), true},
		{"failed in the outbox", models.Message{DeliveryStatus: string(models.DeliveryFailed), FailReason: "code 21211"},
			models.Delivery{Status: models.DeliveryFailed}, "failed", ptr("code 21211"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := tt.d
			got := toSMSMeta(store.SentMessage{MessageView: store.MessageView{Message: tt.m}, Delivery: &d})
			if got.Status != tt.status {
				t.Errorf("status %q, want %q", got.Status, tt.status)
			}
			if (got.ErrorMessage == nil) != (tt.wantError == nil) || (got.ErrorMessage != nil && *got.ErrorMessage != *tt.wantError) {
				t.Errorf("error_message %v, want %v", deref(got.ErrorMessage), deref(tt.wantError))
			}
			if (got.DateSent != nil) != tt.wantSent {
				t.Errorf("date_sent %v, want set %v", deref(got.DateSent), tt.wantSent)
			}
		})
	}
}

func ptr(s string) *string { return &s }

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

func TestSMSSegments(t *testing.T) {
	tests := []struct {
		name string
		body string
		want int
	}{
		{"short", "hi", 1},
		{"160 GSM characters", strings.Repeat("a", 160), 1},
		{"161 GSM characters", strings.Repeat("a", 161), 2},
		{"306 GSM characters", strings.Repeat("a", 306), 2},
		{"307 GSM characters", strings.Repeat("a", 307), 3},
		{"extension characters count twice", strings.Repeat("€", 80), 1},
		{"81 extension characters", strings.Repeat("€", 81), 2},
		{"70 UCS-2 characters", strings.Repeat("ж", 70), 1},
		{"71 UCS-2 characters", strings.Repeat("ж", 71), 2},
		{"one non-GSM character makes it UCS-2", strings.Repeat("a", 70) + "ж", 2},
		{"an emoji is two UTF-16 units", strings.Repeat("😀", 35), 1},
		{"36 emoji", strings.Repeat("😀", 36), 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := smsSegments(tt.body); got != tt.want {
				t.Errorf("smsSegments = %d, want %d", got, tt.want)
			}
		})
	}
}

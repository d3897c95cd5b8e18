package acquire

import (
	"strings"
	"testing"

	"switchboard/models"
)

func TestSMSStatus(t *testing.T) {
	tests := []struct {
		name string
		d    *models.Delivery
		want string
	}{
		{"the contact's SMS", nil, "received"},
		{"queued", &models.Delivery{Status: models.DeliveryQueued}, "queued"},
		{"being sent", &models.Delivery{Status: models.DeliverySending}, "sending"},
		{"sent", &models.Delivery{Status: models.DeliverySent}, "sent"},
		{"failed", &models.Delivery{Status: models.DeliveryFailed}, "failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := smsStatus(tt.d); got != tt.want {
				t.Errorf("smsStatus = %q, want %q", got, tt.want)
			}
		})
	}
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

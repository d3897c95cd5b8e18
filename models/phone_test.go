package models

import (
	"errors"
	"strings"
	"testing"
)

func TestParsePhone(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Phone
		// why is part of the refusal's reason; empty when the number is valid.
		why string
	}{
		{"US fixed line or mobile", "+14155550100", Phone{"+14155550100", PhoneFixedLineOrMobile}, ""},
		{"Latvian mobile", "+37120000000", Phone{"+37120000000", PhoneMobile}, ""},
		{"UK mobile", "+447911123456", Phone{"+447911123456", PhoneMobile}, ""},
		{"UK fixed line", "+442071838750", Phone{"+442071838750", PhoneFixedLine}, ""},
		{"US toll free", "+18005550100", Phone{"+18005550100", PhoneTollFree}, ""},
		{"premium rate +1 900", "+19005551234", Phone{"+19005551234", PhonePremiumRate}, ""},
		{"UK premium rate", "+448712345678", Phone{"+448712345678", PhonePremiumRate}, ""},
		{"French shared cost", "+33810123456", Phone{"+33810123456", PhoneSharedCost}, ""},
		{"Spanish shared cost", "+34901123456", Phone{"+34901123456", PhoneSharedCost}, ""},
		{"UK UAN", "+445512345678", Phone{"+445512345678", PhoneUAN}, ""},

		{"spaces", "+1 415 555 0100", Phone{"+14155550100", PhoneFixedLineOrMobile}, ""},
		{"dashes and parentheses", "+1 (415) 555-0100", Phone{"+14155550100", PhoneFixedLineOrMobile}, ""},
		{"dots", "+1.415.555.0100", Phone{"+14155550100", PhoneFixedLineOrMobile}, ""},
		{"trunk zero in parentheses", "+44 (0)20 7183 8750", Phone{"+442071838750", PhoneFixedLine}, ""},
		{"surrounding white space", " \t+14155550100\n", Phone{"+14155550100", PhoneFixedLineOrMobile}, ""},

		{"555 is no area code", "+15550001111", Phone{}, "no such number"},
		{"too short", "+1234", Phone{}, "too short"},
		{"unassigned international network", "+882123456789", Phone{}, "no such number"},
		{"Ofcom drama number", "+447700900123", Phone{}, "no such number"},
		{"too long", "+1234567890123456", Phone{}, "too long"},
		{"unknown country code", "+999123456789", Phone{}, "country code"},
		{"no plus", "14155550100", Phone{}, "must start with +"},
		{"national form", "(415) 555-0100", Phone{}, "must start with +"},
		{"00 prefix", "0014155550100", Phone{}, "must start with +"},
		{"00 after the plus", "+0014155550100", Phone{}, "country code"},
		{"two plus signs", "++14155550100", Phone{}, "'+'"},
		{"extension", "+14155550100 x12", Phone{}, "'x'"},
		{"extension parameter", "+14155550100;ext=12", Phone{}, "';'"},
		{"tel URI", "tel:+14155550100", Phone{}, "must start with +"},
		{"letters", "+1 800 FLOWERS", Phone{}, "'F'"},
		{"Arabic-Indic digits", "+١٤١٥٥٥٥٠١٠٠", Phone{}, "may follow the +"},
		{"plus alone", "+", Phone{}, "no digits"},
		{"empty", "", Phone{}, "empty"},
		{"longer than any number", "+1" + strings.Repeat(" 4", 30), Phone{}, "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePhone(tt.in)
			if tt.why == "" {
				if err != nil || got != tt.want {
					t.Fatalf("ParsePhone(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
				}
				return
			}
			var pe *PhoneError
			if !errors.As(err, &pe) || !strings.Contains(pe.Reason, tt.why) {
				t.Fatalf("ParsePhone(%q) = %+v, %v; want a *PhoneError saying %q", tt.in, got, err, tt.why)
			}
			if got != (Phone{}) {
				t.Errorf("ParsePhone(%q) returned %+v beside its error", tt.in, got)
			}
			if !strings.Contains(err.Error(), "is not a valid phone number") {
				t.Errorf("error %q does not say the number is not valid", err)
			}
		})
	}
}

func TestPhone_CostlyToText(t *testing.T) {
	for typ, want := range map[PhoneType]bool{
		PhonePremiumRate: true, PhoneSharedCost: true, PhoneUAN: true, PhoneUnknown: true, "": true,
		PhoneMobile: false, PhoneFixedLine: false, PhoneFixedLineOrMobile: false, PhoneTollFree: false, PhoneVoIP: false,
	} {
		if got := (Phone{E164: "+14155550100", Type: typ}).CostlyToText(); got != want {
			t.Errorf("CostlyToText of a %s number = %v, want %v", typ, got, want)
		}
	}
}

func TestPhoneType_Words(t *testing.T) {
	for typ, want := range map[PhoneType]string{
		PhonePremiumRate: "premium-rate", PhoneSharedCost: "shared-cost", PhoneUAN: "UAN (universal access)",
		PhoneUnknown: "unknown", "": "unknown", PhoneFixedLineOrMobile: "fixed-line-or-mobile",
	} {
		if got := typ.Words(); got != want {
			t.Errorf("%q.Words() = %q, want %q", typ, got, want)
		}
	}
}

package models

import "testing"

func TestValidEmail(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"ann@example.com", true},
		{"a.b+tag@sub.example.co", true},
		{"ann@localhost", false},
		{"Ann <ann@example.com>", false},
		{"ann@", false},
		{"@example.com", false},
		{"ann@.com", false},
		{"ann@example.com.", false},
		{"ann example@example.com", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := ValidEmail(tt.in); got != tt.want {
				t.Errorf("ValidEmail(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestValidTimezone(t *testing.T) {
	for tz, want := range map[string]bool{"UTC": true, "Europe/Riga": true, "America/New_York": true, "Mars/Base": false, "": false, "Local": false} {
		if got := ValidTimezone(tz); got != want {
			t.Errorf("ValidTimezone(%q) = %v, want %v", tz, got, want)
		}
	}
}

func TestEnums_Valid(t *testing.T) {
	if !RoleSuperadmin.Valid() || Role("root").Valid() {
		t.Error("Role.Valid")
	}
	if !ChannelOffline.Valid() || Channel("fax").Valid() {
		t.Error("Channel.Valid")
	}
	if !StatusOnHold.Valid() || CaseStatus("on hold").Valid() {
		t.Error("CaseStatus.Valid")
	}
	if !OutcomeLost.Valid() || Outcome("succeed").Valid() {
		t.Error("Outcome.Valid")
	}
	if !SenderSystem.Valid() || Sender("bot").Valid() {
		t.Error("Sender.Valid")
	}
	if !KindNote.Valid() || Kind("private").Valid() {
		t.Error("Kind.Valid")
	}
	if !InboxSMS.Valid() || InboxKind("fax").Valid() {
		t.Error("InboxKind.Valid")
	}
}

package callgear

import (
	"errors"
	"fmt"
	"testing"

	"switchboard/models"
	"switchboard/store"
)

func TestWireName(t *testing.T) {
	tests := []struct {
		store, wire string
	}{
		{"", ""},
		{"[0]", "[0]"},
		{"[3].started_at", "[3].start_date_time"},
		{"[1].received_at", "[1].date_time"},
		{"[0].messages[2].created_at", "[0].messages[2].date_time"},
		{"[0].outcome", "[0].status"},
		{"[0].messages[0].sender", "[0].messages[0].source"},
		{"[0].messages[1].agent_id", "[0].messages[1].employee_id"},
		{"[0].messages[1].text", "[0].messages[1].message"},
		{"[0].no_campaign", "[0].campaign_id"},
		{"[2].contact.phone", "[2].phone"},
		{"[2].contact.email", "[2].email"},
		{"[2].contact.name", "[2].name"},
		{"[0].message", "[0].message"},
		{"[0].site_id", "[0].site_id"},
		{"[0].visitor_session_id", "[0].visitor_session_id"},
		{"[0].ext_id", "[0].ext_id"},
		{"[0].initiator", "[0].initiator"},
		{"[0].messages", "[0].messages"},
	}
	for _, tt := range tests {
		t.Run(tt.store, func(t *testing.T) {
			if got := wireName(tt.store); got != tt.wire {
				t.Errorf("wireName(%q) = %q, want %q", tt.store, got, tt.wire)
			}
		})
	}
}

func TestWireFieldError(t *testing.T) {
	tests := []struct {
		name string
		in   store.FieldError
		want store.FieldError
	}{
		{"agent needed",
			store.FieldError{Field: "[0].messages[1].agent_id", Reason: store.ReasonRequired, Message: store.MsgAgentNeeded},
			store.FieldError{Field: "[0].messages[1].employee_id", Reason: store.ReasonRequired, Message: "an operator's message needs its employee"}},
		{"agent only",
			store.FieldError{Field: "[0].messages[0].agent_id", Reason: store.ReasonCombination, Value: int64(7), Message: store.MsgAgentOnly},
			store.FieldError{Field: "[0].messages[0].employee_id", Reason: store.ReasonCombination, Value: int64(7), Message: "only an operator's message has an employee"}},
		{"unknown agent",
			store.FieldError{Field: "[1].messages[0].agent_id", Reason: store.ReasonNotFound, Value: int64(42), Message: "no agent 42 in this account"},
			store.FieldError{Field: "[1].messages[0].employee_id", Reason: store.ReasonNotFound, Value: int64(42), Message: "no employee 42 in this account"}},
		{"before the chat",
			store.FieldError{Field: "[0].messages[1].created_at", Reason: store.ReasonTime, Message: store.MsgBeforeChatStart},
			store.FieldError{Field: "[0].messages[1].date_time", Reason: store.ReasonTime, Message: "must not be before the chat's start_date_time"}},
		{"no campaign needs a site",
			store.FieldError{Field: "[0].site_id", Reason: store.ReasonRequired, Message: store.MsgNoCampaignNeedsSite},
			store.FieldError{Field: "[0].site_id", Reason: store.ReasonRequired, Message: "campaign_id -1 needs site_id"}},
		{"chat without a campaign",
			store.FieldError{Field: "[0].no_campaign", Reason: store.ReasonInvalid, Value: true, Message: store.MsgChatNoCampaign},
			store.FieldError{Field: "[0].campaign_id", Reason: store.ReasonInvalid, Value: int64(-1), Message: "a chat's campaign_id may not be -1"}},
		{"no campaign, session with one",
			store.FieldError{Field: "[0].no_campaign", Reason: store.ReasonCombination, Value: true, Message: "visitor session 3 is of campaign 4"},
			store.FieldError{Field: "[0].campaign_id", Reason: store.ReasonCombination, Value: int64(-1), Message: "visitor session 3 is of campaign 4"}},
		{"neutral message kept",
			store.FieldError{Field: "[0].started_at", Reason: store.ReasonTime, Message: "must not be in the future"},
			store.FieldError{Field: "[0].start_date_time", Reason: store.ReasonTime, Message: "must not be in the future"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := wireFieldError(tt.in); got != tt.want {
				t.Errorf("wireFieldError(%+v) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestWireErrors(t *testing.T) {
	t.Run("field errors renamed", func(t *testing.T) {
		in := fmt.Errorf("upload chats: %w", store.FieldErrors{{Field: "[0].started_at", Reason: store.ReasonRequired, Message: "is required"}})
		var fe store.FieldErrors
		if !errors.As(wireErrors(in), &fe) || len(fe) != 1 || fe[0].Field != "[0].start_date_time" {
			t.Errorf("wireErrors = %v, want [0].start_date_time", fe)
		}
	})
	t.Run("other errors unchanged", func(t *testing.T) {
		in := fmt.Errorf("upload chats: %w", store.ErrUnavailable)
		if got := wireErrors(in); got != in {
			t.Errorf("wireErrors = %v, want the same error", got)
		}
	})
}

func TestInitiatorOf(t *testing.T) {
	tests := []struct {
		wire string
		want models.Initiator
	}{
		{"operator", models.InitiatorAgent},
		{"visitor", models.InitiatorContact},
		{"autoinvite", models.InitiatorInvite},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.wire, func(t *testing.T) {
			if got := initiatorOf(tt.wire); got != tt.want {
				t.Errorf("initiatorOf(%q) = %q, want %q", tt.wire, got, tt.want)
			}
		})
	}
}

package callgear

import (
	"errors"
	"fmt"
	"strings"

	"switchboard/models"
	"switchboard/store"
)

// The store names an upload's fields and values in the model's words; the
// functions here put them in CallGear's, so that an error names what the
// request sent.

// wireName returns CallGear's name of a field the store names in an upload
// item ("[3].started_at" becomes "[3].start_date_time", "[0].contact.phone"
// "[0].phone", "[1].messages[0].agent_id" "[1].messages[0].employee_id").
// Names CallGear shares with the model come back unchanged.
func wireName(field string) string {
	// CallGear's items carry their contact's name, phone and email flat.
	field = strings.Replace(field, ".contact.", ".", 1)
	dot := strings.LastIndexByte(field, '.')
	if dot < 0 {
		return field
	}
	path, leaf := field[:dot+1], field[dot+1:]
	switch leaf {
	case "started_at":
		leaf = "start_date_time"
	case "received_at", "created_at":
		leaf = "date_time"
	case "outcome":
		leaf = "status"
	case "sender":
		leaf = "source"
	case "agent_id":
		leaf = "employee_id"
	case "text":
		leaf = "message"
	case "no_campaign":
		// CallGear says "no campaign" with campaign_id -1.
		leaf = "campaign_id"
	}
	return path + leaf
}

// wireFieldError returns f with its field, value and message in CallGear's
// words: the name from wireName, campaign_id -1 for "no campaign", and the
// messages that name CallGear's fields or roles (operator, employee).
func wireFieldError(f store.FieldError) store.FieldError {
	leaf := f.Field[strings.LastIndexByte(f.Field, '.')+1:]
	f.Field = wireName(f.Field)
	if leaf == "no_campaign" {
		f.Value = int64(-1)
	}
	switch {
	case f.Message == store.MsgAgentNeeded:
		f.Message = "an operator's message needs its employee"
	case f.Message == store.MsgAgentOnly:
		f.Message = "only an operator's message has an employee"
	case f.Message == store.MsgBeforeChatStart:
		f.Message = "must not be before the chat's start_date_time"
	case f.Message == store.MsgNoCampaignNeedsSite:
		f.Message = "campaign_id -1 needs site_id"
	case f.Message == store.MsgChatNoCampaign:
		f.Message = "a chat's campaign_id may not be -1"
	case leaf == "agent_id" && f.Reason == store.ReasonNotFound:
		f.Message = fmt.Sprintf("no employee %v in this account", f.Value)
	}
	return f
}

// wireErrors returns err with the store's field errors in CallGear's words
// (wireFieldError), and err unchanged when it holds none.
func wireErrors(err error) error {
	var fe store.FieldErrors
	if !errors.As(err, &fe) {
		return err
	}
	out := make(store.FieldErrors, len(fe))
	for i, f := range fe {
		out[i] = wireFieldError(f)
	}
	return out
}

// initiatorOf returns the model's initiator of a CallGear chat initiator
// (operator, visitor or autoinvite), and "" for none: the store then takes
// the sender of the first message.
func initiatorOf(initiator string) models.Initiator {
	switch initiator {
	case "operator":
		return models.InitiatorAgent
	case "visitor":
		return models.InitiatorContact
	case "autoinvite":
		return models.InitiatorInvite
	}
	return ""
}

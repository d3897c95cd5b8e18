// REVE's own errors for an invalid request, each in REVE's words; the error
// table (errors.go) answers them as they are.

package reve

import (
	"fmt"

	"switchboard/handlers/errkind"
)

// REVE's messages, by the error names its documentation gives. Each takes the
// value the client sent.
const (
	// InvalidPageNumber: page_no is not a positive number.
	msgInvalidPageNumber = "Invalid Page Number: %s. Please enter a valid Page Number."
	// InvalidOfflineMessageID and OfflineMessageNotFound.
	msgInvalidOfflineMessageID = "Invalid Offline message Id: %s. Please enter a Valid Offline message Id."
	msgOfflineMessageNotFound  = "No Record found for Offline Message Id = %s. Please enter a another Offline Message Id."
	// InvalidAgentid and AgentNotFound; agent_id on the chat list is
	// InvalidAgentid too.
	msgInvalidAgentID = "Invalid Agent Id: %s. Please enter a valid Agent Id."
	msgAgentNotFound  = "No Record found for Agent Id = %s. Please enter a another Agent Id."
	// The chat and visitor errors follow the same pattern (REVE names only
	// VisitorNotFound).
	msgInvalidChatID    = "Invalid Chat Id: %s. Please enter a valid Chat Id."
	msgChatNotFound     = "No Record found for Chat Id = %s. Please enter a another Chat Id."
	msgInvalidVisitorID = "Invalid Visitor Id: %s. Please enter a valid Visitor Id."
	msgVisitorNotFound  = "No Record found for Visitor Id = %s. Please enter a another Visitor Id."
	msgInvalidDate      = "Invalid %s: %s. Please enter a valid date as yyyy-mm-dd."
	msgInvalidDateRange = "Invalid date range: date_from %s is after date_to %s. Please enter a valid date range."
)

// apiError is a 400 with the message REVE shows for it.
type apiError struct {
	Message string
}

func (e *apiError) Error() string { return e.Message }

// Kind makes an apiError an Invalid request, worded already.
func (e *apiError) Kind() errkind.Kind { return errkind.Invalid }

// badRequest returns a 400 with REVE's message.
func badRequest(format string, args ...any) error {
	return &apiError{Message: fmt.Sprintf(format, args...)}
}

package callgear

import (
	"github.com/labstack/echo/v4"

	"switchboard/auth"
	"switchboard/models"
	"switchboard/store"
)

// getEmployees is get.employees {access_token, user_id, offset, limit,
// filter, fields, sort}: the account's agents, enabled or not, by id. See
// getList for the errors.
func (a *api) getEmployees(c echo.Context, cl auth.Caller, params map[string]any) (any, error) {
	return getList(a, c, cl, params, employeeColumns(), listSpec{}, a.store.AgentList)
}

// getCustomerUsers is get.customer_users {access_token, offset, limit,
// filter, fields, sort}: the users who may make requests in the account,
// which are its agents (each logs in with login.user, or holds API keys).
// CallGear's partners call it without user_id; one given is checked as
// elsewhere. See getList for the errors.
func (a *api) getCustomerUsers(c echo.Context, cl auth.Caller, params map[string]any) (any, error) {
	return getList(a, c, cl, params, customerUserColumns(), listSpec{}, a.store.AgentList)
}

// employeeColumns are get.employees' columns. Its call-routing settings,
// groups, schedule and coach are not switchboard's and are null.
func employeeColumns() columns[models.Agent] {
	cols := columns[models.Agent]{
		"id":         {field: store.AgentID, kind: kindNumber, filter: true, sort: true, byDefault: true, value: func(r models.Agent) any { return r.ID }},
		"login":      {field: store.AgentEmail, kind: kindText, filter: true, sort: true, byDefault: true, value: func(r models.Agent) any { return r.Email }},
		"email":      {field: store.AgentEmail, kind: kindText, filter: true, sort: true, byDefault: true, value: func(r models.Agent) any { return r.Email }},
		"first_name": {field: store.AgentFirstName, kind: kindText, filter: true, sort: true, byDefault: true, value: func(r models.Agent) any { return r.FirstName }},
		"last_name":  {field: store.AgentLastName, kind: kindText, filter: true, sort: true, byDefault: true, value: func(r models.Agent) any { return r.LastName }},
		"full_name":  {field: store.AgentFullName, kind: kindText, filter: true, sort: true, byDefault: true, value: func(r models.Agent) any { return r.FullName() }},
		"phone_numbers": {byDefault: true, value: func(r models.Agent) any {
			if r.Phone == "" {
				return []phoneNumber{}
			}
			return []phoneNumber{{PhoneNumber: r.Phone, Status: "active"}}
		}},
		"operator": {byDefault: true, value: func(r models.Agent) any {
			return operator{Login: r.Email, DisplayName: nullText(r.FullName()), PositionName: nullText(r.Designation), ChatEnabled: r.Enabled}
		}},
	}
	return nulls(cols, "patronymic", "status", "status_id", "calls_available", "allowed_in_call_types",
		"in_external_allowed_call_directions", "in_internal_allowed_call_directions", "allowed_out_call_types",
		"out_external_allowed_call_directions", "out_internal_allowed_call_directions", "call_recording",
		"schedule_id", "schedule_name", "coach", "groups", "extension")
}

// phoneNumber is one of an employee's phone_numbers: the agent's phone,
// without CallGear's routing settings.
type phoneNumber struct {
	PhoneID       *int64 `json:"phone_id"`
	PhoneNumber   string `json:"phone_number"`
	ChannelsCount *int   `json:"channels_count"`
	DialTime      *int   `json:"dial_time"`
	Status        string `json:"status"`
}

// operator is an employee's chat operator settings: the agent's login and
// name, its designation as the position, and whether it may chat (it is
// enabled).
type operator struct {
	Login                 string  `json:"operator_login"`
	DisplayName           *string `json:"operator_display_name"`
	PositionID            *int64  `json:"operator_position_id"`
	PositionName          *string `json:"operator_position_name"`
	OfflineMessageEnabled *bool   `json:"operator_offline_message_enabled"`
	InviteToChatEnabled   *bool   `json:"operator_invite_to_chat_enabled"`
	ChatEnabled           bool    `json:"operator_chat_enabled"`
	ChatsAvailable        *bool   `json:"operator_chats_available"`
	Sites                 []any   `json:"operator_sites"`
}

// nullText returns s, or nil when it is empty: CallGear's empty values are
// null.
func nullText(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// customerUserColumns are get.customer_users' columns: an agent as a user
// of the account (the customer).
func customerUserColumns() columns[models.Agent] {
	return columns[models.Agent]{
		"id":          {field: store.AgentID, kind: kindNumber, filter: true, sort: true, byDefault: true, value: func(r models.Agent) any { return r.ID }},
		"login":       {field: store.AgentEmail, kind: kindText, filter: true, sort: true, byDefault: true, value: func(r models.Agent) any { return r.Email }},
		"name":        {field: store.AgentFullName, kind: kindText, filter: true, sort: true, byDefault: true, value: func(r models.Agent) any { return r.FullName() }},
		"description": {field: store.AgentDesignation, kind: kindText, filter: true, sort: true, byDefault: true, value: func(r models.Agent) any { return r.Designation }},
		"customer_id": {field: store.AgentAccountID, kind: kindNumber, filter: true, sort: true, byDefault: true, value: func(r models.Agent) any { return r.AccountID }},
	}
}

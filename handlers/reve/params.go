package reve

import (
	"fmt"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"switchboard/handlers/rawquery"
	"switchboard/models"
)

// REVE's messages for list parameters, in the pattern of its documented
// ones: what is wrong, with the value, then what to do.
const (
	msgUnknownParameters   = "Invalid Parameter: %s. This list takes only %s and cannot be filtered or sorted otherwise."
	msgMalformedParameters = "Invalid Parameter: %s. A parameter may not hold a semicolon or a malformed %% escape."
	msgInvalidAgentEmail   = "Invalid Agent Email Id: %s. Please enter a valid email address."
)

// maxShown bounds the characters of a client's value a message repeats.
const maxShown = 64

// shorten returns s cut to maxShown characters, with "…" when it was cut.
func shorten(s string) string {
	if !models.TooLong(s, maxShown) {
		return s
	}
	return models.Truncate(s, maxShown) + "…"
}

// checkParams returns REVE's 400 for a list whose query holds parameters
// that net/url drops (a semicolon, a malformed escape: see rawquery), or that
// ask for a filter or sort the list does not have: not among known, and a
// word APIs filter or sort with, a dotted name, or one of the list's fields
// (any letter case). Answering every row for a filter the list ignored would
// answer another question. Other parameters (cache busters) pass. The
// message names every such parameter.
func checkParams(c echo.Context, known, fields []string) error {
	var malformed []string
	for _, p := range rawquery.Check(c.Request().URL.RawQuery) {
		malformed = append(malformed, shorten(p.Param))
	}
	if len(malformed) > 0 {
		return badRequest(msgMalformedParameters, strings.Join(malformed, ", "))
	}
	var unknown []string
	for name := range c.QueryParams() {
		base, _, _ := strings.Cut(name, "[")
		if slices.Contains(known, base) {
			continue
		}
		if filterWord(base) || strings.Contains(base, ".") || slices.ContainsFunc(fields, func(f string) bool {
			return strings.EqualFold(f, base)
		}) {
			unknown = append(unknown, shorten(name))
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	slices.Sort(unknown)
	return badRequest(msgUnknownParameters, strings.Join(unknown, ", "), strings.Join(known, ", "))
}

// filterWord reports whether name (in any letter case) is a word list APIs
// filter or sort with.
func filterWord(name string) bool {
	switch strings.ToLower(name) {
	case "filter", "filters", "where", "q", "query", "search", "condition",
		"sort", "sortby", "sort_by", "order", "orderby", "order_by", "dir", "direction":
		return true
	}
	return false
}

// The fields of REVE's lists, which a client may send as a bare parameter
// expecting a filter.
func offlineMessageFields() []string {
	return []string{"offline_message_id", "visitor_id", "visitor_name", "visitor_email", "visitor_phone", "subject",
		"message", "received_time", "unread", "reply_message_count"}
}

func agentFields() []string {
	return []string{"agent_id", "first_name", "last_name", "email", "phone_no", "role", "status", "last_login_time",
		"create_time", "designation", "enabled"}
}

func chatFields() []string {
	return []string{"chat_id", "chat_request_time", "is_missed", "chat_started_by", "is_chat_transferred",
		"conversation_start_time", "conversation_end_time", "chat_ended_by", "visitor_id", "visitor_email",
		"visitor_name", "visitor_phone", "first_name", "last_name", "email", "rating", "status"}
}

func visitorFields() []string {
	return []string{"visitor_id", "name", "email", "phone", "first_visit_time", "ip_address", "platform", "browser",
		"country", "region", "city", "isp", "referrer_link"}
}

// agentEmail checks chat's agent_email_id: an address of at most
// models.MaxEmailBytes without control characters, or REVE's 400.
func agentEmail(raw string) error {
	if len(raw) > models.MaxEmailBytes || models.HasControl(raw) {
		return badRequest(msgInvalidAgentEmail, fmt.Sprintf("%q", shorten(raw)))
	}
	return nil
}

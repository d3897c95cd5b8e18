package callgear

import (
	"context"
	"time"

	"github.com/labstack/echo/v4"

	"switchboard/auth"
	"switchboard/models"
	"switchboard/store"
)

// The communication reports: get.offline_messages_report, get.chats_report
// and get.chat_messages_report, over every offline message and chat of the
// account, whichever dialect wrote it. Their columns carry CallGear's names
// (callgear.github.io data_api/report/…); a column the store has nothing
// for is still accepted in fields and comes back null.

// unfilled returns columns that are always null, one per name.
func unfilled[R any](names ...string) columns[R] {
	cols := columns[R]{}
	for _, n := range names {
		cols[n] = column[R]{value: func(R) any { return nil }}
	}
	return cols
}

// withColumns returns cols with more added.
func withColumns[R any](cols columns[R], more columns[R]) columns[R] {
	for n, c := range more {
		cols[n] = c
	}
	return cols
}

// is is the store condition "field = value".
func is(field string, value any) store.Filter {
	return store.Filter{Field: field, Op: store.OpEq, Value: value}
}

// not is the store condition "field != value" (nil: field has a value).
func not(field string, value any) store.Filter {
	return store.Filter{Field: field, Op: store.OpNe, Value: value}
}

// all and either join store conditions.
func all(fs ...store.Filter) store.Filter { return store.Filter{Group: &store.Group{Filters: fs}} }
func either(fs ...store.Filter) store.Filter {
	return store.Filter{Group: &store.Group{Filters: fs, Any: true}}
}

// openCase is a case not closed; closedCase one closed.
var (
	openCase   = not(store.ReportCaseStatus, string(models.StatusClosed))
	closedCase = is(store.ReportCaseStatus, string(models.StatusClosed))
	assigned   = not(store.ReportCaseAssigneeID, nil)
	unassigned = is(store.ReportCaseAssigneeID, nil)
	noOutcome  = is(store.ReportCaseOutcome, nil)
)

// chatStatuses are the conditions of get.chats_report's status: an outcome
// an upload gave wins; otherwise a closed chat an agent took succeeded, and
// one nobody took was lost; an open chat is active once assigned, new
// before.
var chatStatuses = map[string]store.Filter{
	"new":     all(noOutcome, openCase, unassigned),
	"active":  all(noOutcome, openCase, assigned),
	"lost":    either(is(store.ReportCaseOutcome, string(models.OutcomeLost)), all(noOutcome, closedCase, unassigned)),
	"succeed": either(is(store.ReportCaseOutcome, string(models.OutcomeSucceeded)), all(noOutcome, closedCase, assigned)),
	"refused": is(store.ReportCaseOutcome, string(models.OutcomeRefused)),
}

// chatStatus returns a chat's status as chatStatuses defines it.
func chatStatus(c models.Case) string {
	if c.Outcome != nil {
		switch *c.Outcome {
		case models.OutcomeLost:
			return "lost"
		case models.OutcomeSucceeded:
			return "succeed"
		case models.OutcomeRefused:
			return "refused"
		}
	}
	switch {
	case c.Status == models.StatusClosed && c.AssigneeID != nil:
		return "succeed"
	case c.Status == models.StatusClosed:
		return "lost"
	case c.AssigneeID != nil:
		return "active"
	}
	return "new"
}

// offlineStatuses are the conditions of get.offline_messages_report's
// status: processed once closed, processing while an agent has it,
// not_processed before.
var offlineStatuses = map[string]store.Filter{
	"processed":     closedCase,
	"processing":    all(openCase, assigned),
	"not_processed": all(openCase, unassigned),
}

// offlineStatus returns an offline message's status as offlineStatuses
// defines it.
func offlineStatus(c models.Case) string {
	switch {
	case c.Status == models.StatusClosed:
		return "processed"
	case c.AssigneeID != nil:
		return "processing"
	}
	return "not_processed"
}

// initiators maps get.chats_report's initiator to the model's. The model
// has no messenger, so chat_channel matches no chat.
var initiators = map[string]store.Filter{
	"operator":     is(store.ReportCaseInitiator, string(models.InitiatorAgent)),
	"visitor":      is(store.ReportCaseInitiator, string(models.InitiatorContact)),
	"autoinvite":   is(store.ReportCaseInitiator, string(models.InitiatorInvite)),
	"chatbot":      is(store.ReportCaseInitiator, string(models.InitiatorSystem)),
	"chat_channel": either(),
}

// initiatorName returns CallGear's name of a chat's initiator.
func initiatorName(i models.Initiator) any {
	switch i {
	case models.InitiatorAgent:
		return "operator"
	case models.InitiatorContact:
		return "visitor"
	case models.InitiatorInvite:
		return "autoinvite"
	case models.InitiatorSystem:
		return "chatbot"
	}
	return nil
}

// agentName returns an agent's full name, nil without one.
func agentName(a *models.Agent) any {
	if a == nil {
		return nil
	}
	return shown(joinName(a.FirstName, a.LastName), time.UTC)
}

// joinName joins a first and last name, either of which may be empty.
func joinName(first, last string) string {
	switch {
	case first == "":
		return last
	case last == "":
		return first
	}
	return first + " " + last
}

// channelType is CallGear's channel of a chat: "dataapi" for one uploaded
// through this API, "comagic" (the site's own chat) for any other.
func channelType(uploaded bool) string {
	if uploaded {
		return "dataapi"
	}
	return "comagic"
}

// caseColumns are the columns the offline message and chat reports share.
func caseColumns() columns[store.CaseReportRow] {
	type R = store.CaseReportRow
	return columns[R]{
		"id": {field: store.ReportCaseID, kind: kindNumber, filter: true, byDefault: true,
			value: func(r R) any { return r.ID }},
		"date_time": {field: store.ReportCaseStartedAt, kind: kindDateTime, sort: true, byDefault: true,
			value: func(r R) any { return r.StartedAt }},
		"communication_id": {field: store.ReportCaseID, kind: kindNumber, filter: true, byDefault: true,
			value: func(r R) any { return r.ID }},
		"employee_id": {field: store.ReportCaseAssigneeID, kind: kindNumber, filter: true, sort: true, byDefault: true,
			value: func(r R) any { return r.AssigneeID }},
		"employee_full_name": {value: func(r R) any { return agentName(r.Assignee) }},
		"site_id": {field: store.ReportCaseSiteID, kind: kindNumber, filter: true, sort: true, byDefault: true,
			value: func(r R) any { return r.SiteID }},
		"site_domain_name": {field: store.ReportCaseSiteDomain, kind: kindText, filter: true,
			value: func(r R) any { return r.SiteDomain }},
		"campaign_id": {field: store.ReportCaseCampaignID, kind: kindNumber, filter: true, sort: true, byDefault: true,
			value: func(r R) any { return r.CampaignID }},
		"campaign_name": {field: store.ReportCaseCampaignName, kind: kindText, filter: true,
			value: func(r R) any { return r.CampaignName }},
		"visitor_phone_number": {field: store.ReportCaseContactPhone, kind: kindText, filter: true, byDefault: true,
			value: func(r R) any { return r.Contact.Phone }},
		"visitor_id": {field: store.ReportCaseContactID, kind: kindNumber, filter: true, sort: true, byDefault: true,
			value: func(r R) any { return r.ContactID }},
		"visitor_session_id": {field: store.ReportCaseVisitorSessionID, kind: kindNumber, filter: true, sort: true,
			value: func(r R) any { return r.VisitorSessionExtID }},
		"ext_id": {field: store.ReportCaseExtID, kind: kindText, filter: true, sort: true, byDefault: true,
			value: func(r R) any { return r.ExtID }},
	}
}

// The columns of CallGear's reports that the store has nothing for: they
// are accepted in fields and come back null.
var (
	commonUnfilled = []string{"communication_number", "communication_page_url", "ua_client_id", "ym_client_id",
		"sale_date", "sale_cost", "search_query", "search_engine", "referrer_domain", "referrer", "entrance_page",
		"gclid", "yclid", "ymclid", "ef_id", "channel", "tags", "visit_other_campaign", "person_id", "visitor_type",
		"visits_count", "visitor_first_campaign_id", "visitor_first_campaign_name", "visitor_city", "visitor_region",
		"visitor_country", "visitor_device", "visitor_custom_properties", "segments", "utm_source", "utm_medium",
		"utm_term", "utm_content", "utm_campaign", "openstat_ad", "openstat_campaign", "openstat_service",
		"openstat_source", "attributes", "eq_utm_source", "eq_utm_medium", "eq_utm_term", "eq_utm_content",
		"eq_utm_campaign", "eq_utm_referrer", "eq_utm_expid", "source_id", "source_name", "source_new",
		"channel_new", "channel_code"}
	offlineUnfilled = []string{"is_agree_to_process_personal_data", "is_agree_to_mailing", "properties",
		"group_id", "group_name", "employee_comment"}
	chatUnfilled = []string{"chat_ad_url", "chat_channel_id", "chat_channel_name", "chat_user_id", "chat_username",
		"ua_client_id", "is_transfer", "release_cause", "employee_raiting", "visitor_ids"}
)

// offlineColumns are get.offline_messages_report's columns.
var offlineColumns = func() columns[store.CaseReportRow] {
	type R = store.CaseReportRow
	cols := withColumns(unfilled[R](append(commonUnfilled, offlineUnfilled...)...), caseColumns())
	for _, n := range []string{"is_agree_to_process_personal_data", "is_agree_to_mailing", "properties"} {
		c := cols[n]
		c.byDefault = true
		cols[n] = c
	}
	return withColumns(cols, columns[R]{
		"text":               {byDefault: true, value: func(r R) any { return r.FirstContactText }},
		"communication_type": {value: func(R) any { return "offline_message" }},
		"status": {field: store.ReportCaseStatus, kind: kindEnum, enum: offlineStatuses, filter: true, byDefault: true,
			value: func(r R) any { return offlineStatus(r.Case) }},
		"process_time": {value: func(r R) any { return r.ClosedAt }},
		"form_type": {byDefault: true, value: func(r R) any {
			if r.Uploaded {
				return "DataAPI"
			}
			return "Standard"
		}},
		"form_name": {field: store.ReportCaseFormName, kind: kindText, filter: true, sort: true,
			value: func(r R) any { return r.FormName }},
		"employee_answer_message": {value: func(r R) any { return r.FirstAgentText }},
		"visitor_email": {field: store.ReportCaseContactEmail, kind: kindText, filter: true, byDefault: true,
			value: func(r R) any { return r.Contact.Email }},
		"visitor_name": {field: store.ReportCaseContactName, kind: kindText, filter: true, byDefault: true,
			value: func(r R) any { return r.Contact.Name }},
		"visitor_session_id": {field: store.ReportCaseVisitorSessionID, kind: kindNumber, filter: true, byDefault: true,
			value: func(r R) any { return r.VisitorSessionExtID }},
	})
}()

// chatColumns are get.chats_report's columns.
var chatColumns = func() columns[store.CaseReportRow] {
	type R = store.CaseReportRow
	cols := withColumns(unfilled[R](append(commonUnfilled, chatUnfilled...)...), caseColumns())
	for _, n := range []string{"chat_ad_url", "is_transfer", "release_cause", "employee_raiting", "visitor_ids"} {
		c := cols[n]
		c.byDefault = true
		cols[n] = c
	}
	return withColumns(cols, columns[R]{
		"status": {field: store.ReportCaseStatus, kind: kindEnum, enum: chatStatuses, filter: true, byDefault: true,
			value: func(r R) any { return chatStatus(r.Case) }},
		"initiator": {field: store.ReportCaseInitiator, kind: kindEnum, enum: initiators, filter: true, sort: true, byDefault: true,
			value: func(r R) any { return initiatorName(r.Initiator) }},
		"duration": {byDefault: true, value: func(r R) any {
			end := r.ClosedAt
			if end == nil {
				end = r.LastMessageAt
			}
			if end == nil {
				return nil
			}
			return int64(end.Sub(r.StartedAt) / time.Second)
		}},
		"answer_time": {byDefault: true, value: func(r R) any {
			if r.FirstAgentMessageAt == nil {
				return nil
			}
			return int64(r.FirstAgentMessageAt.Sub(r.StartedAt) / time.Second)
		}},
		"communication_type":      {value: func(R) any { return "chat" }},
		"chat_channel_type":       {value: func(r R) any { return channelType(r.Uploaded) }},
		"messages_count":          {value: func(r R) any { return r.Messages }},
		"employee_messages_count": {value: func(r R) any { return r.AgentMessages }},
		"is_group_chat":           {byDefault: true, value: func(R) any { return false }},
	})
}()

// messageColumns are get.chat_messages_report's columns.
var messageColumns = func() columns[store.MessageReportRow] {
	type R = store.MessageReportRow
	return columns[R]{
		"id": {field: store.ReportMessageID, kind: kindNumber, filter: true, byDefault: true,
			value: func(r R) any { return r.ID }},
		"chat_id": {field: store.ReportMessageChatID, kind: kindNumber, filter: true, byDefault: true,
			value: func(r R) any { return r.ChatID }},
		"channel_id":   {value: func(R) any { return nil }},
		"channel_type": {value: func(r R) any { return channelType(r.Uploaded) }},
		"date_time": {field: store.ReportMessageCreatedAt, kind: kindDateTime, sort: true, byDefault: true,
			value: func(r R) any { return r.CreatedAt }},
		"is_group_chat": {byDefault: true, value: func(R) any { return false }},
		"visitor_id":    {byDefault: true, value: func(r R) any { return r.ContactID }},
		"text":          {byDefault: true, value: func(r R) any { return r.Text }},
		"source": {byDefault: true, value: func(r R) any {
			switch r.Sender {
			case models.SenderAgent:
				return "operator"
			case models.SenderContact:
				return "visitor"
			}
			return "system"
		}},
		"resource": {byDefault: true, value: func(R) any { return nil }},
		"employee_id": {field: store.ReportMessageAgentID, kind: kindNumber, filter: true, sort: true, byDefault: true,
			value: func(r R) any { return r.AgentID }},
		"employee_full_name": {byDefault: true, value: func(r R) any { return agentName(r.Agent) }},
	}
}()

// getOfflineMessagesReport is get.offline_messages_report {access_token,
// date_from, date_till, offset, limit, fields, sort, filter}: the account's
// offline messages received in the period. See readList for the params'
// errors and ReportCases for the total.
func (a *api) getOfflineMessagesReport(c echo.Context, cl auth.Caller, params map[string]any) (any, error) {
	return a.caseReport(c, cl, params, models.ChannelOffline, offlineColumns)
}

// getChatsReport is get.chats_report {access_token, date_from, date_till,
// offset, limit, fields, sort, filter}: the account's chats started in the
// period. See getOfflineMessagesReport.
func (a *api) getChatsReport(c echo.Context, cl auth.Caller, params map[string]any) (any, error) {
	return a.caseReport(c, cl, params, models.ChannelChat, chatColumns)
}

// caseReport runs a report of the channel's cases with cols (see getList).
func (a *api) caseReport(c echo.Context, cl auth.Caller, params map[string]any, ch models.Channel, cols columns[store.CaseReportRow]) (any, error) {
	return getList(a, c, cl, params, cols, listSpec{dates: datesRequired},
		func(ctx context.Context, accountID int64, q store.ListQuery) ([]store.CaseReportRow, int64, error) {
			return a.store.ReportCases(ctx, accountID, ch, q)
		})
}

// thirtyDays is get.chat_messages_report's longest period.
func thirtyDays(from time.Time) time.Time { return from.AddDate(0, 0, 30) }

// getChatMessagesReport is get.chat_messages_report {access_token, chat_id
// | chat_ids | date_from and date_till (at most 30 days; may go with
// either), offset, limit, fields, sort, filter}: the messages of the
// account's chats, oldest first. Neither chat_id, chat_ids nor dates is
// required_parameter_missed naming chat_id; chat_id with chat_ids is
// invalid_parameters_combination.
func (a *api) getChatMessagesReport(c echo.Context, cl auth.Caller, params map[string]any) (any, error) {
	ctx := c.Request().Context()
	loc, err := a.location(ctx, cl.AccountID)
	if err != nil {
		return nil, err
	}
	var p problems
	o := newObject(params, &p)
	o.skip("access_token")
	in := readList(o, loc, messageColumns, listSpec{dates: datesOptional, maxRange: thirtyDays})
	var chats []int64
	chatID, givenID, okID := o.id("chat_id", false)
	if okID {
		chats = []int64{chatID}
	}
	list, givenList := o.array("chat_ids", false)
	switch {
	case givenID && givenList:
		p.add("chat_ids", mCombination, nil, "Invalid parameters combination: give chat_id or chat_ids, not both")
	case givenList && len(list) == 0:
		p.invalid("chat_ids", nil, "must not be empty")
	case givenList && len(list) > store.MaxReportChats:
		p.add("chat_ids", mDataLimitExceeded, len(list), "Data limit exceeded: chat_ids has %d items, at most %d are allowed", len(list), store.MaxReportChats)
	case givenList:
		for i, v := range list {
			path := o.r.At("chat_ids").Element(i)
			if n, ok := o.idAt(path, v); ok {
				chats = append(chats, n)
			}
		}
	case !givenID && !o.r.Has("date_from") && !o.r.Has("date_till"):
		p.add("chat_id", mRequiredMissed, nil, "Required parameter chat_id is missed: give chat_id, chat_ids or date_from and date_till")
	}
	o.unexpected()
	if err := p.err(); err != nil {
		return nil, err
	}
	if err := a.checkUser(ctx, cl, o.optID("user_id")); err != nil {
		return nil, err
	}
	rows, total, err := a.store.ReportChatMessages(ctx, cl.AccountID, chats, in.Query)
	if err != nil {
		return nil, listErrors(err)
	}
	return listOf(rows, total, messageColumns, in.Fields, loc), nil
}

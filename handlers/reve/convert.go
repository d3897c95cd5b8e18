package reve

import (
	"strings"
	"time"

	"switchboard/models"
	"switchboard/store"
)

// offlineFields are the fields an offline message shows in the list and alone.
type offlineFields struct {
	OfflineMessageID int64  `json:"offline_message_id"`
	VisitorID        int64  `json:"visitor_id"`
	VisitorName      string `json:"visitor_name"`
	VisitorEmail     string `json:"visitor_email"`
	VisitorPhone     string `json:"visitor_phone"`
	Subject          string `json:"subject"`
	Message          string `json:"message"`
	ReceivedTime     int64  `json:"received_time"`
	Unread           int    `json:"unread"`
}

// offlineMessage is one row of GET /api/offlinemessages.
type offlineMessage struct {
	offlineFields
	ReplyMessageCount int64 `json:"reply_message_count"`
}

// offlineMessageDetail is GET /api/offlinemessages/{id}.
type offlineMessageDetail struct {
	offlineFields
	ReplyMessages []replyMessage `json:"reply_messages"`
}

// replyMessage is one agent reply inside offlineMessageDetail.
type replyMessage struct {
	ReplyMessage     string `json:"reply_message"`
	MessageReplyTime int64  `json:"message_reply_time"`
	AgentID          int64  `json:"agent_id"`
	FirstName        string `json:"first_name"`
	LastName         string `json:"last_name"`
	Email            string `json:"email"`
}

// epochMillis is REVE's time format.
func epochMillis(t time.Time) int64 { return t.UnixMilli() }

// flag is REVE's 0/1 for a boolean.
func flag(b bool) int {
	if b {
		return 1
	}
	return 0
}

// revePhone is a stored phone number (E.164, "+2348031234567") as REVE's
// pages show it: the digits with the country code and no "+"
// ("2348031234567"). Empty stays empty.
func revePhone(e164 string) string {
	return strings.TrimPrefix(e164, "+")
}

func toOfflineFields(m store.OfflineCase) offlineFields {
	return offlineFields{
		OfflineMessageID: m.ID, VisitorID: m.ContactID, VisitorName: m.ContactName,
		VisitorEmail: m.ContactEmail, VisitorPhone: revePhone(m.ContactPhone), Subject: m.Subject,
		Message: m.Message, ReceivedTime: epochMillis(m.ReceivedAt), Unread: flag(m.Unread),
	}
}

func toOfflineMessages(rows []store.OfflineCase) []offlineMessage {
	out := make([]offlineMessage, len(rows))
	for i, r := range rows {
		out[i] = offlineMessage{offlineFields: toOfflineFields(r), ReplyMessageCount: r.ReplyCount}
	}
	return out
}

func toOfflineMessageDetail(d store.OfflineCaseDetail) offlineMessageDetail {
	replies := make([]replyMessage, len(d.Replies))
	for i, r := range d.Replies {
		replies[i] = replyMessage{
			ReplyMessage: r.Text, MessageReplyTime: epochMillis(r.At), AgentID: r.AgentID,
			FirstName: r.FirstName, LastName: r.LastName, Email: r.Email,
		}
	}
	return offlineMessageDetail{offlineFields: toOfflineFields(d.OfflineCase), ReplyMessages: replies}
}

// millisOrNil is REVE's epoch milliseconds of an optional time: null when unset.
func millisOrNil(t *time.Time) *int64 {
	if t == nil {
		return nil
	}
	ms := epochMillis(*t)
	return &ms
}

// agent is one row of GET /api/agents and GET /api/agents/{id}.
type agent struct {
	AgentID             int64  `json:"agent_id"`
	FirstName           string `json:"first_name"`
	LastName            string `json:"last_name"`
	Email               string `json:"email"`
	PhoneNo             string `json:"phone_no"`
	Role                string `json:"role"`
	Status              string `json:"status"`
	LastLoginTime       *int64 `json:"last_login_time"`
	ConcurrentChatLimit int    `json:"concurrent_chat_limit"`
	CreateTime          int64  `json:"create_time"`
	Designation         string `json:"designation"`
	AdditionalInfo      string `json:"additional_info"`
	Enabled             int    `json:"enabled"`
}

// roleNames are REVE's names of the roles.
var roleNames = map[models.Role]string{
	models.RoleSuperadmin: "Super Admin",
	models.RoleAdmin:      "Admin",
	models.RoleAgent:      "Agent",
}

// offline is the status of every agent: switchboard tracks no presence.
const offline = "Offline"

func toAgent(a models.Agent) agent {
	role, ok := roleNames[a.Role]
	if !ok {
		role = string(a.Role)
	}
	return agent{
		AgentID: a.ID, FirstName: a.FirstName, LastName: a.LastName, Email: a.Email, PhoneNo: a.Phone,
		Role: role, Status: offline, LastLoginTime: millisOrNil(a.LastLoginAt),
		ConcurrentChatLimit: a.ConcurrentChatLimit, CreateTime: epochMillis(a.CreatedAt),
		Designation: a.Designation, AdditionalInfo: "", Enabled: flag(a.Enabled),
	}
}

func toAgents(rows []models.Agent) []agent {
	out := make([]agent, len(rows))
	for i, r := range rows {
		out[i] = toAgent(r)
	}
	return out
}

// chatHead and chatTail are the fields of a chat before and after its
// missed flag, which the list calls is_missed and the single chat
// is_missed_chat.
type chatHead struct {
	ChatID          int64 `json:"chat_id"`
	ChatRequestTime int64 `json:"chat_request_time"`
}

type chatTail struct {
	ChatStartedBy         string  `json:"chat_started_by"`
	IsChatTransferred     int     `json:"is_chat_transferred"`
	ConversationStartTime *int64  `json:"conversation_start_time"`
	ConversationEndTime   *int64  `json:"conversation_end_time"`
	ChatEndedBy           *string `json:"chat_ended_by"`
	VisitorID             int64   `json:"visitor_id"`
	VisitorEmail          string  `json:"visitor_email"`
	VisitorName           string  `json:"visitor_name"`
	VisitorPhone          string  `json:"visitor_phone"`
	AgentID               *int64  `json:"agent_id"`
	FirstName             string  `json:"first_name"`
	LastName              string  `json:"last_name"`
	Email                 string  `json:"email"`
	Rating                *string `json:"rating"`
}

// chat is one row of GET /api/chats.
type chat struct {
	chatHead
	IsMissed int `json:"is_missed"`
	chatTail
}

// chatDetail is GET /api/chats/{id}.
type chatDetail struct {
	chatHead
	IsMissedChat int `json:"is_missed_chat"`
	chatTail
}

// chatClosed reports whether the chat has ended.
func chatClosed(r store.ChatView) bool {
	return r.Status == models.StatusClosed && r.ClosedAt != nil
}

// chatMissed is REVE's missed chat: lost (an uploaded chat's outcome), or
// ended with no agent having written.
func chatMissed(r store.ChatView) bool {
	if r.Outcome != nil && *r.Outcome == models.OutcomeLost {
		return true
	}
	return chatClosed(r) && r.FirstAgentMessageAt == nil
}

// startedBy is REVE's chat_started_by of a case's initiator: "visitor",
// "agent", "autoinvite" (a contact who accepted an automatic invitation) or
// "system".
func startedBy(initiator models.Initiator) string {
	switch initiator {
	case models.InitiatorContact:
		return "visitor"
	case models.InitiatorInvite:
		return "autoinvite"
	}
	return string(initiator)
}

func toChatParts(r store.ChatView) (chatHead, chatTail) {
	t := chatTail{
		ChatStartedBy: startedBy(r.Initiator), ConversationStartTime: millisOrNil(r.FirstAgentMessageAt),
		VisitorID: r.ContactID, VisitorEmail: r.Contact.Email, VisitorName: r.Contact.Name,
		VisitorPhone: revePhone(r.Contact.Phone), AgentID: r.AssigneeID, Rating: r.Rating,
	}
	if chatClosed(r) {
		t.ConversationEndTime = millisOrNil(r.ClosedAt)
		by := "visitor"
		if r.ClosedBy != nil {
			by = "agent"
		}
		t.ChatEndedBy = &by
	}
	if r.Agent != nil {
		t.FirstName, t.LastName, t.Email = r.Agent.FirstName, r.Agent.LastName, r.Agent.Email
	}
	return chatHead{ChatID: r.ID, ChatRequestTime: epochMillis(r.StartedAt)}, t
}

func toChats(rows []store.ChatView) []chat {
	out := make([]chat, len(rows))
	for i, r := range rows {
		h, t := toChatParts(r)
		out[i] = chat{chatHead: h, IsMissed: flag(chatMissed(r)), chatTail: t}
	}
	return out
}

func toChatDetail(r store.ChatView) chatDetail {
	h, t := toChatParts(r)
	return chatDetail{chatHead: h, IsMissedChat: flag(chatMissed(r)), chatTail: t}
}

// visitor is one row of GET /api/visitors.
type visitor struct {
	VisitorID      int64  `json:"visitor_id"`
	Name           string `json:"name"`
	Email          string `json:"email"`
	Phone          string `json:"phone"`
	FirstVisitTime int64  `json:"first_visit_time"`
	IPAddress      string `json:"ip_address"`
	Platform       string `json:"platform"`
	Browser        string `json:"browser"`
	BrowserVersion string `json:"browser_version"`
	Country        string `json:"country"`
	Region         string `json:"region"`
	Latitude       string `json:"latitude"`
	Longitude      string `json:"longitude"`
	ISP            string `json:"isp"`
	City           string `json:"city"`
	ReferrerLink   string `json:"referrer_link"`
}

// visitorDetail is GET /api/visitors/{id}.
type visitorDetail struct {
	visitor
	// VisitorRecords is always empty: switchboard keeps no page-view records.
	VisitorRecords    []struct{} `json:"visitor_records"`
	TotalViews        int64      `json:"total_views"`
	TotalVisits       int64      `json:"total_visits"`
	TotalChats        int64      `json:"total_chats"`
	TotalChatDuration int64      `json:"total_chat_duration"`
	LastChatStartTime *int64     `json:"last_chat_start_time"`
}

func toVisitor(v store.ContactView) visitor {
	out := visitor{
		VisitorID: v.ID, Name: v.Name, Email: v.Email, Phone: revePhone(v.Phone),
		FirstVisitTime: epochMillis(v.FirstVisitAt),
	}
	if s := v.Last; s != nil {
		out.IPAddress, out.Platform, out.Browser, out.BrowserVersion = s.IPAddress, s.Platform, s.Browser, s.BrowserVersion
		out.Country, out.Region, out.Latitude, out.Longitude = s.Country, s.Region, s.Latitude, s.Longitude
		out.ISP, out.City, out.ReferrerLink = s.ISP, s.City, s.ReferrerURL
	}
	return out
}

func toVisitors(rows []store.ContactView) []visitor {
	out := make([]visitor, len(rows))
	for i, r := range rows {
		out[i] = toVisitor(r)
	}
	return out
}

func toVisitorDetail(d store.ContactViewDetail) visitorDetail {
	return visitorDetail{
		visitor: toVisitor(d.ContactView), VisitorRecords: []struct{}{}, TotalViews: d.TotalViews,
		TotalVisits: d.TotalVisits, TotalChats: d.TotalChats,
		TotalChatDuration: d.TotalChatDuration.Milliseconds(), LastChatStartTime: millisOrNil(d.LastChatStartedAt),
	}
}

package reve

import (
	"time"

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

func toOfflineFields(m store.OfflineMessage) offlineFields {
	return offlineFields{
		OfflineMessageID: m.ID, VisitorID: m.ContactID, VisitorName: m.ContactName,
		VisitorEmail: m.ContactEmail, VisitorPhone: m.ContactPhone, Subject: m.Subject,
		Message: m.Message, ReceivedTime: epochMillis(m.ReceivedAt), Unread: flag(m.Unread),
	}
}

func toOfflineMessages(rows []store.OfflineMessage) []offlineMessage {
	out := make([]offlineMessage, len(rows))
	for i, r := range rows {
		out[i] = offlineMessage{offlineFields: toOfflineFields(r), ReplyMessageCount: r.ReplyCount}
	}
	return out
}

func toOfflineMessageDetail(d store.OfflineMessageDetail) offlineMessageDetail {
	replies := make([]replyMessage, len(d.Replies))
	for i, r := range d.Replies {
		replies[i] = replyMessage{
			ReplyMessage: r.Text, MessageReplyTime: epochMillis(r.At), AgentID: r.AgentID,
			FirstName: r.FirstName, LastName: r.LastName, Email: r.Email,
		}
	}
	return offlineMessageDetail{offlineFields: toOfflineFields(d.OfflineMessage), ReplyMessages: replies}
}

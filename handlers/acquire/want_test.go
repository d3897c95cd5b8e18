package acquire_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"switchboard/models"
	"switchboard/store"
)

// The expected JSON of Acquire's objects, spelled out key by key after the
// vendor's example so that a missing, extra or renamed key fails the test.

func wantUser(a models.Agent) string {
	return fmt.Sprintf(`{"roles":[],"id":%d,"name":%s,"firstName":%s,"lastName":%s,"photo":"","email":%s,
		"clientId":"","parentId":0,"type":"user","accessLevel":null}`,
		a.ID, jsonString(a.FirstName+" "+a.LastName), jsonString(a.FirstName), jsonString(a.LastName), jsonString(a.Email))
}

// wantMemberUser is an agent in a case's users: the user with a null meta.
func wantMemberUser(a models.Agent) string {
	return strings.TrimSuffix(wantUser(a), "}") + `,"meta":null}`
}

func wantContactName(c models.Contact) string {
	if c.Name == "" {
		return fmt.Sprintf("#%d", c.ID)
	}
	return c.Name
}

func wantContactUser(c models.Contact) string {
	return fmt.Sprintf(`{"type":"contact","id":%d,"name":%s,"photo":null}`, c.ID, jsonString(wantContactName(c)))
}

func wantContact(c models.Contact) string {
	return fmt.Sprintf(`{"dateCreated":%q,"dateUpdated":%q,"id":%d,"clientType":"web","clientName":null,
		"clientVersion":null,"clientOsName":null,"clientOsVersion":null,"clientDeviceType":null,
		"clientDeviceVendor":null,"clientDeviceModel":null,"clientDetails":null,
		"fields":{"name":%s,"email":%s,"phone":%s,"ip":null,"city":null,"state":null,"country":null,"countryId":null},"meta":{},"archive":"no","companyId":null}`,
		iso(c.CreatedAt), iso(c.UpdatedAt), c.ID, jsonString(c.Name), jsonString(c.Email), jsonString(c.Phone))
}

// wantCaseFields is the case object without its closing brace, so that
// GET .../chat/messages can add "messages".
func wantCaseFields(v store.CaseView) string {
	c := v.Case
	started := iso(c.StartedAt)
	status, closingState, closed := "active", "null", "no"
	if c.Status == models.StatusClosed {
		status, closed = "closed", "yes"
		if c.ClosedBy != nil {
			closingState = `"handled"`
		}
	}
	var users []string
	for _, a := range v.Agents {
		users = append(users, fmt.Sprintf(`{"id":%d,"caseId":%d,"type":"user","userId":%d,"role":"owner","status":"active",
			"dateCreated":%q,"dateLastAssigned":%q,"closed":%q,"meta":null,"user":%s}`,
			a.ID, c.ID, a.ID, started, started, closed, wantMemberUser(a)))
	}
	users = append(users, fmt.Sprintf(`{"id":%d,"caseId":%d,"type":"contact","userId":%d,"role":"owner","status":"active",
		"dateCreated":%q,"dateLastAssigned":%q,"closed":%q,"meta":null,"user":%s}`,
		v.Contact.ID, c.ID, v.Contact.ID, started, started, closed, wantContactUser(v.Contact)))
	return fmt.Sprintf(`{"dateCreated":%q,"dateUpdated":%q,"id":%d,"contactId":%d,"closedBy":%s,"visitId":%s,
		"title":%s,"description":"","channel":%q,"status":%q,"closingState":%s,"dateQueue":%q,"datePending":%q,
		"dateActive":%q,"dateClosed":%s,"queueId":null,"queueOrder":null,"meta":{},"parentId":null,"userId":%s,
		"waitTime":0,"contact":%s,"users":[%s],"timeline":%s,"threadId":%d,"timelineId":%d`,
		started, iso(c.UpdatedAt), c.ID, c.ContactID, intOrNull(c.ClosedBy), intOrNull(c.VisitorSessionID),
		jsonString(c.Subject), wantChannel(c.Channel), status, closingState, started, started, started, isoOrNull(c.ClosedAt),
		intOrNull(c.AssigneeID), wantContact(v.Contact), strings.Join(users, ","), wantTimeline(v), c.ID, c.TimelineID)
}

func wantCase(v store.CaseView) string { return wantCaseFields(v) + "}" }

// wantMessage is a message object as GET .../chat/messages lists it; with a
// case (caseJSON not empty) it is the add-message response's data.
func wantMessage(m store.MessageView, v store.CaseView, caseJSON string) string {
	senderType, senderID, sender := "system", "null", "null"
	switch m.Sender {
	case models.SenderAgent:
		senderType, senderID, sender = "user", intOrNull(m.AgentID), wantUser(*m.Agent)
	case models.SenderContact:
		senderType, senderID, sender = "contact", fmt.Sprint(v.Contact.ID), wantContactUser(v.Contact)
	}
	seen := "no"
	if m.Read {
		seen = "yes"
	}
	withCase := ""
	if caseJSON != "" {
		withCase = `"case":` + caseJSON + ","
	}
	// Email and SMS messages show in the chat list by their channel, an
	// email by its text body (its HTML body when it has no text one).
	channel, text := "chat", m.Text
	switch {
	case m.EmailFrom != "":
		channel = "email"
		if text == "" {
			text = m.HTMLBody
		}
	case m.SMSFrom != "":
		channel = "sms"
	}
	return fmt.Sprintf(`{"channel":%q,"senderType":%q,"senderId":%s,"type":%q,"seen":%q,"message":%s,"meta":{},
		"dateCreated":%q,%s"sender":%s,"dateUpdated":null,"id":%d,"caseId":%d,"threadId":%d,"contactId":%d,
		"timelineId":%d,"timeline":%s}`,
		channel, senderType, senderID, m.Kind, seen, jsonString(text), iso(m.CreatedAt), withCase, sender,
		m.ID, m.CaseID, m.CaseID, v.ContactID, v.TimelineID, wantTimeline(v))
}

// wantFullUser is an agent as the mail and SMS responses show it.
func wantFullUser(a models.Agent) string {
	return fmt.Sprintf(`{"departments":[],"roles":[],"id":%d,"name":%s,"firstName":%s,"lastName":%s,"photo":"","email":%s,
		"clientId":"","parentId":0,"metaDetails":{"isBotClient":false,"label":""},"type":"user","accessLevel":null}`,
		a.ID, jsonString(a.FirstName+" "+a.LastName), jsonString(a.FirstName), jsonString(a.LastName), jsonString(a.Email))
}

func wantAddresses(addrs []string) string {
	parts := make([]string, len(addrs))
	for i, a := range addrs {
		parts[i] = fmt.Sprintf(`{"Name":"","Email":%s}`, jsonString(a))
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// sentMail is what the mail add-message response is checked against: the
// stored message and delivery, the addresses as the client meant them and
// who sent it (agent nil for the contact).
type sentMail struct {
	m           models.Message
	d           *models.Delivery
	inboxID     int64
	to, cc, bcc []string
	agent       *models.Agent
	contact     models.Contact
}

// wantMail is the data of the mail add-message response.
func wantMail(w sentMail) string {
	m := w.m
	senderType, senderID, fromName, user, sender := "contact", w.contact.ID, w.contact.Name, "null",
		fmt.Sprintf(`{"type":"contact","id":%d,"name":%s,"email":%s,"photo":""}`, w.contact.ID, jsonString(wantContactName(w.contact)), jsonString(m.EmailFrom))
	if w.agent != nil {
		a := *w.agent
		name := a.FirstName + " " + a.LastName
		senderType, senderID, fromName, user = "user", a.ID, name, wantFullUser(a)
		sender = fmt.Sprintf(`{"type":"user","id":%d,"name":%s,"email":%s,"photo":""}`, a.ID, jsonString(name), jsonString(a.Email))
	}
	messageID := "null"
	if w.d != nil {
		messageID = jsonString(w.d.Reference)
	}
	created := iso(m.CreatedAt)
	return fmt.Sprintf(`{"id":%d,"caseMessageId":%d,"channelId":null,"caseId":%d,"inboxId":%d,"mailId":%d,"type":"message",
		"senderType":%q,"senderId":%d,"to":%s,"from":{"Name":%s,"Email":%s,"MailboxHash":""},"cc":%s,"bcc":%s,"reply_to":null,
		"subject":%s,"textBody":%s,"htmlBody":%s,"mailboxMessageId":null,"messageId":%s,"mailboxInReplyTo":null,
		"originalRecipient":%s,"parentId":null,"attachments":[],"dateCreated":%q,"dateSeen":null,"dateBounce":null,
		"dateFailed":null,"dateDelivery":null,"seen":"no","isDraft":"no","scheduleAt":%q,"meta":null,"clickedDate":null,
		"unsubscribeDate":null,"appMessageId":null,"appThreadId":null,"user":%s,"sender":%s,"mailMsgId":%d}`,
		m.ID, m.ID, m.CaseID, w.inboxID, m.ID, senderType, senderID, wantAddresses(w.to), jsonString(fromName),
		jsonString(m.EmailFrom), wantAddresses(w.cc), wantAddresses(w.bcc), jsonString(m.EmailSubject), jsonString(m.Text),
		jsonString(m.HTMLBody), messageID, jsonString(w.to[0]), created, created, user, sender, m.ID)
}

// wantTimeline is the case's timeline: one per case, with the case's
// timeline id.
func wantTimeline(v store.CaseView) string {
	return fmt.Sprintf(`{"id":%d,"objectType":"case","caseId":%d,"viewId":null,"noteId":null,"threadId":%d,
		"dateCreated":%q,"dateUpdated":%q,"contactId":%d,"archive":"no","meta":{}}`,
		v.TimelineID, v.ID, v.ID, iso(v.StartedAt), iso(v.UpdatedAt), v.ContactID)
}

// wantSMS is the data of the send-sms response for the SMS m of the case v
// (as it stands after the write), sent by agent (nil for the contact) with
// the delivery d (nil for the contact's).
func wantSMS(m models.Message, v store.CaseView, inboxID int64, agent *models.Agent, d *models.Delivery) string {
	senderType, senderID, sender, status, direction, updated := "contact", v.Contact.ID, wantContactUser(v.Contact), "received", "inbound", m.UpdatedAt
	if agent != nil {
		senderType, senderID, status, direction, updated = "user", agent.ID, "queued", "outbound-api", d.UpdatedAt
		sender = strings.TrimSuffix(wantFullUser(*agent), "}") + `,"meta":null}`
	}
	tl := wantTimeline(v)
	c := strings.Replace(wantCase(v), `"meta":{},"parentId"`,
		fmt.Sprintf(`"meta":{"contact":%s,"timeline":%s,"is_new_contact":false},"parentId"`, wantContact(v.Contact), tl), 1)
	unread := 0
	if v.Unread {
		unread = 1
	}
	text, created := jsonString(m.Text), iso(m.CreatedAt)
	caseWithLast := strings.TrimSuffix(c, "}") + fmt.Sprintf(`,"fields":{},"lastMessage":{"id":%d,"caseId":%d,"channel":"sms",
		"senderId":%d,"senderType":%q,"type":"message","message":%s,"dateCreated":%q,"dateUpdated":null,"seen":"no","meta":{}},
		"tags":[],"channels":["voip"],"msgUnread":%d}`, m.ID, m.CaseID, senderID, senderType, text, created, unread)
	smsTimeline := strings.TrimSuffix(tl, "}") + `,"case":` + caseWithLast + `,"note":null,"view":null,"snooze":[]}`
	meta := fmt.Sprintf(`{"To":%q,"to":%q,"SMS":%s,"sid":null,"uri":null,"Body":%s,"From":%q,"body":%s,"from":%q,
		"price":null,"status":%q,"dateSent":null,"numMedia":"0","MediaMeta":[],"direction":%q,"errorCode":null,
		"priceUnit":null,"accountSid":null,"apiVersion":"2010-04-01","dateCreated":%q,"dateUpdated":%q,"numSegments":"1",
		"errorMessage":null,"subresourceUris":{"media":null},"messagingServiceSid":null}`,
		m.SMSTo, m.SMSTo, text, text, m.SMSFrom, text, m.SMSFrom, status, direction, created, iso(updated))
	return fmt.Sprintf(`{"cas":%s,"threadId":%d,"timeline":%s,"data":{"members":[],"message":%s,"msgType":"sms",
		"channelType":"voip","attachments":[],"id":%d,"caseId":%d,"from":%q,"to":%q,"voip_account_id":%d,"senderType":%q,
		"senderId":%d,"type":"sms","recording_status":null,"meta":%s,
		"call_transcript":0,"caseMessageId":%d,"timelineId":%d,"contactId":%d,"seen":"no","dateCreated":%q,
		"call_answered":null,"call_end":null,"call_sid":null,"status":%q,"call_status":null,"conferenceId":null,
		"price":"0","sender":%s,"is_new_case":false,"is_new_contact":false,"cas":%s,"case_id":%d,"timeline":%s,
		"is_case_join":false}}`,
		c, v.ID, smsTimeline, text, m.ID, m.CaseID, m.SMSFrom, m.SMSTo, inboxID, senderType, senderID,
		meta, m.ID, v.TimelineID, v.ContactID, created, status, sender, c, v.ID, tl)
}

// The keys of the objects in Acquire's documented mail add-message and
// send-sms responses (acquire-send-message.txt), to hold the responses to.
var (
	docMailKeys = []string{"id", "caseMessageId", "channelId", "caseId", "inboxId", "mailId", "type", "senderType",
		"senderId", "to", "from", "cc", "bcc", "reply_to", "subject", "textBody", "htmlBody", "mailboxMessageId",
		"messageId", "mailboxInReplyTo", "originalRecipient", "parentId", "attachments", "dateCreated", "dateSeen",
		"dateBounce", "dateFailed", "dateDelivery", "seen", "isDraft", "scheduleAt", "meta", "clickedDate",
		"unsubscribeDate", "appMessageId", "appThreadId", "user", "sender", "mailMsgId"}
	docMailAddressKeys = []string{"Name", "Email"}
	docMailFromKeys    = []string{"Name", "Email", "MailboxHash"}
	docMailUserKeys    = []string{"departments", "roles", "id", "name", "firstName", "lastName", "photo", "email",
		"clientId", "parentId", "metaDetails", "type", "accessLevel"}
	docMailSenderKeys = []string{"type", "id", "name", "email", "photo"}

	docSMSKeys     = []string{"cas", "threadId", "timeline", "data"}
	docSMSDataKeys = []string{"members", "message", "msgType", "channelType", "attachments", "id", "caseId", "from",
		"to", "voip_account_id", "senderType", "senderId", "type", "recording_status", "meta", "call_transcript",
		"caseMessageId", "timelineId", "contactId", "seen", "dateCreated", "call_answered", "call_end", "call_sid",
		"status", "call_status", "conferenceId", "price", "sender", "is_new_case", "is_new_contact", "cas", "case_id",
		"timeline", "is_case_join"}
	// docTimelineKeys are those of the timeline inside the documented case
	// (cas.timeline and data.data.timeline).
	docTimelineKeys = []string{"id", "objectType", "caseId", "viewId", "noteId", "threadId", "dateCreated",
		"dateUpdated", "contactId", "archive", "meta"}
	// docSMSTimelineKeys are those of the response's timeline (data.timeline),
	// which carries the case; the page leaves out caseId there, switchboard
	// keeps it.
	docSMSTimelineKeys = append(slices.Clone(docTimelineKeys), "case", "note", "view", "snooze")
	// docSMSMetaKeys are the provider's (Twilio's) keys of data.data.meta.
	docSMSMetaKeys = []string{"To", "to", "SMS", "sid", "uri", "Body", "From", "body", "from", "price", "status",
		"dateSent", "numMedia", "MediaMeta", "direction", "errorCode", "priceUnit", "accountSid", "apiVersion",
		"dateCreated", "dateUpdated", "numSegments", "errorMessage", "subresourceUris", "messagingServiceSid"}
)

// assertKeys checks that obj (a JSON object) has exactly the keys.
func assertKeys(tb testing.TB, what string, obj any, keys []string) {
	tb.Helper()
	m, ok := obj.(map[string]any)
	if !ok {
		tb.Errorf("%s is %T, not an object", what, obj)
		return
	}
	got := slices.Sorted(maps.Keys(m))
	want := slices.Sorted(slices.Values(keys))
	if !slices.Equal(got, want) {
		tb.Errorf("%s keys\n got: %v\nwant: %v", what, got, want)
	}
}

// wantChannel is the channel Acquire shows for a case: an offline message is
// a chat.
func wantChannel(ch models.Channel) string {
	if ch == models.ChannelOffline {
		return "chat"
	}
	return string(ch)
}

package acquire

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	"switchboard/models"
	"switchboard/store"
)

// isoLayout is Acquire's time format: ISO-8601 in UTC with milliseconds.
const isoLayout = "2006-01-02T15:04:05.000Z"

// isoTime returns t in Acquire's format.
func isoTime(t time.Time) string { return t.UTC().Format(isoLayout) }

// isoTimePtr returns t in Acquire's format, or nil (JSON null) when t is nil.
func isoTimePtr(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := isoTime(*t)
	return &s
}

// yesNo is Acquire's "yes"/"no" for a boolean.
func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// emptyObject is the {} Acquire sends for an empty meta.
type emptyObject struct{}

// userObject is an Acquire user (one of our agents), as a message's sender and
// inside a case's users.
type userObject struct {
	Roles       []string `json:"roles"`
	ID          int64    `json:"id"`
	Name        string   `json:"name"`
	FirstName   string   `json:"firstName"`
	LastName    string   `json:"lastName"`
	Photo       string   `json:"photo"`
	Email       string   `json:"email"`
	ClientID    string   `json:"clientId"`
	ParentID    int64    `json:"parentId"`
	Type        string   `json:"type"`
	AccessLevel *string  `json:"accessLevel"`
}

// userMeta is the meta Acquire shows with a user in a case's users and as
// the sender of an SMS: the user's settings (its onboarding state), of which
// switchboard keeps none, so null.
type userMeta struct {
	Meta *emptyObject `json:"meta"`
}

// memberUser is an agent in a case's users.
type memberUser struct {
	userObject
	userMeta
}

// contactUser is a contact where Acquire shows a user: a message's sender and
// the contact's entry in a case's users.
type contactUser struct {
	Type  string  `json:"type"`
	ID    int64   `json:"id"`
	Name  string  `json:"name"`
	Photo *string `json:"photo"`
}

// contactFields are the contact's custom fields Acquire shows. switchboard
// keeps the name, email and phone; the location Acquire reads from the
// visitor's browser (ip, city, state, country, countryId) it does not know,
// so those are null.
type contactFields struct {
	Name      string       `json:"name"`
	Email     string       `json:"email"`
	Phone     string       `json:"phone"`
	IP        *string      `json:"ip"`
	City      *string      `json:"city"`
	State     *string      `json:"state"`
	Country   *emptyObject `json:"country"`
	CountryID *string      `json:"countryId"`
}

// contactObject is the contact inside a case. switchboard knows nothing of
// the contact's browser, so the client* keys of Acquire's example are null
// (clientType says "web", the only client switchboard's contacts come from).
type contactObject struct {
	DateCreated        string        `json:"dateCreated"`
	DateUpdated        string        `json:"dateUpdated"`
	ID                 int64         `json:"id"`
	ClientType         string        `json:"clientType"`
	ClientName         *string       `json:"clientName"`
	ClientVersion      *string       `json:"clientVersion"`
	ClientOsName       *string       `json:"clientOsName"`
	ClientOsVersion    *string       `json:"clientOsVersion"`
	ClientDeviceType   *string       `json:"clientDeviceType"`
	ClientDeviceVendor *string       `json:"clientDeviceVendor"`
	ClientDeviceModel  *string       `json:"clientDeviceModel"`
	ClientDetails      *emptyObject  `json:"clientDetails"`
	Fields             contactFields `json:"fields"`
	Meta               emptyObject   `json:"meta"`
	Archive            string        `json:"archive"`
	CompanyID          *int64        `json:"companyId"`
}

// caseUser is one participant of a case: an agent or the contact. User is a
// memberUser or a contactUser.
type caseUser struct {
	ID               int64        `json:"id"`
	CaseID           int64        `json:"caseId"`
	Type             string       `json:"type"`
	UserID           int64        `json:"userId"`
	Role             string       `json:"role"`
	Status           string       `json:"status"`
	DateCreated      string       `json:"dateCreated"`
	DateLastAssigned string       `json:"dateLastAssigned"`
	Closed           string       `json:"closed"`
	Meta             *emptyObject `json:"meta"`
	User             any          `json:"user"`
}

// caseMeta is a case's meta: {} everywhere but in the send-sms response,
// which shows the case's contact and timeline there as Acquire's does.
type caseMeta struct {
	Contact      *contactObject  `json:"contact,omitempty"`
	Timeline     *timelineObject `json:"timeline,omitempty"`
	IsNewContact *bool           `json:"is_new_contact,omitempty"`
}

// caseObject is an Acquire case (a switchboard case of any channel), with
// its timeline: timelineId is the case's second handle, which send-sms takes
// with the case.
type caseObject struct {
	DateCreated  string         `json:"dateCreated"`
	DateUpdated  string         `json:"dateUpdated"`
	ID           int64          `json:"id"`
	ContactID    int64          `json:"contactId"`
	ClosedBy     *int64         `json:"closedBy"`
	VisitID      *int64         `json:"visitId"`
	Title        string         `json:"title"`
	Description  string         `json:"description"`
	Channel      string         `json:"channel"`
	Status       string         `json:"status"`
	ClosingState *string        `json:"closingState"`
	DateQueue    string         `json:"dateQueue"`
	DatePending  string         `json:"datePending"`
	DateActive   string         `json:"dateActive"`
	DateClosed   *string        `json:"dateClosed"`
	QueueID      *int64         `json:"queueId"`
	QueueOrder   *int64         `json:"queueOrder"`
	Meta         caseMeta       `json:"meta"`
	ParentID     *int64         `json:"parentId"`
	UserID       *int64         `json:"userId"`
	WaitTime     int64          `json:"waitTime"`
	Contact      contactObject  `json:"contact"`
	Users        []caseUser     `json:"users"`
	Timeline     timelineObject `json:"timeline"`
	ThreadID     int64          `json:"threadId"`
	TimelineID   int64          `json:"timelineId"`
}

// caseWithMessages is one thread of GET .../chat/messages: the case and its
// messages, oldest first.
type caseWithMessages struct {
	caseObject
	Messages []messageObject `json:"messages"`
}

// messageObject is an Acquire chat message, with its case's timeline as
// the send-sms response shows one on its message. Case is set only in the
// add-message response. Sender is a userObject, a contactUser or nil.
type messageObject struct {
	Channel     string         `json:"channel"`
	SenderType  string         `json:"senderType"`
	SenderID    *int64         `json:"senderId"`
	Type        string         `json:"type"`
	Seen        string         `json:"seen"`
	Message     string         `json:"message"`
	Meta        emptyObject    `json:"meta"`
	DateCreated string         `json:"dateCreated"`
	Case        *caseObject    `json:"case,omitempty"`
	Sender      any            `json:"sender"`
	DateUpdated *string        `json:"dateUpdated"`
	ID          int64          `json:"id"`
	CaseID      int64          `json:"caseId"`
	ThreadID    int64          `json:"threadId"`
	ContactID   int64          `json:"contactId"`
	TimelineID  int64          `json:"timelineId"`
	Timeline    timelineObject `json:"timeline"`
}

// casePage is the data of GET /crm/objects/case.
type casePage struct {
	Page   int64        `json:"page"`
	Offset int64        `json:"offset"`
	Limit  int          `json:"limit"`
	Count  int64        `json:"count"`
	Data   []caseObject `json:"data"`
}

// dataBody is Acquire's success envelope.
type dataBody[T any] struct {
	Data T `json:"data"`
}

// Acquire's sender types.
const (
	senderUser    = "user"
	senderContact = "contact"
	// senderSystem is switchboard's own: Acquire documents only user and
	// contact, and a system message (from an upload) is neither.
	senderSystem = "system"
)

// toUser returns the Acquire user for an agent.
func toUser(a models.Agent) userObject {
	return userObject{
		Roles: []string{}, ID: a.ID, Name: a.FullName(),
		FirstName: a.FirstName, LastName: a.LastName, Email: a.Email, Type: senderUser,
	}
}

// contactName is the name Acquire shows for a contact: its name, or "#<id>"
// for a contact without one.
func contactName(c models.Contact) string {
	if c.Name != "" {
		return c.Name
	}
	return "#" + strconv.FormatInt(c.ID, 10)
}

// toContactUser returns the contact as Acquire shows it in place of a user.
func toContactUser(c models.Contact) contactUser {
	return contactUser{Type: senderContact, ID: c.ID, Name: contactName(c)}
}

// toContact returns the contact inside a case.
func toContact(c models.Contact) contactObject {
	return contactObject{
		DateCreated: isoTime(c.CreatedAt), DateUpdated: isoTime(c.UpdatedAt), ID: c.ID, ClientType: "web",
		Fields:  contactFields{Name: c.Name, Email: c.Email, Phone: c.Phone},
		Archive: "no",
	}
}

// toCase returns the Acquire case for a case view. Every status but closed is
// "active"; a case closed by an agent was "handled".
func toCase(v store.CaseView) caseObject {
	c := v.Case
	started := isoTime(c.StartedAt)
	status := "active"
	var closingState *string
	if c.Status == models.StatusClosed {
		status = "closed"
		if c.ClosedBy != nil {
			s := "handled"
			closingState = &s
		}
	}
	closed := yesNo(c.Status == models.StatusClosed)
	users := make([]caseUser, 0, len(v.Agents)+1)
	for _, a := range v.Agents {
		users = append(users, caseUser{
			ID: a.ID, CaseID: c.ID, Type: senderUser, UserID: a.ID, Role: "owner", Status: "active",
			DateCreated: started, DateLastAssigned: started, Closed: closed, User: memberUser{userObject: toUser(a)},
		})
	}
	users = append(users, caseUser{
		ID: v.Contact.ID, CaseID: c.ID, Type: senderContact, UserID: v.Contact.ID, Role: "owner", Status: "active",
		DateCreated: started, DateLastAssigned: started, Closed: closed, User: toContactUser(v.Contact),
	})
	return caseObject{
		DateCreated: started, DateUpdated: isoTime(c.UpdatedAt), ID: c.ID, ContactID: c.ContactID,
		ClosedBy: c.ClosedBy, VisitID: c.VisitorSessionID, Title: c.Subject, Channel: caseChannel(c.Channel),
		Status: status, ClosingState: closingState, DateQueue: started, DatePending: started, DateActive: started,
		DateClosed: isoTimePtr(c.ClosedAt), UserID: c.AssigneeID, Contact: toContact(v.Contact),
		Users: users, Timeline: toTimeline(v), ThreadID: c.ID, TimelineID: c.TimelineID,
	}
}

// toCases returns the Acquire cases for case views.
func toCases(views []store.CaseView) []caseObject {
	out := make([]caseObject, len(views))
	for i, v := range views {
		out[i] = toCase(v)
	}
	return out
}

// caseChannel is a case's channel as Acquire's pages name it: chat, email or
// sms. An offline message (a REVE or CallGear offline message) is a chat.
func caseChannel(ch models.Channel) string {
	if ch == models.ChannelOffline {
		return string(models.ChannelChat)
	}
	return string(ch)
}

// messageChannel is the channel a message went over: email and SMS messages
// carry their addresses, every other message is a chat message.
func messageChannel(m models.Message) string {
	switch {
	case m.EmailFrom != "" || m.EmailTo != "":
		return "email"
	case m.SMSFrom != "" || m.SMSTo != "":
		return "sms"
	}
	return "chat"
}

// messageText is a message's text as a chat message shows it: an email's
// text body (its HTML body when it has only that), any other message's text.
func messageText(m models.Message) string {
	if m.Text == "" && messageChannel(m) == "email" {
		return m.HTMLBody
	}
	return m.Text
}

// toMessage returns the Acquire message for m, a message of the case v. An
// agent's message is the user's, a contact's the case's contact's; a system
// message has no sender. dateUpdated is set only for an edited message.
func toMessage(m store.MessageView, v store.CaseView) messageObject {
	out := messageObject{
		Channel: messageChannel(m.Message), Type: string(m.Kind), Seen: yesNo(m.Read), Message: messageText(m.Message),
		DateCreated: isoTime(m.CreatedAt), ID: m.ID, CaseID: m.CaseID, ThreadID: m.CaseID, ContactID: v.ContactID,
		TimelineID: v.TimelineID, Timeline: toTimeline(v),
	}
	if m.Edited {
		out.DateUpdated = isoTimePtr(&m.UpdatedAt)
	}
	switch m.Sender {
	case models.SenderAgent:
		out.SenderType = senderUser
		out.SenderID = m.AgentID
		if m.Agent != nil {
			out.Sender = toUser(*m.Agent)
		}
	case models.SenderContact:
		out.SenderType = senderContact
		id := v.Contact.ID
		out.SenderID = &id
		out.Sender = toContactUser(v.Contact)
	default:
		out.SenderType = senderSystem
	}
	return out
}

// toAddedMessage returns the add-message response data: the message with its
// case as it stands after the write.
func toAddedMessage(m store.MessageView, v store.CaseView) messageObject {
	out := toMessage(m, v)
	c := toCase(v)
	out.Case = &c
	return out
}

// toThread returns a case with its messages for GET .../chat/messages.
func toThread(v store.CaseView, msgs []store.MessageView) caseWithMessages {
	out := caseWithMessages{caseObject: toCase(v), Messages: make([]messageObject, len(msgs))}
	for i, m := range msgs {
		out.Messages[i] = toMessage(m, v)
	}
	return out
}

// metaDetails is the metaDetails of a user in Acquire's mail and SMS
// responses; switchboard has no bots and no labels.
type metaDetails struct {
	IsBotClient bool   `json:"isBotClient"`
	Label       string `json:"label"`
}

// fullUser is a user as Acquire's mail and SMS responses show it: the chat
// user with departments (switchboard has none) and metaDetails.
type fullUser struct {
	Departments []string `json:"departments"`
	userObject
	MetaDetails metaDetails `json:"metaDetails"`
}

// mailAddress is a recipient of an email.
type mailAddress struct {
	Name  string `json:"Name"`
	Email string `json:"Email"`
}

// mailFrom is the sender's address of an email. switchboard keeps no
// mailbox hashes.
type mailFrom struct {
	Name        string `json:"Name"`
	Email       string `json:"Email"`
	MailboxHash string `json:"MailboxHash"`
}

// mailSender is who wrote an email: the agent (type user) or the contact.
type mailSender struct {
	Type  string `json:"type"`
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
	Photo string `json:"photo"`
}

// mailObject is the data of the mail add-message response. switchboard has
// one message per email, so id, caseMessageId, mailId and mailMsgId are all
// the message's id; the keys of things switchboard does not track (reply-to,
// the receiving mailbox's ids, opens, clicks, drafts, apps) are null.
type mailObject struct {
	ID                int64         `json:"id"`
	CaseMessageID     int64         `json:"caseMessageId"`
	ChannelID         *int64        `json:"channelId"`
	CaseID            int64         `json:"caseId"`
	InboxID           int64         `json:"inboxId"`
	MailID            int64         `json:"mailId"`
	Type              string        `json:"type"`
	SenderType        string        `json:"senderType"`
	SenderID          int64         `json:"senderId"`
	To                []mailAddress `json:"to"`
	From              mailFrom      `json:"from"`
	Cc                []mailAddress `json:"cc"`
	Bcc               []mailAddress `json:"bcc"`
	ReplyTo           *string       `json:"reply_to"`
	Subject           string        `json:"subject"`
	TextBody          string        `json:"textBody"`
	HTMLBody          string        `json:"htmlBody"`
	MailboxMessageID  *string       `json:"mailboxMessageId"`
	MessageID         *string       `json:"messageId"`
	MailboxInReplyTo  *string       `json:"mailboxInReplyTo"`
	OriginalRecipient string        `json:"originalRecipient"`
	ParentID          *int64        `json:"parentId"`
	Attachments       []emptyObject `json:"attachments"`
	DateCreated       string        `json:"dateCreated"`
	DateSeen          *string       `json:"dateSeen"`
	DateBounce        *string       `json:"dateBounce"`
	DateFailed        *string       `json:"dateFailed"`
	DateDelivery      *string       `json:"dateDelivery"`
	Seen              string        `json:"seen"`
	IsDraft           string        `json:"isDraft"`
	ScheduleAt        string        `json:"scheduleAt"`
	Meta              *emptyObject  `json:"meta"`
	ClickedDate       *string       `json:"clickedDate"`
	UnsubscribeDate   *string       `json:"unsubscribeDate"`
	AppMessageID      *string       `json:"appMessageId"`
	AppThreadID       *string       `json:"appThreadId"`
	User              *fullUser     `json:"user"`
	Sender            mailSender    `json:"sender"`
	MailMsgID         int64         `json:"mailMsgId"`
}

// timelineObject is a case's timeline. switchboard keeps one per case,
// numbered apart from the case (the case's timelineId); its dates are the
// case's.
type timelineObject struct {
	ID          int64       `json:"id"`
	ObjectType  string      `json:"objectType"`
	CaseID      int64       `json:"caseId"`
	ViewID      *int64      `json:"viewId"`
	NoteID      *int64      `json:"noteId"`
	ThreadID    int64       `json:"threadId"`
	DateCreated string      `json:"dateCreated"`
	DateUpdated string      `json:"dateUpdated"`
	ContactID   int64       `json:"contactId"`
	Archive     string      `json:"archive"`
	Meta        emptyObject `json:"meta"`
}

// lastMessage is a case's last message as a timeline's case shows it.
type lastMessage struct {
	ID          int64       `json:"id"`
	CaseID      int64       `json:"caseId"`
	Channel     string      `json:"channel"`
	SenderID    *int64      `json:"senderId"`
	SenderType  string      `json:"senderType"`
	Type        string      `json:"type"`
	Message     string      `json:"message"`
	DateCreated string      `json:"dateCreated"`
	DateUpdated *string     `json:"dateUpdated"`
	Seen        string      `json:"seen"`
	Meta        emptyObject `json:"meta"`
}

// timelineCase is the case inside the send-sms response's timeline: the
// case with its last message (the SMS just written), its custom fields and
// tags (switchboard has none), the channels it used that the response knows
// of (voip, the SMS's) and msgUnread, 1 when the case has messages no agent
// has read (switchboard keeps a flag, not a count) and 0 otherwise.
type timelineCase struct {
	caseObject
	Fields      emptyObject `json:"fields"`
	LastMessage lastMessage `json:"lastMessage"`
	Tags        []string    `json:"tags"`
	Channels    []string    `json:"channels"`
	MsgUnread   int         `json:"msgUnread"`
}

// smsTimeline is the send-sms response's timeline: the case's timeline with
// the case; switchboard has no notes, views or snoozes on it.
type smsTimeline struct {
	timelineObject
	Case   timelineCase  `json:"case"`
	Note   *emptyObject  `json:"note"`
	View   *emptyObject  `json:"view"`
	Snooze []emptyObject `json:"snooze"`
}

// subresourceURIs are the provider's links below a message; switchboard
// has no media to link.
type subresourceURIs struct {
	Media *string `json:"media"`
}

// smsMeta is the provider's (Twilio's) record of an SMS, as Acquire passes
// it on, with each key in the page's spelling (some twice, as the page has
// them). switchboard fills what its outbox knows: the numbers, the text, the
// status in the provider's words, the provider's sid once sent, the dates,
// the segments and the failure. The provider's account, URIs and prices it
// does not keep: null.
type smsMeta struct {
	ToUpper             string          `json:"To"`
	To                  string          `json:"to"`
	SMS                 string          `json:"SMS"`
	SID                 *string         `json:"sid"`
	URI                 *string         `json:"uri"`
	BodyUpper           string          `json:"Body"`
	FromUpper           string          `json:"From"`
	Body                string          `json:"body"`
	From                string          `json:"from"`
	Price               *string         `json:"price"`
	Status              string          `json:"status"`
	DateSent            *string         `json:"dateSent"`
	NumMedia            string          `json:"numMedia"`
	MediaMeta           []emptyObject   `json:"MediaMeta"`
	Direction           string          `json:"direction"`
	ErrorCode           *int            `json:"errorCode"`
	PriceUnit           *string         `json:"priceUnit"`
	AccountSID          *string         `json:"accountSid"`
	APIVersion          string          `json:"apiVersion"`
	DateCreated         string          `json:"dateCreated"`
	DateUpdated         string          `json:"dateUpdated"`
	NumSegments         string          `json:"numSegments"`
	ErrorMessage        *string         `json:"errorMessage"`
	SubresourceURIs     subresourceURIs `json:"subresourceUris"`
	MessagingServiceSID *string         `json:"messagingServiceSid"`
}

// smsMessage is the SMS inside the send-sms response. The keys of calls
// (switchboard sends no voice) are null or zero; id and caseMessageId are
// both the message's id, voip_account_id is the SMS number's inbox.
type smsMessage struct {
	Members         []emptyObject  `json:"members"`
	Message         string         `json:"message"`
	MsgType         string         `json:"msgType"`
	ChannelType     string         `json:"channelType"`
	Attachments     []emptyObject  `json:"attachments"`
	ID              int64          `json:"id"`
	CaseID          int64          `json:"caseId"`
	From            string         `json:"from"`
	To              string         `json:"to"`
	VoipAccountID   int64          `json:"voip_account_id"`
	SenderType      string         `json:"senderType"`
	SenderID        int64          `json:"senderId"`
	Type            string         `json:"type"`
	RecordingStatus *string        `json:"recording_status"`
	Meta            smsMeta        `json:"meta"`
	CallTranscript  int            `json:"call_transcript"`
	CaseMessageID   int64          `json:"caseMessageId"`
	TimelineID      int64          `json:"timelineId"`
	ContactID       int64          `json:"contactId"`
	Seen            string         `json:"seen"`
	DateCreated     string         `json:"dateCreated"`
	CallAnswered    *string        `json:"call_answered"`
	CallEnd         *string        `json:"call_end"`
	CallSID         *string        `json:"call_sid"`
	Status          string         `json:"status"`
	CallStatus      *string        `json:"call_status"`
	ConferenceID    *int64         `json:"conferenceId"`
	Price           string         `json:"price"`
	Sender          any            `json:"sender"`
	IsNewCase       bool           `json:"is_new_case"`
	IsNewContact    bool           `json:"is_new_contact"`
	Cas             caseObject     `json:"cas"`
	CaseIDSnake     int64          `json:"case_id"`
	Timeline        timelineObject `json:"timeline"`
	IsCaseJoin      bool           `json:"is_case_join"`
}

// smsSent is the data of the send-sms response: the case, its thread and
// timeline (with the case), and the SMS.
type smsSent struct {
	Cas      caseObject  `json:"cas"`
	ThreadID int64       `json:"threadId"`
	Timeline smsTimeline `json:"timeline"`
	Data     smsMessage  `json:"data"`
}

// smsUser is the agent who sent an SMS, as the send-sms response shows it.
type smsUser struct {
	fullUser
	userMeta
}

// toFullUser returns the mail and SMS responses' user for an agent.
func toFullUser(a models.Agent) fullUser {
	return fullUser{Departments: []string{}, userObject: toUser(a)}
}

// sentBy returns the agent who sent an agent's email or SMS. The store reads
// the agent with the message; should it not, the agent is known by id only.
func sentBy(sm store.SentMessage) models.Agent {
	switch {
	case sm.Agent != nil:
		return *sm.Agent
	case sm.AgentID != nil:
		return models.Agent{ID: *sm.AgentID}
	}
	return models.Agent{}
}

// toMailAddresses returns an address list as the store keeps it (a JSON
// array; a comma-separated list is read too) as Acquire's recipients, which
// carry no names: switchboard keeps bare addresses.
func toMailAddresses(raw string) []mailAddress {
	var addrs []string
	if err := json.Unmarshal([]byte(raw), &addrs); err != nil {
		addrs = nil
		for a := range strings.SplitSeq(raw, ",") {
			if a = strings.TrimSpace(a); a != "" {
				addrs = append(addrs, a)
			}
		}
	}
	out := make([]mailAddress, len(addrs))
	for i, a := range addrs {
		out[i] = mailAddress{Email: a}
	}
	return out
}

// nonEmpty returns s, or nil (JSON null) when s is empty.
func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// toMail returns the mail add-message response data for the email sm of the
// case v. An agent's email shows the agent as user and sender and its
// delivery's Message-ID as messageId; a contact's has no user, no messageId
// and the contact as sender.
func toMail(sm store.SentMessage, v store.CaseView) mailObject {
	m := sm.Message
	created := isoTime(m.CreatedAt)
	to := toMailAddresses(m.EmailTo)
	out := mailObject{
		ID: m.ID, CaseMessageID: m.ID, CaseID: m.CaseID, InboxID: sm.Inbox.ID, MailID: m.ID,
		Type: string(models.KindMessage), To: to, From: mailFrom{Email: m.EmailFrom},
		Cc: toMailAddresses(m.EmailCc), Bcc: toMailAddresses(m.EmailBcc), Subject: m.EmailSubject,
		TextBody: m.Text, HTMLBody: m.HTMLBody, Attachments: []emptyObject{}, DateCreated: created,
		DateFailed: isoTimePtr(m.FailedAt), DateDelivery: isoTimePtr(m.DeliveredAt), Seen: yesNo(m.Read),
		IsDraft: yesNo(false), ScheduleAt: created, MailMsgID: m.ID,
	}
	if len(to) > 0 {
		out.OriginalRecipient = to[0].Email
	}
	if sm.Delivery != nil {
		out.MessageID = nonEmpty(sm.Delivery.Reference)
	}
	switch m.Sender {
	case models.SenderAgent:
		a := sentBy(sm)
		u := toFullUser(a)
		out.SenderType, out.SenderID, out.User = senderUser, a.ID, &u
		out.From.Name = a.FullName()
		out.Sender = mailSender{Type: senderUser, ID: a.ID, Name: a.FullName(), Email: a.Email}
	default:
		c := v.Contact
		out.SenderType, out.SenderID = senderContact, c.ID
		out.From.Name = c.Name
		out.Sender = mailSender{Type: senderContact, ID: c.ID, Name: contactName(c), Email: m.EmailFrom}
	}
	return out
}

// toTimeline returns the timeline of the case v.
func toTimeline(v store.CaseView) timelineObject {
	return timelineObject{
		ID: v.TimelineID, ObjectType: "case", CaseID: v.ID, ThreadID: v.ID, DateCreated: isoTime(v.StartedAt),
		DateUpdated: isoTime(v.UpdatedAt), ContactID: v.ContactID, Archive: "no",
	}
}

// smsStatus is the status of the SMS m in the provider's (Twilio's) words:
// a contact's was received (d is nil); an agent's is queued in the outbox,
// sending while the worker hands it over, then sent or failed, and
// delivered or undelivered once the provider's delivery receipt says so
// (the message's delivery status, which receipts set while the outbox row
// stays sent).
func smsStatus(m models.Message, d *models.Delivery) string {
	if d == nil {
		return "received"
	}
	switch models.DeliveryStatus(m.DeliveryStatus) {
	case models.DeliveryDelivered:
		return "delivered"
	case models.DeliveryUndelivered:
		return "undelivered"
	case models.DeliveryFailed:
		return "failed"
	}
	switch d.Status {
	case models.DeliverySending:
		return "sending"
	case models.DeliverySent:
		return "sent"
	case models.DeliveryFailed:
		return "failed"
	}
	return "queued"
}

// gsm7 are the characters of the GSM 03.38 default alphabet, which an SMS
// carries in 7 bits each; gsm7Ext are those of its extension table, which
// take two.
const (
	gsm7 = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
		"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	gsm7Ext = "^{}\\[~]|€\f"
)

// smsSegments returns how many parts the provider sends body in: 160 GSM
// characters alone or 153 a part, and for a body with any other character,
// 70 UTF-16 units alone or 67 a part.
func smsSegments(body string) int {
	units, gsm := 0, true
	for _, r := range body {
		switch {
		case strings.ContainsRune(gsm7, r):
			units++
		case strings.ContainsRune(gsm7Ext, r):
			units += 2
		default:
			gsm = false
		}
	}
	single, part := 160, 153
	if !gsm {
		units = len(utf16.Encode([]rune(body)))
		single, part = 70, 67
	}
	if units <= single {
		return 1
	}
	return (units + part - 1) / part
}

// toSMSMeta returns the provider's record of the SMS sm.
func toSMSMeta(sm store.SentMessage) smsMeta {
	m := sm.Message
	out := smsMeta{
		ToUpper: m.SMSTo, To: m.SMSTo, SMS: m.Text, BodyUpper: m.Text, FromUpper: m.SMSFrom, Body: m.Text,
		From: m.SMSFrom, Status: smsStatus(m, sm.Delivery), NumMedia: "0", MediaMeta: []emptyObject{},
		Direction: "inbound", APIVersion: "2010-04-01", DateCreated: isoTime(m.CreatedAt),
		DateUpdated: isoTime(m.UpdatedAt), NumSegments: strconv.Itoa(smsSegments(m.Text)),
	}
	if d := sm.Delivery; d != nil {
		out.Direction = "outbound-api"
		out.SID = nonEmpty(d.ProviderRef)
		out.DateUpdated = isoTime(d.UpdatedAt)
		switch out.Status {
		case "sent", "delivered", "undelivered":
			out.DateSent = isoTimePtr(m.DeliveredAt)
		}
		if out.Status == "failed" || out.Status == "undelivered" {
			out.ErrorMessage = nonEmpty(m.FailReason)
		}
	}
	return out
}

// toSMSCase returns the case of the send-sms response: the case with its
// contact and timeline in meta, as Acquire shows them there.
func toSMSCase(v store.CaseView) caseObject {
	c := toCase(v)
	contact, tl, isNew := toContact(v.Contact), toTimeline(v), false
	c.Meta = caseMeta{Contact: &contact, Timeline: &tl, IsNewContact: &isNew}
	return c
}

// toSMSTimeline returns the send-sms response's timeline: that of the case
// v with the case, whose last message is the SMS m.
func toSMSTimeline(v store.CaseView, c caseObject, m messageObject) smsTimeline {
	unread := 0
	if v.Unread {
		unread = 1
	}
	return smsTimeline{
		timelineObject: toTimeline(v),
		Case: timelineCase{
			caseObject: c, Tags: []string{}, Channels: []string{"voip"}, MsgUnread: unread,
			LastMessage: lastMessage{
				ID: m.ID, CaseID: m.CaseID, Channel: m.Channel, SenderID: m.SenderID, SenderType: m.SenderType,
				Type: m.Type, Message: m.Message, DateCreated: m.DateCreated, DateUpdated: m.DateUpdated, Seen: m.Seen,
			},
		},
		Snooze: []emptyObject{},
	}
}

// toSMSSent returns the send-sms response data for the SMS sm of the case v.
func toSMSSent(sm store.SentMessage, v store.CaseView) smsSent {
	m := sm.Message
	c := toSMSCase(v)
	tl := toTimeline(v)
	meta := toSMSMeta(sm)
	d := smsMessage{
		Members: []emptyObject{}, Message: m.Text, MsgType: "sms", ChannelType: "voip", Attachments: []emptyObject{},
		ID: m.ID, CaseID: m.CaseID, From: m.SMSFrom, To: m.SMSTo, VoipAccountID: sm.Inbox.ID, Type: "sms",
		Meta: meta, CaseMessageID: m.ID, TimelineID: tl.ID, ContactID: v.ContactID, Seen: yesNo(m.Read),
		DateCreated: isoTime(m.CreatedAt), CallSID: meta.SID, Status: meta.Status, Price: "0",
		Cas: c, CaseIDSnake: m.CaseID, Timeline: tl,
	}
	switch m.Sender {
	case models.SenderAgent:
		a := sentBy(sm)
		d.SenderType, d.SenderID, d.Sender = senderUser, a.ID, smsUser{fullUser: toFullUser(a)}
	default:
		d.SenderType, d.SenderID, d.Sender = senderContact, v.Contact.ID, toContactUser(v.Contact)
	}
	return smsSent{Cas: c, ThreadID: v.ID, Timeline: toSMSTimeline(v, c, toMessage(sm.MessageView, v)), Data: d}
}

package acquire

import (
	"strconv"
	"strings"
	"time"

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

// contactUser is a contact where Acquire shows a user: a message's sender and
// the contact's entry in a case's users.
type contactUser struct {
	Type  string  `json:"type"`
	ID    int64   `json:"id"`
	Name  string  `json:"name"`
	Photo *string `json:"photo"`
}

// contactFields are the contact's custom fields Acquire shows; switchboard
// keeps these three.
type contactFields struct {
	Name  string `json:"name"`
	Email string `json:"email"`
	Phone string `json:"phone"`
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
// userObject or a contactUser.
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

// caseObject is an Acquire case (a switchboard case of any channel).
type caseObject struct {
	DateCreated  string        `json:"dateCreated"`
	DateUpdated  string        `json:"dateUpdated"`
	ID           int64         `json:"id"`
	ContactID    int64         `json:"contactId"`
	ClosedBy     *int64        `json:"closedBy"`
	VisitID      *int64        `json:"visitId"`
	Title        string        `json:"title"`
	Description  string        `json:"description"`
	Channel      string        `json:"channel"`
	Status       string        `json:"status"`
	ClosingState *string       `json:"closingState"`
	DateQueue    string        `json:"dateQueue"`
	DatePending  string        `json:"datePending"`
	DateActive   string        `json:"dateActive"`
	DateClosed   *string       `json:"dateClosed"`
	QueueID      *int64        `json:"queueId"`
	QueueOrder   *int64        `json:"queueOrder"`
	Meta         emptyObject   `json:"meta"`
	ParentID     *int64        `json:"parentId"`
	UserID       *int64        `json:"userId"`
	WaitTime     int64         `json:"waitTime"`
	Contact      contactObject `json:"contact"`
	Users        []caseUser    `json:"users"`
	ThreadID     int64         `json:"threadId"`
}

// caseWithMessages is one thread of GET .../chat/messages: the case and its
// messages, oldest first.
type caseWithMessages struct {
	caseObject
	Messages []messageObject `json:"messages"`
}

// messageObject is an Acquire chat message. Case is set only in the
// add-message response. Sender is a userObject, a contactUser or nil.
type messageObject struct {
	Channel     string      `json:"channel"`
	SenderType  string      `json:"senderType"`
	SenderID    *int64      `json:"senderId"`
	Type        string      `json:"type"`
	Seen        string      `json:"seen"`
	Message     string      `json:"message"`
	Meta        emptyObject `json:"meta"`
	DateCreated string      `json:"dateCreated"`
	Case        *caseObject `json:"case,omitempty"`
	Sender      any         `json:"sender"`
	DateUpdated *string     `json:"dateUpdated"`
	ID          int64       `json:"id"`
	CaseID      int64       `json:"caseId"`
	ThreadID    int64       `json:"threadId"`
	ContactID   int64       `json:"contactId"`
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
		Roles: []string{}, ID: a.ID, Name: strings.TrimSpace(a.FirstName + " " + a.LastName),
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
			DateCreated: started, DateLastAssigned: started, Closed: closed, User: toUser(a),
		})
	}
	users = append(users, caseUser{
		ID: v.Contact.ID, CaseID: c.ID, Type: senderContact, UserID: v.Contact.ID, Role: "owner", Status: "active",
		DateCreated: started, DateLastAssigned: started, Closed: closed, User: toContactUser(v.Contact),
	})
	return caseObject{
		DateCreated: started, DateUpdated: isoTime(c.UpdatedAt), ID: c.ID, ContactID: c.ContactID,
		ClosedBy: c.ClosedBy, VisitID: c.VisitorSessionID, Title: c.Subject, Channel: string(c.Channel),
		Status: status, ClosingState: closingState, DateQueue: started, DatePending: started, DateActive: started,
		DateClosed: isoTimePtr(c.ClosedAt), UserID: c.AssigneeID, Contact: toContact(v.Contact),
		Users: users, ThreadID: c.ID,
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

// toMessage returns the Acquire message for m, a message of the case v. An
// agent's message is the user's, a contact's the case's contact's; a system
// message has no sender. dateUpdated is set only for an edited message.
func toMessage(m store.MessageView, v store.CaseView) messageObject {
	out := messageObject{
		Channel: messageChannel(m.Message), Type: string(m.Kind), Seen: yesNo(m.Read), Message: m.Text,
		DateCreated: isoTime(m.CreatedAt), ID: m.ID, CaseID: m.CaseID, ThreadID: m.CaseID, ContactID: v.ContactID,
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

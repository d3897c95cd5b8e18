package models

// Role is an agent's role.
type Role string

// The roles an agent can have.
const (
	RoleSuperadmin Role = "superadmin"
	RoleAdmin      Role = "admin"
	RoleAgent      Role = "agent"
)

// Valid reports whether r is one of the known roles.
func (r Role) Valid() bool {
	switch r {
	case RoleSuperadmin, RoleAdmin, RoleAgent:
		return true
	}
	return false
}

// KeyKind says what an API key row stands for.
type KeyKind string

// The kinds of key.
const (
	// KeyAPI is a key an operator made with `key create` (or the first start):
	// a bearer credential on every dialect, with the scopes it was made with.
	KeyAPI KeyKind = "api"
	// KeySession is a short-lived token a password login issued (CallGear's
	// login.user): valid only on the endpoint that issued it, with the scopes
	// of its agent's role.
	KeySession KeyKind = "session"
)

// Valid reports whether k is one of the known kinds.
func (k KeyKind) Valid() bool { return k == KeyAPI || k == KeySession }

// Channel is the medium of a case.
type Channel string

// The channels a case can be on.
const (
	ChannelChat    Channel = "chat"
	ChannelEmail   Channel = "email"
	ChannelSMS     Channel = "sms"
	ChannelOffline Channel = "offline"
)

// Channels returns every channel, in the order lists show them.
func Channels() []Channel {
	return []Channel{ChannelChat, ChannelEmail, ChannelSMS, ChannelOffline}
}

// Valid reports whether c is one of the known channels.
func (c Channel) Valid() bool {
	switch c {
	case ChannelChat, ChannelEmail, ChannelSMS, ChannelOffline:
		return true
	}
	return false
}

// CaseStatus is where a case stands.
type CaseStatus string

// The statuses of a case. Every status but closed takes new messages.
const (
	StatusNew     CaseStatus = "new"
	StatusOpen    CaseStatus = "open"
	StatusPending CaseStatus = "pending"
	StatusOnHold  CaseStatus = "on_hold"
	StatusClosed  CaseStatus = "closed"
)

// Valid reports whether s is one of the known statuses.
func (s CaseStatus) Valid() bool {
	switch s {
	case StatusNew, StatusOpen, StatusPending, StatusOnHold, StatusClosed:
		return true
	}
	return false
}

// Outcome is how a finished chat ended (CallGear's chat status).
type Outcome string

// The outcomes of a chat.
const (
	OutcomeLost      Outcome = "lost"
	OutcomeSucceeded Outcome = "succeeded"
	OutcomeRefused   Outcome = "refused"
)

// Valid reports whether o is one of the known outcomes.
func (o Outcome) Valid() bool {
	switch o {
	case OutcomeLost, OutcomeSucceeded, OutcomeRefused:
		return true
	}
	return false
}

// Initiator says who started a case.
type Initiator string

// The initiators of a case.
const (
	InitiatorContact Initiator = "contact"
	InitiatorAgent   Initiator = "agent"
	InitiatorSystem  Initiator = "system"
	// InitiatorInvite is a chat the contact began by accepting an automatic
	// invitation (a proactive chat).
	InitiatorInvite Initiator = "invite"
)

// Valid reports whether i is one of the known initiators.
func (i Initiator) Valid() bool {
	switch i {
	case InitiatorContact, InitiatorAgent, InitiatorSystem, InitiatorInvite:
		return true
	}
	return false
}

// Sender says who wrote a message.
type Sender string

// The senders of a message.
const (
	SenderAgent   Sender = "agent"
	SenderContact Sender = "contact"
	SenderSystem  Sender = "system"
)

// Valid reports whether s is one of the known senders.
func (s Sender) Valid() bool {
	switch s {
	case SenderAgent, SenderContact, SenderSystem:
		return true
	}
	return false
}

// Kind says what a message is.
type Kind string

// The kinds of message: a note is private to agents, an event records a change.
const (
	KindMessage Kind = "message"
	KindNote    Kind = "note"
	KindEvent   Kind = "event"
)

// Valid reports whether k is one of the known kinds.
func (k Kind) Valid() bool {
	switch k {
	case KindMessage, KindNote, KindEvent:
		return true
	}
	return false
}

// InboxKind is the medium of an inbox and of a delivery.
type InboxKind string

// The kinds of inbox.
const (
	InboxEmail InboxKind = "email"
	InboxSMS   InboxKind = "sms"
)

// Valid reports whether k is one of the known inbox kinds.
func (k InboxKind) Valid() bool { return k == InboxEmail || k == InboxSMS }

// DeliveryStatus is where a delivery stands in the outbox.
type DeliveryStatus string

// The statuses of a delivery.
const (
	DeliveryQueued  DeliveryStatus = "queued"
	DeliverySending DeliveryStatus = "sending"
	DeliverySent    DeliveryStatus = "sent"
	DeliveryFailed  DeliveryStatus = "failed"
	// DeliveryDelivered and DeliveryUndelivered are what the provider later
	// reported of an SMS it had taken (a delivery receipt): it reached the
	// handset, or the carrier could not deliver it. Only a message's
	// DeliveryStatus takes them; its outbox row stays sent, or failed.
	DeliveryDelivered   DeliveryStatus = "delivered"
	DeliveryUndelivered DeliveryStatus = "undelivered"
)

// EventType names a change recorded in the event log, in the model's words:
// "<entity>.<what happened>". The dialects map these to their vendors' event
// names; the store never sees those.
type EventType string

// The event types. Every write of the store appends one or more of them in
// its own transaction.
const (
	EventAccountCreated  EventType = "account.created"
	EventAccountUpdated  EventType = "account.updated"
	EventSettingsUpdated EventType = "settings.updated"

	EventAgentCreated EventType = "agent.created"
	EventAgentUpdated EventType = "agent.updated"

	EventKeyCreated EventType = "key.created"
	EventKeyRevoked EventType = "key.revoked"

	EventSiteCreated     EventType = "site.created"
	EventSiteUpdated     EventType = "site.updated"
	EventCampaignCreated EventType = "campaign.created"
	// EventVisitorSessionCreated is a contact's visit to a site (ContactID).
	EventVisitorSessionCreated EventType = "visitor_session.created"
	EventInboxCreated          EventType = "inbox.created"
	EventDepartmentCreated     EventType = "department.created"

	EventContactCreated EventType = "contact.created"
	EventContactUpdated EventType = "contact.updated"
	EventContactDeleted EventType = "contact.deleted"

	// EventCaseCreated is a new case; its data has "channel" and "initiator".
	EventCaseCreated EventType = "case.created"
	// EventCaseStatusChanged is a status change other than closing; data
	// "from" and "to".
	EventCaseStatusChanged EventType = "case.status_changed"
	// EventCaseClosed is a case closed; data "from" and "to" ("closed").
	EventCaseClosed EventType = "case.closed"
	// EventCaseAssigned is a case given to an agent (AgentID) or taken from
	// one (AgentID 0); data "previous_agent_id" when it had one.
	EventCaseAssigned          EventType = "case.assigned"
	EventCaseDepartmentChanged EventType = "case.department_changed"
	EventCaseSnoozed           EventType = "case.snoozed"
	EventCaseDeleted           EventType = "case.deleted"

	// EventMessageCreated is a message in a case (not a note); data
	// "sender" (contact|agent|system), "channel" and "kind".
	EventMessageCreated EventType = "message.created"
	// EventNoteCreated is an agent's private note in a case.
	EventNoteCreated    EventType = "note.created"
	EventMessageDeleted EventType = "message.deleted"
	EventDeliverySent   EventType = "delivery.sent"
	EventDeliveryFailed EventType = "delivery.failed"
	// EventDeliveryDelivered is a delivery receipt saying an SMS reached
	// the handset; an undelivered one is EventDeliveryFailed with "reason".
	EventDeliveryDelivered EventType = "delivery.delivered"
	// EventAutoReplyReceived is an automatic reply (out of office, a
	// mailing list's notice) that arrived and was set aside: it is not a
	// message and reopens nothing. Data "from", "subject", "source_ref" and
	// "why"; CaseID is the case it answers, when known.
	EventAutoReplyReceived EventType = "auto_reply.received"
	// EventSMSOptedOut and EventSMSOptedIn are a number texting STOP (or
	// another opt-out word) and START; data "number".
	EventSMSOptedOut     EventType = "sms.opted_out"
	EventSMSOptedIn      EventType = "sms.opted_in"
	EventUploadCompleted EventType = "upload.completed"

	EventWebhookCreated  EventType = "webhook.created"
	EventWebhookDisabled EventType = "webhook.disabled"
	EventWebhookDeleted  EventType = "webhook.deleted"
)

// EventTypes returns every event type, in a fixed order.
func EventTypes() []EventType {
	return []EventType{
		EventAccountCreated, EventAccountUpdated, EventSettingsUpdated, EventAgentCreated, EventAgentUpdated,
		EventKeyCreated, EventKeyRevoked, EventSiteCreated, EventSiteUpdated, EventCampaignCreated,
		EventVisitorSessionCreated, EventInboxCreated, EventDepartmentCreated,
		EventContactCreated, EventContactUpdated, EventContactDeleted,
		EventCaseCreated, EventCaseStatusChanged, EventCaseClosed, EventCaseAssigned, EventCaseDepartmentChanged,
		EventCaseSnoozed, EventCaseDeleted,
		EventMessageCreated, EventNoteCreated, EventMessageDeleted, EventDeliverySent, EventDeliveryFailed,
		EventDeliveryDelivered, EventAutoReplyReceived, EventSMSOptedOut, EventSMSOptedIn,
		EventUploadCompleted, EventWebhookCreated, EventWebhookDisabled, EventWebhookDeleted,
	}
}

// Valid reports whether t is one of the known event types.
func (t EventType) Valid() bool {
	for _, k := range EventTypes() {
		if t == k {
			return true
		}
	}
	return false
}

// WebhookFormat is the wire format a webhook subscription is sent in: the
// vendor whose receivers it was written for, or the Standard Webhooks
// specification.
type WebhookFormat string

// The webhook formats.
const (
	FormatHelpCrunch WebhookFormat = "helpcrunch"
	FormatAcquire    WebhookFormat = "acquire"
	FormatStandard   WebhookFormat = "standard"
)

// Valid reports whether f is one of the known formats.
func (f WebhookFormat) Valid() bool {
	return f == FormatHelpCrunch || f == FormatAcquire || f == FormatStandard
}

// WebhookStatus says whether a subscription is sent to.
type WebhookStatus string

// The statuses of a webhook subscription.
const (
	WebhookActive   WebhookStatus = "active"
	WebhookDisabled WebhookStatus = "disabled"
)

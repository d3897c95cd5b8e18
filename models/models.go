// Package models holds the GORM models of switchboard's one shared store, their
// enums and the validation of single values. It imports nothing of ours.
package models

import (
	"strings"
	"time"
)

// Account is a tenant. Every other table carries its id.
type Account struct {
	ID       int64  `gorm:"primaryKey"`
	Name     string `gorm:"not null"`
	Timezone string `gorm:"not null"`
	// EmailsPerHour and SMSPerHour bound what the account's API keys may send
	// on the paid channels.
	EmailsPerHour int `gorm:"not null"`
	SMSPerHour    int `gorm:"column:sms_per_hour;not null"`
	// SMSAllowPremium lets the account's agents text numbers that may cost
	// more than an ordinary SMS (Phone.CostlyToText), refused otherwise.
	SMSAllowPremium bool `gorm:"column:sms_allow_premium;not null"`
	// RateLimit is how many requests each of the account's keys (and each
	// agent signing in with a password) may make a minute; DailyRateLimit a
	// day.
	RateLimit      int       `gorm:"not null"`
	DailyRateLimit int       `gorm:"not null"`
	CreatedAt      time.Time `gorm:"not null"`
	UpdatedAt      time.Time `gorm:"not null"`
}

// Agent is a person who answers: REVE agents, HelpCrunch agents, Acquire users.
type Agent struct {
	ID                  int64      `gorm:"primaryKey"`
	AccountID           int64      `gorm:"not null;index:idx_agents_account"`
	Email               string     `gorm:"not null;uniqueIndex:idx_agents_email"`
	PasswordHash        string     `gorm:"not null"`
	FirstName           string     `gorm:"not null"`
	LastName            string     `gorm:"not null"`
	Phone               string     `gorm:"not null"`
	Role                Role       `gorm:"not null"`
	Enabled             bool       `gorm:"not null"`
	Designation         string     `gorm:"not null"`
	ConcurrentChatLimit int        `gorm:"not null"`
	LastLoginAt         *time.Time ``
	CreatedAt           time.Time  `gorm:"not null"`
	UpdatedAt           time.Time  `gorm:"not null"`
}

// FullName returns the agent's first and last name, as the dialects show it.
func (a Agent) FullName() string { return strings.TrimSpace(a.FirstName + " " + a.LastName) }

// APIKey is one issued bearer token; ID is the token's JWT "jti".
type APIKey struct {
	ID         string     `gorm:"primaryKey"`
	AccountID  int64      `gorm:"not null;index:idx_api_keys_account"`
	AgentID    int64      `gorm:"not null;index:idx_api_keys_agent"`
	Name       string     `gorm:"not null"`
	Kind       KeyKind    `gorm:"not null"`
	Scopes     string     `gorm:"not null"`
	ExpiresAt  *time.Time ``
	RevokedAt  *time.Time ``
	LastUsedAt *time.Time ``
	CreatedAt  time.Time  `gorm:"not null"`
}

// TableName keeps the table name readable (GORM would say "api_keys" too, but
// only by accident of its initialism list).
func (APIKey) TableName() string { return "api_keys" }

// Contact is a visitor or customer. Phone is E.164 (as ParsePhone returns
// it) or empty.
type Contact struct {
	ID        int64  `gorm:"primaryKey;index:idx_contacts_created,priority:3;index:idx_contacts_updated,priority:3"`
	AccountID int64  `gorm:"not null;index:idx_contacts_email,priority:1;index:idx_contacts_phone,priority:1;index:idx_contacts_created,priority:1;index:idx_contacts_updated,priority:1"`
	Name      string `gorm:"not null"`
	Email     string `gorm:"not null;index:idx_contacts_email,priority:2"`
	Phone     string `gorm:"not null;index:idx_contacts_phone,priority:2"`
	// UserID is the contact's id in the client's own system (HelpCrunch userId).
	UserID    string    `gorm:"not null"`
	CreatedAt time.Time `gorm:"not null;index:idx_contacts_created,priority:2"`
	UpdatedAt time.Time `gorm:"not null;index:idx_contacts_updated,priority:2"`
}

// Site is a web site a contact can come from.
type Site struct {
	ID        int64     `gorm:"primaryKey"`
	AccountID int64     `gorm:"not null;index:idx_sites_account"`
	Domain    string    `gorm:"not null"`
	CreatedAt time.Time `gorm:"not null"`
}

// Department is a team of an account that cases are routed to
// (HelpCrunch's chat department); its name is the account's only one.
type Department struct {
	ID        int64     `gorm:"primaryKey"`
	AccountID int64     `gorm:"not null;uniqueIndex:idx_departments_name,priority:1"`
	Name      string    `gorm:"not null;uniqueIndex:idx_departments_name,priority:2"`
	CreatedAt time.Time `gorm:"not null"`
}

// Campaign is an advertising campaign of a site.
type Campaign struct {
	ID        int64     `gorm:"primaryKey"`
	AccountID int64     `gorm:"not null;index:idx_campaigns_account"`
	SiteID    int64     `gorm:"not null"`
	Name      string    `gorm:"not null"`
	CreatedAt time.Time `gorm:"not null"`
}

// VisitorSession is one visit of a contact to a site.
type VisitorSession struct {
	ID        int64 `gorm:"primaryKey;index:idx_visitor_sessions_started,priority:3"`
	AccountID int64 `gorm:"not null;index:idx_visitor_sessions_contact,priority:1;uniqueIndex:idx_visitor_sessions_ext,priority:1;index:idx_visitor_sessions_started,priority:1"`
	// ExtID is the number the account's own systems know the session by,
	// unique in the account: a session an upload names and records keeps the
	// uploader's number (CallGear's visitor_session_id), one created here
	// takes its ID unless the account already uses that number. Numbers of
	// different accounts never meet: an account names only its own.
	ExtID          *int64    `gorm:"uniqueIndex:idx_visitor_sessions_ext,priority:2"`
	ContactID      *int64    `gorm:"index:idx_visitor_sessions_contact,priority:2"`
	SiteID         int64     `gorm:"not null"`
	CampaignID     *int64    ``
	StartedAt      time.Time `gorm:"not null;index:idx_visitor_sessions_started,priority:2"`
	IPAddress      string    `gorm:"not null"`
	Platform       string    `gorm:"not null"`
	Browser        string    `gorm:"not null"`
	BrowserVersion string    `gorm:"not null"`
	Country        string    `gorm:"not null"`
	Region         string    `gorm:"not null"`
	City           string    `gorm:"not null"`
	Latitude       string    `gorm:"not null"`
	Longitude      string    `gorm:"not null"`
	ISP            string    `gorm:"column:isp;not null"`
	ReferrerURL    string    `gorm:"column:referrer_url;not null"`
	PageViews      int       `gorm:"not null"`
	CreatedAt      time.Time `gorm:"not null"`
}

// Case is one conversation with a contact on one channel.
type Case struct {
	ID         int64      `gorm:"primaryKey;index:idx_cases_list,priority:4,sort:desc;index:idx_cases_started,priority:3,sort:desc;index:idx_cases_assignee,priority:4,sort:desc;index:idx_cases_last_message_id,priority:3;index:idx_cases_last_customer_message,priority:3;index:idx_cases_closed,priority:3;index:idx_cases_status_activity,priority:4"`
	AccountID  int64      `gorm:"not null;index:idx_cases_list,priority:1;index:idx_cases_contact,priority:1;uniqueIndex:idx_cases_ext,priority:1;index:idx_cases_started,priority:1;index:idx_cases_last_message,priority:1;index:idx_cases_assignee,priority:1;index:idx_cases_last_message_id,priority:1;index:idx_cases_last_customer_message,priority:1;index:idx_cases_closed,priority:1;index:idx_cases_status_activity,priority:1;index:idx_cases_unread,priority:1,where:unread"`
	ContactID  int64      `gorm:"not null;index:idx_cases_contact,priority:2"`
	Channel    Channel    `gorm:"not null;index:idx_cases_list,priority:2;uniqueIndex:idx_cases_ext,priority:2;index:idx_cases_unread,priority:2"`
	Status     CaseStatus `gorm:"not null;index:idx_cases_status_activity,priority:2"`
	Outcome    *Outcome   ``
	Initiator  Initiator  `gorm:"not null"`
	Subject    string     `gorm:"not null"`
	AssigneeID *int64     `gorm:"index:idx_cases_assignee,priority:2"`
	Unread     bool       `gorm:"not null"`
	StartedAt  time.Time  `gorm:"not null;index:idx_cases_list,priority:3,sort:desc;index:idx_cases_started,priority:2,sort:desc;index:idx_cases_assignee,priority:3,sort:desc"`
	ClosedAt   *time.Time `gorm:"index:idx_cases_closed,priority:2"`
	// ClosedBy is the agent who closed the case, if an agent did.
	ClosedBy *int64  ``
	Rating   *string ``
	// The last message that is not a note, and the last one from the contact:
	// kept on the case so that lists can sort by them.
	LastMessageID         *int64     ``
	LastMessageAt         *time.Time `gorm:"index:idx_cases_last_message,priority:2;index:idx_cases_last_message_id,priority:2;index:idx_cases_status_activity,priority:3"`
	LastCustomerMessageAt *time.Time `gorm:"index:idx_cases_last_customer_message,priority:2"`
	ExtID                 *string    `gorm:"uniqueIndex:idx_cases_ext,priority:3"`
	SiteID                *int64     ``
	CampaignID            *int64     ``
	VisitorSessionID      *int64     `gorm:"index:idx_cases_visitor_session"`
	FormName              string     `gorm:"not null"`
	// Uploaded marks a case written by a bulk upload (CallGear's Data API),
	// the only kind CallGear may delete.
	Uploaded bool `gorm:"not null"`
	// TimelineID is the case's second handle, unique and apart from its id:
	// the store numbers it from its own sequence when it writes the case.
	TimelineID int64 `gorm:"not null;uniqueIndex:idx_cases_timeline"`
	// DepartmentID is the account's department the case is in, if any.
	DepartmentID *int64 ``
	// SnoozedUntil is when a snoozed case wants an answer again; nil when it
	// is not snoozed. The store does not wake it by itself: it stays set until
	// a client unsnoozes the case or changes its status.
	SnoozedUntil *time.Time ``
	CreatedAt    time.Time  `gorm:"not null"`
	UpdatedAt    time.Time  `gorm:"not null"`
}

// CaseDayCount counts an account's cases of one channel by the UTC day they
// started. Paging reads it to find a deep page without stepping over every row
// before it.
type CaseDayCount struct {
	AccountID int64   `gorm:"primaryKey;autoIncrement:false"`
	Channel   Channel `gorm:"primaryKey"`
	Day       int64   `gorm:"primaryKey;autoIncrement:false"`
	N         int64   `gorm:"column:n;not null"`
}

// AssigneeDayCount counts an account's chats assigned to one agent by the UTC
// day they started, for deep pages of a chat list filtered by agent.
type AssigneeDayCount struct {
	AccountID int64 `gorm:"primaryKey;autoIncrement:false"`
	AgentID   int64 `gorm:"primaryKey;autoIncrement:false"`
	Day       int64 `gorm:"primaryKey;autoIncrement:false"`
	N         int64 `gorm:"column:n;not null"`
}

// Message is one entry in a case.
type Message struct {
	ID        int64  `gorm:"primaryKey;index:idx_messages_case,priority:3;index:idx_messages_account_time,priority:3"`
	AccountID int64  `gorm:"not null;index:idx_messages_account_time,priority:1;uniqueIndex:idx_messages_source_ref,priority:1,where:source_ref <> ''"`
	CaseID    int64  `gorm:"not null;index:idx_messages_case,priority:1;index:idx_messages_case_agent,priority:1,where:agent_id IS NOT NULL"`
	Sender    Sender `gorm:"not null"`
	// AgentID is set when Sender is SenderAgent.
	AgentID  *int64 `gorm:"index:idx_messages_case_agent,priority:2"`
	Kind     Kind   `gorm:"not null"`
	Text     string `gorm:"not null"`
	Markdown string `gorm:"not null"`
	// Lang is the language the message is to be translated to (Acquire's translateLangKey).
	Lang         string `gorm:"not null"`
	EmailFrom    string `gorm:"not null"`
	EmailTo      string `gorm:"not null"`
	EmailCc      string `gorm:"not null"`
	EmailBcc     string `gorm:"not null"`
	EmailSubject string `gorm:"not null"`
	// HTMLBody is an email's HTML: as an agent gave it, or, for an email
	// received, sanitized for display (HTMLOriginal keeps what arrived).
	HTMLBody     string `gorm:"column:html_body;not null"`
	HTMLOriginal string `gorm:"column:html_original;not null"`
	// SourceRef is the sender's own name of a message received: an email's
	// Message-ID, the SMS provider's message sid. An account keeps one
	// message per name, so a message that arrives twice is recorded once.
	SourceRef      string     `gorm:"not null;uniqueIndex:idx_messages_source_ref,priority:2"`
	SMSFrom        string     `gorm:"column:sms_from;not null"`
	SMSTo          string     `gorm:"column:sms_to;not null"`
	Read           bool       `gorm:"not null"`
	Edited         bool       `gorm:"not null"`
	DeliveryStatus string     `gorm:"not null"`
	DeliveredAt    *time.Time ``
	FailedAt       *time.Time ``
	FailReason     string     `gorm:"not null"`
	CreatedAt      time.Time  `gorm:"not null;index:idx_messages_case,priority:2;index:idx_messages_account_time,priority:2"`
	UpdatedAt      time.Time  `gorm:"not null"`
}

// Inbox is a connected email address or SMS number of an account.
type Inbox struct {
	ID        int64     `gorm:"primaryKey"`
	AccountID int64     `gorm:"not null;uniqueIndex:idx_inboxes_address,priority:1"`
	Kind      InboxKind `gorm:"not null;uniqueIndex:idx_inboxes_address,priority:2;index:idx_inboxes_lookup,priority:1"`
	Address   string    `gorm:"not null;uniqueIndex:idx_inboxes_address,priority:3;index:idx_inboxes_lookup,priority:2"`
	// SecretHash is the hex SHA-256 of the secret that a provider forwarding
	// mail to the inbox over HTTP presents; "" until one is made (inbox
	// create, inbox rotate-secret), and then the HTTP route refuses all.
	SecretHash string    `gorm:"not null"`
	CreatedAt  time.Time `gorm:"not null"`
	// Secret is the secret itself, set only on the inbox that CreateInbox
	// and RotateInboxSecret return: it is shown once and never kept.
	Secret string `gorm:"-"`
}

// SMSOptOut is a number that asked an account to stop texting it (STOP and
// the carriers' other opt-out words): agents' SMS to it are refused until it
// texts START.
type SMSOptOut struct {
	AccountID int64     `gorm:"primaryKey;autoIncrement:false"`
	Number    string    `gorm:"primaryKey"`
	CreatedAt time.Time `gorm:"not null"`
}

// TableName names the table as the migration does.
func (SMSOptOut) TableName() string { return "sms_opt_outs" }

// CaseAgent says that an agent wrote in a case: one row per pair, kept by
// triggers on every insert and delete of messages (migration 0022), so that
// a case's agents are read without visiting its messages.
type CaseAgent struct {
	CaseID  int64 `gorm:"primaryKey;autoIncrement:false"`
	AgentID int64 `gorm:"primaryKey;autoIncrement:false"`
}

// Delivery is one email or SMS waiting in the outbox.
type Delivery struct {
	ID            int64          `gorm:"primaryKey"`
	AccountID     int64          `gorm:"not null;index:idx_deliveries_quota,priority:1;index:idx_deliveries_reference,priority:1,where:reference <> ''"`
	MessageID     int64          `gorm:"not null;uniqueIndex:idx_deliveries_message"`
	Kind          InboxKind      `gorm:"not null;index:idx_deliveries_quota,priority:2"`
	Status        DeliveryStatus `gorm:"not null;index:idx_deliveries_due,priority:1"`
	Attempts      int            `gorm:"not null"`
	NextAttemptAt time.Time      `gorm:"not null;index:idx_deliveries_due,priority:2"`
	LastError     string         `gorm:"not null"`
	ProviderRef   string         `gorm:"not null;index:idx_deliveries_provider_ref,where:provider_ref <> ''"`
	// Reference names the message to the receiving side, the same on every
	// attempt: the email's Message-ID, or the SMS provider's idempotency token.
	Reference string    `gorm:"not null;index:idx_deliveries_reference,priority:2"`
	CreatedAt time.Time `gorm:"not null;index:idx_deliveries_quota,priority:3"`
	UpdatedAt time.Time `gorm:"not null"`
}

// Attachment is a file sent with an email message, kept whole: every
// delivery attempt sends the same bytes. SourceURL is the address it was
// fetched from, "" for content the client sent.
type Attachment struct {
	ID          int64     `gorm:"primaryKey"`
	AccountID   int64     `gorm:"not null"`
	MessageID   int64     `gorm:"not null;index:idx_attachments_message"`
	Name        string    `gorm:"not null"`
	ContentType string    `gorm:"not null"`
	Size        int64     `gorm:"not null"`
	Content     []byte    `gorm:"not null"`
	SourceURL   string    `gorm:"column:source_url;not null"`
	CreatedAt   time.Time `gorm:"not null"`
}

// Setting is one server-wide value kept in the database, such as the secret
// that signs API keys when none is configured.
type Setting struct {
	Name      string    `gorm:"primaryKey"`
	Value     string    `gorm:"not null"`
	CreatedAt time.Time `gorm:"not null"`
}

// IdempotencyKey stores the first response to a POST carrying an
// Idempotency-Key. While the first request runs, Status is 0 and ExpiresAt
// is the end of its lease: past it, the request is taken for dead and the key
// may be claimed again. Once answered, ExpiresAt is when the key is forgotten.
type IdempotencyKey struct {
	ID          int64  `gorm:"primaryKey"`
	AccountID   int64  `gorm:"not null;uniqueIndex:idx_idempotency_key,priority:1"`
	Key         string `gorm:"not null;uniqueIndex:idx_idempotency_key,priority:2"`
	RequestHash string `gorm:"not null"`
	Status      int    `gorm:"not null"`
	Body        []byte ``
	// Headers is a JSON object of the response headers a replay repeats.
	Headers   string    `gorm:"not null"`
	CreatedAt time.Time `gorm:"not null"`
	ExpiresAt time.Time `gorm:"not null;index:idx_idempotency_expires"`
	// AppliedAt is when the request's write committed, set in its own
	// transaction; ReleasedAt is when the request then gave the key up
	// without a response to keep.
	AppliedAt  *time.Time
	ReleasedAt *time.Time
}

// Event is one change in an account, appended in the transaction that made
// it: nothing is in the log that was not committed, and nothing committed is
// missing from it. Seq counts an account's events from 1 with no gaps, in the
// order their transactions committed. The ids say what the change concerns (0:
// none); there are no foreign keys, so an event outlives what it names. Data
// is a JSON object of details in the model's words (see the EventType
// constants), "{}" when there are none.
type Event struct {
	ID        int64     `gorm:"primaryKey"`
	AccountID int64     `gorm:"not null;uniqueIndex:idx_events_seq,priority:1"`
	Seq       int64     `gorm:"not null;uniqueIndex:idx_events_seq,priority:2"`
	Type      EventType `gorm:"not null"`
	CaseID    int64     `gorm:"not null"`
	ContactID int64     `gorm:"not null"`
	MessageID int64     `gorm:"not null"`
	AgentID   int64     `gorm:"not null"`
	Data      string    `gorm:"not null"`
	CreatedAt time.Time `gorm:"not null;index:idx_events_created"`
}

// EventSeq holds an account's last event sequence number. Taking the next one
// locks the row until the transaction ends, which is what makes an account's
// sequence follow the order of its commits.
type EventSeq struct {
	AccountID int64 `gorm:"primaryKey;autoIncrement:false"`
	Seq       int64 `gorm:"not null"`
}

// Webhook is an account's subscription to its events, sent to URL in Format
// and signed with Secret. Events lists the format's event names it wants,
// comma-separated ("" for all); Types is the same choice in the model's
// event types, ",a,b," ("" for all), which the store filters on. Cursor is
// the last event sequence number queued for it: a new subscription starts at
// the account's current one and gets the events after it.
type Webhook struct {
	ID             int64         `gorm:"primaryKey"`
	AccountID      int64         `gorm:"not null;index:idx_webhooks_account"`
	URL            string        `gorm:"not null"`
	Format         WebhookFormat `gorm:"not null"`
	Events         string        `gorm:"not null"`
	Types          string        `gorm:"not null"`
	Secret         string        `gorm:"not null"`
	Status         WebhookStatus `gorm:"not null"`
	DisabledReason string        `gorm:"not null"`
	Cursor         int64         `gorm:"not null"`
	CreatedAt      time.Time     `gorm:"not null"`
	UpdatedAt      time.Time     `gorm:"not null"`
}

// WebhookDelivery is one event queued for one subscription, sent at least
// once and in the subscription's order of EventSeq. Reference is its id on the
// wire (a UUID), the same on every attempt, so a receiver can drop a
// duplicate. ResponseStatus is the receiver's last HTTP status (0: none).
// idx_webhook_deliveries_pending is partial (WHERE status IN ('queued',
// 'sending')): it holds only the queues' unsent rows, so finding each
// subscription's head stays cheap under any number of sent ones.
type WebhookDelivery struct {
	ID             int64          `gorm:"primaryKey"`
	AccountID      int64          `gorm:"not null"`
	WebhookID      int64          `gorm:"not null;uniqueIndex:idx_webhook_deliveries_seq,priority:1;index:idx_webhook_deliveries_pending,priority:1,where:status IN ('queued'\\,'sending')"`
	EventID        int64          `gorm:"not null"`
	EventSeq       int64          `gorm:"not null;uniqueIndex:idx_webhook_deliveries_seq,priority:2;index:idx_webhook_deliveries_pending,priority:2"`
	Status         DeliveryStatus `gorm:"not null;index:idx_webhook_deliveries_due,priority:1"`
	Attempts       int            `gorm:"not null"`
	NextAttemptAt  time.Time      `gorm:"not null;index:idx_webhook_deliveries_due,priority:2"`
	LastAttemptAt  *time.Time
	LastError      string    `gorm:"not null"`
	ResponseStatus int       `gorm:"not null"`
	Reference      string    `gorm:"not null"`
	CreatedAt      time.Time `gorm:"not null"`
	UpdatedAt      time.Time `gorm:"not null"`
}

// All lists every model, in an order in which foreign keys can be created.
func All() []any {
	return []any{
		&Account{}, &Agent{}, &APIKey{}, &Contact{}, &Site{}, &Campaign{}, &Department{}, &VisitorSession{},
		&Case{}, &CaseDayCount{}, &AssigneeDayCount{}, &Message{}, &Inbox{}, &Delivery{}, &IdempotencyKey{}, &Setting{},
		&Attachment{}, &EventSeq{}, &Event{}, &Webhook{}, &WebhookDelivery{}, &SMSOptOut{}, &CaseAgent{},
	}
}

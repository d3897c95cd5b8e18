package store

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"switchboard/models"
)

// Email and SMS replies are messages of their case, and each one an agent
// sends queues a row of deliveries in the same transaction: the outbox. The
// delivery worker claims due rows, sends them, and records the outcome on the
// row and on its message. A claim is a lease: a worker that dies holding rows
// leaves them to be claimed again when the lease runs out, and the resend
// carries the same Reference (the email's Message-ID, the SMS provider's
// idempotency token) so that the receiving side can drop the duplicate.

// ErrQuotaExceeded means the account has sent as many emails or SMS in the
// last hour as it may. The error is a *QuotaError.
var ErrQuotaExceeded = errors.New("quota exceeded")

// QuotaError says which quota a send would exceed and when to try again.
type QuotaError struct {
	Kind       models.InboxKind
	Limit      int
	RetryAfter time.Duration
}

func (e *QuotaError) Error() string {
	what := "emails"
	if e.Kind == models.InboxSMS {
		what = "SMS messages"
	}
	return fmt.Sprintf("the account may send %d %s an hour; try again in %s", e.Limit, what, e.RetryAfter.Round(time.Second))
}

// Is makes a QuotaError match ErrQuotaExceeded.
func (e *QuotaError) Is(target error) bool { return target == ErrQuotaExceeded }

// MaxRecipients is the most addresses (To, Cc and Bcc together) one email
// goes to.
const MaxRecipients = 50

// NewEmail is the input of AddEmail.
type NewEmail struct {
	// Sender is SenderAgent for a reply (From must be one of the account's
	// email inboxes, and the email is queued for delivery) or SenderContact
	// for an email the contact sent, which is only recorded (one of To must
	// be an inbox of the account).
	Sender  models.Sender
	AgentID *int64
	From    string
	// To may not be empty; To, Cc and Bcc are valid addresses.
	To, Cc, Bcc []string
	Subject     string
	TextBody    string
	// HTMLBody is stored as given and sent as the HTML part.
	HTMLBody string
	// Attachments are sent as MIME parts, in this order (see
	// NewAttachment); at most models.MaxAttachments.
	Attachments []NewAttachment
	// WithCase asks for the case as the write left it (SentMessage.Case).
	WithCase bool
}

// NewSMS is the input of AddSMS.
type NewSMS struct {
	// Sender is SenderAgent for a reply (From must be one of the account's
	// SMS numbers, and the SMS is queued) or SenderContact for an SMS the
	// contact sent, which is only recorded (To must be a number of the
	// account).
	Sender  models.Sender
	AgentID *int64
	// From and To are numbers in international form (models.ParsePhone).
	From, To string
	Body     string
	// WithCase asks for the case as the write left it (SentMessage.Case).
	WithCase bool
}

// SentMessage is an email or SMS message with its author, the inbox it went
// through and its delivery (nil for a contact's message, which is not sent).
type SentMessage struct {
	MessageView
	Inbox    models.Inbox
	Delivery *models.Delivery
	// Attachments are an email's files, oldest first, without their
	// Content.
	Attachments []models.Attachment
}

// AddEmail adds an email message to an active case and, for an agent's
// reply, queues its delivery, in one transaction. It returns the message
// (with in.WithCase, also the case as the write left it), ErrNotFound for
// a case or agent that is not the account's, ErrCaseNotActive for a closed
// case, FieldErrors (every bad field: addresses, an empty To, a From that is
// not an inbox of the account with ReasonNotFound, a subject or body over its
// limit with ReasonTooLong) and a *QuotaError when the account's hourly email
// quota is spent.
func (s *Store) AddEmail(ctx context.Context, accountID, caseID int64, in NewEmail) (SentMessage, error) {
	var fe FieldErrors
	checkSender(&fe, in.Sender, in.AgentID)
	in.From = models.NormalizeEmail(in.From)
	if !tooLongEmail(&fe, "from", in.From) && !models.ValidEmail(in.From) {
		fe.AddReason(ReasonInvalid, "from", in.From, "%q is not a valid email address", in.From)
	}
	if len(in.To) == 0 {
		fe.AddReason(ReasonRequired, "to", nil, "needs at least one address")
	}
	if n := len(in.To) + len(in.Cc) + len(in.Bcc); n > MaxRecipients {
		// The quota counts emails, not recipients.
		fe.AddReason(ReasonTooMany, "to", n, "at most %d recipients in all, not %d", MaxRecipients, n)
	}
	lists := []struct {
		name  string
		addrs *[]string
	}{{"to", &in.To}, {"cc", &in.Cc}, {"bcc", &in.Bcc}}
	for _, l := range lists {
		for i, a := range *l.addrs {
			a = models.NormalizeEmail(a)
			(*l.addrs)[i] = a
			if !tooLongEmail(&fe, fmt.Sprintf("%s[%d]", l.name, i), a) && !models.ValidEmail(a) {
				fe.AddReason(ReasonInvalid, fmt.Sprintf("%s[%d]", l.name, i), a, "%q is not a valid email address", a)
			}
		}
	}
	if strings.TrimSpace(in.TextBody) == "" && strings.TrimSpace(in.HTMLBody) == "" {
		fe.AddReason(ReasonRequired, "text_body", nil, "an email needs a text or an HTML body")
	}
	checkSubject(&fe, "subject", in.Subject)
	checkBlock(&fe, "text_body", in.TextBody, models.MaxEmailBodyLen)
	checkBlock(&fe, "html_body", in.HTMLBody, models.MaxEmailBodyLen)
	in.Attachments = checkAttachments(&fe, in.Attachments)
	if err := fe.Err(); err != nil {
		return SentMessage{}, err
	}
	to, _ := json.Marshal(in.To)
	cc, _ := json.Marshal(nonNil(in.Cc))
	bcc, _ := json.Marshal(nonNil(in.Bcc))
	msg := models.Message{
		Sender: in.Sender, AgentID: in.AgentID, Kind: models.KindMessage, Text: in.TextBody, HTMLBody: in.HTMLBody,
		EmailFrom: in.From, EmailTo: string(to), EmailCc: string(cc), EmailBcc: string(bcc), EmailSubject: in.Subject,
	}
	// An agent's email leaves from one of the account's inboxes; a contact's
	// arrived at one.
	if in.Sender == models.SenderContact {
		return s.addSent(ctx, accountID, caseID, models.InboxEmail, msg, in.Attachments, in.WithCase, "to", in.To, msg.EmailTo, nil)
	}
	return s.addSent(ctx, accountID, caseID, models.InboxEmail, msg, in.Attachments, in.WithCase, "from", []string{in.From}, in.From, nil)
}

// AddSMS adds an SMS message to an active case and, for an agent's reply,
// queues its delivery, in one transaction; From and To are stored in E.164.
// Errors are those of AddEmail, for SMS: From and To must be valid numbers in
// international form (models.ParsePhone), and From (an agent's) or To (a
// contact's) a number of the account; the body is at most models.MaxSMSLen
// characters. An agent's reply to a number that is costly to text
// (models.Phone.CostlyToText: premium-rate, shared-cost, UAN, unknown type)
// is a field error on "to" unless the account allows it
// (Account.SMSAllowPremium); a contact's SMS is only recorded, never sent,
// so its To is not held to that. An agent's reply to a number that opted out
// of the account's SMS (it texted STOP: see ReceiveSMS) is a field error on
// "to" with ReasonOptedOut.
func (s *Store) AddSMS(ctx context.Context, accountID, caseID int64, in NewSMS) (SentMessage, error) {
	var fe FieldErrors
	checkSender(&fe, in.Sender, in.AgentID)
	from, to := checkPhone(&fe, "from", in.From), checkPhone(&fe, "to", in.To)
	in.From, in.To = from.E164, to.E164
	if strings.TrimSpace(in.Body) == "" {
		fe.AddReason(ReasonRequired, "body", nil, "must not be empty")
	}
	checkBlock(&fe, "body", in.Body, models.MaxSMSLen)
	if err := fe.Err(); err != nil {
		return SentMessage{}, err
	}
	msg := models.Message{
		Sender: in.Sender, AgentID: in.AgentID, Kind: models.KindMessage, Text: in.Body, SMSFrom: in.From, SMSTo: in.To,
	}
	number, field := in.From, "from"
	if in.Sender == models.SenderContact {
		number, field = in.To, "to"
	}
	var allow func(models.Account) error
	if in.Sender == models.SenderAgent && to.CostlyToText() {
		allow = func(a models.Account) error {
			if a.SMSAllowPremium {
				return nil
			}
			return FieldErrors{costlyError("to", to)}
		}
	}
	return s.addSent(ctx, accountID, caseID, models.InboxSMS, msg, nil, in.WithCase, field, []string{number}, number, allow)
}

func checkSender(fe *FieldErrors, sender models.Sender, agentID *int64) {
	switch {
	case sender != models.SenderAgent && sender != models.SenderContact:
		fe.Add("sender", "%q is not one of agent, contact", sender)
	case sender == models.SenderAgent && agentID == nil:
		fe.Add("agent", MsgAgentNeeded)
	case sender == models.SenderContact && agentID != nil:
		fe.Add("agent", MsgAgentOnly)
	}
}

func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// addSent is the transaction of AddEmail and AddSMS: it checks the case, the
// agent and the inbox (the account's first inbox of kind at one of addrs;
// none is a field error on inboxField showing value), spends the quota of an agent's message, and writes the
// message, its attachments, its delivery and the case's last-message columns; withCase reads the case back in the transaction.
// allow, when set, judges an agent's message by the account's settings before the quota is spent.
func (s *Store) addSent(ctx context.Context, accountID, caseID int64, kind models.InboxKind, msg models.Message,
	attachments []NewAttachment, withCase bool, inboxField string, addrs []string, value any, allow func(models.Account) error) (SentMessage, error) {
	var out SentMessage
	err := s.write(ctx, s.db, func(tx *gorm.DB) error {
		out = SentMessage{}
		// The case and the agent in one round trip.
		l, err := lockCaseForMessage(tx, s.backend, accountID, caseID, msg.AgentID, false)
		if err != nil {
			return err
		}
		c := l.Case
		if c.Status == models.StatusClosed {
			return fmt.Errorf("case %d: %w", caseID, ErrCaseNotActive)
		}
		if msg.AgentID != nil {
			if l.Agent == nil {
				return notFound("agent", *msg.AgentID)
			}
			out.Agent = l.Agent
		}
		var inboxes []models.Inbox
		if err := tx.Where("account_id = ? AND kind = ? AND address IN ?", accountID, kind, addrs).
			Order("id").Limit(1).Find(&inboxes).Error; err != nil {
			return err
		}
		if len(inboxes) == 0 {
			what := map[models.InboxKind]string{models.InboxEmail: "an email inbox", models.InboxSMS: "an SMS number"}[kind]
			return FieldErrors{{Field: inboxField, Reason: ReasonNotFound, Value: value, Message: fmt.Sprintf("is not %s of this account", what)}}
		}
		out.Inbox = inboxes[0]
		now := s.now()
		queue := msg.Sender == models.SenderAgent
		if queue && kind == models.InboxSMS {
			if err := checkOptOut(tx, accountID, msg.SMSTo); err != nil {
				return err
			}
		}
		if queue {
			if err := s.spendQuota(tx, accountID, kind, now, allow); err != nil {
				return err
			}
			msg.DeliveryStatus = string(models.DeliveryQueued)
		}
		msg.AccountID, msg.CaseID, msg.CreatedAt, msg.UpdatedAt = accountID, caseID, now, now
		if err := insertMessage(tx, &msg); err != nil {
			return err
		}
		out.Message = msg
		rows, err := insertAttachments(tx, msg, attachments, now)
		if err != nil {
			return err
		}
		out.Attachments = rows
		if queue {
			d := models.Delivery{
				AccountID: accountID, MessageID: msg.ID, Kind: kind, Status: models.DeliveryQueued,
				NextAttemptAt: now, Reference: reference(kind, msg), CreatedAt: now, UpdatedAt: now,
			}
			if err := tx.Create(&d).Error; err != nil {
				return err
			}
			out.Delivery = &d
		}
		set := map[string]any{"updated_at": now}
		status := c.Status
		if queue && c.Status == models.StatusNew {
			status = models.StatusOpen
			set["status"] = status
		}
		lastMessageUpdate(c, msg, set)
		unreadUpdate(msg, set)
		// The case's update rides with the events: one round trip for both.
		q, args := caseUpdate(caseID, set)
		evs := []models.Event{messageEvent(c, msg, string(kind))}
		if err := s.appendEventsWith(tx, []rider{{q, args}}, statusEvents(evs, c, c.Status, status, nil)...); err != nil {
			return err
		}
		if withCase {
			if out.Case, err = s.caseAfterWrite(tx, accountID, caseID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return SentMessage{}, wrap(fmt.Sprintf("add %s to case %d", kind, caseID), err)
	}
	for i := range out.Attachments {
		out.Attachments[i].Content = nil
	}
	return out, nil
}

// spendQuota returns allow's error (when allow is set) for the account, and
// a *QuotaError when the account has queued its hourly allowance of kind
// already. On PostgreSQL it holds the account's row, so that concurrent sends
// of one account count one after another.
func (s *Store) spendQuota(tx *gorm.DB, accountID int64, kind models.InboxKind, now time.Time, allow func(models.Account) error) error {
	q := tx
	if s.backend == Postgres {
		q = q.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	var a models.Account
	if err := q.Take(&a, "id = ?", accountID).Error; err != nil {
		return notFoundOr(err, "account", accountID)
	}
	if allow != nil {
		if err := allow(a); err != nil {
			return err
		}
	}
	limit := a.EmailsPerHour
	if kind == models.InboxSMS {
		limit = a.SMSPerHour
	}
	recent := tx.Model(&models.Delivery{}).Where("account_id = ? AND kind = ? AND created_at > ?", accountID, kind, now.Add(-time.Hour))
	var n int64
	if err := recent.Count(&n).Error; err != nil {
		return err
	}
	if n < int64(limit) {
		return nil
	}
	// The oldest send of the hour frees a place when it turns an hour old.
	var oldest []models.Delivery
	if err := tx.Model(&models.Delivery{}).Select("created_at").
		Where("account_id = ? AND kind = ? AND created_at > ?", accountID, kind, now.Add(-time.Hour)).
		Order("created_at").Limit(1).Find(&oldest).Error; err != nil {
		return err
	}
	wait := time.Minute
	if len(oldest) > 0 {
		wait = oldest[0].CreatedAt.Add(time.Hour).Sub(now)
	}
	return &QuotaError{Kind: kind, Limit: limit, RetryAfter: max(wait, time.Second)}
}

// reference returns the name a delivery keeps on every attempt: an email's
// Message-ID in the domain of its sender, or an SMS idempotency token.
func reference(kind models.InboxKind, m models.Message) string {
	token := strings.ToLower(rand.Text())
	if kind == models.InboxSMS {
		return fmt.Sprintf("sb-sms-%d-%s", m.ID, token)
	}
	domain := m.EmailFrom[strings.LastIndexByte(m.EmailFrom, '@')+1:]
	return fmt.Sprintf("<sb.%d.%s@%s>", m.ID, token, domain)
}

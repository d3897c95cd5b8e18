package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"switchboard/models"
)

// Mail and SMS that customers send come in here, parsed (package inbound
// parses MIME and providers' forms; the store sees only the model's words).
// Each arrival is one transaction: the message, its contact and case when
// new, the case reopened, and their events, or nothing. A message is
// recorded under its sender's own name (Message-ID, the provider's sid), so
// that a sender that retries (an SMTP server that never heard our 250, a
// provider's webhook retry) never makes a second one.

// MaxInboundAttachments is the most files kept of one email received; the
// message's size limit bounds their bytes.
const MaxInboundAttachments = 100

// InboundEmail is an email that arrived at one of an account's inboxes.
type InboundEmail struct {
	// MessageID is the email's Message-ID with its angle brackets: the name
	// it is recorded under (required).
	MessageID string
	// References are the Message-IDs the email answers: In-Reply-To, then
	// those of References.
	References []string
	// From is the sender's address (required), FromName the name beside it.
	From, FromName string
	To, Cc         []string
	Subject        string
	TextBody       string
	// HTMLBody is the HTML sanitized for display; HTMLOriginal is as it
	// arrived.
	HTMLBody, HTMLOriginal string
	Attachments            []NewAttachment
	// AutoReply, when not empty, says why the email is an automatic reply
	// (its Auto-Submitted, Precedence or X-Autoreply header): it is recorded
	// as an event, never as a message, and reopens nothing.
	AutoReply string
	// Bounce, when set, makes the email a delivery status report about an
	// email that was sent.
	Bounce *Bounce
}

// Bounce is what a delivery status report says of an email that was sent.
type Bounce struct {
	// MessageIDs name the email the report is about (its Message-ID, as the
	// report quotes it, and the report's own In-Reply-To/References).
	MessageIDs []string
	// Reason is the report's diagnostic, as "5.1.1 user unknown".
	Reason string
}

// InboundSMS is an SMS that arrived at one of the accounts' numbers.
type InboundSMS struct {
	// SID is the provider's id of the message (required).
	SID string
	// From and To are numbers in international form.
	From, To string
	Body     string
	// Media are the files the SMS carried, as the provider's addresses
	// (SourceURL) and types; their content is not fetched.
	Media []NewAttachment
	// OptOut, when set, is the body's meaning as a keyword: true for STOP
	// and the other opt-out words, false for START and the other opt-in
	// ones.
	OptOut *bool
}

// InboundOutcome says what an arrival did.
type InboundOutcome string

// The outcomes of an arrival.
const (
	// InboundMessage: a new message in a case.
	InboundMessage InboundOutcome = "message"
	// InboundDuplicate: the message was recorded before; nothing changed.
	InboundDuplicate InboundOutcome = "duplicate"
	// InboundAutoReply: an automatic reply, recorded as an event only.
	InboundAutoReply InboundOutcome = "auto_reply"
	// InboundBounce: a delivery report that marked a sent email failed.
	InboundBounce InboundOutcome = "bounce"
	// InboundBounceUnmatched: a delivery report about no email of the
	// account's (or one already failed); nothing changed.
	InboundBounceUnmatched InboundOutcome = "bounce_unmatched"
)

// InboundResult is what one arrival did in one account. CaseID and
// MessageID are the case and message it wrote or found (for a bounce, the
// email that failed), 0 when none.
type InboundResult struct {
	Outcome   InboundOutcome
	AccountID int64
	CaseID    int64
	MessageID int64
	// CaseCreated and Reopened say what became of the case.
	CaseCreated, Reopened bool
}

// inboundText makes s storable: valid UTF-8 without NUL, at most max
// characters. What arrives is kept rather than refused: the sender cannot
// be asked to send it again.
func inboundText(s string, max int) string {
	s = strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "\uFFFD")
	if max > 0 && utf8.RuneCountInString(s) > max {
		s = models.Truncate(s, max)
	}
	return s
}

// inboundLine is inboundText for one line: line breaks and other control
// characters become spaces.
func inboundLine(s string, maxBytes int) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, inboundText(s, 0))
	s = strings.TrimSpace(s)
	for len(s) > maxBytes {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return s
}

// inboundAddresses returns the valid addresses of l, normalized, each once.
func inboundAddresses(l []string) []string {
	out := []string{}
	seen := map[string]bool{}
	for _, a := range l {
		a = models.NormalizeEmail(a)
		if len(a) <= models.MaxEmailBytes && models.ValidEmail(a) && !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	return out
}

// inboundAttachments returns the files of as that can be stored: each
// named as a file (a name with a path keeps its last element; none gets
// "attachment-N"), with a valid content type, at most
// MaxInboundAttachments.
func inboundAttachments(as []NewAttachment) []NewAttachment {
	out := make([]NewAttachment, 0, min(len(as), MaxInboundAttachments))
	for i, a := range as {
		if len(out) == MaxInboundAttachments {
			break
		}
		name := a.Name
		if j := strings.LastIndexAny(name, `/\`); j >= 0 {
			name = name[j+1:]
		}
		name = inboundLine(name, models.MaxAttachmentNameBytes)
		if name == "" {
			name = fmt.Sprintf("attachment-%d", i+1)
		}
		a.Name = name
		if !ValidContentType(a.ContentType) {
			a.ContentType = "application/octet-stream"
		}
		a.SourceURL = inboundLine(a.SourceURL, models.MaxURLLen)
		out = append(out, a)
	}
	return out
}

// refList returns the Message-IDs of l that can name a message, each once.
func refList(l []string) []string {
	var out []string
	for _, r := range l {
		r = strings.TrimSpace(r)
		if r != "" && len(r) <= 998 && storable(r) && !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}

// EmailInboxes returns every account's email inbox at the address, oldest
// first: the accounts a mail to it belongs to. It returns an empty slice for
// an address no account has.
func (s *Store) EmailInboxes(ctx context.Context, address string) ([]models.Inbox, error) {
	var out []models.Inbox
	err := s.db.WithContext(ctx).Where("kind = ? AND address = ?", models.InboxEmail, models.NormalizeEmail(address)).
		Order("id").Find(&out).Error
	if err != nil {
		return nil, wrap("email inboxes", err)
	}
	if out == nil {
		out = []models.Inbox{}
	}
	return out, nil
}

// ReceiveEmail records an email that arrived at the email inbox inboxID, in
// one transaction:
//   - one recorded before under the same Message-ID changes nothing
//     (InboundDuplicate);
//   - a bounce marks the sent email it names failed with its reason
//     (InboundBounce; InboundBounceUnmatched when the account sent none
//     such);
//   - an automatic reply is an auto_reply.received event in the case it
//     answers, if any (InboundAutoReply);
//   - any other is a message from the contact in the case of the email it
//     answers (In-Reply-To/References against what was sent and received),
//     which it reopens when closed; or else in a new email case of the
//     contact with the From address, created if new.
//
// Texts are kept as storable text within their limits rather than refused.
// It returns ErrNotFound for an inbox that is not an email inbox, and
// FieldErrors for a missing Message-ID or a From that is not an address.
func (s *Store) ReceiveEmail(ctx context.Context, inboxID int64, in InboundEmail) (InboundResult, error) {
	in.MessageID = strings.TrimSpace(in.MessageID)
	in.From = models.NormalizeEmail(in.From)
	var fe FieldErrors
	switch {
	case in.MessageID == "":
		fe.AddReason(ReasonRequired, "message_id", nil, "an email needs a Message-ID")
	case len(in.MessageID) > 998 || !storable(in.MessageID):
		fe.AddReason(ReasonInvalid, "message_id", nil, "is not a Message-ID")
	}
	if len(in.From) > models.MaxEmailBytes || !models.ValidEmail(in.From) {
		fe.AddReason(ReasonInvalid, "from", in.From, "%q is not a valid email address", inboundLine(in.From, 300))
	}
	if err := fe.Err(); err != nil {
		return InboundResult{}, err
	}
	in.References = refList(in.References)
	in.Subject = inboundLine(in.Subject, models.MaxSubjectBytes)
	in.FromName = inboundLine(in.FromName, models.MaxNameLen)
	in.TextBody = inboundText(in.TextBody, models.MaxEmailBodyLen)
	in.HTMLBody = inboundText(in.HTMLBody, models.MaxEmailBodyLen)
	in.HTMLOriginal = inboundText(in.HTMLOriginal, models.MaxEmailBodyLen)
	in.To, in.Cc = inboundAddresses(in.To), inboundAddresses(in.Cc)
	in.Attachments = inboundAttachments(in.Attachments)
	in.AutoReply = inboundLine(in.AutoReply, 200)
	var res InboundResult
	err := s.write(ctx, s.db, func(tx *gorm.DB) error {
		res = InboundResult{}
		var inbox models.Inbox
		if err := tx.Take(&inbox, "id = ? AND kind = ?", inboxID, models.InboxEmail).Error; err != nil {
			return notFoundOr(err, "inbox", inboxID)
		}
		res.AccountID = inbox.AccountID
		if dup, err := messageBySource(tx, inbox.AccountID, in.MessageID); err != nil || dup != nil {
			if dup != nil {
				res.Outcome, res.CaseID, res.MessageID = InboundDuplicate, dup.CaseID, dup.ID
			}
			return err
		}
		if in.Bounce != nil {
			return s.recordBounce(tx, inbox.AccountID, in, &res)
		}
		caseID, err := threadCase(tx, inbox.AccountID, in.References)
		if err != nil {
			return err
		}
		if in.AutoReply != "" {
			res.Outcome, res.CaseID = InboundAutoReply, caseID
			data := EventData{"from": in.From, "subject": in.Subject, "source_ref": in.MessageID, "why": in.AutoReply}
			ev := newEvent(inbox.AccountID, models.EventAutoReplyReceived, data)
			if caseID != 0 {
				c, err := lockCase(tx, s.backend, inbox.AccountID, caseID)
				if err != nil {
					return err
				}
				ev = caseEvent(c, models.EventAutoReplyReceived, data)
			}
			return s.appendEvents(tx, ev)
		}
		to, _ := json.Marshal(in.To)
		cc, _ := json.Marshal(in.Cc)
		msg := models.Message{
			Sender: models.SenderContact, Kind: models.KindMessage, Text: in.TextBody, HTMLBody: in.HTMLBody,
			HTMLOriginal: in.HTMLOriginal, EmailFrom: in.From, EmailTo: string(to), EmailCc: string(cc), EmailBcc: "[]",
			EmailSubject: in.Subject, SourceRef: in.MessageID,
		}
		contact := NewContact{Name: in.FromName, Email: in.From}
		return s.receive(tx, inbox.AccountID, caseID, models.ChannelEmail, in.Subject, contact, msg, in.Attachments, &res)
	})
	if errors.Is(err, ErrConflict) {
		// Another arrival of the same message committed first.
		return s.receivedBefore(ctx, inboxID, in.MessageID)
	}
	if err != nil {
		return InboundResult{}, wrap("receive email", err)
	}
	return res, nil
}

// receivedBefore returns the InboundDuplicate result of the message of the
// inbox's account recorded under ref.
func (s *Store) receivedBefore(ctx context.Context, inboxID int64, ref string) (InboundResult, error) {
	var res InboundResult
	err := s.readTx(ctx, func(tx *gorm.DB) error {
		var inbox models.Inbox
		if err := tx.Take(&inbox, "id = ?", inboxID).Error; err != nil {
			return notFoundOr(err, "inbox", inboxID)
		}
		m, err := messageBySource(tx, inbox.AccountID, ref)
		if err != nil {
			return err
		}
		if m == nil {
			return fmt.Errorf("message %s: %w", ref, ErrConflict)
		}
		res = InboundResult{Outcome: InboundDuplicate, AccountID: inbox.AccountID, CaseID: m.CaseID, MessageID: m.ID}
		return nil
	})
	return res, wrap("receive email", err)
}

// messageBySource returns the account's message recorded under ref, or nil.
func messageBySource(tx *gorm.DB, accountID int64, ref string) (*models.Message, error) {
	var ms []models.Message
	if err := tx.Select("id", "case_id").Where("account_id = ? AND source_ref = ?", accountID, ref).Limit(1).Find(&ms).Error; err != nil {
		return nil, err
	}
	if len(ms) == 0 {
		return nil, nil
	}
	return &ms[0], nil
}

// threadCase returns the case of the newest message of the account that
// refs name (an email sent, by its delivery's Message-ID, or one received),
// or 0 when they name none.
func threadCase(tx *gorm.DB, accountID int64, refs []string) (int64, error) {
	if len(refs) == 0 {
		return 0, nil
	}
	var rows []struct {
		ID     int64
		CaseID int64
	}
	err := tx.Raw(`SELECT m.id, m.case_id FROM deliveries d JOIN messages m ON m.id = d.message_id
		WHERE d.account_id = ? AND d.reference IN ?
		UNION ALL SELECT id, case_id FROM messages WHERE account_id = ? AND source_ref IN ?
		ORDER BY id DESC LIMIT 1`, accountID, refs, accountID, refs).Scan(&rows).Error
	if err != nil || len(rows) == 0 {
		return 0, err
	}
	return rows[0].CaseID, nil
}

// recordBounce marks failed the email of the account that the bounce names,
// unless it failed already, with the bounce's reason.
func (s *Store) recordBounce(tx *gorm.DB, accountID int64, in InboundEmail, res *InboundResult) error {
	res.Outcome = InboundBounceUnmatched
	refs := refList(append(append([]string{}, in.Bounce.MessageIDs...), in.References...))
	if len(refs) == 0 {
		return nil
	}
	var ds []models.Delivery
	if err := tx.Where("account_id = ? AND kind = ? AND reference IN ? AND status <> ?", accountID, models.InboxEmail,
		refs, models.DeliveryFailed).Order("id DESC").Limit(1).Find(&ds).Error; err != nil {
		return err
	}
	if len(ds) == 0 {
		return nil
	}
	reason := inboundLine(in.Bounce.Reason, models.MaxReasonLen)
	if reason == "" {
		reason = "bounced"
	}
	d := ds[0]
	now := s.now()
	if err := tx.Model(&models.Delivery{}).Where("id = ?", d.ID).Updates(map[string]any{
		"status": models.DeliveryFailed, "last_error": reason, "updated_at": now}).Error; err != nil {
		return err
	}
	var m models.Message
	if err := tx.Model(&m).Clauses(clause.Returning{Columns: []clause.Column{{Name: "case_id"}}}).Where("id = ?", d.MessageID).
		Updates(map[string]any{"delivery_status": models.DeliveryFailed, "failed_at": now, "fail_reason": reason, "updated_at": now}).Error; err != nil {
		return err
	}
	res.Outcome, res.CaseID, res.MessageID = InboundBounce, m.CaseID, d.MessageID
	ev := newEvent(accountID, models.EventDeliveryFailed, EventData{"channel": models.InboxEmail, "attempts": d.Attempts,
		"reason": reason, "bounce": true})
	ev.MessageID, ev.CaseID = d.MessageID, m.CaseID
	return s.appendEvents(tx, ev)
}

// receive writes a message a contact sent: into the case caseID (reopened
// when closed) or, when 0, into a new case on channel of the account's
// contact matching contact (by email, or by phone) or a new one. It fills
// res.
func (s *Store) receive(tx *gorm.DB, accountID, caseID int64, channel models.Channel, subject string, contact NewContact,
	msg models.Message, files []NewAttachment, res *InboundResult) error {
	now := s.now()
	var evs []models.Event
	var c models.Case
	if caseID != 0 {
		var err error
		if c, err = lockCase(tx, s.backend, accountID, caseID); err != nil {
			return err
		}
	} else {
		contactID, ev, err := s.inboundContact(tx, accountID, contact, now)
		if err != nil {
			return err
		}
		if ev != nil {
			evs = append(evs, *ev)
		}
		timeline, err := s.newTimelineID(tx)
		if err != nil {
			return err
		}
		c = models.Case{
			AccountID: accountID, ContactID: contactID, Channel: channel, Status: models.StatusNew,
			Initiator: models.InitiatorContact, Subject: subject, Unread: true, TimelineID: timeline,
			StartedAt: now, CreatedAt: now, UpdatedAt: now,
		}
		if err := tx.Create(&c).Error; err != nil {
			return err
		}
		counts := dayDeltas{}
		counts.add(accountID, c.Channel, c.StartedAt, 1)
		if err := counts.save(tx); err != nil {
			return err
		}
		evs = append(evs, caseCreated(c))
		res.CaseCreated = true
	}
	msg.AccountID, msg.CaseID, msg.CreatedAt, msg.UpdatedAt = accountID, c.ID, now, now
	if err := insertMessage(tx, &msg); err != nil {
		return err
	}
	if _, err := insertAttachments(tx, msg, files, now); err != nil {
		return err
	}
	set := map[string]any{"updated_at": now}
	status := c.Status
	if c.Status == models.StatusClosed {
		status = models.StatusOpen
		set["status"], set["closed_at"], set["closed_by"], set["snoozed_until"] = status, nil, nil, nil
		res.Reopened = true
	}
	lastMessageUpdate(c, msg, set)
	// A customer's message wants reading (REVE's unread).
	unreadUpdate(msg, set)
	if err := tx.Model(&models.Case{}).Where("id = ?", c.ID).Updates(set).Error; err != nil {
		return err
	}
	res.Outcome, res.CaseID, res.MessageID = InboundMessage, c.ID, msg.ID
	evs = append(evs, messageEvent(c, msg, string(channel)))
	return s.appendEvents(tx, statusEvents(evs, c, c.Status, status, nil)...)
}

// inboundContact returns the account's oldest contact with contact's email
// (or, without one, its phone), creating it when there is none; the event is
// the new contact's contact.created, nil for one that existed.
func (s *Store) inboundContact(tx *gorm.DB, accountID int64, contact NewContact, now time.Time) (int64, *models.Event, error) {
	q := tx.Model(&models.Contact{}).Select("id").Where("account_id = ?", accountID)
	if contact.Email != "" {
		q = q.Where("email = ?", contact.Email)
	} else {
		q = q.Where("phone = ?", contact.Phone)
	}
	var ids []int64
	if err := q.Order("id").Limit(1).Pluck("id", &ids).Error; err != nil {
		return 0, nil, err
	}
	if len(ids) > 0 {
		return ids[0], nil, nil
	}
	c := models.Contact{AccountID: accountID, Name: contact.Name, Email: contact.Email, Phone: contact.Phone, CreatedAt: now, UpdatedAt: now}
	if err := tx.Create(&c).Error; err != nil {
		return 0, nil, err
	}
	ev := newEvent(accountID, models.EventContactCreated, nil)
	ev.ContactID = c.ID
	return c.ID, &ev, nil
}

// ReceiveSMS records an SMS that arrived at the number To, in one
// transaction, in every account with an SMS inbox at To: one recorded before
// under the same SID changes nothing (InboundDuplicate); any other is a
// message from the contact in the newest open SMS case of a contact with
// the From number, or else in a new SMS case of the account's contact with
// that number (created if new). An opt-out keyword (in.OptOut) records the
// From number as opted out of the account's SMS, or back in. It returns
// one result per account, FieldErrors for a missing SID or numbers that are
// not valid in international form, and a NotFoundError ("inbox") when no
// account has the number.
func (s *Store) ReceiveSMS(ctx context.Context, in InboundSMS) ([]InboundResult, error) {
	var fe FieldErrors
	in.SID = strings.TrimSpace(in.SID)
	if in.SID == "" {
		fe.AddReason(ReasonRequired, "sid", nil, "an SMS needs the provider's message id")
	} else if len(in.SID) > models.MaxExtIDLen || !storable(in.SID) {
		fe.AddReason(ReasonInvalid, "sid", nil, "is not a message id")
	}
	from, to := checkPhone(&fe, "from", in.From), checkPhone(&fe, "to", in.To)
	if err := fe.Err(); err != nil {
		return nil, err
	}
	in.From, in.To = from.E164, to.E164
	in.Body = inboundText(in.Body, models.MaxSMSLen)
	in.Media = inboundAttachments(in.Media)
	var out []InboundResult
	err := s.write(ctx, s.db, func(tx *gorm.DB) error {
		out = nil
		var inboxes []models.Inbox
		if err := tx.Where("kind = ? AND address = ?", models.InboxSMS, in.To).Order("account_id").Find(&inboxes).Error; err != nil {
			return err
		}
		if len(inboxes) == 0 {
			return &NotFoundError{Entity: "inbox"}
		}
		seen := map[int64]bool{}
		for _, inbox := range inboxes {
			if seen[inbox.AccountID] {
				continue
			}
			seen[inbox.AccountID] = true
			res, err := s.receiveSMS(tx, inbox.AccountID, in)
			if err != nil {
				return err
			}
			out = append(out, res)
		}
		return nil
	})
	if errors.Is(err, ErrConflict) {
		// A concurrent arrival of the same SID committed first: this one
		// finds it now.
		return s.ReceiveSMS(ctx, in)
	}
	if err != nil {
		return nil, wrap("receive sms", err)
	}
	return out, nil
}

// receiveSMS is ReceiveSMS in one account.
func (s *Store) receiveSMS(tx *gorm.DB, accountID int64, in InboundSMS) (InboundResult, error) {
	res := InboundResult{AccountID: accountID}
	if dup, err := messageBySource(tx, accountID, in.SID); err != nil || dup != nil {
		if dup != nil {
			res.Outcome, res.CaseID, res.MessageID = InboundDuplicate, dup.CaseID, dup.ID
		}
		return res, err
	}
	var open []int64
	if err := tx.Raw(`SELECT c.id FROM cases c JOIN contacts ct ON ct.id = c.contact_id
		WHERE c.account_id = ? AND c.channel = ? AND c.status <> ? AND ct.phone = ? ORDER BY c.id DESC LIMIT 1`,
		accountID, models.ChannelSMS, models.StatusClosed, in.From).Scan(&open).Error; err != nil {
		return res, err
	}
	caseID := int64(0)
	if len(open) > 0 {
		caseID = open[0]
	}
	msg := models.Message{Sender: models.SenderContact, Kind: models.KindMessage, Text: in.Body, SMSFrom: in.From,
		SMSTo: in.To, SourceRef: in.SID}
	if err := s.receive(tx, accountID, caseID, models.ChannelSMS, "", NewContact{Phone: in.From}, msg, in.Media, &res); err != nil {
		return res, err
	}
	if in.OptOut == nil {
		return res, nil
	}
	return res, s.setOptOut(tx, accountID, res.CaseID, in.From, *in.OptOut)
}

// setOptOut records number as opted out of the account's SMS, or back in,
// with its event when that changes anything.
func (s *Store) setOptOut(tx *gorm.DB, accountID, caseID int64, number string, out bool) error {
	var res *gorm.DB
	t := models.EventSMSOptedIn
	if out {
		t = models.EventSMSOptedOut
		res = tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&models.SMSOptOut{AccountID: accountID, Number: number, CreatedAt: s.now()})
	} else {
		res = tx.Where("account_id = ? AND number = ?", accountID, number).Delete(&models.SMSOptOut{})
	}
	if res.Error != nil || res.RowsAffected == 0 {
		return res.Error
	}
	ev := newEvent(accountID, t, EventData{"number": number})
	ev.CaseID = caseID
	var c []models.Case
	if err := tx.Select("contact_id").Where("id = ?", caseID).Find(&c).Error; err != nil {
		return err
	}
	if len(c) > 0 {
		ev.ContactID = c[0].ContactID
	}
	return s.appendEvents(tx, ev)
}

// OptedOut reports whether number (in international form) opted out of the
// account's SMS.
func (s *Store) OptedOut(ctx context.Context, accountID int64, number string) (bool, error) {
	if p, err := models.ParsePhone(number); err == nil {
		number = p.E164
	}
	var n int64
	err := s.db.WithContext(ctx).Model(&models.SMSOptOut{}).Where("account_id = ? AND number = ?", accountID, number).Count(&n).Error
	return n > 0, wrap("sms opt-out", err)
}

// checkOptOut returns a field error on "to" when number opted out of the
// account's SMS.
func checkOptOut(tx *gorm.DB, accountID int64, number string) error {
	var n int64
	if err := tx.Model(&models.SMSOptOut{}).Where("account_id = ? AND number = ?", accountID, number).Count(&n).Error; err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	return FieldErrors{{Field: "to", Reason: ReasonOptedOut, Value: number, Message: fmt.Sprintf(
		"%s has opted out of this account's SMS (it texted STOP); it must text START before it can be sent to again", number)}}
}

// InboundReceipt is a provider's delivery receipt (status callback) for an
// SMS sent.
type InboundReceipt struct {
	// SID is the provider's id of the SMS.
	SID string
	// DeliveryID and Reference name the delivery the receipt is about when
	// the callback's URL carries them (the sender asks for receipts at a URL
	// with both): a receipt can arrive before the worker has stored SID
	// from the provider's answer to the send. Both must match.
	DeliveryID int64
	Reference  string
	// Status is DeliveryDelivered, DeliveryUndelivered or DeliveryFailed;
	// any other changes nothing.
	Status models.DeliveryStatus
	// Reason is the provider's reason for a failure.
	Reason string
}

// SMSReceipt records a provider's delivery receipt for an SMS sent:
// DeliveryDelivered, or DeliveryUndelivered or DeliveryFailed with the
// provider's reason. The SMS is the one whose send stored r.SID or, when
// none did yet, the delivery r.DeliveryID with r.Reference, which then
// keeps r.SID. A receipt that says less than the SMS's state already does
// (a late "sent" after "delivered", a second final word) changes nothing;
// other statuses are accepted and ignored. It returns the result
// (InboundDuplicate when nothing changed) and ErrNotFound when no SMS sent
// has that sid or delivery.
func (s *Store) SMSReceipt(ctx context.Context, r InboundReceipt) (InboundResult, error) {
	sid, status := strings.TrimSpace(r.SID), r.Status
	if sid == "" || !storable(sid) {
		return InboundResult{}, FieldErrors{{Field: "sid", Reason: ReasonRequired, Message: "a receipt needs the provider's message id"}}
	}
	reason := inboundLine(r.Reason, models.MaxReasonLen)
	byDelivery := r.DeliveryID > 0 && r.Reference != "" && storable(r.Reference)
	var res InboundResult
	err := s.write(ctx, s.db, func(tx *gorm.DB) error {
		var ds []models.Delivery
		if err := tx.Where("provider_ref = ? AND kind = ?", sid, models.InboxSMS).Order("id DESC").Limit(1).Find(&ds).Error; err != nil {
			return err
		}
		if len(ds) == 0 && byDelivery {
			if err := tx.Where("id = ? AND reference = ? AND kind = ?", r.DeliveryID, r.Reference, models.InboxSMS).
				Limit(1).Find(&ds).Error; err != nil {
				return err
			}
			// The send's answer is not recorded yet: the sid is kept now,
			// so that the provider's later receipts find the SMS by it.
			if len(ds) == 1 && ds[0].ProviderRef == "" {
				if err := tx.Model(&models.Delivery{}).Where("id = ? AND provider_ref = ''", ds[0].ID).
					Update("provider_ref", sid).Error; err != nil {
					return err
				}
			}
		}
		if len(ds) == 0 {
			return fmt.Errorf("sms %s: %w", sid, ErrNotFound)
		}
		d := ds[0]
		var m models.Message
		if err := tx.Select("id", "case_id", "delivery_status").Take(&m, "id = ?", d.MessageID).Error; err != nil {
			return err
		}
		res = InboundResult{Outcome: InboundDuplicate, AccountID: d.AccountID, CaseID: m.CaseID, MessageID: m.ID}
		final := status == models.DeliveryDelivered || status == models.DeliveryUndelivered || status == models.DeliveryFailed
		if !final || deliveryRank(models.DeliveryStatus(m.DeliveryStatus)) >= deliveryRank(status) {
			return nil
		}
		now := s.now()
		set := map[string]any{"delivery_status": status, "updated_at": now}
		data := EventData{"channel": models.InboxSMS, "status": status}
		t := models.EventDeliveryDelivered
		if status != models.DeliveryDelivered {
			if reason == "" {
				reason = string(status)
			}
			set["failed_at"], set["fail_reason"] = now, reason
			data["reason"] = reason
			t = models.EventDeliveryFailed
			if err := tx.Model(&models.Delivery{}).Where("id = ?", d.ID).Updates(map[string]any{
				"status": models.DeliveryFailed, "last_error": reason, "updated_at": now}).Error; err != nil {
				return err
			}
		}
		if err := tx.Model(&models.Message{}).Where("id = ?", m.ID).Updates(set).Error; err != nil {
			return err
		}
		res.Outcome = InboundMessage
		ev := newEvent(d.AccountID, t, data)
		ev.MessageID, ev.CaseID = m.ID, m.CaseID
		return s.appendEvents(tx, ev)
	})
	if err != nil {
		return InboundResult{}, wrap("sms receipt", err)
	}
	return res, nil
}

// deliveryRank orders what a message's delivery status says: queued,
// sending, sent, then the final words.
func deliveryRank(st models.DeliveryStatus) int {
	switch st {
	case models.DeliverySending:
		return 1
	case models.DeliverySent:
		return 2
	case models.DeliveryDelivered, models.DeliveryUndelivered, models.DeliveryFailed:
		return 3
	}
	return 0
}

package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"switchboard/models"
)

// NewOfflineCase is the input of CreateOfflineCase: a visitor's offline
// message, which becomes a case on the offline channel holding that message.
type NewOfflineCase struct {
	ContactID int64
	Subject   string
	Message   string
	// ReceivedAt is when the visitor sent it; zero means now.
	ReceivedAt       time.Time
	SiteID           *int64
	CampaignID       *int64
	VisitorSessionID *int64
	ExtID            *string
	FormName         string
}

// CreateOfflineCase creates an offline-message case with the visitor's message
// in one transaction. It returns ErrNotFound when the contact is not the
// account's and FieldErrors for an empty or too long message and a subject,
// form name or ext_id over its limit (see models).
func (s *Store) CreateOfflineCase(ctx context.Context, accountID int64, in NewOfflineCase) (models.Case, error) {
	var fe FieldErrors
	if strings.TrimSpace(in.Message) == "" {
		fe.Add("message", "must not be empty")
	}
	checkBlock(&fe, "message", in.Message, models.MaxTextLen)
	checkSubject(&fe, "subject", in.Subject)
	checkLine(&fe, "form_name", in.FormName, models.MaxNameLen)
	if in.ExtID != nil {
		checkLine(&fe, "ext_id", *in.ExtID, models.MaxExtIDLen)
	}
	if err := fe.Err(); err != nil {
		return models.Case{}, err
	}
	var c models.Case
	err := s.write(ctx, s.db, func(tx *gorm.DB) error {
		if err := owned(tx, &models.Contact{}, "contact", accountID, in.ContactID); err != nil {
			return err
		}
		now := s.now()
		at := in.ReceivedAt.UTC().Truncate(time.Microsecond)
		if in.ReceivedAt.IsZero() {
			at = now
		}
		c = models.Case{
			AccountID: accountID, ContactID: in.ContactID, Channel: models.ChannelOffline,
			Status: models.StatusNew, Initiator: "visitor", Subject: in.Subject, Unread: true,
			StartedAt: at, ExtID: in.ExtID, SiteID: in.SiteID, CampaignID: in.CampaignID,
			VisitorSessionID: in.VisitorSessionID, FormName: in.FormName, CreatedAt: now, UpdatedAt: now,
		}
		if err := tx.Create(&c).Error; err != nil {
			return err
		}
		m := models.Message{
			AccountID: accountID, CaseID: c.ID, Sender: models.SenderContact, Kind: models.KindMessage,
			Text: in.Message, CreatedAt: at, UpdatedAt: now,
		}
		if err := tx.Create(&m).Error; err != nil {
			return err
		}
		c.LastMessageID, c.LastMessageAt, c.LastCustomerMessageAt = &m.ID, &m.CreatedAt, &m.CreatedAt
		if err := tx.Model(&models.Case{}).Where("id = ?", c.ID).Updates(map[string]any{
			"last_message_id": m.ID, "last_message_at": m.CreatedAt, "last_customer_message_at": m.CreatedAt,
		}).Error; err != nil {
			return err
		}
		counts := dayDeltas{}
		counts.add(accountID, c.Channel, c.StartedAt, 1)
		return counts.save(tx)
	})
	return c, wrap("create offline case", err)
}

// NewMessage is the input of AddMessage.
type NewMessage struct {
	Sender models.Sender
	// AgentID is the author when Sender is SenderAgent; it must be the account's.
	AgentID *int64
	Kind    models.Kind
	Text    string
	// Markdown is the text with its mark-up, when the client sent one.
	Markdown string
	// Lang is the language to translate the message to, if any.
	Lang string
	// At is when it was written; zero means now.
	At time.Time
	// Reopen lets a message into a closed case and reopens it, as HelpCrunch
	// does; without it a closed case refuses the message, as Acquire does.
	Reopen bool
	// WithCase asks for the case as the write left it (MessageView.Case).
	WithCase bool
}

// MessageView is a message with its author when an agent wrote it.
type MessageView struct {
	models.Message
	Agent *models.Agent
	// Case is the case after the write, read in the write's transaction, when
	// the input asked for it (WithCase); nil otherwise.
	Case *CaseView
}

// AddMessage adds a message to a case in one transaction, holding the case
// row so that concurrent writers see one another. An agent's message opens a
// new case. It returns the message with its author (and with in.WithCase the
// case as the write left it), ErrNotFound for a case (or
// agent) that is not the account's, ErrCaseNotActive for a closed case (unless
// in.Reopen) and FieldErrors for bad input.
func (s *Store) AddMessage(ctx context.Context, accountID, caseID int64, in NewMessage) (MessageView, error) {
	var fe FieldErrors
	if !in.Sender.Valid() {
		fe.Add("sender", "%q is not one of agent, contact, system", in.Sender)
	}
	if !in.Kind.Valid() {
		fe.Add("kind", "%q is not one of message, note, event", in.Kind)
	}
	if strings.TrimSpace(in.Text) == "" {
		fe.Add("text", "must not be empty")
	}
	if in.Sender == models.SenderAgent && in.AgentID == nil {
		fe.Add("agent", "an agent's message needs its agent")
	}
	if in.Sender != models.SenderAgent && in.AgentID != nil {
		fe.Add("agent", "only an agent's message has an agent")
	}
	checkBlock(&fe, "text", in.Text, models.MaxTextLen)
	checkBlock(&fe, "markdown", in.Markdown, models.MaxTextLen)
	checkLine(&fe, "lang", in.Lang, models.MaxLangLen)
	if err := fe.Err(); err != nil {
		return MessageView{}, err
	}
	var v MessageView
	err := s.write(ctx, s.db, func(tx *gorm.DB) error {
		c, err := lockCase(tx, s.backend, accountID, caseID)
		if err != nil {
			return err
		}
		if c.Status == models.StatusClosed && !in.Reopen {
			return fmt.Errorf("case %d: %w", caseID, ErrCaseNotActive)
		}
		if in.Sender == models.SenderAgent {
			a, err := agentByID(tx, accountID, *in.AgentID)
			if err != nil {
				return notFoundOr(err, "agent", *in.AgentID)
			}
			v.Agent = &a
		}
		now := s.now()
		at := in.At.UTC().Truncate(time.Microsecond)
		if in.At.IsZero() {
			at = now
		}
		v.Message = models.Message{
			AccountID: accountID, CaseID: caseID, Sender: in.Sender, AgentID: in.AgentID, Kind: in.Kind,
			Text: in.Text, Markdown: in.Markdown, Lang: in.Lang, CreatedAt: at, UpdatedAt: now,
		}
		if err := insertMessage(tx, &v.Message); err != nil {
			return err
		}
		set := map[string]any{"updated_at": now}
		switch {
		case c.Status == models.StatusClosed:
			set["status"], set["closed_at"], set["closed_by"] = models.StatusOpen, nil, nil
		case in.Sender == models.SenderAgent && in.Kind == models.KindMessage && c.Status == models.StatusNew:
			set["status"] = models.StatusOpen
		}
		lastMessageUpdate(c, v.Message, set)
		if err := tx.Model(&models.Case{}).Where("id = ?", caseID).Updates(set).Error; err != nil {
			return err
		}
		if in.WithCase {
			v.Case, err = s.caseAfterWrite(tx, accountID, caseID)
		}
		return err
	})
	return v, wrap(fmt.Sprintf("add message to case %d", caseID), err)
}

// caseAfterWrite reads the case a write transaction just changed, with its
// contact and agents: in the same transaction, so that the answer shows the
// write and needs no second transaction (a round trip to begin it and one to
// end it, per request).
func (s *Store) caseAfterWrite(tx *gorm.DB, accountID, caseID int64) (*CaseView, error) {
	v, err := s.caseView(tx, accountID, caseID)
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// lockCase reads the account's case and, on PostgreSQL, locks its row until
// the transaction ends. It returns ErrNotFound for another account's case.
func lockCase(tx *gorm.DB, backend Backend, accountID, caseID int64) (models.Case, error) {
	lock := ""
	if backend == Postgres {
		lock = " FOR UPDATE"
	}
	c, err := takeRow(tx.Raw(`SELECT `+caseFields+` FROM cases WHERE account_id = ? AND id = ?`+lock, accountID, caseID), scanCase)
	if err != nil {
		return c, notFoundOr(err, "case", caseID)
	}
	return c, nil
}

// owned returns a NotFoundError naming the entity when the account has no
// row of model with the id.
func owned(tx *gorm.DB, model any, entity string, accountID, id int64) error {
	var n int64
	if err := tx.Model(model).Where("account_id = ? AND id = ?", accountID, id).Count(&n).Error; err != nil {
		return err
	}
	if n == 0 {
		return notFound(entity, id)
	}
	return nil
}

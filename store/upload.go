package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"switchboard/models"
)

// Uploads write whole batches of offline messages or chats from an outside
// system (CallGear's Data API). A batch is one transaction: every item is
// checked first, all problems are reported at once, and an invalid item
// writes nothing. Rows are written with one statement per table, not one per
// item: COPY on PostgreSQL, a multi-row INSERT on SQLite (see bulk.go), with
// every id taken up front. An item with an ext_id the account already
// uploaded on the same channel updates that case (keeping its id) instead of
// adding another, so a client may resend a whole batch after a timeout.
//
// Field errors of an item are named "[i].field" (i from 0), of its contact
// "[i].contact.field" and of a chat's message "[i].messages[j].field", each
// field in the model's words (started_at, agent_id, text); the dialect puts
// its list's name in front and maps the names to its own.

// UploadContact is who an uploaded item is from. The contact is found by
// email, then by phone, among the account's contacts, or created. Phone is a
// number in international form (models.ParsePhone), found and stored in
// E.164. At least one of Email and Phone is required.
type UploadContact struct {
	Name  string
	Email string
	Phone string
}

// UploadSource says where an uploaded item came from. At least one is
// required; when several are given they must agree: a visitor session's site
// and campaign, a campaign's site. NoCampaign says there was no campaign (a
// session's campaign is not taken) and requires SiteID; field errors about it
// name the field "no_campaign".
type UploadSource struct {
	SiteID     *int64
	CampaignID *int64
	// VisitorSessionID is the number the account knows the session by
	// (models.VisitorSession.ExtID; a session created here has its id). A
	// number the account has no session of is recorded as a new session of
	// the account, on the item's site and campaign, which the item (or
	// another naming the same number) must then give.
	VisitorSessionID *int64
	NoCampaign       bool
}

// OfflineUpload is one uploaded offline message.
type OfflineUpload struct {
	// ReceivedAt is when the visitor wrote; zero means now. It may not be in
	// the future, nor before the visitor session started.
	ReceivedAt time.Time
	Contact    UploadContact
	Subject    string
	Message    string
	Source     UploadSource
	FormName   string
	ExtID      *string
}

// ChatUploadMessage is one message of an uploaded chat.
type ChatUploadMessage struct {
	// At may not be before the chat's start nor in the future.
	At     time.Time
	Sender models.Sender
	// AgentID is required for an agent's message and must be the account's.
	AgentID *int64
	Text    string
}

// ChatUpload is one uploaded chat: a closed chat case with its outcome and
// messages.
type ChatUpload struct {
	// StartedAt may not be in the future.
	StartedAt time.Time
	Contact   UploadContact
	Outcome   models.Outcome
	// Initiator says who started the chat; empty means the sender of the
	// first message (contact, agent or system).
	Initiator models.Initiator
	Source    UploadSource
	ExtID     *string
	Messages  []ChatUploadMessage
}

// UploadOfflineMessages writes a batch of offline messages in one
// transaction and returns the ids of their cases in the order of items. It
// returns FieldErrors naming every bad item field (with reasons: required,
// not found, combination, time), ErrUnavailable when the database is down,
// ErrConflict when other uploads kept taking its ext_ids meanwhile (it runs
// again after each, up to four times in all), and the context's error when
// it ends first; nothing is written on any error. An
// empty message adds the case without a visitor message. Resending an ext_id
// replaces the case's visitor message and keeps the agents' replies.
func (s *Store) UploadOfflineMessages(ctx context.Context, accountID int64, items []OfflineUpload) ([]int64, error) {
	now := s.now()
	b := newBatch(len(items))
	for i := range items {
		it := &items[i]
		b.contact(i, &it.Contact)
		b.source(i, it.Source, false)
		if it.ReceivedAt.IsZero() {
			it.ReceivedAt = now
		}
		it.ReceivedAt = it.ReceivedAt.UTC().Truncate(time.Microsecond)
		if it.ReceivedAt.After(now) {
			b.add(i, ReasonTime, "received_at", it.ReceivedAt, "must not be in the future")
		}
		var fe FieldErrors
		checkBlock(&fe, "message", it.Message, models.MaxTextLen)
		checkSubject(&fe, "subject", it.Subject)
		checkLine(&fe, "form_name", it.FormName, models.MaxNameLen)
		b.addAll(i, fe)
		b.extID(i, it.ExtID)
	}
	if len(items) == 0 {
		return []int64{}, nil
	}
	// Bad items still go through the checks against the database, so that
	// one answer names every problem of the batch.
	var ids []int64
	err := s.inUploadTx(ctx, func(tx *gorm.DB, w rowWriter) error {
		times := make([]time.Time, len(items))
		sources := make([]UploadSource, len(items))
		exts := make([]*string, len(items))
		for i, it := range items {
			times[i], sources[i], exts[i] = it.ReceivedAt, it.Source, it.ExtID
		}
		refs, err := b.resolve(tx, accountID, models.ChannelOffline, sources, times, "received_at", exts)
		if err != nil {
			return err
		}
		if err := b.err(); err != nil {
			return err
		}
		contacts := make([]UploadContact, len(items))
		for i, it := range items {
			contacts[i] = it.Contact
		}
		contactIDs, fresh, err := matchContacts(tx, now, accountID, contacts)
		if err != nil {
			return err
		}
		up := upload{accountID: accountID, channel: models.ChannelOffline, contacts: fresh, existing: b.existing,
			sessions: b.newSessions(contactIDs, now), cases: make([]models.Case, len(items)), messages: make([][]models.Message, len(items)), keepReplies: true}
		for i, it := range items {
			up.cases[i] = models.Case{
				AccountID: accountID, ContactID: contactIDs[i], Channel: models.ChannelOffline, Status: models.StatusNew,
				Initiator: models.InitiatorContact, Subject: strings.TrimSpace(it.Subject), Unread: true, StartedAt: it.ReceivedAt,
				ExtID: it.ExtID, SiteID: refs[i].SiteID, CampaignID: refs[i].CampaignID,
				VisitorSessionID: refs[i].VisitorSessionID, FormName: it.FormName, Uploaded: true,
				CreatedAt: now, UpdatedAt: now,
			}
			if strings.TrimSpace(it.Message) != "" {
				up.messages[i] = []models.Message{{
					AccountID: accountID, Sender: models.SenderContact, Kind: models.KindMessage,
					Text: it.Message, CreatedAt: it.ReceivedAt, UpdatedAt: now,
				}}
			}
		}
		if ids, err = up.write(tx, w); err != nil {
			return err
		}
		return s.appendEvents(tx, up.completed())
	})
	if err != nil {
		return nil, wrap("upload offline messages", err)
	}
	return ids, nil
}

// UploadChats writes a batch of chats in one transaction and returns the ids
// of their cases in the order of items. Each becomes a closed chat case with
// its outcome, its messages, and the last agent who wrote as its assignee.
// Resending an ext_id replaces the chat's messages with the batch's. Errors
// are those of UploadOfflineMessages, plus field errors on messages (an
// agent's message without its agent, a time before the chat's start).
func (s *Store) UploadChats(ctx context.Context, accountID int64, items []ChatUpload) ([]int64, error) {
	now := s.now()
	b := newBatch(len(items))
	for i := range items {
		it := &items[i]
		b.contact(i, &it.Contact)
		b.source(i, it.Source, true)
		it.StartedAt = it.StartedAt.UTC().Truncate(time.Microsecond)
		switch {
		case it.StartedAt.IsZero():
			b.add(i, ReasonRequired, "started_at", nil, "is required")
		case it.StartedAt.After(now):
			b.add(i, ReasonTime, "started_at", it.StartedAt, "must not be in the future")
		}
		if !it.Outcome.Valid() {
			b.add(i, ReasonInvalid, "outcome", string(it.Outcome), "%q is not one of lost, succeeded, refused", it.Outcome)
		}
		if it.Initiator != "" && !it.Initiator.Valid() {
			b.add(i, ReasonInvalid, "initiator", string(it.Initiator), "%q is not one of contact, agent, system, invite", it.Initiator)
		}
		if len(it.Messages) == 0 {
			b.add(i, ReasonRequired, "messages", nil, "a chat needs at least one message")
		}
		b.extID(i, it.ExtID)
		for j := range it.Messages {
			m := &it.Messages[j]
			field := fmt.Sprintf("messages[%d].", j)
			m.At = m.At.UTC().Truncate(time.Microsecond)
			switch {
			case m.At.IsZero():
				b.add(i, ReasonRequired, field+"created_at", nil, "is required")
			case m.At.After(now):
				b.add(i, ReasonTime, field+"created_at", m.At, "must not be in the future")
			case !it.StartedAt.IsZero() && m.At.Before(it.StartedAt):
				b.add(i, ReasonTime, field+"created_at", m.At, MsgBeforeChatStart)
			}
			switch {
			case !m.Sender.Valid():
				b.add(i, ReasonInvalid, field+"sender", string(m.Sender), "%q is not one of agent, contact, system", m.Sender)
			case m.Sender == models.SenderAgent && m.AgentID == nil:
				b.add(i, ReasonRequired, field+"agent_id", nil, MsgAgentNeeded)
			case m.Sender != models.SenderAgent && m.AgentID != nil:
				b.add(i, ReasonCombination, field+"agent_id", *m.AgentID, MsgAgentOnly)
			}
			if strings.TrimSpace(m.Text) == "" {
				b.add(i, ReasonRequired, field+"text", nil, "must not be empty")
			}
			var fe FieldErrors
			checkBlock(&fe, field+"text", m.Text, models.MaxTextLen)
			b.addAll(i, fe)
		}
	}
	if len(items) == 0 {
		return []int64{}, nil
	}
	// Bad items still go through the checks against the database, so that
	// one answer names every problem of the batch.
	var ids []int64
	err := s.inUploadTx(ctx, func(tx *gorm.DB, w rowWriter) error {
		times := make([]time.Time, len(items))
		sources := make([]UploadSource, len(items))
		exts := make([]*string, len(items))
		agentSet := map[int64]bool{}
		for i, it := range items {
			times[i], sources[i], exts[i] = it.StartedAt, it.Source, it.ExtID
			for _, m := range it.Messages {
				if m.AgentID != nil {
					agentSet[*m.AgentID] = true
				}
			}
		}
		refs, err := b.resolve(tx, accountID, models.ChannelChat, sources, times, "started_at", exts)
		if err != nil {
			return err
		}
		known, err := existingIDs(tx, "agents", accountID, keys(agentSet))
		if err != nil {
			return err
		}
		for i, it := range items {
			for j, m := range it.Messages {
				if m.AgentID != nil && !known[*m.AgentID] {
					b.add(i, ReasonNotFound, fmt.Sprintf("messages[%d].agent_id", j), *m.AgentID, "no agent %d in this account", *m.AgentID)
				}
			}
		}
		if err := b.err(); err != nil {
			return err
		}
		contacts := make([]UploadContact, len(items))
		for i, it := range items {
			contacts[i] = it.Contact
		}
		contactIDs, fresh, err := matchContacts(tx, now, accountID, contacts)
		if err != nil {
			return err
		}
		up := upload{accountID: accountID, channel: models.ChannelChat, contacts: fresh, existing: b.existing,
			sessions: b.newSessions(contactIDs, now), cases: make([]models.Case, len(items)), messages: make([][]models.Message, len(items))}
		for i, it := range items {
			outcome := it.Outcome
			closedAt := it.StartedAt
			var assignee *int64
			for _, m := range it.Messages {
				if m.At.After(closedAt) {
					closedAt = m.At
				}
				if m.AgentID != nil {
					assignee = m.AgentID
				}
			}
			initiator := it.Initiator
			if initiator == "" {
				initiator = map[models.Sender]models.Initiator{models.SenderAgent: models.InitiatorAgent,
					models.SenderContact: models.InitiatorContact, models.SenderSystem: models.InitiatorSystem}[it.Messages[0].Sender]
			}
			up.cases[i] = models.Case{
				AccountID: accountID, ContactID: contactIDs[i], Channel: models.ChannelChat, Status: models.StatusClosed,
				Outcome: &outcome, Initiator: initiator, AssigneeID: assignee, StartedAt: it.StartedAt, ClosedAt: &closedAt,
				ExtID: it.ExtID, SiteID: refs[i].SiteID, CampaignID: refs[i].CampaignID,
				VisitorSessionID: refs[i].VisitorSessionID, Uploaded: true, CreatedAt: now, UpdatedAt: now,
			}
			msgs := make([]models.Message, len(it.Messages))
			for j, m := range it.Messages {
				msgs[j] = models.Message{
					AccountID: accountID, Sender: m.Sender, AgentID: m.AgentID, Kind: models.KindMessage,
					Text: m.Text, Read: true, CreatedAt: m.At, UpdatedAt: now,
				}
			}
			up.messages[i] = msgs
		}
		if ids, err = up.write(tx, w); err != nil {
			return err
		}
		return s.appendEvents(tx, up.completed())
	})
	if err != nil {
		return nil, wrap("upload chats", err)
	}
	return ids, nil
}

// DeleteUploaded deletes the account's uploaded cases of the channel with the
// ids, with their messages, in one transaction, and returns the ids it
// deleted (in the order given, each once). An id that is not an uploaded
// case of the channel in the account is a FieldErrors entry "[i]" with
// ReasonNotFound, and then nothing is deleted.
func (s *Store) DeleteUploaded(ctx context.Context, accountID int64, channel models.Channel, ids []int64) ([]int64, error) {
	var out []int64
	seen := map[int64]bool{}
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	if len(out) > MaxInValues {
		return nil, FieldErrors{{Field: "", Reason: ReasonTooMany, Message: fmt.Sprintf("at most %d ids at once", MaxInValues)}}
	}
	err := s.write(ctx, s.bulk, func(tx *gorm.DB) error {
		var rows []struct {
			ID         int64
			ContactID  int64
			StartedAt  time.Time
			AssigneeID *int64
		}
		if len(out) > 0 {
			if err := tx.Raw(`SELECT id, contact_id, started_at, assignee_id FROM cases WHERE account_id = ? AND channel = ? AND uploaded AND id IN ?`,
				accountID, string(channel), out).Scan(&rows).Error; err != nil {
				return err
			}
		}
		found := map[int64]bool{}
		deltas := dayDeltas{}
		for _, r := range rows {
			found[r.ID] = true
			deltas.add(accountID, channel, r.StartedAt, -1)
			deltas.addAssignee(accountID, channel, r.AssigneeID, r.StartedAt, -1)
		}
		var fe FieldErrors
		for i, id := range ids {
			if !found[id] {
				fe.AddReason(ReasonNotFound, fmt.Sprintf("[%d]", i), id, "no uploaded %s %d in this account", channel, id)
			}
		}
		if err := fe.Err(); err != nil {
			return err
		}
		if len(out) == 0 {
			return nil
		}
		// Messages go with their case (ON DELETE CASCADE), deliveries with
		// their message.
		if err := tx.Exec(`DELETE FROM cases WHERE `+inAccountByIDs, accountID, out).Error; err != nil {
			return err
		}
		if err := deltas.save(tx); err != nil {
			return err
		}
		// One case.deleted per case, in the order of the ids given; the
		// messages went with their case and have no events of their own.
		byID := make(map[int64]int, len(rows))
		for i, r := range rows {
			byID[r.ID] = i
		}
		evs := make([]models.Event, len(out))
		for i, id := range out {
			r := rows[byID[id]]
			evs[i] = caseEvent(models.Case{ID: r.ID, AccountID: accountID, ContactID: r.ContactID, AssigneeID: r.AssigneeID},
				models.EventCaseDeleted, EventData{"channel": channel})
		}
		return s.appendEvents(tx, evs...)
	})
	if err != nil {
		return nil, wrap("delete uploaded cases", err)
	}
	if out == nil {
		out = []int64{}
	}
	return out, nil
}

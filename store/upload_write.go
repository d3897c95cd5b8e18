package store

import (
	"slices"

	"gorm.io/gorm"

	"switchboard/models"
)

// upload is what an upload writes, before its ids are known.
type upload struct {
	accountID int64
	channel   models.Channel
	// contacts are the contacts the upload creates. A case names contacts[k]
	// by ContactID -1-k.
	contacts []models.Contact
	// sessions are the visitor sessions the upload records. A case names
	// sessions[k] by VisitorSessionID -1-k; a session names its contact as a
	// case does.
	sessions []models.VisitorSession
	// cases and messages are by item: each item's case and its messages.
	cases    []models.Case
	messages [][]models.Message
	// existing maps the items whose ext_id an earlier upload used to that
	// case: it keeps its id and is updated in place.
	existing map[int]existingCase
	// keepReplies says that a resend replaces only the contact's messages of
	// the case (offline messages keep the agents' replies); otherwise it
	// replaces them all.
	keepReplies bool
}

// write takes the ids of the new rows, fills them in (a case's contact, a
// message's case, a case's last message), and writes the upload: new rows
// with w, each table in one go, resent cases with an UPDATE each. It returns
// the case ids in item order: new cases' ids ascend in item order, as do the
// messages' in item and message order. It keeps the day counts right and
// returns only the database's errors.
//
// A new case's last-message columns are computed here, from its messages,
// and written with the case. Those of a resent case are too when the resend
// replaces all its messages; when older messages remain (keepReplies), one
// UPDATE per chunk reads them back from the messages, after they are
// written.
func (u *upload) write(tx *gorm.DB, w rowWriter) ([]int64, error) {
	nMsgs := 0
	for _, m := range u.messages {
		nMsgs += len(m)
	}
	reserved, err := w.reserveIDs(tx, []idRequest{
		{"contacts", len(u.contacts)}, {"cases", len(u.cases) - len(u.existing)}, {"messages", nMsgs},
		{"visitor_sessions", len(u.sessions)},
		{timelines, len(u.cases) - len(u.existing)},
	})
	if err != nil {
		return nil, err
	}
	contactIDs, caseIDs, msgIDs, sessionIDs, timelineIDs := reserved[0], reserved[1], reserved[2], reserved[3], reserved[4]
	for k := range u.contacts {
		u.contacts[k].ID = contactIDs[k]
	}
	for k := range u.sessions {
		v := &u.sessions[k]
		v.ID = sessionIDs[k]
		if v.ContactID != nil && *v.ContactID < 0 {
			id := u.contacts[-1-*v.ContactID].ID
			v.ContactID = &id
		}
	}
	ids := make([]int64, len(u.cases))
	fresh := make([]models.Case, 0, len(u.cases)-len(u.existing))
	msgs := make([]models.Message, 0, nMsgs)
	for i := range u.cases {
		c := &u.cases[i]
		if c.ContactID < 0 {
			c.ContactID = u.contacts[-1-c.ContactID].ID
		}
		if c.VisitorSessionID != nil && *c.VisitorSessionID < 0 {
			id := u.sessions[-1-*c.VisitorSessionID].ID
			c.VisitorSessionID = &id
		}
		old, resent := u.existing[i]
		if resent {
			c.ID = old.id
		} else {
			c.ID, caseIDs = caseIDs[0], caseIDs[1:]
			c.TimelineID, timelineIDs = timelineIDs[0], timelineIDs[1:]
		}
		for j := range u.messages[i] {
			m := &u.messages[i][j]
			m.ID, msgIDs = msgIDs[0], msgIDs[1:]
			m.CaseID = c.ID
		}
		setLastMessage(c, u.messages[i])
		ids[i] = c.ID
		msgs = append(msgs, u.messages[i]...)
		if !resent {
			fresh = append(fresh, *c)
		}
	}
	// Contacts before the sessions and cases that name them, sessions before
	// their cases, cases before their messages: the foreign keys are checked
	// statement by statement.
	if err := w.insert(tx, u.contacts); err != nil {
		return nil, err
	}
	if err := w.insert(tx, u.sessions); err != nil {
		return nil, err
	}
	if err := updateResentCases(tx, u.accountID, u.channel, u.cases, u.existing, !u.keepReplies); err != nil {
		return nil, err
	}
	if err := w.insert(tx, fresh); err != nil {
		return nil, err
	}
	resent := make([]int64, 0, len(u.existing))
	for i := range u.existing {
		resent = append(resent, ids[i])
	}
	slices.Sort(resent)
	if len(resent) > 0 {
		del := `DELETE FROM messages WHERE account_id = ? AND case_id IN ?`
		if u.keepReplies {
			del += ` AND sender = 'contact'`
		}
		for _, chunk := range chunks(resent) {
			if err := tx.Exec(del, u.accountID, chunk).Error; err != nil {
				return nil, err
			}
		}
	}
	if err := w.insert(tx, msgs); err != nil {
		return nil, err
	}
	if u.keepReplies {
		if err := refreshLastMessages(tx, u.accountID, resent); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// completed returns the upload's one upload.completed event, once write has
// run: how many cases, messages, contacts and visitor sessions it created
// and how many cases it wrote again (resent ext_ids). An upload has one
// event, not one per row: its rows are many, and written by COPY.
func (u *upload) completed() models.Event {
	msgs := 0
	for _, m := range u.messages {
		msgs += len(m)
	}
	return newEvent(u.accountID, models.EventUploadCompleted, EventData{
		"channel": u.channel, "cases": len(u.cases) - len(u.existing), "cases_updated": len(u.existing),
		"messages": msgs, "contacts": len(u.contacts), "visitor_sessions": len(u.sessions),
	})
}

// setLastMessage sets the case's last-message columns from msgs, its only
// messages, by the rule of refreshLastMessages: among the messages that are
// not notes, the last by created_at and then id, and the time of the last
// one the contact sent; nil when there is none.
func setLastMessage(c *models.Case, msgs []models.Message) {
	c.LastMessageID, c.LastMessageAt, c.LastCustomerMessageAt = nil, nil, nil
	var last *models.Message
	for j := range msgs {
		m := &msgs[j]
		if m.Kind == models.KindNote {
			continue
		}
		if last == nil || m.CreatedAt.After(last.CreatedAt) || m.CreatedAt.Equal(last.CreatedAt) && m.ID > last.ID {
			last = m
		}
		if m.Sender == models.SenderContact && (c.LastCustomerMessageAt == nil || m.CreatedAt.After(*c.LastCustomerMessageAt)) {
			at := m.CreatedAt
			c.LastCustomerMessageAt = &at
		}
	}
	if last != nil {
		id, at := last.ID, last.CreatedAt
		c.LastMessageID, c.LastMessageAt = &id, &at
	}
}

// updateResentCases updates, in place, the cases whose ext_id an earlier
// upload already used (existing, by item), with their last-message columns
// when withLast, and adds every case, new or resent, to the day counts. It
// returns only the database's errors.
func updateResentCases(tx *gorm.DB, accountID int64, ch models.Channel, cases []models.Case, existing map[int]existingCase, withLast bool) error {
	deltas := dayDeltas{}
	for i, c := range cases {
		old, ok := existing[i]
		if !ok {
			deltas.add(accountID, ch, c.StartedAt, 1)
			deltas.addAssignee(accountID, ch, c.AssigneeID, c.StartedAt, 1)
			continue
		}
		deltas.add(accountID, ch, old.startedAt, -1)
		deltas.add(accountID, ch, c.StartedAt, 1)
		deltas.addAssignee(accountID, ch, old.assigneeID, old.startedAt, -1)
		deltas.addAssignee(accountID, ch, c.AssigneeID, c.StartedAt, 1)
		set := map[string]any{
			"contact_id": c.ContactID, "status": c.Status, "outcome": c.Outcome, "initiator": c.Initiator,
			"subject": c.Subject, "assignee_id": c.AssigneeID, "unread": c.Unread, "started_at": c.StartedAt,
			"closed_at": c.ClosedAt, "closed_by": nil, "site_id": c.SiteID, "campaign_id": c.CampaignID,
			"visitor_session_id": c.VisitorSessionID, "form_name": c.FormName, "uploaded": true, "updated_at": c.UpdatedAt,
		}
		if withLast {
			set["last_message_id"], set["last_message_at"], set["last_customer_message_at"] = c.LastMessageID, c.LastMessageAt, c.LastCustomerMessageAt
		}
		// A resend is the rare path: one statement per resent case is fine.
		if err := tx.Model(&models.Case{}).Where("id = ?", old.id).Updates(set).Error; err != nil {
			return err
		}
	}
	return deltas.save(tx)
}

// refreshLastMessages sets the last-message columns of the cases from their
// messages, in one statement per chunk.
func refreshLastMessages(tx *gorm.DB, accountID int64, ids []int64) error {
	for _, chunk := range chunks(ids) {
		if err := tx.Exec(`UPDATE cases SET
			last_message_id = (SELECT m.id FROM messages m WHERE m.case_id = cases.id AND m.kind <> 'note'
				ORDER BY m.created_at DESC, m.id DESC LIMIT 1),
			last_message_at = (SELECT MAX(m.created_at) FROM messages m WHERE m.case_id = cases.id AND m.kind <> 'note'),
			last_customer_message_at = (SELECT MAX(m.created_at) FROM messages m WHERE m.case_id = cases.id
				AND m.kind <> 'note' AND m.sender = 'contact')
			WHERE `+inAccountByIDs, accountID, chunk).Error; err != nil {
			return err
		}
	}
	return nil
}

// keys returns a set's members in order.
func keys[K int64 | string](set map[K]bool) []K {
	out := make([]K, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// chunks splits a list into parts of at most MaxInValues, the most one IN
// takes.
func chunks[T any](list []T) [][]T {
	var out [][]T
	for start := 0; start < len(list); start += MaxInValues {
		out = append(out, list[start:min(start+MaxInValues, len(list))])
	}
	return out
}

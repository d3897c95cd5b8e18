package store

import (
	"context"
	"fmt"
	"slices"
	"sort"
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
// Field errors of an item are named "[i].field" (i from 0) and of a chat's
// message "[i].messages[j].field"; the dialect puts its list's name in front.

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
// and campaign, a campaign's site. NoCampaign (CallGear's campaign_id -1) says
// there was no campaign and requires SiteID.
type UploadSource struct {
	SiteID           *int64
	CampaignID       *int64
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
	// Initiator is operator, visitor or autoinvite; empty means the source
	// of the first message (visitor, operator or system).
	Initiator string
	Source    UploadSource
	ExtID     *string
	Messages  []ChatUploadMessage
}

// UploadOfflineMessages writes a batch of offline messages in one
// transaction and returns the ids of their cases in the order of items. It
// returns FieldErrors naming every bad item field (with reasons: required,
// not found, combination, time), ErrUnavailable when the database is down,
// ErrConflict when another upload took an ext_id meanwhile, and the
// context's error when it ends first; nothing is written on any error. An
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
			b.add(i, ReasonTime, "date_time", it.ReceivedAt, "must not be in the future")
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
		refs, err := b.resolve(tx, accountID, models.ChannelOffline, sources, times, "date_time", exts)
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
			cases: make([]models.Case, len(items)), messages: make([][]models.Message, len(items)), keepReplies: true}
		for i, it := range items {
			up.cases[i] = models.Case{
				AccountID: accountID, ContactID: contactIDs[i], Channel: models.ChannelOffline, Status: models.StatusNew,
				Initiator: "visitor", Subject: strings.TrimSpace(it.Subject), Unread: true, StartedAt: it.ReceivedAt,
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
		ids, err = up.write(tx, w)
		return err
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
			b.add(i, ReasonRequired, "start_date_time", nil, "is required")
		case it.StartedAt.After(now):
			b.add(i, ReasonTime, "start_date_time", it.StartedAt, "must not be in the future")
		}
		if !it.Outcome.Valid() {
			b.add(i, ReasonInvalid, "status", string(it.Outcome), "%q is not one of lost, succeeded, refused", it.Outcome)
		}
		switch it.Initiator {
		case "", "operator", "visitor", "autoinvite":
		default:
			b.add(i, ReasonInvalid, "initiator", it.Initiator, "%q is not one of operator, visitor, autoinvite", it.Initiator)
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
				b.add(i, ReasonRequired, field+"date_time", nil, "is required")
			case m.At.After(now):
				b.add(i, ReasonTime, field+"date_time", m.At, "must not be in the future")
			case !it.StartedAt.IsZero() && m.At.Before(it.StartedAt):
				b.add(i, ReasonTime, field+"date_time", m.At, "must not be before the chat's start_date_time")
			}
			switch {
			case !m.Sender.Valid():
				b.add(i, ReasonInvalid, field+"source", string(m.Sender), "%q is not one of agent, contact, system", m.Sender)
			case m.Sender == models.SenderAgent && m.AgentID == nil:
				b.add(i, ReasonRequired, field+"employee_id", nil, "an operator's message needs its employee")
			case m.Sender != models.SenderAgent && m.AgentID != nil:
				b.add(i, ReasonCombination, field+"employee_id", *m.AgentID, "only an operator's message has an employee")
			}
			if strings.TrimSpace(m.Text) == "" {
				b.add(i, ReasonRequired, field+"message", nil, "must not be empty")
			}
			var fe FieldErrors
			checkBlock(&fe, field+"message", m.Text, models.MaxTextLen)
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
		refs, err := b.resolve(tx, accountID, models.ChannelChat, sources, times, "start_date_time", exts)
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
					b.add(i, ReasonNotFound, fmt.Sprintf("messages[%d].employee_id", j), *m.AgentID, "no employee %d in this account", *m.AgentID)
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
			cases: make([]models.Case, len(items)), messages: make([][]models.Message, len(items))}
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
				initiator = map[models.Sender]string{models.SenderAgent: "operator", models.SenderContact: "visitor", models.SenderSystem: "system"}[it.Messages[0].Sender]
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
		ids, err = up.write(tx, w)
		return err
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
			StartedAt  time.Time
			AssigneeID *int64
		}
		if len(out) > 0 {
			if err := tx.Raw(`SELECT id, started_at, assignee_id FROM cases WHERE account_id = ? AND channel = ? AND uploaded AND id IN ?`,
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
		if err := tx.Exec(`DELETE FROM cases WHERE account_id = ? AND id IN ?`, accountID, out).Error; err != nil {
			return err
		}
		return deltas.save(tx)
	})
	if err != nil {
		return nil, wrap("delete uploaded cases", err)
	}
	if out == nil {
		out = []int64{}
	}
	return out, nil
}

// NewVisitorSession is the input of CreateVisitorSession.
type NewVisitorSession struct {
	ContactID  *int64
	SiteID     int64
	CampaignID *int64
	// StartedAt zero means now.
	StartedAt time.Time
	IPAddress string
	Referrer  string
}

// CreateVisitorSession records a visit of the account's site. It returns
// ErrNotFound (a NotFoundError) when the site, campaign or contact is not
// the account's, and FieldErrors when the campaign is of another site.
func (s *Store) CreateVisitorSession(ctx context.Context, accountID int64, in NewVisitorSession) (models.VisitorSession, error) {
	var fe FieldErrors
	checkLine(&fe, "ip_address", in.IPAddress, models.MaxIPLen)
	checkLine(&fe, "referrer", in.Referrer, models.MaxURLLen)
	if err := fe.Err(); err != nil {
		return models.VisitorSession{}, err
	}
	var v models.VisitorSession
	err := s.write(ctx, s.db, func(tx *gorm.DB) error {
		var site models.Site
		if err := tx.Take(&site, "account_id = ? AND id = ?", accountID, in.SiteID).Error; err != nil {
			return notFoundOr(err, "site", in.SiteID)
		}
		if in.CampaignID != nil {
			var c models.Campaign
			if err := tx.Take(&c, "account_id = ? AND id = ?", accountID, *in.CampaignID).Error; err != nil {
				return notFoundOr(err, "campaign", *in.CampaignID)
			}
			if c.SiteID != in.SiteID {
				return FieldErrors{{Field: "campaign_id", Reason: ReasonCombination, Value: *in.CampaignID,
					Message: fmt.Sprintf("campaign %d is of site %d, not %d", c.ID, c.SiteID, in.SiteID)}}
			}
		}
		if in.ContactID != nil {
			if err := owned(tx, &models.Contact{}, "contact", accountID, *in.ContactID); err != nil {
				return err
			}
		}
		now := s.now()
		at := in.StartedAt.UTC().Truncate(time.Microsecond)
		if in.StartedAt.IsZero() {
			at = now
		}
		v = models.VisitorSession{
			AccountID: accountID, ContactID: in.ContactID, SiteID: in.SiteID, CampaignID: in.CampaignID,
			StartedAt: at, IPAddress: in.IPAddress, ReferrerURL: in.Referrer, CreatedAt: now,
		}
		return tx.Create(&v).Error
	})
	return v, wrap("create visitor session", err)
}

// batch collects the field errors of an upload by item, so that they come
// out in the order of the request, and remembers what resolve found.
type batch struct {
	errs  [][]FieldError
	exts  map[string]int
	found bool
	// existing maps an item to the id of the case its ext_id already names.
	existing map[int]existingCase
}

type existingCase struct {
	id         int64
	startedAt  time.Time
	assigneeID *int64
}

func newBatch(n int) *batch {
	return &batch{errs: make([][]FieldError, n), exts: map[string]int{}, existing: map[int]existingCase{}}
}

func (b *batch) add(i int, reason Reason, field string, value any, format string, args ...any) {
	b.errs[i] = append(b.errs[i], FieldError{Field: fmt.Sprintf("[%d].%s", i, field), Reason: reason, Value: value,
		Message: fmt.Sprintf(format, args...)})
	b.found = true
}

// err returns every collected error, item by item, or nil.
func (b *batch) err() error {
	if !b.found {
		return nil
	}
	var fe FieldErrors
	for _, e := range b.errs {
		fe = append(fe, e...)
	}
	return fe
}

// addAll records the field errors of item i, each field named within the
// item (as checkLine and its kin name them).
func (b *batch) addAll(i int, fe FieldErrors) {
	for _, f := range fe {
		f.Field = fmt.Sprintf("[%d].%s", i, f.Field)
		b.errs[i] = append(b.errs[i], f)
		b.found = true
	}
}

// contact normalises and checks an item's contact.
func (b *batch) contact(i int, c *UploadContact) {
	var fe FieldErrors
	c.Name, c.Phone = strings.TrimSpace(c.Name), strings.TrimSpace(c.Phone)
	c.Email = models.NormalizeEmail(c.Email)
	switch {
	case c.Email == "" && c.Phone == "":
		b.add(i, ReasonRequired, "phone", nil, "phone or email is required")
	default:
		if c.Email != "" && !tooLongEmail(&fe, "email", c.Email) && !models.ValidEmail(c.Email) {
			b.add(i, ReasonInvalid, "email", c.Email, "%q is not a valid email address", c.Email)
		}
		if c.Phone != "" {
			if p, err := models.ParsePhone(c.Phone); err != nil {
				b.add(i, ReasonInvalid, "phone", c.Phone, "%v", err)
			} else {
				c.Phone = p.E164
			}
		}
	}
	checkLine(&fe, "name", c.Name, models.MaxNameLen)
	b.addAll(i, fe)
}

// source checks that an item names where it came from.
func (b *batch) source(i int, src UploadSource, chat bool) {
	switch {
	case src.NoCampaign && chat:
		b.add(i, ReasonInvalid, "campaign_id", int64(-1), "a chat's campaign_id may not be -1")
	case src.NoCampaign && src.SiteID == nil:
		b.add(i, ReasonRequired, "site_id", nil, "campaign_id -1 needs site_id")
	case src.NoCampaign && src.CampaignID != nil:
		b.add(i, ReasonCombination, "campaign_id", *src.CampaignID, "no campaign and a campaign at once")
	case src.SiteID == nil && src.CampaignID == nil && src.VisitorSessionID == nil && !src.NoCampaign:
		b.add(i, ReasonRequired, "site_id", nil, "one of visitor_session_id, campaign_id, site_id is required")
	}
}

// extID checks that no two items of the batch carry the same ext_id.
func (b *batch) extID(i int, ext *string) {
	if ext == nil {
		return
	}
	if strings.TrimSpace(*ext) == "" {
		b.add(i, ReasonInvalid, "ext_id", *ext, "must not be blank")
		return
	}
	var fe FieldErrors
	checkLine(&fe, "ext_id", *ext, models.MaxExtIDLen)
	b.addAll(i, fe)
	if j, ok := b.exts[*ext]; ok {
		b.add(i, ReasonCombination, "ext_id", *ext, "ext_id %q is also item %d of this batch", *ext, j)
		return
	}
	b.exts[*ext] = i
}

// resolve reads the sites, campaigns and visitor sessions the items name and
// the cases their ext_ids already name, checks that they are the account's
// and agree, and returns each item's source with what the others imply
// filled in (a session's site and campaign, a campaign's site). times are the
// items' times, which may not be before their session; timeField names them.
// What it finds wrong it adds to b; it returns an error only when the
// database fails.
func (b *batch) resolve(tx *gorm.DB, accountID int64, ch models.Channel, sources []UploadSource, times []time.Time, timeField string, exts []*string) ([]UploadSource, error) {
	// A transaction run again (see retrying) reads them afresh.
	clear(b.existing)
	siteSet, campSet, sessSet := map[int64]bool{}, map[int64]bool{}, map[int64]bool{}
	var extList []string
	for i, src := range sources {
		if src.SiteID != nil {
			siteSet[*src.SiteID] = true
		}
		if src.CampaignID != nil {
			campSet[*src.CampaignID] = true
		}
		if src.VisitorSessionID != nil {
			sessSet[*src.VisitorSessionID] = true
		}
		if exts[i] != nil {
			extList = append(extList, *exts[i])
		}
	}
	sites, err := existingIDs(tx, "sites", accountID, keys(siteSet))
	if err != nil {
		return nil, err
	}
	type campaign struct{ ID, SiteID int64 }
	campaigns := map[int64]campaign{}
	for _, chunk := range chunks(keys(campSet)) {
		var rows []campaign
		if err := tx.Raw(`SELECT id, site_id FROM campaigns WHERE account_id = ? AND id IN ?`, accountID, chunk).Scan(&rows).Error; err != nil {
			return nil, err
		}
		for _, r := range rows {
			campaigns[r.ID] = r
		}
	}
	type session struct {
		ID         int64
		SiteID     int64
		CampaignID *int64
		StartedAt  time.Time
	}
	sessions := map[int64]session{}
	for _, chunk := range chunks(keys(sessSet)) {
		var rows []session
		if err := tx.Raw(`SELECT id, site_id, campaign_id, started_at FROM visitor_sessions WHERE account_id = ? AND id IN ?`,
			accountID, chunk).Scan(&rows).Error; err != nil {
			return nil, err
		}
		for _, r := range rows {
			sessions[r.ID] = r
		}
	}
	byExt := map[string]existingCase{}
	for _, chunk := range chunks(extList) {
		var rows []struct {
			ID         int64
			ExtID      string
			StartedAt  time.Time
			AssigneeID *int64
		}
		if err := tx.Raw(`SELECT id, ext_id, started_at, assignee_id FROM cases WHERE account_id = ? AND channel = ? AND ext_id IN ?`,
			accountID, string(ch), chunk).Scan(&rows).Error; err != nil {
			return nil, err
		}
		for _, r := range rows {
			byExt[r.ExtID] = existingCase{id: r.ID, startedAt: r.StartedAt.UTC(), assigneeID: r.AssigneeID}
		}
	}
	out := make([]UploadSource, len(sources))
	for i, src := range sources {
		if exts[i] != nil {
			if c, ok := byExt[*exts[i]]; ok {
				b.existing[i] = c
			}
		}
		site, camp := src.SiteID, src.CampaignID
		if src.SiteID != nil && !sites[*src.SiteID] {
			b.add(i, ReasonNotFound, "site_id", *src.SiteID, "no site %d in this account", *src.SiteID)
		}
		if src.CampaignID != nil {
			c, ok := campaigns[*src.CampaignID]
			switch {
			case !ok:
				b.add(i, ReasonNotFound, "campaign_id", *src.CampaignID, "no campaign %d in this account", *src.CampaignID)
			case site != nil && c.SiteID != *site:
				b.add(i, ReasonCombination, "campaign_id", *src.CampaignID, "campaign %d is of site %d, not of site %d", c.ID, c.SiteID, *site)
			default:
				site = &c.SiteID
			}
		}
		if src.VisitorSessionID != nil {
			v, ok := sessions[*src.VisitorSessionID]
			switch {
			case !ok:
				b.add(i, ReasonNotFound, "visitor_session_id", *src.VisitorSessionID, "no visitor session %d in this account", *src.VisitorSessionID)
			default:
				if site != nil && v.SiteID != *site {
					b.add(i, ReasonCombination, "visitor_session_id", *src.VisitorSessionID, "visitor session %d is on site %d, not on site %d", v.ID, v.SiteID, *site)
				}
				if camp != nil && (v.CampaignID == nil || *v.CampaignID != *camp) {
					b.add(i, ReasonCombination, "visitor_session_id", *src.VisitorSessionID, "visitor session %d is not of campaign %d", v.ID, *camp)
				}
				if src.NoCampaign && v.CampaignID != nil {
					b.add(i, ReasonCombination, "campaign_id", int64(-1), "visitor session %d is of campaign %d", v.ID, *v.CampaignID)
				}
				if !times[i].IsZero() && times[i].Before(v.StartedAt) {
					b.add(i, ReasonTime, timeField, times[i], "must not be before visitor session %d started", v.ID)
				}
				site = &v.SiteID
				if camp == nil && !src.NoCampaign {
					camp = v.CampaignID
				}
			}
		}
		out[i] = UploadSource{SiteID: site, CampaignID: camp, VisitorSessionID: src.VisitorSessionID}
	}
	return out, nil
}

// matchContacts returns the contact id of each item: the account's oldest
// contact with the item's email, else with its phone, else a new one, shared
// by the items of the batch with the same email or phone. A new contact is
// not written here: it comes back in fresh, and its items' ids are -1-k for
// fresh[k] (see upload.write). It reads with one statement per chunk of the
// batch and returns only the database's errors.
func matchContacts(tx *gorm.DB, now time.Time, accountID int64, in []UploadContact) (ids []int64, fresh []models.Contact, err error) {
	emailSet, phoneSet := map[string]bool{}, map[string]bool{}
	for _, c := range in {
		if c.Email != "" {
			emailSet[c.Email] = true
		}
		if c.Phone != "" {
			phoneSet[c.Phone] = true
		}
	}
	byEmail, byPhone := map[string]int64{}, map[string]int64{}
	type row struct {
		ID    int64
		Email string
		Phone string
	}
	var rows []row
	for _, chunk := range chunks(keys(emailSet)) {
		var part []row
		if err := tx.Raw(`SELECT id, email, phone FROM contacts WHERE account_id = ? AND email IN ?`, accountID, chunk).Scan(&part).Error; err != nil {
			return nil, nil, err
		}
		rows = append(rows, part...)
	}
	for _, chunk := range chunks(keys(phoneSet)) {
		var part []row
		if err := tx.Raw(`SELECT id, email, phone FROM contacts WHERE account_id = ? AND phone IN ?`, accountID, chunk).Scan(&part).Error; err != nil {
			return nil, nil, err
		}
		rows = append(rows, part...)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].ID < rows[j].ID })
	for _, r := range rows {
		if _, ok := byEmail[r.Email]; r.Email != "" && !ok {
			byEmail[r.Email] = r.ID
		}
		if _, ok := byPhone[r.Phone]; r.Phone != "" && !ok {
			byPhone[r.Phone] = r.ID
		}
	}
	ids = make([]int64, len(in))
	pendingEmail, pendingPhone := map[string]int{}, map[string]int{}
	for i, c := range in {
		// The oldest contact with the email, else with the phone, else one
		// this batch creates for an earlier item with the email or phone.
		if id, ok := byEmail[c.Email]; c.Email != "" && ok {
			ids[i] = id
			continue
		}
		if id, ok := byPhone[c.Phone]; c.Phone != "" && ok {
			ids[i] = id
			continue
		}
		k, ok := pendingEmail[c.Email]
		if !ok || c.Email == "" {
			k, ok = pendingPhone[c.Phone]
			ok = ok && c.Phone != ""
		}
		if !ok {
			k = len(fresh)
			fresh = append(fresh, models.Contact{AccountID: accountID, CreatedAt: now, UpdatedAt: now})
		}
		// A later item may tell more of a contact this batch creates.
		nc := &fresh[k]
		if nc.Name == "" {
			nc.Name = c.Name
		}
		if nc.Email == "" && c.Email != "" {
			nc.Email = c.Email
			pendingEmail[c.Email] = k
		}
		if nc.Phone == "" && c.Phone != "" {
			nc.Phone = c.Phone
			pendingPhone[c.Phone] = k
		}
		ids[i] = int64(-1 - k)
	}
	return ids, fresh, nil
}

// upload is what an upload writes, before its ids are known.
type upload struct {
	accountID int64
	channel   models.Channel
	// contacts are the contacts the upload creates. A case names contacts[k]
	// by ContactID -1-k.
	contacts []models.Contact
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
	})
	if err != nil {
		return nil, err
	}
	contactIDs, caseIDs, msgIDs := reserved[0], reserved[1], reserved[2]
	for k := range u.contacts {
		u.contacts[k].ID = contactIDs[k]
	}
	ids := make([]int64, len(u.cases))
	fresh := make([]models.Case, 0, len(u.cases)-len(u.existing))
	msgs := make([]models.Message, 0, nMsgs)
	for i := range u.cases {
		c := &u.cases[i]
		if c.ContactID < 0 {
			c.ContactID = u.contacts[-1-c.ContactID].ID
		}
		old, resent := u.existing[i]
		if resent {
			c.ID = old.id
		} else {
			c.ID, caseIDs = caseIDs[0], caseIDs[1:]
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
	// Contacts before the cases that name them, cases before their
	// messages: the foreign keys are checked statement by statement.
	if err := w.insert(tx, u.contacts); err != nil {
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
			WHERE account_id = ? AND id IN ?`, accountID, chunk).Error; err != nil {
			return err
		}
	}
	return nil
}

// existingIDs returns which of ids are rows of the account in table.
func existingIDs(tx *gorm.DB, table string, accountID int64, ids []int64) (map[int64]bool, error) {
	out := map[int64]bool{}
	for _, chunk := range chunks(ids) {
		var found []int64
		if err := tx.Raw(`SELECT id FROM `+table+` WHERE account_id = ? AND id IN ?`, accountID, chunk).Scan(&found).Error; err != nil {
			return nil, err
		}
		for _, id := range found {
			out[id] = true
		}
	}
	return out, nil
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

package store

import (
	"context"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"

	"switchboard/models"
)

// The report lists: every case of one channel in a time window, and every
// message of the chats. They are what an export reads, so they page deep
// (ListQuery's bounds) and tell their total; neither may cost a scan of the
// account's history (see ReportCases).

// The fields a case report filters and sorts on (ReportCases).
const (
	ReportCaseID               = "id"
	ReportCaseStartedAt        = "started_at"
	ReportCaseClosedAt         = "closed_at"
	ReportCaseStatus           = "status"
	ReportCaseOutcome          = "outcome"
	ReportCaseInitiator        = "initiator"
	ReportCaseAssigneeID       = "assignee_id"
	ReportCaseContactID        = "contact_id"
	ReportCaseContactName      = "contact_name"
	ReportCaseContactEmail     = "contact_email"
	ReportCaseContactPhone     = "contact_phone"
	ReportCaseSiteID           = "site_id"
	ReportCaseSiteDomain       = "site_domain"
	ReportCaseCampaignID       = "campaign_id"
	ReportCaseCampaignName     = "campaign_name"
	ReportCaseVisitorSessionID = "visitor_session_id"
	ReportCaseFormName         = "form_name"
	ReportCaseExtID            = "ext_id"
)

// reportCaseColumns maps the case report's fields to SQL over cases c,
// contacts ct, and the case's site s, campaign cp and visitor session vs
// (each may be missing). A visitor session is named by its ExtID, the
// number the account knows it by.
var reportCaseColumns = map[string]column{
	ReportCaseID:               {"c.id", kindInt, false},
	ReportCaseStartedAt:        {"c.started_at", kindTime, false},
	ReportCaseClosedAt:         {"c.closed_at", kindTime, true},
	ReportCaseStatus:           {"c.status", kindText, false},
	ReportCaseOutcome:          {"c.outcome", kindText, true},
	ReportCaseInitiator:        {"c.initiator", kindText, false},
	ReportCaseAssigneeID:       {"c.assignee_id", kindInt, true},
	ReportCaseContactID:        {"c.contact_id", kindInt, false},
	ReportCaseContactName:      {"ct.name", kindText, false},
	ReportCaseContactEmail:     {"ct.email", kindText, false},
	ReportCaseContactPhone:     {"ct.phone", kindText, false},
	ReportCaseSiteID:           {"c.site_id", kindInt, true},
	ReportCaseSiteDomain:       {"s.domain", kindText, true},
	ReportCaseCampaignID:       {"c.campaign_id", kindInt, true},
	ReportCaseCampaignName:     {"cp.name", kindText, true},
	ReportCaseVisitorSessionID: {"vs.ext_id", kindInt, true},
	ReportCaseFormName:         {"c.form_name", kindText, false},
	ReportCaseExtID:            {"c.ext_id", kindText, true},
}

// reportCaseFrom is the FROM clause reportCaseColumns are over.
const reportCaseFrom = `cases c JOIN contacts ct ON ct.id = c.contact_id
	LEFT JOIN sites s ON s.id = c.site_id
	LEFT JOIN campaigns cp ON cp.id = c.campaign_id
	LEFT JOIN visitor_sessions vs ON vs.id = c.visitor_session_id`

// CaseReportRow is a case as a report lists it.
type CaseReportRow struct {
	models.Case
	Contact  models.Contact
	Assignee *models.Agent
	// SiteDomain, CampaignName and VisitorSessionExtID describe the case's
	// site, campaign and visitor session; empty or nil without one.
	SiteDomain          string
	CampaignName        string
	VisitorSessionExtID *int64
	// Messages counts the case's messages (notes and events are not
	// messages), AgentMessages those agents wrote.
	Messages, AgentMessages int64
	// FirstAgentMessageAt is when an agent first wrote; nil if none did.
	FirstAgentMessageAt *time.Time
	// FirstContactText is the text of the contact's first message, and
	// FirstAgentText that of the first agent's; "" without one.
	FirstContactText, FirstAgentText string
}

// ReportCases returns the page of the account's cases on the channel that
// q selects, and how many match in all. q.From and q.To, both required,
// bound the start time to [From, To). The sort fields are the
// ReportCase… fields; the default order is by start time, oldest first.
//
// Neither a deep page nor the total reads the window row by row: without a
// filter the total is the per-day counts (case_day_counts) of the window's
// whole UTC days plus an exact count of its two partial edge days over
// the index, and a page in start-time order (either direction) starts
// from the day holding its first row, found from the same counts, skipping
// only rows of that day. With a filter the total is a COUNT bounded by
// the window, and the page an OFFSET bounded by MaxListOffset.
//
// It returns FieldErrors for a bad query (see planList) and for a missing
// "from" or "to".
func (s *Store) ReportCases(ctx context.Context, accountID int64, ch models.Channel, q ListQuery) ([]CaseReportRow, int64, error) {
	p, err := planList(reportCaseColumns, s.backend, q, ReportCaseStartedAt, "c.id")
	var fe FieldErrors
	if err != nil {
		fe = err.(FieldErrors)
	}
	if q.From.IsZero() {
		fe.AddReason(ReasonRequired, "from", nil, "is required")
	}
	if q.To.IsZero() {
		fe.AddReason(ReasonRequired, "to", nil, "is required")
	}
	if err := fe.Err(); err != nil {
		return nil, 0, err
	}
	from, to := q.From.UTC(), q.To.UTC()
	var rows []CaseReportRow
	var total int64
	err = s.readTx(ctx, func(tx *gorm.DB) error {
		if err := s.noJIT(tx); err != nil {
			return err
		}
		cond := "c.account_id = ? AND c.channel = ? AND c.started_at >= ? AND c.started_at < ?"
		args := []any{accountID, string(ch), from, to}
		if p.where != "" {
			cond += " AND " + p.where
			args = append(args, p.args...)
		}
		var err error
		if p.where == "" {
			total, err = windowTotal(tx, accountID, ch, from, to)
		} else {
			err = tx.Raw("SELECT COUNT(*) FROM "+reportCaseFrom+" WHERE "+cond, args...).Scan(&total).Error
		}
		if err != nil || int64(q.Offset) >= total {
			rows = []CaseReportRow{}
			return err
		}
		skip := int64(q.Offset)
		if p.where == "" && p.byTime {
			lo, hi, sk, err := windowStart(tx, accountID, ch, from, to, skip, p.desc)
			if err != nil {
				return err
			}
			skip = sk
			args[2], args[3] = lo, hi
		}
		rows, err = scanAll(tx.Raw("SELECT "+reportCaseSelect+" FROM "+reportCaseFrom+" WHERE "+cond+
			" ORDER BY "+p.order+" LIMIT ? OFFSET ?", append(args, q.Limit, skip)...), scanReportCase)
		if err != nil {
			return err
		}
		return reportCaseDetails(tx, accountID, ch, rows)
	})
	if err != nil {
		return nil, 0, wrap("report cases", err)
	}
	return rows, total, nil
}

// reportCaseSelect is what a case report reads of each row, in the order
// scanReportCase reads it.
const reportCaseSelect = `c.id, c.account_id, c.contact_id, c.channel, c.status, c.outcome, c.initiator, c.subject,
	c.assignee_id, c.unread, c.started_at, c.closed_at, c.closed_by, c.rating, c.last_message_id, c.last_message_at,
	c.last_customer_message_at, c.ext_id, c.site_id, c.campaign_id, c.visitor_session_id, c.form_name, c.uploaded,
	c.timeline_id, c.created_at, c.updated_at,
	ct.id, ct.account_id, ct.name, ct.email, ct.phone, ct.user_id, ct.created_at, ct.updated_at,
	COALESCE(s.domain, ''), COALESCE(cp.name, ''), vs.ext_id`

func scanReportCase(r rowScanner) (CaseReportRow, error) {
	var v CaseReportRow
	c, ct := &v.Case, &v.Contact
	err := r.Scan(&c.ID, &c.AccountID, &c.ContactID, &c.Channel, &c.Status, &c.Outcome, &c.Initiator, &c.Subject,
		&c.AssigneeID, &c.Unread, &c.StartedAt, &c.ClosedAt, &c.ClosedBy, &c.Rating, &c.LastMessageID, &c.LastMessageAt,
		&c.LastCustomerMessageAt, &c.ExtID, &c.SiteID, &c.CampaignID, &c.VisitorSessionID, &c.FormName, &c.Uploaded,
		&c.TimelineID, &c.CreatedAt, &c.UpdatedAt,
		&ct.ID, &ct.AccountID, &ct.Name, &ct.Email, &ct.Phone, &ct.UserID, &ct.CreatedAt, &ct.UpdatedAt,
		&v.SiteDomain, &v.CampaignName, &v.VisitorSessionExtID)
	return v, err
}

// reportCaseDetails adds to rows their assignees and message counts with
// one query each, and, for offline messages (a few messages a case), the
// first texts of the contact and of an agent.
func reportCaseDetails(tx *gorm.DB, accountID int64, ch models.Channel, rows []CaseReportRow) error {
	if len(rows) == 0 {
		return nil
	}
	at := map[int64]int{}
	var ids []int64
	agentIDs := map[int64]bool{}
	for i, r := range rows {
		rows[i].StartedAt = r.StartedAt.UTC()
		at[r.ID] = i
		ids = append(ids, r.ID)
		if r.AssigneeID != nil {
			agentIDs[*r.AssigneeID] = true
		}
	}
	if len(agentIDs) > 0 {
		agents, err := scanAll(tx.Raw(`SELECT `+agentFields+` FROM agents WHERE account_id = ? AND id IN ?`,
			accountID, sortedKeys(agentIDs)), scanAgent)
		if err != nil {
			return err
		}
		byID := map[int64]models.Agent{}
		for _, a := range agents {
			byID[a.ID] = a
		}
		for i, r := range rows {
			if r.AssigneeID != nil {
				if a, ok := byID[*r.AssigneeID]; ok {
					rows[i].Assignee = &a
				}
			}
		}
	}
	type stat struct {
		caseID int64
		sender models.Sender
		n      int64
		first  time.Time
	}
	for start := 0; start < len(ids); start += MaxInValues {
		part := ids[start:min(start+MaxInValues, len(ids))]
		stats, err := scanAll(tx.Raw(`SELECT case_id, sender, COUNT(*), MIN(created_at) FROM messages
			WHERE case_id IN ? AND kind = ? GROUP BY case_id, sender`, part, models.KindMessage), func(r rowScanner) (stat, error) {
			var s stat
			var first any
			if err := r.Scan(&s.caseID, &s.sender, &s.n, &first); err != nil {
				return s, err
			}
			t, err := timeValue(first)
			s.first = t
			return s, err
		})
		if err != nil {
			return err
		}
		for _, s := range stats {
			r := &rows[at[s.caseID]]
			r.Messages += s.n
			if s.sender == models.SenderAgent {
				r.AgentMessages = s.n
				first := s.first.UTC()
				r.FirstAgentMessageAt = &first
			}
		}
		if ch != models.ChannelOffline {
			continue
		}
		type text struct {
			caseID int64
			sender models.Sender
			text   string
		}
		texts, err := scanAll(tx.Raw(`SELECT case_id, sender, text FROM messages
			WHERE case_id IN ? AND kind = ? AND sender IN ? ORDER BY case_id, created_at, id`,
			part, models.KindMessage, []string{string(models.SenderContact), string(models.SenderAgent)}), func(r rowScanner) (text, error) {
			var t text
			return t, r.Scan(&t.caseID, &t.sender, &t.text)
		})
		if err != nil {
			return err
		}
		for _, t := range texts {
			r := &rows[at[t.caseID]]
			switch {
			case t.sender == models.SenderContact && r.FirstContactText == "":
				r.FirstContactText = t.text
			case t.sender == models.SenderAgent && r.FirstAgentText == "":
				r.FirstAgentText = t.text
			}
		}
	}
	return nil
}

// noJIT turns PostgreSQL's JIT compiler off for the rest of tx. A report's
// count over a period is costed high enough to be compiled, and compiling
// took longer than the count itself (BenchmarkReports: about 300 ms of a
// 30-day message report at 1M chats).
func (s *Store) noJIT(tx *gorm.DB) error {
	if s.backend != Postgres {
		return nil
	}
	return tx.Exec("SET LOCAL jit = off").Error
}

// timeValue reads an aggregate's time, which SQLite returns as text.
func timeValue(v any) (time.Time, error) {
	switch t := v.(type) {
	case time.Time:
		return t, nil
	case string:
		for _, layout := range []string{sqliteTimeLayout, time.RFC3339Nano, "2006-01-02 15:04:05.999999999"} {
			if p, err := time.Parse(layout, t); err == nil {
				return p, nil
			}
		}
	case []byte:
		return timeValue(string(t))
	}
	return time.Time{}, fmt.Errorf("aggregate time %v (%T) cannot be read", v, v)
}

// sortedKeys returns the keys of m in order.
func sortedKeys(m map[int64]bool) []int64 {
	out := make([]int64, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// dayStart returns the start of UTC day d.
func dayStart(d int64) time.Time { return time.Unix(d*secondsPerDay, 0).UTC() }

// windowTotal returns how many of the account's cases on the channel
// started in [from, to): the per-day counts of the whole UTC days inside,
// and the rows of the partial days at either edge counted over the index.
func windowTotal(tx *gorm.DB, accountID int64, ch models.Channel, from, to time.Time) (int64, error) {
	if !from.Before(to) {
		return 0, nil
	}
	first, last := dayOf(from), dayOf(to)
	if !dayStart(last).Before(to) {
		last-- // to is a UTC midnight: its day holds nothing of the window
	}
	// Whole days are (first, last), and first and last too when from and to
	// fall on their bounds.
	lo, hi := first+1, last
	var total int64
	count := func(a, b time.Time) error {
		var n int64
		err := tx.Raw(`SELECT COUNT(*) FROM cases WHERE account_id = ? AND channel = ? AND started_at >= ? AND started_at < ?`,
			accountID, string(ch), a, b).Scan(&n).Error
		total += n
		return err
	}
	if first == last {
		return total, count(from, to)
	}
	if dayStart(first).Equal(from) {
		lo = first
	} else if err := count(from, dayStart(first+1)); err != nil {
		return 0, err
	}
	if dayStart(last + 1).Equal(to) {
		hi = last + 1
	} else if err := count(dayStart(last), to); err != nil {
		return 0, err
	}
	if lo < hi {
		var n int64
		if err := tx.Raw(`SELECT COALESCE(SUM(n), 0) FROM case_day_counts WHERE account_id = ? AND channel = ? AND day >= ? AND day < ?`,
			accountID, string(ch), lo, hi).Scan(&n).Error; err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

// windowStart locates row offset of the account's cases on the channel
// started in [from, to), in start-time order (newest first when desc). It
// returns a narrower window [lo, hi) whose first rows in that order are
// the page's, after skip rows of one day at most: the edge days are
// counted over the index, the whole days between from case_day_counts.
func windowStart(tx *gorm.DB, accountID int64, ch models.Channel, from, to time.Time, offset int64, desc bool) (lo, hi time.Time, skip int64, err error) {
	lo, hi = from, to
	if offset == 0 {
		return lo, hi, 0, nil
	}
	// The edge day the walk starts from is counted exactly: its bound need
	// not be a UTC midnight.
	var edgeLo, edgeHi time.Time
	if desc {
		edgeLo, edgeHi = dayStart(dayOf(to)), to
		if !edgeLo.Before(to) {
			edgeLo = dayStart(dayOf(to) - 1)
		}
		edgeLo = later(edgeLo, from)
	} else {
		edgeLo, edgeHi = from, earlier(dayStart(dayOf(from)+1), to)
	}
	var n int64
	if err := tx.Raw(`SELECT COUNT(*) FROM cases WHERE account_id = ? AND channel = ? AND started_at >= ? AND started_at < ?`,
		accountID, string(ch), edgeLo, edgeHi).Scan(&n).Error; err != nil {
		return lo, hi, 0, err
	}
	if offset < n {
		return lo, hi, offset, nil
	}
	offset -= n
	if desc {
		hi = edgeLo
	} else {
		lo = edgeHi
	}
	if !lo.Before(hi) {
		return lo, hi, offset, nil
	}
	// Whole days from the walk's start to the far edge's day, which is
	// left to OFFSET (it may be partial).
	q := `SELECT day, n FROM case_day_counts WHERE account_id = ? AND channel = ? AND day >= ? AND day < ? AND n > 0 ORDER BY day`
	var a, b int64
	if desc {
		q += " DESC"
		a, b = dayOf(lo)+1, dayOf(hi)
		if dayStart(dayOf(lo)).Equal(lo) {
			a = dayOf(lo)
		}
	} else {
		a, b = dayOf(lo), dayOf(hi)
	}
	type dayN struct{ day, n int64 }
	days, err := scanAll(tx.Raw(q, accountID, string(ch), a, b), func(r rowScanner) (dayN, error) {
		var d dayN
		return d, r.Scan(&d.day, &d.n)
	})
	if err != nil {
		return lo, hi, 0, err
	}
	for _, d := range days {
		if offset < d.n {
			if desc {
				hi = dayStart(d.day + 1)
			} else {
				lo = dayStart(d.day)
			}
			return lo, hi, offset, nil
		}
		offset -= d.n
		if desc {
			hi = dayStart(d.day)
		} else {
			lo = dayStart(d.day + 1)
		}
	}
	return lo, hi, offset, nil
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// The fields a chat message report filters and sorts on
// (ReportChatMessages).
const (
	ReportMessageID        = "id"
	ReportMessageChatID    = "chat_id"
	ReportMessageAgentID   = "agent_id"
	ReportMessageSender    = "sender"
	ReportMessageCreatedAt = "created_at"
)

// reportMessageColumns maps the message report's fields to SQL over
// messages m.
var reportMessageColumns = map[string]column{
	ReportMessageID:        {"m.id", kindInt, false},
	ReportMessageChatID:    {"m.case_id", kindInt, false},
	ReportMessageAgentID:   {"m.agent_id", kindInt, true},
	ReportMessageSender:    {"m.sender", kindText, false},
	ReportMessageCreatedAt: {"m.created_at", kindTime, false},
}

// MessageReportRow is a chat message as a report lists it, with what it
// shows of its chat and its author.
type MessageReportRow struct {
	ID        int64
	ChatID    int64
	Sender    models.Sender
	AgentID   *int64
	Text      string
	CreatedAt time.Time
	// ContactID is the chat's contact; Uploaded says the chat came through
	// a bulk upload.
	ContactID int64
	Uploaded  bool
	Agent     *models.Agent
}

// MaxReportChats is the most chats one message report names.
const MaxReportChats = 1000

// ReportChatMessages returns the page of the messages of the account's
// chats that q selects (notes and events are not messages), and how many
// match in all: those of the chats chatIDs names (nil: of every chat), sent
// in [q.From, q.To) when the window is set. At least one of the two must
// bound the report: the total is a COUNT over the index of the window
// (idx_messages_account_time) or of the chats (idx_messages_case), and a
// deep page an OFFSET bounded by MaxListOffset. The default order is by
// time sent, oldest first. It returns FieldErrors for a bad query (see
// planList), "chat_ids" for more than MaxReportChats chats, and "from" when
// neither the window nor chats are given.
func (s *Store) ReportChatMessages(ctx context.Context, accountID int64, chatIDs []int64, q ListQuery) ([]MessageReportRow, int64, error) {
	p, err := planList(reportMessageColumns, s.backend, q, ReportMessageCreatedAt, "m.id")
	var fe FieldErrors
	if err != nil {
		fe = err.(FieldErrors)
	}
	if len(chatIDs) > MaxReportChats {
		fe.AddReason(ReasonTooMany, "chat_ids", len(chatIDs), "names at most %d chats, not %d", MaxReportChats, len(chatIDs))
	}
	if chatIDs == nil && (q.From.IsZero() || q.To.IsZero()) {
		fe.AddReason(ReasonRequired, "from", nil, "is required without chats")
	}
	if err := fe.Err(); err != nil {
		return nil, 0, err
	}
	// The chat test is a subquery on the case's key, not a join: a join
	// lets the planner hash every case of the account, where this reads
	// only the window's messages' cases.
	base := "m.account_id = ? AND m.kind = ? AND (SELECT c.channel FROM cases c WHERE c.id = m.case_id) = ?"
	args := []any{accountID, models.KindMessage, models.ChannelChat}
	if chatIDs != nil {
		base += " AND m.case_id IN ?"
		args = append(args, append([]int64{0}, chatIDs...))
	}
	if !q.From.IsZero() {
		base += " AND m.created_at >= ?"
		args = append(args, q.From.UTC())
	}
	if !q.To.IsZero() {
		base += " AND m.created_at < ?"
		args = append(args, q.To.UTC())
	}
	var rows []MessageReportRow
	var total int64
	err = s.readTx(ctx, func(tx *gorm.DB) error {
		if err := s.noJIT(tx); err != nil {
			return err
		}
		var err error
		rows, total, err = listPage(tx, listSource[MessageReportRow]{
			selects: `m.id, m.case_id, m.sender, m.agent_id, m.text, m.created_at,
				(SELECT c.contact_id FROM cases c WHERE c.id = m.case_id), (SELECT c.uploaded FROM cases c WHERE c.id = m.case_id)`,
			from: "messages m",
			base: base, args: args,
			scan: func(r rowScanner) (MessageReportRow, error) {
				var m MessageReportRow
				err := r.Scan(&m.ID, &m.ChatID, &m.Sender, &m.AgentID, &m.Text, &m.CreatedAt, &m.ContactID, &m.Uploaded)
				m.CreatedAt = m.CreatedAt.UTC()
				return m, err
			},
		}, p, q)
		if err != nil {
			return err
		}
		agentIDs := map[int64]bool{}
		for _, m := range rows {
			if m.AgentID != nil {
				agentIDs[*m.AgentID] = true
			}
		}
		if len(agentIDs) == 0 {
			return nil
		}
		agents, err := scanAll(tx.Raw(`SELECT `+agentFields+` FROM agents WHERE account_id = ? AND id IN ?`,
			accountID, sortedKeys(agentIDs)), scanAgent)
		if err != nil {
			return err
		}
		byID := map[int64]models.Agent{}
		for _, a := range agents {
			byID[a.ID] = a
		}
		for i, m := range rows {
			if m.AgentID != nil {
				if a, ok := byID[*m.AgentID]; ok {
					rows[i].Agent = &a
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, 0, wrap("report chat messages", err)
	}
	return rows, total, nil
}

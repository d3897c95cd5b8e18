package store

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"gorm.io/gorm"

	"switchboard/models"
)

// CaseView is a case with what every dialect shows beside it: its contact,
// its assignee, who closed it, its department, the agents taking part, and
// the text of its last message.
type CaseView struct {
	models.Case
	Contact    models.Contact
	Assignee   *models.Agent
	Closer     *models.Agent
	Department *models.Department
	// Agents are the case's assignee and every agent who wrote in it, by id.
	Agents          []models.Agent
	LastMessageText string
}

// The fields a case list filters and sorts on (CaseQuery).
const (
	CaseID                    = "id"
	CaseContactID             = "contact_id"
	CaseAssigneeID            = "assignee_id"
	CaseClosedBy              = "closed_by"
	CaseStatus                = "status"
	CaseChannel               = "channel"
	CaseRating                = "rating"
	CaseSubject               = "subject"
	CaseExtID                 = "ext_id"
	CaseVisitorSessionID      = "visitor_session_id"
	CaseStartedAt             = "started_at"
	CaseUpdatedAt             = "updated_at"
	CaseClosedAt              = "closed_at"
	CaseLastMessageAt         = "last_message_at"
	CaseLastCustomerMessageAt = "last_customer_message_at"
	CaseContactName           = "contact_name"
	CaseContactEmail          = "contact_email"
	CaseContactPhone          = "contact_phone"
)

// caseColumns maps the case fields to SQL over cases c joined to contacts ct.
var caseColumns = map[string]column{
	CaseID:                    {"c.id", kindInt, false},
	CaseContactID:             {"c.contact_id", kindInt, false},
	CaseAssigneeID:            {"c.assignee_id", kindInt, true},
	CaseClosedBy:              {"c.closed_by", kindInt, true},
	CaseStatus:                {"c.status", kindText, false},
	CaseChannel:               {"c.channel", kindText, false},
	CaseRating:                {"c.rating", kindText, true},
	CaseSubject:               {"c.subject", kindText, false},
	CaseExtID:                 {"c.ext_id", kindText, true},
	CaseVisitorSessionID:      {"c.visitor_session_id", kindInt, true},
	CaseStartedAt:             {"c.started_at", kindTime, false},
	CaseUpdatedAt:             {"c.updated_at", kindTime, false},
	CaseClosedAt:              {"c.closed_at", kindTime, true},
	CaseLastMessageAt:         {"c.last_message_at", kindTime, true},
	CaseLastCustomerMessageAt: {"c.last_customer_message_at", kindTime, true},
	CaseContactName:           {"ct.name", kindText, false},
	CaseContactEmail:          {"ct.email", kindText, false},
	CaseContactPhone:          {"ct.phone", kindText, false},
}

// CaseQuery selects and orders a page of an account's cases.
type CaseQuery struct {
	Filters []Filter
	// Any joins the filters with OR instead of AND.
	Any bool
	// Sort is the field to order by (default CaseStartedAt), newest or
	// largest first unless Asc; ties go by id in the same direction, and a
	// missing time sorts as the oldest (last, or first when Asc).
	Sort   string
	Asc    bool
	Offset int
	// Limit is 1 to MaxLimit rows.
	Limit int
}

// ListCases returns the page of the account's cases (of every channel) that q
// selects, and how many cases match in all: from the per-day counts when
// unfiltered, by counting the matches otherwise. The page is read from the
// nearer end of the list (see readPage), so paging by offset sees every case
// once while nothing is written. It returns FieldErrors for an unknown field,
// a value of the wrong type or a bad offset or limit.
func (s *Store) ListCases(ctx context.Context, accountID int64, q CaseQuery) ([]CaseView, int64, error) {
	if q.Sort == "" {
		q.Sort = CaseStartedAt
	}
	sortCol, cond, args, err := listSpec(caseColumns, q.Sort, q.Filters, q.Any, q.Offset, q.Limit)
	if err != nil {
		return nil, 0, err
	}
	var views []CaseView
	var total int64
	err = s.readTx(ctx, func(tx *gorm.DB) error {
		base := func() *gorm.DB {
			d := tx.Table("cases c").Where("c.account_id = ?", accountID)
			if cond != "" {
				d = d.Joins("JOIN contacts ct ON ct.id = c.contact_id").Where(cond, args...)
			}
			return d
		}
		var err error
		if cond == "" {
			// Every case counts: the per-day counts already hold the total.
			total, err = caseCount(tx, accountID)
		} else {
			err = base().Count(&total).Error
		}
		if err != nil {
			return err
		}
		var cases []models.Case
		if err := readPage(base().Select("c.*"), sortOrder{sortCol, "c.id", q.Asc}, total, int64(q.Offset), q.Limit, &cases); err != nil {
			return err
		}
		views, err = s.caseViews(tx, accountID, cases)
		return err
	})
	if err != nil {
		return nil, 0, wrap("list cases", err)
	}
	return views, total, nil
}

// Case returns one case of the account with its contact and agents, or
// ErrNotFound.
func (s *Store) Case(ctx context.Context, accountID, id int64) (CaseView, error) {
	var v CaseView
	err := s.readTx(ctx, func(tx *gorm.DB) error {
		var err error
		v, err = s.caseView(tx, accountID, id)
		return err
	})
	return v, wrap(fmt.Sprintf("case %d", id), err)
}

func (s *Store) caseView(tx *gorm.DB, accountID, id int64) (CaseView, error) {
	c, err := takeRow(tx.Raw(`SELECT `+caseFields+` FROM cases WHERE account_id = ? AND id = ?`, accountID, id), scanCase)
	if err != nil {
		return CaseView{}, notFoundOr(err, "case", id)
	}
	views, err := s.caseViews(tx, accountID, []models.Case{c})
	if err != nil {
		return CaseView{}, err
	}
	return views[0], nil
}

// caseViews loads the contacts, agents, departments and last messages of
// cases with one query each, however many cases there are.
func (s *Store) caseViews(tx *gorm.DB, accountID int64, cases []models.Case) ([]CaseView, error) {
	views := make([]CaseView, len(cases))
	if len(cases) == 0 {
		return views, nil
	}
	var caseIDs, contactIDs, lastIDs, departmentIDs []int64
	agentIDs := map[int64]bool{}
	for _, c := range cases {
		caseIDs = append(caseIDs, c.ID)
		contactIDs = append(contactIDs, c.ContactID)
		if c.DepartmentID != nil {
			departmentIDs = append(departmentIDs, *c.DepartmentID)
		}
		if c.LastMessageID != nil {
			lastIDs = append(lastIDs, *c.LastMessageID)
		}
		for _, id := range []*int64{c.AssigneeID, c.ClosedBy} {
			if id != nil {
				agentIDs[*id] = true
			}
		}
	}
	contacts, err := scanAll(tx.Raw(`SELECT `+contactFields+` FROM contacts WHERE `+inAccountByIDs, accountID, contactIDs), scanContact)
	if err != nil {
		return nil, err
	}
	// case_agents holds each (case, agent who wrote in it) once: the read
	// costs the same however many messages the cases have. The writers and
	// the other agents the cases name (assignees, closers) come in one
	// statement, the others with case id 0, which no case has.
	type writer struct{ CaseID, AgentID int64 }
	var writers []writer
	q := `SELECT ca.case_id, ` + qualifiedAgentFields + ` FROM case_agents ca JOIN agents a ON a.id = ca.agent_id
		WHERE ca.case_id IN ? AND a.account_id = ?`
	args := []any{caseIDs, accountID}
	if len(agentIDs) > 0 {
		q += ` UNION ALL SELECT 0, ` + qualifiedAgentFields + ` FROM agents a WHERE a.account_id = ? AND a.id IN ?`
		args = append(args, accountID, keys(agentIDs))
	}
	type caseAgent struct {
		caseID int64
		agent  models.Agent
	}
	rows, err := scanAll(tx.Raw(q, args...), func(r rowScanner) (caseAgent, error) {
		var ca caseAgent
		var err error
		ca.agent, err = scanAgent(scanFirst{r, &ca.caseID})
		return ca, err
	})
	if err != nil {
		return nil, err
	}
	agents := map[int64]models.Agent{}
	for _, r := range rows {
		agents[r.agent.ID] = r.agent
		if r.caseID != 0 {
			writers = append(writers, writer{r.caseID, r.agent.ID})
		}
	}
	lastText := map[int64]string{}
	if len(lastIDs) > 0 {
		type last struct {
			ID   int64
			Text string
		}
		rows, err := scanAll(tx.Raw(`SELECT id, text FROM messages WHERE `+inAccountByIDs, accountID, lastIDs),
			func(r rowScanner) (last, error) {
				var l last
				return l, r.Scan(&l.ID, &l.Text)
			})
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			lastText[r.ID] = r.Text
		}
	}
	departments, err := caseDepartments(tx, accountID, departmentIDs)
	if err != nil {
		return nil, err
	}
	byContact := map[int64]models.Contact{}
	for _, ct := range contacts {
		byContact[ct.ID] = ct
	}
	writersOf := map[int64][]int64{}
	for _, w := range writers {
		writersOf[w.CaseID] = append(writersOf[w.CaseID], w.AgentID)
	}
	agentPtr := func(id *int64) *models.Agent {
		if id == nil {
			return nil
		}
		if a, ok := agents[*id]; ok {
			return &a
		}
		return nil
	}
	for i, c := range cases {
		c.StartedAt = c.StartedAt.UTC()
		v := CaseView{Case: c, Contact: byContact[c.ContactID], Assignee: agentPtr(c.AssigneeID), Closer: agentPtr(c.ClosedBy),
			Department: departments.of(c.DepartmentID)}
		ids := writersOf[c.ID]
		if c.AssigneeID != nil {
			ids = append(ids, *c.AssigneeID)
		}
		slices.Sort(ids)
		for _, id := range slices.Compact(ids) {
			if a, ok := agents[id]; ok {
				v.Agents = append(v.Agents, a)
			}
		}
		if c.LastMessageID != nil {
			v.LastMessageText = lastText[*c.LastMessageID]
		}
		views[i] = v
	}
	return views, nil
}

// NewCase is the input of CreateCase: a conversation opened by an API client.
type NewCase struct {
	ContactID int64
	// Channel defaults to chat.
	Channel models.Channel
	// AssigneeID, when set, must be an agent of the account.
	AssigneeID *int64
	// DepartmentID, when set, must be a department of the account.
	DepartmentID *int64
	Subject      string
	// Initiator says who started it (default models.InitiatorAgent).
	Initiator models.Initiator
}

// CreateCase creates a case with no messages yet, in status new. It returns
// ErrNotFound when the contact, assignee or department is not the account's
// (a NotFoundError naming the first of them that is not), and
// FieldErrors for an unknown channel or initiator or a subject that is not one line of at
// most models.MaxSubjectBytes.
func (s *Store) CreateCase(ctx context.Context, accountID int64, in NewCase) (CaseView, error) {
	if in.Channel == "" {
		in.Channel = models.ChannelChat
	}
	if in.Initiator == "" {
		in.Initiator = models.InitiatorAgent
	}
	var fe FieldErrors
	if !in.Channel.Valid() {
		fe.Add("channel", "%q is not one of chat, email, sms, offline", in.Channel)
	}
	if !in.Initiator.Valid() {
		fe.Add("initiator", "%q is not one of contact, agent, system, invite", in.Initiator)
	}
	checkSubject(&fe, "subject", in.Subject)
	if err := fe.Err(); err != nil {
		return CaseView{}, err
	}
	var v CaseView
	err := s.write(ctx, s.db, func(tx *gorm.DB) error {
		if err := owned(tx, &models.Contact{}, "contact", accountID, in.ContactID); err != nil {
			return err
		}
		if in.AssigneeID != nil {
			if err := owned(tx, &models.Agent{}, "agent", accountID, *in.AssigneeID); err != nil {
				return err
			}
		}
		if in.DepartmentID != nil {
			if err := owned(tx, &models.Department{}, "department", accountID, *in.DepartmentID); err != nil {
				return err
			}
		}
		timeline, err := s.newTimelineID(tx)
		if err != nil {
			return err
		}
		now := s.now()
		c := models.Case{
			AccountID: accountID, ContactID: in.ContactID, Channel: in.Channel, Status: models.StatusNew,
			Initiator: in.Initiator, Subject: strings.TrimSpace(in.Subject), AssigneeID: in.AssigneeID,
			DepartmentID: in.DepartmentID, TimelineID: timeline, StartedAt: now, CreatedAt: now, UpdatedAt: now,
		}
		if err := tx.Create(&c).Error; err != nil {
			return err
		}
		counts := dayDeltas{}
		counts.add(accountID, c.Channel, c.StartedAt, 1)
		counts.addAssignee(accountID, c.Channel, c.AssigneeID, c.StartedAt, 1)
		if err := counts.save(tx); err != nil {
			return err
		}
		if v, err = s.caseView(tx, accountID, c.ID); err != nil {
			return err
		}
		return s.appendEvents(tx, caseCreated(c))
	})
	return v, wrap("create case", err)
}

// SetCaseStatus moves a case to status. Closing records the time and, when by
// is set, the agent who closed it; any other status reopens a closed case.
// Any status but on hold ends a snooze (see SnoozeCase). It
// returns ErrNotFound for a case (or agent) that is not the account's and
// FieldErrors for an unknown status.
func (s *Store) SetCaseStatus(ctx context.Context, accountID, id int64, status models.CaseStatus, by *int64) (CaseView, error) {
	if !status.Valid() {
		return CaseView{}, FieldErrors{{Field: "status", Message: fmt.Sprintf("%q is not one of new, open, pending, on_hold, closed", status)}}
	}
	var v CaseView
	err := s.write(ctx, s.db, func(tx *gorm.DB) error {
		c, err := lockCase(tx, s.backend, accountID, id)
		if err != nil {
			return err
		}
		now := s.now()
		set := map[string]any{"status": status, "updated_at": now}
		if status != models.StatusOnHold {
			set["snoozed_until"] = nil
		}
		switch {
		case status == models.StatusClosed && c.Status != models.StatusClosed:
			if by != nil {
				if err := owned(tx, &models.Agent{}, "agent", accountID, *by); err != nil {
					return err
				}
			}
			set["closed_at"], set["closed_by"] = now, by
		case status != models.StatusClosed:
			set["closed_at"], set["closed_by"] = nil, nil
		}
		if err := tx.Model(&models.Case{}).Where("id = ?", id).Updates(set).Error; err != nil {
			return err
		}
		if v, err = s.caseView(tx, accountID, id); err != nil {
			return err
		}
		return s.appendEvents(tx, statusEvents(nil, c, c.Status, status, by)...)
	})
	return v, wrap(fmt.Sprintf("set status of case %d", id), err)
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

// timelines names the counter of the cases' timeline ids for reserveIDs:
// the sequence timelines_id_seq on PostgreSQL, the AUTOINCREMENT counter of
// the empty table timelines on SQLite (migration 0013).
const timelines = "timelines"

// newTimelineID returns a new timeline id for a case that tx writes, or the
// database's error. No other case gets it, even when tx rolls back.
func (s *Store) newTimelineID(tx *gorm.DB) (int64, error) {
	if s.backend == Postgres {
		var id int64
		err := tx.Raw(`SELECT nextval('` + timelines + `_id_seq')`).Scan(&id).Error
		return id, err
	}
	ids, err := insertWriter{}.reserveIDs(tx, []idRequest{{timelines, 1}})
	if err != nil {
		return 0, err
	}
	return ids[0][0], nil
}

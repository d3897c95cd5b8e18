package store

import (
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"switchboard/models"
)

// The hot paths of the API (adding a message, sending an email or SMS,
// reading a case back) read and write their rows with explicit column lists
// scanned by position rather than through GORM's reflection over the model:
// make bench measured GORM's model scan and INSERT building at about a tenth
// of a millisecond per statement on this kind of machine, more than the
// database spends on most of these statements. TestColumns_MatchModels keeps
// every list equal to its model's columns, in order.

// inAccountByIDs is the condition of a read of an account's rows by their
// ids, in tables that grow fast (cases, contacts, messages); its arguments
// are the account id, then the ids. The "+ 0" keeps the account's indexes
// out of the plan, so the rows are found by their primary keys, a probe
// each. Without it a planner whose statistics lag behind the table (any
// table that grows faster than autovacuum analyzes it) can take the
// account's index and filter all of its rows by id: make bench caught the
// webhook worker's claims reading 14,000 messages to find 50.
const inAccountByIDs = "account_id + 0 = ? AND id IN ?"

// rowScanner is a *sql.Row or *sql.Rows.
type rowScanner interface {
	Scan(dest ...any) error
}

// caseFields are the columns of models.Case in the order scanCase reads.
const caseFields = `id, account_id, contact_id, channel, status, outcome, initiator, subject, assignee_id, unread,
	started_at, closed_at, closed_by, rating, last_message_id, last_message_at, last_customer_message_at, ext_id,
	site_id, campaign_id, visitor_session_id, form_name, uploaded, timeline_id, department_id, snoozed_until, created_at, updated_at`

// qualifiedCaseFields are caseFields of the cases table named c.
const qualifiedCaseFields = `c.id, c.account_id, c.contact_id, c.channel, c.status, c.outcome, c.initiator, c.subject,
	c.assignee_id, c.unread, c.started_at, c.closed_at, c.closed_by, c.rating, c.last_message_id, c.last_message_at,
	c.last_customer_message_at, c.ext_id, c.site_id, c.campaign_id, c.visitor_session_id, c.form_name, c.uploaded,
	c.timeline_id, c.department_id, c.snoozed_until, c.created_at, c.updated_at`

func scanCase(r rowScanner) (models.Case, error) {
	var c models.Case
	err := r.Scan(&c.ID, &c.AccountID, &c.ContactID, &c.Channel, &c.Status, &c.Outcome, &c.Initiator, &c.Subject,
		&c.AssigneeID, &c.Unread, &c.StartedAt, &c.ClosedAt, &c.ClosedBy, &c.Rating, &c.LastMessageID, &c.LastMessageAt,
		&c.LastCustomerMessageAt, &c.ExtID, &c.SiteID, &c.CampaignID, &c.VisitorSessionID, &c.FormName, &c.Uploaded,
		&c.TimelineID, &c.DepartmentID, &c.SnoozedUntil, &c.CreatedAt, &c.UpdatedAt)
	return c, err
}

// agentFields are the columns of models.Agent in the order scanAgent reads.
const agentFields = `id, account_id, email, password_hash, first_name, last_name, phone, role, enabled, designation,
	concurrent_chat_limit, last_login_at, created_at, updated_at`

func scanAgent(r rowScanner) (models.Agent, error) {
	var a models.Agent
	err := r.Scan(&a.ID, &a.AccountID, &a.Email, &a.PasswordHash, &a.FirstName, &a.LastName, &a.Phone, &a.Role,
		&a.Enabled, &a.Designation, &a.ConcurrentChatLimit, &a.LastLoginAt, &a.CreatedAt, &a.UpdatedAt)
	return a, err
}

// contactFields are the columns of models.Contact in the order scanContact
// reads.
const contactFields = `id, account_id, name, email, phone, user_id, created_at, updated_at`

func scanContact(r rowScanner) (models.Contact, error) {
	var c models.Contact
	err := r.Scan(&c.ID, &c.AccountID, &c.Name, &c.Email, &c.Phone, &c.UserID, &c.CreatedAt, &c.UpdatedAt)
	return c, err
}

// onSQLite returns the connection (inside a transaction, the transaction)
// tx's statements run on and whether it is SQLite's. The writes that every
// chat message makes send their statements straight to it there: SQLite
// takes GORM's ? placeholders as they are, and GORM's clause building and
// callbacks cost about as much per statement as SQLite's own work, all of
// it while the one writer holds the database (make bench, issue 22). On
// PostgreSQL GORM rewrites the placeholders, so the statements go through
// it (or through a pipe).
func onSQLite(tx *gorm.DB) (gorm.ConnPool, bool) {
	return tx.Statement.ConnPool, tx.Dialector.Name() == "sqlite"
}

// execIn runs the statement q (? placeholders) in tx, straight on SQLite's
// connection (onSQLite), and returns the database's error as GORM would
// translate it.
func execIn(tx *gorm.DB, q string, args ...any) error {
	if c, ok := onSQLite(tx); ok {
		begin := time.Now()
		res, err := c.ExecContext(tx.Statement.Context, q, args...)
		var n int64
		if err == nil {
			n, _ = res.RowsAffected()
		}
		trace(tx, begin, q, n, err)
		return translate(tx, err)
	}
	return tx.Exec(q, args...).Error
}

// trace reports a statement run past GORM (onSQLite) to tx's logger as GORM
// reports its own, so that the slow-query log and the failed-query log see
// it too. The statement is reported with its placeholders, not its values.
func trace(tx *gorm.DB, begin time.Time, q string, rows int64, err error) {
	tx.Logger.Trace(tx.Statement.Context, begin, func() (string, int64) { return q, rows }, err)
}

// rowIn reads the one row the query q (? placeholders) selects in tx with
// scan, straight on SQLite's connection (onSQLite). It returns
// gorm.ErrRecordNotFound when there is none, as takeRow does, and the
// database's error as GORM would translate it.
func rowIn[T any](tx *gorm.DB, scan func(rowScanner) (T, error), q string, args ...any) (T, error) {
	c, ok := onSQLite(tx)
	if !ok {
		v, err := takeRow(tx.Raw(q, args...), scan)
		return v, translate(tx, err)
	}
	begin := time.Now()
	v, err := scan(c.QueryRowContext(tx.Statement.Context, q, args...))
	var n int64
	switch {
	case err == nil:
		n = 1
	case errors.Is(err, sql.ErrNoRows):
		err = gorm.ErrRecordNotFound
	default:
		err = translate(tx, err)
	}
	trace(tx, begin, q, n, err)
	return v, err
}

// takeRow reads the one row q selects with scan. It returns a gorm
// ErrRecordNotFound when there is none, so that notFoundOr names it as Take's
// callers expect.
func takeRow[T any](q *gorm.DB, scan func(rowScanner) (T, error)) (T, error) {
	row := q.Row()
	if row == nil {
		var zero T
		if q.Error == nil {
			return zero, errors.New("no statement to read a row from")
		}
		return zero, q.Error
	}
	v, err := scan(row)
	if errors.Is(err, sql.ErrNoRows) {
		err = gorm.ErrRecordNotFound
	}
	return v, err
}

// scanAll reads every row q selects with scan and closes the rows. It
// returns an empty slice, not nil, when there are none, so that a list
// answers [] rather than null.
func scanAll[T any](q *gorm.DB, scan func(rowScanner) (T, error)) ([]T, error) {
	rows, err := q.Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// messageInsertFields are the columns of models.Message but its id, in the
// order insertMessage writes them.
const messageInsertFields = `account_id, case_id, sender, agent_id, kind, text, markdown, lang, email_from, email_to,
	email_cc, email_bcc, email_subject, html_body, html_original, source_ref, sms_from, sms_to, read, edited,
	delivery_status, delivered_at, failed_at, fail_reason, created_at, updated_at`

// insertMessage writes m as a new row and sets its ID. It returns
// ErrConflict when the account has a message of m's SourceRef already (a
// concurrent arrival of the same email or SMS committed first).
func insertMessage(tx *gorm.DB, m *models.Message) error {
	q, args := messageInsert(m, false)
	id, err := rowIn(tx, scanID, q+` RETURNING id`, args...)
	m.ID = id
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return fmt.Errorf("message %q: %w", m.SourceRef, ErrConflict)
	}
	return err
}

// messageInsert returns the INSERT of m as a new row, with its ID when
// withID (an id the caller took from the sequence), and its arguments.
func messageInsert(m *models.Message, withID bool) (string, []any) {
	args := []any{m.AccountID, m.CaseID, m.Sender, m.AgentID, m.Kind, m.Text, m.Markdown, m.Lang, m.EmailFrom, m.EmailTo,
		m.EmailCc, m.EmailBcc, m.EmailSubject, m.HTMLBody, m.HTMLOriginal, m.SourceRef, m.SMSFrom, m.SMSTo, m.Read, m.Edited,
		m.DeliveryStatus, m.DeliveredAt, m.FailedAt, m.FailReason, m.CreatedAt, m.UpdatedAt}
	if withID {
		return `INSERT INTO messages (id, ` + messageInsertFields + `)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, append([]any{m.ID}, args...)
	}
	return `INSERT INTO messages (` + messageInsertFields + `)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args
}

// scanID reads a row of one integer, an id or a number.
func scanID(r rowScanner) (int64, error) {
	var id int64
	err := r.Scan(&id)
	return id, err
}

// caseUpdate returns the UPDATE that sets the columns of set (names the
// store chose, never input) on the case, in name order so that each set of
// columns is one statement text, and its arguments. It is the explicit form
// of GORM's Updates(map), which costs a reflective pass over the model.
func caseUpdate(caseID int64, set map[string]any) (string, []any) {
	cols := make([]string, 0, len(set))
	for col := range set {
		cols = append(cols, col)
	}
	slices.Sort(cols)
	var q strings.Builder
	args := make([]any, 0, len(cols)+1)
	q.WriteString("UPDATE cases SET ")
	for i, col := range cols {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString(col + " = ?")
		args = append(args, set[col])
	}
	q.WriteString(" WHERE id = ?")
	return q.String(), append(args, caseID)
}

// lockedCase is what lockCaseForMessage reads in one statement.
type lockedCase struct {
	models.Case
	// Agent is the agent asked for, nil when none was or the account has
	// no agent of that id.
	Agent *models.Agent
	// NextMessageID is the id the message will take, on PostgreSQL when
	// asked for; 0 otherwise.
	NextMessageID int64
}

// lockCaseForMessage reads and locks the case as lockCase does and, in the
// same statement (one round trip instead of two or three), the account's
// agent agentID names, if any, and on PostgreSQL with nextID the next id of
// the messages' sequence: taken once the case's row is locked, so that the
// messages of a case take ids in the order their writers held it. It returns
// ErrNotFound for another account's case; a missing agent is a nil Agent.
func lockCaseForMessage(tx *gorm.DB, backend Backend, accountID, caseID int64, agentID *int64, nextID bool) (lockedCase, error) {
	q, args := lockCaseForMessageQuery(backend, accountID, caseID, agentID, nextID)
	l, err := rowIn(tx, scanLockedCase, q, args...)
	if err != nil {
		return l, notFoundOr(err, "case", caseID)
	}
	return l, nil
}

// lockCaseForMessageQuery returns lockCaseForMessage's statement and its
// arguments; scanLockedCase reads its row.
func lockCaseForMessageQuery(backend Backend, accountID, caseID int64, agentID *int64, nextID bool) (string, []any) {
	lock, next := "", "0"
	if backend == Postgres {
		lock = " FOR UPDATE"
		if nextID {
			next = "nextval('messages_id_seq')"
		}
	}
	if backend == SQLite {
		// A plain join: the write transaction already holds the file,
		// and SQLite parses and plans each statement on every call,
		// where flattening the subquery below cost more than the read.
		return `SELECT ` + qualifiedCaseFields + `, ` + qualifiedAgentFields + `, 0
			FROM cases c LEFT JOIN agents a ON a.account_id = ? AND a.id = ?
			WHERE c.account_id = ? AND c.id = ?`, []any{accountID, agentID, accountID, caseID}
	}
	// The locked case is a subquery, which PostgreSQL neither flattens nor
	// projects before it holds the row: the agent's join and nextval come
	// after the lock.
	return `SELECT c.*, ` + qualifiedAgentFields + `, ` + next + `
		FROM (SELECT ` + caseFields + ` FROM cases WHERE account_id = ? AND id = ?` + lock + `) c
		LEFT JOIN agents a ON a.account_id = ? AND a.id = ?`, []any{accountID, caseID, accountID, agentID}
}

// scanLockedCase reads a row of lockCaseForMessageQuery.
func scanLockedCase(r rowScanner) (lockedCase, error) {
	var a models.Agent
	var id, acct *int64
	var email, hash, first, last, phone, designation *string
	var role *models.Role
	var enabled *bool
	var limit *int
	var created, updated *time.Time
	var l lockedCase
	var err error
	l.Case, err = scanCase(scanMore{r, []any{&id, &acct, &email, &hash, &first, &last, &phone, &role, &enabled, &designation,
		&limit, &a.LastLoginAt, &created, &updated, &l.NextMessageID}})
	if err != nil {
		return l, err
	}
	if id != nil {
		a.ID, a.AccountID, a.Email, a.PasswordHash, a.FirstName, a.LastName, a.Phone = *id, *acct, *email, *hash, *first, *last, *phone
		a.Role, a.Enabled, a.Designation, a.ConcurrentChatLimit, a.CreatedAt, a.UpdatedAt = *role, *enabled, *designation, *limit, *created, *updated
		l.Agent = &a
	}
	return l, nil
}

// qualifiedAgentFields are agentFields of the agents table named a.
const qualifiedAgentFields = `a.id, a.account_id, a.email, a.password_hash, a.first_name, a.last_name, a.phone, a.role,
	a.enabled, a.designation, a.concurrent_chat_limit, a.last_login_at, a.created_at, a.updated_at`

// scanMore scans a row into the destinations a scan function gives and then
// into more: columns selected after a model's.
type scanMore struct {
	r    rowScanner
	more []any
}

func (s scanMore) Scan(dest ...any) error {
	return s.r.Scan(append(dest, s.more...)...)
}

// scanFirst scans a row into first and then into the destinations a scan
// function gives: a column selected before a model's.
type scanFirst struct {
	r     rowScanner
	first any
}

func (s scanFirst) Scan(dest ...any) error {
	return s.r.Scan(append([]any{s.first}, dest...)...)
}

// translate turns a driver's error of a statement run outside GORM's own
// callbacks (Row().Scan) into GORM's, as TranslateError does for the rest:
// a unique violation becomes gorm.ErrDuplicatedKey.
func translate(tx *gorm.DB, err error) error {
	if t, ok := tx.Dialector.(gorm.ErrorTranslator); ok && err != nil {
		return t.Translate(err)
	}
	return err
}

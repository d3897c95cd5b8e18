package store

import (
	"database/sql"
	"errors"

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

// rowScanner is a *sql.Row or *sql.Rows.
type rowScanner interface {
	Scan(dest ...any) error
}

// caseFields are the columns of models.Case in the order scanCase reads.
const caseFields = `id, account_id, contact_id, channel, status, outcome, initiator, subject, assignee_id, unread,
	started_at, closed_at, closed_by, rating, last_message_id, last_message_at, last_customer_message_at, ext_id,
	site_id, campaign_id, visitor_session_id, form_name, uploaded, timeline_id, department_id, snoozed_until, created_at, updated_at`

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

// agentByID reads the account's agent with the id; ErrRecordNotFound when
// there is none.
func agentByID(tx *gorm.DB, accountID, id int64) (models.Agent, error) {
	return takeRow(tx.Raw(`SELECT `+agentFields+` FROM agents WHERE account_id = ? AND id = ?`, accountID, id), scanAgent)
}

// messageInsertFields are the columns of models.Message but its id, in the
// order insertMessage writes them.
const messageInsertFields = `account_id, case_id, sender, agent_id, kind, text, markdown, lang, email_from, email_to,
	email_cc, email_bcc, email_subject, html_body, html_original, source_ref, sms_from, sms_to, read, edited,
	delivery_status, delivered_at, failed_at, fail_reason, created_at, updated_at`

// insertMessage writes m as a new row and sets its ID.
func insertMessage(tx *gorm.DB, m *models.Message) error {
	err := tx.Raw(`INSERT INTO messages (`+messageInsertFields+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		m.AccountID, m.CaseID, m.Sender, m.AgentID, m.Kind, m.Text, m.Markdown, m.Lang, m.EmailFrom, m.EmailTo,
		m.EmailCc, m.EmailBcc, m.EmailSubject, m.HTMLBody, m.HTMLOriginal, m.SourceRef, m.SMSFrom, m.SMSTo, m.Read, m.Edited, m.DeliveryStatus, m.DeliveredAt,
		m.FailedAt, m.FailReason, m.CreatedAt, m.UpdatedAt).Row().Scan(&m.ID)
	return translate(tx, err)
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

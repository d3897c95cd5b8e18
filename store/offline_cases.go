package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"switchboard/models"
)

// OfflineCase is an offline-message case as a list shows it: the case, its
// contact, the visitor's first message and the number of replies (the
// agents' messages and the visitor's later ones).
type OfflineCase struct {
	ID           int64
	ContactID    int64
	ContactName  string
	ContactEmail string
	ContactPhone string
	Subject      string
	Message      string
	ReceivedAt   time.Time
	Unread       bool
	ReplyCount   int64
}

// Reply is an agent's message in an offline-message case, with its author,
// or a later message of the visitor's (AgentID 0, the visitor's name and
// email).
type Reply struct {
	Text      string
	At        time.Time
	AgentID   int64
	FirstName string
	LastName  string
	Email     string
}

// OfflineCaseDetail is one offline case with its replies, newest first.
type OfflineCaseDetail struct {
	OfflineCase
	Replies []Reply
}

// offlineColumns selects an offline case from cases c joined to contacts ct
// and, left, to its facts f and the visitor's first message fm. A reply is
// an agent's message or a later one of the visitor's (notes and events are
// not replies); the message is the visitor's first one. case_facts keeps
// both on every write of the case's messages (migration 0023), so a page
// costs no pass over any case's messages. scanOfflineCase reads them in
// this order.
const offlineColumns = `c.id, c.contact_id, ct.name AS contact_name, ct.email AS contact_email,
	ct.phone AS contact_phone, c.subject, c.started_at AS received_at, c.unread,
	COALESCE(fm.text, '') AS message, COALESCE(f.reply_count, 0) AS reply_count`

// offlineJoins are the tables offlineColumns reads, after cases c.
const offlineJoins = ` JOIN contacts ct ON ct.id = c.contact_id LEFT JOIN case_facts f ON f.case_id = c.id
	LEFT JOIN messages fm ON fm.id = f.contact_message_id`

// scanOfflineCase reads one row of a query selecting offlineColumns.
// Scanning by position, not through GORM's reflection, is measurably
// cheaper on the busiest list page (make bench).
func scanOfflineCase(r rowScanner) (OfflineCase, error) {
	var m OfflineCase
	err := r.Scan(&m.ID, &m.ContactID, &m.ContactName, &m.ContactEmail, &m.ContactPhone, &m.Subject,
		&m.ReceivedAt, &m.Unread, &m.Message, &m.ReplyCount)
	m.ReceivedAt = m.ReceivedAt.UTC()
	return m, err
}

// ListOfflineCases returns page (1-based) of the account's offline
// messages, size per page, newest first by received time and then id. A page
// past the end is empty, not an error. It returns FieldErrors for a page
// below 1 or a size outside 1..MaxLimit.
//
// The page size is written into the SQL as a literal rather than bound:
// PostgreSQL plans a statement with a bound LIMIT for its values on every
// call (its generic plan must assume any limit), about twice what running
// the page costs, while with a literal one the connection's prepared
// statement keeps one plan. A size is one of a few configured values, so
// the statements stay few.
func (s *Store) ListOfflineCases(ctx context.Context, accountID, page int64, size int) ([]OfflineCase, error) {
	offset, ok, err := pageOffset(page, size)
	if err != nil || !ok {
		return []OfflineCase{}, err
	}
	limit := strconv.Itoa(size)
	if offset == 0 {
		// Page 1 is a plain keyset read down the list index, one
		// statement (one snapshot, no transaction's round trips); its
		// subqueries run for the page's rows alone.
		rows, err := scanAll(s.db.WithContext(ctx).Raw(`SELECT `+offlineColumns+`
			FROM cases c`+offlineJoins+`
			WHERE c.account_id = ? AND c.channel = '`+string(models.ChannelOffline)+`'
			ORDER BY c.started_at DESC, c.id DESC LIMIT `+limit, accountID), scanOfflineCase)
		if err != nil {
			return nil, wrap("list offline cases", err)
		}
		return rows, nil
	}
	if s.backend == Postgres {
		return s.deepOfflinePage(ctx, accountID, offset, limit)
	}
	// On SQLite (in the process: no round trips to save) a deep page is
	// two statements and no transaction: the day counts, then the page. A
	// transaction would cost its BEGIN and COMMIT for one snapshot of
	// both, and a case written between the two only shifts the page by its
	// row, as one written between two pages' requests does.
	db := s.db.WithContext(ctx)
	d, ok, err := pageStart(db, accountID, models.ChannelOffline, offset)
	if err != nil || !ok {
		return []OfflineCase{}, wrap("list offline cases", err)
	}
	// The ids first: OFFSET skips rows of the index alone, and the joins
	// run for the page's rows only. A page that lies within its day, nearer
	// the day's oldest row than its newest, is read from that end: the
	// rows skipped are then at most half the day's.
	// The account and the day are literals (see sqlInt), the rows to skip
	// a parameter.
	where := `account_id = ` + sqlInt(accountID) + ` AND channel = '` + string(models.ChannelOffline) + `'`
	ids := `SELECT id FROM cases WHERE ` + where + ` AND started_at < ` + sqliteTime(d.end) + `
			ORDER BY started_at DESC, id DESC LIMIT ` + limit + ` OFFSET ?`
	args := []any{d.skip}
	if from := d.n - d.skip - int64(size); from >= 0 && from < d.skip {
		ids = `SELECT id FROM cases WHERE ` + where + ` AND started_at >= ` + sqliteTime(d.end.Add(-secondsPerDay*time.Second)) +
			` AND started_at < ` + sqliteTime(d.end) + ` ORDER BY started_at, id LIMIT ` + limit + ` OFFSET ?`
		args = []any{from}
	}
	rows, err := scanAll(db.Raw(`SELECT `+offlineColumns+`
		FROM (`+ids+`) p
		JOIN cases c ON c.id = p.id`+offlineJoins+`
		ORDER BY c.started_at DESC, c.id DESC`, args...), scanOfflineCase)
	if err != nil {
		return nil, wrap("list offline cases", err)
	}
	return rows, nil
}

// deepOfflinePage is ListOfflineCases past page 1 on PostgreSQL: one
// statement. The day counts' running sum finds the UTC day holding row
// offset and the rows of it to skip; the page is then read down the list
// index from that day's end, and the joins run for its rows alone.
//
// The day and the skip reach the page's scan as InitPlan values, which no
// plan knows in advance: PostgreSQL then keeps the connection's prepared
// statement on one generic plan. With the skip bound as a parameter it
// planned every call for its value instead, which took longer than
// running the page (0.85 ms against 0.57 ms at 1M cases; issue 22).
// It returns the page's rows, none past the last case (the day is then
// NULL), or the database's error.
func (s *Store) deepOfflinePage(ctx context.Context, accountID, offset int64, limit string) ([]OfflineCase, error) {
	rows, err := scanAll(s.db.WithContext(ctx).Raw(`WITH start AS (
			SELECT day, ? - (upto - n) AS skip FROM (
				SELECT day, n, sum(n) OVER (ORDER BY day DESC ROWS UNBOUNDED PRECEDING) AS upto FROM case_day_counts
				WHERE account_id = ? AND channel = '`+string(models.ChannelOffline)+`' AND n > 0) d
			WHERE upto > ? ORDER BY day DESC LIMIT 1)
		SELECT `+offlineColumns+`
		FROM (SELECT id FROM cases WHERE account_id = ? AND channel = '`+string(models.ChannelOffline)+`'
				AND started_at < (SELECT to_timestamp((day + 1) * `+strconv.Itoa(secondsPerDay)+`) FROM start)
			ORDER BY started_at DESC, id DESC LIMIT `+limit+` OFFSET (SELECT skip FROM start)) p
		JOIN cases c ON c.id = p.id`+offlineJoins+`
		ORDER BY c.started_at DESC, c.id DESC`, offset, accountID, offset, accountID), scanOfflineCase)
	if err != nil {
		return nil, wrap("list offline cases", err)
	}
	return rows, nil
}

// OfflineCase returns one offline case of the account with its
// replies, newest first. It returns ErrNotFound when the id is not an offline
// message of the account.
func (s *Store) OfflineCase(ctx context.Context, accountID, id int64) (OfflineCaseDetail, error) {
	var out OfflineCaseDetail
	err := s.readTx(ctx, func(tx *gorm.DB) error {
		rows, err := scanAll(tx.Raw(`SELECT `+offlineColumns+`
			FROM cases c`+offlineJoins+`
			WHERE c.account_id = ? AND c.id = ? AND c.channel = ?`,
			accountID, id, string(models.ChannelOffline)), scanOfflineCase)
		if err != nil {
			return err
		}
		if len(rows) == 0 {
			return fmt.Errorf("offline case %d: %w", id, ErrNotFound)
		}
		out.OfflineCase = rows[0]
		out.Replies = []Reply{}
		// The visitor's later messages (answers to an agent's email, say)
		// are replies too, under the visitor's name and with no agent.
		return tx.Raw(`SELECT m.text, m.created_at AS at, COALESCE(a.id, 0) AS agent_id,
				COALESCE(a.first_name, ?) AS first_name, COALESCE(a.last_name, '') AS last_name, COALESCE(a.email, ?) AS email
			FROM messages m LEFT JOIN agents a ON a.id = m.agent_id
			WHERE m.case_id = ? AND m.account_id = ? AND m.kind = 'message'
				AND (m.sender = 'agent' OR m.sender = 'contact' AND m.id <> (SELECT f.contact_message_id FROM case_facts f WHERE f.case_id = ?))
			ORDER BY m.created_at DESC, m.id DESC`, out.ContactName, out.ContactEmail, id, accountID, id).Scan(&out.Replies).Error
	})
	if err != nil {
		return OfflineCaseDetail{}, wrap(fmt.Sprintf("offline case %d", id), err)
	}
	for i := range out.Replies {
		out.Replies[i].At = out.Replies[i].At.UTC()
	}
	return out, nil
}

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
		timeline, err := s.newTimelineID(tx)
		if err != nil {
			return err
		}
		now := s.now()
		at := in.ReceivedAt.UTC().Truncate(time.Microsecond)
		if in.ReceivedAt.IsZero() {
			at = now
		}
		c = models.Case{
			AccountID: accountID, ContactID: in.ContactID, Channel: models.ChannelOffline,
			Status: models.StatusNew, Initiator: models.InitiatorContact, Subject: in.Subject, Unread: true,
			StartedAt: at, ExtID: in.ExtID, SiteID: in.SiteID, CampaignID: in.CampaignID,
			VisitorSessionID: in.VisitorSessionID, FormName: in.FormName, TimelineID: timeline, CreatedAt: now, UpdatedAt: now,
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
		if err := counts.save(tx); err != nil {
			return err
		}
		return s.appendEvents(tx, caseCreated(c), messageEvent(c, m, string(c.Channel)))
	})
	return c, wrap("create offline case", err)
}

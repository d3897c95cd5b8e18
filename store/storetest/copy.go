package storetest

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// UploadCase is one chat or offline message for CopyUpload: a visitor new
// to the account, when the case started, and its messages.
type UploadCase struct {
	Email    string
	At       time.Time
	Messages []UploadMessage
}

// UploadMessage is one message of an UploadCase: an agent's when AgentID is
// set, else the visitor's.
type UploadMessage struct {
	AgentID int64
	Text    string
	At      time.Time
}

// The columns CopyUpload writes, in the order of each row's values.
var (
	contactColumns = []string{"id", "account_id", "name", "email", "phone", "user_id", "created_at", "updated_at"}
	caseColumns    = []string{"id", "account_id", "contact_id", "channel", "status", "outcome", "initiator", "subject", "unread",
		"started_at", "site_id", "form_name", "uploaded", "created_at", "updated_at"}
	messageColumns = []string{"account_id", "case_id", "sender", "agent_id", "kind", "text", "markdown", "lang", "email_from", "email_to",
		"email_cc", "email_bcc", "email_subject", "html_body", "sms_from", "sms_to", "read", "edited", "delivery_status",
		"fail_reason", "created_at", "updated_at"}
)

// CopyUpload writes items as uploaded cases of channel ("chat": closed and
// succeeded, "offline": new) on siteID, each with a new contact and its
// messages, in tx: ids from the tables' sequences, then one PostgreSQL COPY
// per table. It is the floor that benchmarks hold CallGear's uploads
// against. It returns the database's first error.
func CopyUpload(ctx context.Context, tx pgx.Tx, accountID, siteID int64, channel string, items []UploadCase) error {
	contactIDs, err := nextIDs(ctx, tx, "contacts_id_seq", len(items))
	if err != nil {
		return err
	}
	caseIDs, err := nextIDs(ctx, tx, "cases_id_seq", len(items))
	if err != nil {
		return err
	}
	status, outcome := "new", any(nil)
	if channel == "chat" {
		status, outcome = "closed", "succeeded"
	}
	now := time.Now().UTC()
	var contacts, cases, msgs [][]any
	for i, it := range items {
		contacts = append(contacts, []any{contactIDs[i], accountID, "", it.Email, "", "", now, now})
		cases = append(cases, []any{caseIDs[i], accountID, contactIDs[i], channel, status, outcome, "contact", "", true,
			it.At, siteID, "", true, now, now})
		for _, m := range it.Messages {
			sender, agent := "contact", any(nil)
			if m.AgentID != 0 {
				sender, agent = "agent", m.AgentID
			}
			msgs = append(msgs, []any{accountID, caseIDs[i], sender, agent, "message", m.Text, "", "", "", "", "", "", "", "", "", "",
				false, false, "", "", m.At, now})
		}
	}
	for _, c := range []struct {
		table string
		cols  []string
		rows  [][]any
	}{{"contacts", contactColumns, contacts}, {"cases", caseColumns, cases}, {"messages", messageColumns, msgs}} {
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{c.table}, c.cols, pgx.CopyFromRows(c.rows)); err != nil {
			return fmt.Errorf("copy %s: %w", c.table, err)
		}
	}
	return nil
}

// nextIDs returns n new values of the PostgreSQL sequence seq, for rows
// written by COPY that need their ids up front.
func nextIDs(ctx context.Context, tx pgx.Tx, seq string, n int) ([]int64, error) {
	rows, err := tx.Query(ctx, `SELECT nextval($1) FROM generate_series(1, $2)`, seq, n)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

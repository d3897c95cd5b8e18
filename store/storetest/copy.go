package storetest

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// The columns CopyUpload writes, in the order of each row's values.
var (
	ContactColumns = []string{"id", "account_id", "name", "email", "phone", "user_id", "created_at", "updated_at"}
	CaseColumns    = []string{"id", "account_id", "contact_id", "channel", "status", "outcome", "initiator", "subject", "unread",
		"started_at", "site_id", "form_name", "uploaded", "created_at", "updated_at"}
	MessageColumns = []string{"account_id", "case_id", "sender", "agent_id", "kind", "text", "markdown", "lang", "email_from", "email_to",
		"email_cc", "email_bcc", "email_subject", "html_body", "sms_from", "sms_to", "read", "edited", "delivery_status",
		"fail_reason", "created_at", "updated_at"}
)

// CopyUpload writes uploaded contacts, cases and messages with one
// PostgreSQL COPY per table in tx: the floor that benchmarks hold CallGear's
// uploads against. Each row's values follow ContactColumns, CaseColumns and
// MessageColumns. It returns the first COPY's error.
func CopyUpload(ctx context.Context, tx pgx.Tx, contacts, cases, messages [][]any) error {
	for _, c := range []struct {
		table string
		cols  []string
		rows  [][]any
	}{{"contacts", ContactColumns, contacts}, {"cases", CaseColumns, cases}, {"messages", MessageColumns, messages}} {
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{c.table}, c.cols, pgx.CopyFromRows(c.rows)); err != nil {
			return fmt.Errorf("copy %s: %w", c.table, err)
		}
	}
	return nil
}

// NextIDs returns n new values of the PostgreSQL sequence seq, for rows
// written by COPY that need their ids up front.
func NextIDs(ctx context.Context, tx pgx.Tx, seq string, n int) ([]int64, error) {
	rows, err := tx.Query(ctx, `SELECT nextval($1) FROM generate_series(1, $2)`, seq, n)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

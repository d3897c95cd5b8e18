package storetest

import (
	"testing"
	"time"

	"switchboard/store"
)

// SeedOfflineMessages writes n offline messages into the account on
// PostgreSQL with set-based SQL (a million take seconds, not hours): 1,000
// contacts, n offline cases received spacing apart going back from newest,
// each with its visitor message, every fifth with an agent reply by agentID,
// the cases' last-message columns and the per-day case counts the store
// keeps. It then vacuums and analyzes the tables, as autovacuum would in
// production.
func SeedOfflineMessages(tb testing.TB, s *store.Store, accountID, agentID int64, n int, newest time.Time, spacing time.Duration) {
	tb.Helper()
	if s.Backend() != store.Postgres {
		tb.Fatalf("SeedOfflineMessages runs on PostgreSQL, not %s", s.Backend())
	}
	db := s.GORM()
	steps := []struct {
		name string
		sql  string
		args []any
	}{
		{"contacts", `INSERT INTO contacts (account_id, name, email, phone, created_at, updated_at)
			SELECT ?, 'visitor ' || g, 'visitor' || g || '@example.com', '+1415555' || lpad(g::text, 4, '0'), now(), now()
			FROM generate_series(1, 1000) g`, []any{accountID}},
		{"cases", `INSERT INTO cases (account_id, contact_id, channel, status, initiator, subject, unread, started_at, form_name, created_at, updated_at)
			SELECT ?, (SELECT min(id) FROM contacts WHERE account_id = ?) + (g % 1000), 'offline', 'new', 'contact',
				'subject ' || g, g % 3 = 0, ?::timestamptz - (g * ?::bigint) * interval '1 microsecond', '', now(), now()
			FROM generate_series(1, ?) g`, []any{accountID, accountID, newest, spacing.Microseconds(), n}},
		{"visitor messages", `INSERT INTO messages (account_id, case_id, sender, kind, text, markdown, email_from, email_to, email_cc,
				email_bcc, email_subject, html_body, sms_from, sms_to, read, edited, delivery_status, fail_reason, created_at, updated_at)
			SELECT account_id, id, 'contact', 'message', 'message ' || id, '', '', '', '', '', '', '', '', '', false, false, '', '', started_at, started_at
			FROM cases WHERE account_id = ? AND channel = 'offline'`, []any{accountID}},
		{"agent replies", `INSERT INTO messages (account_id, case_id, sender, agent_id, kind, text, markdown, email_from, email_to, email_cc,
				email_bcc, email_subject, html_body, sms_from, sms_to, read, edited, delivery_status, fail_reason, created_at, updated_at)
			SELECT account_id, id, 'agent', ?, 'message', 'reply ' || id, '', '', '', '', '', '', '', '', '', false, false, '', '',
				started_at + interval '1 minute', started_at + interval '1 minute'
			FROM cases WHERE account_id = ? AND channel = 'offline' AND id % 5 = 0`, []any{agentID, accountID}},
		{"last messages", `UPDATE cases c SET last_message_id = m.id, last_message_at = m.created_at, last_customer_message_at = c.started_at
			FROM (SELECT DISTINCT ON (case_id) case_id, id, created_at FROM messages WHERE account_id = ?
				ORDER BY case_id, created_at DESC, id DESC) m
			WHERE m.case_id = c.id`, []any{accountID}},
		{"day counts", `INSERT INTO case_day_counts (account_id, channel, day, n)
			SELECT account_id, channel, floor(extract(epoch FROM started_at) / 86400)::bigint AS day, count(*)
			FROM cases WHERE account_id = ? GROUP BY account_id, channel, day
			ON CONFLICT (account_id, channel, day) DO UPDATE SET n = excluded.n`, []any{accountID}},
	}
	for _, st := range steps {
		if err := db.Exec(st.sql, st.args...).Error; err != nil {
			tb.Fatalf("seed %s: %v", st.name, err)
		}
	}
	for _, table := range []string{"contacts", "cases", "messages", "case_day_counts"} {
		if err := db.Exec("VACUUM ANALYZE " + table).Error; err != nil {
			tb.Fatalf("vacuum %s: %v", table, err)
		}
	}
}

// SeedChats writes n closed chats into the account on PostgreSQL with
// set-based SQL: 1,000 contacts, n chat cases started spacing apart going
// back from newest, each with a visitor message and, on every other chat, an
// answer by agentID (its assignee; the others are lost), with the cases'
// last-message columns and the per-day case counts the store keeps. It then
// vacuums and analyzes the tables.
func SeedChats(tb testing.TB, s *store.Store, accountID, agentID int64, n int, newest time.Time, spacing time.Duration) {
	tb.Helper()
	if s.Backend() != store.Postgres {
		tb.Fatalf("SeedChats runs on PostgreSQL, not %s", s.Backend())
	}
	db := s.GORM()
	steps := []struct {
		name string
		sql  string
		args []any
	}{
		{"contacts", `INSERT INTO contacts (account_id, name, email, phone, user_id, created_at, updated_at)
			SELECT ?, 'chatter ' || g, 'chatter' || g || '@example.com', '+1415556' || lpad(g::text, 4, '0'), '', now(), now()
			FROM generate_series(1, 1000) g`, []any{accountID}},
		{"chats", `INSERT INTO cases (account_id, contact_id, channel, status, outcome, initiator, subject, assignee_id, unread,
				started_at, closed_at, form_name, uploaded, created_at, updated_at)
			SELECT ?, (SELECT min(id) FROM contacts WHERE account_id = ? AND email LIKE 'chatter%') + (g % 1000), 'chat', 'closed',
				CASE WHEN g % 2 = 0 THEN 'succeeded' ELSE 'lost' END, 'contact', '', CASE WHEN g % 2 = 0 THEN ?::bigint END, false,
				?::timestamptz - (g * ?::bigint) * interval '1 microsecond',
				?::timestamptz - (g * ?::bigint) * interval '1 microsecond' + interval '5 minutes', '', true, now(), now()
			FROM generate_series(1, ?) g`, []any{accountID, accountID, agentID, newest, spacing.Microseconds(), newest, spacing.Microseconds(), n}},
		{"visitor messages", `INSERT INTO messages (account_id, case_id, sender, kind, text, markdown, lang, email_from, email_to, email_cc,
				email_bcc, email_subject, html_body, sms_from, sms_to, read, edited, delivery_status, fail_reason, created_at, updated_at)
			SELECT account_id, id, 'contact', 'message', 'hello ' || id, '', '', '', '', '', '', '', '', '', '', true, false, '', '', started_at, started_at
			FROM cases WHERE account_id = ? AND channel = 'chat'`, []any{accountID}},
		{"agent answers", `INSERT INTO messages (account_id, case_id, sender, agent_id, kind, text, markdown, lang, email_from, email_to, email_cc,
				email_bcc, email_subject, html_body, sms_from, sms_to, read, edited, delivery_status, fail_reason, created_at, updated_at)
			SELECT account_id, id, 'agent', assignee_id, 'message', 'answer ' || id, '', '', '', '', '', '', '', '', '', '', true, false, '', '',
				started_at + interval '1 minute', started_at + interval '1 minute'
			FROM cases WHERE account_id = ? AND channel = 'chat' AND assignee_id IS NOT NULL`, []any{accountID}},
		{"last messages", `UPDATE cases c SET last_message_id = m.id, last_message_at = m.created_at, last_customer_message_at = c.started_at
			FROM (SELECT DISTINCT ON (case_id) case_id, id, created_at FROM messages WHERE account_id = ?
				ORDER BY case_id, created_at DESC, id DESC) m
			WHERE m.case_id = c.id AND c.channel = 'chat'`, []any{accountID}},
		{"day counts", `INSERT INTO case_day_counts (account_id, channel, day, n)
			SELECT account_id, channel, floor(extract(epoch FROM started_at) / 86400)::bigint AS day, count(*)
			FROM cases WHERE account_id = ? AND channel = 'chat' GROUP BY account_id, channel, day
			ON CONFLICT (account_id, channel, day) DO UPDATE SET n = excluded.n`, []any{accountID}},
		{"agent day counts", `INSERT INTO assignee_day_counts (account_id, agent_id, day, n)
			SELECT account_id, assignee_id, floor(extract(epoch FROM started_at) / 86400)::bigint AS day, count(*)
			FROM cases WHERE account_id = ? AND channel = 'chat' AND assignee_id IS NOT NULL GROUP BY account_id, assignee_id, day
			ON CONFLICT (account_id, agent_id, day) DO UPDATE SET n = excluded.n`, []any{accountID}},
	}
	for _, st := range steps {
		if err := db.Exec(st.sql, st.args...).Error; err != nil {
			tb.Fatalf("seed %s: %v", st.name, err)
		}
	}
	for _, table := range []string{"contacts", "cases", "messages", "case_day_counts", "assignee_day_counts"} {
		if err := db.Exec("VACUUM ANALYZE " + table).Error; err != nil {
			tb.Fatalf("vacuum %s: %v", table, err)
		}
	}
}

// SeedContacts writes n contacts into the account on PostgreSQL with one
// set-based INSERT (the triggers of migration 0017 count them as any insert):
// created spacing apart going back from newest, each seen again 0 to 6
// minutes after it was created, so that firstSeen and lastSeen order them
// differently. It then vacuums and analyzes the table.
func SeedContacts(tb testing.TB, s *store.Store, accountID int64, n int, newest time.Time, spacing time.Duration) {
	tb.Helper()
	if s.Backend() != store.Postgres {
		tb.Fatalf("SeedContacts runs on PostgreSQL, not %s", s.Backend())
	}
	db := s.GORM()
	if err := db.Exec(`INSERT INTO contacts (account_id, name, email, phone, user_id, created_at, updated_at)
		SELECT ?, 'customer ' || g, 'customer' || g || '@example.com', '', '',
			?::timestamptz - (g * ?::bigint) * interval '1 microsecond',
			?::timestamptz - (g * ?::bigint) * interval '1 microsecond' + (g % 7) * interval '1 minute'
		FROM generate_series(1, ?) g`, accountID, newest, spacing.Microseconds(), newest, spacing.Microseconds(), n).Error; err != nil {
		tb.Fatalf("seed contacts: %v", err)
	}
	for _, table := range []string{"contacts", "contact_counts"} {
		if err := db.Exec("VACUUM ANALYZE " + table).Error; err != nil {
			tb.Fatalf("vacuum %s: %v", table, err)
		}
	}
}

//go:build bench

package bench

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"switchboard/store"
	"switchboard/store/storetest"
)

// The SQLite side of the benchmark: the same scenarios against `switchboard
// serve` on a SQLite file, each against the simplest raw query with
// database/sql on the store's SQLite handle (store.OpenSQLite: the same
// driver, DSN and kept prepared statements, as the PostgreSQL baselines'
// pgx keeps its statements prepared), served by net/http in this process.
// The store holds one SQLite connection (SQLite takes one writer at a time);
// the baselines hold one too.

// openSQLite opens the database/sql handle the SQLite baselines use, on the
// DSN the store derives from the URL, closed when the test ends.
func openSQLite(t *testing.T, dbURL string) *sql.DB {
	t.Helper()
	_, dsn, err := store.ParseURL(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.OpenSQLite(dsn)
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}

// sqliteURL is a fresh SQLite database file for the run.
func sqliteURL(t *testing.T) string {
	return "sqlite:" + filepath.Join(t.TempDir(), "bench.db")
}

// seedSQLite writes what storetest.SeedOfflineMessages and SeedChats write on
// PostgreSQL, row by row with prepared statements in one transaction (SQLite
// has no COPY; a million rows take a minute): 1,000 visitors with n offline
// cases received spacing apart going back from newest, each with its visitor
// message and every fifth with an agent reply; 1,000 chatters with chats
// closed chats, each with a visitor message and every other with an answer
// by the agent (its assignee); the cases' last-message columns and the
// per-day counts the store keeps. Times are bound as time.Time, so that the
// driver writes them as it writes the store's.
func seedSQLite(t *testing.T, db *sql.DB, accountID, agentID int64, offline, chats int, newest time.Time, spacing time.Duration) {
	t.Helper()
	ctx := context.Background()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	prep := func(q string) *sql.Stmt {
		st, err := tx.PrepareContext(ctx, q)
		if err != nil {
			t.Fatalf("prepare %.60s: %v", q, err)
		}
		return st
	}
	contact := prep(`INSERT INTO contacts (account_id, name, email, phone, user_id, created_at, updated_at) VALUES (?, ?, ?, ?, '', ?, ?)`)
	kase := prep(`INSERT INTO cases (account_id, contact_id, channel, status, outcome, initiator, subject, assignee_id, unread,
		started_at, closed_at, form_name, uploaded, timeline_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'contact', ?, ?, ?, ?, ?, '', ?, ?, ?, ?)`)
	msg := prep(`INSERT INTO messages (account_id, case_id, sender, agent_id, kind, text, markdown, lang, email_from, email_to, email_cc,
		email_bcc, email_subject, html_body, sms_from, sms_to, read, edited, delivery_status, fail_reason, created_at, updated_at)
		VALUES (?, ?, ?, ?, 'message', ?, '', '', '', '', '', '', '', '', '', '', ?, false, '', '', ?, ?)`)
	last := prep(`UPDATE cases SET last_message_id = ?, last_message_at = ?, last_customer_message_at = ? WHERE id = ?`)
	now := time.Now().UTC()
	timeline, err := reserveTimelines(ctx, tx, offline+chats)
	if err != nil {
		t.Fatal(err)
	}
	exec := func(st *sql.Stmt, args ...any) int64 {
		r, err := st.ExecContext(ctx, args...)
		if err != nil {
			t.Fatalf("seed SQLite: %v", err)
		}
		id, _ := r.LastInsertId()
		return id
	}
	contacts := func(prefix, phone string) []int64 {
		ids := make([]int64, 1000)
		for g := range ids {
			ids[g] = exec(contact, accountID, fmt.Sprintf("%s %d", prefix, g+1), fmt.Sprintf("%s%d@example.com", prefix, g+1),
				fmt.Sprintf("%s%04d", phone, g+1), now, now)
		}
		return ids
	}
	type dayKey struct {
		channel string
		day     int64
	}
	days, agentDays := map[dayKey]int64{}, map[int64]int64{}
	visitors := contacts("visitor", "+1415555")
	for g := 1; g <= offline; g++ {
		at := newest.Add(-time.Duration(g) * spacing)
		id := exec(kase, accountID, visitors[g%1000], "offline", "new", nil, fmt.Sprintf("subject %d", g), nil, g%3 == 0, at, nil, false, timeline, now, now)
		timeline++
		lastID, lastAt := exec(msg, accountID, id, "contact", nil, fmt.Sprintf("message %d", id), false, at, at), at
		if id%5 == 0 {
			lastAt = at.Add(time.Minute)
			lastID = exec(msg, accountID, id, "agent", agentID, fmt.Sprintf("reply %d", id), false, lastAt, lastAt)
		}
		exec(last, lastID, lastAt, at, id)
		days[dayKey{"offline", at.Unix() / 86400}]++
	}
	chatters := contacts("chatter", "+1415556")
	for g := 1; g <= chats; g++ {
		at := newest.Add(-time.Duration(g) * spacing)
		outcome, assignee := "lost", any(nil)
		if g%2 == 0 {
			outcome, assignee = "succeeded", agentID
			agentDays[at.Unix()/86400]++
		}
		id := exec(kase, accountID, chatters[g%1000], "chat", "closed", outcome, "", assignee, false, at, at.Add(5*time.Minute), true, timeline, now, now)
		timeline++
		lastID, lastAt := exec(msg, accountID, id, "contact", nil, fmt.Sprintf("hello %d", id), true, at, at), at
		if assignee != nil {
			lastAt = at.Add(time.Minute)
			lastID = exec(msg, accountID, id, "agent", agentID, fmt.Sprintf("answer %d", id), true, lastAt, lastAt)
		}
		exec(last, lastID, lastAt, at, id)
		days[dayKey{"chat", at.Unix() / 86400}]++
	}
	dayCount := prep(`INSERT INTO case_day_counts (account_id, channel, day, n) VALUES (?, ?, ?, ?)
		ON CONFLICT (account_id, channel, day) DO UPDATE SET n = case_day_counts.n + excluded.n`)
	for k, n := range days {
		exec(dayCount, accountID, k.channel, k.day, n)
	}
	agentCount := prep(`INSERT INTO assignee_day_counts (account_id, agent_id, day, n) VALUES (?, ?, ?, ?)
		ON CONFLICT (account_id, agent_id, day) DO UPDATE SET n = assignee_day_counts.n + excluded.n`)
	for day, n := range agentDays {
		exec(agentCount, accountID, agentID, day, n)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "ANALYZE"); err != nil {
		t.Fatal(err)
	}
}

// reserveTimelines takes n timeline ids for cases the transaction writes,
// as the store does on SQLite (the AUTOINCREMENT counter of the empty table
// timelines, migration 0013), and returns the first.
func reserveTimelines(ctx context.Context, tx *sql.Tx, n int) (int64, error) {
	var last int64
	if err := tx.QueryRowContext(ctx, `UPDATE sqlite_sequence SET seq = seq + ? WHERE name = 'timelines' RETURNING seq`, n).Scan(&last); err != nil {
		return 0, fmt.Errorf("reserve %d timeline ids: %w", n, err)
	}
	return last - int64(n) + 1, nil
}

// sqliteLengths is seedLengths on SQLite: lengthCases open chats of 10,000
// messages and as many of 10, all but the last message inserted with
// prepared statements, the last through switchboard (post).
func sqliteLengths(t *testing.T, st *store.Store, db *sql.DB, accountID, agentID, contactID int64, post func(caseID int64)) (long, short []int64) {
	t.Helper()
	ctx := context.Background()
	for _, n := range []int{10_000, 10} {
		var ids []int64
		for range lengthCases {
			c, err := st.CreateCase(ctx, accountID, store.NewCase{ContactID: contactID})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, c.ID)
		}
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		ins, err := tx.PrepareContext(ctx, `INSERT INTO messages (account_id, case_id, sender, agent_id, kind, text, markdown, lang, email_from,
			email_to, email_cc, email_bcc, email_subject, html_body, sms_from, sms_to, read, edited, delivery_status, fail_reason, created_at, updated_at)
			VALUES (?, ?, ?, ?, 'message', ?, '', '', '', '', '', '', '', '', '', '', true, false, '', '', ?, ?)`)
		if err != nil {
			t.Fatal(err)
		}
		day := time.Now().UTC().Add(-24 * time.Hour).Truncate(time.Second)
		for _, id := range ids {
			for g := 1; g < n; g++ {
				sender, agent := "contact", any(nil)
				if g%2 == 0 {
					sender, agent = "agent", agentID
				}
				at := day.Add(time.Duration(g) * time.Second)
				if _, err := ins.ExecContext(ctx, accountID, id, sender, agent, fmt.Sprintf("message %d", g), at, at); err != nil {
					t.Fatalf("seed %d-message cases: %v", n, err)
				}
			}
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			post(id)
		}
		if n == 10_000 {
			long = ids
		} else {
			short = ids
		}
	}
	if _, err := db.ExecContext(ctx, "ANALYZE"); err != nil {
		t.Fatal(err)
	}
	return long, short
}

// sqliteCursor returns the keyset cursor of the deep page on SQLite: the
// started_at (as the text SQLite holds) and the id of the last row of the
// page before it.
func sqliteCursor(t *testing.T, db *sql.DB, accountID int64, offset int64) (at string, id int64) {
	t.Helper()
	if err := db.QueryRow(`SELECT CAST(started_at AS TEXT), id FROM cases WHERE account_id = ? AND channel = 'offline'
		ORDER BY started_at DESC, id DESC LIMIT 1 OFFSET ?`, accountID, offset).Scan(&at, &id); err != nil {
		t.Fatal(err)
	}
	return at, id
}

// sqliteKeyset is pgxKeyset on SQLite: a plain keyset page over the
// account's offline cases with the contact, the visitor's first message and
// the count of replies in the same statement. ?at=TEXT&after=ID starts below
// that row (at compares as the text SQLite holds).
func sqliteKeyset(db *sql.DB, accountID int64, size int) http.Handler {
	const query = `SELECT c.id, c.contact_id, ct.name, ct.email, ct.phone, c.subject, c.started_at, c.unread,
		COALESCE((SELECT m.text FROM messages m WHERE m.case_id = c.id AND m.sender = 'contact' AND m.kind = 'message'
			ORDER BY m.created_at, m.id LIMIT 1), ''),
		(SELECT COUNT(*) FROM messages m WHERE m.case_id = c.id AND m.sender = 'agent' AND m.kind = 'message')
		FROM cases c JOIN contacts ct ON ct.id = c.contact_id
		WHERE c.account_id = ? AND c.channel = 'offline' AND (c.started_at, c.id) < (?, ?)
		ORDER BY c.started_at DESC, c.id DESC LIMIT ?`
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		after, err := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
		if err != nil || after < 1 {
			after = int64(1) << 62
		}
		before := r.URL.Query().Get("at")
		if before == "" {
			// A date, not "9999": started_at has a DATETIME column's
			// numeric affinity, so SQLite compares a bare number as one,
			// and every text sorts above every number: page 1 would be
			// empty.
			before = "9999-12-31"
		}
		rows, err := db.QueryContext(r.Context(), query, accountID, before, after, size)
		if err != nil {
			fail(w, http.StatusInternalServerError, err)
			return
		}
		defer rows.Close()
		out := []keysetRow{}
		for rows.Next() {
			var o keysetRow
			var at time.Time
			if err := rows.Scan(&o.ID, &o.ContactID, &o.Name, &o.Email, &o.Phone, &o.Subject, &at, &o.Unread, &o.Message, &o.Replies); err != nil {
				fail(w, http.StatusInternalServerError, err)
				return
			}
			o.ReceivedTime = at.UnixMilli()
			out = append(out, o)
		}
		if err := rows.Err(); err != nil {
			fail(w, http.StatusInternalServerError, err)
			return
		}
		writeJSON(w, out)
	})
}

// sqliteCaseView is caseView with database/sql: the case, its contact, the
// agents who wrote in it and its last message's text, in the write's
// transaction.
func sqliteCaseView(ctx context.Context, tx *sql.Tx, accountID, caseID int64) (map[string]any, error) {
	out := map[string]any{}
	var contactID int64
	var lastID *int64
	var status, channel string
	var started time.Time
	if err := tx.QueryRowContext(ctx, `SELECT contact_id, last_message_id, status, channel, started_at FROM cases WHERE account_id = ? AND id = ?`,
		accountID, caseID).Scan(&contactID, &lastID, &status, &channel, &started); err != nil {
		return nil, err
	}
	out["id"], out["status"], out["channel"], out["startedAt"] = caseID, status, channel, started.Unix()
	var name, email, phone string
	if err := tx.QueryRowContext(ctx, `SELECT name, email, phone FROM contacts WHERE account_id = ? AND id = ?`,
		accountID, contactID).Scan(&name, &email, &phone); err != nil {
		return nil, err
	}
	out["contact"] = map[string]any{"id": contactID, "name": name, "email": email, "phone": phone}
	rows, err := tx.QueryContext(ctx, `SELECT a.id, a.first_name, a.last_name, a.email, a.role FROM agents a
		WHERE a.account_id = ? AND a.id IN (SELECT DISTINCT agent_id FROM messages WHERE case_id = ? AND agent_id IS NOT NULL)`, accountID, caseID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var agents []map[string]any
	for rows.Next() {
		var id int64
		var first, last, mail, role string
		if err := rows.Scan(&id, &first, &last, &mail, &role); err != nil {
			return nil, err
		}
		agents = append(agents, map[string]any{"id": id, "name": first + " " + last, "email": mail, "role": role})
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out["users"] = agents
	if lastID != nil {
		var text string
		if err := tx.QueryRowContext(ctx, `SELECT text FROM messages WHERE account_id = ? AND id = ?`, accountID, *lastID).Scan(&text); err != nil {
			return nil, err
		}
		out["lastMessage"] = map[string]any{"id": *lastID, "text": text}
	}
	return out, nil
}

// sqliteRawMessage is pgxRawMessage on SQLite: a database/sql transaction
// doing the store's inserts and updates (BEGIN, INSERT ... RETURNING,
// UPDATE ... RETURNING, the event number, the event's INSERT, COMMIT), the
// agent read once before the run; withCase adds Acquire's case read in the
// same transaction.
func sqliteRawMessage(t *testing.T, db *sql.DB, accountID, agentID int64, decode func(*http.Request) (chatMessage, error), withCase bool) http.Handler {
	t.Helper()
	type agentOut struct {
		ID    int64  `json:"id"`
		Name  string `json:"name"`
		Email string `json:"email"`
		Role  string `json:"role"`
	}
	var a agentOut
	var first, last string
	if err := db.QueryRow(`SELECT id, first_name, last_name, email, role FROM agents WHERE account_id = ? AND id = ?`,
		accountID, agentID).Scan(&a.ID, &first, &last, &a.Email, &a.Role); err != nil {
		t.Fatalf("read the baseline's agent: %v", err)
	}
	a.Name = first + " " + last
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := decode(r)
		if err != nil {
			fail(w, http.StatusBadRequest, err)
			return
		}
		ctx := r.Context()
		out := map[string]any{"type": "message", "text": in.Text, "chat": in.Case, "from": "agent", "agent": a}
		err = sqliteTx(ctx, db, func(tx *sql.Tx) error {
			now := time.Now().UTC()
			var id int64
			if err := tx.QueryRowContext(ctx, `INSERT INTO messages (account_id, case_id, sender, agent_id, kind, text, markdown, lang,
				email_from, email_to, email_cc, email_bcc, email_subject, html_body, sms_from, sms_to, read, edited,
				delivery_status, fail_reason, created_at, updated_at)
				VALUES (?, ?, 'agent', ?, 'message', ?, '', '', '', '', '', '', '', '', '', '', false, false, '', '', ?, ?)
				RETURNING id`, accountID, in.Case, agentID, in.Text, now, now).Scan(&id); err != nil {
				return err
			}
			out["id"], out["createdAt"] = id, strconv.FormatInt(now.Unix(), 10)
			var status string
			var contactID int64
			if err := tx.QueryRowContext(ctx, `UPDATE cases SET status = CASE WHEN status = 'new' THEN 'open' ELSE status END,
				updated_at = ?, last_message_id = ?, last_message_at = ?
				WHERE account_id = ? AND id = ? RETURNING status, contact_id`, now, id, now, accountID, in.Case).Scan(&status, &contactID); err != nil {
				return err
			}
			var seq int64
			if err := tx.QueryRowContext(ctx, `INSERT INTO event_seqs (account_id, seq) VALUES (?, 1)
				ON CONFLICT (account_id) DO UPDATE SET seq = event_seqs.seq + 1 RETURNING seq`, accountID).Scan(&seq); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO events (account_id, seq, type, case_id, contact_id, message_id, agent_id, data, created_at)
				VALUES (?, ?, 'message.created', ?, ?, ?, ?, ?, ?)`,
				accountID, seq, in.Case, contactID, id, agentID, messageEventData, now); err != nil || !withCase {
				return err
			}
			var err error
			out["case"], err = sqliteCaseView(ctx, tx, accountID, in.Case)
			return err
		})
		if err != nil {
			fail(w, http.StatusInternalServerError, err)
			return
		}
		writeJSON(w, out)
	})
}

// sqliteTx runs fn in a transaction, committed when fn returns nil and
// rolled back otherwise; it returns fn's error or the commit's.
func sqliteTx(ctx context.Context, db *sql.DB, fn func(*sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// sqliteUpload is pgxUpload on SQLite, where no COPY exists: the floor is one
// transaction of prepared INSERTs, a contact, a case and its messages per
// item.
func sqliteUpload(db *sql.DB, accountID, siteID, agentID int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Method string `json:"method"`
			Params struct {
				Chats   []uploadItem `json:"chats"`
				Offline []uploadItem `json:"offline_messages"`
			} `json:"params"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			fail(w, http.StatusBadRequest, err)
			return
		}
		channel, items, status, outcome := "chat", req.Params.Chats, "closed", any("succeeded")
		if req.Method == "upload.offline_messages" {
			channel, items, status, outcome = "offline", req.Params.Offline, "new", nil
		}
		ctx := r.Context()
		now := time.Now().UTC()
		err := sqliteTx(ctx, db, func(tx *sql.Tx) error {
			contact, err := tx.PrepareContext(ctx, `INSERT INTO contacts (account_id, name, email, phone, user_id, created_at, updated_at)
				VALUES (?, '', ?, '', '', ?, ?)`)
			if err != nil {
				return err
			}
			timeline, err := reserveTimelines(ctx, tx, len(items))
			if err != nil {
				return err
			}
			kase, err := tx.PrepareContext(ctx, `INSERT INTO cases (account_id, contact_id, channel, status, outcome, initiator, subject, unread,
				started_at, site_id, form_name, uploaded, timeline_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'contact', '', true, ?, ?, '', true, ?, ?, ?)`)
			if err != nil {
				return err
			}
			msg, err := tx.PrepareContext(ctx, `INSERT INTO messages (account_id, case_id, sender, agent_id, kind, text, markdown, lang, email_from,
				email_to, email_cc, email_bcc, email_subject, html_body, sms_from, sms_to, read, edited, delivery_status, fail_reason, created_at, updated_at)
				VALUES (?, ?, ?, ?, 'message', ?, '', '', '', '', '', '', '', '', '', '', false, false, '', '', ?, ?)`)
			if err != nil {
				return err
			}
			for _, it := range items {
				start := it.DateTime
				if channel == "chat" {
					start = it.Start
				}
				at, err := time.Parse(time.DateTime, start)
				if err != nil {
					return err
				}
				res, err := contact.ExecContext(ctx, accountID, it.Email, now, now)
				if err != nil {
					return err
				}
				contactID, _ := res.LastInsertId()
				if res, err = kase.ExecContext(ctx, accountID, contactID, channel, status, outcome, at, siteID, timeline, now, now); err != nil {
					return err
				}
				timeline++
				caseID, _ := res.LastInsertId()
				if channel == "offline" {
					if _, err := msg.ExecContext(ctx, accountID, caseID, "contact", nil, it.Message, at, now); err != nil {
						return err
					}
				}
				for _, m := range it.Messages {
					sender, agent := "contact", any(nil)
					if m.Source == "operator" {
						sender, agent = "agent", agentID
					}
					mat, err := time.Parse(time.DateTime, m.DateTime)
					if err != nil {
						return err
					}
					if _, err := msg.ExecContext(ctx, accountID, caseID, sender, agent, m.Message, mat, now); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			fail(w, http.StatusInternalServerError, err)
			return
		}
		writeJSON(w, map[string]any{"jsonrpc": "2.0", "id": 1, "result": map[string]any{"count": len(items)}})
	})
}

const sqliteSection = "sqlite"

// sqliteReport is the scenarios' run on SQLite.
type sqliteReport struct {
	scale       scale
	scenarios   []*scenario
	seeded      time.Duration
	command     string
	load, steal string
}

// runSQLite runs the scenarios that have a SQLite baseline (all but the
// email and SMS sends) against a fresh `switchboard serve` on a SQLite file
// seeded as PostgreSQL is, each against its database/sql baseline. It
// returns nil when -only leaves none.
func runSQLite(t *testing.T, bin string, sc scale, only *regexp.Regexp) *sqliteReport {
	t.Helper()
	loadBefore, cpuBefore := loadavg(), cpuTimes()
	dbURL := sqliteURL(t)
	srv := mustStart(t, bin, dbURL, "--ip-rate-limit", "0")
	defer func() { srv.stop(t) }()
	st := storetest.MustOpenURL(t, dbURL)
	f := mustFixture(t, st, srv)
	db := openSQLite(t, dbURL)
	base := httptest.NewServer(route(map[string]http.Handler{
		"keyset":   sqliteKeyset(db, f.acct, pageSize),
		"message":  sqliteRawMessage(t, db, f.acct, f.agent, decodeHelpCrunch, false),
		"acquire":  sqliteRawMessage(t, db, f.acct, f.agent, decodeAcquireChat, true),
		"callgear": sqliteUpload(db, f.acct, f.site, f.agent),
	}))
	defer base.Close()
	deepPage := int64(sc.offline/pageSize) - 1
	var deepAt string
	var deepAfter int64
	scenarios := f.scenarios(deepPage, func() string {
		return "/keyset/?at=" + url.QueryEscape(deepAt) + "&after=" + strconv.FormatInt(deepAfter, 10)
	}, false)
	if only != nil {
		scenarios = slices.DeleteFunc(scenarios, func(s *scenario) bool { return !only.MatchString(s.name) })
	}
	if len(scenarios) == 0 {
		return nil
	}
	t0 := time.Now()
	f.long, f.short = sqliteLengths(t, st, db, f.acct, f.agent, f.contact, func(id int64) { f.mustPost(t, id) })
	t.Logf("SQLite: seeded the case-length cases in %s", time.Since(t0).Round(time.Millisecond))
	seedSQLite(t, db, f.acct, f.agent, sc.offline, sc.chats, f.newest, 30*time.Second)
	smallAccounts(t, st, f.newest)
	r := &sqliteReport{scale: sc, scenarios: scenarios, seeded: time.Since(t0)}
	t.Logf("SQLite: seeded %d offline messages, %d chats and the case-length cases in %s", sc.offline, sc.chats, r.seeded.Round(time.Millisecond))
	deepAt, deepAfter = sqliteCursor(t, db, f.acct, (deepPage-1)*pageSize-1)
	// serve starts again on the seeded file. A SQLite connection reads the
	// planner's statistics (sqlite_stat1) when it loads the schema: the
	// first ANALYZE above created that table, which made the running
	// server's connection reload them from the nearly empty tables, and
	// the last ANALYZE, a change of rows alone, did not. With those, the
	// server read the page's contacts by a scan of the table for each row
	// (0.12× the baseline, whose connection ran the ANALYZE). Started
	// after it, serve plans from the same statistics as the baseline, as a
	// server started on an existing database does.
	srv.stop(t)
	srv = mustStart(t, bin, dbURL, "--ip-rate-limit", "0")
	f.sbURL = "http://" + srv.addr
	t.Logf("SQLite: server pid %d", srv.cmd.Process.Pid)
	measure(t, scenarios, f.sbURL, srv.cmd.Process.Pid, base.URL, sc)
	r.load, r.steal = fmt.Sprintf("%s before, %s after", loadBefore, loadavg()), steal(cpuBefore, cpuTimes())
	return r
}

func (r *sqliteReport) failures() []string { return scenarioFailures(r.scenarios) }

func (r *sqliteReport) markdown() string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("## The same scenarios on SQLite\n\n")
	p("Scale **%s**: the same seed in a SQLite file (WAL), written row by row with prepared statements in one transaction, "+
		"seeded in %s. `switchboard serve` runs on `sqlite:FILE` (the store holds one SQLite connection); each baseline is the "+
		"simplest raw query with database/sql on the store's SQLite handle (`store.OpenSQLite`: modernc.org/sqlite on the store's DSN, "+
		"its statements kept prepared as pgx keeps them on PostgreSQL) and one connection too, behind plain net/http in the benchmark's process: REVE's a plain keyset page, chat writes "+
		"a raw transaction (INSERT ... RETURNING, UPDATE ... RETURNING, the event number and the event's INSERT; Acquire's also "+
		"reads the case back), CallGear uploads "+
		"one transaction of prepared INSERTs (SQLite has no COPY). The email and SMS sends have no SQLite baseline and are not "+
		"run here. Each scenario ran %s a side, alternating in %d rounds.\n\n", r.scale.name, r.seeded.Round(time.Second), r.scale.duration, r.scale.rounds)
	p("```sh\n%s\n```\n\n", r.command)
	closedTable(&b, r.scenarios)
	p("\nFixed rate below saturation: **ratio** is the baseline's p50 over switchboard's at the same rate.\n\n")
	fixedTable(&b, r.scenarios)
	if len(r.scenarios) >= 2 && strings.Contains(r.scenarios[1].name, "deep") {
		d := deepRatio(r.scenarios[0], r.scenarios[1])
		p("\n| target | measured | result |\n|---|---|---|\n")
		p("| issue 22 item 1: deep page closed-loop p50 ≤ %.0f× page 1 | %.2f× (%s vs %s) | %s |\n", deepLimit, d,
			ms(r.scenarios[1].closedSB.result().P50), ms(r.scenarios[0].closedSB.result().P50), passFail(d <= deepLimit))
	}
	p("\nLoad average (1 min) %s; CPU steal over the SQLite run %s; %s.\n", r.load, r.steal, time.Now().UTC().Format("2006-01-02 15:04 MST"))
	return b.String()
}

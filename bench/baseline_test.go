//go:build bench

package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"switchboard/store/storetest"
)

// The baselines run in the benchmark's process on their own port, with no
// framework, no authentication and no ORM: the framework ceiling answers a
// canned body, and each pgx baseline does its scenario's queries with pgx
// and answers the same kind of JSON.

// ceiling is the framework ceiling: plain net/http with a canned body.
func ceiling() http.Handler {
	body := []byte(`[{"id":1,"subject":"canned","message":"hello"}]` + "\n")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
}

func fail(w http.ResponseWriter, status int, err error) {
	http.Error(w, err.Error(), status)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// chatMessage is a decoded chat message request: the case and the text.
type chatMessage struct {
	Case int64
	Text string
}

// decodeHelpCrunch reads HelpCrunch's POST /v1/messages body.
func decodeHelpCrunch(r *http.Request) (chatMessage, error) {
	var in struct {
		Chat int64  `json:"chat"`
		Text string `json:"text"`
		Type string `json:"type"`
	}
	err := json.NewDecoder(r.Body).Decode(&in)
	return chatMessage{Case: in.Chat, Text: in.Text}, err
}

// decodeAcquireChat reads Acquire's chat/add-message body.
func decodeAcquireChat(r *http.Request) (chatMessage, error) {
	var in struct {
		Channel string `json:"channel"`
		CaseID  int64  `json:"caseId"`
		Message struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"message"`
	}
	err := json.NewDecoder(r.Body).Decode(&in)
	return chatMessage{Case: in.CaseID, Text: in.Message.Message}, err
}

// caseView is what Acquire answers with besides the message: in the write's
// transaction, switchboard reads the case, its contact, the agents who wrote
// in it and its last message's text (store.caseAfterWrite); the Acquire
// baselines do the same.
func caseView(ctx context.Context, tx pgx.Tx, accountID, caseID int64) (map[string]any, error) {
	out := map[string]any{}
	var contactID int64
	var lastID *int64
	var status, channel string
	var started time.Time
	if err := tx.QueryRow(ctx, `SELECT contact_id, last_message_id, status, channel, started_at FROM cases WHERE account_id = $1 AND id = $2`,
		accountID, caseID).Scan(&contactID, &lastID, &status, &channel, &started); err != nil {
		return nil, err
	}
	out["id"], out["status"], out["channel"], out["startedAt"] = caseID, status, channel, started.Unix()
	var name, email, phone string
	if err := tx.QueryRow(ctx, `SELECT name, email, phone FROM contacts WHERE account_id = $1 AND id = $2`,
		accountID, contactID).Scan(&name, &email, &phone); err != nil {
		return nil, err
	}
	out["contact"] = map[string]any{"id": contactID, "name": name, "email": email, "phone": phone}
	rows, _ := tx.Query(ctx, `SELECT DISTINCT agent_id FROM messages WHERE case_id = $1 AND agent_id IS NOT NULL`, caseID)
	writers, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, err
	}
	rows, _ = tx.Query(ctx, `SELECT id, first_name, last_name, email, role FROM agents WHERE account_id = $1 AND id = ANY($2)`, accountID, writers)
	var agents []map[string]any
	var id int64
	var first, last, mail, role string
	if _, err := pgx.ForEachRow(rows, []any{&id, &first, &last, &mail, &role}, func() error {
		agents = append(agents, map[string]any{"id": id, "name": first + " " + last, "email": mail, "role": role})
		return nil
	}); err != nil {
		return nil, err
	}
	out["users"] = agents
	if lastID != nil {
		var text string
		if err := tx.QueryRow(ctx, `SELECT text FROM messages WHERE account_id = $1 AND id = $2`,
			accountID, *lastID).Scan(&text); err != nil {
			return nil, err
		}
		out["lastMessage"] = map[string]any{"id": *lastID, "text": text}
	}
	return out, nil
}

// sendRequest is a decoded email or SMS send.
type sendRequest struct {
	Case                          int64
	From, To, Subject, Text, HTML string
}

func decodeEmail(r *http.Request) (sendRequest, error) {
	var in struct {
		Data struct {
			CaseID   int64    `json:"caseId"`
			To       []string `json:"to"`
			From     string   `json:"from"`
			Subject  string   `json:"subject"`
			TextBody string   `json:"textBody"`
			HTMLBody string   `json:"htmlBody"`
		} `json:"data"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		return sendRequest{}, err
	}
	d := in.Data
	to, _ := json.Marshal(d.To)
	return sendRequest{Case: d.CaseID, From: d.From, To: string(to), Subject: d.Subject, Text: d.TextBody, HTML: d.HTMLBody}, nil
}

func decodeSMS(r *http.Request) (sendRequest, error) {
	var in struct {
		ThreadID int64  `json:"threadId"`
		From     string `json:"From"`
		To       string `json:"To"`
		Body     string `json:"Body"`
	}
	err := json.NewDecoder(r.Body).Decode(&in)
	return sendRequest{Case: in.ThreadID, From: in.From, To: in.To, Text: in.Body}, err
}

// pgxSend is the baseline of an agent's email or SMS (Acquire
// mail/add-message, voip/send-sms): what the store's outbox transaction does
// with pgx: lock the case, read the agent and the inbox, lock the account and
// count the hour's deliveries (the quota), insert the message and its
// delivery, update the case; then read the case as Acquire answers it.
func pgxSend(pool *pgxpool.Pool, accountID, agentID int64, kind string, decode func(*http.Request) (sendRequest, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := decode(r)
		if err != nil {
			fail(w, http.StatusBadRequest, err)
			return
		}
		ctx := r.Context()
		var msgID, deliveryID int64
		var view map[string]any
		err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			var status string
			if err := tx.QueryRow(ctx, `SELECT status FROM cases WHERE account_id = $1 AND id = $2 FOR UPDATE`,
				accountID, in.Case).Scan(&status); err != nil {
				return err
			}
			var first, last, email string
			if err := tx.QueryRow(ctx, `SELECT first_name, last_name, email FROM agents WHERE account_id = $1 AND id = $2`,
				accountID, agentID).Scan(&first, &last, &email); err != nil {
				return err
			}
			var inbox int64
			if err := tx.QueryRow(ctx, `SELECT id FROM inboxes WHERE account_id = $1 AND kind = $2 AND address = $3 ORDER BY id LIMIT 1`,
				accountID, kind, in.From).Scan(&inbox); err != nil {
				return err
			}
			now := time.Now().UTC()
			var limit int
			col := "emails_per_hour"
			if kind == "sms" {
				col = "sms_per_hour"
			}
			if err := tx.QueryRow(ctx, `SELECT `+col+` FROM accounts WHERE id = $1 FOR UPDATE`, accountID).Scan(&limit); err != nil {
				return err
			}
			var n int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM deliveries WHERE account_id = $1 AND kind = $2 AND created_at > $3`,
				accountID, kind, now.Add(-time.Hour)).Scan(&n); err != nil {
				return err
			}
			if n >= limit {
				return fmt.Errorf("quota of %d spent", limit)
			}
			emailFrom, emailTo, smsFrom, smsTo := "", "", "", ""
			if kind == "email" {
				emailFrom, emailTo = in.From, in.To
			} else {
				smsFrom, smsTo = in.From, in.To
			}
			if err := tx.QueryRow(ctx, `INSERT INTO messages (account_id, case_id, sender, agent_id, kind, text, markdown, lang,
				email_from, email_to, email_cc, email_bcc, email_subject, html_body, sms_from, sms_to, read, edited,
				delivery_status, fail_reason, created_at, updated_at)
				VALUES ($1, $2, 'agent', $3, 'message', $4, '', '', $5, $6, '[]', '[]', $7, $8, $9, $10, false, false, 'queued', '', $11, $11)
				RETURNING id`, accountID, in.Case, agentID, in.Text, emailFrom, emailTo, in.Subject, in.HTML, smsFrom, smsTo, now).Scan(&msgID); err != nil {
				return err
			}
			ref := fmt.Sprintf("sb-%s-%d-%d", kind, msgID, now.UnixNano())
			if err := tx.QueryRow(ctx, `INSERT INTO deliveries (account_id, message_id, kind, status, attempts, next_attempt_at,
				last_error, provider_ref, reference, created_at, updated_at)
				VALUES ($1, $2, $3, 'queued', 0, $4, '', '', $5, $4, $4) RETURNING id`,
				accountID, msgID, kind, now, ref).Scan(&deliveryID); err != nil {
				return err
			}
			newStatus := status
			if status == "new" {
				newStatus = "open"
			}
			if _, err := tx.Exec(ctx, `UPDATE cases SET status = $1, updated_at = $2, last_message_id = $3, last_message_at = $2
				WHERE id = $4`, newStatus, now, msgID, in.Case); err != nil {
				return err
			}
			var err error
			view, err = caseView(ctx, tx, accountID, in.Case)
			return err
		})
		if err != nil {
			fail(w, http.StatusInternalServerError, err)
			return
		}
		writeJSON(w, map[string]any{"data": map[string]any{"id": msgID, "case": view, "deliveryId": deliveryID}})
	})
}

// uploadItem is one chat or offline message of a CallGear upload.
type uploadItem struct {
	Email    string `json:"email"`
	DateTime string `json:"date_time"`
	Start    string `json:"start_date_time"`
	Message  string `json:"message"`
	Messages []struct {
		DateTime string `json:"date_time"`
		Source   string `json:"source"`
		Message  string `json:"message"`
	} `json:"messages"`
}

// pgxUpload is the baseline of CallGear's upload.chats and
// upload.offline_messages, as handlers/bench_test.go measures them: decode
// the JSON-RPC request, then write it with storetest.CopyUpload (ids from the
// sequences, one COPY per table) in one transaction.
func pgxUpload(pool *pgxpool.Pool, accountID, siteID, agentID int64) http.Handler {
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
		channel, items := "chat", req.Params.Chats
		if req.Method == "upload.offline_messages" {
			channel, items = "offline", req.Params.Offline
		}
		cases := make([]storetest.UploadCase, len(items))
		for i, it := range items {
			start := it.DateTime
			if channel == "chat" {
				start = it.Start
			}
			at, err := time.Parse(time.DateTime, start)
			if err != nil {
				fail(w, http.StatusBadRequest, err)
				return
			}
			c := storetest.UploadCase{Email: it.Email, At: at}
			if channel == "offline" {
				c.Messages = append(c.Messages, storetest.UploadMessage{Text: it.Message, At: at})
			}
			for _, m := range it.Messages {
				um := storetest.UploadMessage{Text: m.Message}
				if m.Source == "operator" {
					um.AgentID = agentID
				}
				if um.At, err = time.Parse(time.DateTime, m.DateTime); err != nil {
					fail(w, http.StatusBadRequest, err)
					return
				}
				c.Messages = append(c.Messages, um)
			}
			cases[i] = c
		}
		ctx := r.Context()
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			return storetest.CopyUpload(ctx, tx, accountID, siteID, channel, cases)
		})
		if err != nil {
			fail(w, http.StatusInternalServerError, err)
			return
		}
		writeJSON(w, map[string]any{"jsonrpc": "2.0", "id": 1, "result": map[string]any{"count": len(items)}})
	})
}

// messageEventData is the data of the chat-write baselines' event: what
// the store writes for an agent's chat message.
const messageEventData = `{"channel":"chat","kind":"message","sender":"agent"}`

// route serves each baseline under its own path prefix.
func route(handlers map[string]http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		h, ok := handlers[name]
		if !ok {
			http.NotFound(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// keysetRow is one row of the keyset baselines' REVE pages (pgxKeyset,
// sqliteKeyset).
type keysetRow struct {
	ID           int64  `json:"id"`
	ContactID    int64  `json:"visitor_id"`
	Name         string `json:"name"`
	Email        string `json:"email"`
	Phone        string `json:"phone"`
	Subject      string `json:"subject"`
	ReceivedTime int64  `json:"received_time"`
	Unread       bool   `json:"unread"`
	Message      string `json:"message"`
	Replies      int64  `json:"reply_message_count"`
}

// pgxKeyset is the baseline issue 22 holds REVE's pages to: the simplest
// correct raw query, a plain keyset page over the account's offline cases
// (WHERE account_id = $1 AND channel = 'offline' ORDER BY started_at DESC,
// id DESC LIMIT n: REVE's order, on the index of migration 0001; the seed's
// chats have the higher ids, so an id-only order would walk past all of
// them), with what a REVE row needs (the contact, the visitor's first
// message, the count of replies) in the same statement.
// ?at=UNIXMICRO&after=ID starts below that row: the deep page's cursor,
// found once before the run.
func pgxKeyset(pool *pgxpool.Pool, accountID int64, size int) http.Handler {
	const query = `SELECT c.id, c.contact_id, ct.name, ct.email, ct.phone, c.subject, c.started_at, c.unread,
		COALESCE((SELECT m.text FROM messages m WHERE m.case_id = c.id AND m.sender = 'contact' AND m.kind = 'message'
			ORDER BY m.created_at, m.id LIMIT 1), ''),
		(SELECT COUNT(*) FROM messages m WHERE m.case_id = c.id AND m.sender = 'agent' AND m.kind = 'message')
		FROM cases c JOIN contacts ct ON ct.id = c.contact_id
		WHERE c.account_id = $1 AND c.channel = 'offline' AND (c.started_at, c.id) < ($2, $3)
		ORDER BY c.started_at DESC, c.id DESC LIMIT $4`
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		after, err := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
		if err != nil || after < 1 {
			after = int64(1) << 62
		}
		before := time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
		if us, err := strconv.ParseInt(r.URL.Query().Get("at"), 10, 64); err == nil {
			before = time.UnixMicro(us).UTC()
		}
		rows, err := pool.Query(r.Context(), query, accountID, before, after, size)
		if err != nil {
			fail(w, http.StatusInternalServerError, err)
			return
		}
		out := []keysetRow{}
		var o keysetRow
		var at time.Time
		_, err = pgx.ForEachRow(rows, []any{&o.ID, &o.ContactID, &o.Name, &o.Email, &o.Phone, &o.Subject, &at, &o.Unread, &o.Message, &o.Replies},
			func() error {
				o.ReceivedTime = at.UnixMilli()
				out = append(out, o)
				return nil
			})
		if err != nil {
			fail(w, http.StatusInternalServerError, err)
			return
		}
		writeJSON(w, out)
	})
}

// pgxRawMessage is the baseline issue 22 holds chat writes to: a raw pgx
// transaction doing the same inserts and updates as the store, in five
// round trips (BEGIN, the message's INSERT ... RETURNING, the case's
// UPDATE ... RETURNING, the message's event numbered from the account's
// event_seqs and inserted in one statement, COMMIT): since issue 20 the
// store writes the event in the write's transaction, so a baseline without
// it does less than the server. The agent is the one the request
// authenticates as, read once before the run as an authentication cache
// would hold it. withCase adds Acquire's case read (caseView) in the same
// transaction.
func pgxRawMessage(pool *pgxpool.Pool, accountID, agentID int64, decode func(*http.Request) (chatMessage, error), withCase bool) http.Handler {
	type agentOut struct {
		ID    int64  `json:"id"`
		Name  string `json:"name"`
		Email string `json:"email"`
		Role  string `json:"role"`
	}
	var a agentOut
	var first, last string
	if err := pool.QueryRow(context.Background(), `SELECT id, first_name, last_name, email, role FROM agents WHERE account_id = $1 AND id = $2`,
		accountID, agentID).Scan(&a.ID, &first, &last, &a.Email, &a.Role); err != nil {
		panic(fmt.Sprintf("read the baseline's agent: %v", err))
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
		err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			now := time.Now().UTC()
			var id int64
			if err := tx.QueryRow(ctx, `INSERT INTO messages (account_id, case_id, sender, agent_id, kind, text, markdown, lang,
				email_from, email_to, email_cc, email_bcc, email_subject, html_body, sms_from, sms_to, read, edited,
				delivery_status, fail_reason, created_at, updated_at)
				VALUES ($1, $2, 'agent', $3, 'message', $4, '', '', '', '', '', '', '', '', '', '', false, false, '', '', $5, $5)
				RETURNING id`, accountID, in.Case, agentID, in.Text, now).Scan(&id); err != nil {
				return err
			}
			out["id"], out["createdAt"] = id, strconv.FormatInt(now.Unix(), 10)
			var status string
			var contactID int64
			if err := tx.QueryRow(ctx, `UPDATE cases SET status = CASE WHEN status = 'new' THEN 'open' ELSE status END,
				updated_at = $1, last_message_id = $2, last_message_at = $1
				WHERE account_id = $3 AND id = $4 RETURNING status, contact_id`, now, id, accountID, in.Case).Scan(&status, &contactID); err != nil {
				return err
			}
			// The event is numbered and written in one statement, last
			// before COMMIT, so the account's event_seqs row is held for
			// two round trips (as the store holds it for one).
			if _, err := tx.Exec(ctx, `WITH n AS (INSERT INTO event_seqs (account_id, seq) VALUES ($1, 1)
					ON CONFLICT (account_id) DO UPDATE SET seq = event_seqs.seq + 1 RETURNING seq)
				INSERT INTO events (account_id, seq, type, case_id, contact_id, message_id, agent_id, data, created_at)
				SELECT $1, n.seq, 'message.created', $2, $3, $4, $5, $6, $7 FROM n`,
				accountID, in.Case, contactID, id, agentID, messageEventData, now); err != nil || !withCase {
				return err
			}
			var err error
			out["case"], err = caseView(ctx, tx, accountID, in.Case)
			return err
		})
		if err != nil {
			fail(w, http.StatusInternalServerError, err)
			return
		}
		writeJSON(w, out)
	})
}

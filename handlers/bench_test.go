package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"switchboard/auth"
	"switchboard/handlers"
	"switchboard/handlers/dialect"
	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

// benchClients is the number of concurrent clients of the load generator.
const benchClients = 32

// benchCases spreads the messages over this many chats, as a busy helpdesk
// spreads its agents' replies: one chat would measure only its row lock.
const benchCases = 64

// BenchmarkPostMessages drives HelpCrunch's POST /v1/messages on PostgreSQL
// with benchClients concurrent clients, b.N requests in all, and then drives
// a baseline the same way: a plain net/http handler that does the same
// transaction with pgx (no Echo, no GORM, no auth). It reports both
// throughputs, their latencies and the ratio switchboard/baseline.
//
//	go test -run '^$' -bench PostMessages -benchtime 20000x ./handlers
func BenchmarkPostMessages(b *testing.B) {
	if _, err := storetest.Postgres(); err != nil {
		b.Fatalf("this benchmark runs on PostgreSQL: set %s or start a local server: %v", storetest.EnvURL, err)
	}
	ctx := context.Background()
	dbURL := storetest.MustURL(b, store.Postgres)
	st := storetest.MustOpenURL(b, dbURL)
	acct := storetest.MustAccount(b, st, "Bench")
	agent := storetest.MustAgent(b, st, acct.ID, "bench@example.com", models.RoleSuperadmin, "x")
	contact := storetest.MustContact(b, st, acct.ID, "Visitor", "visitor@example.com", "")
	var chats []int64
	for range benchCases {
		c, err := st.CreateCase(ctx, acct.ID, store.NewCase{ContactID: contact.ID})
		if err != nil {
			b.Fatal(err)
		}
		chats = append(chats, c.ID)
	}
	keys, err := auth.NewKeys([]byte("bench-secret-bench-secret-bench-secret"), st, auth.KeysOptions{})
	if err != nil {
		b.Fatal(err)
	}
	_, token, err := keys.Issue(ctx, acct.ID, auth.KeySpec{Name: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	sb := httptest.NewServer(handlers.New(handlers.Config{},
		handlers.Deps{Deps: dialect.Deps{Store: st, Keys: keys, Log: log}}))
	defer sb.Close()

	pool, err := pgxpool.New(ctx, dbURL+"&pool_max_conns=20")
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	base := httptest.NewServer(baselineHandler(pool, acct.ID))
	defer base.Close()

	body := func(i int64) []byte {
		return fmt.Appendf(nil, `{"chat":%d,"text":"reply %d","agent":%d,"type":"message"}`, chats[i%benchCases], i, agent.ID)
	}
	b.ResetTimer()
	baseRate, baseP50, baseP99 := load(b, base.URL+"/v1/messages", token, body, nil)
	rate, p50, p99 := load(b, sb.URL+"/v1/messages", token, body, nil)
	b.StopTimer()
	b.ReportMetric(rate, "req/s")
	b.ReportMetric(p50, "p50-ms")
	b.ReportMetric(p99, "p99-ms")
	b.ReportMetric(baseRate, "baseline-req/s")
	b.ReportMetric(baseP50, "baseline-p50-ms")
	b.ReportMetric(baseP99, "baseline-p99-ms")
	b.ReportMetric(rate/baseRate, "ratio")
	b.ReportMetric(0, "ns/op") // the per-op time of two runs together means nothing
}

// load posts b.N bodies to url from benchClients clients and returns the
// requests per second and the p50 and p99 latencies in milliseconds. header,
// when not nil, adds the i-th request's headers. Any status but 200 fails
// the benchmark.
func load(b *testing.B, url, token string, body func(int64) []byte, header func(int64, http.Header)) (rate, p50, p99 float64) {
	b.Helper()
	return loadN(b, benchClients, b.N, url, token, body, header)
}

// loadN is load with n requests from the given number of clients.
func loadN(b *testing.B, clients, n int, url, token string, body func(int64) []byte, header func(int64, http.Header)) (rate, p50, p99 float64) {
	b.Helper()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}}
	defer client.CloseIdleConnections()
	var next atomic.Int64
	lat := make([][]time.Duration, clients)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body(i)))
				req.Header.Set("Authorization", "Bearer "+token)
				req.Header.Set("Content-Type", "application/json")
				if header != nil {
					header(i, req.Header)
				}
				t0 := time.Now()
				res, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				out, _ := io.ReadAll(res.Body)
				res.Body.Close()
				lat[w] = append(lat[w], time.Since(t0))
				if res.StatusCode != http.StatusOK {
					b.Errorf("%s: status %d: %s", url, res.StatusCode, out)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	all := slices.Concat(lat...)
	if len(all) == 0 {
		return 0, 0, 0
	}
	slices.Sort(all)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	return float64(len(all)) / elapsed.Seconds(), ms(all[len(all)/2]), ms(all[len(all)*99/100])
}

// baselineHandler is the ceiling for POST /v1/messages: net/http and pgx
// doing the transaction switchboard does (lock the chat, read the agent,
// insert the message, update the chat) and answering the same fields.
func baselineHandler(pool *pgxpool.Pool, accountID int64) http.Handler {
	type request struct {
		Chat  int64  `json:"chat"`
		Text  string `json:"text"`
		Agent int64  `json:"agent"`
		Type  string `json:"type"`
	}
	type agentOut struct {
		ID    int64  `json:"id"`
		Name  string `json:"name"`
		Email string `json:"email"`
		Role  string `json:"role"`
	}
	type response struct {
		ID            int64     `json:"id"`
		Agent         *agentOut `json:"agent"`
		Type          string    `json:"type"`
		Text          string    `json:"text"`
		Read          bool      `json:"read"`
		CreatedAt     string    `json:"createdAt"`
		UpdatedAt     string    `json:"updatedAt"`
		Edited        bool      `json:"edited"`
		BroadcastType *string   `json:"broadcastType"`
		Chat          int64     `json:"chat"`
		From          string    `json:"from"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in request
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		ctx := r.Context()
		out := response{Type: in.Type, Text: in.Text, Chat: in.Chat, From: "agent"}
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			var status string
			if err := tx.QueryRow(ctx, `SELECT status FROM cases WHERE account_id = $1 AND id = $2 FOR UPDATE`,
				accountID, in.Chat).Scan(&status); err != nil {
				return err
			}
			var a agentOut
			var first, last string
			if err := tx.QueryRow(ctx, `SELECT id, first_name, last_name, email, role FROM agents WHERE account_id = $1 AND id = $2`,
				accountID, in.Agent).Scan(&a.ID, &first, &last, &a.Email, &a.Role); err != nil {
				return err
			}
			a.Name = first + " " + last
			out.Agent = &a
			now := time.Now().UTC()
			if err := tx.QueryRow(ctx, `INSERT INTO messages (account_id, case_id, sender, agent_id, kind, text, markdown, lang,
				email_from, email_to, email_cc, email_bcc, email_subject, html_body, sms_from, sms_to, read, edited,
				delivery_status, fail_reason, created_at, updated_at)
				VALUES ($1, $2, 'agent', $3, 'message', $4, '', '', '', '', '', '', '', '', '', '', false, false, '', '', $5, $5)
				RETURNING id`, accountID, in.Chat, in.Agent, in.Text, now).Scan(&out.ID); err != nil {
				return err
			}
			sec := strconv.FormatInt(now.Unix(), 10)
			out.CreatedAt, out.UpdatedAt = sec, sec
			newStatus := status
			if status == "new" {
				newStatus = "open"
			}
			_, err := tx.Exec(ctx, `UPDATE cases SET status = $1, updated_at = $2, last_message_id = $3, last_message_at = $2
				WHERE id = $4`, newStatus, now, out.ID, in.Chat)
			return err
		})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	})
}

// uploadEnv is a PostgreSQL store with an account, a site and an agent, the
// real router over it with a full-access key, and a pgx pool on the same
// schema for the COPY baseline.
type uploadEnv struct {
	st      *store.Store
	pool    *pgxpool.Pool
	srv     *httptest.Server
	token   string
	account int64
	site    int64
	agent   int64
}

func mustUploadEnv(b *testing.B) *uploadEnv {
	b.Helper()
	if _, err := storetest.Postgres(); err != nil {
		b.Fatalf("this benchmark runs on PostgreSQL: set %s or start a local server: %v", storetest.EnvURL, err)
	}
	ctx := context.Background()
	dbURL := storetest.MustURL(b, store.Postgres)
	env := &uploadEnv{st: storetest.MustOpenURL(b, dbURL)}
	acct := storetest.MustAccount(b, env.st, "Bench")
	env.account = acct.ID
	env.agent = storetest.MustAgent(b, env.st, acct.ID, "bench@example.com", models.RoleSuperadmin, "x").ID
	site, err := env.st.CreateSite(ctx, acct.ID, "bench.example")
	if err != nil {
		b.Fatal(err)
	}
	env.site = site.ID
	keys, err := auth.NewKeys([]byte("bench-secret-bench-secret-bench-secret"), env.st, auth.KeysOptions{})
	if err != nil {
		b.Fatal(err)
	}
	if _, env.token, err = keys.Issue(ctx, acct.ID, auth.KeySpec{Name: "bench"}); err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	env.srv = httptest.NewServer(handlers.New(handlers.Config{},
		handlers.Deps{Deps: dialect.Deps{Store: env.st, Keys: keys, Log: log}}))
	b.Cleanup(env.srv.Close)
	if env.pool, err = pgxpool.New(ctx, dbURL); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(env.pool.Close)
	return env
}

// uploadItem is one chat or offline message of a benchmark batch: its
// visitor, start and message texts (one text for an offline message).
type uploadItem struct {
	email string
	at    time.Time
	texts []string
}

// uploadBatch returns n items of k messages for run r, with visitors new to
// the account (so that contacts are created too) and times in the past.
func uploadBatch(r, n, k int) []uploadItem {
	base := time.Now().UTC().Add(-time.Duration(r+1) * time.Hour).Truncate(time.Second)
	items := make([]uploadItem, n)
	for i := range items {
		it := uploadItem{email: fmt.Sprintf("visitor-%d-%d@example.com", r, i), at: base.Add(time.Duration(i) * time.Second)}
		for j := range k {
			it.texts = append(it.texts, fmt.Sprintf("message %d of item %d", j, i))
		}
		items[i] = it
	}
	return items
}

// rpc posts one JSON-RPC request and fails the benchmark unless it answers a
// result.
func (env *uploadEnv) rpc(b *testing.B, method string, params map[string]any) {
	body, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
	if err != nil {
		b.Fatal(err)
	}
	res, err := http.Post(env.srv.URL+"/data-api/v2.0", "application/json", bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	out, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !bytes.Contains(out, []byte(`"result"`)) {
		b.Fatalf("%s: %d %s", method, res.StatusCode, out)
	}
}

// copyRows writes the items with storetest.CopyUpload in one transaction:
// the floor an upload is measured against.
func (env *uploadEnv) copyRows(b *testing.B, items []uploadItem, channel string) {
	cases := make([]storetest.UploadCase, len(items))
	for i, it := range items {
		c := storetest.UploadCase{Email: it.email, At: it.at}
		for j, text := range it.texts {
			m := storetest.UploadMessage{Text: text, At: it.at.Add(time.Duration(j) * time.Second)}
			if j%2 == 1 {
				m.AgentID = env.agent
			}
			c.Messages = append(c.Messages, m)
		}
		cases[i] = c
	}
	ctx := context.Background()
	err := pgx.BeginFunc(ctx, env.pool, func(tx pgx.Tx) error {
		return storetest.CopyUpload(ctx, tx, env.account, env.site, channel, cases)
	})
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkUpload sends CallGear uploads of 500 chats of 10 messages and of
// 500 offline messages, one HTTP request each, b.N times each, and writes the
// same rows with pgx CopyFrom in the same run. It reports the p50 and p99 of
// both and the ratio of the p50s.
//
//	go test -run '^$' -bench Upload -benchtime 20x ./handlers
func BenchmarkUpload(b *testing.B) {
	for _, tc := range []struct {
		name, method, list, channel string
		messages                    int
	}{
		{"chats-500x10", "upload.chats", "chats", "chat", 10},
		{"offline-messages-500", "upload.offline_messages", "offline_messages", "offline", 1},
	} {
		b.Run(tc.name, func(b *testing.B) {
			env := mustUploadEnv(b)
			var up, cp []time.Duration
			for r := 0; r < b.N; r++ {
				items := uploadBatch(r, 500, tc.messages)
				var list []map[string]any
				for _, it := range items {
					m := map[string]any{"email": it.email, "site_id": env.site}
					if tc.channel == "chat" {
						m["start_date_time"] = it.at.Format(time.DateTime)
						m["status"] = "succeeded"
						var msgs []map[string]any
						for j, text := range it.texts {
							msg := map[string]any{"date_time": it.at.Add(time.Duration(j) * time.Second).Format(time.DateTime), "source": "visitor", "message": text}
							if j%2 == 1 {
								msg["source"], msg["employee_id"] = "operator", env.agent
							}
							msgs = append(msgs, msg)
						}
						m["messages"] = msgs
					} else {
						m["date_time"] = it.at.Format(time.DateTime)
						m["message"] = it.texts[0]
					}
					list = append(list, m)
				}
				t0 := time.Now()
				env.rpc(b, tc.method, map[string]any{"access_token": env.token, tc.list: list})
				up = append(up, time.Since(t0))

				// The baseline writes the same rows for other visitors.
				copyItems := uploadBatch(r+b.N+1, 500, tc.messages)
				t0 = time.Now()
				env.copyRows(b, copyItems, tc.channel)
				cp = append(cp, time.Since(t0))
			}
			b.StopTimer()
			pct := func(d []time.Duration, p int) float64 {
				s := slices.Clone(d)
				slices.Sort(s)
				return float64(s[(len(s)-1)*p/100].Microseconds()) / 1000
			}
			b.ReportMetric(pct(up, 50), "p50-ms")
			b.ReportMetric(pct(up, 99), "p99-ms")
			b.ReportMetric(pct(cp, 50), "copy-p50-ms")
			b.ReportMetric(pct(cp, 99), "copy-p99-ms")
			b.ReportMetric(pct(up, 50)/pct(cp, 50), "ratio")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// BenchmarkAcquireAddMessage measures what queueing an email adds to a
// message: Acquire's chat/add-message and mail/add-message into the same
// kind of case on PostgreSQL, one client, b.N requests each, alternating so
// that both see the same database. It reports both p50 latencies and the
// difference.
//
//	go test -run '^$' -bench AcquireAddMessage -benchtime 3000x ./handlers
func BenchmarkAcquireAddMessage(b *testing.B) {
	if _, err := storetest.Postgres(); err != nil {
		b.Fatalf("this benchmark runs on PostgreSQL: set %s or start a local server: %v", storetest.EnvURL, err)
	}
	ctx := context.Background()
	st := storetest.MustOpen(b, store.Postgres)
	acct := storetest.MustAccount(b, st, "Bench")
	many := 1 << 30
	if _, err := st.UpdateAccount(ctx, acct.ID, store.AccountUpdate{EmailsPerHour: &many}); err != nil {
		b.Fatal(err)
	}
	storetest.MustAgent(b, st, acct.ID, "bench@example.com", models.RoleSuperadmin, "x")
	if _, err := st.CreateInbox(ctx, acct.ID, models.InboxEmail, "help@bench.example"); err != nil {
		b.Fatal(err)
	}
	contact := storetest.MustContact(b, st, acct.ID, "Visitor", "visitor@example.com", "")
	var cases []int64
	for range benchCases {
		c, err := st.CreateCase(ctx, acct.ID, store.NewCase{ContactID: contact.ID})
		if err != nil {
			b.Fatal(err)
		}
		cases = append(cases, c.ID)
	}
	keys, err := auth.NewKeys([]byte("bench-secret-bench-secret-bench-secret"), st, auth.KeysOptions{})
	if err != nil {
		b.Fatal(err)
	}
	_, token, err := keys.Issue(ctx, acct.ID, auth.KeySpec{Name: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := httptest.NewServer(handlers.New(handlers.Config{}, handlers.Deps{Deps: dialect.Deps{Store: st, Keys: keys, Log: log}}))
	defer srv.Close()
	post := func(path string, body []byte) time.Duration {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		t0 := time.Now()
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		out, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			b.Fatalf("%s: %d %s", path, res.StatusCode, out)
		}
		return time.Since(t0)
	}
	var chat, mail []time.Duration
	b.ResetTimer()
	for i := range b.N {
		c := cases[i%benchCases]
		chat = append(chat, post("/api/v1/crm/messenger/chat/add-message",
			fmt.Appendf(nil, `{"channel":"chat","message":{"type":"message","message":"reply %d"},"caseId":%d}`, i, c)))
		mail = append(mail, post("/api/v1/mail/add-message",
			fmt.Appendf(nil, `{"data":{"caseId":%d,"contactId":%d,"to":["visitor@example.com"],"from":"help@bench.example","cc":[],"bcc":[],"subject":"Re: %d","type":"message","textBody":"reply %d","htmlBody":"<p>reply %d</p>","attachments":[]}}`, c, contact.ID, i, i, i)))
	}
	b.StopTimer()
	p50 := func(d []time.Duration) float64 {
		s := slices.Clone(d)
		slices.Sort(s)
		return float64(s[len(s)/2].Microseconds()) / 1000
	}
	b.ReportMetric(p50(chat), "chat-p50-ms")
	b.ReportMetric(p50(mail), "mail-p50-ms")
	b.ReportMetric(p50(mail)-p50(chat), "added-ms")
	b.ReportMetric(0, "ns/op")
}

package reve_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"switchboard/auth"
	"switchboard/handlers"
	"switchboard/handlers/dialect"
	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

// fixedCaller skips the credential check: every request is the one superadmin.
type fixedCaller struct{ caller auth.Caller }

func (f fixedCaller) Authenticate(context.Context, string, string, string) (auth.Caller, error) {
	return f.caller, nil
}

// benchEnv is a PostgreSQL store seeded with offline messages in one account.
type benchEnv struct {
	st    *store.Store
	admin models.Agent
	rows  int
}

const benchPassword = "bench-password"

// mustBenchEnv seeds SWITCHBOARD_BENCH_ROWS offline messages (default
// 1,000,000), one every 30 seconds going back from now, so about 347 days.
func mustBenchEnv(b *testing.B) *benchEnv {
	b.Helper()
	return newBenchEnv(b, "offline messages", storetest.SeedOfflineMessages)
}

// mustChatBenchEnv seeds SWITCHBOARD_BENCH_ROWS closed chats the same way:
// one every 30 seconds going back from now, every other one answered by the
// superadmin (its assignee), the others lost.
func mustChatBenchEnv(b *testing.B) *benchEnv {
	b.Helper()
	return newBenchEnv(b, "chats", storetest.SeedChats)
}

// newBenchEnv makes a PostgreSQL store with one account and its superadmin,
// and seeds it with SWITCHBOARD_BENCH_ROWS rows of what seed writes.
func newBenchEnv(b *testing.B, what string,
	seed func(tb testing.TB, s *store.Store, accountID, agentID int64, n int, newest time.Time, spacing time.Duration)) *benchEnv {
	b.Helper()
	if _, err := storetest.Postgres(); err != nil {
		b.Fatalf("these benchmarks run on PostgreSQL: set %s or start a local server: %v", storetest.EnvURL, err)
	}
	rows := 1_000_000
	if v := os.Getenv("SWITCHBOARD_BENCH_ROWS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 100 {
			b.Fatalf("SWITCHBOARD_BENCH_ROWS=%q: want a number of at least 100", v)
		}
		rows = n
	}
	st := storetest.MustOpen(b, store.Postgres)
	// As the server does: Basic auth reuses an agent it read until one
	// changes on any replica (auth.AgentVersions).
	ctx, cancel := context.WithCancel(context.Background())
	listening := make(chan struct{})
	go func() { defer close(listening); _ = st.ListenAgents(ctx, nil) }()
	b.Cleanup(func() { cancel(); <-listening })
	acct := storetest.MustAccount(b, st, "Bench")
	// The real cost: a bcrypt hash of DefaultCost, as production stores it.
	hash, err := auth.Hasher{}.Hash(benchPassword)
	if err != nil {
		b.Fatal(err)
	}
	admin := storetest.MustAgent(b, st, acct.ID, "bench@example.com", models.RoleSuperadmin, hash)
	start := time.Now()
	seed(b, st, acct.ID, admin.ID, rows, time.Now().UTC(), 30*time.Second)
	b.Logf("seeded %d %s in %s", rows, what, time.Since(start).Round(time.Millisecond))
	return &benchEnv{st: st, admin: admin, rows: rows}
}

// server returns the real router over the seeded store with authn checking
// Basic credentials.
func (env *benchEnv) server(b *testing.B, authn dialect.Passwords) *httptest.Server {
	b.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	return httptest.NewServer(handlers.New(handlers.Config{},
		handlers.Deps{Deps: dialect.Deps{Store: env.st, Passwords: authn, Log: log}}))
}

// runLoad sends GETs of path with 32 concurrent clients for b.N requests and
// reports requests per second and p50/p99 latency.
func runLoad(b *testing.B, srv *httptest.Server, path string) {
	b.Helper()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64}}
	defer client.CloseIdleConnections()
	var mu sync.Mutex
	var lat []time.Duration
	b.SetParallelism(16) // × GOMAXPROCS (2 here) = 32 clients
	b.ResetTimer()
	start, cpu0 := time.Now(), processCPU(b)
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
			req.SetBasicAuth("bench@example.com", benchPassword)
			t0 := time.Now()
			res, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			mine = append(mine, time.Since(t0))
			if res.StatusCode != http.StatusOK {
				b.Errorf("%s: status %d", path, res.StatusCode)
				return
			}
		}
		mu.Lock()
		lat = append(lat, mine...)
		mu.Unlock()
	})
	elapsed, cpu := time.Since(start), processCPU(b)-cpu0
	b.StopTimer()
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	// The process's CPU (server and clients, PostgreSQL's not) per request:
	// steadier than throughput on a shared machine.
	b.ReportMetric(float64(cpu.Microseconds())/float64(len(lat)), "cpu-us/req")
}

// processCPU returns the user and system CPU time this process has used.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkOfflineMessages measures GET /api/offlinemessages on PostgreSQL
// with SWITCHBOARD_BENCH_ROWS offline messages in one account, at 32
// concurrent clients: page 1 with the cached Basic check, with the credential
// check skipped, and with bcrypt on every request; and a page near the end.
func BenchmarkOfflineMessages(b *testing.B) {
	env := mustBenchEnv(b)
	basic, err := auth.NewBasic(env.st, auth.BasicOptions{})
	if err != nil {
		b.Fatal(err)
	}
	uncached, err := auth.NewBasic(env.st, auth.BasicOptions{CacheTTL: time.Nanosecond})
	if err != nil {
		b.Fatal(err)
	}
	// Reading the agent at most once a second per credentials: a changed
	// password or a disabled agent counts within that second.
	agentTTL, err := auth.NewBasic(env.st, auth.BasicOptions{AgentTTL: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	skip := fixedCaller{auth.Caller{AccountID: env.admin.AccountID, AgentID: env.admin.ID, Role: models.RoleSuperadmin}}
	lastPage := (env.rows + 19) / 20
	deep := fmt.Sprintf("/api/offlinemessages?page_no=%d", lastPage-1)
	cases := []struct {
		name  string
		authn dialect.Passwords
		path  string
	}{
		{"page1/basic-cached", basic, "/api/offlinemessages"},
		{"page1/basic-agent-ttl-1s", agentTTL, "/api/offlinemessages"},
		{"page1/auth-skipped", skip, "/api/offlinemessages"},
		{"page1/bcrypt-every-request", uncached, "/api/offlinemessages"},
		{"deep/basic-cached", basic, deep},
		{"deep/basic-agent-ttl-1s", agentTTL, deep},
		{"deep/auth-skipped", skip, deep},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			srv := env.server(b, c.authn)
			defer srv.Close()
			runLoad(b, srv, c.path)
		})
	}
	b.Run("page1/raw-keyset", func(b *testing.B) {
		db, err := env.st.GORM().DB()
		if err != nil {
			b.Fatal(err)
		}
		srv := httptest.NewServer(keysetPage(db, env.admin.AccountID, 20))
		defer srv.Close()
		runLoad(b, srv, "/api/offlinemessages")
	})
}

// keysetPage is issue 22's baseline of REVE's page 1: a plain keyset page
// of the account's cases (WHERE account_id = $1 ORDER BY id DESC LIMIT n)
// read through the store's own pool (pgx under database/sql) and answered
// as JSON by net/http, with no framework, authentication or ORM.
func keysetPage(db *sql.DB, accountID int64, size int) http.Handler {
	type row struct {
		ID           int64  `json:"offline_message_id"`
		ContactID    int64  `json:"visitor_id"`
		Subject      string `json:"subject"`
		ReceivedTime int64  `json:"received_time"`
		Unread       bool   `json:"unread"`
	}
	query := `SELECT id, contact_id, subject, started_at, unread FROM cases
		WHERE account_id = $1 ORDER BY id DESC LIMIT ` + strconv.Itoa(size)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rows, err := db.QueryContext(r.Context(), query, accountID)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer rows.Close()
		out := make([]row, 0, size)
		for rows.Next() {
			var o row
			var at time.Time
			if err := rows.Scan(&o.ID, &o.ContactID, &o.Subject, &at, &o.Unread); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			o.ReceivedTime = at.UnixMilli()
			out = append(out, o)
		}
		if err := rows.Err(); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	})
}

// BenchmarkListOfflineMessages measures the store alone, one caller at a
// time: page 1, the page before the last, and for contrast the plain OFFSET
// query that the day counts replace.
func BenchmarkListOfflineMessages(b *testing.B) {
	env := mustBenchEnv(b)
	ctx := context.Background()
	last := int64((env.rows + 19) / 20)
	for _, page := range []struct {
		name string
		no   int64
	}{{"page1", 1}, {"middle", last / 2}, {"near-end", last - 1}} {
		b.Run(page.name, func(b *testing.B) {
			for b.Loop() {
				rows, err := env.st.ListOfflineCases(ctx, env.admin.AccountID, page.no, 20)
				if err != nil || len(rows) != 20 {
					b.Fatalf("page %d: %d rows, %v", page.no, len(rows), err)
				}
			}
		})
	}
	b.Run("near-end/plain-offset", func(b *testing.B) {
		db := env.st.GORM()
		for b.Loop() {
			var ids []int64
			err := db.Raw(`SELECT id FROM cases WHERE account_id = ? AND channel = 'offline'
				ORDER BY started_at DESC, id DESC LIMIT 20 OFFSET ?`, env.admin.AccountID, (last-2)*20).Scan(&ids).Error
			if err != nil || len(ids) != 20 {
				b.Fatalf("%d ids, %v", len(ids), err)
			}
		}
	})
}

// BenchmarkListChats measures the chat list on PostgreSQL with
// SWITCHBOARD_BENCH_ROWS chats in one account. The store alone, one caller at
// a time, with the bounds GET /api/chats sends by default (1970-01-01 to the
// end of today in the account's zone): page 1, a middle page and the page
// before the last, and for contrast the plain OFFSET query that the day
// counts replace; then one agent's chats (OFFSET over that agent's index
// entries: half the account's here). Then GET /api/chats/?page_no=N through
// the router at 32 concurrent clients with the cached Basic check, page 1
// and the page before the last.
func BenchmarkListChats(b *testing.B) {
	env := mustChatBenchEnv(b)
	ctx := context.Background()
	last := int64((env.rows + 19) / 20)
	now := time.Now().UTC()
	from := time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	to := time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, time.UTC)
	list := func(b *testing.B, q store.ChatQuery) {
		q.From, q.To, q.Size = from, to, 20
		for b.Loop() {
			rows, err := env.st.ListChats(ctx, env.admin.AccountID, q)
			if err != nil || len(rows) != 20 {
				b.Fatalf("page %d: %d rows, %v", q.Page, len(rows), err)
			}
		}
	}
	for _, page := range []struct {
		name string
		no   int64
	}{{"page1", 1}, {"middle", last / 2}, {"near-end", last - 1}} {
		b.Run(page.name, func(b *testing.B) { list(b, store.ChatQuery{Page: page.no}) })
	}
	b.Run("near-end/plain-offset", func(b *testing.B) {
		db := env.st.GORM()
		for b.Loop() {
			var ids []int64
			err := db.Raw(`SELECT id FROM cases WHERE account_id = ? AND channel = 'chat'
				ORDER BY started_at DESC, id DESC LIMIT 20 OFFSET ?`, env.admin.AccountID, (last-2)*20).Scan(&ids).Error
			if err != nil || len(ids) != 20 {
				b.Fatalf("%d ids, %v", len(ids), err)
			}
		}
	})
	// Half the chats are the agent's: its last page is about last/2.
	agentID := env.admin.ID
	b.Run("agent/page1", func(b *testing.B) { list(b, store.ChatQuery{Page: 1, AgentID: &agentID}) })
	b.Run("agent/near-end", func(b *testing.B) { list(b, store.ChatQuery{Page: last/2 - 1, AgentID: &agentID}) })

	basic, err := auth.NewBasic(env.st, auth.BasicOptions{})
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct{ name, path string }{
		{"http/page1", "/api/chats/?page_no=1"},
		{"http/near-end", fmt.Sprintf("/api/chats/?page_no=%d", last-1)},
	} {
		b.Run(c.name, func(b *testing.B) {
			srv := env.server(b, basic)
			defer srv.Close()
			runLoad(b, srv, c.path)
		})
	}
}

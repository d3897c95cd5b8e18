package handlers_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/labstack/echo/v4"

	"switchboard/auth"
	"switchboard/handlers"
	"switchboard/handlers/dialect"
	"switchboard/handlers/guard"
	"switchboard/models"
	"switchboard/ratelimit"
	"switchboard/ratelimit/redistest"
	"switchboard/store"
	"switchboard/store/storetest"
)

// BenchmarkGuards measures what the guards add to HelpCrunch's
// POST /v1/messages on PostgreSQL: the same route, database and load
// (benchClients clients, b.N requests each run) without guards, with the
// rate limits counted in this process, with them counted in Redis, and with
// an Idempotency-Key on every request (each one new, so each is claimed and
// stored). The limits run as serve runs them: per client address, then the
// key's minute and day windows, with limits too high to refuse anything. It
// runs each variant with benchClients clients (b.N requests) and then with
// one client (b.N/10), and reports each run's p50 and p99 and the p50 each
// guard adds.
//
//	go test -run '^$' -bench Guards -benchtime 20000x ./handlers
func BenchmarkGuards(b *testing.B) {
	if _, err := storetest.Postgres(); err != nil {
		b.Fatalf("this benchmark runs on PostgreSQL: set %s or start a local server: %v", storetest.EnvURL, err)
	}
	ctx := context.Background()
	st := storetest.MustOpenURL(b, storetest.MustURL(b, store.Postgres))
	acct := storetest.MustAccount(b, st, "Bench")
	unlimited := 1 << 30
	if _, err := st.UpdateAccount(ctx, acct.ID, store.AccountUpdate{RateLimit: &unlimited, DailyRateLimit: &unlimited}); err != nil {
		b.Fatal(err)
	}
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
	redisURL := redistest.MustURL(b)
	inRedis, err := ratelimit.NewRedis(redisURL, redistest.MustPrefix(b, redisURL), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer inRedis.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	limitsOn := func(c guard.Counter) *guard.Limits {
		return guard.NewLimits(c, st, guard.LimitsConfig{PerIP: unlimited}, nil, log)
	}
	server := func(limits *guard.Limits, idem *guard.Idempotency) *httptest.Server {
		return httptest.NewServer(handlers.New(handlers.Config{},
			handlers.Deps{Deps: dialect.Deps{Store: st, Keys: keys, Limits: limits, Idempotency: idem, Log: log}}))
	}
	body := func(i int64) []byte {
		return fmt.Appendf(nil, `{"chat":%d,"text":"reply %d","agent":%d,"type":"message"}`, chats[i%benchCases], i, agent.ID)
	}
	run := 0
	withKey := func(i int64, h http.Header) {
		h.Set(guard.HeaderIdempotencyKey, "bench-"+strconv.Itoa(run)+"-"+strconv.FormatInt(i, 10))
	}
	variants := []struct {
		name   string
		srv    *httptest.Server
		header func(int64, http.Header)
	}{
		{"none", server(nil, nil), nil},
		{"memory", server(limitsOn(ratelimit.NewMemory()), nil), nil},
		{"redis", server(limitsOn(inRedis), nil), nil},
		{"idempotency", server(nil, guard.NewIdempotency(st, guard.IdempotencyConfig{}, nil, log)), withKey},
	}
	// Saturated (benchClients clients on two cores shared with PostgreSQL),
	// the added p50 is mostly the lost throughput; one client at a time shows
	// each guard's own cost.
	b.ResetTimer()
	for _, clients := range []int{benchClients, 1} {
		p50 := map[string]float64{}
		n := b.N
		if clients == 1 {
			n = max(b.N/10, 1)
		}
		for _, v := range variants {
			run++
			rate, p, p99 := loadN(b, clients, n, v.srv.URL+"/v1/messages", token, body, v.header)
			p50[v.name] = p
			tag := fmt.Sprintf("c%d-%s", clients, v.name)
			b.ReportMetric(rate, tag+"-req/s")
			b.ReportMetric(p, tag+"-p50-ms")
			b.ReportMetric(p99, tag+"-p99-ms")
		}
		for _, name := range []string{"memory", "redis", "idempotency"} {
			b.ReportMetric(p50[name]-p50["none"], fmt.Sprintf("c%d-%s-added-p50-ms", clients, name))
		}
	}
	b.StopTimer()
	for _, v := range variants {
		v.srv.Close()
	}
	b.ReportMetric(0, "ns/op") // the per-op time of many runs together means nothing
}

// BenchmarkLimits_ByCaller is the per-request cost of the rate limits alone,
// one request at a time: the per-address window and the key's minute and
// day windows, counted in this process or in Redis.
//
//	go test -run '^$' -bench Limits_ByCaller ./handlers
func BenchmarkLimits_ByCaller(b *testing.B) {
	st := storetest.MustOpen(b, store.SQLite)
	acct := storetest.MustAccount(b, st, "Bench")
	unlimited := 1 << 30
	if _, err := st.UpdateAccount(context.Background(), acct.ID, store.AccountUpdate{RateLimit: &unlimited, DailyRateLimit: &unlimited}); err != nil {
		b.Fatal(err)
	}
	redisURL := redistest.MustURL(b)
	inRedis, err := ratelimit.NewRedis(redisURL, redistest.MustPrefix(b, redisURL), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer inRedis.Close()
	for _, tc := range []struct {
		name    string
		counter guard.Counter
	}{{"memory", ratelimit.NewMemory()}, {"redis", inRedis}} {
		b.Run(tc.name, func(b *testing.B) {
			limits := guard.NewLimits(tc.counter, st, guard.LimitsConfig{PerIP: unlimited}, nil, nil)
			h := limits.ByIP()(limits.ByCaller()(func(echo.Context) error { return nil }))
			e := echo.New()
			caller := auth.Caller{AccountID: acct.ID, AgentID: 1, KeyID: "bench-key"}
			b.ResetTimer()
			for range b.N {
				req := httptest.NewRequest(http.MethodGet, "/", nil)
				req = req.WithContext(auth.WithCaller(req.Context(), caller))
				c := e.NewContext(req, httptest.NewRecorder())
				if err := h(c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

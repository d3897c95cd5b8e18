package store_test

import (
	"os"
	"strconv"
	"testing"
	"time"

	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

// BenchmarkLists measures, on PostgreSQL with SWITCHBOARD_BENCH_ROWS
// (default 1,000,000) chats and as many customers in one account, the store
// calls behind HelpCrunch's GET /v1/chats (on each sort key), GET
// /v1/customers (on each sort key) and Acquire's GET
// /api/v1/crm/objects/contact: page 1 and the last page at each list's
// default limit (100; Acquire 20), each with its total, and the total alone
// as the store reads it (the maintained counts) beside the COUNT(*) it
// replaces.
func BenchmarkLists(b *testing.B) {
	if _, err := storetest.Postgres(); err != nil {
		b.Fatalf("this benchmark runs on PostgreSQL: set %s or start a local server: %v", storetest.EnvURL, err)
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
	acct := storetest.MustAccount(b, st, "Bench")
	agent := storetest.MustAgent(b, st, acct.ID, "bench@example.com", models.RoleSuperadmin, "x")
	start := time.Now()
	now := time.Now().UTC()
	storetest.SeedChats(b, st, acct.ID, agent.ID, rows, now, 30*time.Second)
	// SeedChats made 1,000 contacts of its own: the customers are rows more.
	storetest.SeedContacts(b, st, acct.ID, rows, now, 30*time.Second)
	b.Logf("seeded %d chats and %d customers in %s", rows, rows+1000, time.Since(start).Round(time.Millisecond))
	ctx := b.Context()
	chats, customers := rows, rows+1000

	for _, sort := range []struct{ name, field string }{{"createdAt", store.CaseStartedAt}, {"lastMessageAt", store.CaseLastMessageAt},
		{"lastCustomerMessageAt", store.CaseLastCustomerMessageAt}, {"closedAt", store.CaseClosedAt}} {
		for _, page := range []struct {
			name   string
			offset int
		}{{"page1", 0}, {"last", (chats - 1) / 100 * 100}} {
			b.Run("chats/"+sort.name+"/"+page.name, func(b *testing.B) {
				q := store.CaseQuery{Sort: sort.field, Offset: page.offset, Limit: 100}
				for b.Loop() {
					views, total, err := st.ListCases(ctx, acct.ID, q)
					if err != nil || len(views) == 0 || total != int64(chats) {
						b.Fatalf("%d rows, total %d, %v", len(views), total, err)
					}
				}
			})
		}
	}
	for _, sort := range []struct{ name, field string }{{"firstSeen", store.ContactCreatedAt}, {"lastSeen", store.ContactUpdatedAt}} {
		for _, page := range []struct {
			name   string
			offset int
		}{{"page1", 0}, {"last", (customers - 1) / 100 * 100}} {
			b.Run("customers/"+sort.name+"/"+page.name, func(b *testing.B) {
				q := store.ContactQuery{Sort: sort.field, Offset: page.offset, Limit: 100}
				for b.Loop() {
					rows, total, err := st.ListContacts(ctx, acct.ID, q)
					if err != nil || len(rows) == 0 || total != int64(customers) {
						b.Fatalf("%d rows, total %d, %v", len(rows), total, err)
					}
				}
			})
		}
	}
	for _, page := range []struct {
		name   string
		offset int64
	}{{"page1", 0}, {"last", int64(customers-1) / 20 * 20}} {
		b.Run("acquire-contacts/"+page.name, func(b *testing.B) {
			q := store.ContactPageQuery{Offset: page.offset, Limit: 20}
			for b.Loop() {
				rows, total, err := st.ContactPage(ctx, acct.ID, q)
				if err != nil || len(rows) == 0 || total != int64(customers) {
					b.Fatalf("%d rows, total %d, %v", len(rows), total, err)
				}
			}
		})
	}
	db := st.GORM()
	for _, c := range []struct{ name, sql string }{
		{"total/chats", `SELECT COALESCE(SUM(n), 0) FROM case_day_counts WHERE account_id = ?`},
		{"total/chats/count-star", `SELECT COUNT(*) FROM cases WHERE account_id = ?`},
		{"total/customers", `SELECT COALESCE(SUM(n), 0) FROM contact_counts WHERE account_id = ?`},
		{"total/customers/count-star", `SELECT COUNT(*) FROM contacts WHERE account_id = ?`},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				var n int64
				if err := db.Raw(c.sql, acct.ID).Scan(&n).Error; err != nil || n == 0 {
					b.Fatalf("%d, %v", n, err)
				}
			}
		})
	}
}

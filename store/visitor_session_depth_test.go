package store_test

import (
	"os"
	"testing"
	"time"

	"switchboard/store"
	"switchboard/store/storetest"
)

// TestVisitorSessionReport_Depth measures, on PostgreSQL, what the visitor
// sessions report costs over a month of 1,000,000 sessions: the first page,
// the deepest offset CallGear allows, the newest page and a filtered page.
// It asserts nothing about time (it logs the figures, best of 5) and runs
// only with SWITCHBOARD_TEST_DEPTH=1: seeding takes a minute.
func TestVisitorSessionReport_Depth(t *testing.T) {
	if os.Getenv("SWITCHBOARD_TEST_DEPTH") != "1" {
		t.Skip("set SWITCHBOARD_TEST_DEPTH=1 to measure the report at 1,000,000 sessions")
	}
	s := storetest.MustOpen(t, store.Postgres)
	ctx := t.Context()
	acct := storetest.MustAccount(t, s, "Deep")
	site := mustSite(t, s, acct.ID, "shop.example.com")
	start := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	const n = 1_000_000
	// One session every 2.592 s fills March's 30 days.
	if err := s.GORM().Exec(`INSERT INTO visitor_sessions (account_id, ext_id, site_id, started_at, ip_address, platform, browser,
		browser_version, country, region, city, latitude, longitude, isp, referrer_url, page_views, created_at)
		SELECT ?, g, ?, ?::timestamptz + g * interval '2.592 seconds', '', '', '', '', 'LV', '', 'Riga', '', '', '', '', 1, now()
		FROM generate_series(1, ?) g`, acct.ID, site.ID, start, n).Error; err != nil {
		t.Fatal(err)
	}
	if err := s.GORM().Exec(`VACUUM ANALYZE visitor_sessions`).Error; err != nil {
		t.Fatal(err)
	}
	month := store.ListQuery{From: start, To: start.AddDate(0, 1, 0), Limit: 1000}
	cases := []struct {
		name string
		q    func(q *store.ListQuery)
	}{
		{"first page", func(*store.ListQuery) {}},
		{"deepest offset (100000)", func(q *store.ListQuery) { q.Offset = store.MaxListOffset }},
		{"newest first (the last page)", func(q *store.ListQuery) { q.Sort = []store.SortKey{{Field: store.SessionStartedAt, Desc: true}} }},
		{"one day", func(q *store.ListQuery) { q.From, q.To = start.AddDate(0, 0, 14), start.AddDate(0, 0, 15) }},
		{"filtered by city, deepest offset", func(q *store.ListQuery) {
			q.Filter, q.Offset = &store.Filter{Field: store.SessionCity, Op: store.OpEq, Value: "Riga"}, store.MaxListOffset
		}},
	}
	for _, c := range cases {
		q := month
		c.q(&q)
		best := time.Duration(1 << 62)
		var total int64
		for range 5 {
			began := time.Now()
			rows, tot, err := s.VisitorSessionReport(ctx, acct.ID, q)
			if err != nil || len(rows) == 0 {
				t.Fatalf("%s: %d rows, %v", c.name, len(rows), err)
			}
			best, total = min(best, time.Since(began)), tot
		}
		t.Logf("%-36s total %7d  best of 5: %v", c.name, total, best.Round(time.Millisecond))
	}
}

package console_test

import (
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"switchboard/handlers/console"
	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

// BenchmarkConsole_Inbox measures GET /console, the whole inbox page
// rendered through the real router for a signed-in agent, over an account
// of SWITCHBOARD_BENCH_CONSOLE_CASES offline cases (default 1,000,000) on
// PostgreSQL, a third of them unread: the first page (with the unread
// counts), a page filtered by status, a contact search, and a page deep in
// the list (keyset: after the cursor of a case near the oldest). It reports
// the median of the iterations as p50-ms.
//
//	go test -run '^$' -bench BenchmarkConsole_Inbox -benchtime 200x ./handlers/console/
func BenchmarkConsole_Inbox(b *testing.B) {
	if _, err := storetest.Postgres(); err != nil {
		b.Skip("needs PostgreSQL: ", err)
	}
	n := 1_000_000
	if v := os.Getenv("SWITCHBOARD_BENCH_CONSOLE_CASES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	st := storetest.MustOpen(b, store.Postgres)
	f := mustFixture(b, st, console.Config{})
	storetest.SeedOfflineMessages(b, st, f.one.ID, f.boss.ID, n, time.Now(), time.Second)
	var deep struct {
		ID            int64
		LastMessageAt time.Time
	}
	if err := st.GORM().Raw(`SELECT id, last_message_at FROM cases WHERE account_id = ? AND last_message_at IS NOT NULL
		ORDER BY last_message_at, id LIMIT 1 OFFSET 100`, f.one.ID).Scan(&deep).Error; err != nil {
		b.Fatal(err)
	}
	// The store's part of the first page, apart from the session check,
	// the agents' list and the template.
	b.Run(fmt.Sprintf("cases=%d/store-first", n), func(b *testing.B) {
		for b.Loop() {
			if _, _, err := st.Inbox(b.Context(), f.one.ID, store.InboxQuery{Limit: 50}); err != nil {
				b.Fatal(err)
			}
		}
	})
	// The inbox's unread counts alone: a third of the seeded cases are
	// unread, so the offline count stops at the cap.
	b.Run(fmt.Sprintf("cases=%d/store-unread", n), func(b *testing.B) {
		for b.Loop() {
			u, err := st.UnreadCounts(b.Context(), f.one.ID)
			if err != nil {
				b.Fatal(err)
			}
			if n >= 3*store.UnreadCap && u.ByChannel[models.ChannelOffline] != store.UnreadCap {
				b.Fatalf("offline unread = %d, want the cap %d", u.ByChannel[models.ChannelOffline], store.UnreadCap)
			}
		}
	})
	br := f.browser(b)
	br.signIn("boss@example.com")
	for _, tc := range []struct{ name, path string }{
		{"first", "/console"},
		{"status", "/console?status=open"},
		{"search", "/console?q=visitor42%40"},
		{"deep", fmt.Sprintf("/console?after=%d.%d", deep.LastMessageAt.UnixNano(), deep.ID)},
	} {
		b.Run(fmt.Sprintf("cases=%d/%s", n, tc.name), func(b *testing.B) {
			var took []time.Duration
			for b.Loop() {
				start := time.Now()
				p := br.get(tc.path)
				took = append(took, time.Since(start))
				if p.status != http.StatusOK {
					b.Fatalf("%s: %d\n%s", tc.path, p.status, p.body)
				}
			}
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
		})
	}
}

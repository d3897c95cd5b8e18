package store_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

// BenchmarkReports measures the CallGear reports on PostgreSQL over
// SWITCHBOARD_BENCH_ROWS chats (default 1,000,000), one every 30 seconds
// going back from now (about 347 days, 2,880 a day): the first and the
// deepest page (offset 100,000, CallGear's maximum) of a three-month
// window in either order, its total with and without a filter, the first
// and last page of a 30-day chats report, and the first and deepest page of
// a 30-day message report.
//
//	go test ./store/ -run '^$' -bench Reports -benchtime 20x
func BenchmarkReports(b *testing.B) {
	if _, err := storetest.Postgres(); err != nil {
		b.Skipf("PostgreSQL only: %v", err)
	}
	rows := 1_000_000
	if v := os.Getenv("SWITCHBOARD_BENCH_ROWS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 100 {
			b.Fatalf("SWITCHBOARD_BENCH_ROWS=%q: want a number of at least 100", v)
		}
		rows = n
	}
	s := storetest.MustOpen(b, store.Postgres)
	acct := storetest.MustAccount(b, s, "Bench")
	agent := storetest.MustAgent(b, s, acct.ID, "bench@example.com", models.RoleAgent, hash)
	now := time.Now().UTC().Truncate(time.Second)
	start := time.Now()
	storetest.SeedChats(b, s, acct.ID, agent.ID, rows, now, 30*time.Second)
	b.Logf("seeded %d chats in %s", rows, time.Since(start).Round(time.Second))
	ctx := context.Background()
	to := now.Add(-24 * time.Hour)
	quarter := store.ListQuery{Limit: 1000, From: to.AddDate(0, -3, 0), To: to}
	deep := func(q store.ListQuery, desc bool) store.ListQuery {
		q.Offset = store.MaxListOffset
		q.Sort = []store.SortKey{{Field: store.ReportCaseStartedAt, Desc: desc}}
		return q
	}
	filtered := quarter
	filtered.Filter = &store.Filter{Field: store.ReportCaseAssigneeID, Op: store.OpEq, Value: agent.ID}
	month := store.ListQuery{Limit: 1000, From: to.AddDate(0, 0, -30), To: to}
	// A month holds about 86,400 chats here: its last page is under
	// CallGear's offset cap.
	_, monthTotal, err := s.ReportCases(ctx, acct.ID, models.ChannelChat, store.ListQuery{Limit: 1, From: month.From, To: month.To})
	if err != nil {
		b.Fatal(err)
	}
	lastOfMonth := month
	lastOfMonth.Offset = int(min(max(monthTotal-1000, 0), store.MaxListOffset))
	deepMonth := month
	deepMonth.Offset = store.MaxListOffset
	for _, bc := range []struct {
		name string
		run  func() (int, int64, error)
	}{
		{"chats/first page", func() (int, int64, error) {
			r, n, err := s.ReportCases(ctx, acct.ID, models.ChannelChat, quarter)
			return len(r), n, err
		}},
		{"chats/offset 100000", func() (int, int64, error) {
			r, n, err := s.ReportCases(ctx, acct.ID, models.ChannelChat, deep(quarter, false))
			return len(r), n, err
		}},
		{"chats/offset 100000 newest first", func() (int, int64, error) {
			r, n, err := s.ReportCases(ctx, acct.ID, models.ChannelChat, deep(quarter, true))
			return len(r), n, err
		}},
		{"chats/filtered first page", func() (int, int64, error) {
			r, n, err := s.ReportCases(ctx, acct.ID, models.ChannelChat, filtered)
			return len(r), n, err
		}},
		{"chats/filtered offset 100000", func() (int, int64, error) {
			q := filtered
			q.Offset = store.MaxListOffset
			r, n, err := s.ReportCases(ctx, acct.ID, models.ChannelChat, q)
			return len(r), n, err
		}},
		{"chats/month first page", func() (int, int64, error) {
			r, n, err := s.ReportCases(ctx, acct.ID, models.ChannelChat, month)
			return len(r), n, err
		}},
		{"chats/month last page", func() (int, int64, error) {
			r, n, err := s.ReportCases(ctx, acct.ID, models.ChannelChat, lastOfMonth)
			return len(r), n, err
		}},
		{"messages/first page", func() (int, int64, error) {
			r, n, err := s.ReportChatMessages(ctx, acct.ID, nil, month)
			return len(r), n, err
		}},
		{"messages/offset 100000", func() (int, int64, error) {
			r, n, err := s.ReportChatMessages(ctx, acct.ID, nil, deepMonth)
			return len(r), n, err
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				got, total, err := bc.run()
				if err != nil {
					b.Fatal(err)
				}
				if got == 0 || total == 0 {
					b.Fatalf("%d rows of %d", got, total)
				}
			}
		})
	}
}

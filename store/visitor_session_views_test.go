package store_test

import (
	"slices"
	"testing"
	"time"

	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

func TestStore_VisitorSessionReport(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		acct := storetest.MustAccount(t, s, "A")
		other := storetest.MustAccount(t, s, "B")
		site := mustSite(t, s, acct.ID, "shop.example.com")
		site2 := mustSite(t, s, acct.ID, "blog.example.com")
		camp := mustCampaign(t, s, acct.ID, site.ID, "Spring sale")
		theirSite := mustSite(t, s, other.ID, "other.example.com")
		start := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
		var all []int64 // sessions of acct in start order, one an hour
		for i := range 7 {
			in := store.NewVisitorSession{SiteID: site.ID, StartedAt: start.Add(time.Duration(i) * time.Hour), IPAddress: "10.0.0.1"}
			if i%2 == 0 {
				in.CampaignID = &camp.ID
			}
			if i == 6 {
				in.SiteID, in.CampaignID = site2.ID, nil
			}
			v, err := s.CreateVisitorSession(ctx, acct.ID, in)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, v.ID)
		}
		// Outside the window, and another account's.
		if _, err := s.CreateVisitorSession(ctx, acct.ID, store.NewVisitorSession{SiteID: site.ID, StartedAt: start.Add(-time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateVisitorSession(ctx, other.ID, store.NewVisitorSession{SiteID: theirSite.ID, StartedAt: start}); err != nil {
			t.Fatal(err)
		}
		// An upload naming a session number the account has no session of
		// records it (ExtID 900001) with the uploaded case.
		number := int64(900001)
		ext := "crm-7"
		ids, err := s.UploadOfflineMessages(ctx, acct.ID, []store.OfflineUpload{{
			ReceivedAt: start.Add(90 * time.Minute), Contact: store.UploadContact{Name: "Bob", Email: "bob@example.com"},
			Message: "Hello?", Source: store.UploadSource{SiteID: &site.ID, VisitorSessionID: &number}, ExtID: &ext,
		}})
		if err != nil {
			t.Fatal(err)
		}
		window := store.ListQuery{From: start, To: start.Add(24 * time.Hour), Limit: 100}
		with := func(mod func(q *store.ListQuery)) store.ListQuery {
			q := window
			mod(&q)
			return q
		}
		// The uploaded session started at 01:30: between all[1] and all[2].
		rows, total, err := s.VisitorSessionReport(ctx, acct.ID, window)
		if err != nil {
			t.Fatal(err)
		}
		if total != 8 || len(rows) != 8 {
			t.Fatalf("total %d, %d rows, want 8", total, len(rows))
		}
		up := rows[2]
		if up.ExtID == nil || *up.ExtID != number || up.SiteDomain != "shop.example.com" || up.CampaignName != nil {
			t.Errorf("uploaded session = %+v", up)
		}
		if len(up.Cases) != 1 || up.Cases[0].ID != ids[0] || up.Cases[0].Channel != models.ChannelOffline ||
			up.Cases[0].ExtID == nil || *up.Cases[0].ExtID != ext || !up.Cases[0].StartedAt.Equal(start.Add(90*time.Minute)) {
			t.Errorf("uploaded session's cases = %+v", up.Cases)
		}
		if first := rows[0]; first.CampaignName == nil || *first.CampaignName != "Spring sale" || first.ExtID == nil || *first.ExtID != first.ID || len(first.Cases) != 0 {
			t.Errorf("first session = %+v", first)
		}
		order := []int64{all[0], all[1], up.ID, all[2], all[3], all[4], all[5], all[6]}
		rev := slices.Clone(order)
		slices.Reverse(rev)
		tests := []struct {
			name      string
			q         store.ListQuery
			want      []int64
			wantTotal int64
		}{
			{"first page", with(func(q *store.ListQuery) { q.Limit = 3 }), order[:3], 8},
			{"middle page", with(func(q *store.ListQuery) { q.Offset, q.Limit = 3, 3 }), order[3:6], 8},
			{"last page, from the other end", with(func(q *store.ListQuery) { q.Offset, q.Limit = 6, 3 }), order[6:], 8},
			{"past the end", with(func(q *store.ListQuery) { q.Offset, q.Limit = 8, 3 }), []int64{}, 8},
			{"newest first", with(func(q *store.ListQuery) { q.Sort = []store.SortKey{{Field: store.SessionStartedAt, Desc: true}} }), rev, 8},
			{"newest first, last page", with(func(q *store.ListQuery) {
				q.Sort, q.Offset, q.Limit = []store.SortKey{{Field: store.SessionStartedAt, Desc: true}}, 5, 3
			}), rev[5:], 8},
			{"a window", with(func(q *store.ListQuery) { q.From, q.To = start.Add(time.Hour), start.Add(3*time.Hour) }), order[1:4], 3},
			{"by campaign, missing last", with(func(q *store.ListQuery) {
				q.Sort = []store.SortKey{{Field: store.SessionCampaignName, Desc: true}}
			}), []int64{all[0], all[2], all[4], all[1], all[3], all[5], all[6], up.ID}, 8},
			{"by campaign, missing last, last page", with(func(q *store.ListQuery) {
				q.Sort, q.Offset, q.Limit = []store.SortKey{{Field: store.SessionCampaignName, Desc: true}}, 5, 3
			}), []int64{all[5], all[6], up.ID}, 8},
			{"filtered by site domain", with(func(q *store.ListQuery) {
				q.Filter = &store.Filter{Field: store.SessionSiteDomain, Op: store.OpEq, Value: "blog.example.com"}
			}), []int64{all[6]}, 1},
			{"filtered by number", with(func(q *store.ListQuery) {
				q.Filter = &store.Filter{Field: store.SessionNumber, Op: store.OpEq, Value: number}
			}), []int64{up.ID}, 1},
			{"filtered, a group", with(func(q *store.ListQuery) {
				q.Filter = &store.Filter{Group: &store.Group{Any: true, Filters: []store.Filter{
					{Field: store.SessionCampaignID, Op: store.OpEq, Value: nil},
					{Field: store.SessionID, Op: store.OpIn, Value: []int64{all[0]}},
				}}}
			}), []int64{all[0], all[1], up.ID, all[3], all[5], all[6]}, 6},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				rows, total, err := s.VisitorSessionReport(ctx, acct.ID, tt.q)
				if err != nil {
					t.Fatal(err)
				}
				got := []int64{}
				for _, r := range rows {
					got = append(got, r.ID)
				}
				if !slices.Equal(got, tt.want) || total != tt.wantTotal {
					t.Errorf("ids %v total %d, want %v %d", got, total, tt.want, tt.wantTotal)
				}
			})
		}
		t.Run("every offset", func(t *testing.T) {
			for off := range len(order) {
				rows, _, err := s.VisitorSessionReport(ctx, acct.ID, with(func(q *store.ListQuery) { q.Offset, q.Limit = off, 2 }))
				if err != nil || len(rows) == 0 || rows[0].ID != order[off] {
					t.Errorf("offset %d: %v, %v", off, rows, err)
				}
			}
		})
		t.Run("bad query", func(t *testing.T) {
			_, _, err := s.VisitorSessionReport(ctx, acct.ID, store.ListQuery{Limit: 0,
				Filter: &store.Filter{Field: "nope", Op: store.OpEq, Value: "x"}})
			assertFields(t, err, []string{"from", "to", "limit", "filter.field"})
		})
	})
}

// mustSite creates a site of the account.
func mustSite(tb testing.TB, s *store.Store, accountID int64, domain string) models.Site {
	tb.Helper()
	site, err := s.CreateSite(tb.Context(), accountID, domain)
	if err != nil {
		tb.Fatal(err)
	}
	return site
}

// mustCampaign creates a campaign of the site.
func mustCampaign(tb testing.TB, s *store.Store, accountID, siteID int64, name string) models.Campaign {
	tb.Helper()
	c, err := s.CreateCampaign(tb.Context(), accountID, siteID, name)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

package store_test

import (
	"slices"
	"testing"

	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

func TestStore_SiteList(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		acct := storetest.MustAccount(t, s, "A")
		other := storetest.MustAccount(t, s, "B")
		mustSite(t, s, other.ID, "theirs.example.com")
		a := mustSite(t, s, acct.ID, "b.example.com")
		b := mustSite(t, s, acct.ID, "a.example.com")
		c := mustSite(t, s, acct.ID, "c.example.org")
		tests := []struct {
			name      string
			q         store.ListQuery
			want      []int64
			wantTotal int64
		}{
			{"by id", store.ListQuery{Limit: 10}, []int64{a.ID, b.ID, c.ID}, 3},
			{"a page", store.ListQuery{Offset: 1, Limit: 1}, []int64{b.ID}, 3},
			{"past the end", store.ListQuery{Offset: 3, Limit: 1}, []int64{}, 3},
			{"by domain", store.ListQuery{Limit: 10, Sort: []store.SortKey{{Field: store.SiteDomain}}}, []int64{b.ID, a.ID, c.ID}, 3},
			{"by domain, descending", store.ListQuery{Limit: 10, Sort: []store.SortKey{{Field: store.SiteDomain, Desc: true}}}, []int64{c.ID, a.ID, b.ID}, 3},
			{"filtered", store.ListQuery{Limit: 10, Filter: &store.Filter{Field: store.SiteDomain, Op: store.OpLike, Value: "%.example.com"}}, []int64{a.ID, b.ID}, 2},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				rows, total, err := s.SiteList(t.Context(), acct.ID, tt.q)
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
		t.Run("bad query", func(t *testing.T) {
			_, _, err := s.SiteList(t.Context(), acct.ID, store.ListQuery{Limit: 1, Sort: []store.SortKey{{Field: "name"}}})
			assertFields(t, err, []string{"sort[0].field"})
		})
	})
}

func TestStore_CampaignList(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		acct := storetest.MustAccount(t, s, "A")
		other := storetest.MustAccount(t, s, "B")
		mustCampaign(t, s, other.ID, mustSite(t, s, other.ID, "theirs.example.com").ID, "Theirs")
		shop := mustSite(t, s, acct.ID, "shop.example.com")
		blog := mustSite(t, s, acct.ID, "blog.example.com")
		a := mustCampaign(t, s, acct.ID, shop.ID, "Spring sale")
		b := mustCampaign(t, s, acct.ID, blog.ID, "Blog ads")
		c := mustCampaign(t, s, acct.ID, shop.ID, "Autumn sale")
		rows, total, err := s.CampaignList(t.Context(), acct.ID, store.ListQuery{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if total != 3 || len(rows) != 3 || rows[0].ID != a.ID || rows[0].SiteDomain != "shop.example.com" || rows[1].SiteDomain != "blog.example.com" ||
			rows[0].Name != "Spring sale" || rows[0].SiteID != shop.ID {
			t.Errorf("campaigns = %+v, total %d", rows, total)
		}
		tests := []struct {
			name string
			q    store.ListQuery
			want []int64
		}{
			{"by site domain, then id", store.ListQuery{Limit: 10, Sort: []store.SortKey{{Field: store.CampaignSiteDomain}}}, []int64{b.ID, a.ID, c.ID}},
			{"by name", store.ListQuery{Limit: 10, Sort: []store.SortKey{{Field: store.CampaignName}}}, []int64{c.ID, b.ID, a.ID}},
			{"of a site", store.ListQuery{Limit: 10, Filter: &store.Filter{Field: store.CampaignSiteID, Op: store.OpEq, Value: shop.ID}}, []int64{a.ID, c.ID}},
			{"by site domain", store.ListQuery{Limit: 10, Filter: &store.Filter{Field: store.CampaignSiteDomain, Op: store.OpNe, Value: "shop.example.com"}}, []int64{b.ID}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				rows, _, err := s.CampaignList(t.Context(), acct.ID, tt.q)
				if err != nil {
					t.Fatal(err)
				}
				got := []int64{}
				for _, r := range rows {
					got = append(got, r.ID)
				}
				if !slices.Equal(got, tt.want) {
					t.Errorf("ids %v, want %v", got, tt.want)
				}
			})
		}
	})
}

func TestStore_AgentList(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		acct := storetest.MustAccount(t, s, "A")
		other := storetest.MustAccount(t, s, "B")
		storetest.MustAgent(t, s, other.ID, "theirs@example.com", models.RoleAgent, "x")
		boss := storetest.MustAgent(t, s, acct.ID, "boss@example.com", models.RoleSuperadmin, "x")
		ann := storetest.MustAgent(t, s, acct.ID, "ann@example.com", models.RoleAgent, "x")
		off := false
		if _, err := s.UpdateAgent(t.Context(), acct.ID, ann.ID, store.AgentUpdate{Enabled: &off}); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name      string
			q         store.ListQuery
			want      []int64
			wantTotal int64
		}{
			{"every agent, disabled too", store.ListQuery{Limit: 10}, []int64{boss.ID, ann.ID}, 2},
			{"by email", store.ListQuery{Limit: 10, Sort: []store.SortKey{{Field: store.AgentEmail}}}, []int64{ann.ID, boss.ID}, 2},
			{"by full name", store.ListQuery{Limit: 10, Filter: &store.Filter{Field: store.AgentFullName, Op: store.OpEq, Value: "First boss@example.com Last"}}, []int64{boss.ID}, 1},
			{"by role", store.ListQuery{Limit: 10, Filter: &store.Filter{Field: store.AgentRole, Op: store.OpIn, Value: []string{"agent", "admin"}}}, []int64{ann.ID}, 1},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				rows, total, err := s.AgentList(t.Context(), acct.ID, tt.q)
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
	})
}

package callgear_test

import (
	"net/http"
	"slices"
	"testing"

	"switchboard/store"
	"switchboard/store/storetest"
)

func TestGetSites(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		// A site the admin command (store.CreateSite) adds shows at once.
		added := mustSite(t, st, f.acct.ID, "Added.Example.org")
		call := func(params obj) response {
			return f.call(t, "get.sites", with(obj{"access_token": f.readToken}, flatten(params)...))
		}
		t.Run("defaults", func(t *testing.T) {
			rows, total := mustList(t, call(nil))
			if total != 3 || !slices.Equal(cells(rows, "id"), jsonIDs(f.site.ID, f.site2.ID, added.ID)) {
				t.Fatalf("ids %v total %d, want the account's 3 sites", cells(rows, "id"), total)
			}
			r := rows[2]
			if r["domain_name"] != "added.example.org" || r["name"] != "added.example.org" || r["is_editable"] != false ||
				r["creation_date"] != f.local(added.CreatedAt) || len(r) != 27 {
				t.Errorf("added site = %v (%d columns)", r, len(r))
			}
			for _, null := range []string{"default_phone_number", "site_key", "site_blocks", "state"} {
				if v, ok := r[null]; !ok || v != nil {
					t.Errorf("%s = %v, want null", null, v)
				}
			}
		})
		t.Run("fields and sort", func(t *testing.T) {
			rows, _ := mustList(t, call(obj{"fields": []any{"domain_name"}, "sort": []any{obj{"field": "domain_name", "order": "desc"}}}))
			if got := cells(rows, "domain_name"); !slices.Equal(got, []string{`"shop.example.com"`, `"blog.example.com"`, `"added.example.org"`}) || len(rows[0]) != 1 {
				t.Errorf("rows %v", rows)
			}
		})
		t.Run("filter", func(t *testing.T) {
			rows, total := mustList(t, call(obj{"filter": obj{"field": "domain_name", "operator": "in", "value": []any{"blog.example.com", "other.example.com"}}}))
			if total != 1 || !slices.Equal(cells(rows, "id"), jsonIDs(f.site2.ID)) {
				t.Errorf("ids %v total %d", cells(rows, "id"), total)
			}
			rows, total = mustList(t, call(obj{"filter": obj{"field": "creation_date", "operator": "<", "value": "2000-01-01 00:00:00"}}))
			if total != 0 || len(rows) != 0 {
				t.Errorf("created before 2000: ids %v total %d", cells(rows, "id"), total)
			}
			rows, total = mustList(t, call(obj{"filter": obj{"field": "creation_date", "operator": ">=", "value": "2000-01-01 00:00:00"}}))
			if total != 3 || len(rows) != 3 {
				t.Errorf("created since 2000: ids %v total %d", cells(rows, "id"), total)
			}
		})
		assertError(t, call(obj{"fields": []any{"title"}}), http.StatusOK, -32602, "unexpected_parameters", "fields[0]")
		assertError(t, call(obj{"filter": obj{"field": "title", "operator": "=", "value": "x"}}), http.StatusOK, -32602, "filter_prohibited", "filter.field")
		assertError(t, call(obj{"filter": obj{"field": "domain_name", "operator": "regexp", "value": "x"}}), http.StatusOK, -32602, "filter_prohibited", "filter.operator")
	})
}

func TestGetCampaigns(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		// A campaign the admin command (store.CreateCampaign) adds shows at once.
		added := mustCampaign(t, st, f.acct.ID, f.site2.ID, "Autumn sale")
		call := func(params obj) response {
			return f.call(t, "get.campaigns", with(obj{"access_token": f.readToken}, flatten(params)...))
		}
		t.Run("defaults", func(t *testing.T) {
			rows, total := mustList(t, call(nil))
			if total != 3 || !slices.Equal(cells(rows, "id"), jsonIDs(f.campaign.ID, f.campaign2.ID, added.ID)) {
				t.Fatalf("ids %v total %d, want the account's 3 campaigns", cells(rows, "id"), total)
			}
			r := rows[2]
			if r["name"] != "Autumn sale" || r["site_domain_name"] != "blog.example.com" || r["status"] != "active" || r["type"] != "basic" ||
				r["creation_time"] != f.local(added.CreatedAt) || r["costs"] != nil || len(r) != 15 {
				t.Errorf("added campaign = %v (%d columns)", r, len(r))
			}
			if _, ok := r["static_utm_source"]; ok {
				t.Errorf("static_utm_source is returned only when fields names it: %v", r)
			}
			if got := cells(rows, "site_id"); !slices.Equal(got, jsonIDs(f.site.ID, f.site2.ID, f.site2.ID)) {
				t.Errorf("site ids %v", got)
			}
		})
		t.Run("fields", func(t *testing.T) {
			rows, _ := mustList(t, call(obj{"fields": []any{"id", "static_utm_source"}}))
			if got := keysOf(rows[0]); !slices.Equal(got, []string{"id", "static_utm_source"}) || rows[0]["static_utm_source"] != nil {
				t.Errorf("row %v", rows[0])
			}
		})
		t.Run("sort", func(t *testing.T) {
			rows, _ := mustList(t, call(obj{"sort": []any{obj{"field": "site_id", "order": "desc"}, obj{"field": "name"}}}))
			if got := cells(rows, "id"); !slices.Equal(got, jsonIDs(added.ID, f.campaign2.ID, f.campaign.ID)) {
				t.Errorf("ids %v", got)
			}
		})
		filters := []struct {
			name   string
			filter obj
			want   []int64
		}{
			{"by site", obj{"field": "site_id", "operator": "=", "value": f.site2.ID}, []int64{f.campaign2.ID, added.ID}},
			{"by site domain", obj{"field": "site_domain_name", "operator": "like", "value": "shop.%"}, []int64{f.campaign.ID}},
			{"active", obj{"field": "status", "operator": "=", "value": "active"}, []int64{f.campaign.ID, f.campaign2.ID, added.ID}},
			{"inactive", obj{"field": "status", "operator": "=", "value": "inactive"}, nil},
			{"not basic", obj{"field": "type", "operator": "!=", "value": "basic"}, nil},
		}
		for _, tt := range filters {
			t.Run("filter "+tt.name, func(t *testing.T) {
				rows, total := mustList(t, call(obj{"filter": tt.filter}))
				if total != int64(len(tt.want)) || !slices.Equal(cells(rows, "id"), jsonIDs(tt.want...)) {
					t.Errorf("ids %v total %d, want %v", cells(rows, "id"), total, tt.want)
				}
			})
		}
		assertError(t, call(obj{"sort": []any{obj{"field": "status"}}}), http.StatusOK, -32602, "sort_prohibited", "sort[0].field")
		assertError(t, call(obj{"filter": obj{"field": "status", "operator": "=", "value": "paused"}}), http.StatusOK, -32602, "invalid_parameter_value", "filter.value")
		assertError(t, call(obj{"filter": obj{"field": "engine", "operator": "=", "value": "google.adwords"}}), http.StatusOK, -32602, "filter_prohibited", "filter.field")
	})
}

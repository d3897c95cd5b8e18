package callgear_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"switchboard/store"
	"switchboard/store/storetest"
)

func TestGetVisitorSessionsReport(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		// A chat and an offline message uploaded under a session number the
		// account has no session of: the upload records the session.
		const number = 777001
		chats := mustIDs(t, f.call(t, "upload.chats", obj{"access_token": f.token,
			"chats": []any{with(f.chatItem(), "visitor_session_id", number, "ext_id", "crm-chat-1")}}))
		offline := mustIDs(t, f.call(t, "upload.offline_messages", obj{"access_token": f.token,
			"offline_messages": []any{with(f.offlineItem(), "visitor_session_id", number, "date_time", "2024-03-05 14:40:00")}}))
		// Another account's session in the same period never shows.
		mustIDs(t, f.call(t, "upload.offline_messages", obj{"access_token": f.foreignToken,
			"offline_messages": []any{with(f.offlineItem(), "site_id", f.foreignSite.ID, "visitor_session_id", number)}}))
		march := obj{"access_token": f.readToken, "date_from": "2024-03-01 00:00:00", "date_till": "2024-03-31 23:59:59"}
		call := func(base obj, params obj) response {
			return f.call(t, "get.visitor_sessions_report", with(base, flatten(params)...))
		}

		t.Run("an uploaded session, in the account's time zone", func(t *testing.T) {
			rows, total := mustList(t, call(march, nil))
			if total != 1 || len(rows) != 1 {
				t.Fatalf("rows %v total %d, want the uploaded session", rows, total)
			}
			r := rows[0]
			// Europe/Kyiv: the chat started at 14:30 there, as uploaded.
			want := map[string]any{"id": json.Number("777001"), "ext_id": "777001", "date_time": "2024-03-05 14:30:00",
				"site_id": json.Number(jsonIDs(f.site.ID)[0]), "site_domain_name": "shop.example.com", "campaign_id": nil, "campaign_name": nil}
			for k, v := range want {
				if r[k] != v {
					t.Errorf("%s = %#v, want %#v", k, r[k], v)
				}
			}
			comms := mustJSON(t, r["communications"])
			wantComms := mustJSON(t, []any{
				obj{"communication_type": "chat", "communication_id": chats[0], "communication_date_time": "2024-03-05 14:30:00"},
				obj{"communication_type": "offline_message", "communication_id": offline[0], "communication_date_time": "2024-03-05 14:40:00"},
			})
			if comms != wantComms {
				t.Errorf("communications = %s, want %s", comms, wantComms)
			}
			if r["person_id"] == nil || r["person_id"] != r["visitor_id"] || r["gclid"] != nil || r["utm_source"] != nil || len(r) != 58 {
				t.Errorf("row = %v (%d columns)", r, len(r))
			}
		})

		january := obj{"access_token": f.readToken, "date_from": "2024-01-01 00:00:00", "date_till": "2024-01-31 23:59:59"}
		t.Run("a session created here", func(t *testing.T) {
			// The fixture's session started 2024-01-01 08:00 UTC, 10:00 in Kyiv.
			rows, total := mustList(t, call(january, obj{"fields": []any{"id", "date_time", "campaign_name", "communications"}}))
			if total != 1 || keysOf(rows[0])[0] != "campaign_name" || len(rows[0]) != 4 {
				t.Fatalf("rows %v total %d", rows, total)
			}
			want := obj{"campaign_name": "Spring sale", "communications": []any{}, "date_time": "2024-01-01 10:00:00", "id": json.Number(jsonIDs(*f.session.ExtID)[0])}
			if !mapsEqual(rows[0], want) {
				t.Errorf("row = %v, want %v", rows[0], want)
			}
		})
		periods := []struct {
			name      string
			from, til string
			want      int64
		}{
			{"date_till is the period's last second, included", "2023-12-01 00:00:00", "2024-01-01 10:00:00", 1},
			{"a second before", "2023-12-01 00:00:00", "2024-01-01 09:59:59", 0},
			{"date_from included", "2024-01-01 10:00:00", "2024-01-02 00:00:00", 1},
			{"a second after", "2024-01-01 10:00:01", "2024-01-02 00:00:00", 0},
		}
		for _, tt := range periods {
			t.Run(tt.name, func(t *testing.T) {
				_, total := mustList(t, call(obj{"access_token": f.readToken, "date_from": tt.from, "date_till": tt.til}, nil))
				if total != tt.want {
					t.Errorf("total %d, want %d", total, tt.want)
				}
			})
		}

		// Three more sessions in March: on site2, and two on site at 09:00
		// and 20:00 UTC of March 10.
		year := obj{"access_token": f.readToken, "date_from": "2024-01-01 00:00:00", "date_till": "2024-03-31 23:59:59"}
		s2 := mustSession(t, st, f.acct.ID, store.NewVisitorSession{SiteID: f.site2.ID, StartedAt: f.sessionStart.AddDate(0, 2, 9)})
		s3 := mustSession(t, st, f.acct.ID, store.NewVisitorSession{SiteID: f.site.ID, StartedAt: f.sessionStart.AddDate(0, 2, 9).Add(12 * 3600e9)})
		t.Run("sort", func(t *testing.T) {
			rows, total := mustList(t, call(year, obj{"fields": []any{"id"}, "sort": []any{obj{"field": "date_time", "order": "desc"}}}))
			if total != 4 || !slices.Equal(cells(rows, "id"), jsonIDs(*s3.ExtID, *s2.ExtID, number, *f.session.ExtID)) {
				t.Errorf("ids %v total %d", cells(rows, "id"), total)
			}
			rows, _ = mustList(t, call(year, obj{"fields": []any{"id"}, "sort": []any{obj{"field": "site_domain_name"}, obj{"field": "date_time", "order": "desc"}}}))
			if !slices.Equal(cells(rows, "id"), jsonIDs(*s2.ExtID, *s3.ExtID, number, *f.session.ExtID)) {
				t.Errorf("by site: ids %v", cells(rows, "id"))
			}
		})
		t.Run("paging from the end", func(t *testing.T) {
			rows, total := mustList(t, call(year, obj{"fields": []any{"id"}, "offset": 3, "limit": 2}))
			if total != 4 || !slices.Equal(cells(rows, "id"), jsonIDs(*s3.ExtID)) {
				t.Errorf("ids %v total %d", cells(rows, "id"), total)
			}
		})
		filters := []struct {
			name   string
			filter obj
			want   []int64
		}{
			{"by site", obj{"field": "site_id", "operator": "=", "value": f.site.ID}, []int64{*f.session.ExtID, number, *s3.ExtID}},
			{"by ext_id", obj{"field": "ext_id", "operator": "=", "value": "777001"}, []int64{number}},
			{"by id", obj{"field": "id", "operator": "in", "value": []any{number, *s2.ExtID}}, []int64{number, *s2.ExtID}},
			{"without campaign, in Kyiv's March 10", obj{"condition": "and", "filters": []any{
				obj{"field": "campaign_id", "operator": "=", "value": nil},
				obj{"field": "date_time", "operator": ">=", "value": "2024-03-10 00:00:00"},
			}}, []int64{*s2.ExtID, *s3.ExtID}},
		}
		for _, tt := range filters {
			t.Run("filter "+tt.name, func(t *testing.T) {
				rows, total := mustList(t, call(year, obj{"fields": []any{"id"}, "filter": tt.filter}))
				if total != int64(len(tt.want)) || !slices.Equal(cells(rows, "id"), jsonIDs(tt.want...)) {
					t.Errorf("ids %v total %d, want %v", cells(rows, "id"), total, tt.want)
				}
			})
		}
		errs := []struct {
			name     string
			params   obj
			mnemonic string
			field    string
		}{
			{"no date_from", with(january, "date_from", nil), "required_parameter_missed", "date_from"},
			{"no date_till", with(january, "date_till", nil), "required_parameter_missed", "date_till"},
			{"over three months", with(january, "date_till", "2024-04-01 00:00:01"), "date_interval_limit_reached", "date_till"},
			{"an unknown field", with(january, "fields", []any{"id", "mood"}), "unexpected_parameters", "fields[1]"},
			{"an unknown filter field", with(january, "filter", obj{"field": "mood", "operator": "=", "value": "x"}), "filter_prohibited", "filter.field"},
			{"an unknown sort field", with(january, "sort", []any{obj{"field": "mood"}}), "sort_prohibited", "sort[0].field"},
			{"a column not recorded", with(january, "filter", obj{"field": "utm_source", "operator": "=", "value": "x"}), "filter_prohibited", "filter.field"},
			{"limit over 10000", with(january, "limit", 10001), "invalid_parameter_value", "limit"},
		}
		for _, tt := range errs {
			t.Run(tt.name, func(t *testing.T) {
				assertError(t, f.call(t, "get.visitor_sessions_report", tt.params), http.StatusOK, -32602, tt.mnemonic, tt.field)
			})
		}
	})
}

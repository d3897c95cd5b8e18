package callgear_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"switchboard/auth"
	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

// report is a get method's result as a client reads it.
type report struct {
	Data     []map[string]any `json:"data"`
	Metadata struct {
		TotalItems *int64          `json:"total_items"`
		Limits     json.RawMessage `json:"limits"`
	} `json:"metadata"`
}

// mustReport calls a get method and returns its rows and total.
func (f *fixture) mustReport(tb testing.TB, method string, params obj) report {
	tb.Helper()
	r := f.call(tb, method, with(params, "access_token", f.readToken))
	res := mustRPC(tb, r, http.StatusOK)
	if res.Error != nil {
		tb.Fatalf("want a result, got %s", r.body)
	}
	var out report
	if err := json.Unmarshal(res.Result, &out); err != nil || out.Metadata.TotalItems == nil {
		tb.Fatalf("result is not {data, metadata: {total_items}}: %s", res.Result)
	}
	return out
}

// day returns params for the whole local day of date ("2024-03-05").
func day(date string) obj {
	return obj{"date_from": date + " 00:00:00", "date_till": date + " 23:59:59"}
}

// column returns the values of one column of the rows.
func column(rows []map[string]any, name string) []any {
	out := make([]any, len(rows))
	for i, r := range rows {
		out[i] = r[name]
	}
	return out
}

// TestReports_Records uploads offline messages and a chat through CallGear
// and writes others as the other dialects do (the store's CreateOfflineCase
// and CreateCase with AddMessage), then reads each back through its report:
// on the right day of the account's time zone (UTC+2 here), with ext_id,
// the columns filled and the unfilled ones null.
func TestReports_Records(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		ctx := context.Background()
		late := with(f.offlineItem(), "date_time", "2024-03-05 23:30:00", "ext_id", "crm-1", "campaign_id", f.campaign.ID)
		// 00:30 local on the 6th is still the 5th in UTC.
		early := with(f.offlineItem(), "date_time", "2024-03-06 00:30:00", "ext_id", 77, "email", nil)
		ids := mustIDs(t, f.call(t, "upload.offline_messages", obj{"access_token": f.token, "offline_messages": []any{late, early}}))
		chat := with(f.chatItem(), "start_date_time", "2024-03-05 23:30:00", "ext_id", "chat-1", "status", "succeed")
		chat["messages"] = []any{
			obj{"date_time": "2024-03-05 23:30:10", "source": "visitor", "message": "Hello?"},
			obj{"date_time": "2024-03-05 23:31:00", "source": "operator", "employee_id": f.agent.ID, "message": "Hi"},
		}
		chatIDs := mustIDs(t, f.call(t, "upload.chats", obj{"access_token": f.token, "chats": []any{chat}}))

		// Another dialect's chat, assigned and answered, started now.
		contact := storetest.MustContact(t, st, f.acct.ID, "Eve", "eve@example.com", "")
		hc, err := st.CreateCase(ctx, f.acct.ID, store.NewCase{ContactID: contact.ID, AssigneeID: &f.agent.ID, Initiator: models.InitiatorContact})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range []store.NewMessage{
			{Sender: models.SenderContact, Kind: models.KindMessage, Text: "Is anyone there?"},
			{Sender: models.SenderAgent, AgentID: &f.agent.ID, Kind: models.KindMessage, Text: "Yes"},
		} {
			if _, err := st.AddMessage(ctx, f.acct.ID, hc.ID, m); err != nil {
				t.Fatal(err)
			}
		}

		t.Run("offline messages of a local day", func(t *testing.T) {
			rep := f.mustReport(t, "get.offline_messages_report", day("2024-03-05"))
			if *rep.Metadata.TotalItems != 1 || len(rep.Data) != 1 {
				t.Fatalf("rows %v total %d, want the 23:30 one", rep.Data, *rep.Metadata.TotalItems)
			}
			r := rep.Data[0]
			want := map[string]any{"id": float64(ids[0]), "date_time": "2024-03-05 23:30:00", "ext_id": "crm-1",
				"text": "Do you ship to Riga?", "form_type": "DataAPI", "status": "not_processed", "visitor_name": "Bob",
				"visitor_email": "bob@example.com", "site_id": float64(f.site.ID), "campaign_id": float64(f.campaign.ID),
				"is_agree_to_mailing": nil, "employee_id": nil}
			for k, v := range want {
				if r[k] != v {
					t.Errorf("%s = %#v, want %#v", k, r[k], v)
				}
			}
			next := f.mustReport(t, "get.offline_messages_report", day("2024-03-06"))
			if got := column(next.Data, "ext_id"); !slices.Equal(got, []any{"77"}) {
				t.Errorf("the 6th's ext_ids = %v, want [77]", got)
			}
		})
		t.Run("an offline message another dialect wrote", func(t *testing.T) {
			rep := f.mustReport(t, "get.offline_messages_report", with(day("2024-01-01"), "fields", []any{"id", "date_time", "text", "form_type", "ext_id", "sale_cost"}))
			if len(rep.Data) != 1 {
				t.Fatalf("rows = %v", rep.Data)
			}
			r := rep.Data[0]
			if r["id"] != float64(f.notUploaded.ID) || r["date_time"] != "2024-01-01 10:00:00" || r["text"] != "Hello?" ||
				r["form_type"] != "Standard" || r["ext_id"] != nil || r["sale_cost"] != nil || len(r) != 6 {
				t.Errorf("row = %v", r)
			}
		})
		t.Run("uploaded chat", func(t *testing.T) {
			rep := f.mustReport(t, "get.chats_report", with(day("2024-03-05"),
				"fields", []any{"id", "date_time", "status", "ext_id", "messages_count", "employee_messages_count", "chat_channel_type", "initiator", "answer_time"}))
			if len(rep.Data) != 1 {
				t.Fatalf("rows = %v", rep.Data)
			}
			r := rep.Data[0]
			want := map[string]any{"id": float64(chatIDs[0]), "date_time": "2024-03-05 23:30:00", "status": "succeed", "ext_id": "chat-1",
				"messages_count": float64(2), "employee_messages_count": float64(1), "chat_channel_type": "dataapi",
				"initiator": "visitor", "answer_time": float64(60)}
			for k, v := range want {
				if r[k] != v {
					t.Errorf("%s = %#v, want %#v", k, r[k], v)
				}
			}
		})
		t.Run("a chat another dialect wrote", func(t *testing.T) {
			now := time.Now()
			rep := f.mustReport(t, "get.chats_report", obj{"date_from": f.local(now.Add(-time.Hour)), "date_till": f.local(now.Add(time.Hour)),
				"filter": obj{"field": "status", "operator": "=", "value": "active"}})
			if len(rep.Data) != 1 || rep.Data[0]["id"] != float64(hc.ID) || rep.Data[0]["employee_id"] != float64(f.agent.ID) ||
				rep.Data[0]["ext_id"] != nil || rep.Data[0]["visitor_id"] != float64(contact.ID) {
				t.Errorf("rows = %v", rep.Data)
			}
			msgs := f.mustReport(t, "get.chat_messages_report", obj{"chat_id": hc.ID})
			if got := column(msgs.Data, "source"); !slices.Equal(got, []any{"visitor", "operator"}) {
				t.Errorf("sources = %v", got)
			}
		})
		t.Run("messages of the uploaded chat", func(t *testing.T) {
			rep := f.mustReport(t, "get.chat_messages_report", obj{"chat_ids": []any{chatIDs[0]}})
			if *rep.Metadata.TotalItems != 2 || len(rep.Data) != 2 {
				t.Fatalf("rows = %v", rep.Data)
			}
			r := rep.Data[1]
			if r["chat_id"] != float64(chatIDs[0]) || r["source"] != "operator" || r["employee_id"] != float64(f.agent.ID) ||
				r["text"] != "Hi" || r["date_time"] != "2024-03-05 23:31:00" || r["channel_type"] != nil && r["channel_type"] != "dataapi" {
				t.Errorf("row = %v", r)
			}
			byDate := f.mustReport(t, "get.chat_messages_report", day("2024-03-05"))
			if got := column(byDate.Data, "text"); !slices.Equal(got, []any{"Hello?", "Hi"}) {
				t.Errorf("texts of the day = %v", got)
			}
		})
	})
}

// TestReports_Paging checks offset, limit, sort and filter over a few
// uploads, and total_items with and without a filter.
func TestReports_Paging(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		var list []any
		for i, at := range []string{"2024-03-01 10:00:00", "2024-03-02 23:59:59", "2024-03-03 00:00:00", "2024-03-04 12:00:00", "2024-03-05 08:00:00"} {
			list = append(list, with(f.offlineItem(), "date_time", at, "ext_id", []string{"a-1", "a-2", "b-1", "b-2", "c_1"}[i]))
		}
		mustIDs(t, f.call(t, "upload.offline_messages", obj{"access_token": f.token, "offline_messages": list}))
		period := obj{"date_from": "2024-03-01 00:00:00", "date_till": "2024-03-31 23:59:59", "fields": []any{"ext_id"}}
		tests := []struct {
			name  string
			extra []any
			want  []any
			total int64
		}{
			{"defaults", nil, []any{"a-1", "a-2", "b-1", "b-2", "c_1"}, 5},
			{"page", []any{"offset", 1, "limit", 2}, []any{"a-2", "b-1"}, 5},
			{"deep page, newest first", []any{"offset", 3, "limit", 2, "sort", []any{obj{"field": "date_time", "order": "desc"}}}, []any{"a-2", "a-1"}, 5},
			{"past the end", []any{"offset", 5}, []any{}, 5},
			{"sort by ext_id desc", []any{"sort", []any{obj{"field": "ext_id", "order": "desc"}}, "limit", 2}, []any{"c_1", "b-2"}, 5},
			{"like", []any{"filter", obj{"field": "ext_id", "operator": "like", "value": "a-%"}}, []any{"a-1", "a-2"}, 2},
			{"like underscore", []any{"filter", obj{"field": "ext_id", "operator": "like", "value": "__1"}}, []any{"a-1", "b-1", "c_1"}, 3},
			{"nested or", []any{"filter", obj{"condition": "or", "filters": []any{
				obj{"field": "ext_id", "operator": "=", "value": "c_1"},
				obj{"filters": []any{obj{"field": "ext_id", "operator": "like", "value": "b%"}, obj{"field": "ext_id", "operator": "!=", "value": "b-1"}}},
			}}}, []any{"b-2", "c_1"}, 2},
			{"in", []any{"filter", obj{"field": "ext_id", "operator": "in", "value": []any{"a-2", "b-2"}}}, []any{"a-2", "b-2"}, 2},
			{"status not processed", []any{"filter", obj{"field": "status", "operator": "!=", "value": "processed"}, "limit", 1}, []any{"a-1"}, 5},
			{"no employee", []any{"filter", obj{"field": "employee_id", "operator": "=", "value": nil}, "limit", 1}, []any{"a-1"}, 5},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				rep := f.mustReport(t, "get.offline_messages_report", with(period, tt.extra...))
				if got := column(rep.Data, "ext_id"); !slices.Equal(got, tt.want) || *rep.Metadata.TotalItems != tt.total {
					t.Errorf("ext_ids = %v total %d, want %v total %d", got, *rep.Metadata.TotalItems, tt.want, tt.total)
				}
			})
		}
		t.Run("limits reported", func(t *testing.T) {
			rep := f.mustReport(t, "get.offline_messages_report", period)
			if len(rep.Metadata.Limits) != 0 && !strings.Contains(string(rep.Metadata.Limits), "day_limit") {
				t.Errorf("limits = %s", rep.Metadata.Limits)
			}
		})
	})
}

// TestReports_Errors checks the params every report refuses, each -32602
// naming its parameter.
func TestReports_Errors(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		march := day("2024-03-05")
		runProblems(t, f, "get.chats_report", []problemCase{
			{"no dates", obj{}, "required_parameter_missed", "date_from"},
			{"no date_till", obj{"date_from": "2024-03-05 00:00:00"}, "required_parameter_missed", "date_till"},
			{"bad date", with(march, "date_from", "2024-03-05"), "invalid_date_time", "date_from"},
			{"till before from", obj{"date_from": "2024-03-05 00:00:00", "date_till": "2024-03-04 23:59:59"}, "invalid_parameter_value", "date_till"},
			{"over three months", obj{"date_from": "2024-01-01 00:00:00", "date_till": "2024-04-01 00:00:01"}, "date_interval_limit_reached", "date_till"},
			{"limit 0", with(march, "limit", 0), "invalid_parameter_value", "limit"},
			{"limit over 10000", with(march, "limit", 10001), "invalid_parameter_value", "limit"},
			{"limit a string", with(march, "limit", "10"), "data_type_error", "limit"},
			{"offset over 100000", with(march, "offset", 100001), "invalid_parameter_value", "offset"},
			{"offset negative", with(march, "offset", -1), "invalid_parameter_value", "offset"},
			{"unknown field in fields", with(march, "fields", []any{"id", "password"}), "unexpected_parameters", "fields[1]"},
			{"empty fields", with(march, "fields", []any{}), "invalid_parameter_value", "fields"},
			{"unknown sort field", with(march, "sort", []any{obj{"field": "password"}}), "sort_prohibited", "sort[0].field"},
			{"unsortable field", with(march, "sort", []any{obj{"field": "id"}}), "sort_prohibited", "sort[0].field"},
			{"bad order", with(march, "sort", []any{obj{"field": "date_time", "order": "up"}}), "invalid_parameter_value", "sort[0].order"},
			{"unknown filter field", with(march, "filter", obj{"filters": []any{obj{"field": "id", "operator": "=", "value": 1},
				obj{"field": "password", "operator": "=", "value": "x"}}, "condition": "and"}), "filter_prohibited", "filter.filters[1].field"},
			{"unfilterable field", with(march, "filter", obj{"field": "duration", "operator": ">", "value": 5}), "filter_prohibited", "filter.field"},
			{"regexp", with(march, "filter", obj{"field": "ext_id", "operator": "regexp", "value": "^a"}), "filter_prohibited", "filter.operator"},
			{"jsquery", with(march, "filter", obj{"field": "ext_id", "operator": "jsquery", "value": "x"}), "filter_prohibited", "filter.operator"},
			{"unknown operator", with(march, "filter", obj{"field": "ext_id", "operator": "~", "value": "x"}), "invalid_parameter_value", "filter.operator"},
			{"wrong value type", with(march, "filter", obj{"field": "id", "operator": "=", "value": "1"}), "data_type_error", "filter.value"},
			{"bad enum value", with(march, "filter", obj{"field": "status", "operator": "=", "value": "open"}), "invalid_parameter_value", "filter.value"},
			{"bad date value", with(march, "filter", obj{"field": "employee_id", "operator": "in", "value": []any{1, "x"}}), "data_type_error", "filter.value[1]"},
			{"like on a number", with(march, "filter", obj{"field": "id", "operator": "like", "value": "1%"}), "invalid_parameter_value", "filter.value"},
			{"bad condition", with(march, "filter", obj{"filters": []any{}, "condition": "xor"}), "invalid_parameter_value", "filter.condition"},
			{"filter member unknown", with(march, "filter", obj{"field": "id", "operator": "=", "value": 1, "x": 1}), "unexpected_parameters", "filter.x"},
			{"filter a string", with(march, "filter", "id = 1"), "data_type_error", "filter"},
			{"unknown parameter", with(march, "chat_id", 1), "unexpected_parameters", "chat_id"},
			{"user_id of no agent", with(march, "user_id", 987654), "entity_not_found", "user_id"},
			{"user_id of another account's agent", with(march, "user_id", f.foreignAgent.ID), "entity_not_found", "user_id"},
		})
		runProblems(t, f, "get.chat_messages_report", []problemCase{
			{"nothing to report", obj{}, "required_parameter_missed", "chat_id"},
			{"user_id of another account's agent", obj{"chat_id": 1, "user_id": f.foreignAgent.ID}, "entity_not_found", "user_id"},
			{"both chat_id and chat_ids", obj{"chat_id": 1, "chat_ids": []any{2}}, "invalid_parameters_combination", "chat_ids"},
			{"over 30 days", obj{"date_from": "2024-03-01 00:00:00", "date_till": "2024-03-31 00:00:01"}, "date_interval_limit_reached", "date_till"},
			{"only date_from", obj{"date_from": "2024-03-01 00:00:00"}, "required_parameter_missed", "date_till"},
			{"chat id zero", obj{"chat_ids": []any{0}}, "invalid_parameter_value", "chat_ids[0]"},
		})
		t.Run("upload scope only", func(t *testing.T) {
			up := mustKey(t, f.keys, f.acct.ID, auth.KeySpec{Name: "upload only", Scopes: []auth.Scope{auth.ScopeUpload}})
			assertError(t, f.call(t, "get.chats_report", with(march, "access_token", up)), http.StatusOK, -32003, "forbidden", "")
		})
	})
}

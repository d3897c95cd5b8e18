package callgear_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"switchboard/store"
	"switchboard/store/storetest"
)

// problemCase is one refused request: its params and the error it gets.
type problemCase struct {
	name     string
	params   obj
	mnemonic string
	field    string
}

// runProblems sends each case as the method and checks that it gets -32602
// with the mnemonic and field, and writes nothing.
func runProblems(t *testing.T, f *fixture, method string, tests []problemCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := f.counts(t)
			assertError(t, f.call(t, method, with(tt.params, "access_token", f.token)), http.StatusOK, -32602, tt.mnemonic, tt.field)
			f.assertUnchanged(t, before)
		})
	}
}

func TestUploadOfflineMessages_Errors(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		item := f.offlineItem()
		one := func(kv ...any) obj { return obj{"offline_messages": []any{with(item, kv...)}} }
		second := func(kv ...any) obj { return obj{"offline_messages": []any{item, with(item, kv...)}} }
		future := f.local(time.Now().Add(time.Hour))
		runProblems(t, f, "upload.offline_messages", []problemCase{
			{"501 items", obj{"offline_messages": items(501, item)}, "data_limit_exceeded", "offline_messages"},
			{"empty list", obj{"offline_messages": []any{}}, "invalid_parameter_value", "offline_messages"},
			{"no list", obj{}, "required_parameter_missed", "offline_messages"},
			{"null list", obj{"offline_messages": nil}, "required_parameter_missed", "offline_messages"},
			{"list an object", obj{"offline_messages": item}, "data_type_error", "offline_messages"},
			{"item a string", obj{"offline_messages": []any{item, "x"}}, "data_type_error", "offline_messages[1]"},
			{"date in the future", second("date_time", future), "invalid_date_time", "offline_messages[1].date_time"},
			{"date before the visitor session", one("site_id", nil, "visitor_session_id", f.session.ID, "date_time", "2023-12-31 10:00:00"),
				"invalid_date_time", "offline_messages[0].date_time"},
			{"invalid date", one("date_time", "2024-02-30 10:00:00"), "invalid_date_time", "offline_messages[0].date_time"},
			{"ISO date", one("date_time", "2024-03-05T14:30:00"), "invalid_date_time", "offline_messages[0].date_time"},
			{"one-digit hour", one("date_time", "2024-03-05 4:30:00"), "invalid_date_time", "offline_messages[0].date_time"},
			{"date a number", one("date_time", 1709649000), "data_type_error", "offline_messages[0].date_time"},
			{"non-E.164 phone", second("phone", "8 (415) 555-01-00"), "invalid_parameter_value", "offline_messages[1].phone"},
			{"555 is no area code", second("phone", "+1 555 000 1111"), "invalid_parameter_value", "offline_messages[1].phone"},
			{"phone too short", one("phone", "+1234"), "invalid_parameter_value", "offline_messages[0].phone"},
			{"unassigned network", second("phone", "+882123456789"), "invalid_parameter_value", "offline_messages[1].phone"},
			{"00 prefix", one("phone", "0014155550100"), "invalid_parameter_value", "offline_messages[0].phone"},
			{"phone with an extension", one("phone", "+14155550100 x12"), "invalid_parameter_value", "offline_messages[0].phone"},
			{"phone a number", one("phone", 14155550100), "data_type_error", "offline_messages[0].phone"},
			{"invalid email", one("email", "bob at example"), "invalid_parameter_value", "offline_messages[0].email"},
			{"neither phone nor email", one("phone", nil, "email", nil), "required_parameter_missed", "offline_messages[0].phone"},
			{"blank phone and email", one("phone", "", "email", " "), "required_parameter_missed", "offline_messages[0].phone"},
			{"no source", one("site_id", nil), "required_parameter_missed", "offline_messages[0].site_id"},
			{"campaign -1 without site", one("site_id", nil, "campaign_id", -1), "required_parameter_missed", "offline_messages[0].site_id"},
			{"campaign of another site", one("campaign_id", f.campaign2.ID), "invalid_parameters_combination", "offline_messages[0].campaign_id"},
			{"session of another campaign", one("site_id", nil, "campaign_id", f.campaign2.ID, "visitor_session_id", f.session.ID),
				"invalid_parameters_combination", "offline_messages[0].visitor_session_id"},
			{"another account's site", one("site_id", f.foreignSite.ID), "entity_not_found", "offline_messages[0].site_id"},
			{"another account's campaign", one("site_id", nil, "campaign_id", f.foreignCampaign.ID), "entity_not_found", "offline_messages[0].campaign_id"},
			{"another account's session", one("site_id", nil, "visitor_session_id", f.foreignSession.ID), "entity_not_found", "offline_messages[0].visitor_session_id"},
			{"site id too large for any row", one("site_id", raw("99999999999999999999")), "entity_not_found", "offline_messages[0].site_id"},
			{"site id a string", one("site_id", "1"), "data_type_error", "offline_messages[0].site_id"},
			{"site id zero", one("site_id", 0), "invalid_parameter_value", "offline_messages[0].site_id"},
			{"site id a fraction", one("site_id", raw("1.5")), "invalid_parameter_value", "offline_messages[0].site_id"},
			{"campaign -2", one("campaign_id", -2), "invalid_parameter_value", "offline_messages[0].campaign_id"},
			{"source_id a string", one("source_id", "x"), "data_type_error", "offline_messages[0].source_id"},
			{"name a number", one("name", 5), "data_type_error", "offline_messages[0].name"},
			{"message an object", one("message", obj{}), "data_type_error", "offline_messages[0].message"},
			{"message with NUL", one("message", "a\x00b"), "invalid_parameter_value", "offline_messages[0].message"},
			{"form_name an array", one("form_name", []any{}), "data_type_error", "offline_messages[0].form_name"},
			{"ext_id a boolean", one("ext_id", true), "data_type_error", "offline_messages[0].ext_id"},
			{"ext_id a fraction", one("ext_id", raw("1.5")), "invalid_parameter_value", "offline_messages[0].ext_id"},
			{"the same ext_id twice", obj{"offline_messages": []any{with(item, "ext_id", "a"), with(item, "ext_id", "a")}},
				"invalid_parameters_combination", "offline_messages[1].ext_id"},
			{"user_fields a string", one("user_fields", "x"), "data_type_error", "offline_messages[0].user_fields"},
			{"user field without ext_id", one("user_fields", []any{obj{"value": "x"}}), "required_parameter_missed", "offline_messages[0].user_fields[0].ext_id"},
			{"user field value an object", one("user_fields", []any{obj{"ext_id": 1, "value": obj{}}}), "data_type_error", "offline_messages[0].user_fields[0].value"},
			{"user field with another member", one("user_fields", []any{obj{"ext_id": "a", "value": 1, "x": 1}}), "unexpected_parameters", "offline_messages[0].user_fields[0].x"},
			{"user_id a string", obj{"user_id": "7", "offline_messages": []any{item}}, "data_type_error", "user_id"},
			{"unexpected parameter", obj{"offline_messages": []any{item}, "limit": 10}, "unexpected_parameters", "limit"},
			{"unexpected item parameter", one("subject", "Hi"), "unexpected_parameters", "offline_messages[0].subject"},
		})
	})
}

func TestUploadOfflineMessages_AllProblems(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		item := f.offlineItem()
		before := f.counts(t)
		params := obj{"access_token": f.token, "offline_messages": []any{
			item,
			with(item, "phone", "12345", "site_id", "x"),
			with(item, "phone", nil, "email", nil, "extra", true),
		}}
		res := assertError(t, f.call(t, "upload.offline_messages", params), http.StatusOK, -32602, "invalid_parameter_value", "offline_messages[1].phone")
		want := []rpcProblem{
			{Field: "offline_messages[1].phone", Mnemonic: "invalid_parameter_value", Value: "12345"},
			{Field: "offline_messages[1].site_id", Mnemonic: "data_type_error", Value: "x"},
			{Field: "offline_messages[2].phone", Mnemonic: "required_parameter_missed"},
			{Field: "offline_messages[2].extra", Mnemonic: "unexpected_parameters"},
		}
		got := res.Error.Data.Params
		if len(got) != len(want) {
			t.Fatalf("params = %+v, want %+v", got, want)
		}
		for i := range want {
			if got[i].Field != want[i].Field || got[i].Mnemonic != want[i].Mnemonic || got[i].Value != want[i].Value || got[i].Message == "" {
				t.Errorf("params[%d] = %+v, want %+v", i, got[i], want[i])
			}
		}
		if res.Error.Data.Value != "12345" || res.Error.Message != got[0].Message {
			t.Errorf("data = %+v, message %q: want the first problem's", res.Error.Data, res.Error.Message)
		}
		f.assertUnchanged(t, before)

		// The store's problems are listed together too, named in the request.
		res = assertError(t, f.call(t, "upload.offline_messages", obj{"access_token": f.token, "offline_messages": []any{
			with(item, "site_id", f.foreignSite.ID),
			item,
			with(item, "campaign_id", f.campaign2.ID),
		}}), http.StatusOK, -32602, "entity_not_found", "offline_messages[0].site_id")
		fields := make([]string, len(res.Error.Data.Params))
		for i, p := range res.Error.Data.Params {
			fields[i] = p.Mnemonic + " " + p.Field
		}
		if got, want := strings.Join(fields, ", "), "entity_not_found offline_messages[0].site_id, invalid_parameters_combination offline_messages[2].campaign_id"; got != want {
			t.Errorf("params = %s, want %s", got, want)
		}
		f.assertUnchanged(t, before)
	})
}

// TestUpload_PhoneError checks that a phone number the library does not know
// as valid is answered with the item's path, the value and why, in both
// upload methods.
func TestUpload_PhoneError(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		tests := []struct {
			method, list string
			item         obj
		}{
			{"upload.offline_messages", "offline_messages", f.offlineItem()},
			{"upload.chats", "chats", f.chatItem()},
		}
		for _, tt := range tests {
			t.Run(tt.method, func(t *testing.T) {
				before := f.counts(t)
				params := obj{"access_token": f.token, tt.list: []any{tt.item, with(tt.item, "phone", "+1234")}}
				field := tt.list + "[1].phone"
				res := assertError(t, f.call(t, tt.method, params), http.StatusOK, -32602, "invalid_parameter_value", field)
				want := "Invalid value of parameter " + field + ": must be a valid phone number in international form, as +14155550100: it is too short for its country"
				if res.Error.Message != want || res.Error.Data.Value != "+1234" {
					t.Errorf("message %q value %v, want %q and the value", res.Error.Message, res.Error.Data.Value, want)
				}
				f.assertUnchanged(t, before)
			})
		}
	})
}

func TestUploadChats_Errors(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		chat := f.chatItem()
		visitor := obj{"date_time": "2024-03-05 14:30:10", "source": "visitor", "message": "Hello?"}
		operator := obj{"date_time": "2024-03-05 14:31:00", "source": "operator", "employee_id": f.agent.ID, "message": "Hi"}
		one := func(kv ...any) obj { return obj{"chats": []any{with(chat, kv...)}} }
		msg := func(m obj) obj { return one("messages", []any{visitor, m}) }
		runProblems(t, f, "upload.chats", []problemCase{
			{"501 chats", obj{"chats": items(501, chat)}, "data_limit_exceeded", "chats"},
			{"empty list", obj{"chats": []any{}}, "invalid_parameter_value", "chats"},
			{"no list", obj{}, "required_parameter_missed", "chats"},
			{"no start_date_time", one("start_date_time", nil), "required_parameter_missed", "chats[0].start_date_time"},
			{"start in the future", one("start_date_time", f.local(time.Now().Add(time.Hour))), "invalid_date_time", "chats[0].start_date_time"},
			{"invalid start", one("start_date_time", "2024-03-05"), "invalid_date_time", "chats[0].start_date_time"},
			{"no status", one("status", nil), "required_parameter_missed", "chats[0].status"},
			{"unknown status", one("status", "won"), "invalid_parameter_value", "chats[0].status"},
			{"status a number", one("status", 1), "data_type_error", "chats[0].status"},
			{"unknown initiator", one("initiator", "bot"), "invalid_parameter_value", "chats[0].initiator"},
			{"campaign -1", one("campaign_id", -1), "invalid_parameter_value", "chats[0].campaign_id"},
			{"neither phone nor email", one("email", nil), "required_parameter_missed", "chats[0].phone"},
			{"non-E.164 phone", one("phone", "4155550100"), "invalid_parameter_value", "chats[0].phone"},
			{"555 is no area code", one("phone", "+15550001111"), "invalid_parameter_value", "chats[0].phone"},
			{"phone too short", one("phone", "+1234"), "invalid_parameter_value", "chats[0].phone"},
			{"unassigned network", one("phone", "+882123456789"), "invalid_parameter_value", "chats[0].phone"},
			{"no source", one("site_id", nil), "required_parameter_missed", "chats[0].site_id"},
			{"campaign of another site", one("campaign_id", f.campaign2.ID), "invalid_parameters_combination", "chats[0].campaign_id"},
			{"another account's site", one("site_id", f.foreignSite.ID), "entity_not_found", "chats[0].site_id"},
			{"no messages", one("messages", nil), "required_parameter_missed", "chats[0].messages"},
			{"empty messages", one("messages", []any{}), "invalid_parameter_value", "chats[0].messages"},
			{"messages an object", one("messages", visitor), "data_type_error", "chats[0].messages"},
			{"message a string", one("messages", []any{visitor, "hi"}), "data_type_error", "chats[0].messages[1]"},
			{"operator message without employee_id", msg(with(operator, "employee_id", nil)), "required_parameter_missed", "chats[0].messages[1].employee_id"},
			{"visitor message with employee_id", msg(with(visitor, "employee_id", f.agent.ID)), "invalid_parameters_combination", "chats[0].messages[1].employee_id"},
			{"another account's employee", msg(with(operator, "employee_id", f.foreignAgent.ID)), "entity_not_found", "chats[0].messages[1].employee_id"},
			{"employee_id a string", msg(with(operator, "employee_id", "5")), "data_type_error", "chats[0].messages[1].employee_id"},
			{"unknown source", msg(with(operator, "source", "bot")), "invalid_parameter_value", "chats[0].messages[1].source"},
			{"no source of a message", msg(with(visitor, "source", nil)), "required_parameter_missed", "chats[0].messages[1].source"},
			{"no message date", msg(with(visitor, "date_time", nil)), "required_parameter_missed", "chats[0].messages[1].date_time"},
			{"message before the start", msg(with(visitor, "date_time", "2024-03-05 14:00:00")), "invalid_date_time", "chats[0].messages[1].date_time"},
			{"message in the future", msg(with(visitor, "date_time", f.local(time.Now().Add(time.Hour)))), "invalid_date_time", "chats[0].messages[1].date_time"},
			{"blank message", msg(with(visitor, "message", "  ")), "invalid_parameter_value", "chats[0].messages[1].message"},
			{"no message text", msg(with(visitor, "message", nil)), "required_parameter_missed", "chats[0].messages[1].message"},
			{"message text a number", msg(with(visitor, "message", 1)), "data_type_error", "chats[0].messages[1].message"},
			{"unexpected message parameter", msg(with(visitor, "read", true)), "unexpected_parameters", "chats[0].messages[1].read"},
			{"unexpected chat parameter", one("form_name", "x"), "unexpected_parameters", "chats[0].form_name"},
			{"unexpected parameter", obj{"chats": []any{chat}, "offline_messages": []any{}}, "unexpected_parameters", "offline_messages"},
		})
	})
}

// offlineMessage is REVE's GET /api/offlinemessages/{id}.
type offlineMessage struct {
	ID           int64  `json:"offline_message_id"`
	VisitorName  string `json:"visitor_name"`
	VisitorEmail string `json:"visitor_email"`
	VisitorPhone string `json:"visitor_phone"`
	Message      string `json:"message"`
	ReceivedTime int64  `json:"received_time"`
}

// hcMessages is HelpCrunch's GET /v1/chats/{id}/messages.
type hcMessages struct {
	Data []struct {
		Text string `json:"text"`
		From string `json:"from"`
	} `json:"data"`
	Total int `json:"total"`
}

func TestUploadOfflineMessages_Success(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		batch := []any{
			obj{"date_time": "2024-03-05 14:30:00", "name": "Bob", "phone": "+14155550100", "message": "first",
				"site_id": f.site.ID, "source_id": 3, "form_name": "Contact us", "ext_id": "crm-1",
				"user_fields": []any{obj{"ext_id": "plan", "value": "gold"}, obj{"ext_id": 7, "value": 3}}},
			obj{"date_time": "2024-03-05 15:00:00", "email": "Eve@Example.com", "message": "second",
				"visitor_session_id": f.session.ID, "ext_id": 1002},
			obj{"date_time": nil, "phone": " +1 (415) 555-0199 ", "message": "third", "campaign_id": -1, "site_id": f.site2.ID},
			obj{"email": "zed@example.com", "message": "fourth", "campaign_id": f.campaign.ID, "site_id": f.site.ID},
		}
		params := obj{"access_token": f.token, "user_id": 42, "offline_messages": batch}
		ids := mustIDs(t, f.call(t, "upload.offline_messages", params))
		if len(ids) != len(batch) {
			t.Fatalf("ids = %v, want %d", ids, len(batch))
		}
		want := []struct {
			message, email, phone string
			at                    time.Time // zero: now
		}{
			// REVE shows a phone as digits with the country code, no "+".
			{"first", "", "14155550100", time.Date(2024, 3, 5, 14, 30, 0, 0, f.loc)},
			{"second", "eve@example.com", "", time.Date(2024, 3, 5, 15, 0, 0, 0, f.loc)},
			{"third", "", "14155550199", time.Time{}},
			{"fourth", "zed@example.com", "", time.Time{}},
		}
		for i, id := range ids {
			var m offlineMessage
			decode(t, f.basicGet(t, path("/api/offlinemessages/%d", id)), &m)
			w := want[i]
			if m.ID != id || m.Message != w.message || m.VisitorEmail != w.email || m.VisitorPhone != w.phone {
				t.Errorf("REVE offline message %d = %+v, want %+v", id, m, w)
			}
			at := time.UnixMilli(m.ReceivedTime)
			if w.at.IsZero() {
				if d := time.Since(at); d < -time.Minute || d > time.Minute {
					t.Errorf("message %d received at %s, want now", id, at)
				}
			} else if !at.Equal(w.at) {
				t.Errorf("message %d received at %s, want %s (the account's time zone)", id, at, w.at)
			}
			var hc hcMessages
			decode(t, f.bearerGet(t, path("/v1/chats/%d/messages", id), f.token), &hc)
			if len(hc.Data) != 1 || hc.Data[0].Text != w.message || hc.Data[0].From != "customer" {
				t.Errorf("HelpCrunch messages of %d = %+v", id, hc)
			}
		}

		// Resending the batch after a timeout: the ext_ids name the same
		// cases, and nothing is added.
		before := f.counts(t)
		again := mustIDs(t, f.call(t, "upload.offline_messages", params))
		if again[0] != ids[0] || again[1] != ids[1] {
			t.Errorf("resent ids = %v, want %v for the items with ext_ids", again, ids[:2])
		}
		after := f.counts(t)
		// The two items without ext_ids are new cases, with a message each.
		if after.cases != before.cases+2 || after.messages != before.messages+2 || after.contacts != before.contacts {
			t.Errorf("resend: before %+v, after %+v; want only the 2 items without ext_id added", before, after)
		}
	})
}

func TestUploadChats_Success(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		lost := with(f.chatItem(), "ext_id", "chat-1", "initiator", "visitor")
		succeeded := obj{"start_date_time": "2024-03-06 09:00:00", "phone": "+14155550111", "status": "succeed",
			"visitor_session_id": f.session.ID, "source_id": 9, "ext_id": 77, "messages": []any{
				obj{"date_time": "2024-03-06 09:00:00", "source": "system", "message": "Chat started"},
				obj{"date_time": "2024-03-06 09:00:05", "source": "operator", "employee_id": f.boss.ID, "message": "Hello!"},
				obj{"date_time": "2024-03-06 09:01:00", "source": "visitor", "message": "Hi, a question"},
			}}
		refused := obj{"start_date_time": "2024-03-07 10:00:00", "email": "x@example.com", "status": "refused",
			"campaign_id": f.campaign.ID, "messages": []any{
				obj{"date_time": "2024-03-07 10:00:01", "source": "visitor", "message": "anyone?"},
			}}
		params := obj{"access_token": f.token, "chats": []any{lost, succeeded, refused}}
		ids := mustIDs(t, f.call(t, "upload.chats", params))
		if len(ids) != 3 {
			t.Fatalf("ids = %v, want 3", ids)
		}
		texts := [][]string{{"Hello?", "Hi, how can I help?"}, {"Chat started", "Hello!", "Hi, a question"}, {"anyone?"}}
		for i, id := range ids {
			var hc hcMessages
			decode(t, f.bearerGet(t, path("/v1/chats/%d/messages", id), f.token), &hc)
			if len(hc.Data) != len(texts[i]) {
				t.Fatalf("HelpCrunch messages of chat %d = %+v, want %q", id, hc, texts[i])
			}
			// HelpCrunch lists the newest first.
			for j, want := range texts[i] {
				if got := hc.Data[len(hc.Data)-1-j].Text; got != want {
					t.Errorf("chat %d message %d = %q, want %q", id, j, got, want)
				}
			}
		}
		// A lost chat is a closed case in Acquire.
		var ac struct {
			Data struct {
				ID      int64  `json:"id"`
				Channel string `json:"channel"`
				Status  string `json:"status"`
			} `json:"data"`
		}
		decode(t, f.bearerGet(t, path("/api/v1/crm/objects/case/%d", ids[0]), f.token), &ac)
		if ac.Data.ID != ids[0] || ac.Data.Status != "closed" || ac.Data.Channel != "chat" {
			t.Errorf("Acquire case = %+v, want closed chat %d", ac.Data, ids[0])
		}

		before := f.counts(t)
		again := mustIDs(t, f.call(t, "upload.chats", with(params, "chats", []any{lost, succeeded})))
		if len(again) != 2 || again[0] != ids[0] || again[1] != ids[1] {
			t.Errorf("resent ids = %v, want %v", again, ids[:2])
		}
		f.assertUnchanged(t, before)
	})
}

package callgear_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"switchboard/handlers/callgear"
	"switchboard/handlers/dialect"
	"switchboard/models"
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
			{"unknown session without site or campaign", one("site_id", nil, "visitor_session_id", 987654), "entity_not_found", "offline_messages[0].visitor_session_id"},
			{"unknown session on two sites", obj{"offline_messages": []any{with(item, "visitor_session_id", 987654),
				with(item, "visitor_session_id", 987654, "site_id", f.site2.ID)}}, "invalid_parameters_combination", "offline_messages[1].visitor_session_id"},
			{"user_id of no agent", obj{"user_id": 987654, "offline_messages": []any{item}}, "entity_not_found", "user_id"},
			{"user_id of another account's agent", obj{"user_id": f.foreignAgent.ID, "offline_messages": []any{item}}, "entity_not_found", "user_id"},
			{"user_id zero", obj{"user_id": 0, "offline_messages": []any{item}}, "invalid_parameter_value", "user_id"},
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
			{"visitor message with employee_id a string", msg(with(visitor, "employee_id", "5")), "data_type_error", "chats[0].messages[1].employee_id"},
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
		params := obj{"access_token": f.token, "user_id": f.admin.ID, "offline_messages": batch}
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

// TestUpload_UserID checks user_id, the user who makes an upload: an agent
// of the caller's account when given, and optional for an API key and an
// admin's session.
func TestUpload_UserID(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		admin := f.mustLogin(t, f.admin.Email).AccessToken
		agent := f.mustLogin(t, f.agent.Email).AccessToken
		tests := []struct {
			name     string
			token    string
			userID   any // nil: not given
			mnemonic string
		}{
			{"API key without user_id", f.token, nil, ""},
			{"API key with an agent", f.token, f.agent.ID, ""},
			{"admin session without user_id", admin, nil, ""},
			{"admin session with itself", admin, f.admin.ID, ""},
			{"API key with no agent", f.token, 987654, "entity_not_found"},
			{"admin session with another account's agent", admin, f.foreignAgent.ID, "entity_not_found"},
			{"user_id a string", f.token, "7", "data_type_error"},
			// An agent's session has no upload scope: it is refused before
			// its user_id matters.
			{"agent session with itself", agent, f.agent.ID, "forbidden"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				params := obj{"access_token": tt.token, "offline_messages": []any{f.offlineItem()}}
				if tt.userID != nil {
					params["user_id"] = tt.userID
				}
				before := f.counts(t)
				r := f.call(t, "upload.offline_messages", params)
				switch tt.mnemonic {
				case "":
					if ids := mustIDs(t, r); len(ids) != 1 {
						t.Errorf("ids = %v, want 1", ids)
					}
				case "forbidden":
					assertError(t, r, http.StatusOK, -32003, tt.mnemonic, "")
					f.assertUnchanged(t, before)
				default:
					assertError(t, r, http.StatusOK, -32602, tt.mnemonic, "user_id")
					f.assertUnchanged(t, before)
				}
			})
		}
	})
}

// TestUpload_NewVisitorSession checks that a visitor_session_id the account
// has no session of is recorded as the account's session, on the item's site
// and campaign and from its earliest item, and is then known: a later upload
// is checked against it, and another account's number of the same value is
// its own.
func TestUpload_NewVisitorSession(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		const number = 5550001
		item := with(f.offlineItem(), "site_id", nil, "campaign_id", f.campaign.ID, "visitor_session_id", number)
		ids := mustIDs(t, f.call(t, "upload.offline_messages", obj{"access_token": f.token, "offline_messages": []any{
			with(item, "date_time", "2024-03-05 15:00:00"),
			// Without site_id or campaign_id: the session's, as for any session.
			with(item, "campaign_id", nil, "date_time", "2024-03-05 14:00:00"),
		}}))
		var sessions []models.VisitorSession
		if err := st.GORM().Where("account_id = ? AND ext_id = ?", f.acct.ID, number).Find(&sessions).Error; err != nil {
			t.Fatal(err)
		}
		if len(sessions) != 1 {
			t.Fatalf("sessions numbered %d: %+v, want 1", number, sessions)
		}
		v := sessions[0]
		wantStart := time.Date(2024, 3, 5, 14, 0, 0, 0, f.loc)
		if v.SiteID != f.site.ID || v.CampaignID == nil || *v.CampaignID != f.campaign.ID || !v.StartedAt.Equal(wantStart) || v.ContactID == nil {
			t.Errorf("session = %+v, want site %d, campaign %d, started %s, with a contact", v, f.site.ID, f.campaign.ID, wantStart)
		}
		for _, id := range ids {
			c, err := st.Case(t.Context(), f.acct.ID, id)
			if err != nil {
				t.Fatal(err)
			}
			if c.VisitorSessionID == nil || *c.VisitorSessionID != v.ID || c.SiteID == nil || *c.SiteID != f.site.ID ||
				c.CampaignID == nil || *c.CampaignID != f.campaign.ID || *v.ContactID != c.ContactID {
				t.Errorf("case %d = %+v, want session %d on site %d, campaign %d, contact %d", id, c, v.ID, f.site.ID, f.campaign.ID, *v.ContactID)
			}
		}

		// Known now: another campaign is inconsistent, a chat on it is fine.
		assertError(t, f.call(t, "upload.chats", obj{"access_token": f.token, "chats": []any{
			with(f.chatItem(), "site_id", nil, "campaign_id", f.campaign2.ID, "visitor_session_id", number),
		}}), http.StatusOK, -32602, "invalid_parameters_combination", "chats[0].visitor_session_id")
		mustIDs(t, f.call(t, "upload.chats", obj{"access_token": f.token, "chats": []any{
			with(f.chatItem(), "site_id", nil, "visitor_session_id", number),
		}}))

		// The other account's number is its own session: nothing of the
		// first account's shows, and ordinary sessions are still created.
		other := with(f.offlineItem(), "site_id", f.foreignSite.ID, "visitor_session_id", number)
		mustIDs(t, f.call(t, "upload.offline_messages", obj{"access_token": f.foreignToken, "offline_messages": []any{other}}))
		var n int64
		if err := st.GORM().Model(&models.VisitorSession{}).Where("ext_id = ?", number).Count(&n).Error; err != nil || n != 2 {
			t.Errorf("sessions numbered %d = %d (%v), want one per account", number, n, err)
		}
		mustSession(t, st, f.acct.ID, store.NewVisitorSession{SiteID: f.site.ID})
	})
}

// TestUploadChats_EmployeeIDIgnored checks that a visitor's or system
// message's employee_id, which CallGear's page does not forbid, is ignored:
// the message has no agent, and the chat goes to the operator.
func TestUploadChats_EmployeeIDIgnored(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		chat := with(f.chatItem(), "messages", []any{
			obj{"date_time": "2024-03-05 14:30:05", "source": "system", "employee_id": 987654, "message": "Chat started"},
			obj{"date_time": "2024-03-05 14:30:10", "source": "visitor", "employee_id": f.boss.ID, "message": "Hello?"},
			obj{"date_time": "2024-03-05 14:31:00", "source": "operator", "employee_id": f.agent.ID, "message": "Hi"},
		})
		ids := mustIDs(t, f.call(t, "upload.chats", obj{"access_token": f.token, "chats": []any{chat}}))
		c, err := st.Case(t.Context(), f.acct.ID, ids[0])
		if err != nil {
			t.Fatal(err)
		}
		if c.AssigneeID == nil || *c.AssigneeID != f.agent.ID {
			t.Errorf("assignee = %v, want the operator %d", c.AssigneeID, f.agent.ID)
		}
		var msgs []models.Message
		if err := st.GORM().Where("case_id = ?", ids[0]).Order("created_at").Find(&msgs).Error; err != nil {
			t.Fatal(err)
		}
		if len(msgs) != 3 || msgs[0].AgentID != nil || msgs[1].AgentID != nil || msgs[2].AgentID == nil || *msgs[2].AgentID != f.agent.ID {
			t.Errorf("messages = %+v, want agents none, none, %d", msgs, f.agent.ID)
		}
	})
}

// TestUpload_AgentSessionNeedsUserID checks that a non-admin agent's session
// must give user_id, as CallGear's agents must, and that the user is then
// checked in the store.
func TestUpload_AgentSessionNeedsUserID(t *testing.T) {
	body := func(userID string) string {
		return `{"jsonrpc":"2.0","id":1,"method":"upload.chats","params":{"access_token":"agent-session",` + userID +
			`"chats":[{"start_date_time":"2024-03-05 14:30:00","email":"a@example.com","status":"lost","site_id":1,` +
			`"messages":[{"date_time":"2024-03-05 14:30:01","source":"visitor","message":"Hi"}]}]}}`
	}
	noAgent := func() error { return fmt.Errorf("agent 7: %w", store.ErrNotFound) }
	tests := []struct {
		name     string
		body     string
		st       fakeStore
		mnemonic string
	}{
		{"no user_id", body(""), fakeStore{}, "required_parameter_missed"},
		{"null user_id", body(`"user_id":null,`), fakeStore{}, "required_parameter_missed"},
		{"user_id of no agent", body(`"user_id":7,`), fakeStore{err: noAgent}, "entity_not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := echo.New()
			callgear.RegisterStore(e, tt.st, dialect.Deps{Keys: fakeKeys{}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))},
				callgear.Config{BodyLimit: "1M"})
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, callgear.Path, strings.NewReader(tt.body)))
			assertError(t, response{status: rec.Code, header: rec.Header(), body: rec.Body.String()}, http.StatusOK, -32602, tt.mnemonic, "user_id")
		})
	}
}

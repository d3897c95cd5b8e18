package helpcrunch_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

// chatIDs returns the ids of a chat list's data, in order, and its total.
func chatIDs(t *testing.T, list map[string]any) ([]int64, float64) {
	t.Helper()
	data, ok := list["data"].([]any)
	if !ok {
		t.Fatalf("data = %v", list["data"])
	}
	ids := make([]int64, len(data))
	for i, d := range data {
		ids[i] = id(t, d.(map[string]any)["id"])
	}
	meta, ok := list["meta"].(map[string]any)
	if !ok {
		t.Fatalf("meta = %v", list["meta"])
	}
	total, _ := meta["total"].(float64)
	return ids, total
}

func TestChats_Get(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		ctx := context.Background()
		fresh := mustOK(t, f.do(t, http.MethodGet, fmt.Sprint("/v1/chats/", f.chat.ID), f.token, ""))
		t.Run("new chat without messages", func(t *testing.T) {
			assertJSON(t, mustJSON(t, fresh), fmt.Sprintf(`{"id":%d,"closedBy":null,"lastCustomerMessageAt":null,"status":"empty",
				"closedAt":null,"rating":null,"createdAt":%q,"lastMessageAt":null,"readByAgent":true,"readByCustomer":false,
				"createdWith":"public_api","snoozedUntil":null,"lastMessageText":null,"lastMessageId":null,"applicationId":null,
				"lastCommunicatedAgentId":%d,"agents":[%s],"customer":{"id":%d,"name":"Ann Lee","email":"ann@example.com","userId":null},
				"assignee":%s,"department":null}`,
				f.chat.ID, unix(f.chat.StartedAt), f.agent.ID, agentJSON(f.agent), f.contact.ID, agentJSON(f.agent)))
		})
		t.Run("offline message", func(t *testing.T) {
			r := mustOK(t, f.do(t, http.MethodGet, fmt.Sprint("/v1/chats/", f.offline.ID), f.readToken, ""))
			assertJSON(t, mustJSON(t, r), fmt.Sprintf(`{"id":%d,"closedBy":null,"lastCustomerMessageAt":"1603885746","status":"new",
				"closedAt":null,"rating":null,"createdAt":"1603885746","lastMessageAt":"1603885746","readByAgent":false,"readByCustomer":false,
				"createdWith":"public_api","snoozedUntil":null,"lastMessageText":"Hello, anyone?","lastMessageId":%d,"applicationId":null,
				"lastCommunicatedAgentId":null,"agents":[],"customer":{"id":%d,"name":"Ann Lee","email":"ann@example.com","userId":null},
				"assignee":null,"department":null}`,
				f.offline.ID, *f.offline.LastMessageID, f.contact.ID))
		})
		t.Run("after messages and closing", func(t *testing.T) {
			customer, err := st.AddMessage(ctx, f.acct.ID, f.chat.ID, store.NewMessage{Sender: models.SenderContact, Kind: models.KindMessage, Text: "hi"})
			if err != nil {
				t.Fatal(err)
			}
			answer := storetest.MustReply(t, st, f.acct.ID, f.chat.ID, f.boss.ID, "answer", time.Time{})
			if _, err := st.AddMessage(ctx, f.acct.ID, f.chat.ID, store.NewMessage{
				Sender: models.SenderAgent, AgentID: &f.agent.ID, Kind: models.KindNote, Text: "private",
			}); err != nil {
				t.Fatal(err)
			}
			closed := mustOK(t, f.do(t, http.MethodPut, "/v1/chats/status", f.token, fmt.Sprintf(`{"id":%d,"status":"closed"}`, f.chat.ID)))
			assertRecent(t, "closedAt", closed["closedAt"])
			got := mustOK(t, f.do(t, http.MethodGet, fmt.Sprint("/v1/chats/", f.chat.ID), f.token, ""))
			assertJSON(t, mustJSON(t, got), fmt.Sprintf(`{"id":%d,"closedBy":%s,"lastCustomerMessageAt":%q,"status":"closed",
				"closedAt":%q,"rating":null,"createdAt":%q,"lastMessageAt":%q,"readByAgent":true,"readByCustomer":false,
				"createdWith":"public_api","snoozedUntil":null,"lastMessageText":"answer","lastMessageId":%d,"applicationId":null,
				"lastCommunicatedAgentId":%d,"agents":[%s,%s],"customer":{"id":%d,"name":"Ann Lee","email":"ann@example.com","userId":null},
				"assignee":%s,"department":null}`,
				f.chat.ID, agentJSON(f.boss), unix(customer.CreatedAt), closed["closedAt"], unix(f.chat.StartedAt), unix(answer.CreatedAt),
				answer.ID, f.boss.ID, agentJSON(f.boss), agentJSON(f.agent), f.contact.ID, agentJSON(f.agent)))
			assertJSON(t, mustJSON(t, closed), mustJSON(t, got))
		})
		tests := []struct {
			name, path string
			status     int
			want       string
		}{
			{"id not a number", "/v1/chats/abc", 400, hcErrors("invalid_chat_value", "Invalid chat ID")},
			{"id negative", "/v1/chats/-5", 400, hcErrors("invalid_chat_value", "Invalid chat ID")},
			{"id zero", "/v1/chats/0", 400, hcErrors("invalid_chat_value", "Invalid chat ID")},
			{"id with a fraction", "/v1/chats/1.5", 400, hcErrors("invalid_chat_value", "Invalid chat ID")},
			{"id huge", "/v1/chats/99999999999999999999", 404, hcErrors("chat_not_found", "Chat not found")},
			{"id unknown", "/v1/chats/987654321", 404, hcErrors("chat_not_found", "Chat not found")},
			{"id of another account", fmt.Sprint("/v1/chats/", f.foreignCase.ID), 404, hcErrors("chat_not_found", "Chat not found")},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				assertError(t, f.do(t, http.MethodGet, tt.path, f.token, ""), tt.status, tt.want)
			})
		}
		t.Run("the other account sees its own", func(t *testing.T) {
			r := mustOK(t, f.do(t, http.MethodGet, fmt.Sprint("/v1/chats/", f.foreignCase.ID), f.foreignToken, ""))
			if id(t, r["id"]) != f.foreignCase.ID {
				t.Errorf("id = %v", r["id"])
			}
		})
	})
}

func TestChats_List(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		old := storetest.MustOfflineCase(t, st, f.acct.ID, f.anon.ID, "old", "an old one", time.Date(2019, 6, 1, 0, 0, 0, 0, time.UTC))
		c0, c1, c2 := f.offline.ID, f.chat.ID, old.ID
		tests := []struct {
			query string
			want  []int64
		}{
			{"", []int64{c1, c0, c2}},
			{"?sort=chats.createdAt&order=desc", []int64{c1, c0, c2}},
			{"?order=asc", []int64{c2, c0, c1}},
			{"?order=ASC", []int64{c2, c0, c1}},
			{"?sort=chats.lastMessageAt", []int64{c0, c2, c1}},
			// The chat has no message: a missing time sorts as the oldest.
			{"?sort=chats.lastMessageAt&order=asc", []int64{c1, c2, c0}},
			{"?sort=chats.lastCustomerMessageAt&order=asc", []int64{c1, c2, c0}},
			{"?sort=chats.closedAt", []int64{c2, c1, c0}},
			{"?limit=1", []int64{c1}},
			{"?offset=1&limit=1", []int64{c0}},
			{"?offset=2", []int64{c2}},
			{"?offset=3", []int64{}},
			{"?offset=9223372036854775807", []int64{}},
			{"?limit=100&offset=0", []int64{c1, c0, c2}},
			{"?sort=&order=&offset=&limit=", []int64{c1, c0, c2}},
		}
		for _, tt := range tests {
			t.Run("query "+tt.query, func(t *testing.T) {
				r := mustOK(t, f.do(t, http.MethodGet, "/v1/chats"+tt.query, f.token, ""))
				ids, total := chatIDs(t, r)
				if fmt.Sprint(ids) != fmt.Sprint(tt.want) || total != 3 {
					t.Errorf("ids %v total %v, want %v total 3", ids, total, tt.want)
				}
			})
		}
		errs := []struct {
			name, query string
			want        string
		}{
			{"unknown sort", "?sort=chats.id", hcErrors("sort", choice)},
			{"unknown order", "?order=up", hcErrors("order", choice)},
			{"negative offset", "?offset=-1", hcErrors("offset", "This value should be greater than or equal to 0.")},
			{"offset not a number", "?offset=ten", hcErrors("offset", numeric)},
			{"offset beyond 64 bits", "?offset=9223372036854775808", hcErrors("offset", maxOffset)},
			{"limit 0", "?limit=0", hcErrors("limit", "This value should be greater than or equal to 1.")},
			{"limit 101", "?limit=101", hcErrors("limit", "This value should be less than or equal to 100.")},
			{"limit not a number", "?limit=1e2", hcErrors("limit", numeric)},
			{"everything wrong", "?sort=x&order=y&offset=-3&limit=1000", hcErrors("sort", choice, "order", choice,
				"offset", "This value should be greater than or equal to 0.", "limit", "This value should be less than or equal to 100.")},
		}
		for _, tt := range errs {
			t.Run(tt.name, func(t *testing.T) {
				assertError(t, f.do(t, http.MethodGet, "/v1/chats"+tt.query, f.token, ""), http.StatusBadRequest, tt.want)
			})
		}
		t.Run("the other account sees its own", func(t *testing.T) {
			ids, total := chatIDs(t, mustOK(t, f.do(t, http.MethodGet, "/v1/chats", f.foreignToken, "")))
			if fmt.Sprint(ids) != fmt.Sprint([]int64{f.foreignCase.ID}) || total != 1 {
				t.Errorf("ids %v total %v", ids, total)
			}
		})
	})
}

func TestChats_Create(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		sales, theirs := f.sales, f.foreignDepartment
		t.Run("assigned, with department and application", func(t *testing.T) {
			before := f.counts(t)
			r := mustOK(t, f.do(t, http.MethodPost, "/v1/chats", f.chatToken,
				fmt.Sprintf(`{"customer":%d,"assignee":%d,"department":%d,"application":"web"}`, f.anon.ID, f.agent.ID, sales.ID)))
			assertRecent(t, "createdAt", r["createdAt"])
			assertJSON(t, mustJSON(t, r), fmt.Sprintf(`{"id":%d,"closedBy":null,"lastCustomerMessageAt":null,"status":"empty",
				"closedAt":null,"rating":null,"createdAt":%q,"lastMessageAt":null,"readByAgent":true,"readByCustomer":false,
				"createdWith":"public_api","snoozedUntil":null,"lastMessageText":null,"lastMessageId":null,"applicationId":null,
				"lastCommunicatedAgentId":%d,"agents":[%s],"customer":{"id":%d,"name":null,"email":null,"userId":null},
				"assignee":%s,"department":{"id":%d,"name":"Sales"}}`,
				id(t, r["id"]), r["createdAt"], f.agent.ID, agentJSON(f.agent), f.anon.ID, agentJSON(f.agent), sales.ID))
			if after := f.counts(t); after.cases != before.cases+1 || after.messages != before.messages {
				t.Errorf("counts went from %+v to %+v", before, after)
			}
			got := mustOK(t, f.do(t, http.MethodGet, fmt.Sprint("/v1/chats/", id(t, r["id"])), f.token, ""))
			assertJSON(t, mustJSON(t, got), mustJSON(t, r))
		})
		t.Run("unassigned", func(t *testing.T) {
			r := mustOK(t, f.do(t, http.MethodPost, "/v1/chats", f.token, fmt.Sprintf(`{"customer":%d,"assignee":null,"department":null}`, f.contact.ID)))
			if r["assignee"] != nil || r["lastCommunicatedAgentId"] != nil || fmt.Sprint(r["agents"]) != "[]" || r["status"] != "empty" || r["department"] != nil {
				t.Errorf("chat = %v", r)
			}
		})
		customerNotFound := hcErrors("entity_not_found", "Customer not found")
		agentNotFound := hcErrors("entity_not_found", "Agent not found")
		departmentNotFound := hcErrors("entity_not_found", "Department not found")
		tests := []struct {
			name, body string
			status     int
			want       string
		}{
			{"customer missing", `{"assignee":1}`, 400, hcErrors("customer", blank)},
			{"customer as string", fmt.Sprintf(`{"customer":"%d"}`, f.contact.ID), 400, hcErrors("customer", numeric)},
			{"customer negative", `{"customer":-1}`, 400, hcErrors("customer", positive)},
			{"customer and assignee wrong", `{"customer":1.5,"assignee":"x"}`, 400, hcErrors("customer", numeric, "assignee", numeric)},
			{"customer unknown", `{"customer":987654321}`, 404, customerNotFound},
			{"customer huge", `{"customer":99999999999999999999}`, 404, customerNotFound},
			{"customer of another account", fmt.Sprintf(`{"customer":%d}`, f.foreignContact.ID), 404, customerNotFound},
			{"customer and assignee unknown", fmt.Sprintf(`{"customer":987654321,"assignee":%d}`, f.agent.ID+1000), 404, customerNotFound},
			{"assignee unknown", fmt.Sprintf(`{"customer":%d,"assignee":987654321}`, f.contact.ID), 404, agentNotFound},
			{"assignee huge", fmt.Sprintf(`{"customer":%d,"assignee":99999999999999999999}`, f.contact.ID), 404, agentNotFound},
			{"assignee of another account", fmt.Sprintf(`{"customer":%d,"assignee":%d}`, f.contact.ID, f.foreignAgent.ID), 404, agentNotFound},
			{"department unknown", fmt.Sprintf(`{"customer":%d,"department":%d}`, f.contact.ID, sales.ID+1000), 404, departmentNotFound},
			{"department huge", fmt.Sprintf(`{"customer":%d,"department":99999999999999999999}`, f.contact.ID), 404, departmentNotFound},
			{"department of another account", fmt.Sprintf(`{"customer":%d,"department":%d}`, f.contact.ID, theirs.ID), 404, departmentNotFound},
			{"department as a string and customer missing", `{"department":"Sales"}`, 400, hcErrors("customer", blank, "department", numeric)},
			{"department as an object", fmt.Sprintf(`{"customer":%d,"department":{"id":%d}}`, f.contact.ID, sales.ID), 400, hcErrors("department", numeric)},
			{"empty body", ``, 400, hcErrors("body", "The request body should not be empty.")},
			{"malformed", `{"customer":1,}`, 400, hcErrors("body", "The request body is not valid JSON: invalid character '}' looking for beginning of object key string at offset 15.")},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := f.counts(t)
				assertError(t, f.do(t, http.MethodPost, "/v1/chats", f.token, tt.body), tt.status, tt.want)
				f.assertUnchanged(t, before)
			})
		}
	})
}

func TestChats_SetStatus(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		tests := []struct {
			status, want string
			closed       bool
		}{
			{"pending", "pending", false},
			{"on hold", "on hold", false},
			{"onhold", "on hold", false},
			{"no communication", "closed", true},
			{"opened", "opened", false},
			{"closed", "closed", true},
			{"new", "new", false},
		}
		for _, tt := range tests {
			t.Run(tt.status, func(t *testing.T) {
				r := mustOK(t, f.do(t, http.MethodPut, "/v1/chats/status", f.token,
					fmt.Sprintf(`{"id":%d,"status":%q}`, f.offline.ID, tt.status)))
				if r["status"] != tt.want || id(t, r["id"]) != f.offline.ID {
					t.Errorf("status = %v, want %s", r["status"], tt.want)
				}
				if tt.closed {
					assertRecent(t, "closedAt", r["closedAt"])
					assertJSON(t, mustJSON(t, r["closedBy"]), agentJSON(f.boss))
				} else if r["closedAt"] != nil || r["closedBy"] != nil {
					t.Errorf("closedAt %v closedBy %v on an open chat", r["closedAt"], r["closedBy"])
				}
			})
		}
		t.Run("new chat without messages is empty", func(t *testing.T) {
			r := mustOK(t, f.do(t, http.MethodPut, "/v1/chats/status", f.token, fmt.Sprintf(`{"id":%d,"status":"new"}`, f.chat.ID)))
			if r["status"] != "empty" {
				t.Errorf("status = %v", r["status"])
			}
		})
		errs := []struct {
			name, body string
			status     int
			want       string
		}{
			{"empty is not settable", fmt.Sprintf(`{"id":%d,"status":"empty"}`, f.chat.ID), 400, hcErrors("status", choice)},
			{"unknown status", fmt.Sprintf(`{"id":%d,"status":"archived"}`, f.chat.ID), 400, hcErrors("status", choice)},
			{"our own status name", fmt.Sprintf(`{"id":%d,"status":"on_hold"}`, f.chat.ID), 400, hcErrors("status", choice)},
			{"status missing", fmt.Sprintf(`{"id":%d}`, f.chat.ID), 400, hcErrors("status", blank)},
			{"status as number", fmt.Sprintf(`{"id":%d,"status":3}`, f.chat.ID), 400, hcErrors("status", typeStr)},
			{"id missing", `{"status":"closed"}`, 400, hcErrors("id", blank)},
			{"id as string and bad status", `{"id":"5","status":""}`, 400, hcErrors("id", numeric, "status", blank)},
			{"id unknown", `{"id":987654321,"status":"closed"}`, 404, hcErrors("chat_not_found", "Chat not found")},
			{"id huge", `{"id":99999999999999999999,"status":"closed"}`, 404, hcErrors("chat_not_found", "Chat not found")},
			{"id of another account", fmt.Sprintf(`{"id":%d,"status":"closed"}`, f.foreignCase.ID), 404, hcErrors("chat_not_found", "Chat not found")},
		}
		for _, tt := range errs {
			t.Run(tt.name, func(t *testing.T) {
				assertError(t, f.do(t, http.MethodPut, "/v1/chats/status", f.token, tt.body), tt.status, tt.want)
			})
		}
		t.Run("another account's chat is unchanged", func(t *testing.T) {
			v, err := st.Case(context.Background(), f.other.ID, f.foreignCase.ID)
			if err != nil || v.Status != models.StatusNew {
				t.Errorf("foreign case = %v, %v", v.Status, err)
			}
		})
	})
}

func TestChats_Search(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		ctx := context.Background()
		old := storetest.MustOfflineCase(t, st, f.acct.ID, f.anon.ID, "old", "an old one", time.Date(2019, 6, 1, 0, 0, 0, 0, time.UTC))
		if _, err := st.SetCaseStatus(ctx, f.acct.ID, old.ID, models.StatusPending, nil); err != nil {
			t.Fatal(err)
		}
		c0, c1, c2 := f.offline.ID, f.chat.ID, old.ID
		filter := func(field, op string, value any) string {
			return fmt.Sprintf(`{"field":%q,"operator":%q,"value":%s}`, field, op, mustJSON(t, value))
		}
		tests := []struct {
			name string
			body string
			want []int64
		}{
			{"no filter", `{}`, []int64{c1, c0, c2}},
			{"empty filter", `{"filter":[]}`, []int64{c1, c0, c2}},
			{"email", `{"filter":[` + filter("chats.customer.email", "=", "ann@example.com") + `]}`, []int64{c1, c0}},
			{"email not", `{"filter":[` + filter("chats.customer.email", "!=", "ann@example.com") + `]}`, []int64{c2}},
			{"name contains", `{"filter":[` + filter("chats.customer.name", "~", "ANN") + `]}`, []int64{c1, c0}},
			{"phone", `{"filter":[` + filter("chats.customer.phone", "=", "+380501234567") + `]}`, []int64{c1, c0}},
			{"customer", `{"filter":[` + filter("chats.customer", "=", f.anon.ID) + `]}`, []int64{c2}},
			{"customer of another account", `{"filter":[` + filter("chats.customer", "=", f.foreignContact.ID) + `]}`, []int64{}},
			{"id as numeric string", `{"filter":[` + filter("chats.id", "=", fmt.Sprint(c0)) + `]}`, []int64{c0}},
			{"id greater than", `{"filter":[` + filter("chats.id", ">", c0) + `]}`, []int64{c1, c2}},
			{"id huge", `{"filter":[{"field":"chats.id","operator":"<","value":99999999999999999999}]}`, []int64{c1, c0, c2}},
			{"unassigned", `{"filter":[` + filter("chats.assignee", "=", nil) + `]}`, []int64{c0, c2}},
			{"assigned", `{"filter":[` + filter("chats.assignee", "!=", nil) + `]}`, []int64{c1}},
			{"assignee", `{"filter":[` + filter("chats.assignee", "=", f.agent.ID) + `]}`, []int64{c1}},
			{"status empty", `{"filter":[` + filter("chats.status", "=", "empty") + `]}`, []int64{c1, c0}},
			{"status new", `{"filter":[` + filter("chats.status", "=", "new") + `]}`, []int64{c1, c0}},
			{"status pending", `{"filter":[` + filter("chats.status", "=", "pending") + `]}`, []int64{c2}},
			{"status not pending", `{"filter":[` + filter("chats.status", "!=", "pending") + `]}`, []int64{c1, c0}},
			{"created after, string", `{"filter":[` + filter("chats.createdAt", ">", "1600000000") + `]}`, []int64{c1, c0}},
			{"created after, number", `{"filter":[` + filter("chats.createdAt", ">", 1600000000) + `]}`, []int64{c1, c0}},
			{"created at or after the second", `{"filter":[` + filter("chats.createdAt", ">=", "1603885746") + `]}`, []int64{c1, c0}},
			{"created after a fraction", `{"filter":[{"field":"chats.createdAt","operator":">","value":1603885746.5}]}`, []int64{c1}},
			{"created before", `{"filter":[` + filter("chats.createdAt", "<", 1600000000) + `]}`, []int64{c2}},
			{"no last message", `{"filter":[` + filter("chats.lastMessageAt", "=", nil) + `]}`, []int64{c1}},
			{"last customer message before", `{"filter":[` + filter("chats.lastCustomerMessageAt", "<=", "1603885746") + `]}`, []int64{c0, c2}},
			{"not closed", `{"filter":[` + filter("chats.closedAt", "=", nil) + `]}`, []int64{c1, c0, c2}},
			{"unrated", `{"filter":[` + filter("chats.rating", "=", nil) + `]}`, []int64{c1, c0, c2}},
			{"rated great", `{"filter":[` + filter("chats.rating", "=", "great") + `]}`, []int64{}},
			{"AND of two", `{"filter":[` + filter("chats.customer.email", "=", "ann@example.com") + `,` + filter("chats.status", "=", "pending") + `]}`, []int64{}},
			{"OR of two", `{"comparison":"OR","filter":[` + filter("chats.customer.email", "=", "ann@example.com") + `,` + filter("chats.status", "=", "pending") + `]}`, []int64{c1, c0, c2}},
			{"or in lower case", `{"comparison":"or","filter":[` + filter("chats.id", "=", c0) + `,` + filter("chats.id", "=", c2) + `]}`, []int64{c0, c2}},
			{"sorted and paged", `{"sort":"chats.createdAt","order":"asc","offset":1,"limit":1}`, []int64{c0}},
			{"paging as strings", `{"offset":"1","limit":"2"}`, []int64{c0, c2}},
			{"order in upper case", `{"order":"ASC","limit":"003"}`, []int64{c2, c0, c1}},
			{"the largest offset", `{"offset":9223372036854775807,"limit":100}`, []int64{}},
			{"every field null", `{"filter":null,"comparison":null,"sort":null,"order":null,"offset":null,"limit":null}`, []int64{c1, c0, c2}},
			{"every field empty", `{"filter":[],"comparison":"","sort":"","order":"","offset":"","limit":""}`, []int64{c1, c0, c2}},
			{"sorted by last message", `{"sort":"chats.lastMessageAt","order":"desc"}`, []int64{c0, c2, c1}},
			{"50 filters", `{"comparison":"OR","filter":[` + strings.Repeat(`{"field":"chats.id","operator":"=","value":0},`, 49) +
				filter("chats.id", "=", c2) + `]}`, []int64{c2}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := mustOK(t, f.do(t, http.MethodPost, "/v1/chats/search", f.readToken, tt.body))
				ids, total := chatIDs(t, r)
				wantTotal := len(tt.want)
				if strings.Contains(tt.body, `"limit"`) {
					wantTotal = 3
				}
				if fmt.Sprint(ids) != fmt.Sprint(tt.want) || total != float64(wantTotal) {
					t.Errorf("ids %v total %v, want %v total %d", ids, total, tt.want, wantTotal)
				}
			})
		}
		errs := []struct {
			name, body string
			want       string
		}{
			{"every kind of mistake", `{"filter":[
				{"operator":"=","value":1},
				{"field":"chats.bogus","operator":"=","value":1},
				{"field":"chats.id","operator":"like","value":1},
				{"field":"chats.id","operator":"=","value":"abc"},
				{"field":"chats.id","operator":"~","value":1},
				{"field":"chats.customer.email","operator":"=","value":5},
				{"field":"chats.createdAt","operator":">","value":"yesterday"},
				{"field":"chats.status","operator":"=","value":"archived"},
				{"field":"chats.createdAt","operator":">","value":1e20},
				"not an object",
				{"field":5,"operator":null,"value":1},
				{"field":"chats.status","operator":"<","value":"new"},
				{"field":"chats.customer.email","operator":"=","value":null},
				{"field":"chats.closedAt","operator":"<","value":null},
				{"field":"chats.assignee","operator":"=","value":true},
				{"field":"chats.createdAt","operator":"=","value":"99999999999999"}
				],"comparison":"XOR","sort":"chats.bogus","order":"up","offset":-1,"limit":500}`,
				hcErrors("filter[0].field", blank, "filter[1].field", choice, "filter[2].operator", choice,
					"filter[3].value", numeric, "filter[4].operator", choice, "filter[5].value", typeStr,
					"filter[6].value", numeric, "filter[7].value", choice, "filter[8].value", "This value is not a valid datetime.",
					"filter[9]", "This value should be of type array.", "filter[10].field", typeStr, "filter[10].operator", blank,
					"filter[11].operator", choice, "filter[12].value", blank, "filter[13].value", blank,
					"filter[14].value", numeric, "filter[15].value", "This value is not a valid datetime.",
					"comparison", choice, "sort", choice, "order", choice,
					"offset", "This value should be greater than or equal to 0.", "limit", "This value should be less than or equal to 100.")},
			{"filter not an array", `{"filter":{"field":"chats.id"}}`, hcErrors("filter", "This value should be of type array.")},
			{"offset beyond 64 bits", `{"offset":99999999999999999999}`, hcErrors("offset", maxOffset)},
			{"offset beyond 64 bits, as a string", `{"offset":"9223372036854775808"}`, hcErrors("offset", maxOffset)},
			{"too many filters", `{"comparison":"OR","filter":[` + strings.Repeat(`{"field":"chats.id","operator":"=","value":1},`, 50) + `{}]}`,
				hcErrors("filter", "This collection should contain 50 elements or less.")},
			{"comparison not a string", `{"comparison":1}`, hcErrors("comparison", typeStr)},
			{"customer field on chats", `{"filter":[{"field":"customers.email","operator":"=","value":"a"}]}`, hcErrors("filter[0].field", choice)},
			{"empty body", ``, hcErrors("body", "The request body should not be empty.")},
			{"not an object", `"search"`, hcErrors("body", "The request body should be a JSON object.")},
		}
		for _, tt := range errs {
			t.Run(tt.name, func(t *testing.T) {
				assertError(t, f.do(t, http.MethodPost, "/v1/chats/search", f.token, tt.body), http.StatusBadRequest, tt.want)
			})
		}
		t.Run("the vendor's filter example", func(t *testing.T) {
			r := mustOK(t, f.do(t, http.MethodPost, "/v1/chats/search", f.token,
				`{"filter":[{"field":"chats.customer.email","operator":"~","value":"example.com"}],"comparison":"AND","sort":"chats.createdAt","order":"desc","offset":0,"limit":100}`))
			if ids, total := chatIDs(t, r); fmt.Sprint(ids) != fmt.Sprint([]int64{c1, c0}) || total != 2 {
				t.Errorf("ids %v total %v", ids, total)
			}
		})
	})
}

package main

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"switchboard/cmd/switchboard/binarytest"
	"switchboard/store/storetest"
)

// rpcList is the result of a CallGear get method.
type rpcList struct {
	Result *struct {
		Data     []map[string]any
		Metadata struct {
			TotalItems int64 `json:"total_items"`
		}
	}
	Error *struct {
		Code int
		Data struct{ Mnemonic string }
	}
}

// rpcGet calls a CallGear get method with the key and returns its rows and
// total, failing the test on an error answer.
func (s *server) rpcGet(t *testing.T, token, method string, params map[string]any) ([]map[string]any, int64) {
	t.Helper()
	params["access_token"] = token
	code, body := s.call(t, http.MethodPost, "/data-api/v2.0", "", "", map[string]any{"jsonrpc": "2.0", "id": method, "method": method, "params": params})
	var res rpcList
	mustJSON(t, method, body, &res)
	if code != 200 || res.Result == nil {
		t.Fatalf("%s = %d %s", method, code, body)
	}
	return res.Result.Data, res.Result.Metadata.TotalItems
}

// TestE2E_ReadSide writes through three dialects of the real binary (a
// chat and an offline message uploaded through CallGear, a customer and a
// chat through HelpCrunch, replies through Acquire), with the account in a
// time zone far from UTC, then reads everything back through each
// dialect's reads: CallGear's reports and directories, HelpCrunch's totals,
// agents, departments and chat updates, Acquire's contacts.
func TestE2E_ReadSide(t *testing.T) {
	bin := mustBuild(t)
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range storetest.Backends(t) {
		t.Run(string(b), func(t *testing.T) {
			dbURL := storetest.MustURL(t, b)
			s := mustStart(t, bin, dbURL)
			email, _, token := binarytest.MustCredentials(t, s.stdout)
			st := storetest.MustOpenURL(t, dbURL)
			admin, err := st.AgentByEmail(t.Context(), email)
			st.Close()
			if err != nil {
				t.Fatal(err)
			}
			acct := fmt.Sprint(admin.AccountID)
			c := cli{dbURL: dbURL}
			c.mustID(t, "account", "update", "--id", acct, "--timezone", "Asia/Tokyo")
			site := c.mustID(t, "site", "create", "--account", acct, "--domain", "shop.example")
			campaign := c.mustID(t, "campaign", "create", "--account", acct, "--site", fmt.Sprint(site), "--name", "Spring sale")
			dept := c.mustID(t, "department", "create", "--account", acct, "--name", "Billing")
			ann := c.mustID(t, "agent", "create", "--account", acct, "--email", "ann@example.com", "--password", "long-enough-pw",
				"--role", "agent", "--first-name", "Ann", "--last-name", "Lee")

			// CallGear: a chat and an offline message at 23:30 and 23:40 Tokyo
			// time two days ago, which is the afternoon of the same day in UTC.
			now := time.Now().In(tokyo)
			day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, tokyo).AddDate(0, 0, -2)
			local := func(h, m, sec int) string {
				return day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(sec)*time.Second).Format(time.DateTime)
			}
			code, body := s.call(t, http.MethodPost, "/data-api/v2.0", "", "", map[string]any{
				"jsonrpc": "2.0", "id": 1, "method": "upload.chats", "params": map[string]any{
					"access_token": token, "chats": []map[string]any{{
						"start_date_time": local(23, 30, 0), "name": "Visitor", "email": "v@example.com", "status": "succeed",
						"site_id": site, "visitor_session_id": 5531, "ext_id": "crm-1",
						"messages": []map[string]any{
							{"date_time": local(23, 30, 10), "source": "visitor", "message": "Hello?"},
							{"date_time": local(23, 31, 0), "source": "operator", "employee_id": admin.ID, "message": "Hi, how can I help?"},
						},
					}},
				},
			})
			var up struct {
				Result struct{ Data []struct{ ID int64 } }
			}
			mustJSON(t, "upload.chats", body, &up)
			if code != 200 || len(up.Result.Data) != 1 {
				t.Fatalf("upload.chats = %d %s", code, body)
			}
			uploadedChat := up.Result.Data[0].ID
			code, body = s.call(t, http.MethodPost, "/data-api/v2.0", "", "", map[string]any{
				"jsonrpc": "2.0", "id": 2, "method": "upload.offline_messages", "params": map[string]any{
					"access_token": token, "offline_messages": []map[string]any{{
						"date_time": local(23, 40, 0), "name": "Visitor", "email": "v@example.com", "message": "Call me back",
						"site_id": site, "visitor_session_id": 5531, "ext_id": "form-1",
					}},
				},
			})
			mustJSON(t, "upload.offline_messages", body, &up)
			if code != 200 || len(up.Result.Data) != 1 {
				t.Fatalf("upload.offline_messages = %d %s", code, body)
			}
			offline := up.Result.Data[0].ID

			// HelpCrunch: a new customer, a chat in the Billing department,
			// the customer's message, then the chat assigned to Ann.
			code, body = s.call(t, http.MethodPost, "/v1/customers", token, "", map[string]any{"name": "Hana", "email": "hana@example.com"})
			var customer struct{ ID int64 }
			mustJSON(t, "POST /v1/customers", body, &customer)
			if code != 200 && code != 201 {
				t.Fatalf("POST /v1/customers = %d %s", code, body)
			}
			code, body = s.call(t, http.MethodPost, "/v1/chats", token, "", map[string]any{"customer": customer.ID, "department": dept})
			var hcChat struct{ ID int64 }
			mustJSON(t, "POST /v1/chats", body, &hcChat)
			if code != 200 && code != 201 {
				t.Fatalf("POST /v1/chats = %d %s", code, body)
			}
			if code, body = s.call(t, http.MethodPost, "/v1/messages", token, "", map[string]any{"chat": hcChat.ID, "text": "My invoice is wrong", "type": "message"}); code != 200 {
				t.Fatalf("POST /v1/messages = %d %s", code, body)
			}
			if code, body = s.call(t, http.MethodPut, fmt.Sprintf("/v1/chats/%d/assignee", hcChat.ID), token, "", map[string]any{"assignee": ann}); code != 200 {
				t.Fatalf("PUT /v1/chats/{id}/assignee = %d %s", code, body)
			}

			// Acquire: the key's agent answers, and so does the customer.
			if code, body = s.call(t, http.MethodPost, "/api/v1/crm/messenger/chat/add-message", token, "", map[string]any{
				"caseId": hcChat.ID, "message": map[string]any{"type": "message", "message": "Let me check"},
			}); code != 200 {
				t.Fatalf("Acquire add-message = %d %s", code, body)
			}
			if code, body = s.call(t, http.MethodPost, fmt.Sprint("/api/v1/crm/messenger/chat/add-message?contactId=", customer.ID), token, "contact", map[string]any{
				"caseId": hcChat.ID, "message": map[string]any{"type": "message", "message": "Thanks"},
			}); code != 200 {
				t.Fatalf("Acquire contact add-message = %d %s", code, body)
			}

			// CallGear reads it all back, in Tokyo time.
			dayFrom, dayTill := local(0, 0, 0), local(23, 59, 59)
			rows, total := s.rpcGet(t, token, "get.chats_report", map[string]any{"date_from": dayFrom, "date_till": dayTill,
				"fields": []any{"id", "date_time", "ext_id", "status", "visitor_session_id"}})
			if total != 1 || len(rows) != 1 || rows[0]["ext_id"] != "crm-1" || rows[0]["date_time"] != local(23, 30, 0) ||
				rows[0]["id"] != float64(uploadedChat) || rows[0]["status"] != "succeed" || rows[0]["visitor_session_id"] != float64(5531) {
				t.Errorf("get.chats_report of the upload's day = %d %v", total, rows)
			}
			// The next Tokyo day holds nothing, though it is the same UTC day.
			next := day.AddDate(0, 0, 1)
			if _, total := s.rpcGet(t, token, "get.chats_report", map[string]any{"date_from": next.Format(time.DateTime),
				"date_till": next.Add(14 * time.Hour).Format(time.DateTime)}); total != 0 {
				t.Errorf("get.chats_report of the next day = %d, want 0", total)
			}
			till := now.Add(time.Hour).Format(time.DateTime)
			rows, total = s.rpcGet(t, token, "get.chats_report", map[string]any{"date_from": dayFrom, "date_till": till,
				"fields": []any{"id", "ext_id", "employee_id"}, "sort": []any{map[string]any{"field": "date_time", "order": "desc"}}})
			if total != 2 || len(rows) != 2 || rows[0]["id"] != float64(hcChat.ID) || rows[0]["ext_id"] != nil ||
				rows[0]["employee_id"] != float64(ann) || rows[1]["id"] != float64(uploadedChat) {
				t.Errorf("get.chats_report through now = %d %v; want the HelpCrunch chat, then the upload", total, rows)
			}
			rows, total = s.rpcGet(t, token, "get.chats_report", map[string]any{"date_from": dayFrom, "date_till": till, "fields": []any{"id"},
				"filter": map[string]any{"condition": "or", "filters": []any{
					map[string]any{"field": "ext_id", "operator": "like", "value": "crm-%"},
					map[string]any{"field": "employee_id", "operator": "=", "value": ann},
				}}})
			if total != 2 || len(rows) != 2 {
				t.Errorf("get.chats_report with an or filter = %d %v", total, rows)
			}
			rows, total = s.rpcGet(t, token, "get.chat_messages_report", map[string]any{"chat_id": hcChat.ID, "fields": []any{"text", "source"}})
			var texts []string
			for _, r := range rows {
				texts = append(texts, fmt.Sprint(r["source"], ":", r["text"]))
			}
			if want := []string{"visitor:My invoice is wrong", "operator:Let me check", "visitor:Thanks"}; total != 3 || !slices.Equal(texts, want) {
				t.Errorf("get.chat_messages_report of the HelpCrunch chat = %d %v, want %v", total, texts, want)
			}
			if _, total = s.rpcGet(t, token, "get.chat_messages_report", map[string]any{"chat_ids": []any{uploadedChat, hcChat.ID}}); total != 5 {
				t.Errorf("get.chat_messages_report of both chats = %d, want 5", total)
			}
			rows, total = s.rpcGet(t, token, "get.offline_messages_report", map[string]any{"date_from": dayFrom, "date_till": till,
				"fields": []any{"id", "date_time", "ext_id", "text"}})
			if total != 1 || len(rows) != 1 || rows[0]["id"] != float64(offline) || rows[0]["ext_id"] != "form-1" ||
				rows[0]["date_time"] != local(23, 40, 0) || rows[0]["text"] != "Call me back" {
				t.Errorf("get.offline_messages_report = %d %v", total, rows)
			}
			rows, total = s.rpcGet(t, token, "get.visitor_sessions_report", map[string]any{"date_from": dayFrom, "date_till": till,
				"fields": []any{"id", "ext_id", "site_domain_name", "communications"}})
			if total != 1 || len(rows) != 1 || rows[0]["id"] != float64(5531) || rows[0]["ext_id"] != "5531" ||
				rows[0]["site_domain_name"] != "shop.example" || len(rows[0]["communications"].([]any)) != 2 {
				t.Errorf("get.visitor_sessions_report = %d %v", total, rows)
			}
			rows, total = s.rpcGet(t, token, "get.employees", map[string]any{"fields": []any{"id", "login"}, "sort": []any{map[string]any{"field": "id", "order": "asc"}}})
			if total != 2 || len(rows) != 2 || rows[1]["login"] != "ann@example.com" || rows[1]["id"] != float64(ann) {
				t.Errorf("get.employees = %d %v", total, rows)
			}
			if _, total = s.rpcGet(t, token, "get.customer_users", map[string]any{}); total != 2 {
				t.Errorf("get.customer_users = %d, want the 2 agents", total)
			}
			rows, total = s.rpcGet(t, token, "get.sites", map[string]any{"fields": []any{"id", "domain_name"}})
			if total != 1 || rows[0]["id"] != float64(site) || rows[0]["domain_name"] != "shop.example" {
				t.Errorf("get.sites = %d %v", total, rows)
			}
			rows, total = s.rpcGet(t, token, "get.campaigns", map[string]any{"fields": []any{"id", "name", "site_id"}})
			if total != 1 || rows[0]["id"] != float64(campaign) || rows[0]["name"] != "Spring sale" || rows[0]["site_id"] != float64(site) {
				t.Errorf("get.campaigns = %d %v", total, rows)
			}

			// HelpCrunch: the chat with its department and assignee, the
			// totals, and paging by offset that sees every chat once.
			code, body = s.call(t, http.MethodGet, fmt.Sprint("/v1/chats/", hcChat.ID), token, "", nil)
			if code != 200 || !strings.Contains(body, fmt.Sprintf(`"department":{"id":%d,"name":"Billing"}`, dept)) ||
				!strings.Contains(body, `"email":"ann@example.com"`) {
				t.Errorf("GET /v1/chats/{id} = %d %s; want Billing and Ann", code, body)
			}
			var chats struct {
				Data []struct{ ID int64 }
				Meta struct{ Total int }
			}
			seen := map[int64]int{}
			for offset := 0; ; offset++ {
				code, body = s.call(t, http.MethodGet, fmt.Sprintf("/v1/chats?sort=chats.lastMessageAt&order=desc&limit=1&offset=%d", offset), token, "", nil)
				mustJSON(t, "GET /v1/chats", body, &chats)
				if code != 200 || len(chats.Data) != 1 {
					t.Fatalf("GET /v1/chats offset %d = %d %s", offset, code, body)
				}
				seen[chats.Data[0].ID]++
				if offset+1 >= chats.Meta.Total {
					break
				}
			}
			// The offline message is a chat to HelpCrunch too.
			if chats.Meta.Total != 3 || len(seen) != 3 || seen[hcChat.ID] != 1 || seen[uploadedChat] != 1 || seen[offline] != 1 {
				t.Errorf("GET /v1/chats paged one at a time: total %d, saw %v", chats.Meta.Total, seen)
			}
			code, body = s.call(t, http.MethodGet, fmt.Sprintf("/v1/chats/%d/messages", hcChat.ID), token, "", nil)
			if code != 200 || !strings.Contains(body, `"total":3`) || !strings.Contains(body, `"text":"Let me check"`) {
				t.Errorf("GET /v1/chats/{id}/messages = %d %s", code, body)
			}
			var customers struct {
				Data  []struct{ ID int64 }
				Total int
			}
			code, body = s.call(t, http.MethodGet, "/v1/customers?sort=customers.firstSeen&order=asc", token, "", nil)
			mustJSON(t, "GET /v1/customers", body, &customers)
			if code != 200 || customers.Total != 2 || len(customers.Data) != 2 || customers.Data[1].ID != customer.ID {
				t.Errorf("GET /v1/customers = %d %s; want the visitor, then Hana", code, body)
			}
			if code, body = s.call(t, http.MethodGet, fmt.Sprint("/v1/customers/", customer.ID), token, "", nil); code != 200 || !strings.Contains(body, `"email":"hana@example.com"`) {
				t.Errorf("GET /v1/customers/{id} = %d %s", code, body)
			}
			if code, body = s.call(t, http.MethodGet, "/v1/agents", token, "", nil); code != 200 || !strings.Contains(body, `"total":2`) || !strings.Contains(body, `"email":"ann@example.com"`) {
				t.Errorf("GET /v1/agents = %d %s", code, body)
			}
			if code, body = s.call(t, http.MethodGet, fmt.Sprint("/v1/agents/", ann), token, "", nil); code != 200 || !strings.Contains(body, `"name":"Ann Lee"`) {
				t.Errorf("GET /v1/agents/{id} = %d %s", code, body)
			}
			if code, body = s.call(t, http.MethodGet, "/v1/departments", token, "", nil); code != 200 ||
				!strings.Contains(body, fmt.Sprintf(`{"id":%d,"name":"Billing"}`, dept)) || !strings.Contains(body, `"total":1`) {
				t.Errorf("GET /v1/departments = %d %s", code, body)
			}

			// Acquire: the same two contacts, counted, and one by id.
			var contacts struct {
				Data struct {
					Count int64
					List  []struct{ ID int64 }
				}
			}
			code, body = s.call(t, http.MethodGet, "/api/v1/crm/objects/contact", token, "", nil)
			mustJSON(t, "GET /api/v1/crm/objects/contact", body, &contacts)
			if code != 200 || contacts.Data.Count != 2 || len(contacts.Data.List) != 2 {
				t.Errorf("Acquire contacts = %d %s", code, body)
			}
			if code, body = s.call(t, http.MethodGet, fmt.Sprint("/api/v1/crm/objects/contact/", customer.ID), token, "", nil); code != 200 || !strings.Contains(body, `"hana@example.com"`) {
				t.Errorf("Acquire contact by id = %d %s", code, body)
			}
			if err := s.stop(t); err != nil {
				t.Errorf("exit after SIGTERM: %v", err)
			}
		})
	}
}

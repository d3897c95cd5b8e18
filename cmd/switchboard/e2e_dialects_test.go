package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"switchboard/cmd/switchboard/binarytest"
	"switchboard/store/storetest"
)

// call sends one request to the running server with a bearer token (and
// x-user-type when userType is set) and returns the status and body.
func (s *server) call(t *testing.T, method, path, token, userType string, body any) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequestWithContext(context.Background(), method, "http://"+s.addr+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if userType != "" {
		req.Header.Set("x-user-type", userType)
	}
	res, err := s.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// mustJSON decodes body into v or fails naming what it was.
func mustJSON(t *testing.T, what, body string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("%s: %v in %s", what, err, body)
	}
}

// TestE2E_OneConversation walks one conversation through the real binary in
// all three REST dialects: a visitor's offline message, an agent's reply
// through HelpCrunch, another through Acquire, the visitor's answer through
// Acquire, closing and reopening, each read back through the others. Then
// it checks key scopes and revocation with keys made by the CLI.
func TestE2E_OneConversation(t *testing.T) {
	bin := mustBuild(t)
	for _, b := range storetest.Backends(t) {
		t.Run(string(b), func(t *testing.T) {
			dbURL := storetest.MustURL(t, b)
			s := mustStart(t, bin, dbURL)
			email, password, token := binarytest.MustCredentials(t, s.stdout)

			// The visitor's offline message arrives through CallGear's upload.
			st := storetest.MustOpenURL(t, dbURL)
			admin, err := st.AgentByEmail(t.Context(), email)
			if err != nil {
				t.Fatal(err)
			}
			st.Close()
			site := cli{dbURL: dbURL}.mustID(t, "site", "create", "--account", fmt.Sprint(admin.AccountID), "--domain", "shop.example")
			sent := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
			code, body := s.call(t, http.MethodPost, "/data-api/v2.0", "", "", map[string]any{
				"jsonrpc": "2.0", "id": 1, "method": "upload.offline_messages", "params": map[string]any{
					"access_token": token, "offline_messages": []map[string]any{{
						"date_time": sent.Format(time.DateTime), "name": "Visitor", "email": "v@example.com", "phone": "+14155550111",
						"message": "Is anyone there?", "site_id": site, "ext_id": "form-1",
					}},
				},
			})
			var up struct {
				Result struct{ Data []struct{ ID int64 } }
			}
			mustJSON(t, "upload.offline_messages", body, &up)
			if code != 200 || len(up.Result.Data) != 1 {
				t.Fatalf("upload.offline_messages = %d %s", code, body)
			}
			offline := struct{ ID, ContactID int64 }{ID: up.Result.Data[0].ID}
			code, body = s.get(t, fmt.Sprint("/api/offlinemessages/", offline.ID), email, password)
			want := fmt.Sprintf(`"message":"Is anyone there?","received_time":%d`, sent.UnixMilli())
			if code != 200 || !strings.Contains(body, want) {
				t.Fatalf("REVE reads the upload = %d %s; want %s", code, body, want)
			}
			var detail struct {
				VisitorID int64 `json:"visitor_id"`
			}
			mustJSON(t, "REVE detail", body, &detail)
			offline.ContactID = detail.VisitorID

			// HelpCrunch: the agent answers.
			code, body = s.call(t, http.MethodPost, "/v1/messages", token, "", map[string]any{
				"chat": offline.ID, "text": "Hello from HelpCrunch", "markdownText": "**Hello** from HelpCrunch", "agent": admin.ID, "type": "message",
			})
			var hcMsg struct {
				ID    int64
				Text  string
				From  string
				Chat  int64
				Agent struct{ ID int64 }
			}
			mustJSON(t, "POST /v1/messages", body, &hcMsg)
			if code != 200 || hcMsg.Text != "**Hello** from HelpCrunch" || hcMsg.From != "agent" || hcMsg.Chat != offline.ID || hcMsg.Agent.ID != admin.ID {
				t.Fatalf("POST /v1/messages = %d %s", code, body)
			}

			// REVE: the reply is one of the offline message's reply_messages.
			code, body = s.get(t, fmt.Sprint("/api/offlinemessages/", offline.ID), email, password)
			if code != 200 || !strings.Contains(body, `"reply_message":"Hello from HelpCrunch"`) {
				t.Errorf("REVE detail after HelpCrunch reply = %d %s", code, body)
			}

			// Acquire: a second reply as the key's agent, then the visitor answers.
			code, body = s.call(t, http.MethodPost, "/api/v1/crm/messenger/chat/add-message", token, "", map[string]any{
				"channel": "chat", "caseId": offline.ID, "message": map[string]any{"type": "message", "message": "Hello from Acquire", "translateLangKey": "en"},
			})
			var acq struct {
				Data struct {
					ID         int64
					SenderType string
					SenderID   int64
					CaseID     int64
					Case       struct {
						Status string
						Users  []struct{ Type string }
					}
				}
			}
			mustJSON(t, "Acquire add-message", body, &acq)
			if code != 200 || acq.Data.SenderType != "user" || acq.Data.SenderID != admin.ID || acq.Data.CaseID != offline.ID || acq.Data.Case.Status != "active" {
				t.Fatalf("Acquire add-message = %d %s", code, body)
			}
			code, body = s.call(t, http.MethodPost, "/api/v1/crm/messenger/chat/add-message?contactId="+fmt.Sprint(offline.ContactID), token, "contact", map[string]any{
				"caseId": offline.ID, "message": map[string]any{"type": "message", "message": "Thanks, both of you"},
			})
			if code != 200 || !strings.Contains(body, `"senderType":"contact"`) {
				t.Fatalf("Acquire contact message = %d %s", code, body)
			}

			// HelpCrunch reads all four, newest first, with who wrote each.
			code, body = s.call(t, http.MethodGet, fmt.Sprintf("/v1/chats/%d/messages", offline.ID), token, "", nil)
			var list struct {
				Data []struct {
					Text string
					From string
					Type string
				}
				Total int
			}
			mustJSON(t, "GET /v1/chats/{id}/messages", body, &list)
			wantTexts := []string{"Thanks, both of you", "Hello from Acquire", "**Hello** from HelpCrunch", "Is anyone there?"}
			wantFrom := []string{"customer", "agent", "agent", "customer"}
			if code != 200 || list.Total != 4 || len(list.Data) != 4 {
				t.Fatalf("HelpCrunch messages = %d %s", code, body)
			}
			for i, msg := range list.Data {
				if msg.Text != wantTexts[i] || msg.From != wantFrom[i] || msg.Type != "message" {
					t.Errorf("message %d = %+v, want %q from %s", i, msg, wantTexts[i], wantFrom[i])
				}
			}

			// REVE counts the two agent replies and the visitor's answer, and
			// shows the answer under the visitor's name.
			code, body = s.get(t, "/api/offlinemessages", email, password)
			if code != 200 || !strings.Contains(body, `"reply_message_count":3`) {
				t.Errorf("REVE list = %d %s, want 3 replies", code, body)
			}
			code, body = s.get(t, fmt.Sprint("/api/offlinemessages/", offline.ID), email, password)
			if code != 200 || !strings.Contains(body, `{"reply_message":"Thanks, both of you",`) || !strings.Contains(body, `"agent_id":0,"first_name":"Visitor"`) {
				t.Errorf("REVE detail = %d %s, want the visitor's answer first, by the visitor", code, body)
			}

			// HelpCrunch closes the chat; Acquire then refuses it, HelpCrunch reopens it.
			if code, body = s.call(t, http.MethodPut, "/v1/chats/status", token, "", map[string]any{"id": offline.ID, "status": "closed"}); code != 200 || !strings.Contains(body, `"status":"closed"`) {
				t.Fatalf("close = %d %s", code, body)
			}
			code, body = s.call(t, http.MethodPost, "/api/v1/crm/messenger/chat/add-message", token, "user", map[string]any{
				"caseId": offline.ID, "message": map[string]any{"type": "message", "message": "late"},
			})
			if code != 400 || !strings.Contains(body, `"ERROR_INVALID_INPUT"`) {
				t.Errorf("Acquire into a closed case = %d %s, want 400 ERROR_INVALID_INPUT", code, body)
			}
			if code, body = s.call(t, http.MethodGet, fmt.Sprint("/api/v1/crm/objects/case/", offline.ID), token, "", nil); code != 200 || !strings.Contains(body, `"status":"closed"`) {
				t.Errorf("Acquire case after closing = %d %s", code, body)
			}
			code, body = s.call(t, http.MethodPost, "/v1/messages", token, "", map[string]any{"chat": offline.ID, "text": "Reopened", "type": "message"})
			if code != 200 || !strings.Contains(body, `"from":"customer"`) {
				t.Fatalf("customer message into a closed chat = %d %s", code, body)
			}
			if code, body = s.call(t, http.MethodGet, fmt.Sprint("/api/v1/crm/objects/case/", offline.ID), token, "", nil); code != 200 || !strings.Contains(body, `"status":"active"`) {
				t.Errorf("Acquire case after reopening = %d %s", code, body)
			}
			if code, body = s.call(t, http.MethodGet, "/api/v1/crm/objects/case?where=status|eq|active", token, "", nil); code != 200 || !strings.Contains(body, fmt.Sprintf(`"id":%d`, offline.ID)) {
				t.Errorf("Acquire active cases = %d %s", code, body)
			}

			// A chat uploaded through CallGear reads through HelpCrunch and Acquire.
			code, body = s.call(t, http.MethodPost, "/data-api/v2.0", "", "", map[string]any{
				"jsonrpc": "2.0", "id": "chats", "method": "upload.chats", "params": map[string]any{
					"access_token": token, "chats": []map[string]any{{
						"start_date_time": sent.Format(time.DateTime), "email": "v@example.com", "status": "lost", "site_id": site,
						"messages": []map[string]any{
							{"date_time": sent.Format(time.DateTime), "source": "visitor", "message": "Hello?"},
							{"date_time": sent.Add(time.Minute).Format(time.DateTime), "source": "operator", "employee_id": admin.ID, "message": "Sorry, we missed you"},
						},
					}},
				},
			})
			mustJSON(t, "upload.chats", body, &up)
			if code != 200 || len(up.Result.Data) != 1 || !strings.Contains(body, `"id":"chats"`) {
				t.Fatalf("upload.chats = %d %s", code, body)
			}
			chatID := up.Result.Data[0].ID
			if code, body = s.call(t, http.MethodGet, fmt.Sprintf("/v1/chats/%d/messages", chatID), token, "", nil); code != 200 ||
				!strings.Contains(body, `"text":"Sorry, we missed you"`) || !strings.Contains(body, `"total":2`) {
				t.Errorf("HelpCrunch reads the uploaded chat = %d %s", code, body)
			}
			if code, body = s.call(t, http.MethodGet, fmt.Sprint("/api/v1/crm/objects/case/", chatID), token, "", nil); code != 200 ||
				!strings.Contains(body, `"status":"closed"`) || !strings.Contains(body, fmt.Sprintf(`"contactId":%d`, offline.ContactID)) {
				t.Errorf("Acquire reads the uploaded chat = %d %s", code, body)
			}

			// REVE reads the uploaded chat, the chat HelpCrunch opens, the agent and the visitor.
			code, body = s.get(t, fmt.Sprint("/api/chats/", chatID), email, password)
			if code != 200 || !strings.Contains(body, `"is_missed_chat":1`) || !strings.Contains(body, fmt.Sprintf(`"agent_id":%d`, admin.ID)) ||
				!strings.Contains(body, `"visitor_email":"v@example.com"`) {
				t.Errorf("REVE reads the uploaded chat = %d %s", code, body)
			}
			code, body = s.call(t, http.MethodPost, "/v1/chats", token, "", map[string]any{"customer": offline.ContactID, "assignee": admin.ID})
			if code != 200 {
				t.Fatalf("POST /v1/chats = %d %s", code, body)
			}
			var opened struct{ ID int64 }
			mustJSON(t, "POST /v1/chats", body, &opened)
			if code, body = s.call(t, http.MethodPost, "/api/v1/crm/messenger/chat/add-message", token, "", map[string]any{
				"caseId": opened.ID, "message": map[string]any{"type": "message", "message": "Opened through HelpCrunch, answered through Acquire"},
			}); code != 200 {
				t.Fatalf("Acquire into the HelpCrunch chat = %d %s", code, body)
			}
			code, body = s.get(t, "/api/chats/?date_from=2020-01-01", email, password)
			if code != 200 || !strings.Contains(body, fmt.Sprintf(`"chat_id":%d`, opened.ID)) || !strings.Contains(body, fmt.Sprintf(`"chat_id":%d`, chatID)) {
				t.Errorf("REVE chat list = %d %s; want both chats", code, body)
			}
			code, body = s.get(t, fmt.Sprint("/api/agents/", admin.ID), email, password)
			if code != 200 || !strings.Contains(body, `"role":"Super Admin"`) || strings.Contains(body, `"last_login_time":null`) {
				t.Errorf("REVE agent = %d %s; want the superadmin with a login time", code, body)
			}
			code, body = s.get(t, fmt.Sprint("/api/visitors/", offline.ContactID), email, password)
			if code != 200 || !strings.Contains(body, `"total_chats":2`) || !strings.Contains(body, `"email":"v@example.com"`) {
				t.Errorf("REVE visitor = %d %s; want the two chats", code, body)
			}

			// A read-only key made by the CLI reads but may not write; revoked, it stops.
			c := cli{dbURL: dbURL}
			out, errOut, err := c.run(t, "", "key", "create", "--account", fmt.Sprint(admin.AccountID), "--scopes", "read", "--name", "dashboard", "--json")
			if err != nil {
				t.Fatalf("key create: %v\n%s", err, errOut)
			}
			var key struct{ ID, Token string }
			mustJSON(t, "key create --json", out, &key)
			if code, _ := s.call(t, http.MethodGet, "/v1/chats", key.Token, "", nil); code != 200 {
				t.Errorf("read-only key listing chats = %d, want 200", code)
			}
			code, body = s.call(t, http.MethodPost, "/v1/messages", key.Token, "", map[string]any{"chat": offline.ID, "text": "x", "agent": admin.ID, "type": "message"})
			if code != 403 || !strings.Contains(body, "chat") {
				t.Errorf("read-only key posting = %d %s, want 403 naming the chat scope", code, body)
			}
			code, body = s.call(t, http.MethodPost, "/api/v1/crm/messenger/chat/add-message", key.Token, "", map[string]any{
				"caseId": offline.ID, "message": map[string]any{"type": "message", "message": "x"},
			})
			if code != 403 || !strings.Contains(body, "ERROR_UNAUTHORIZED_ACCESS") {
				t.Errorf("read-only key on Acquire = %d %s, want 403 ERROR_UNAUTHORIZED_ACCESS", code, body)
			}
			rpc := func(tok string) (int, string) {
				return s.call(t, http.MethodPost, "/data-api/v2.0", "", "", map[string]any{
					"jsonrpc": "2.0", "id": 7, "method": "delete.chats", "params": map[string]any{"access_token": tok, "id": chatID},
				})
			}
			if code, body = rpc(key.Token); code != 200 || !strings.Contains(body, `"mnemonic":"forbidden"`) {
				t.Errorf("read-only key on CallGear = %d %s, want the forbidden error", code, body)
			}
			if _, errOut, err := c.run(t, "", "key", "revoke", key.ID); err != nil {
				t.Fatalf("key revoke: %v\n%s", err, errOut)
			}
			revokedAt := time.Now()
			for {
				code, _ = s.call(t, http.MethodGet, "/v1/chats", key.Token, "", nil)
				if code == 401 {
					break
				}
				if time.Since(revokedAt) > 5*time.Second {
					t.Fatalf("a revoked key still answered %d after 5 s", code)
				}
				time.Sleep(100 * time.Millisecond)
			}
			if code, body = s.call(t, http.MethodGet, "/api/v1/crm/objects/case", key.Token, "", nil); code != 401 || !strings.Contains(body, "ERROR_UNAUTHORIZED") {
				t.Errorf("revoked key on Acquire = %d %s", code, body)
			}

			if code, body = rpc(key.Token); code != 200 || !strings.Contains(body, `"mnemonic":"access_token_invalid"`) {
				t.Errorf("revoked key on CallGear = %d %s", code, body)
			}

			// After a restart the first key still works: its secret is in the database.
			if err := s.stop(t); err != nil {
				t.Errorf("exit after SIGTERM: %v", err)
			}
			s2 := mustStart(t, bin, dbURL)
			if code, body = s2.call(t, http.MethodGet, fmt.Sprint("/v1/chats/", offline.ID), token, "", nil); code != 200 || !strings.Contains(body, `"status":"opened"`) {
				t.Errorf("after restart GET /v1/chats/{id} = %d %s", code, body)
			}
			if err := s2.stop(t); err != nil {
				t.Errorf("second exit: %v", err)
			}
		})
	}
}

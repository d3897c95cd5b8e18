package helpcrunch_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

func TestMessages_Create(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		tests := []struct {
			name  string
			body  string
			agent *models.Agent
			typ   string
			text  string
			from  string
		}{
			{"vendor example", fmt.Sprintf(`{"chat":%d,"text":"Can you can a can as a canner can can a can?",
				"markdownText":"Can you can a **can** as a canner can can a **can**","agent":%d,"type":"message"}`, f.chat.ID, f.agent.ID),
				&f.agent, "message", "Can you can a **can** as a canner can can a **can**", "agent"},
			{"agent without markdown", fmt.Sprintf(`{"chat":%d,"text":"plain","agent":%d,"type":"message"}`, f.chat.ID, f.boss.ID),
				&f.boss, "message", "plain", "agent"},
			{"customer leaves agent out", fmt.Sprintf(`{"chat":%d,"text":"from the customer","type":"message"}`, f.chat.ID),
				nil, "message", "from the customer", "customer"},
			{"customer with null agent", fmt.Sprintf(`{"chat":%d,"text":"null agent","agent":null,"type":"message","markdownText":null}`, f.chat.ID),
				nil, "message", "null agent", "customer"},
			{"private note", fmt.Sprintf(`{"chat":%d,"text":"note to self","agent":%d,"type":"private"}`, f.chat.ID, f.agent.ID),
				&f.agent, "private", "note to self", "agent"},
			{"unknown fields ignored", fmt.Sprintf(`{"chat":%d,"text":"x","type":"message","agent":%d,"color":"red","extra":{"a":[1]}}`, f.chat.ID, f.agent.ID),
				&f.agent, "message", "x", "agent"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := f.counts(t)
				m := mustOK(t, f.do(t, http.MethodPost, "/v1/messages", f.token, tt.body))
				agent := "null"
				if tt.agent != nil {
					agent = agentJSON(*tt.agent)
				}
				assertRecent(t, "createdAt", m["createdAt"])
				assertRecent(t, "updatedAt", m["updatedAt"])
				want := fmt.Sprintf(`{"id":%d,"agent":%s,"type":%q,"text":%q,"read":false,"createdAt":%q,"updatedAt":%q,
					"edited":false,"broadcastType":null,"chat":%d,"from":%q}`,
					id(t, m["id"]), agent, tt.typ, tt.text, m["createdAt"], m["updatedAt"], f.chat.ID, tt.from)
				assertJSON(t, mustJSON(t, m), want)
				after := f.counts(t)
				if after.messages != before.messages+1 || after.cases != before.cases {
					t.Errorf("counts went from %+v to %+v", before, after)
				}
			})
		}
	})
}

func TestMessages_CreateErrors(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		chat, agent := f.chat.ID, f.agent.ID
		body := func(format string, args ...any) string { return fmt.Sprintf(format, args...) }
		tests := []struct {
			name   string
			body   string
			status int
			want   string
		}{
			{"chat as string", body(`{"chat":"%d","text":"x","type":"message"}`, chat), 400, hcErrors("chat", numeric)},
			{"chat as float", `{"chat":1.5,"text":"x","type":"message"}`, 400, hcErrors("chat", numeric)},
			{"chat as exponent", `{"chat":1e3,"text":"x","type":"message"}`, 400, hcErrors("chat", numeric)},
			{"chat as bool", `{"chat":true,"text":"x","type":"message"}`, 400, hcErrors("chat", numeric)},
			{"chat as object", `{"chat":{"id":1},"text":"x","type":"message"}`, 400, hcErrors("chat", numeric)},
			{"chat negative", `{"chat":-14,"text":"x","type":"message"}`, 400, hcErrors("chat", positive)},
			{"chat zero", `{"chat":0,"text":"x","type":"message"}`, 400, hcErrors("chat", positive)},
			{"chat huge negative", `{"chat":-99999999999999999999999,"text":"x","type":"message"}`, 400, hcErrors("chat", positive)},
			{"chat missing", `{"text":"x","type":"message"}`, 400, hcErrors("chat", blank)},
			{"chat null", `{"chat":null,"text":"x","type":"message"}`, 400, hcErrors("chat", blank)},
			{"chat huge", `{"chat":99999999999999999999999,"text":"x","type":"message"}`, 404, hcErrors("chat_not_found", "Chat not found")},
			{"chat unknown", `{"chat":987654321,"text":"x","type":"message"}`, 404, hcErrors("chat_not_found", "Chat not found")},
			{"chat of another account", body(`{"chat":%d,"text":"x","type":"message"}`, f.foreignCase.ID), 404, hcErrors("chat_not_found", "Chat not found")},
			{"chat of another account with agent", body(`{"chat":%d,"text":"x","type":"message","agent":%d}`, f.foreignCase.ID, agent), 404, hcErrors("chat_not_found", "Chat not found")},
			{"agent as string", body(`{"chat":%d,"text":"x","type":"message","agent":"%d"}`, chat, agent), 400, hcErrors("agent", numeric)},
			{"agent as float", body(`{"chat":%d,"text":"x","type":"message","agent":4188.5}`, chat), 400, hcErrors("agent", numeric)},
			{"agent negative", body(`{"chat":%d,"text":"x","type":"message","agent":-1}`, chat), 400, hcErrors("agent", positive)},
			{"agent huge", body(`{"chat":%d,"text":"x","type":"message","agent":18446744073709551616}`, chat), 404, hcErrors("entity_not_found", "Agent not found")},
			{"agent unknown", body(`{"chat":%d,"text":"x","type":"message","agent":987654321}`, chat), 404, hcErrors("entity_not_found", "Agent not found")},
			{"agent of another account", body(`{"chat":%d,"text":"x","type":"message","agent":%d}`, chat, f.foreignAgent.ID), 404, hcErrors("entity_not_found", "Agent not found")},
			{"text missing", body(`{"chat":%d,"type":"message"}`, chat), 400, hcErrors("text", blank)},
			{"text blank", body(`{"chat":%d,"text":"  \n","type":"message"}`, chat), 400, hcErrors("text", blank)},
			{"text as number", body(`{"chat":%d,"text":42,"type":"message"}`, chat), 400, hcErrors("text", typeStr)},
			{"text with NUL", body(`{"chat":%d,"text":"a\u0000b","type":"message"}`, chat), 400, hcErrors("text", "This value should not contain NUL characters.")},
			{"markdownText as array", body(`{"chat":%d,"text":"x","markdownText":["x"],"type":"message"}`, chat), 400, hcErrors("markdownText", typeStr)},
			{"type unknown", body(`{"chat":%d,"text":"x","type":"email","agent":%d}`, chat, agent), 400, hcErrors("type", choice)},
			{"type missing", body(`{"chat":%d,"text":"x"}`, chat), 400, hcErrors("type", blank)},
			{"type as number", body(`{"chat":%d,"text":"x","type":1}`, chat), 400, hcErrors("type", typeStr)},
			{"customer cannot be private", body(`{"chat":%d,"text":"x","type":"private"}`, chat), 400, hcErrors("type", choice)},
			{"every field wrong", `{"chat":"abc","text":"","markdownText":5,"agent":-3,"type":"bogus"}`, 400,
				hcErrors("chat", numeric, "text", blank, "markdownText", typeStr, "agent", positive, "type", choice)},
			{"empty object", `{}`, 400, hcErrors("chat", blank, "text", blank, "type", blank)},
			{"empty body", ``, 400, hcErrors("body", "The request body should not be empty.")},
			{"blank body", " \n\t", 400, hcErrors("body", "The request body should not be empty.")},
			{"malformed JSON", `{"chat":`, 400, hcErrors("body", "The request body is not valid JSON: unexpected end of input.")},
			{"bad character", `{chat:1}`, 400, hcErrors("body", "The request body is not valid JSON: invalid character 'c' looking for beginning of object key string at offset 2.")},
			{"two objects", `{} {}`, 400, hcErrors("body", "The request body is not valid JSON: unexpected data after the top-level value.")},
			{"array", `[{"chat":1}]`, 400, hcErrors("body", "The request body should be a JSON object.")},
			{"null", `null`, 400, hcErrors("body", "The request body should be a JSON object.")},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := f.counts(t)
				r := f.send(t, http.MethodPost, "/v1/messages", map[string]string{"Authorization": bearer(f.token)}, strings.NewReader(tt.body))
				assertError(t, r, tt.status, tt.want)
				f.assertUnchanged(t, before)
			})
		}
		// A 5 MB body, with its length announced and without (chunked).
		big := `{"chat":1,"text":"` + strings.Repeat("a", 5<<20) + `","type":"message"}`
		for _, chunked := range []bool{false, true} {
			t.Run(fmt.Sprint("5 MB body, chunked ", chunked), func(t *testing.T) {
				before := f.counts(t)
				var rd io.Reader = strings.NewReader(big)
				if chunked {
					rd = io.MultiReader(rd)
				}
				r := f.send(t, http.MethodPost, "/v1/messages", map[string]string{"Authorization": bearer(f.token)}, rd)
				assertError(t, r, http.StatusRequestEntityTooLarge, hcErrors("request_too_large", "Request body is too large"))
				f.assertUnchanged(t, before)
			})
		}
	})
}

// TestMessages_OfflineCase posts into an offline message and reads it back
// newest first, and checks that posting into a closed chat reopens it.
func TestMessages_OfflineCase(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		path := fmt.Sprint("/v1/chats/", f.offline.ID, "/messages")
		reply := mustOK(t, f.do(t, http.MethodPost, "/v1/messages", f.token,
			fmt.Sprintf(`{"chat":%d,"text":"We will call you","agent":%d,"type":"message"}`, f.offline.ID, f.agent.ID)))
		note := mustOK(t, f.do(t, http.MethodPost, "/v1/messages", f.token,
			fmt.Sprintf(`{"chat":%d,"text":"called, no answer","agent":%d,"type":"private"}`, f.offline.ID, f.boss.ID)))

		list := mustOK(t, f.do(t, http.MethodGet, path, f.token, ""))
		if list["total"] != float64(3) {
			t.Fatalf("total = %v, want 3; body %v", list["total"], list)
		}
		data := list["data"].([]any)
		if len(data) != 3 {
			t.Fatalf("data has %d messages, want 3", len(data))
		}
		first, second, third := data[0].(map[string]any), data[1].(map[string]any), data[2].(map[string]any)
		assertJSON(t, mustJSON(t, first), mustJSON(t, note))
		assertJSON(t, mustJSON(t, second), mustJSON(t, reply))
		assertJSON(t, mustJSON(t, third), fmt.Sprintf(`{"id":%d,"agent":null,"type":"message","text":"Hello, anyone?","read":false,
			"createdAt":%q,"updatedAt":%q,"edited":false,"broadcastType":null,"chat":%d,"from":"customer"}`,
			id(t, third["id"]), unix(f.received), third["updatedAt"], f.offline.ID))

		t.Run("paging", func(t *testing.T) {
			page := mustOK(t, f.do(t, http.MethodGet, path+"?offset=1&limit=1", f.token, ""))
			got := page["data"].([]any)
			if page["total"] != float64(3) || len(got) != 1 || got[0].(map[string]any)["id"] != reply["id"] {
				t.Errorf("offset 1 limit 1 = %v", page)
			}
			page = mustOK(t, f.do(t, http.MethodGet, path+"?offset=3", f.token, ""))
			if page["total"] != float64(3) || len(page["data"].([]any)) != 0 {
				t.Errorf("offset 3 = %v", page)
			}
		})

		t.Run("posting into a closed chat reopens it", func(t *testing.T) {
			closed := mustOK(t, f.do(t, http.MethodPut, "/v1/chats/status", f.token,
				fmt.Sprintf(`{"id":%d,"status":"closed"}`, f.offline.ID)))
			if closed["status"] != "closed" {
				t.Fatalf("status after closing = %v", closed["status"])
			}
			mustOK(t, f.do(t, http.MethodPost, "/v1/messages", f.token,
				fmt.Sprintf(`{"chat":%d,"text":"one more thing","type":"message"}`, f.offline.ID)))
			chat := mustOK(t, f.do(t, http.MethodGet, fmt.Sprint("/v1/chats/", f.offline.ID), f.token, ""))
			if chat["status"] != "opened" || chat["closedAt"] != nil || chat["closedBy"] != nil {
				t.Errorf("after posting: status %v, closedAt %v, closedBy %v", chat["status"], chat["closedAt"], chat["closedBy"])
			}
			if chat["lastMessageText"] != "one more thing" {
				t.Errorf("lastMessageText = %v", chat["lastMessageText"])
			}
		})
	})
}

func TestMessages_List(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		ctx := context.Background()
		if _, err := st.AddMessage(ctx, f.acct.ID, f.chat.ID, store.NewMessage{
			Sender: models.SenderSystem, Kind: models.KindEvent, Text: "Chat assigned",
		}); err != nil {
			t.Fatal(err)
		}
		t.Run("system message is tech from agent", func(t *testing.T) {
			list := mustOK(t, f.do(t, http.MethodGet, fmt.Sprint("/v1/chats/", f.chat.ID, "/messages"), f.readToken, ""))
			m := list["data"].([]any)[0].(map[string]any)
			if m["type"] != "tech" || m["from"] != "agent" || m["agent"] != nil || m["text"] != "Chat assigned" {
				t.Errorf("system message = %v", m)
			}
		})
		path := fmt.Sprint("/v1/chats/", f.chat.ID, "/messages")
		tests := []struct {
			name, path string
			status     int
			want       string
		}{
			{"id not a number", "/v1/chats/abc/messages", 400, hcErrors("invalid_chat_value", "Invalid chat ID")},
			{"id negative", "/v1/chats/-1/messages", 400, hcErrors("invalid_chat_value", "Invalid chat ID")},
			{"id zero", "/v1/chats/0/messages", 400, hcErrors("invalid_chat_value", "Invalid chat ID")},
			{"id huge", "/v1/chats/99999999999999999999/messages", 404, hcErrors("chat_not_found", "Chat not found")},
			{"id unknown", "/v1/chats/987654321/messages", 404, hcErrors("chat_not_found", "Chat not found")},
			{"id of another account", fmt.Sprint("/v1/chats/", f.foreignCase.ID, "/messages"), 404, hcErrors("chat_not_found", "Chat not found")},
			{"limit 0", path + "?limit=0", 400, hcErrors("limit", "This value should be greater than or equal to 1.")},
			{"limit 101", path + "?limit=101", 400, hcErrors("limit", "This value should be less than or equal to 100.")},
			{"limit huge", path + "?limit=99999999999999999999", 400, hcErrors("limit", "This value should be less than or equal to 100.")},
			{"limit abc", path + "?limit=abc", 400, hcErrors("limit", numeric)},
			{"offset -1 and limit 1.5", path + "?offset=-1&limit=1.5", 400,
				hcErrors("offset", "This value should be greater than or equal to 0.", "limit", numeric)},
			{"offset abc", path + "?offset=abc", 400, hcErrors("offset", numeric)},
			{"offset huge", path + "?offset=99999999999999999999", 400, hcErrors("offset", maxOffset)},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				assertError(t, f.do(t, http.MethodGet, tt.path, f.token, ""), tt.status, tt.want)
			})
		}
		t.Run("limit 100 and the largest offset", func(t *testing.T) {
			for _, q := range []string{"?limit=100", "?offset=9223372036854775807", "?offset=&limit="} {
				r := mustOK(t, f.do(t, http.MethodGet, path+q, f.token, ""))
				if r["total"] != float64(1) {
					t.Errorf("%s: total = %v", q, r["total"])
				}
			}
		})
	})
}

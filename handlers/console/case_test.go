package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"switchboard/auth"
	"switchboard/handlers/console"
	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

// TestConsole_CaseConversation: the case page shows every message, note
// and event of the case in the order they were written, each with who
// wrote it (the contact, the agent, the system) and a note marked as one;
// the reloaded list (/messages) shows the same.
func TestConsole_CaseConversation(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		f := mustFixture(t, st, console.Config{})
		add := func(in store.NewMessage) {
			t.Helper()
			if _, err := st.AddMessage(ctx, f.one.ID, f.annCase.ID, in); err != nil {
				t.Fatal(err)
			}
		}
		add(store.NewMessage{Sender: models.SenderAgent, AgentID: &f.agent.ID, Kind: models.KindMessage, Text: "Reply one"})
		add(store.NewMessage{Sender: models.SenderAgent, AgentID: &f.boss.ID, Kind: models.KindNote, Text: "Note two"})
		add(store.NewMessage{Sender: models.SenderSystem, Kind: models.KindEvent, Text: "Event three"})
		add(store.NewMessage{Sender: models.SenderContact, Kind: models.KindMessage, Text: "Message four"})
		b := f.browser(t)
		b.signIn("agent@example.com")
		path := fmt.Sprintf("/console/cases/%d", f.annCase.ID)
		for _, tt := range []struct{ name, path string }{{"Page", path}, {"Messages", path + "/messages"}} {
			t.Run(tt.name, func(t *testing.T) {
				page := b.get(tt.path)
				page.want(t, http.StatusOK)
				// Each item: its classes, its author, its text, in order.
				items := []struct{ class, by, text string }{
					{"from-contact kind-message", "Ann Lee", "hello from chat"},
					{"from-agent kind-message", f.agent.FullName(), "Reply one"},
					{"from-agent kind-note", f.boss.FullName(), "Note two"},
					{"from-system kind-event", "system", "Event three"},
					{"from-contact kind-message", "Ann Lee", "Message four"},
				}
				rest := page.body[strings.Index(page.body, `id="messages"`):]
				for _, it := range items {
					i := strings.Index(rest, `class="message `+it.class+`"`)
					if i < 0 {
						t.Fatalf("no %q item (%s) after the ones before it\n%s", it.class, it.text, page.body)
					}
					rest = rest[i:]
					end := strings.Index(rest, "</li>")
					li := rest[:end]
					if !strings.Contains(li, it.by) || !strings.Contains(li, it.text) {
						t.Errorf("item %q: want by %q with %q\n%s", it.class, it.by, it.text, li)
					}
					if strings.Contains(it.class, "kind-note") != strings.Contains(li, `<span class="badge">note</span>`) {
						t.Errorf("item %q: the note badge is wrong\n%s", it.class, li)
					}
					rest = rest[end:]
				}
			})
		}
	})
}

// TestConsole_Dialects: what the console writes goes through the same
// store operations as the dialects, so that they read it, and the reverse:
// a reply in the console is in HelpCrunch's messages of the chat and in
// REVE's reply_messages of the offline message; a message posted through
// HelpCrunch and a status set through it show in the console.
func TestConsole_Dialects(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		f := mustFixture(t, st, console.Config{})
		_, token, err := f.keys.Issue(ctx, f.one.ID, auth.KeySpec{Name: "helpcrunch", AgentID: &f.boss.ID})
		if err != nil {
			t.Fatal(err)
		}
		api := func(t *testing.T, method, path, body string, basic bool) (int, string) {
			t.Helper()
			req, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			if basic {
				req.SetBasicAuth("boss@example.com", password)
			} else {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			if body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			raw, err := io.ReadAll(res.Body)
			if err != nil {
				t.Fatal(err)
			}
			return res.StatusCode, string(raw)
		}
		offline := storetest.MustOfflineCase(t, st, f.one.ID, f.ann.ID, "Parcel", "Where is it?", f.ann.CreatedAt)
		b := f.browser(t)
		b.signIn("agent@example.com")
		chat := fmt.Sprintf("/console/cases/%d", f.annCase.ID)

		t.Run("ConsoleReplyInHelpCrunch", func(t *testing.T) {
			if p := b.post(chat+"/reply", url.Values{"text": {"Written in the console"}}); p.status != http.StatusSeeOther {
				t.Fatalf("reply: %d\n%s", p.status, p.body)
			}
			code, body := api(t, http.MethodGet, fmt.Sprintf("/v1/chats/%d/messages", f.annCase.ID), "", false)
			if code != http.StatusOK || !strings.Contains(body, "Written in the console") {
				t.Errorf("HelpCrunch messages = %d %s, want the console's reply", code, body)
			}
		})
		t.Run("ConsoleReplyInREVE", func(t *testing.T) {
			if p := b.post(fmt.Sprintf("/console/cases/%d/reply", offline.ID), url.Values{"text": {"It ships today"}}); p.status != http.StatusSeeOther {
				t.Fatalf("reply: %d\n%s", p.status, p.body)
			}
			code, body := api(t, http.MethodGet, fmt.Sprintf("/api/offlinemessages/%d", offline.ID), "", true)
			want := fmt.Sprintf(`"reply_message":%q`, "It ships today")
			if code != http.StatusOK || !strings.Contains(body, want) || !strings.Contains(body, fmt.Sprintf(`"agent_id":%d`, f.agent.ID)) {
				t.Errorf("REVE detail = %d %s, want %s by agent %d", code, body, want, f.agent.ID)
			}
		})
		t.Run("HelpCrunchMessageInConsole", func(t *testing.T) {
			msg, _ := json.Marshal(map[string]any{"chat": f.annCase.ID, "text": "Written through HelpCrunch", "type": "message"})
			if code, body := api(t, http.MethodPost, "/v1/messages", string(msg), false); code != http.StatusOK {
				t.Fatalf("POST /v1/messages = %d %s", code, body)
			}
			b.get(chat).want(t, http.StatusOK, "Written through HelpCrunch")
			p := b.get("/console")
			p.want(t, http.StatusOK, "Written through HelpCrunch")
			if ids := rowsShown(t, p.body); len(ids) == 0 || ids[0] != f.annCase.ID {
				t.Errorf("the inbox lists %v, want the case HelpCrunch wrote to first", ids)
			}
		})
		t.Run("HelpCrunchStatusInConsole", func(t *testing.T) {
			if code, body := api(t, http.MethodPut, fmt.Sprintf("/v1/chats/%d/status", f.annCase.ID), `{"status":"closed"}`, false); code != http.StatusOK {
				t.Fatalf("PUT status = %d %s", code, body)
			}
			b.get(chat).want(t, http.StatusOK, `<span class="status status-closed" id="case-status">closed</span>`)
		})
	})
}

// TestConsole_CaseEmailHead: an email in the case view shows its subject,
// sender and each list of recipients it has, and no line for a list it
// has not (an empty cc is stored as []).
func TestConsole_CaseEmailHead(t *testing.T) {
	st := storetest.MustOpen(t, store.SQLite)
	f := mustFixture(t, st, console.Config{})
	b := f.browser(t)
	b.signIn("agent@example.com")
	path := fmt.Sprintf("/console/cases/%d", f.emailCase.ID)
	tests := []struct {
		name      string
		cc, bcc   string
		want, not []string
	}{
		{"AllLists", "boss@example.com, cc2@example.com", "audit@example.com",
			[]string{"To: ann@example.com", "Cc: boss@example.com, cc2@example.com", "Bcc: audit@example.com"}, nil},
		{"NoCcNoBcc", "", "", []string{"To: ann@example.com"}, []string{"Cc:", "Bcc:"}},
		{"CcOnly", "boss@example.com", "", []string{"Cc: boss@example.com"}, []string{"Bcc:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := "Email " + tt.name
			p := b.post(path+"/reply", url.Values{"text": {text}, "from": {f.emailFrom}, "to": {"ann@example.com"},
				"cc": {tt.cc}, "bcc": {tt.bcc}, "subject": {"Re: Broken order"}})
			if p.status != http.StatusSeeOther {
				t.Fatalf("reply: %d\n%s", p.status, p.body)
			}
			page := b.get(path).body
			end := strings.Index(page, text)
			if end < 0 {
				t.Fatalf("the page lacks the email %q", text)
			}
			li := page[strings.LastIndex(page[:end], "<li "):end]
			for _, s := range append([]string{"Subject: <strong>Re: Broken order</strong>", "From: " + f.emailFrom}, tt.want...) {
				if !strings.Contains(li, s) {
					t.Errorf("the email's head lacks %q\n%s", s, li)
				}
			}
			for _, s := range tt.not {
				if strings.Contains(li, s) {
					t.Errorf("the email's head has %q\n%s", s, li)
				}
			}
		})
	}
}

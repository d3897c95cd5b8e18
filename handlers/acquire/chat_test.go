package acquire_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

const addPath = "/api/v1/crm/messenger/chat/add-message"

// vendorBody is Acquire's example request, addressed to caseID.
func vendorBody(caseID int64) string {
	return fmt.Sprintf(`{
"channel": "chat",
"message": {
"type": "message",
"message": "Hey added from the api",
"translateLangKey": "en"
},
"caseId": %d
}`, caseID)
}

// lastMessage returns the newest message of the case.
func (f *fixture) lastMessage(tb testing.TB, c models.Case) store.MessageView {
	tb.Helper()
	msgs, _, err := f.st.ListMessages(context.Background(), c.AccountID, c.ID, store.MessageQuery{Limit: 1})
	if err != nil || len(msgs) == 0 {
		tb.Fatalf("last message of case %d: %v (%d)", c.ID, err, len(msgs))
	}
	return msgs[0]
}

func TestAddMessage_Errors(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		open, closed, foreign := f.open.ID, f.closed.ID, f.foreign.ID
		body := func(caseID any, message string) string {
			return fmt.Sprintf(`{"channel":"chat","message":%s,"caseId":%v}`, message, caseID)
		}
		msg := `{"type":"message","message":"hi"}`
		huge := strings.Repeat("x", 5<<20)
		const (
			invalid  = "ERROR_INVALID_INPUT"
			notFound = "ERROR_RECORD_NOT_FOUND"
			unauth   = "ERROR_UNAUTHORIZED"
			access   = "ERROR_UNAUTHORIZED_ACCESS"
		)
		tests := []struct {
			name    string
			token   string
			header  map[string]string
			query   url.Values
			body    io.Reader
			status  int
			typ     string
			message string
		}{
			{"closed case", f.full, nil, nil, strings.NewReader(body(closed, msg)), 400, invalid,
				fmt.Sprintf("Only active cases may receive messages via the API: case %d is closed", closed)},
			{"closed case as contact", f.full, map[string]string{"x-user-type": "contact"}, url.Values{"contactId": {fmt.Sprint(f.anon.ID)}}, strings.NewReader(body(closed, msg)), 400, invalid,
				fmt.Sprintf("Only active cases may receive messages via the API: case %d is closed", closed)},
			{"unknown x-user-type header", f.full, map[string]string{"x-user-type": "bot"}, nil, strings.NewReader(body(open, msg)), 400, invalid,
				`x-user-type: must be user or contact, not "bot"`},
			{"unknown x-user-type query", f.full, nil, url.Values{"x-user-type": {"agent"}}, strings.NewReader(body(open, msg)), 400, invalid,
				`x-user-type: must be user or contact, not "agent"`},
			{"empty body", f.full, nil, nil, strings.NewReader(""), 400, invalid, "the request body is empty: send a JSON object"},
			{"blank body", f.full, nil, nil, strings.NewReader(" \n"), 400, invalid, "the request body is empty: send a JSON object"},
			{"malformed JSON", f.full, nil, nil, strings.NewReader(`{"caseId":`), 400, invalid, "the request body is not valid JSON: unexpected end of JSON input"},
			{"trailing garbage", f.full, nil, nil, strings.NewReader(body(open, msg) + "x"), 400, invalid,
				"the request body is not valid JSON: invalid character 'x' after top-level value"},
			{"array body", f.full, nil, nil, strings.NewReader(`[` + body(open, msg) + `]`), 400, invalid, "the request body must be a JSON object"},
			{"null body", f.full, nil, nil, strings.NewReader(`null`), 400, invalid, "the request body must be a JSON object"},
			{"5 MB body", f.full, nil, nil, strings.NewReader(huge), 413, invalid, "request body too large"},
			{"5 MB body without a length", f.full, nil, nil, io.MultiReader(strings.NewReader(huge)), 413, invalid, "request body too large"},
			{"5 MB body without a key", "", nil, nil, strings.NewReader(huge), 413, invalid, "request body too large"},
			{"caseId of another account", f.full, nil, nil, strings.NewReader(body(foreign, msg)), 400, notFound, fmt.Sprintf("Case %d not found", foreign)},
			{"caseId unknown", f.full, nil, nil, strings.NewReader(body(744000, msg)), 400, notFound, "Case 744000 not found"},
			{"caseId unknown as contact", f.full, map[string]string{"x-user-type": "contact"}, url.Values{"contactId": {fmt.Sprint(f.contact.ID)}}, strings.NewReader(body(744000, msg)), 400, notFound, "Case 744000 not found"},
			{"caseId huge", f.full, nil, nil, strings.NewReader(body("99999999999999999999", msg)), 400, notFound, "Case 99999999999999999999 not found"},
			{"caseId string", f.full, nil, nil, strings.NewReader(body(fmt.Sprintf("%q", fmt.Sprint(open)), msg)), 400, invalid, "caseId: must be a positive integer"},
			{"caseId float", f.full, nil, nil, strings.NewReader(body("1.5", msg)), 400, invalid, "caseId: must be a positive integer"},
			{"caseId whole float", f.full, nil, nil, strings.NewReader(body(fmt.Sprint(open)+".0", msg)), 400, invalid, "caseId: must be a positive integer"},
			{"caseId exponent", f.full, nil, nil, strings.NewReader(body("1e3", msg)), 400, invalid, "caseId: must be a positive integer"},
			{"caseId negative", f.full, nil, nil, strings.NewReader(body(-open, msg)), 400, invalid, "caseId: must be a positive integer"},
			{"caseId zero", f.full, nil, nil, strings.NewReader(body(0, msg)), 400, invalid, "caseId: must be a positive integer"},
			{"caseId object", f.full, nil, nil, strings.NewReader(body(`{"id":1}`, msg)), 400, invalid, "caseId: must be a positive integer"},
			{"caseId missing", f.full, nil, nil, strings.NewReader(`{"message":` + msg + `}`), 400, invalid, "caseId: is required"},
			{"caseId null", f.full, nil, nil, strings.NewReader(body("null", msg)), 400, invalid, "caseId: is required"},
			{"keys in another case", f.full, nil, nil, strings.NewReader(fmt.Sprintf(`{"CaseId":%d,"message":{"Type":"message","message":"hi"}}`, open)), 400, invalid,
				"caseId: is required; message.type: is required"},
			{"message number", f.full, nil, nil, strings.NewReader(body(open, `42`)), 400, invalid, "message: must be a message object or a string"},
			{"message array", f.full, nil, nil, strings.NewReader(body(open, `["hi"]`)), 400, invalid, "message: must be a message object or a string"},
			{"message bool", f.full, nil, nil, strings.NewReader(body(open, `true`)), 400, invalid, "message: must be a message object or a string"},
			{"message missing", f.full, nil, nil, strings.NewReader(fmt.Sprintf(`{"caseId":%d}`, open)), 400, invalid, "message: is required"},
			{"message null", f.full, nil, nil, strings.NewReader(body(open, `null`)), 400, invalid, "message: is required"},
			{"message as a string", f.full, nil, nil, strings.NewReader(body(open, `"hi"`)), 400, invalid,
				`message: must be a message object such as {"type":"message","message":"Hello"}, not a string`},
			{"message as a string with type", f.full, nil, nil, strings.NewReader(fmt.Sprintf(`{"caseId":%d,"type":"event","message":"joined"}`, open)), 400, invalid,
				`message: must be a message object such as {"type":"message","message":"Hello"}, not a string`},
			{"message text missing", f.full, nil, nil, strings.NewReader(body(open, `{"type":"message"}`)), 400, invalid, "message.message: is required"},
			{"message empty object", f.full, nil, nil, strings.NewReader(body(open, `{}`)), 400, invalid, "message.message: is required; message.type: is required"},
			{"message text not a string", f.full, nil, nil, strings.NewReader(body(open, `{"type":"message","message":{"text":"hi"}}`)), 400, invalid, "message.message: must be a string"},
			{"message text blank", f.full, nil, nil, strings.NewReader(body(open, `{"type":"message","message":"\t"}`)), 400, invalid, "message.message: must not be blank"},
			{"message text with NUL", f.full, nil, nil, strings.NewReader(body(open, `{"type":"message","message":"a\u0000b"}`)), 400, invalid, "message.message: must not contain NUL characters"},
			{"unknown type", f.full, nil, nil, strings.NewReader(body(open, `{"type":"chat","message":"hi"}`)), 400, invalid, "message.type: must be one of message, note, event"},
			{"type not a string", f.full, nil, nil, strings.NewReader(body(open, `{"type":1,"message":"hi"}`)), 400, invalid, "message.type: must be one of message, note, event"},
			{"unknown top-level type", f.full, nil, nil, strings.NewReader(fmt.Sprintf(`{"caseId":%d,"message":{"message":"hi"},"type":"private"}`, open)), 400, invalid, "type: must be one of message, note, event"},
			{"translateLangKey not a string", f.full, nil, nil, strings.NewReader(body(open, `{"type":"message","message":"hi","translateLangKey":1}`)), 400, invalid, "message.translateLangKey: must be a string"},
			{"translateLangKey not a code", f.full, nil, nil, strings.NewReader(body(open, `{"type":"message","message":"hi","translateLangKey":"en; drop"}`)), 400, invalid, "message.translateLangKey: must be a language code such as en or pt-BR"},
			{"contact without contactId", f.full, map[string]string{"x-user-type": "contact"}, nil, strings.NewReader(body(open, msg)), 400, invalid,
				"contactId: is required for x-user-type contact"},
			{"contact without contactId, every bad field at once", f.full, nil, url.Values{"x-user-type": {"contact"}},
				strings.NewReader(fmt.Sprintf(`{"caseId":%d,"message":{"type":"note","message":" "}}`, open)), 400, invalid,
				`contactId: is required for x-user-type contact; message.message: must not be blank; message.type: a contact can send only type message, not "note"`},
			{"contact writes a note", f.full, map[string]string{"x-user-type": "contact"}, url.Values{"contactId": {fmt.Sprint(f.contact.ID)}}, strings.NewReader(body(open, `{"type":"note","message":"hi"}`)), 400, invalid, `message.type: a contact can send only type message, not "note"`},
			{"contact writes an event", f.full, nil, url.Values{"x-user-type": {"contact"}, "contactId": {fmt.Sprint(f.contact.ID)}}, strings.NewReader(body(open, `{"type":"event","message":"hi"}`)), 400, invalid, `message.type: a contact can send only type message, not "event"`},
			{"channel email", f.full, nil, nil, strings.NewReader(fmt.Sprintf(`{"channel":"email","message":%s,"caseId":%d}`, msg, open)), 400, invalid, `channel: must be "chat" on this route`},
			{"channel number", f.full, nil, nil, strings.NewReader(fmt.Sprintf(`{"channel":1,"message":%s,"caseId":%d}`, msg, open)), 400, invalid, `channel: must be "chat" on this route`},
			{"contactId not the case's, query", f.full, nil, url.Values{"contactId": {fmt.Sprint(f.anon.ID)}}, strings.NewReader(body(open, msg)), 400, invalid,
				fmt.Sprintf("contactId: contact %d is not the contact of case %d", f.anon.ID, open)},
			{"contactId not the case's, body", f.full, nil, nil, strings.NewReader(fmt.Sprintf(`{"message":%s,"caseId":%d,"contactId":%d}`, msg, open, f.anon.ID)), 400, invalid,
				fmt.Sprintf("contactId: contact %d is not the contact of case %d", f.anon.ID, open)},
			{"contactId huge", f.full, nil, url.Values{"contactId": {"99999999999999999999"}}, strings.NewReader(body(open, msg)), 400, invalid,
				fmt.Sprintf("contactId: contact 99999999999999999999 is not the contact of case %d", open)},
			{"contactId not a number", f.full, nil, url.Values{"contactId": {"abc"}}, strings.NewReader(body(open, msg)), 400, invalid, "contactId: must be a positive integer"},
			{"contactId negative in body", f.full, nil, nil, strings.NewReader(fmt.Sprintf(`{"message":%s,"caseId":%d,"contactId":-3}`, msg, open)), 400, invalid, "contactId: must be a positive integer"},
			{"contactId string in body", f.full, nil, nil, strings.NewReader(fmt.Sprintf(`{"message":%s,"caseId":%d,"contactId":"%d"}`, msg, open, f.contact.ID)), 400, invalid, "contactId: must be a positive integer"},
			{"contactId query and body disagree", f.full, nil, url.Values{"contactId": {fmt.Sprint(f.contact.ID)}}, strings.NewReader(fmt.Sprintf(`{"message":%s,"caseId":%d,"contactId":%d}`, msg, open, f.anon.ID)), 400, invalid,
				fmt.Sprintf("contactId: the query says %d and the body says %d", f.contact.ID, f.anon.ID)},
			{"contactId with unknown case", f.full, nil, url.Values{"contactId": {fmt.Sprint(f.contact.ID)}}, strings.NewReader(body(744000, msg)), 400, notFound, "Case 744000 not found"},
			{"every bad field at once", f.full, map[string]string{"x-user-type": "robot"}, nil, strings.NewReader(`{"channel":"sms","caseId":"9","message":{"type":"memo","message":""}}`), 400, invalid,
				`x-user-type: must be user or contact, not "robot"; channel: must be "chat" on this route; caseId: must be a positive integer; message.message: must not be blank; message.type: must be one of message, note, event`},
			{"no Authorization header", "", nil, nil, strings.NewReader(body(open, msg)), 401, unauth, "Missing API key: send the header Authorization: Bearer <API key>"},
			{"garbage token", "garbage", nil, nil, strings.NewReader(body(open, msg)), 401, unauth, "Invalid API key"},
			{"revoked key", f.revoked, nil, nil, strings.NewReader(body(open, msg)), 401, unauth, "Invalid API key"},
			{"expired key", f.expired, nil, nil, strings.NewReader(body(open, msg)), 401, unauth, "The API key has expired"},
			{"Basic credentials", "", map[string]string{"Authorization": "Basic Ym9zc0BleGFtcGxlLmNvbTp4"}, nil, strings.NewReader(body(open, msg)), 401, unauth, "Missing API key: send the header Authorization: Bearer <API key>"},
			{"key without chat", f.readOnly, nil, nil, strings.NewReader(body(open, msg)), 403, access, `This API key lacks the "chat" scope`},
			{"key without chat, bad body", f.readOnly, nil, nil, strings.NewReader(`{`), 403, access, `This API key lacks the "chat" scope`},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				m0, c0 := f.counts(t)
				r := f.do(t, request{Method: http.MethodPost, Path: addPath, Query: tt.query, Token: tt.token, Header: tt.header, Body: tt.body})
				assertError(t, r, tt.status, tt.typ, tt.message)
				if tt.status == 401 && r.header.Get("WWW-Authenticate") != "Bearer" {
					t.Errorf("WWW-Authenticate = %q", r.header.Get("WWW-Authenticate"))
				}
				if m1, c1 := f.counts(t); m1 != m0 || c1 != c0 {
					t.Errorf("wrote: messages %d -> %d, cases %d -> %d", m0, m1, c0, c1)
				}
			})
		}
		t.Run("closed case stays closed", func(t *testing.T) {
			if v := f.mustCaseView(t, f.closed); v.Status != models.StatusClosed {
				t.Errorf("status = %s", v.Status)
			}
		})
	})
}

func TestAddMessage_Sends(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		tests := []struct {
			name   string
			header map[string]string
			query  url.Values
			body   string
			sender models.Sender
			kind   models.Kind
			text   string
			lang   string
		}{
			{"vendor example", nil, nil, vendorBody(f.open.ID), models.SenderAgent, models.KindMessage, "Hey added from the api", "en"},
			{"x-user-type user header", map[string]string{"x-user-type": "user"}, nil, vendorBody(f.open.ID), models.SenderAgent, models.KindMessage, "Hey added from the api", "en"},
			{"x-user-type contact header", map[string]string{"x-user-type": "contact"}, url.Values{"contactId": {fmt.Sprint(f.contact.ID)}}, vendorBody(f.open.ID), models.SenderContact, models.KindMessage, "Hey added from the api", "en"},
			{"x-user-type contact query", nil, url.Values{"x-user-type": {"contact"}, "contactId": {fmt.Sprint(f.contact.ID)}}, vendorBody(f.open.ID), models.SenderContact, models.KindMessage, "Hey added from the api", "en"},
			{"x-user-type header wins over query", map[string]string{"x-user-type": "Contact"}, url.Values{"x-user-type": {"user"}, "contactId": {fmt.Sprint(f.contact.ID)}}, vendorBody(f.open.ID), models.SenderContact, models.KindMessage, "Hey added from the api", "en"},
			{"contactId in query", nil, url.Values{"contactId": {fmt.Sprint(f.contact.ID)}}, vendorBody(f.open.ID), models.SenderAgent, models.KindMessage, "Hey added from the api", "en"},
			{"contactId in both", nil, url.Values{"contactId": {fmt.Sprint(f.contact.ID)}},
				fmt.Sprintf(`{"caseId":%d,"contactId":%d,"message":{"type":"note","message":"internal"}}`, f.open.ID, f.contact.ID),
				models.SenderAgent, models.KindNote, "internal", ""},
			{"translateLangKey at the top level", nil, nil, fmt.Sprintf(`{"caseId":%d,"message":{"type":"message","message":"plain"},"translateLangKey":"pt-BR"}`, f.open.ID), models.SenderAgent, models.KindMessage, "plain", "pt-BR"},
			{"event with type at the top level", nil, nil, fmt.Sprintf(`{"caseId":%d,"type":"event","message":{"message":"joined"}}`, f.open.ID), models.SenderAgent, models.KindEvent, "joined", ""},
			{"type at the top level", nil, nil, fmt.Sprintf(`{"caseId":%d,"type":"note","message":{"message":"n"}}`, f.open.ID), models.SenderAgent, models.KindNote, "n", ""},
			{"unknown fields ignored", nil, nil, fmt.Sprintf(`{"caseId":%d,"extra":[1,2],"message":{"type":"message","message":"x","foo":{}}}`, f.assigned.ID), models.SenderAgent, models.KindMessage, "x", ""},
			{"offline case, contact", map[string]string{"x-user-type": "contact"}, nil,
				fmt.Sprintf(`{"channel":"chat","message":{"type":"message","message":"Hey added from the api","translateLangKey":"en"},"caseId":%d,"contactId":%d}`, f.off0.ID, f.anon.ID), models.SenderContact, models.KindMessage, "Hey added from the api", "en"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var c models.Case
				if err := json.Unmarshal([]byte(tt.body), &struct {
					CaseID *int64 `json:"caseId"`
				}{&c.ID}); err != nil {
					t.Fatal(err)
				}
				c.AccountID = f.open.AccountID
				m0, c0 := f.counts(t)
				r := f.do(t, request{Method: http.MethodPost, Path: addPath, Query: tt.query, Token: f.chatOnly, Header: tt.header, Body: strings.NewReader(tt.body)})
				if r.status != http.StatusOK {
					t.Fatalf("status = %d; body %s", r.status, r.body)
				}
				if m1, c1 := f.counts(t); m1 != m0+1 || c1 != c0 {
					t.Errorf("messages %d -> %d, cases %d -> %d", m0, m1, c0, c1)
				}
				m := f.lastMessage(t, c)
				if m.Sender != tt.sender || m.Kind != tt.kind || m.Text != tt.text || m.Lang != tt.lang {
					t.Errorf("stored %s %s %q lang %q, want %s %s %q lang %q", m.Sender, m.Kind, m.Text, m.Lang, tt.sender, tt.kind, tt.text, tt.lang)
				}
				if tt.sender == models.SenderAgent && (m.AgentID == nil || *m.AgentID != f.agent.ID) {
					t.Errorf("agent = %v, want the key's agent %d", m.AgentID, f.agent.ID)
				}
				v := f.mustCaseView(t, c)
				assertJSON(t, r.body, `{"data":`+wantMessage(m, v, wantCase(v))+`}`)
			})
		}
	})
}

// TestAddMessage_CaseUsers checks that the response's case lists the key's
// agent among its users once the agent has written, and that a new case
// becomes open without leaving Acquire's "active".
func TestAddMessage_CaseUsers(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		var before struct {
			Data struct {
				Users []map[string]any `json:"users"`
			} `json:"data"`
		}
		r := f.get(t, fmt.Sprintf("/api/v1/crm/objects/case/%d", f.open.ID), f.full, nil)
		if err := json.Unmarshal([]byte(r.body), &before); err != nil || len(before.Data.Users) != 1 || before.Data.Users[0]["type"] != "contact" {
			t.Fatalf("before: %v %s", err, r.body)
		}
		r = f.do(t, request{Method: http.MethodPost, Path: addPath, Token: f.full, Body: strings.NewReader(vendorBody(f.open.ID))})
		var got struct {
			Data struct {
				SenderID int64 `json:"senderId"`
				Case     struct {
					Status string `json:"status"`
					Users  []struct {
						Type   string `json:"type"`
						UserID int64  `json:"userId"`
						User   struct {
							Email string `json:"email"`
						} `json:"user"`
					} `json:"users"`
				} `json:"case"`
			} `json:"data"`
		}
		if err := json.Unmarshal([]byte(r.body), &got); err != nil {
			t.Fatalf("%v: %s", err, r.body)
		}
		users := got.Data.Case.Users
		if len(users) != 2 || users[0].Type != "user" || users[0].UserID != f.agent.ID || users[0].User.Email != "agent@example.com" ||
			users[1].Type != "contact" || users[1].UserID != f.contact.ID {
			t.Errorf("case.users = %+v", users)
		}
		if got.Data.Case.Status != "active" || got.Data.SenderID != f.agent.ID {
			t.Errorf("status %q sender %d", got.Data.Case.Status, got.Data.SenderID)
		}
		if v := f.mustCaseView(t, f.open); v.Status != models.StatusOpen {
			t.Errorf("stored status = %s, want open", v.Status)
		}
	})
}

func TestChatMessages_List(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		const path = "/api/v1/crm/messenger/chat/messages"
		// One message each way through Acquire, then read them back.
		for _, h := range []map[string]string{nil, {"x-user-type": "contact"}} {
			r := f.do(t, request{Method: http.MethodPost, Path: addPath, Token: f.full, Header: h, Query: url.Values{"contactId": {fmt.Sprint(f.contact.ID)}},
				Body: strings.NewReader(vendorBody(f.open.ID))})
			if r.status != 200 {
				t.Fatalf("add: %d %s", r.status, r.body)
			}
		}
		q := func(contact, thread any) url.Values {
			return url.Values{"contactId": {fmt.Sprint(contact)}, "threadId": {fmt.Sprint(thread)}}
		}
		t.Run("message added through Acquire", func(t *testing.T) {
			r := f.get(t, path, f.readOnly, q(f.contact.ID, f.open.ID))
			if r.status != 200 {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			v := f.mustCaseView(t, f.open)
			msgs, _, err := st.ListMessages(context.Background(), f.open.AccountID, f.open.ID, store.MessageQuery{Limit: 10, Oldest: true})
			if err != nil || len(msgs) != 2 || msgs[0].Sender != models.SenderAgent || msgs[1].Sender != models.SenderContact {
				t.Fatalf("stored messages: %v %+v", err, msgs)
			}
			want := `{"data":[` + wantCaseFields(v) + `,"messages":[` + wantMessage(msgs[0], v, "") + `,` + wantMessage(msgs[1], v, "") + `]}]}`
			assertJSON(t, r.body, want)
		})
		t.Run("offline case with its visitor message", func(t *testing.T) {
			r := f.get(t, path, f.full, q(f.anon.ID, f.off0.ID))
			v := f.mustCaseView(t, f.off0)
			m := f.lastMessage(t, f.off0)
			assertJSON(t, r.body, `{"data":[`+wantCaseFields(v)+`,"messages":[`+wantMessage(m, v, "")+`]}]}`)
		})
		t.Run("case without messages", func(t *testing.T) {
			r := f.get(t, path, f.full, q(f.contact.ID, f.assigned.ID))
			v := f.mustCaseView(t, f.assigned)
			assertJSON(t, r.body, `{"data":[`+wantCaseFields(v)+`,"messages":[]}]}`)
		})
		const (
			invalid  = "ERROR_INVALID_INPUT"
			notFound = "ERROR_RECORD_NOT_FOUND"
		)
		errs := []struct {
			name    string
			token   string
			query   url.Values
			status  int
			typ     string
			message string
		}{
			{"no parameters", f.full, nil, 400, invalid, "contactId: is required; threadId: is required"},
			{"no threadId", f.full, url.Values{"contactId": {fmt.Sprint(f.contact.ID)}}, 400, invalid, "threadId: is required"},
			{"bad ids", f.full, q("abc", -1), 400, invalid, "contactId: must be a positive integer; threadId: must be a positive integer"},
			{"zero thread", f.full, q(f.contact.ID, 0), 400, invalid, "threadId: must be a positive integer"},
			{"unknown thread", f.full, q(f.contact.ID, 744000), 400, notFound, fmt.Sprintf("Thread 744000 of contact %d not found", f.contact.ID)},
			{"huge thread", f.full, q(f.contact.ID, "99999999999999999999"), 400, notFound, fmt.Sprintf("Thread 99999999999999999999 of contact %d not found", f.contact.ID)},
			{"thread of another contact", f.full, q(f.anon.ID, f.open.ID), 400, notFound, fmt.Sprintf("Thread %d of contact %d not found", f.open.ID, f.anon.ID)},
			{"thread of another account", f.full, q(f.foreign.ContactID, f.foreign.ID), 400, notFound, fmt.Sprintf("Thread %d of contact %d not found", f.foreign.ID, f.foreign.ContactID)},
			{"no key", "", q(f.contact.ID, f.open.ID), 401, "ERROR_UNAUTHORIZED", "Missing API key: send the header Authorization: Bearer <API key>"},
			{"garbage key", "x.y.z", q(f.contact.ID, f.open.ID), 401, "ERROR_UNAUTHORIZED", "Invalid API key"},
			{"revoked key", f.revoked, q(f.contact.ID, f.open.ID), 401, "ERROR_UNAUTHORIZED", "Invalid API key"},
			{"key without read", f.chatOnly, q(f.contact.ID, f.open.ID), 403, "ERROR_UNAUTHORIZED_ACCESS", `This API key lacks the "read" scope`},
		}
		for _, tt := range errs {
			t.Run(tt.name, func(t *testing.T) {
				assertError(t, f.get(t, path, tt.token, tt.query), tt.status, tt.typ, tt.message)
			})
		}
	})
}

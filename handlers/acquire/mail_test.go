package acquire_test

import (
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

const (
	mailPath     = "/api/v1/mail/add-message"
	messagesPath = "/api/v1/crm/messenger/chat/messages"
)

// vendorMailBody is Acquire's example request, sent to caseID of contactID
// from the account's inbox.
func vendorMailBody(caseID, contactID int64) string {
	return fmt.Sprintf(`{
"data": {
"caseId": %d,
"to": [
"ann@example.com"
],
"from": "support@example.com",
"cc": [],
"bcc": [],
"subject": "test",
"contactId": %d,
"type": "message",
"textBody": "this is the text body",
"htmlBody": "This is the message body",
"attachments": []
}
}`, caseID, contactID)
}

// del in a mailBody override removes the field.
type del struct{}

// mailBody is a valid mail request to the fixture's open case with fields
// replaced (a json.RawMessage is sent as is) or removed (del{}).
func (f *fixture) mailBody(overrides map[string]any) string {
	data := map[string]any{
		"caseId": f.open.ID, "to": []string{"ann@example.com"}, "from": "support@example.com", "cc": []string{},
		"bcc": []string{}, "subject": "Re: billing", "contactId": f.contact.ID, "type": "message",
		"textBody": "Hello Ann", "htmlBody": "<p>Hello Ann</p>", "attachments": []any{},
	}
	for k, v := range overrides {
		if _, ok := v.(del); ok {
			delete(data, k)
			continue
		}
		data[k] = v
	}
	b, err := json.Marshal(map[string]any{"data": data})
	if err != nil {
		panic(err)
	}
	return string(b)
}

// threadMessage returns the message id as GET .../chat/messages lists it in
// the case's thread, read with the token.
func (f *fixture) threadMessage(tb testing.TB, token string, c models.Case, id int64) map[string]any {
	tb.Helper()
	r := f.get(tb, messagesPath, token, url.Values{"contactId": {fmt.Sprint(c.ContactID)}, "threadId": {fmt.Sprint(c.ID)}})
	if r.status != http.StatusOK {
		tb.Fatalf("list messages: %d %s", r.status, r.body)
	}
	var got struct {
		Data []struct {
			Messages []map[string]any `json:"messages"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(r.body), &got); err != nil || len(got.Data) != 1 {
		tb.Fatalf("list messages: %v %s", err, r.body)
	}
	for _, m := range got.Data[0].Messages {
		if m["id"] == float64(id) {
			return m
		}
	}
	tb.Fatalf("message %d is not in the thread of case %d: %s", id, c.ID, r.body)
	return nil
}

func TestMail_AddMessage(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		tests := []struct {
			name        string
			token       string
			header      map[string]string
			query       url.Values
			body        string
			c           models.Case
			agent       bool // a reply of the key's agent, queued for delivery
			to, cc, bcc []string
			from        string
			subject     string
			text, html  string
		}{
			{"vendor example", f.emailOnly, nil, nil, vendorMailBody(f.open.ID, f.contact.ID), f.open, true,
				[]string{"ann@example.com"}, nil, nil, "support@example.com", "test", "this is the text body", "This is the message body"},
			{"x-user-type user, recipients as objects", f.full, map[string]string{"x-user-type": "user"}, nil,
				f.mailBody(map[string]any{
					"to": []any{map[string]string{"Name": "Ann", "Email": "ann@example.com"}}, "cc": []any{"boss@example.com"},
					"bcc": []any{map[string]string{"Email": " audit@example.com "}},
				}), f.open, true,
				[]string{"ann@example.com"}, []string{"boss@example.com"}, []string{"audit@example.com"}, "support@example.com", "Re: billing", "Hello Ann", "<p>Hello Ann</p>"},
			{"HTML only, empty fields, addresses normalized", f.full, nil, nil,
				f.mailBody(map[string]any{
					"to": []string{"Ann@Example.com"}, "from": "Support@Example.COM", "textBody": "", "cc": []string{}, "bcc": []string{},
					"subject": "", "caseId": f.assigned.ID, "extra": 1,
				}), f.assigned, true,
				[]string{"ann@example.com"}, nil, nil, "support@example.com", "", "", "<p>Hello Ann</p>"},
			{"x-user-type contact: the contact's email to the inbox", f.full, map[string]string{"x-user-type": "contact"}, nil,
				f.mailBody(map[string]any{"from": "ann@example.com", "to": []string{"support@example.com"}, "htmlBody": ""}), f.open, false,
				[]string{"support@example.com"}, nil, nil, "ann@example.com", "Re: billing", "Hello Ann", ""},
			{"x-user-type contact in the query, contactId in the query", f.emailOnly, nil,
				url.Values{"x-user-type": {"contact"}, "contactId": {fmt.Sprint(f.anon.ID)}},
				f.mailBody(map[string]any{"caseId": f.off0.ID, "contactId": del{}, "from": "someone@example.org",
					"to": []string{"other@example.org", "support@example.com"}}), f.off0, false,
				[]string{"other@example.org", "support@example.com"}, nil, nil, "someone@example.org", "Re: billing", "Hello Ann", "<p>Hello Ann</p>"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				w0 := f.writes(t)
				r := f.do(t, request{Method: http.MethodPost, Path: mailPath, Query: tt.query, Token: tt.token, Header: tt.header, Body: strings.NewReader(tt.body)})
				if r.status != http.StatusOK {
					t.Fatalf("status = %d; body %s", r.status, r.body)
				}
				wantDeliveries := w0[2]
				if tt.agent {
					wantDeliveries++
				}
				if w1 := f.writes(t); w1[0] != w0[0]+1 || w1[1] != w0[1] || w1[2] != wantDeliveries {
					t.Errorf("messages, cases, deliveries %v -> %v", w0, w1)
				}
				m := f.lastMessage(t, tt.c)
				if m.EmailFrom != tt.from || m.EmailSubject != tt.subject || m.Text != tt.text || m.HTMLBody != tt.html {
					t.Errorf("stored from %q subject %q text %q html %q", m.EmailFrom, m.EmailSubject, m.Text, m.HTMLBody)
				}
				d := f.mustDelivery(t, m.ID)
				w := sentMail{m: m.Message, d: d, inboxID: f.mailbox.ID, to: tt.to, cc: tt.cc, bcc: tt.bcc, contact: f.mustCaseView(t, tt.c).Contact}
				if tt.agent {
					if m.Sender != models.SenderAgent || m.AgentID == nil || *m.AgentID != f.agent.ID {
						t.Errorf("sender %s agent %v, want the key's agent %d", m.Sender, m.AgentID, f.agent.ID)
					}
					if d == nil || d.Status != models.DeliveryQueued || d.Kind != models.InboxEmail || d.Reference == "" {
						t.Fatalf("delivery = %+v, want a queued email with a Message-ID", d)
					}
					w.agent = &f.agent
				} else {
					if m.Sender != models.SenderContact || m.AgentID != nil {
						t.Errorf("sender %s agent %v, want the contact", m.Sender, m.AgentID)
					}
					if d != nil {
						t.Errorf("a contact's email was queued: %+v", d)
					}
				}
				assertJSON(t, r.body, `{"data":`+wantMail(w)+`}`)

				// The shape, key by key, against Acquire's example.
				var got struct {
					Data map[string]any `json:"data"`
				}
				if err := json.Unmarshal([]byte(r.body), &got); err != nil {
					t.Fatal(err)
				}
				assertKeys(t, "data", got.Data, docMailKeys)
				assertKeys(t, "data.from", got.Data["from"], docMailFromKeys)
				assertKeys(t, "data.sender", got.Data["sender"], docMailSenderKeys)
				for _, list := range []string{"to", "cc", "bcc"} {
					for i, a := range got.Data[list].([]any) {
						assertKeys(t, fmt.Sprintf("data.%s[%d]", list, i), a, docMailAddressKeys)
					}
				}
				if tt.agent {
					assertKeys(t, "data.user", got.Data["user"], docMailUserKeys)
				}

				// The email is a message of the case's thread too.
				v := f.mustCaseView(t, tt.c)
				listed := f.threadMessage(t, f.full, tt.c, m.ID)
				b, _ := json.Marshal(listed)
				assertJSON(t, string(b), wantMessage(m, v, ""))
				if listed["channel"] != "email" {
					t.Errorf("listed channel = %v", listed["channel"])
				}
			})
		}
	})
}

func TestMail_Errors(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		open, closed, foreign := f.open.ID, f.closed.ID, f.foreign.ID
		body := func(o map[string]any) io.Reader { return strings.NewReader(f.mailBody(o)) }
		raw := func(s string) json.RawMessage { return json.RawMessage(s) }
		contact := map[string]string{"x-user-type": "contact"}
		many := make([]string, 51)
		for i := range many {
			many[i] = fmt.Sprintf("r%d@example.com", i)
		}
		// Over the mail route's limit: 2M and 10 MB of attachments in base64.
		huge := strings.Repeat("x", 16<<20)
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
			{"from not an inbox", f.full, nil, nil, body(map[string]any{"from": "ann@example.com"}), 400, invalid,
				`from: "ann@example.com" is not an email inbox of this account`},
			{"from an inbox of another account", f.full, nil, nil, body(map[string]any{"from": "help@two.example.com"}), 400, invalid,
				`from: "help@two.example.com" is not an email inbox of this account`},
			{"contact's email to no inbox", f.full, contact, nil, body(map[string]any{"from": "ann@example.com", "to": []string{"bob@example.com"}}), 400, invalid,
				"to: none of the recipients is an email inbox of this account, and an email from the contact must be sent to one"},
			{"bad address in to", f.full, nil, nil, body(map[string]any{"to": []string{"ann@example.com", "not-an-address"}}), 400, invalid,
				`to[1]: "not-an-address" is not a valid email address`},
			{"bad address in cc", f.full, nil, nil, body(map[string]any{"cc": []string{"x@"}}), 400, invalid, `cc[0]: "x@" is not a valid email address`},
			{"bad address in bcc", f.full, nil, nil, body(map[string]any{"bcc": []any{map[string]string{"Email": "Ann <ann@example.com>"}}}), 400, invalid,
				`bcc[0]: "Ann <ann@example.com>" is not a valid email address`},
			{"recipient object without Email", f.full, nil, nil, body(map[string]any{"to": []any{map[string]string{"Name": "Ann"}}}), 400, invalid,
				`to[0]: must be an email address or an object with "Email"`},
			{"recipient a number", f.full, nil, nil, body(map[string]any{"to": []any{42}}), 400, invalid, `to[0]: must be an email address or an object with "Email"`},
			{"recipient object with email in lower case", f.full, nil, nil, body(map[string]any{"to": []any{map[string]string{"email": "support@example.com"}}}), 400, invalid,
				`to[0]: must be an email address or an object with "Email"`},
			{"keys in another case", f.full, nil, nil, strings.NewReader(fmt.Sprintf(`{"Data":{"caseId":%d,"to":["ann@example.com"],"from":"support@example.com","textBody":"x"}}`, open)), 400, invalid,
				`data: is required: send the email as {"data":{"caseId":...,"to":[...],...}}`},
			{"From in upper case", f.full, nil, nil, body(map[string]any{"from": del{}, "From": "support@example.com"}), 400, invalid, "from: is required"},
			{"empty to", f.full, nil, nil, body(map[string]any{"to": []string{}}), 400, invalid, "to: needs at least one address"},
			{"no to", f.full, nil, nil, body(map[string]any{"to": del{}}), 400, invalid, "to: is required"},
			{"to a string", f.full, nil, nil, body(map[string]any{"to": "ann@example.com"}), 400, invalid, "to: must be an array of email addresses"},
			{"cc an object", f.full, nil, nil, body(map[string]any{"cc": map[string]string{"Email": "ann@example.com"}}), 400, invalid, "cc: must be an array of email addresses"},
			{"too many recipients", f.full, nil, nil, body(map[string]any{"to": many[:40], "bcc": many[40:]}), 400, invalid,
				"to: an email may have at most 50 recipients in to, cc and bcc together, not 51"},
			{"no from", f.full, nil, nil, body(map[string]any{"from": del{}}), 400, invalid, "from: is required"},
			{"blank from", f.full, nil, nil, body(map[string]any{"from": " "}), 400, invalid, "from: is required"},
			{"from a number", f.full, nil, nil, body(map[string]any{"from": 1}), 400, invalid, "from: must be a string"},
			{"from not an address", f.full, nil, nil, body(map[string]any{"from": "support"}), 400, invalid, `from: "support" is not a valid email address`},
			{"no body at all", f.full, nil, nil, body(map[string]any{"textBody": "", "htmlBody": " "}), 400, invalid,
				"textBody, htmlBody: at least one must not be blank"},
			{"no textBody", f.full, nil, nil, body(map[string]any{"textBody": del{}}), 400, invalid, "textBody: is required"},
			{"htmlBody null", f.full, nil, nil, body(map[string]any{"htmlBody": nil}), 400, invalid, "htmlBody: is required"},
			{"no subject", f.full, nil, nil, body(map[string]any{"subject": del{}}), 400, invalid, "subject: is required"},
			{"no type", f.full, nil, nil, body(map[string]any{"type": del{}}), 400, invalid, `type: is required: send "message"`},
			{"no cc", f.full, nil, nil, body(map[string]any{"cc": del{}}), 400, invalid, "cc: is required: send [] for none"},
			{"bcc null", f.full, nil, nil, body(map[string]any{"bcc": nil}), 400, invalid, "bcc: is required: send [] for none"},
			{"no contactId", f.full, nil, nil, body(map[string]any{"contactId": del{}}), 400, invalid, "contactId: is required"},
			{"no attachments", f.full, nil, nil, body(map[string]any{"attachments": del{}}), 400, invalid, "attachments: is required"},
			{"every required field missing", f.full, nil, nil, strings.NewReader(`{"data":{}}`), 400, invalid,
				"caseId: is required; to: is required; from: is required; cc: is required: send [] for none; bcc: is required: send [] for none; " +
					`subject: is required; contactId: is required; type: is required: send "message"; textBody: is required; htmlBody: is required; attachments: is required`},
			{"textBody a number", f.full, nil, nil, body(map[string]any{"textBody": 1}), 400, invalid, "textBody: must be a string"},
			{"htmlBody with NUL", f.full, nil, nil, body(map[string]any{"htmlBody": "a\x00b"}), 400, invalid, "htmlBody: must not contain NUL characters"},
			{"subject a list", f.full, nil, nil, body(map[string]any{"subject": []string{"a"}}), 400, invalid, "subject: must be a string"},
			{"subject with a line break", f.full, nil, nil, body(map[string]any{"subject": "hi\r\nBcc: all@example.com"}), 400, invalid, "subject: must be one line"},
			{"type note", f.full, nil, nil, body(map[string]any{"type": "note"}), 400, invalid, `type: must be "message"`},
			{"attachment without content or url", f.full, nil, nil, body(map[string]any{"attachments": []any{map[string]string{"name": "a.pdf"}}}), 400, invalid,
				`attachments[0]: needs "content" (the file in base64) or "url" (where to fetch it)`},
			{"attachments a string", f.full, nil, nil, body(map[string]any{"attachments": "a.pdf"}), 400, invalid, "attachments: must be an array"},
			{"unknown x-user-type", f.full, map[string]string{"x-user-type": "bot"}, nil, body(nil), 400, invalid, `x-user-type: must be user or contact, not "bot"`},
			{"contactId not the case's", f.full, nil, nil, body(map[string]any{"contactId": f.anon.ID}), 400, invalid,
				fmt.Sprintf("contactId: contact %d is not the contact of case %d", f.anon.ID, open)},
			{"contactId a string", f.full, nil, nil, body(map[string]any{"contactId": fmt.Sprint(f.contact.ID)}), 400, invalid, "contactId: must be a positive integer"},
			{"closed case", f.full, nil, nil, body(map[string]any{"caseId": closed, "contactId": f.anon.ID}), 400, invalid,
				fmt.Sprintf("Only active cases may receive messages via the API: case %d is closed", closed)},
			{"closed case, contact", f.full, contact, nil, body(map[string]any{"caseId": closed, "contactId": f.anon.ID, "from": "ann@example.com", "to": []string{"support@example.com"}}), 400, invalid,
				fmt.Sprintf("Only active cases may receive messages via the API: case %d is closed", closed)},
			{"case of another account", f.full, nil, nil, body(map[string]any{"caseId": foreign}), 400, notFound, fmt.Sprintf("Case %d not found", foreign)},
			{"unknown case", f.full, nil, nil, body(map[string]any{"caseId": 744000}), 400, notFound, "Case 744000 not found"},
			{"huge case", f.full, nil, nil, body(map[string]any{"caseId": raw("99999999999999999999")}), 400, notFound, "Case 99999999999999999999 not found"},
			{"caseId a string", f.full, nil, nil, body(map[string]any{"caseId": fmt.Sprint(open)}), 400, invalid, "caseId: must be a positive integer"},
			{"caseId a fraction", f.full, nil, nil, body(map[string]any{"caseId": raw("1.5")}), 400, invalid, "caseId: must be a positive integer"},
			{"no caseId", f.full, nil, nil, body(map[string]any{"caseId": del{}}), 400, invalid, "caseId: is required"},
			{"fields at the top level", f.full, nil, nil, strings.NewReader(fmt.Sprintf(`{"caseId":%d,"to":["ann@example.com"],"from":"support@example.com","textBody":"x"}`, open)), 400, invalid,
				`data: is required: send the email as {"data":{"caseId":...,"to":[...],...}}`},
			{"data an array", f.full, nil, nil, strings.NewReader(`{"data":[]}`), 400, invalid, "data: must be an object"},
			{"every bad field at once", f.full, map[string]string{"x-user-type": "robot"}, nil,
				strings.NewReader(`{"data":{"caseId":"9","to":["a@b"],"from":2,"cc":"x","subject":"a\nb","contactId":-1,"type":"mail","attachments":[1]}}`), 400, invalid,
				`x-user-type: must be user or contact, not "robot"; caseId: must be a positive integer; to[0]: "a@b" is not a valid email address; ` +
					`from: must be a string; cc: must be an array of email addresses; bcc: is required: send [] for none; subject: must be one line; ` +
					`contactId: must be a positive integer; type: must be "message"; textBody: is required; htmlBody: is required; attachments[0]: must be an object`},
			{"empty body", f.full, nil, nil, strings.NewReader(""), 400, invalid, "the request body is empty: send a JSON object"},
			{"malformed JSON", f.full, nil, nil, strings.NewReader(`{"data":{`), 400, invalid, "the request body is not valid JSON: unexpected end of JSON input"},
			{"array body", f.full, nil, nil, strings.NewReader(`[]`), 400, invalid, "the request body must be a JSON object"},
			{"16 MB body", f.full, nil, nil, strings.NewReader(huge), 413, invalid, "request body too large"},
			{"16 MB body without a length", f.full, nil, nil, io.MultiReader(strings.NewReader(huge)), 413, invalid, "request body too large"},
			{"no key", "", nil, nil, body(nil), 401, unauth, "Missing API key: send the header Authorization: Bearer <API key>"},
			{"revoked key", f.revoked, nil, nil, body(nil), 401, unauth, "Invalid API key"},
			{"key without email", f.chatOnly, nil, nil, body(nil), 403, access, `This API key lacks the "email" scope`},
			{"SMS-only key", f.smsOnly, nil, nil, body(nil), 403, access, `This API key lacks the "email" scope`},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				w0 := f.writes(t)
				r := f.do(t, request{Method: http.MethodPost, Path: mailPath, Query: tt.query, Token: tt.token, Header: tt.header, Body: tt.body})
				assertError(t, r, tt.status, tt.typ, tt.message)
				if w1 := f.writes(t); w1 != w0 {
					t.Errorf("wrote: messages, cases, deliveries %v -> %v", w0, w1)
				}
			})
		}
	})
}

package acquire_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

const smsPath = "/api/v1/voip/send-sms"

// vendorSMSBody is Acquire's example request, sent to the case c (thread,
// id and timeline) of the contact from the account's number.
func vendorSMSBody(c models.Case, contactID int64) string {
	return fmt.Sprintf(`{
"Body": "hi",
"From": "+14155550199",
"To": "+14155550100",
"contactId": %d,
"id": %d,
"isClosed": false,
"isMultiChannel": false,
"markValue": "<p>hi</p>",
"message": "hi",
"msgType": "message",
"sms": "hi",
"threadId": %d,
"timelineId": %d,
"title": "#751069 has just started a chat"
}`, contactID, c.ID, c.ID, c.TimelineID)
}

// smsBody is a valid send-sms request to the fixture's open case with
// fields replaced (a json.RawMessage is sent as is) or removed (del{}).
func (f *fixture) smsBody(overrides map[string]any) string {
	data := map[string]any{
		"Body": "Your order has shipped", "From": "+14155550199", "To": "+14155550100", "contactId": f.contact.ID,
		"threadId": f.open.ID, "timelineId": f.open.TimelineID,
	}
	for k, v := range overrides {
		if _, ok := v.(del); ok {
			delete(data, k)
			continue
		}
		data[k] = v
	}
	b, err := json.Marshal(data)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestSMS_Send(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		tests := []struct {
			name     string
			token    string
			header   map[string]string
			query    url.Values
			body     string
			c        models.Case
			agent    bool // a reply of the key's agent, queued for delivery
			from, to string
			text     string
		}{
			{"vendor example", f.smsOnly, nil, nil, vendorSMSBody(f.open, f.contact.ID), f.open, true, "+14155550199", "+14155550100", "hi"},
			{"threadId only, text in sms", f.full, map[string]string{"x-user-type": "user"}, nil,
				f.smsBody(map[string]any{"Body": del{}, "sms": "via sms", "message": "not this", "timelineId": del{}, "contactId": del{}, "threadId": f.assigned.ID}),
				f.assigned, true, "+14155550199", "+14155550100", "via sms"},
			{"id only, text in message, numbers trimmed", f.full, nil, nil,
				f.smsBody(map[string]any{"Body": nil, "message": "via message", "threadId": del{}, "id": f.open.ID, "From": " +14155550199 ", "extra": []int{1}}),
				f.open, true, "+14155550199", "+14155550100", "via message"},
			{"x-user-type contact: the contact's SMS to the number", f.full, map[string]string{"x-user-type": "contact"}, nil,
				f.smsBody(map[string]any{"From": "+14155550100", "To": "+14155550199"}), f.open, false, "+14155550100", "+14155550199", "Your order has shipped"},
			{"formatted numbers, stored in E.164", f.full, nil, nil,
				f.smsBody(map[string]any{"From": "+1 (415) 555-0199", "To": "+1 415 555 0100"}), f.open, true, "+14155550199", "+14155550100", "Your order has shipped"},
			{"x-user-type contact in the query, offline case", f.smsOnly, nil, url.Values{"x-user-type": {"contact"}},
				f.smsBody(map[string]any{"From": "+447911123456", "To": "+14155550199", "threadId": f.off0.ID, "timelineId": f.off0.TimelineID, "contactId": f.anon.ID}),
				f.off0, false, "+447911123456", "+14155550199", "Your order has shipped"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				w0 := f.writes(t)
				r := f.do(t, request{Method: http.MethodPost, Path: smsPath, Query: tt.query, Token: tt.token, Header: tt.header, Body: strings.NewReader(tt.body)})
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
				if m.SMSFrom != tt.from || m.SMSTo != tt.to || m.Text != tt.text {
					t.Errorf("stored from %q to %q text %q", m.SMSFrom, m.SMSTo, m.Text)
				}
				d := f.mustDelivery(t, m.ID)
				var agent *models.Agent
				if tt.agent {
					if m.Sender != models.SenderAgent || m.AgentID == nil || *m.AgentID != f.agent.ID {
						t.Errorf("sender %s agent %v, want the key's agent %d", m.Sender, m.AgentID, f.agent.ID)
					}
					if d == nil || d.Status != models.DeliveryQueued || d.Kind != models.InboxSMS || d.Reference == "" {
						t.Fatalf("delivery = %+v, want a queued SMS with a reference", d)
					}
					agent = &f.agent
				} else {
					if m.Sender != models.SenderContact || m.AgentID != nil {
						t.Errorf("sender %s agent %v, want the contact", m.Sender, m.AgentID)
					}
					if d != nil {
						t.Errorf("a contact's SMS was queued: %+v", d)
					}
				}
				v := f.mustCaseView(t, tt.c)
				assertJSON(t, r.body, `{"data":`+wantSMS(m.Message, v, f.number.ID, agent, d)+`}`)

				// The shape, key by key, against Acquire's example.
				var got struct {
					Data map[string]any `json:"data"`
				}
				if err := json.Unmarshal([]byte(r.body), &got); err != nil {
					t.Fatal(err)
				}
				assertKeys(t, "data", got.Data, docSMSKeys)
				assertKeys(t, "data.timeline", got.Data["timeline"], docSMSTimelineKeys)
				inner, _ := got.Data["data"].(map[string]any)
				assertKeys(t, "data.data", inner, docSMSDataKeys)
				assertKeys(t, "data.data.timeline", inner["timeline"], docTimelineKeys)
				assertKeys(t, "data.data.meta", inner["meta"], docSMSMetaKeys)
				if tt.agent {
					assertKeys(t, "data.data.sender", inner["sender"], append(slices.Clone(docMailUserKeys), "meta"))
				}

				// The SMS is a message of the case's thread too.
				listed := f.threadMessage(t, f.full, tt.c, m.ID)
				b, _ := json.Marshal(listed)
				assertJSON(t, string(b), wantMessage(m, v, ""))
				if listed["channel"] != "sms" {
					t.Errorf("listed channel = %v", listed["channel"])
				}
			})
		}
	})
}

func TestSMS_Errors(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		open, closed, foreign := f.open.ID, f.closed.ID, f.foreign.ID
		body := func(o map[string]any) io.Reader { return strings.NewReader(f.smsBody(o)) }
		raw := func(s string) json.RawMessage { return json.RawMessage(s) }
		contact := map[string]string{"x-user-type": "contact"}
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
			{"From not an SMS number", f.full, nil, nil, body(map[string]any{"From": "+14155550111"}), 400, invalid,
				`From: "+14155550111" is not an SMS number of this account`},
			{"From a number of another account", f.full, nil, nil, body(map[string]any{"From": "+14155550188"}), 400, invalid,
				`From: "+14155550188" is not an SMS number of this account`},
			{"contact's SMS to no number", f.full, contact, nil, body(map[string]any{"From": "+14155550100", "To": "+14155550111"}), 400, invalid,
				`To: "+14155550111" is not an SMS number of this account`},
			{"From without a plus", f.full, nil, nil, body(map[string]any{"From": "14155550199"}), 400, invalid,
				`From: "14155550199" is not a valid phone number: it must start with + and the country code, as +14155550100`},
			{"From a 555 number", f.full, nil, nil, body(map[string]any{"From": "+1 555 000 1111"}), 400, invalid,
				`From: "+1 555 000 1111" is not a valid phone number: its country assigns no such number`},
			{"To a 555 number", f.full, nil, nil, body(map[string]any{"To": "+15550001111"}), 400, invalid,
				`To: "+15550001111" is not a valid phone number: its country assigns no such number`},
			{"To too short", f.full, nil, nil, body(map[string]any{"To": "+1234"}), 400, invalid,
				`To: "+1234" is not a valid phone number: it is too short for its country`},
			{"To an unassigned network", f.full, nil, nil, body(map[string]any{"To": "+882123456789"}), 400, invalid,
				`To: "+882123456789" is not a valid phone number: its country assigns no such number`},
			{"To too long", f.full, nil, nil, body(map[string]any{"To": "+1234567890123456"}), 400, invalid,
				`To: "+1234567890123456" is not a valid phone number: it is too long for its country`},
			{"To with an extension", f.full, nil, nil, body(map[string]any{"To": "+14155550100 ext. 12"}), 400, invalid,
				`To: "+14155550100 ext. 12" is not a valid phone number: only digits, spaces, hyphens, dots, slashes and parentheses may follow the +, not 'e'`},
			{"To a premium-rate number", f.full, nil, nil, body(map[string]any{"To": "+1 900 555 1234"}), 400, invalid,
				`To: "+19005551234" is a premium-rate number: this account does not send SMS to premium-rate, shared-cost, UAN or unknown-type numbers`},
			{"To a shared-cost number", f.full, nil, nil, body(map[string]any{"To": "+33810123456"}), 400, invalid,
				`To: "+33810123456" is a shared-cost number: this account does not send SMS to premium-rate, shared-cost, UAN or unknown-type numbers`},
			{"To a UAN", f.full, nil, nil, body(map[string]any{"To": "+445512345678"}), 400, invalid,
				`To: "+445512345678" is a UAN (universal access) number: this account does not send SMS to premium-rate, shared-cost, UAN or unknown-type numbers`},
			{"both bad", f.full, nil, nil, body(map[string]any{"From": "+1234", "To": "+19005551234x"}), 400, invalid,
				`From: "+1234" is not a valid phone number: it is too short for its country; ` +
					`To: "+19005551234x" is not a valid phone number: only digits, spaces, hyphens, dots, slashes and parentheses may follow the +, not 'x'`},
			{"From a number", f.full, nil, nil, body(map[string]any{"From": 14155550199}), 400, invalid, "From: must be a string"},
			{"no From or To", f.full, nil, nil, body(map[string]any{"From": del{}, "To": ""}), 400, invalid, "From: is required; To: is required"},
			{"no Body", f.full, nil, nil, body(map[string]any{"Body": del{}}), 400, invalid, "Body: is required"},
			{"keys in another case", f.full, nil, nil, body(map[string]any{"Body": del{}, "body": "hi", "From": del{}, "from": "+14155550199", "To": del{}, "to": "+14155550100"}), 400, invalid,
				"From: is required; To: is required; Body: is required"},
			{"blank Body", f.full, nil, nil, body(map[string]any{"Body": " \n", "sms": "not read"}), 400, invalid, "Body: must not be blank"},
			{"Body a number", f.full, nil, nil, body(map[string]any{"Body": 5}), 400, invalid, "Body: must be a string"},
			{"blank sms", f.full, nil, nil, body(map[string]any{"Body": del{}, "sms": ""}), 400, invalid, "sms: must not be blank"},
			{"message an object", f.full, nil, nil, body(map[string]any{"Body": del{}, "message": map[string]string{"message": "hi"}}), 400, invalid, "message: must be a string"},
			{"Body with NUL", f.full, nil, nil, body(map[string]any{"Body": "a\x00b"}), 400, invalid, "Body: must not contain NUL characters"},
			{"Body too long", f.full, nil, nil, body(map[string]any{"Body": strings.Repeat("é", 1601)}), 400, invalid, "Body: must be at most 1600 characters, not 1601"},
			{"unknown x-user-type", f.full, map[string]string{"x-user-type": "agent"}, nil, body(nil), 400, invalid, `x-user-type: must be user or contact, not "agent"`},
			{"closed case", f.full, nil, nil, body(map[string]any{"threadId": closed, "timelineId": f.closed.TimelineID, "contactId": del{}}), 400, invalid,
				fmt.Sprintf("Only active cases may receive messages via the API: case %d is closed", closed)},
			{"case of another account", f.full, nil, nil, body(map[string]any{"threadId": foreign, "timelineId": del{}, "contactId": del{}}), 400, notFound,
				fmt.Sprintf("Case %d not found", foreign)},
			{"unknown case by id", f.full, nil, nil, body(map[string]any{"threadId": del{}, "id": 744000, "timelineId": del{}}), 400, notFound, "Case 744000 not found"},
			{"huge case", f.full, nil, nil, body(map[string]any{"threadId": raw("99999999999999999999"), "timelineId": del{}}), 400, notFound, "Case 99999999999999999999 not found"},
			{"contactId not the case's", f.full, nil, nil, body(map[string]any{"contactId": f.anon.ID}), 400, invalid,
				fmt.Sprintf("contactId: contact %d is not the contact of case %d", f.anon.ID, open)},
			{"threadId and id disagree", f.full, nil, nil, body(map[string]any{"id": f.assigned.ID}), 400, invalid,
				fmt.Sprintf("id: case %d is not threadId %d: both name the case", f.assigned.ID, open)},
			{"timelineId of another case", f.full, nil, nil, body(map[string]any{"timelineId": f.assigned.TimelineID}), 400, invalid,
				fmt.Sprintf("timelineId: %d is not the timeline of case %d, whose timelineId is %d", f.assigned.TimelineID, open, f.open.TimelineID)},
			{"timelineId of another account's case", f.full, nil, nil, body(map[string]any{"timelineId": f.foreign.TimelineID}), 400, invalid,
				fmt.Sprintf("timelineId: %d is not the timeline of case %d, whose timelineId is %d", f.foreign.TimelineID, open, f.open.TimelineID)},
			{"timelineId the case id", f.full, nil, nil, body(map[string]any{"timelineId": open}), 400, invalid,
				fmt.Sprintf("timelineId: %d is not the timeline of case %d, whose timelineId is %d", open, open, f.open.TimelineID)},
			{"timelineId unknown", f.full, nil, nil, body(map[string]any{"timelineId": 2108}), 400, invalid,
				fmt.Sprintf("timelineId: 2108 is not the timeline of case %d, whose timelineId is %d", open, f.open.TimelineID)},
			{"timelineId huge", f.full, nil, nil, body(map[string]any{"timelineId": raw("99999999999999999999")}), 400, invalid,
				fmt.Sprintf("timelineId: 99999999999999999999 is not the timeline of case %d, whose timelineId is %d", open, f.open.TimelineID)},
			{"timelineId of a case of another account", f.full, nil, nil, body(map[string]any{"threadId": foreign, "timelineId": f.foreign.TimelineID, "contactId": del{}}), 400, notFound,
				fmt.Sprintf("Case %d not found", foreign)},
			{"timelineId a string", f.full, nil, nil, body(map[string]any{"timelineId": fmt.Sprint(open)}), 400, invalid, "timelineId: must be a positive integer"},
			{"no threadId or id", f.full, nil, nil, body(map[string]any{"threadId": del{}}), 400, invalid, "threadId: is required"},
			{"threadId a string", f.full, nil, nil, body(map[string]any{"threadId": fmt.Sprint(open)}), 400, invalid, "threadId: must be a positive integer"},
			{"id negative", f.full, nil, nil, body(map[string]any{"id": -open}), 400, invalid, "id: must be a positive integer"},
			{"every bad field at once", f.full, map[string]string{"x-user-type": "robot"}, nil,
				strings.NewReader(`{"threadId":0,"timelineId":"x","From":"0","To":true,"Body":"","contactId":"1"}`), 400, invalid,
				`x-user-type: must be user or contact, not "robot"; threadId: must be a positive integer; timelineId: must be a positive integer; ` +
					`From: "0" is not a valid phone number: it must start with + and the country code, as +14155550100; To: must be a string; Body: must not be blank; contactId: must be a positive integer`},
			{"empty body", f.full, nil, nil, strings.NewReader(" "), 400, invalid, "the request body is empty: send a JSON object"},
			{"malformed JSON", f.full, nil, nil, strings.NewReader(`{"Body":`), 400, invalid, "the request body is not valid JSON: unexpected end of JSON input"},
			{"string body", f.full, nil, nil, strings.NewReader(`"hi"`), 400, invalid, "the request body must be a JSON object"},
			{"5 MB body", f.full, nil, nil, strings.NewReader(huge), 413, invalid, "request body too large"},
			{"5 MB body without a length", f.smsOnly, nil, nil, io.MultiReader(strings.NewReader(huge)), 413, invalid, "request body too large"},
			{"no key", "", nil, nil, body(nil), 401, unauth, "Missing API key: send the header Authorization: Bearer <API key>"},
			{"expired key", f.expired, nil, nil, body(nil), 401, unauth, "The API key has expired"},
			{"key without sms", f.chatOnly, nil, nil, body(nil), 403, access, `This API key lacks the "sms" scope`},
			{"email-only key", f.emailOnly, nil, nil, body(nil), 403, access, `This API key lacks the "sms" scope`},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				w0 := f.writes(t)
				r := f.do(t, request{Method: http.MethodPost, Path: smsPath, Query: tt.query, Token: tt.token, Header: tt.header, Body: tt.body})
				assertError(t, r, tt.status, tt.typ, tt.message)
				if w1 := f.writes(t); w1 != w0 {
					t.Errorf("wrote: messages, cases, deliveries %v -> %v", w0, w1)
				}
			})
		}
	})
}

// TestSMS_CostlyNumbers checks that an agent's SMS to a premium-rate,
// shared-cost or UAN number is refused naming To, writing nothing, until the
// account allows such numbers, and refused again once it no longer does.
func TestSMS_CostlyNumbers(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		setAllow := func(allow bool) {
			t.Helper()
			if _, err := st.UpdateAccount(t.Context(), f.open.AccountID, store.AccountUpdate{SMSAllowPremium: &allow}); err != nil {
				t.Fatal(err)
			}
		}
		send := func(to string) response {
			return f.do(t, request{Method: http.MethodPost, Path: smsPath, Token: f.smsOnly,
				Body: strings.NewReader(f.smsBody(map[string]any{"To": to}))})
		}
		numbers := []struct{ name, to, e164, what string }{
			{"premium rate", "+1 (900) 555-1234", "+19005551234", "a premium-rate number"},
			{"UK premium rate", "+448712345678", "+448712345678", "a premium-rate number"},
			{"shared cost", "+34 901 123 456", "+34901123456", "a shared-cost number"},
			{"UAN", "+445512345678", "+445512345678", "a UAN (universal access) number"},
		}
		for _, tt := range numbers {
			t.Run("refused: "+tt.name, func(t *testing.T) {
				w0 := f.writes(t)
				assertError(t, send(tt.to), http.StatusBadRequest, "ERROR_INVALID_INPUT", fmt.Sprintf(
					`To: %q is %s: this account does not send SMS to premium-rate, shared-cost, UAN or unknown-type numbers`, tt.e164, tt.what))
				if w1 := f.writes(t); w1 != w0 {
					t.Errorf("wrote: messages, cases, deliveries %v -> %v", w0, w1)
				}
			})
		}
		setAllow(true)
		for _, tt := range numbers {
			t.Run("allowed: "+tt.name, func(t *testing.T) {
				r := send(tt.to)
				if r.status != http.StatusOK {
					t.Fatalf("status = %d; body %s", r.status, r.body)
				}
				m := f.lastMessage(t, f.open)
				if d := f.mustDelivery(t, m.ID); m.SMSTo != tt.e164 || d == nil || d.Status != models.DeliveryQueued {
					t.Errorf("stored to %q, delivery %+v; want a queued SMS to %s", m.SMSTo, d, tt.e164)
				}
			})
		}
		setAllow(false)
		w0 := f.writes(t)
		assertError(t, send("+19005551234"), http.StatusBadRequest, "ERROR_INVALID_INPUT",
			`To: "+19005551234" is a premium-rate number: this account does not send SMS to premium-rate, shared-cost, UAN or unknown-type numbers`)
		if w1 := f.writes(t); w1 != w0 {
			t.Errorf("wrote after the setting was turned off: %v -> %v", w0, w1)
		}
	})
}

// TestSend_Quota checks that an account's hourly quota stops its agents'
// emails and SMS with a 429 that says when to retry, writing nothing, and
// that messages from the contact, which are not sent, do not count.
func TestSend_Quota(t *testing.T) {
	tests := []struct {
		name, column string
		path, token  string
		body         func(f *fixture) string
		contact      func(f *fixture) string
		message      string
	}{
		{"email", "emails_per_hour", mailPath, "emailOnly",
			func(f *fixture) string { return vendorMailBody(f.open.ID, f.contact.ID) },
			func(f *fixture) string {
				return f.mailBody(map[string]any{"from": "ann@example.com", "to": []string{"support@example.com"}})
			},
			"the account may send 2 emails an hour; try again in "},
		{"sms", "sms_per_hour", smsPath, "smsOnly",
			func(f *fixture) string { return vendorSMSBody(f.open, f.contact.ID) },
			func(f *fixture) string {
				return f.smsBody(map[string]any{"From": "+14155550100", "To": "+14155550199"})
			},
			"the account may send 2 SMS messages an hour; try again in "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
				f := mustFixture(t, st)
				if err := st.GORM().Exec("UPDATE accounts SET "+tt.column+" = 2 WHERE id = ?", f.open.AccountID).Error; err != nil {
					t.Fatal(err)
				}
				token := map[string]string{"emailOnly": f.emailOnly, "smsOnly": f.smsOnly}[tt.token]
				post := func(body string, header map[string]string) response {
					return f.do(t, request{Method: http.MethodPost, Path: tt.path, Token: token, Header: header, Body: strings.NewReader(body)})
				}
				for i := range 2 {
					if r := post(tt.body(f), nil); r.status != http.StatusOK {
						t.Fatalf("send %d: %d %s", i+1, r.status, r.body)
					}
				}
				w0 := f.writes(t)
				r := post(tt.body(f), nil)
				if r.status != http.StatusTooManyRequests {
					t.Fatalf("third send: %d %s", r.status, r.body)
				}
				var got struct {
					Error struct{ Type, Message string } `json:"error"`
				}
				if err := json.Unmarshal([]byte(r.body), &got); err != nil {
					t.Fatalf("%v: %s", err, r.body)
				}
				if got.Error.Type != "ERROR_TOO_MANY_REQUESTS" || !strings.HasPrefix(got.Error.Message, tt.message) {
					t.Errorf("error = %+v", got.Error)
				}
				var secs int
				if _, err := fmt.Sscan(r.header.Get("Retry-After"), &secs); err != nil || secs < 3500 || secs > 3600 {
					t.Errorf("Retry-After = %q, want the seconds until the first send is an hour old", r.header.Get("Retry-After"))
				}
				if w1 := f.writes(t); w1 != w0 {
					t.Errorf("wrote: messages, cases, deliveries %v -> %v", w0, w1)
				}
				if r := post(tt.contact(f), map[string]string{"x-user-type": "contact"}); r.status != http.StatusOK {
					t.Errorf("the contact's message after the quota: %d %s", r.status, r.body)
				}
			})
		})
	}
}

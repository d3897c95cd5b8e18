package reve_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

// tokyo is the time zone of the people fixture's account: REVE's dates are
// days there.
const tokyo = "Asia/Tokyo"

// people is the offline-message fixture plus what the agents, chats and
// visitors routes show: a disabled agent, chats of every kind, visitor
// sessions, and a chat of the second account. The first account is in Tokyo.
type people struct {
	*fixture
	disabled models.Agent
	// chats[i] is chat ci of mustPeople's comment, as the store keeps it.
	chats       []models.Case
	foreignChat models.Case
	// ann and bob are the uploaded chats' visitors; anon has no name, email
	// or phone.
	ann, bob, anon models.Contact
	sessions       []models.VisitorSession // of fixture.contact, oldest first
	// answered is when an agent first wrote in each chat (zero: never).
	answered []time.Time
}

// The uploaded chats' start times: c0 late on 10 March in Tokyo, c1 early on
// the 11th (both on the 10th in UTC).
var (
	c0Start = time.Date(2021, 3, 10, 23, 30, 0, 0, mustLoad(tokyo))
	c1Start = time.Date(2021, 3, 11, 0, 30, 0, 0, mustLoad(tokyo))
	c2Start = time.Date(2021, 3, 12, 10, 0, 0, 0, mustLoad(tokyo))
	c3Start = time.Date(2021, 3, 9, 12, 0, 0, 0, mustLoad(tokyo))
)

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// mustPeople builds on mustFixture, with the first account moved to Tokyo:
//
//   - c0, uploaded, succeeded: Ann wrote, the admin answered, Ann wrote again.
//   - c1, uploaded, lost: Bob wrote, the agent answered (lost all the same).
//   - c2, uploaded, succeeded, started by the operator (the agent), Ann answered.
//   - c3, uploaded, refused, an autoinvite that no agent answered.
//   - c4, live, open: the superadmin's, who wrote in it; rated "5".
//   - c5, live, closed by the superadmin with no agent message, unassigned.
//
// Newest first they are c5, c4, c2, c1, c0, c3. The agents are the
// superadmin, admin, agent and a disabled agent, by id.
func mustPeople(tb testing.TB, st *store.Store, pageSize int) *people {
	tb.Helper()
	ctx := context.Background()
	p := &people{fixture: mustFixture(tb, st, pageSize)}
	acct := p.superadmin.AccountID
	tz := tokyo
	if _, err := st.UpdateAccount(ctx, acct, store.AccountUpdate{Timezone: &tz}); err != nil {
		tb.Fatal(err)
	}
	p.disabled = storetest.MustAgent(tb, st, acct, "off@example.com", models.RoleAgent, "unused-hash")
	off := false
	if _, err := st.UpdateAgent(ctx, acct, p.disabled.ID, store.AgentUpdate{Enabled: &off}); err != nil {
		tb.Fatal(err)
	}
	site, err := st.CreateSite(ctx, acct, "example.com")
	if err != nil {
		tb.Fatal(err)
	}
	admin, agent, boss := p.agents[0].ID, p.agents[1].ID, p.superadmin.ID
	ann := store.UploadContact{Name: "Ann Lee", Email: "ann@example.com", Phone: "+14155550111"}
	msg := func(at time.Time, sender models.Sender, agentID *int64, text string) store.ChatUploadMessage {
		return store.ChatUploadMessage{At: at, Sender: sender, AgentID: agentID, Text: text}
	}
	src := store.UploadSource{SiteID: &site.ID}
	// One call per chat, so that ids follow the order here.
	uploads := []store.ChatUpload{
		{StartedAt: c0Start, Contact: ann, Outcome: models.OutcomeSucceeded, Source: src, Messages: []store.ChatUploadMessage{
			msg(c0Start, models.SenderContact, nil, "hi"),
			msg(c0Start.Add(time.Minute), models.SenderAgent, &admin, "hello"),
			msg(c0Start.Add(2*time.Minute), models.SenderContact, nil, "thanks"),
		}},
		{StartedAt: c1Start, Contact: store.UploadContact{Email: "bob@example.com"}, Outcome: models.OutcomeLost, Source: src,
			Messages: []store.ChatUploadMessage{
				msg(c1Start, models.SenderContact, nil, "anyone?"),
				msg(c1Start.Add(3*time.Minute), models.SenderAgent, &agent, "too late"),
			}},
		{StartedAt: c2Start, Contact: ann, Outcome: models.OutcomeSucceeded, Initiator: models.InitiatorAgent, Source: src,
			Messages: []store.ChatUploadMessage{
				msg(c2Start, models.SenderAgent, &agent, "can I help?"),
				msg(c2Start.Add(30*time.Second), models.SenderContact, nil, "yes"),
			}},
		{StartedAt: c3Start, Contact: ann, Outcome: models.OutcomeRefused, Initiator: models.InitiatorInvite, Source: src,
			Messages: []store.ChatUploadMessage{
				msg(c3Start, models.SenderSystem, nil, "Need help?"),
				msg(c3Start.Add(time.Minute), models.SenderContact, nil, "no"),
			}},
	}
	var ids []int64
	for _, u := range uploads {
		got, err := st.UploadChats(ctx, acct, []store.ChatUpload{u})
		if err != nil {
			tb.Fatalf("upload chat: %v", err)
		}
		ids = append(ids, got...)
	}
	p.answered = []time.Time{c0Start.Add(time.Minute), c1Start.Add(3 * time.Minute), c2Start, {}}

	c4, err := st.CreateCase(ctx, acct, store.NewCase{ContactID: p.contact.ID, AssigneeID: &boss, Initiator: models.InitiatorContact})
	if err != nil {
		tb.Fatal(err)
	}
	m := storetest.MustReply(tb, st, acct, c4.ID, boss, "live answer", time.Time{})
	p.answered = append(p.answered, m.CreatedAt)
	if err := st.GORM().Exec("UPDATE cases SET rating = ? WHERE id = ?", "5", c4.ID).Error; err != nil {
		tb.Fatal(err)
	}
	c5, err := st.CreateCase(ctx, acct, store.NewCase{ContactID: p.contact.ID})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := st.SetCaseStatus(ctx, acct, c5.ID, models.StatusClosed, &boss); err != nil {
		tb.Fatal(err)
	}
	p.answered = append(p.answered, time.Time{})
	ids = append(ids, c4.ID, c5.ID)
	for _, id := range ids {
		p.chats = append(p.chats, mustCase(tb, st, id))
	}
	p.ann = mustContact(tb, st, acct, p.chats[0].ContactID)
	p.bob = mustContact(tb, st, acct, p.chats[1].ContactID)
	p.anon = mustContact(tb, st, acct, p.cases[1].ContactID)

	// Two visits of the fixture's contact, the first before the contact was
	// made; the latest is described in full.
	for i, at := range []time.Time{time.Date(2015, 1, 1, 8, 0, 0, 0, time.UTC), time.Date(2015, 2, 1, 9, 30, 0, 0, time.UTC)} {
		v, err := st.CreateVisitorSession(ctx, acct, store.NewVisitorSession{ContactID: &p.contact.ID, SiteID: site.ID,
			StartedAt: at, IPAddress: []string{"10.0.0.1", "10.0.0.2"}[i], Referrer: []string{"https://a.example/", "https://b.example/x"}[i]})
		if err != nil {
			tb.Fatal(err)
		}
		p.sessions = append(p.sessions, v)
	}
	// Nothing writes a session's place and browser yet, so set them directly.
	if err := st.GORM().Exec(`UPDATE visitor_sessions SET platform = 'Windows', browser = 'Chrome', browser_version = '120.0',
		country = 'Bangladesh', region = 'Dhaka', city = 'Dhaka', latitude = '23.8103', longitude = '90.4125', isp = 'Grameenphone',
		page_views = 3 WHERE id = ?`, p.sessions[1].ID).Error; err != nil {
		tb.Fatal(err)
	}
	if err := st.GORM().Exec(`UPDATE visitor_sessions SET page_views = 2 WHERE id = ?`, p.sessions[0].ID).Error; err != nil {
		tb.Fatal(err)
	}
	// A visit of nobody known does not make a visitor.
	if _, err := st.CreateVisitorSession(ctx, acct, store.NewVisitorSession{SiteID: site.ID, IPAddress: "10.9.9.9"}); err != nil {
		tb.Fatal(err)
	}

	a2 := p.other.AccountID
	site2, err := st.CreateSite(ctx, a2, "two.example.com")
	if err != nil {
		tb.Fatal(err)
	}
	// 23:30 on 10 March in UTC, the second account's zone.
	at := time.Date(2021, 3, 10, 23, 30, 0, 0, time.UTC)
	fids, err := st.UploadChats(ctx, a2, []store.ChatUpload{{StartedAt: at, Contact: store.UploadContact{Email: "ann@example.com"},
		Outcome: models.OutcomeSucceeded, Source: store.UploadSource{SiteID: &site2.ID},
		Messages: []store.ChatUploadMessage{msg(at, models.SenderContact, nil, "other account")}}})
	if err != nil {
		tb.Fatal(err)
	}
	p.foreignChat = mustCase(tb, st, fids[0])
	return p
}

// mustCase reads a case back as the store keeps it (times at the database's
// precision).
func mustCase(tb testing.TB, st *store.Store, id int64) models.Case {
	tb.Helper()
	var c models.Case
	if err := st.GORM().Take(&c, "id = ?", id).Error; err != nil {
		tb.Fatalf("case %d: %v", id, err)
	}
	return c
}

func mustContact(tb testing.TB, st *store.Store, accountID, id int64) models.Contact {
	tb.Helper()
	c, err := st.Contact(context.Background(), accountID, id)
	if err != nil {
		tb.Fatalf("contact %d: %v", id, err)
	}
	return c
}

func mustAgentNow(tb testing.TB, st *store.Store, a models.Agent) models.Agent {
	tb.Helper()
	got, err := st.Agent(context.Background(), a.AccountID, a.ID)
	if err != nil {
		tb.Fatalf("agent %d: %v", a.ID, err)
	}
	return got
}

// ms is REVE's time of t.
func ms(t time.Time) int64 { return t.UnixMilli() }

// msOrNil is REVE's time of t, null for a zero or nil time.
func msOrNil(t *time.Time) any {
	if t == nil || t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

// errorCase is one request that must fail, with the status and body it gets:
// exact text for 401 and 403, JSON-equal otherwise.
type errorCase struct {
	name       string
	path       string
	user, pass string
	status     int
	body       string
}

// authErrors are the 401 and 403 cases of a route, list and single.
func authErrors(list, one string) []errorCase {
	const denied = "Access is denied! Only user with Super Admin role can access the REST API"
	return []errorCase{
		{"no auth", list, "", "", 401, "Bad credentials"},
		{"no auth on one", one, "", "", 401, "Bad credentials"},
		{"bad password", list + "/", "boss@example.com", "wrong", 401, "Bad credentials"},
		{"unknown agent", list, "nobody@example.com", password, 401, "Bad credentials"},
		{"admin is not superadmin", list, "admin@example.com", password, 403, denied},
		{"agent is not superadmin", one, "agent@example.com", password, 403, denied},
		{"agent is not superadmin, trailing slash", one + "/", "agent@example.com", password, 403, denied},
	}
}

// pageErrors are the page_no errors of a list.
func pageErrors(list string) []errorCase {
	var out []errorCase
	for _, v := range []string{"-2", "0", "abc", "1e3", "1.5"} {
		out = append(out, errorCase{"page " + v, list + "?page_no=" + v, "boss@example.com", password, 400,
			reveError(400, "Invalid Page Number: "+v+". Please enter a valid Page Number.")})
	}
	out = append(out, errorCase{"page on trailing slash", list + "/?page_no=-2", "boss@example.com", password, 400,
		reveError(400, "Invalid Page Number: -2. Please enter a valid Page Number.")})
	return out
}

// runErrors sends each request and checks its status, body and headers.
func runErrors(t *testing.T, f *fixture, tests []errorCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.get(t, tt.path, tt.user, tt.pass)
			if r.status != tt.status {
				t.Fatalf("%s: status = %d, want %d; body %s", tt.path, r.status, tt.status, r.body)
			}
			switch tt.status {
			case 401, 403:
				if r.body != tt.body {
					t.Errorf("body = %q, want %q", r.body, tt.body)
				}
				if got := r.header.Get("WWW-Authenticate"); got != `Basic realm="revechat"` {
					t.Errorf("WWW-Authenticate = %q", got)
				}
				if got := r.header.Get("Content-Type"); got != "application/json;charset=UTF-8" {
					t.Errorf("Content-Type = %q", got)
				}
			default:
				assertJSON(t, r.body, tt.body)
				if !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
					t.Errorf("Content-Type = %q", r.header.Get("Content-Type"))
				}
			}
		})
	}
}

// mustOK gets path as the superadmin and returns the body of its 200.
func (f *fixture) mustOK(t *testing.T, path string) string {
	t.Helper()
	r := f.get(t, path, f.superadmin.Email, password)
	if r.status != http.StatusOK {
		t.Fatalf("%s: status = %d; body %s", path, r.status, r.body)
	}
	if !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
		t.Errorf("%s: Content-Type = %q", path, r.header.Get("Content-Type"))
	}
	return r.body
}

// jsonOf marshals v for assertJSON.
func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// byIDDesc sorts contacts newest first, as the visitor list does.
func byIDDesc(cs []models.Contact) []models.Contact {
	out := slices.Clone(cs)
	slices.SortFunc(out, func(a, b models.Contact) int { return int(b.ID - a.ID) })
	return out
}

func mustUnmarshal(t *testing.T, body string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, body)
	}
}

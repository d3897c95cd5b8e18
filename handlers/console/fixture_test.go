package console_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"switchboard/auth"
	"switchboard/handlers"
	"switchboard/handlers/console"
	"switchboard/handlers/dialect"
	"switchboard/models"
	"switchboard/ratelimit"
	"switchboard/store"
	"switchboard/store/storetest"
)

// password is every fixture agent's password.
const password = "correct horse battery"

// fixture is two accounts, each with a superadmin and (the first) an agent,
// and the real router over them served by an httptest server.
type fixture struct {
	st  *store.Store
	srv *httptest.Server

	one, two           models.Account
	boss, agent, boss2 models.Agent
	hasher             auth.Hasher
	keys               *auth.Keys
	annCase, emailCase models.Case
	smsCase, otherCase models.Case
	ann                models.Contact
	emailFrom, smsFrom string
}

// mustFixture returns the fixture over st, the console configured with cfg.
func mustFixture(t testing.TB, st *store.Store, cfg console.Config) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{st: st, hasher: auth.Hasher{Cost: bcrypt.MinCost}}
	hash, err := f.hasher.Hash(password)
	if err != nil {
		t.Fatal(err)
	}
	f.one = storetest.MustAccount(t, st, "One")
	f.two = storetest.MustAccount(t, st, "Two")
	f.boss = storetest.MustAgent(t, st, f.one.ID, "boss@example.com", models.RoleSuperadmin, hash)
	f.agent = storetest.MustAgent(t, st, f.one.ID, "agent@example.com", models.RoleAgent, hash)
	f.boss2 = storetest.MustAgent(t, st, f.two.ID, "boss2@example.com", models.RoleSuperadmin, hash)
	f.ann = storetest.MustContact(t, st, f.one.ID, "Ann Lee", "ann@example.com", "+14155550100")
	f.annCase = mustCase(t, st, f.one.ID, f.ann.ID, models.ChannelChat, "")
	f.emailCase = mustCase(t, st, f.one.ID, f.ann.ID, models.ChannelEmail, "Broken order")
	f.smsCase = mustCase(t, st, f.one.ID, f.ann.ID, models.ChannelSMS, "")
	oc := storetest.MustContact(t, st, f.two.ID, "Secret Sam", "sam@example.com", "")
	f.otherCase = mustCase(t, st, f.two.ID, oc.ID, models.ChannelChat, "")
	f.emailFrom, f.smsFrom = "support@example.com", "+14155550199"
	if _, err := st.CreateInbox(ctx, f.one.ID, models.InboxEmail, f.emailFrom); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateInbox(ctx, f.one.ID, models.InboxSMS, f.smsFrom); err != nil {
		t.Fatal(err)
	}
	throttle := auth.NewThrottle(ratelimit.NewMemory(), auth.ThrottleConfig{PerAddress: 3, PerLogin: 100}, nil)
	basic, err := auth.NewBasic(st, auth.BasicOptions{Hasher: f.hasher, Throttle: throttle})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := auth.NewKeys(bytes.Repeat([]byte("s"), auth.MinSecretLen), st, auth.KeysOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f.keys = keys
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h := handlers.New(handlers.Config{Console: cfg}, handlers.Deps{Deps: dialect.Deps{Store: st, Passwords: basic, Keys: keys, Log: log}})
	f.srv = httptest.NewServer(h)
	t.Cleanup(f.srv.Close)
	return f
}

// mustCase creates a case of the contact with one message from the
// contact, so that it has activity.
func mustCase(t testing.TB, st *store.Store, accountID, contactID int64, ch models.Channel, subject string) models.Case {
	t.Helper()
	ctx := context.Background()
	cv, err := st.CreateCase(ctx, accountID, store.NewCase{ContactID: contactID, Channel: ch, Subject: subject, Initiator: models.InitiatorContact})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddMessage(ctx, accountID, cv.ID, store.NewMessage{Sender: models.SenderContact, Kind: models.KindMessage,
		Text: "hello from " + string(ch)}); err != nil {
		t.Fatal(err)
	}
	return cv.Case
}

// browser is one client: its cookies, and the CSRF token of the last page
// it read.
type browser struct {
	t    testing.TB
	f    *fixture
	c    *http.Client
	csrf string
}

func (f *fixture) browser(t testing.TB) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, f: f, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// page is an answer read whole.
type page struct {
	status int
	header http.Header
	body   string
}

var csrfMeta = regexp.MustCompile(`name="csrf" value="([^"]+)"|name="csrf-token" content="([^"]+)"`)

// do sends the request and returns the answer, keeping the page's CSRF
// token.
func (b *browser) do(method, path string, form url.Values, header http.Header) page {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.f.srv.URL+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	p := page{status: res.StatusCode, header: res.Header, body: string(raw)}
	if m := csrfMeta.FindStringSubmatch(p.body); m != nil {
		b.csrf = m[1] + m[2]
	}
	return p
}

func (b *browser) get(path string) page { b.t.Helper(); return b.do(http.MethodGet, path, nil, nil) }

// post posts the form with the browser's CSRF token.
func (b *browser) post(path string, form url.Values) page {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if !form.Has("csrf") {
		form.Set("csrf", b.csrf)
	}
	return b.do(http.MethodPost, path, form, nil)
}

// signIn signs the browser in as email and fails the test unless it is
// sent to next.
func (b *browser) signIn(email string) {
	b.t.Helper()
	b.get("/console/login")
	p := b.post("/console/login", url.Values{"email": {email}, "password": {password}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/console" {
		b.t.Fatalf("sign in as %s: %d %s, want 303 to /console\n%s", email, p.status, p.header.Get("Location"), p.body)
	}
	b.get("/console")
}

// want fails the test unless the page has the status and holds every one of
// subs.
func (p page) want(t testing.TB, status int, subs ...string) {
	t.Helper()
	if p.status != status {
		t.Errorf("status %d, want %d\n%s", p.status, status, p.body)
	}
	for _, s := range subs {
		if !strings.Contains(p.body, s) {
			t.Errorf("page lacks %q\n%s", s, p.body)
		}
	}
}

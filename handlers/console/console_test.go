package console_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"switchboard/handlers/console"
	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

func TestConsole_SignIn(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st, console.Config{})
		t.Run("SignedOutGoesToSignIn", func(t *testing.T) {
			p := f.browser(t).get("/console?status=open")
			if p.status != http.StatusSeeOther || p.header.Get("Location") != "/console/login?next=%2Fconsole%3Fstatus%3Dopen" {
				t.Errorf("got %d to %q, want 303 to the sign-in page with next", p.status, p.header.Get("Location"))
			}
		})
		t.Run("HtmxSignedOut401", func(t *testing.T) {
			p := f.browser(t).do(http.MethodGet, "/console/inbox", nil, http.Header{"Hx-Request": {"true"}})
			if p.status != http.StatusUnauthorized || p.header.Get("HX-Redirect") != "/console/login" {
				t.Errorf("got %d HX-Redirect %q, want 401 to /console/login", p.status, p.header.Get("HX-Redirect"))
			}
		})
		t.Run("OK", func(t *testing.T) {
			b := f.browser(t)
			b.get("/console/login").want(t, http.StatusOK, `action="/console/login"`)
			p := b.post("/console/login", url.Values{"email": {"BOSS@example.com"}, "password": {password}, "next": {"/console/cases/1"}})
			if p.status != http.StatusSeeOther || p.header.Get("Location") != "/console/cases/1" {
				t.Fatalf("got %d to %q, want 303 to next", p.status, p.header.Get("Location"))
			}
			var cookie string
			for _, c := range p.header.Values("Set-Cookie") {
				if strings.HasPrefix(c, "sb_console=") {
					cookie = c
				}
			}
			for _, attr := range []string{"HttpOnly", "SameSite=Lax", "Path=/console", "Max-Age=43200"} {
				if !strings.Contains(cookie, attr) {
					t.Errorf("session cookie %q lacks %s", cookie, attr)
				}
			}
			if strings.Contains(cookie, "Secure") {
				t.Errorf("session cookie %q is Secure over plain HTTP", cookie)
			}
			b.get("/console").want(t, http.StatusOK, "boss@example.com", "Sign out")
		})
		t.Run("SecureBehindTLS", func(t *testing.T) {
			b := f.browser(t)
			b.get("/console/login")
			form := url.Values{"email": {"boss@example.com"}, "password": {password}, "csrf": {b.csrf}}
			p := b.do(http.MethodPost, "/console/login", form, http.Header{"X-Forwarded-Proto": {"https"}})
			if !strings.Contains(strings.Join(p.header.Values("Set-Cookie"), "\n"), "Secure") {
				t.Errorf("cookies %q are not Secure over TLS", p.header.Values("Set-Cookie"))
			}
		})
		t.Run("NextOffSite", func(t *testing.T) {
			b := f.browser(t)
			b.get("/console/login")
			for _, next := range []string{"https://evil.example/console", "//evil.example/console", "/api/agents"} {
				p := b.post("/console/login", url.Values{"email": {"boss@example.com"}, "password": {password}, "next": {next}})
				if p.header.Get("Location") != "/console" {
					t.Errorf("next %q: sent to %q, want /console", next, p.header.Get("Location"))
				}
				b.get("/console/login")
			}
		})
		t.Run("WrongPassword401", func(t *testing.T) {
			b := f.browser(t)
			b.get("/console/login")
			b.post("/console/login", url.Values{"email": {"agent@example.com"}, "password": {"wrong password"}}).
				want(t, http.StatusUnauthorized, "Wrong email or password.")
		})
		t.Run("NoCSRF403", func(t *testing.T) {
			b := f.browser(t)
			b.get("/console/login")
			b.post("/console/login", url.Values{"email": {"boss@example.com"}, "password": {password}, "csrf": {"forged"}}).
				want(t, http.StatusForbidden, "security token")
		})
		t.Run("Throttled429", func(t *testing.T) {
			b := f.browser(t)
			b.get("/console/login")
			var p page
			for range 4 {
				p = b.post("/console/login", url.Values{"email": {"nobody@example.com"}, "password": {"wrong password"}})
			}
			p.want(t, http.StatusTooManyRequests, "Too many failed sign-ins")
			if p.header.Get("Retry-After") == "" {
				t.Error("no Retry-After")
			}
		})
	})
}

func TestConsole_Session(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st, console.Config{})
		ctx := context.Background()
		t.Run("Logout", func(t *testing.T) {
			b := f.browser(t)
			b.signIn("agent@example.com")
			p := b.post("/console/logout", nil)
			if p.status != http.StatusSeeOther || p.header.Get("Location") != "/console/login" {
				t.Fatalf("logout: %d to %q", p.status, p.header.Get("Location"))
			}
			if p := b.get("/console"); p.status != http.StatusSeeOther {
				t.Errorf("after logout: %d, want 303 to sign in", p.status)
			}
		})
		t.Run("StoredHashed", func(t *testing.T) {
			b := f.browser(t)
			b.signIn("agent@example.com")
			u, _ := url.Parse(f.srv.URL + "/console")
			var token string
			for _, c := range b.c.Jar.Cookies(u) {
				if c.Name == "sb_console" {
					token = c.Value
				}
			}
			if len(token) < 40 {
				t.Fatalf("session cookie %q, want a random token", token)
			}
			sum := sha256.Sum256([]byte(token))
			var hashed, plain int64
			if err := st.GORM().Raw("SELECT COUNT(*) FROM console_sessions WHERE token_hash = ?", hex.EncodeToString(sum[:])).Scan(&hashed).Error; err != nil {
				t.Fatal(err)
			}
			if err := st.GORM().Raw("SELECT COUNT(*) FROM console_sessions WHERE token_hash = ? OR csrf_token = ?", token, token).Scan(&plain).Error; err != nil {
				t.Fatal(err)
			}
			if hashed != 1 || plain != 0 {
				t.Errorf("sessions stored under the token's SHA-256: %d, under the token itself: %d; want 1 and 0", hashed, plain)
			}
		})
		t.Run("LogoutNeedsCSRF", func(t *testing.T) {
			b := f.browser(t)
			b.signIn("agent@example.com")
			b.post("/console/logout", url.Values{"csrf": {"nope"}}).want(t, http.StatusForbidden)
			b.get("/console").want(t, http.StatusOK, "Inbox")
		})
		t.Run("PasswordChangeRevokes", func(t *testing.T) {
			b := f.browser(t)
			b.signIn("agent@example.com")
			hash, err := f.hasher.Hash("another password")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := st.UpdateAgent(ctx, f.one.ID, f.agent.ID, store.AgentUpdate{PasswordHash: &hash}); err != nil {
				t.Fatal(err)
			}
			if p := b.get("/console"); p.status != http.StatusSeeOther {
				t.Errorf("after the password changed: %d, want 303 to sign in", p.status)
			}
			var n int64
			if err := st.GORM().Raw("SELECT COUNT(*) FROM console_sessions WHERE agent_id = ?", f.agent.ID).Scan(&n).Error; err != nil {
				t.Fatal(err)
			}
			if n != 0 {
				t.Errorf("%d sessions of the agent left, want 0", n)
			}
		})
		t.Run("DisabledAgentSignedOut", func(t *testing.T) {
			b := f.browser(t)
			b.signIn("boss@example.com")
			off := false
			if _, err := st.UpdateAgent(ctx, f.one.ID, f.boss.ID, store.AgentUpdate{Enabled: &off}); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				on := true
				_, _ = st.UpdateAgent(ctx, f.one.ID, f.boss.ID, store.AgentUpdate{Enabled: &on})
			})
			if p := b.get("/console"); p.status != http.StatusSeeOther {
				t.Errorf("after disabling: %d, want 303 to sign in", p.status)
			}
		})
		t.Run("Expired", func(t *testing.T) {
			b := f.browser(t)
			b.signIn("boss2@example.com")
			// Expire it as the clock would, without waiting for the clock.
			if err := st.GORM().Exec("UPDATE console_sessions SET expires_at = created_at WHERE agent_id = ?", f.boss2.ID).Error; err != nil {
				t.Fatal(err)
			}
			if p := b.get("/console"); p.status != http.StatusSeeOther {
				t.Errorf("expired: %d, want 303 to sign in", p.status)
			}
		})
	})
}

func TestConsole_Inbox(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st, console.Config{PageSize: 2})
		b := f.browser(t)
		b.signIn("boss@example.com")
		t.Run("NewestFirstPaged", func(t *testing.T) {
			p := b.get("/console")
			p.want(t, http.StatusOK, fmt.Sprintf(`id="case-%d"`, f.smsCase.ID), fmt.Sprintf(`id="case-%d"`, f.emailCase.ID), `rel="next"`)
			if strings.Contains(p.body, fmt.Sprintf(`id="case-%d"`, f.annCase.ID)) {
				t.Error("the oldest case is on the first page of 2")
			}
			i := strings.Index(p.body, `rel="next"`)
			href := p.body[strings.LastIndex(p.body[:i], `href="`)+6 : i-2]
			href = strings.ReplaceAll(href, "&amp;", "&")
			b.get(href).want(t, http.StatusOK, fmt.Sprintf(`id="case-%d"`, f.annCase.ID))
		})
		t.Run("OtherAccountHidden", func(t *testing.T) {
			p := b.get("/console?q=Sam")
			p.want(t, http.StatusOK, "No cases.")
			b2 := f.browser(t)
			b2.signIn("boss2@example.com")
			p = b2.get("/console")
			p.want(t, http.StatusOK, "Secret Sam")
			if strings.Contains(p.body, "Ann Lee") {
				t.Error("account two sees account one's contact")
			}
		})
		t.Run("Filters", func(t *testing.T) {
			p := b.get("/console?channel=email")
			p.want(t, http.StatusOK, fmt.Sprintf(`id="case-%d"`, f.emailCase.ID))
			if strings.Contains(p.body, fmt.Sprintf(`id="case-%d"`, f.smsCase.ID)) {
				t.Error("channel=email shows the SMS case")
			}
			b.get("/console?q=5550100&channel=sms").want(t, http.StatusOK, fmt.Sprintf(`id="case-%d"`, f.smsCase.ID))
			b.get(fmt.Sprintf("/console?assignee=%d", f.agent.ID)).want(t, http.StatusOK, "No cases.")
			b.get("/console?status=closed").want(t, http.StatusOK, "No cases.")
		})
		t.Run("BadFilter422", func(t *testing.T) {
			b.get("/console?channel=fax&after=x").want(t, http.StatusUnprocessableEntity, "channel", "after")
		})
		t.Run("Rows", func(t *testing.T) {
			p := b.do(http.MethodGet, "/console/inbox?channel=chat", nil, http.Header{"Hx-Request": {"true"}})
			p.want(t, http.StatusOK, `<tbody id="rows"`, fmt.Sprintf(`id="case-%d"`, f.annCase.ID))
			if strings.Contains(p.body, "<html") {
				t.Error("the rows come with the whole page")
			}
		})
	})
}

func TestConsole_Case(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st, console.Config{})
		ctx := context.Background()
		b := f.browser(t)
		b.signIn("agent@example.com")
		path := func(c models.Case, rest string) string { return fmt.Sprintf("/console/cases/%d%s", c.ID, rest) }
		t.Run("Page", func(t *testing.T) {
			b.get(path(f.emailCase, "")).want(t, http.StatusOK, "Ann Lee", "hello from email", `name="subject" value="Re: Broken order"`, f.emailFrom)
			b.get(path(f.smsCase, "")).want(t, http.StatusOK, "&#43;14155550199", `name="to" value="&#43;14155550100"`)
		})
		t.Run("NotFound", func(t *testing.T) {
			b.get(path(f.otherCase, "")).want(t, http.StatusNotFound)
			b.get("/console/cases/abc").want(t, http.StatusNotFound)
			b.post(path(f.otherCase, "/reply"), url.Values{"text": {"hi"}}).want(t, http.StatusNotFound)
		})
		t.Run("ReplyChat", func(t *testing.T) {
			p := b.post(path(f.annCase, "/reply"), url.Values{"text": {"Hi Ann, on it"}})
			if p.status != http.StatusSeeOther {
				t.Fatalf("reply: %d\n%s", p.status, p.body)
			}
			msgs := mustMessages(t, st, f.one.ID, f.annCase.ID)
			last := msgs[len(msgs)-1]
			if last.Text != "Hi Ann, on it" || last.Sender != models.SenderAgent || last.AgentID == nil || *last.AgentID != f.agent.ID {
				t.Errorf("last message %+v, want the agent's reply", last.Message)
			}
			b.get(path(f.annCase, "/messages")).want(t, http.StatusOK, "Hi Ann, on it", `<ol class="messages"`)
		})
		t.Run("ReplyEmail", func(t *testing.T) {
			p := b.post(path(f.emailCase, "/reply"), url.Values{"text": {"Refund sent"}, "from": {f.emailFrom}, "to": {"ann@example.com"},
				"cc": {"boss@example.com"}, "bcc": {"audit@example.com"}, "subject": {"Re: Broken order"}})
			if p.status != http.StatusSeeOther {
				t.Fatalf("reply: %d\n%s", p.status, p.body)
			}
			msgs := mustMessages(t, st, f.one.ID, f.emailCase.ID)
			last := msgs[len(msgs)-1]
			if last.EmailSubject != "Re: Broken order" || !strings.Contains(last.EmailCc, "boss@example.com") || !strings.Contains(last.EmailBcc, "audit@example.com") ||
				last.DeliveryStatus == "" {
				t.Errorf("last message %+v, want the queued email", last.Message)
			}
			b.get(path(f.emailCase, "")).want(t, http.StatusOK, "Subject: <strong>Re: Broken order</strong>", "Cc: boss@example.com", "delivery-"+last.DeliveryStatus)
		})
		t.Run("FailedDeliveryRetry", func(t *testing.T) {
			msgs := mustMessages(t, st, f.one.ID, f.emailCase.ID)
			sent := msgs[len(msgs)-1]
			// The delivery worker's attempt fails for good.
			out, err := st.ClaimDeliveries(ctx, []models.InboxKind{models.InboxEmail}, 10, time.Minute)
			if err != nil || len(out) != 1 || out[0].Message.ID != sent.ID {
				t.Fatalf("claim: %v, %d deliveries", err, len(out))
			}
			if err := st.DeliveryFailed(ctx, out[0].Delivery.ID, out[0].Delivery.Attempts, "550 mailbox unavailable", nil); err != nil {
				t.Fatal(err)
			}
			retry := path(f.emailCase, fmt.Sprintf("/messages/%d/retry", sent.ID))
			b.get(path(f.emailCase, "")).want(t, http.StatusOK, "failed: <span class=\"reason\">550 mailbox unavailable</span>", `action="`+retry+`"`)
			if p := b.post(retry, nil); p.status != http.StatusSeeOther {
				t.Fatalf("retry: %d\n%s", p.status, p.body)
			}
			msgs = mustMessages(t, st, f.one.ID, f.emailCase.ID)
			if last := msgs[len(msgs)-1]; last.DeliveryStatus != string(models.DeliveryQueued) || last.FailReason != "" {
				t.Errorf("after retry: %q %q, want queued with no reason", last.DeliveryStatus, last.FailReason)
			}
			if out, err := st.ClaimDeliveries(ctx, []models.InboxKind{models.InboxEmail}, 10, time.Minute); err != nil || len(out) != 1 || out[0].Delivery.Attempts != 1 {
				t.Errorf("after retry the worker claims %d deliveries (%v), want the one at attempt 1", len(out), err)
			}
			b.post(retry, nil).want(t, http.StatusConflict, "has not failed")
			b.post(path(f.emailCase, "/messages/999999/retry"), nil).want(t, http.StatusNotFound)
		})
		t.Run("ReplyEmailBadFrom422", func(t *testing.T) {
			b.post(path(f.emailCase, "/reply"), url.Values{"text": {"keep me"}, "from": {"nobody@example.com"}, "to": {"ann@example.com"}}).
				want(t, http.StatusUnprocessableEntity, "keep me", `role="alert"`)
		})
		t.Run("ReplySMS", func(t *testing.T) {
			p := b.post(path(f.smsCase, "/reply"), url.Values{"text": {"Your code is 1234"}, "from": {f.smsFrom}, "to": {"+14155550100"}})
			if p.status != http.StatusSeeOther {
				t.Fatalf("reply: %d\n%s", p.status, p.body)
			}
			msgs := mustMessages(t, st, f.one.ID, f.smsCase.ID)
			if last := msgs[len(msgs)-1]; last.SMSTo != "+14155550100" || last.SMSFrom != f.smsFrom {
				t.Errorf("last message %+v, want the SMS", last.Message)
			}
			b.get(path(f.smsCase, "")).want(t, http.StatusOK, "SMS &#43;14155550199 → &#43;14155550100")
		})
		t.Run("Note", func(t *testing.T) {
			if p := b.post(path(f.annCase, "/note"), url.Values{"text": {"VIP customer"}}); p.status != http.StatusSeeOther {
				t.Fatalf("note: %d\n%s", p.status, p.body)
			}
			msgs := mustMessages(t, st, f.one.ID, f.annCase.ID)
			if last := msgs[len(msgs)-1]; last.Kind != models.KindNote || last.Text != "VIP customer" {
				t.Errorf("last message %+v, want the note", last.Message)
			}
		})
		t.Run("NoteEmpty422", func(t *testing.T) {
			b.post(path(f.annCase, "/note"), url.Values{"text": {""}}).want(t, http.StatusUnprocessableEntity)
		})
		t.Run("Status", func(t *testing.T) {
			if p := b.post(path(f.annCase, "/status"), url.Values{"status": {"pending"}}); p.status != http.StatusSeeOther {
				t.Fatalf("status: %d\n%s", p.status, p.body)
			}
			if cv, err := st.Case(ctx, f.one.ID, f.annCase.ID); err != nil || cv.Status != models.StatusPending {
				t.Errorf("case status %q (%v), want pending", cv.Status, err)
			}
			b.post(path(f.annCase, "/status"), url.Values{"status": {"sleeping"}}).want(t, http.StatusUnprocessableEntity, "sleeping")
		})
		t.Run("Assign", func(t *testing.T) {
			if p := b.post(path(f.annCase, "/assign"), url.Values{"agent_id": {fmt.Sprint(f.boss.ID)}}); p.status != http.StatusSeeOther {
				t.Fatalf("assign: %d\n%s", p.status, p.body)
			}
			if cv, err := st.Case(ctx, f.one.ID, f.annCase.ID); err != nil || cv.AssigneeID == nil || *cv.AssigneeID != f.boss.ID {
				t.Errorf("assignee %v (%v), want the boss", cv.AssigneeID, err)
			}
			b.post(path(f.annCase, "/assign"), url.Values{"agent_id": {fmt.Sprint(f.boss2.ID)}}).want(t, http.StatusUnprocessableEntity, "not an agent of this account")
			if p := b.post(path(f.annCase, "/assign"), url.Values{"agent_id": {""}}); p.status != http.StatusSeeOther {
				t.Fatalf("unassign: %d", p.status)
			}
		})
		t.Run("CSRF", func(t *testing.T) {
			for name, form := range map[string]url.Values{
				"Missing": {"text": {"x"}, "csrf": {""}},
				"Wrong":   {"text": {"x"}, "csrf": {"forged"}},
			} {
				t.Run(name, func(t *testing.T) {
					b.post(path(f.annCase, "/note"), form).want(t, http.StatusForbidden, "security token")
				})
			}
			t.Run("Header", func(t *testing.T) {
				p := b.do(http.MethodPost, path(f.annCase, "/note"), url.Values{"text": {"by htmx"}},
					http.Header{"X-Csrf-Token": {b.csrf}, "Hx-Request": {"true"}})
				if p.status != http.StatusNoContent || p.header.Get("HX-Redirect") != path(f.annCase, "") {
					t.Errorf("with the header: %d HX-Redirect %q, want 204 to the case", p.status, p.header.Get("HX-Redirect"))
				}
			})
			t.Run("OtherSessionsToken", func(t *testing.T) {
				b2 := f.browser(t)
				b2.signIn("boss@example.com")
				b.post(path(f.annCase, "/note"), url.Values{"text": {"x"}, "csrf": {b2.csrf}}).want(t, http.StatusForbidden)
			})
		})
	})
}

func mustMessages(t testing.TB, st *store.Store, accountID, caseID int64) []store.MessageView {
	t.Helper()
	msgs, _, err := st.ListMessages(context.Background(), accountID, caseID, store.MessageQuery{Limit: store.MaxLimit, Oldest: true})
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

func TestConsole_Offline(t *testing.T) {
	st := storetest.MustOpen(t, store.SQLite)
	f := mustFixture(t, st, console.Config{})
	storetest.MustOfflineCase(t, st, f.one.ID, f.ann.ID, "Call me back", "Please call", f.ann.CreatedAt)
	t.Run("Superadmin", func(t *testing.T) {
		b := f.browser(t)
		b.signIn("boss@example.com")
		b.get("/console/offline").want(t, http.StatusOK, "Call me back", "Page 1")
		b.get("/console/offline?page=0").want(t, http.StatusUnprocessableEntity)
	})
	t.Run("Agent403", func(t *testing.T) {
		b := f.browser(t)
		b.signIn("agent@example.com")
		b.get("/console/offline").want(t, http.StatusForbidden, "your role may not")
	})
}

func TestConsole_Events(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st, console.Config{})
		b := f.browser(t)
		b.signIn("boss@example.com")
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.srv.URL+"/console/events", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept", "text/event-stream")
		res, err := b.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/event-stream" {
			t.Fatalf("stream: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
		}
		rd := bufio.NewReader(res.Body)
		next := func() string {
			t.Helper()
			for {
				line, err := rd.ReadString('\n')
				if err != nil {
					t.Fatalf("read the stream: %v", err)
				}
				if strings.HasPrefix(line, "event: ") {
					return strings.TrimSpace(strings.TrimPrefix(line, "event: "))
				}
			}
		}
		if ev := next(); ev != "ready" {
			t.Fatalf("first event %q, want ready", ev)
		}
		// Another account's commit wakes nothing here; this one's does.
		if _, err := st.AddMessage(ctx, f.two.ID, f.otherCase.ID, store.NewMessage{Sender: models.SenderContact, Kind: models.KindMessage, Text: "x"}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.AddMessage(ctx, f.one.ID, f.annCase.ID, store.NewMessage{Sender: models.SenderContact, Kind: models.KindMessage, Text: "new"}); err != nil {
			t.Fatal(err)
		}
		if ev := next(); ev != "refresh" {
			t.Errorf("after a commit: %q, want refresh", ev)
		}
	})
	t.Run("SignedOut401", func(t *testing.T) {
		st := storetest.MustOpen(t, store.SQLite)
		f := mustFixture(t, st, console.Config{})
		p := f.browser(t).do(http.MethodGet, "/console/events", nil, http.Header{"Accept": {"text/event-stream"}})
		if p.status != http.StatusUnauthorized {
			t.Errorf("got %d, want 401", p.status)
		}
	})
}

// htmxSHA256 is the SHA-256 of assets/vendor/htmx/htmx.min.js: htmx.org
// 2.0.11's dist/htmx.min.js from the npm registry. Updating htmx means
// replacing the file and its LICENSE from the new package and this value.
const htmxSHA256 = "d6fdc75f204e6bdefa99b69bf1e6d4ac69b8a364f77929f45c13476b4000f717"

func TestConsole_Assets(t *testing.T) {
	st := storetest.MustOpen(t, store.SQLite)
	f := mustFixture(t, st, console.Config{})
	b := f.browser(t)
	t.Run("HtmxPinned", func(t *testing.T) {
		p := b.get("/console/assets/htmx.min.js")
		sum := sha256.Sum256([]byte(p.body))
		if p.status != http.StatusOK || hex.EncodeToString(sum[:]) != htmxSHA256 {
			t.Errorf("htmx: %d, sha256 %x, want %s", p.status, sum, htmxSHA256)
		}
		if ct := p.header.Get("Content-Type"); !strings.Contains(ct, "javascript") {
			t.Errorf("Content-Type %q", ct)
		}
	})
	t.Run("HtmxLicense", func(t *testing.T) {
		b.get("/console/assets/htmx-LICENSE.txt").want(t, http.StatusOK, "Zero-Clause BSD", "Permission to use, copy, modify")
	})
	t.Run("Own", func(t *testing.T) {
		b.get("/console/assets/console.js").want(t, http.StatusOK, "EventSource")
		b.get("/console/assets/console.css").want(t, http.StatusOK, "--accent")
	})
	t.Run("NotFound", func(t *testing.T) {
		for _, p := range []string{"/console/assets/nope.js", "/console/assets/..%2fconsole.go", "/console/assets/vendor%2fhtmx%2fLICENSE"} {
			if got := b.get(p); got.status != http.StatusNotFound {
				t.Errorf("%s: %d, want 404", p, got.status)
			}
		}
	})
	t.Run("Policy", func(t *testing.T) {
		p := b.get("/console/login")
		if csp := p.header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("CSP %q", csp)
		}
		if strings.Contains(p.body, "<script>") || strings.Contains(p.body, "http://") || strings.Contains(p.body, "https://") {
			t.Error("the page has an inline script or an external address")
		}
	})
}

var offlineRow = regexp.MustCompile(`<a href="/console/cases/(\d+)">`)

// TestConsole_OfflinePages: the offline messages page pages through the
// account's offline messages (never another account's), each once, with
// links to the newer and older pages; a message's row counts its replies,
// and opening it shows them.
func TestConsole_OfflinePages(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st, console.Config{PageSize: 2})
		at := f.ann.CreatedAt.Add(-time.Hour)
		want := map[int64]bool{}
		var replied models.Case
		for i := range 3 {
			c := storetest.MustOfflineCase(t, st, f.one.ID, f.ann.ID, fmt.Sprint("Subject ", i), fmt.Sprint("Message ", i), at.Add(time.Duration(i)*time.Minute))
			want[c.ID] = true
			replied = c
		}
		storetest.MustReply(t, st, f.one.ID, replied.ID, f.boss.ID, "We called you back", at.Add(time.Hour))
		sam := storetest.MustContact(t, st, f.two.ID, "Sam Other", "sam.other@example.com", "")
		theirs := storetest.MustOfflineCase(t, st, f.two.ID, sam.ID, "Theirs", "Not yours", at)
		b := f.browser(t)
		b.signIn("boss@example.com")
		got := map[int64]bool{}
		pages := []struct {
			page         int
			rows         int
			newer, older bool
		}{
			{1, 2, false, true},
			{2, 1, true, false},
			{3, 0, true, false},
		}
		for _, pg := range pages {
			t.Run(fmt.Sprint("Page", pg.page), func(t *testing.T) {
				p := b.get(fmt.Sprintf("/console/offline?page=%d", pg.page))
				p.want(t, http.StatusOK, fmt.Sprintf("Page %d", pg.page))
				rows := offlineRow.FindAllStringSubmatch(p.body, -1)
				if len(rows) != pg.rows {
					t.Errorf("%d rows, want %d", len(rows), pg.rows)
				}
				for _, r := range rows {
					id, _ := strconv.ParseInt(r[1], 10, 64)
					if got[id] {
						t.Errorf("case %d on two pages", id)
					}
					got[id] = true
				}
				if pg.rows == 0 {
					p.want(t, http.StatusOK, "No offline messages on this page.")
				}
				if has := strings.Contains(p.body, fmt.Sprintf(`href="/console/offline?page=%d" rel="prev"`, pg.page-1)); has != pg.newer {
					t.Errorf("link to the newer page: %v, want %v", has, pg.newer)
				}
				if has := strings.Contains(p.body, fmt.Sprintf(`href="/console/offline?page=%d" rel="next"`, pg.page+1)); has != pg.older {
					t.Errorf("link to the older page: %v, want %v", has, pg.older)
				}
			})
		}
		if !maps.Equal(got, want) {
			t.Errorf("the pages list %v, want %v (not another account's %d)", got, want, theirs.ID)
		}
		t.Run("OpenWithReplies", func(t *testing.T) {
			all := b.get("/console/offline?page=1").body + b.get("/console/offline?page=2").body
			row := regexp.MustCompile(fmt.Sprintf(`<a href="/console/cases/%d">[^<]*</a></td>\s*<td>[^<]*</td>\s*<td class="last">[^<]*</td>\s*<td>(\d+)</td>`, replied.ID)).
				FindStringSubmatch(all)
			if row == nil || row[1] != "1" {
				t.Errorf("the replied message's row counts %v replies, want 1", row)
			}
			b.get(fmt.Sprintf("/console/cases/%d", replied.ID)).want(t, http.StatusOK, "Message 2", "We called you back")
			b.get(fmt.Sprintf("/console/cases/%d", theirs.ID)).want(t, http.StatusNotFound)
		})
	})
}

// TestConsole_SignInSharesBasicThrottle: the console's sign-in is REVE's
// Basic auth check (auth.Basic), throttle included: failed sign-ins in one
// count against the other, so that a guesser gains nothing by switching.
func TestConsole_SignInSharesBasicThrottle(t *testing.T) {
	consoleFail := func(t *testing.T, f *fixture) {
		t.Helper()
		b := f.browser(t)
		b.get("/console/login")
		b.post("/console/login", url.Values{"email": {"nobody@example.com"}, "password": {"wrong password"}}).want(t, http.StatusUnauthorized)
	}
	reve := func(t *testing.T, f *fixture, pw string) int {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, f.srv.URL+"/api/offlinemessages", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.SetBasicAuth("boss@example.com", pw)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	consoleSignIn := func(t *testing.T, f *fixture) int {
		t.Helper()
		b := f.browser(t)
		b.get("/console/login")
		return b.post("/console/login", url.Values{"email": {"boss@example.com"}, "password": {password}}).status
	}
	tests := []struct {
		name string
		// fail fails one sign-in; then tries the right password the other
		// way and returns its status.
		fail func(*testing.T, *fixture)
		then func(*testing.T, *fixture) int
	}{
		{"ConsoleFailuresThrottleBasic", consoleFail, func(t *testing.T, f *fixture) int { return reve(t, f, password) }},
		{"BasicFailuresThrottleConsole", func(t *testing.T, f *fixture) {
			if code := reve(t, f, "wrong password"); code != http.StatusUnauthorized {
				t.Fatalf("a wrong Basic password: %d, want 401", code)
			}
		}, consoleSignIn},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mustFixture(t, storetest.MustOpen(t, store.SQLite), console.Config{})
			// The fixture's throttle allows three failures an address.
			for range 3 {
				tt.fail(t, f)
			}
			if code := tt.then(t, f); code != http.StatusTooManyRequests {
				t.Errorf("the right password after three failures the other way: %d, want 429", code)
			}
		})
	}
}

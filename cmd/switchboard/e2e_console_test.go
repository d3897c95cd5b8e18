package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"switchboard/cmd/switchboard/binarytest"
	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

// consoleE2EDir is the browser test's directory, from this package's.
const consoleE2EDir = "../../handlers/console/e2e"

// mustBrowser returns node and Chromium, and the browser test's directory
// with playwright-core installed; it skips the test when one is missing,
// unless SWITCHBOARD_TEST_REQUIRE_BROWSER is set, when it fails it.
func mustBrowser(t *testing.T) (node, chromium, dir string) {
	t.Helper()
	miss := func(what string) {
		t.Helper()
		msg := "browser test: " + what + " (install Debian's chromium and node, then `npm ci` in handlers/console/e2e)"
		if os.Getenv("SWITCHBOARD_TEST_REQUIRE_BROWSER") != "" {
			t.Fatal(msg + "; SWITCHBOARD_TEST_REQUIRE_BROWSER is set")
		}
		t.Skip(msg)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		miss("no node on PATH")
	}
	chromium = "/usr/bin/chromium"
	if _, err := os.Stat(chromium); err != nil {
		miss("no " + chromium)
	}
	dir, err = filepath.Abs(consoleE2EDir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "playwright-core")); err != nil {
		miss("playwright-core is not installed in " + dir)
	}
	return node, chromium, dir
}

// consoleResult is what the browser script prints.
type consoleResult struct {
	OK            bool
	Steps         []string
	ConsoleErrors []string
	Error         string
	Reply         string
	Email         string
	EmailReason   string
	SMS           string
	// LiveMs is how long the HelpCrunch message took to show in the open
	// inbox, in milliseconds.
	LiveMs int64
}

// mustRefusingMailbox is mustMailbox whose server refuses, with a
// permanent 550, the first recipient it is given and accepts every one
// after: the first delivery fails for good, its retry goes through.
// refused counts the refusals.
func mustRefusingMailbox(t *testing.T) (mb *mailbox, refused *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mb, refused = &mailbox{addr: ln.Addr().String()}, new(atomic.Int64)
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &refusingSession{mailSession: mailSession{mb: mb}, refused: refused}, nil
	}))
	srv.Domain = "mx.test"
	srv.ErrorLog = log.New(io.Discard, "", 0)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return mb, refused
}

type refusingSession struct {
	mailSession
	refused *atomic.Int64
}

func (s *refusingSession) Rcpt(to string, o *smtp.RcptOptions) error {
	if s.refused.CompareAndSwap(0, 1) {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user here"}
	}
	return s.mailSession.Rcpt(to, o)
}

// twilioInbox is an httptest Twilio-compatible endpoint (account AC123,
// token tok) that keeps the form of each message it is sent.
type twilioInbox struct {
	*httptest.Server
	mu    sync.Mutex
	forms []url.Values
}

func mustTwilioInbox(t *testing.T) *twilioInbox {
	t.Helper()
	p := &twilioInbox{}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if user, pass, ok := r.BasicAuth(); !ok || user != "AC123" || pass != "tok" || r.URL.Path != "/2010-04-01/Accounts/AC123/Messages.json" {
			http.Error(w, `{"code":20003,"message":"Authenticate","status":401}`, http.StatusUnauthorized)
			return
		}
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		p.mu.Lock()
		p.forms = append(p.forms, r.PostForm)
		n := len(p.forms)
		p.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"sid":"SM%04d","status":"queued"}`, n)
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *twilioInbox) sent() []url.Values {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]url.Values(nil), p.forms...)
}

// TestE2E_Console drives the console of the real binary in Chromium:
// sign in; the inbox counts the unread offline case, and opening it in
// another tab takes the open inbox's counts down without a reload; a
// message posted through HelpCrunch appears at the top of the open inbox
// and puts its unread count back up without a reload, and opening the
// case from the keyboard takes it down again; a reply by chat, which REVE then lists among
// the offline message's reply_messages; a private note; a forged CSRF token
// refused; a reply by email that the SMTP server refuses (550), shown
// failed with its reason, retried and received; a reply by SMS that the
// provider receives; the offline messages page; the admin page (an API key
// shown once and revoked, a webhook created, its failed deliveries, disabled);
// every page fitting a phone's screen; and an agent of another account who
// sees none of it. Every page runs with no error in the browser's console.
// With SWITCHBOARD_UPDATE_SCREENSHOTS set it saves the inbox and the case
// view to docs/console-*.png.
func TestE2E_Console(t *testing.T) {
	bin := mustBuild(t)
	node, chromium, dir := mustBrowser(t)
	for _, b := range storetest.Backends(t) {
		t.Run(string(b), func(t *testing.T) {
			dbURL := storetest.MustURL(t, b)
			mb, refused := mustRefusingMailbox(t)
			provider := mustTwilioInbox(t)
			t.Setenv("SWITCHBOARD_SMTP_URL", "smtp://"+mb.addr)
			t.Setenv("SWITCHBOARD_SMS_URL", provider.URL)
			t.Setenv("SWITCHBOARD_SMS_ACCOUNT_SID", "AC123")
			t.Setenv("SWITCHBOARD_SMS_AUTH_TOKEN", "tok")
			s := mustStart(t, bin, dbURL)
			email, password, token := binarytest.MustCredentials(t, s.stdout)

			// The other account and its superadmin, through the CLI.
			first, _, _ := strings.Cut(mustRunBinary(t, bin, dbURL, "account", "create", "--name", "Other"), "\n")
			other := strings.TrimSpace(first)
			if _, err := strconv.ParseInt(other, 10, 64); err != nil {
				t.Fatalf("account create printed %q", other)
			}
			mustRunBinary(t, bin, dbURL, "agent", "create", "--account", other, "--email", "rival@example.com",
				"--password", "rival-password", "--role", "superadmin")

			// An offline message in each account, as CallGear's upload would
			// leave it.
			st := storetest.MustOpenURL(t, dbURL)
			admin, err := st.AgentByEmail(t.Context(), email)
			if err != nil {
				t.Fatal(err)
			}
			at := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
			ct := storetest.MustContact(t, st, admin.AccountID, "Vera Visitor", "vera@example.com", "+14155550123")
			offline := storetest.MustOfflineCase(t, st, admin.AccountID, ct.ID, "Parcel", "Has my parcel shipped?", at)
			// An email case and an SMS case of the same contact, and the
			// account's addresses to answer them from.
			account := strconv.FormatInt(admin.AccountID, 10)
			c := cli{dbURL: dbURL}
			c.mustID(t, "inbox", "create", "--account", account, "--kind", "email", "--address", "help@acme.example")
			c.mustID(t, "inbox", "create", "--account", account, "--kind", "sms", "--address", "+14155550150")
			emailCase, err := st.CreateCase(t.Context(), admin.AccountID, store.NewCase{ContactID: ct.ID, Channel: models.ChannelEmail, Subject: "Invoice"})
			if err != nil {
				t.Fatal(err)
			}
			smsCase, err := st.CreateCase(t.Context(), admin.AccountID, store.NewCase{ContactID: ct.ID, Channel: models.ChannelSMS})
			if err != nil {
				t.Fatal(err)
			}
			otherID, _ := strconv.ParseInt(other, 10, 64)
			oc := storetest.MustContact(t, st, otherID, "Rita Rival", "rita@example.com", "")
			storetest.MustOfflineCase(t, st, otherID, oc.ID, "Hi", "Rival's question", at)

			shots := t.TempDir()
			if os.Getenv("SWITCHBOARD_UPDATE_SCREENSHOTS") != "" && b == store.SQLite {
				if shots, err = filepath.Abs("../../docs"); err != nil {
					t.Fatal(err)
				}
			}
			cmd := exec.Command(node, filepath.Join(dir, "console-e2e.js"))
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "BASE_URL=http://"+s.addr, "EMAIL="+email, "PASSWORD="+password, "TOKEN="+token,
				"CASE_ID="+strconv.FormatInt(offline.ID, 10), "EMAIL_CASE_ID="+strconv.FormatInt(emailCase.ID, 10),
				"SMS_CASE_ID="+strconv.FormatInt(smsCase.ID, 10), "CONTACT_NAME=Vera Visitor",
				"OTHER_EMAIL=rival@example.com", "OTHER_PASSWORD=rival-password", "CHROMIUM="+chromium, "SHOTS_DIR="+shots)
			var out, errOut bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errOut
			runErr := cmd.Run()
			var res consoleResult
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
				t.Fatalf("browser script: %v, printed %q\nstderr: %s", runErr, out.String(), errOut.String())
			}
			if !res.OK || runErr != nil {
				t.Fatalf("browser script failed after %d steps %q: %s\nconsole errors: %q\nstderr: %s\nserver log:\n%s",
					len(res.Steps), res.Steps, res.Error, res.ConsoleErrors, errOut.String(), s.logs.String())
			}
			if len(res.Steps) != 15 {
				t.Errorf("browser script ran steps %q, want 15", res.Steps)
			}
			t.Logf("the HelpCrunch message showed in the open inbox after %d ms", res.LiveMs)

			// The email reached the test SMTP server once, after one
			// refusal, and the SMS the test provider.
			if n := refused.Load(); n != 1 {
				t.Errorf("the SMTP server refused %d times, want once", n)
			}
			mails := mb.mails()
			if len(mails) != 1 || mails[0].from != "help@acme.example" || !slices.Equal(mails[0].to, []string{"vera@example.com"}) ||
				mails[0].msg.Header.Get("Subject") != "Re: Invoice" || !strings.Contains(mails[0].body, res.Email) {
				t.Errorf("the SMTP server received %d mails, want one from help@acme.example to vera@example.com, Re: Invoice, with %q: %+v",
					len(mails), res.Email, mails)
			}
			sms := provider.sent()
			if len(sms) != 1 || sms[0].Get("Body") != res.SMS || sms[0].Get("To") != "+14155550123" || sms[0].Get("From") != "+14155550150" {
				t.Errorf("the SMS provider received %v, want one %q from +14155550150 to +14155550123", sms, res.SMS)
			}

			// REVE lists the console's chat reply among the offline
			// message's reply_messages, by the signed-in agent.
			code, body := s.get(t, fmt.Sprint("/api/offlinemessages/", offline.ID), email, password)
			want := fmt.Sprintf(`"reply_message":%q`, res.Reply)
			if code != 200 || !strings.Contains(body, want) || !strings.Contains(body, fmt.Sprintf(`"agent_id":%d`, admin.ID)) {
				t.Errorf("REVE detail = %d %s; want the reply %s by agent %d", code, body, want, admin.ID)
			}
			for _, name := range []string{"console-inbox.png", "console-case.png"} {
				fi, err := os.Stat(filepath.Join(shots, name))
				if err != nil {
					t.Errorf("screenshot %s: %v", name, err)
				} else if fi.Size() == 0 || fi.Size() > 200_000 {
					t.Errorf("screenshot %s is %d bytes, want 1 to 200,000", name, fi.Size())
				}
			}
		})
	}
}

// TestE2E_ConsoleSessionExpiry runs the real binary with
// --console-session-ttl of three seconds: a sign-in opens the inbox, and once
// the session has expired (polled for, not slept on) the server itself
// refuses it, though the client keeps sending the cookie: a page goes back
// to the sign-in form, a form post and the live stream get 401.
func TestE2E_ConsoleSessionExpiry(t *testing.T) {
	bin := mustBuild(t)
	for _, b := range storetest.Backends(t) {
		t.Run(string(b), func(t *testing.T) {
			dbURL := storetest.MustURL(t, b)
			const ttl = 3 * time.Second
			t.Setenv("SWITCHBOARD_CONSOLE_SESSION_TTL", ttl.String())
			s := mustStart(t, bin, dbURL)
			email, password, _ := binarytest.MustCredentials(t, s.stdout)
			// No cookie jar: the test holds the cookies itself, so that the
			// expired one is still sent, as a client ignoring Max-Age would.
			client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			do := func(method, path string, form url.Values, cookie *http.Cookie) (*http.Response, string) {
				t.Helper()
				var body io.Reader
				if form != nil {
					body = strings.NewReader(form.Encode())
				}
				req, err := http.NewRequestWithContext(t.Context(), method, "http://"+s.addr+path, body)
				if err != nil {
					t.Fatal(err)
				}
				if form != nil {
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				}
				if cookie != nil {
					req.AddCookie(cookie)
				}
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp, string(b)
			}
			cookieOf := func(resp *http.Response, name string) *http.Cookie {
				t.Helper()
				for _, c := range resp.Cookies() {
					if c.Name == name && c.Value != "" {
						return &http.Cookie{Name: c.Name, Value: c.Value}
					}
				}
				t.Fatalf("%s %s set no %s cookie: %v", resp.Request.Method, resp.Request.URL.Path, name, resp.Header.Values("Set-Cookie"))
				return nil
			}
			hidden := regexp.MustCompile(`name="csrf" value="([^"]+)"`)
			token := func(page string) string {
				t.Helper()
				m := hidden.FindStringSubmatch(page)
				if m == nil {
					t.Fatalf("no CSRF token in the page:\n%s", page)
				}
				return m[1]
			}

			// Sign in, and open the inbox with the session. A machine so
			// loaded that the inbox comes after the session's end signs in
			// again; refused sooner, the session was cut short: a failure.
			var session *http.Cookie
			var page string
			for session == nil {
				resp, form := do(http.MethodGet, "/console/login", nil, nil)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("GET /console/login = %d", resp.StatusCode)
				}
				signedIn := time.Now()
				resp, _ = do(http.MethodPost, "/console/login", url.Values{"email": {email}, "password": {password}, "csrf": {token(form)}},
					cookieOf(resp, "sb_console_login"))
				if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console" {
					t.Fatalf("POST /console/login = %d to %q", resp.StatusCode, resp.Header.Get("Location"))
				}
				cookie := cookieOf(resp, "sb_console")
				resp, inbox := do(http.MethodGet, "/console", nil, cookie)
				switch {
				case resp.StatusCode == http.StatusOK:
					session, page = cookie, inbox
				case time.Since(signedIn) < ttl:
					t.Fatalf("GET /console signed in = %d", resp.StatusCode)
				}
			}
			csrf := token(page)
			var resp *http.Response

			waitFor(t, "the session to expire", func() bool {
				resp, _ := do(http.MethodGet, "/console", nil, session)
				return resp.StatusCode != http.StatusOK
			})
			resp, _ = do(http.MethodGet, "/console", nil, session)
			if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/console/login") {
				t.Errorf("GET /console expired = %d to %q, want 303 to the sign-in form", resp.StatusCode, resp.Header.Get("Location"))
			}
			resp, _ = do(http.MethodPost, "/console/cases/1/note", url.Values{"text": {"after expiry"}, "csrf": {csrf}}, session)
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("POST a note expired = %d, want 401", resp.StatusCode)
			}
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+s.addr+"/console/events", nil)
			req.Header.Set("Accept", "text/event-stream")
			req.AddCookie(session)
			stream, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			stream.Body.Close()
			if stream.StatusCode != http.StatusUnauthorized {
				t.Errorf("GET /console/events expired = %d, want 401", stream.StatusCode)
			}
		})
	}
}

// TestRun_ConsoleSessionTTLErrors: serve refuses a console session
// lifetime that is not positive, from the flag or the environment, and
// names it.
func TestRun_ConsoleSessionTTLErrors(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
	}{
		{name: "flag zero", args: []string{"serve", "--console-session-ttl", "0s"}},
		{name: "environment negative", env: map[string]string{"SWITCHBOARD_CONSOLE_SESSION_TTL": "-1h"}, args: []string{"serve"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := cli{env: tt.env}
			_, _, err := c.run(t, "", tt.args...)
			if err == nil || !strings.Contains(err.Error(), "--console-session-ttl") {
				t.Fatalf("err %v, want one naming --console-session-ttl", err)
			}
		})
	}
}

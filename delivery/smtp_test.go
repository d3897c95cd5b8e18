package delivery_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"switchboard/delivery"
	"switchboard/models"
	"switchboard/store"
)

// sampleEmail is an email with everything the sender writes: Cc, Bcc, a
// UTF-8 subject, a thread, both bodies and a text line longer than a MIME
// line.
func sampleEmail() store.Outgoing {
	return store.Outgoing{
		Delivery: models.Delivery{ID: 7, MessageID: 12, Kind: models.InboxEmail, Attempts: 1, Reference: "<sb.12.abc@acme.com>"},
		Message: models.Message{
			ID: 12, EmailFrom: "support@acme.com", EmailSubject: "Ré: votre commande — 注文 #42",
			Text:      "Bonjour Zoë,\nvotre commande est partie. " + strings.Repeat("Long line. ", 12) + "\n— Acme",
			HTMLBody:  "<p>Bonjour Zoë,</p><p>votre commande est partie.</p>",
			CreatedAt: time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC),
		},
		To:     []string{"zoe@example.com"},
		Cc:     []string{"boss@example.com", "team@example.com"},
		Bcc:    []string{"audit@acme.com"},
		Thread: []string{"<sb.10.x@acme.com>", "<sb.11.y@acme.com>"},
	}
}

// wantEmail is what a received email must show.
type wantEmail struct {
	From        string
	To, Cc, Bcc []string
	Subject     string
	MessageID   string
	Thread      []string
	Text, HTML  string
	Date        time.Time
}

func wantOf(o store.Outgoing) wantEmail {
	return wantEmail{
		From: o.Message.EmailFrom, To: o.To, Cc: o.Cc, Bcc: o.Bcc, Subject: o.Message.EmailSubject,
		MessageID: o.Delivery.Reference, Thread: o.Thread, Text: o.Message.Text, HTML: o.Message.HTMLBody, Date: o.Message.CreatedAt,
	}
}

// checkEmail checks a received email's envelope, headers and MIME parts.
func checkEmail(tb testing.TB, got receivedMail, want wantEmail) {
	tb.Helper()
	if got.From != want.From {
		tb.Errorf("MAIL FROM %q, want %q", got.From, want.From)
	}
	rcpts := slices.Concat(want.To, want.Cc, want.Bcc)
	if !sameSet(got.To, rcpts) {
		tb.Errorf("RCPT TO %v, want %v", got.To, rcpts)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(got.Data))
	if err != nil {
		tb.Fatalf("parse message: %v", err)
	}
	h := msg.Header
	for _, a := range []struct {
		name string
		want []string
	}{{"From", []string{want.From}}, {"To", want.To}, {"Cc", want.Cc}} {
		list, err := h.AddressList(a.name)
		if err != nil && len(a.want) > 0 {
			tb.Errorf("%s header %q: %v", a.name, h.Get(a.name), err)
			continue
		}
		var addrs []string
		for _, l := range list {
			addrs = append(addrs, l.Address)
		}
		if !slices.Equal(addrs, a.want) {
			tb.Errorf("%s header %v, want %v", a.name, addrs, a.want)
		}
	}
	if v, ok := h["Bcc"]; ok {
		tb.Errorf("Bcc header %q present: Bcc belongs in the envelope only", v)
	}
	if bytes.Contains(got.Data, []byte("audit@")) && slices.Contains(want.Bcc, "audit@acme.com") {
		tb.Errorf("the Bcc address appears in the message text")
	}
	rawSubject := h.Get("Subject")
	subject, err := new(mime.WordDecoder).DecodeHeader(rawSubject)
	if err != nil || subject != want.Subject {
		tb.Errorf("Subject %q decodes to %q (%v), want %q", rawSubject, subject, err, want.Subject)
	}
	if !isASCII(rawSubject) {
		tb.Errorf("Subject %q is not MIME-encoded", rawSubject)
	}
	if got := h.Get("Message-ID"); got != want.MessageID {
		tb.Errorf("Message-ID %q, want %q", got, want.MessageID)
	}
	wantReply, wantRefs := "", ""
	if len(want.Thread) > 0 {
		wantReply, wantRefs = want.Thread[len(want.Thread)-1], strings.Join(want.Thread, " ")
	}
	if got := h.Get("In-Reply-To"); got != wantReply {
		tb.Errorf("In-Reply-To %q, want %q", got, wantReply)
	}
	if got := strings.Join(strings.Fields(h.Get("References")), " "); got != wantRefs {
		tb.Errorf("References %q, want %q", got, wantRefs)
	}
	if date, err := h.Date(); err != nil || !date.Equal(want.Date.Truncate(time.Second)) {
		tb.Errorf("Date %q (%v), want %v", h.Get("Date"), err, want.Date)
	}
	parts := mimeParts(tb, h, msg.Body)
	var wantParts [][2]string
	if want.Text != "" {
		wantParts = append(wantParts, [2]string{"text/plain", want.Text})
	}
	if want.HTML != "" {
		wantParts = append(wantParts, [2]string{"text/html", want.HTML})
	}
	if len(parts) != len(wantParts) {
		tb.Fatalf("%d MIME parts %v, want %d", len(parts), parts, len(wantParts))
	}
	for i, p := range parts {
		if p[0] != wantParts[i][0] || p[1] != wantParts[i][1] {
			tb.Errorf("part %d: %s %q, want %s %q", i, p[0], p[1], wantParts[i][0], wantParts[i][1])
		}
	}
}

// mimeParts returns the message's text parts as (media type, decoded body
// with LF line ends), checking that two parts are a multipart/alternative
// and that every part is UTF-8.
func mimeParts(tb testing.TB, h mail.Header, body io.Reader) [][2]string {
	tb.Helper()
	mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		tb.Fatalf("Content-Type %q: %v", h.Get("Content-Type"), err)
	}
	if !strings.HasPrefix(mt, "multipart/") {
		b, _ := io.ReadAll(body)
		if !strings.EqualFold(params["charset"], "utf-8") {
			tb.Errorf("Content-Type %q has no UTF-8 charset", h.Get("Content-Type"))
		}
		// The line end that closes the message belongs to the transport,
		// not to the text.
		text := strings.TrimSuffix(crlf(decodeBody(tb, h.Get("Content-Transfer-Encoding"), b)), "\n")
		return [][2]string{{mt, text}}
	}
	if mt != "multipart/alternative" {
		tb.Errorf("Content-Type %s, want multipart/alternative", mt)
	}
	var parts [][2]string
	r := multipart.NewReader(body, params["boundary"])
	for {
		p, err := r.NextPart() // decodes quoted-printable by itself
		if err == io.EOF {
			return parts
		}
		if err != nil {
			tb.Fatalf("MIME part: %v", err)
		}
		pmt, pparams, err := mime.ParseMediaType(p.Header.Get("Content-Type"))
		if err != nil {
			tb.Fatalf("part Content-Type %q: %v", p.Header.Get("Content-Type"), err)
		}
		if !strings.EqualFold(pparams["charset"], "utf-8") {
			tb.Errorf("part Content-Type %q has no UTF-8 charset", p.Header.Get("Content-Type"))
		}
		b, err := io.ReadAll(p)
		if err != nil {
			tb.Fatalf("part body: %v", err)
		}
		parts = append(parts, [2]string{pmt, crlf(decodeBody(tb, p.Header.Get("Content-Transfer-Encoding"), b))})
	}
}

func crlf(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// mustSMTP returns a sender for the URL.
func mustSMTP(tb testing.TB, rawURL string, clientTLS *tls.Config) *delivery.SMTP {
	tb.Helper()
	s, err := delivery.NewSMTP(rawURL, delivery.SMTPOptions{TLSConfig: clientTLS, Timeout: 10 * time.Second})
	if err != nil {
		tb.Fatalf("NewSMTP: %v", err)
	}
	return s
}

func TestSMTP_Send(t *testing.T) {
	serverTLS, clientTLS := mustTLS(t)
	htmlOnly := sampleEmail()
	htmlOnly.Message.Text, htmlOnly.Cc, htmlOnly.Bcc, htmlOnly.Thread = "", nil, nil, nil
	textOnly := sampleEmail()
	textOnly.Message.HTMLBody, textOnly.Message.EmailSubject = "", "Plain ASCII subject"
	tests := []struct {
		name    string
		server  smtpServerOptions
		url     string // {addr} is replaced by the server's address
		email   store.Outgoing
		wantTLS bool
		user    string
	}{
		{"STARTTLS and AUTH PLAIN", smtpServerOptions{StartTLS: true, User: "agent", Pass: "s3cret/:@"},
			"smtp://agent:s3cret%2F%3A%40@{addr}", sampleEmail(), true, "agent"},
		{"implicit TLS (smtps)", smtpServerOptions{Implicit: true, User: "agent", Pass: "pw"},
			"smtps://agent:pw@{addr}", sampleEmail(), true, "agent"},
		{"STARTTLS and AUTH PLAIN to a host that is not localhost", smtpServerOptions{Host: "127.0.0.2", StartTLS: true, User: "agent", Pass: "pw"},
			"smtp://agent:pw@{addr}", sampleEmail(), true, "agent"},
		{"implicit TLS and AUTH PLAIN to a host that is not localhost", smtpServerOptions{Host: "127.0.0.2", Implicit: true, User: "agent", Pass: "pw"},
			"smtps://agent:pw@{addr}", sampleEmail(), true, "agent"},
		{"no STARTTLS offered: clear text, AUTH to localhost only", smtpServerOptions{User: "agent", Pass: "pw"},
			"smtp://agent:pw@{addr}", sampleEmail(), false, "agent"},
		{"no authentication", smtpServerOptions{StartTLS: true}, "smtp://{addr}", sampleEmail(), true, ""},
		{"HTML only is one text/html part", smtpServerOptions{StartTLS: true}, "smtp://{addr}", htmlOnly, true, ""},
		{"text only is one text/plain part", smtpServerOptions{StartTLS: true}, "smtp://{addr}", textOnly, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.server.tlsConf = serverTLS
			srv := mustSMTPServer(t, tt.server)
			s := mustSMTP(t, strings.ReplaceAll(tt.url, "{addr}", srv.Addr), clientTLS)
			ref, err := s.Send(t.Context(), tt.email)
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			if ref == "" {
				t.Errorf("no provider reference (the server's answer)")
			}
			got := srv.Accepted()
			if len(got) != 1 {
				t.Fatalf("server accepted %d messages, want 1", len(got))
			}
			if got[0].TLS != tt.wantTLS || got[0].User != tt.user {
				t.Errorf("TLS %v user %q, want TLS %v user %q", got[0].TLS, got[0].User, tt.wantTLS, tt.user)
			}
			checkEmail(t, got[0], wantOf(tt.email))
		})
	}
}

func TestSMTP_Send_errors(t *testing.T) {
	serverTLS, clientTLS := mustTLS(t)
	refuse := func(stage string, code int, msg string) smtpHook {
		return func(s string, _ int, _ *receivedMail, _ string) error {
			if s == stage {
				return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{code / 100, 0, 0}, Message: msg}
			}
			return nil
		}
	}
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	closed.Close()

	tests := []struct {
		name      string
		server    *smtpServerOptions // nil: no server, url is used as is
		url       string
		email     func(o *store.Outgoing)
		permanent bool
		contains  string
	}{
		{"550 to RCPT is permanent", &smtpServerOptions{StartTLS: true, Hook: refuse("rcpt", 550, "No such user here")},
			"smtp://{addr}", nil, true, "No such user here"},
		{"554 to DATA is permanent", &smtpServerOptions{StartTLS: true, Hook: refuse("data", 554, "Message rejected as spam")},
			"smtp://{addr}", nil, true, "Message rejected as spam"},
		{"553 to MAIL FROM is permanent", &smtpServerOptions{StartTLS: true, Hook: refuse("mail", 553, "Sender not allowed")},
			"smtp://{addr}", nil, true, "Sender not allowed"},
		{"451 to MAIL FROM is temporary", &smtpServerOptions{StartTLS: true, Hook: refuse("mail", 451, "Try again later")},
			"smtp://{addr}", nil, false, "Try again later"},
		{"452 to RCPT is temporary", &smtpServerOptions{StartTLS: true, Hook: refuse("rcpt", 452, "Mailbox full")},
			"smtp://{addr}", nil, false, "Mailbox full"},
		{"421 to DATA is temporary", &smtpServerOptions{StartTLS: true, Hook: refuse("data", 421, "Shutting down")},
			"smtp://{addr}", nil, false, "Shutting down"},
		{"a wrong password is temporary (the relay's configuration, not the message)",
			&smtpServerOptions{StartTLS: true, User: "agent", Pass: "right"}, "smtp://agent:wrong@{addr}", nil, false, "535"},
		{"AUTH PLAIN in clear text to another host is refused", &smtpServerOptions{Host: "127.0.0.2", User: "agent", Pass: "pw"},
			"smtp://agent:pw@{addr}", nil, false, "unencrypted"},
		{"connection refused is temporary", nil, "smtp://" + closedAddr, nil, false, "refused"},
		{"TLS to an untrusted certificate is temporary", &smtpServerOptions{Implicit: true}, "smtps://{addr}#untrusted", nil, false, "certificate"},
		{"no valid Message-ID is permanent", &smtpServerOptions{StartTLS: true}, "smtp://{addr}",
			func(o *store.Outgoing) { o.Delivery.Reference = "sb.12.abc@acme.com" }, true, "Message-ID"},
		{"a bad address is permanent", &smtpServerOptions{StartTLS: true}, "smtp://{addr}",
			func(o *store.Outgoing) { o.To = []string{"not an address"} }, true, "to"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rawURL, ctls := tt.url, clientTLS
			if strings.HasSuffix(rawURL, "#untrusted") {
				rawURL, ctls = strings.TrimSuffix(rawURL, "#untrusted"), nil
			}
			var srv *smtpServer
			if tt.server != nil {
				tt.server.tlsConf = serverTLS
				srv = mustSMTPServer(t, *tt.server)
				rawURL = strings.ReplaceAll(rawURL, "{addr}", srv.Addr)
			}
			o := sampleEmail()
			if tt.email != nil {
				tt.email(&o)
			}
			_, err := mustSMTP(t, rawURL, ctls).Send(t.Context(), o)
			if err == nil {
				t.Fatal("Send succeeded, want an error")
			}
			if got := errors.Is(err, delivery.ErrPermanent); got != tt.permanent {
				t.Errorf("permanent %v, want %v: %v", got, tt.permanent, err)
			}
			if !strings.Contains(err.Error(), tt.contains) {
				t.Errorf("error %q does not say %q", err, tt.contains)
			}
			if srv != nil && len(srv.Accepted()) != 0 {
				t.Errorf("the server accepted the message")
			}
		})
	}
}

// A send that the server holds gives up when its context is done.
func TestSMTP_Send_cancel(t *testing.T) {
	serverTLS, clientTLS := mustTLS(t)
	held, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	srv := mustSMTPServer(t, smtpServerOptions{StartTLS: true, tlsConf: serverTLS, Hook: func(stage string, _ int, _ *receivedMail, _ string) error {
		if stage == "data" {
			close(held)
			<-release
		}
		return nil
	}})
	s := mustSMTP(t, "smtp://"+srv.Addr, clientTLS)
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		<-held
		cancel()
	}()
	_, err := s.Send(ctx, sampleEmail())
	if err == nil || errors.Is(err, delivery.ErrPermanent) {
		t.Fatalf("Send = %v, want a temporary error", err)
	}
}

func TestNewSMTP(t *testing.T) {
	tests := []struct {
		name, url string
		ok        bool
	}{
		{"smtp with port", "smtp://user:pass@mail.example.com:2525", true},
		{"smtp default port", "smtp://mail.example.com", true},
		{"smtps", "smtps://user:pass@mail.example.com", true},
		{"other scheme", "http://user:topsecret@mail.example.com", false},
		{"no host", "smtp://user:topsecret@:25", false},
		{"bad port", "smtp://user:topsecret@mail.example.com:99999", false},
		{"query", "smtp://user:topsecret@mail.example.com?tls=off", false},
		{"not a URL", "smtp://user:topsecret@mail example.com", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := delivery.NewSMTP(tt.url, delivery.SMTPOptions{})
			if (err == nil) != tt.ok {
				t.Fatalf("NewSMTP(%q) = %v, want ok %v", tt.url, err, tt.ok)
			}
			if err != nil && strings.Contains(err.Error(), "topsecret") {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
}

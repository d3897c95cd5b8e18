package inbound_test

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/smtp"
	"net/textproto"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"switchboard/inbound"
	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

// TestMain gives the package's tests one PostgreSQL schema and one SQLite
// template, emptied or copied per test.
func TestMain(m *testing.M) { storetest.Main(m) }

// MustSMTPServer serves an SMTP receiver over st on 127.0.0.1 and returns
// its address; it is shut down when the test ends.
func MustSMTPServer(tb testing.TB, st inbound.MailStore, cfg inbound.SMTPConfig) (string, *inbound.SMTPServer) {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	cfg.Domain = "mx.test"
	cfg.TempDir = tb.TempDir()
	srv := inbound.NewSMTPServer(st, cfg)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			tb.Errorf("shutdown: %v", err)
		}
		if err := <-served; err != nil {
			tb.Errorf("serve: %v", err)
		}
	})
	return ln.Addr().String(), srv
}

// MustInbox creates an email inbox of the account at the address.
func MustInbox(tb testing.TB, s *store.Store, accountID int64, address string) models.Inbox {
	tb.Helper()
	in, err := s.CreateInbox(context.Background(), accountID, models.InboxEmail, address)
	if err != nil {
		tb.Fatalf("create inbox %s: %v", address, err)
	}
	return in
}

// MustMessages returns every message of the account's cases.
func MustMessages(tb testing.TB, s *store.Store, accountID int64) []store.MessageView {
	tb.Helper()
	ctx := context.Background()
	cases, _, err := s.ListCases(ctx, accountID, store.CaseQuery{Limit: 100})
	if err != nil {
		tb.Fatal(err)
	}
	var out []store.MessageView
	for _, c := range cases {
		msgs, _, err := s.ListMessages(ctx, accountID, c.ID, store.MessageQuery{Limit: 100, Oldest: true})
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, msgs...)
	}
	return out
}

// MustDial returns a net/smtp client of the server at addr, greeted.
func MustDial(tb testing.TB, addr string) *smtp.Client {
	tb.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	if err := c.Hello("client.test"); err != nil {
		tb.Fatal(err)
	}
	return c
}

// codeOf returns the SMTP code of a client's error, 250 for none.
func codeOf(err error) int {
	var te *textproto.Error
	switch {
	case err == nil:
		return 250
	case errors.As(err, &te):
		return te.Code
	}
	return -1
}

// mail returns a message from a customer with the Message-ID and body.
func mail(messageID, body string) string {
	return "From: Customer <customer@example.com>\r\nTo: support@example.com\r\nSubject: Help\r\n" +
		"Message-ID: " + messageID + "\r\nDate: Sat, 05 Dec 2026 10:00:00 +0000\r\n\r\n" + body + "\r\n"
}

// transaction is one message sent: the answers to its RCPTs and to its
// DATA (0 when DATA was not sent for want of a recipient).
type transaction struct {
	rcpt []int
	data int
}

// send sends msg to the recipients on c and returns the answers.
func send(tb testing.TB, c *smtp.Client, rcpts []string, msg string) transaction {
	tb.Helper()
	tr, err := trySend(c, rcpts, msg)
	if err != nil {
		tb.Fatal(err)
	}
	return tr
}

// trySend is send returning the error of a step that should not fail.
func trySend(c *smtp.Client, rcpts []string, msg string) (transaction, error) {
	var tr transaction
	if err := c.Mail("customer@example.com"); err != nil {
		return tr, fmt.Errorf("MAIL: %w", err)
	}
	accepted := false
	for _, r := range rcpts {
		code := codeOf(c.Rcpt(r))
		tr.rcpt = append(tr.rcpt, code)
		accepted = accepted || code == 250
	}
	if !accepted {
		if err := c.Reset(); err != nil {
			return tr, fmt.Errorf("RSET: %w", err)
		}
		return tr, nil
	}
	w, err := c.Data()
	if err != nil {
		return tr, fmt.Errorf("DATA: %w", err)
	}
	if _, err := w.Write([]byte(msg)); err != nil {
		return tr, fmt.Errorf("DATA: %w", err)
	}
	tr.data = codeOf(w.Close())
	return tr, nil
}

func TestSMTPServer_Data(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		tests := []struct {
			name string
			cfg  inbound.SMTPConfig
			// rcpts may name {inbox} and {other}, two inboxes of the account.
			rcpts []string
			msg   string
			want  transaction
			// wantStored is the number of messages the account then has.
			wantStored int
		}{
			{name: "delivered", rcpts: []string{"{inbox}"}, msg: mail("<a1@example.com>", "Hello"),
				want: transaction{rcpt: []int{250}, data: 250}, wantStored: 1},
			{name: "recipient in capitals", rcpts: []string{"{INBOX}"}, msg: mail("<a2@example.com>", "Hello"),
				want: transaction{rcpt: []int{250}, data: 250}, wantStored: 1},
			{name: "unknown recipient", rcpts: []string{"nobody@inbound.test"},
				want: transaction{rcpt: []int{550}}},
			{name: "unknown domain: never a relay", rcpts: []string{"someone@elsewhere.example"},
				want: transaction{rcpt: []int{550}}},
			{name: "mixed recipients", rcpts: []string{"nobody@inbound.test", "{inbox}"}, msg: mail("<a3@example.com>", "Hi"),
				want: transaction{rcpt: []int{550, 250}, data: 250}, wantStored: 1},
			{name: "two inboxes of one account: once", rcpts: []string{"{inbox}", "{other}"}, msg: mail("<a4@example.com>", "Hi"),
				want: transaction{rcpt: []int{250, 250}, data: 250}, wantStored: 1},
			{name: "over the size", cfg: inbound.SMTPConfig{MaxMessageBytes: 2048}, rcpts: []string{"{inbox}"},
				msg: mail("<a5@example.com>", strings.Repeat("0123456789abcdef\r\n", 200)), want: transaction{rcpt: []int{250}, data: 552}},
			{name: "too many recipients", cfg: inbound.SMTPConfig{MaxRecipients: 2}, rcpts: []string{"{inbox}", "{other}", "{inbox}"},
				msg: mail("<a6@example.com>", "Hi"), want: transaction{rcpt: []int{250, 250, 452}, data: 250}, wantStored: 1},
			{name: "malformed: no From", rcpts: []string{"{inbox}"}, msg: "Subject: x\r\nMessage-ID: <a7@example.com>\r\n\r\nHi\r\n",
				want: transaction{rcpt: []int{250}, data: 554}},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				acc := storetest.MustAccount(t, s, storetest.Name("acc"))
				inbox := MustInbox(t, s, acc.ID, fmt.Sprintf("support%d@inbound.test", i))
				other := MustInbox(t, s, acc.ID, fmt.Sprintf("sales%d@inbound.test", i))
				addr, _ := MustSMTPServer(t, s, tt.cfg)
				var rcpts []string
				for _, r := range tt.rcpts {
					r = strings.ReplaceAll(r, "{INBOX}", strings.ToUpper(inbox.Address))
					r = strings.ReplaceAll(r, "{inbox}", inbox.Address)
					rcpts = append(rcpts, strings.ReplaceAll(r, "{other}", other.Address))
				}
				got := send(t, MustDial(t, addr), rcpts, tt.msg)
				if fmt.Sprint(got) != fmt.Sprint(tt.want) {
					t.Errorf("answers = %v, want %v", got, tt.want)
				}
				msgs := MustMessages(t, s, acc.ID)
				if len(msgs) != tt.wantStored {
					t.Fatalf("%d messages stored, want %d", len(msgs), tt.wantStored)
				}
				for _, m := range msgs {
					if m.Sender != models.SenderContact || m.EmailFrom != "customer@example.com" || !strings.Contains(m.Text, "H") {
						t.Errorf("stored %+v, want the customer's message", m.Message)
					}
				}
			})
		}
	})
}

func TestSMTPServer_SharedAddress(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		a := storetest.MustAccount(t, s, storetest.Name("a"))
		b := storetest.MustAccount(t, s, storetest.Name("b"))
		MustInbox(t, s, a.ID, "shared@inbound.test")
		MustInbox(t, s, b.ID, "shared@inbound.test")
		addr, _ := MustSMTPServer(t, s, inbound.SMTPConfig{})
		got := send(t, MustDial(t, addr), []string{"shared@inbound.test"}, mail("<shared@example.com>", "Hello"))
		if got.data != 250 {
			t.Fatalf("answers = %v, want 250", got)
		}
		for _, acc := range []models.Account{a, b} {
			if n := len(MustMessages(t, s, acc.ID)); n != 1 {
				t.Errorf("account %d: %d messages, want 1", acc.ID, n)
			}
		}
	})
}

func TestSMTPServer_Duplicate(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		acc := storetest.MustAccount(t, s, storetest.Name("acc"))
		MustInbox(t, s, acc.ID, "support@inbound.test")
		addr, _ := MustSMTPServer(t, s, inbound.SMTPConfig{})
		c := MustDial(t, addr)
		for i := range 2 {
			if got := send(t, c, []string{"support@inbound.test"}, mail("<same@example.com>", "Hello")); got.data != 250 {
				t.Fatalf("send %d: answers = %v, want 250", i+1, got)
			}
		}
		if n := len(MustMessages(t, s, acc.ID)); n != 1 {
			t.Errorf("%d messages, want 1", n)
		}
	})
}

// flakyStore is a MailStore whose calls fail with ErrUnavailable while told
// to, as when the database is down.
type flakyStore struct {
	inbound.MailStore
	failLookup, failReceive atomic.Bool
}

func (f *flakyStore) EmailInboxes(ctx context.Context, address string) ([]models.Inbox, error) {
	if f.failLookup.Load() {
		return nil, fmt.Errorf("email inboxes: %w", store.ErrUnavailable)
	}
	return f.MailStore.EmailInboxes(ctx, address)
}

func (f *flakyStore) ReceiveEmail(ctx context.Context, inboxID int64, in store.InboundEmail) (store.InboundResult, error) {
	if f.failReceive.Load() {
		return store.InboundResult{}, fmt.Errorf("receive email: %w", store.ErrUnavailable)
	}
	return f.MailStore.ReceiveEmail(ctx, inboxID, in)
}

func TestSMTPServer_StoreFailure(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		tests := []struct {
			name                    string
			failLookup, failReceive bool
			want                    transaction
		}{
			{name: "at RCPT", failLookup: true, want: transaction{rcpt: []int{451}}},
			{name: "at DATA", failReceive: true, want: transaction{rcpt: []int{250}, data: 451}},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				acc := storetest.MustAccount(t, s, storetest.Name("acc"))
				inbox := MustInbox(t, s, acc.ID, fmt.Sprintf("support%d@inbound.test", i))
				flaky := &flakyStore{MailStore: s}
				flaky.failLookup.Store(tt.failLookup)
				flaky.failReceive.Store(tt.failReceive)
				addr, _ := MustSMTPServer(t, flaky, inbound.SMTPConfig{})
				c := MustDial(t, addr)
				msg := mail(fmt.Sprintf("<retry%d@example.com>", i), "Hello")
				if got := send(t, c, []string{inbox.Address}, msg); fmt.Sprint(got) != fmt.Sprint(tt.want) {
					t.Fatalf("while failing: answers = %v, want %v", got, tt.want)
				}
				if n := len(MustMessages(t, s, acc.ID)); n != 0 {
					t.Fatalf("while failing: %d messages, want 0", n)
				}
				flaky.failLookup.Store(false)
				flaky.failReceive.Store(false)
				for range 2 { // the retry, and a sender that retries once more
					if got := send(t, c, []string{inbox.Address}, msg); got.data != 250 {
						t.Fatalf("after recovery: answers = %v, want 250", got)
					}
				}
				if n := len(MustMessages(t, s, acc.ID)); n != 1 {
					t.Errorf("after recovery: %d messages, want 1", n)
				}
			})
		}
	})
}

// MustSelfSigned returns a server certificate for 127.0.0.1 and the pool
// that trusts it.
func MustSelfSigned(tb testing.TB) (tls.Certificate, *x509.CertPool) {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mx.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"mx.test"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}, pool
}

func TestSMTPServer_STARTTLS(t *testing.T) {
	cert, pool := MustSelfSigned(t)
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		tests := []struct {
			name string
			tls  *tls.Config
		}{
			{name: "without TLS"},
			{name: "with TLS", tls: &tls.Config{Certificates: []tls.Certificate{cert}}},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				acc := storetest.MustAccount(t, s, storetest.Name("acc"))
				inbox := MustInbox(t, s, acc.ID, fmt.Sprintf("support%d@inbound.test", i))
				addr, _ := MustSMTPServer(t, s, inbound.SMTPConfig{TLS: tt.tls})
				c := MustDial(t, addr)
				if ok, _ := c.Extension("STARTTLS"); ok != (tt.tls != nil) {
					t.Fatalf("STARTTLS offered = %v, want %v", ok, tt.tls != nil)
				}
				if tt.tls != nil {
					if err := c.StartTLS(&tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}); err != nil {
						t.Fatalf("STARTTLS: %v", err)
					}
					if _, ok := c.TLSConnectionState(); !ok {
						t.Fatal("no TLS after STARTTLS")
					}
				}
				if ok, _ := c.Extension("AUTH"); ok {
					t.Error("AUTH offered: an MX takes mail without it")
				}
				if got := send(t, c, []string{inbox.Address}, mail(fmt.Sprintf("<tls%d@example.com>", i), "Hello")); got.data != 250 {
					t.Errorf("answers = %v, want 250", got)
				}
			})
		}
	})
}

func TestSMTPServer_ConnectionLimit(t *testing.T) {
	addr, _ := MustSMTPServer(t, &flakyStore{}, inbound.SMTPConfig{MaxConns: 2})
	readLine := func(c net.Conn) string {
		t.Helper()
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		return strings.TrimSpace(line)
	}
	var conns []net.Conn
	for range 3 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		conns = append(conns, c)
		if len(conns) <= 2 {
			// The greeting says the server counts the connection.
			if got := readLine(c); !strings.HasPrefix(got, "220 ") {
				t.Fatalf("connection %d: %q, want the greeting", len(conns), got)
			}
		}
	}
	if got := readLine(conns[2]); got != "421 4.7.0 too many connections" {
		t.Errorf("connection over the limit: %q, want 421 4.7.0", got)
	}
}

// gatedStore is a MailStore whose ReceiveEmail tells entered and then waits
// for release.
type gatedStore struct {
	inbound.MailStore
	entered, release chan struct{}
}

func (g *gatedStore) ReceiveEmail(ctx context.Context, inboxID int64, in store.InboundEmail) (store.InboundResult, error) {
	close(g.entered)
	<-g.release
	return g.MailStore.ReceiveEmail(ctx, inboxID, in)
}

func TestSMTPServer_Shutdown(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		acc := storetest.MustAccount(t, s, storetest.Name("acc"))
		MustInbox(t, s, acc.ID, "support@inbound.test")
		gated := &gatedStore{MailStore: s, entered: make(chan struct{}), release: make(chan struct{})}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := inbound.NewSMTPServer(gated, inbound.SMTPConfig{TempDir: t.TempDir()})
		served := make(chan error, 1)
		go func() { served <- srv.Serve(ln) }()

		idle := MustDial(t, ln.Addr().String())
		busy := MustDial(t, ln.Addr().String())
		answered := make(chan transaction, 1)
		go func() {
			tr, err := trySend(busy, []string{"support@inbound.test"}, mail("<inflight@example.com>", "Hello"))
			if err != nil {
				t.Error(err)
			}
			answered <- tr
		}()
		<-gated.entered
		stopped := make(chan error, 1)
		go func() { stopped <- srv.Shutdown(context.Background()) }()
		close(gated.release)
		if got := <-answered; got.data != 250 {
			t.Errorf("message in flight: answers = %v, want 250", got)
		}
		if err := <-stopped; err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
		if err := idle.Noop(); err == nil {
			t.Error("idle connection still answers after shutdown")
		}
		if n := len(MustMessages(t, s, acc.ID)); n != 1 {
			t.Errorf("%d messages, want 1", n)
		}
	})
}

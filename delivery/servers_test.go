package delivery_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"log/slog"
	"math/big"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// waitLimit is how long a test waits for something that should happen in
// milliseconds before it gives up: a guard against a hung test, never a
// timing assertion.
const waitLimit = 30 * time.Second

// mustTLS returns a server config with a fresh self-signed certificate for
// localhost, 127.0.0.1 and 127.0.0.2, and a client config that trusts it.
func mustTLS(tb testing.TB) (server, client *tls.Config) {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "switchboard test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("127.0.0.2")},
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
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}}},
		&tls.Config{RootCAs: pool}
}

// receivedMail is one message the test SMTP server accepted or refused.
type receivedMail struct {
	From      string
	To        []string
	User      string
	TLS       bool
	Data      []byte
	Header    mail.Header
	MessageID string
}

// smtpHook lets a test refuse or hold a command: stage is "mail", "rcpt" or
// "data" (after the data was read, so m is complete); a non-nil error is the
// server's answer. n counts the server's MAIL commands from 1.
type smtpHook func(stage string, n int, m *receivedMail, arg string) error

type smtpServerOptions struct {
	// StartTLS offers STARTTLS with tlsConf; Implicit serves TLS from the
	// first byte instead.
	StartTLS, Implicit bool
	tlsConf            *tls.Config
	// User and Pass, when set, are required (AUTH PLAIN) before MAIL.
	User, Pass string
	// Host is the address to listen on (default 127.0.0.1).
	Host string
	Hook smtpHook
}

// smtpServer is an in-process SMTP server (emersion/go-smtp) that records
// the messages it accepts.
type smtpServer struct {
	Addr string
	Host string
	Port string
	opts smtpServerOptions

	mu       sync.Mutex
	mails    int
	accepted []receivedMail
	byID     map[string]int
	arrived  chan struct{}
}

// mustSMTPServer starts a server, closed when the test ends.
func mustSMTPServer(tb testing.TB, opts smtpServerOptions) *smtpServer {
	tb.Helper()
	if opts.Host == "" {
		opts.Host = "127.0.0.1"
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(opts.Host, "0"))
	if err != nil {
		tb.Fatal(err)
	}
	ts := &smtpServer{Addr: ln.Addr().String(), opts: opts, byID: map[string]int{}, arrived: make(chan struct{}, 1)}
	ts.Host, ts.Port, _ = net.SplitHostPort(ts.Addr)
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		_, isTLS := c.TLSConnectionState()
		return &smtpSession{srv: ts, conn: c, tls: isTLS}, nil
	}))
	srv.Domain = "mx.test"
	srv.AllowInsecureAuth = true // the client decides, which is what the tests check
	srv.ErrorLog = log.New(io.Discard, "", 0)
	srv.ReadTimeout, srv.WriteTimeout = waitLimit, waitLimit
	if opts.StartTLS {
		srv.TLSConfig = opts.tlsConf
	}
	if opts.Implicit {
		ln = tls.NewListener(ln, opts.tlsConf)
	}
	go srv.Serve(ln) //nolint:errcheck // ends with Close
	tb.Cleanup(func() { srv.Close() })
	return ts
}

// Accepted returns the messages accepted so far.
func (ts *smtpServer) Accepted() []receivedMail {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]receivedMail(nil), ts.accepted...)
}

// Count returns how often the message with the Message-ID was accepted.
func (ts *smtpServer) Count(messageID string) int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.byID[messageID]
}

// WaitDistinct waits until n distinct Message-IDs have been accepted.
func (ts *smtpServer) WaitDistinct(tb testing.TB, n int) {
	tb.Helper()
	deadline := time.After(waitLimit)
	for {
		ts.mu.Lock()
		got := len(ts.byID)
		ts.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-ts.arrived:
		case <-deadline:
			tb.Fatalf("SMTP server: %d of %d messages arrived", got, n)
		}
	}
}

type smtpSession struct {
	srv  *smtpServer
	conn *smtp.Conn
	tls  bool
	user string
	n    int
	m    *receivedMail
}

func (s *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *smtpSession) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != s.srv.opts.User || password != s.srv.opts.Pass {
			return smtp.ErrAuthFailed
		}
		s.user = username
		return nil
	}), nil
}

func (s *smtpSession) hook(stage, arg string) error {
	if s.srv.opts.Hook == nil {
		return nil
	}
	return s.srv.opts.Hook(stage, s.n, s.m, arg)
}

func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.srv.opts.User != "" && s.user == "" {
		return smtp.ErrAuthRequired
	}
	_, s.tls = s.conn.TLSConnectionState()
	s.srv.mu.Lock()
	s.srv.mails++
	s.n = s.srv.mails
	s.srv.mu.Unlock()
	s.m = &receivedMail{From: from, User: s.user, TLS: s.tls}
	return s.hook("mail", from)
}

func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if err := s.hook("rcpt", to); err != nil {
		return err
	}
	s.m.To = append(s.m.To, to)
	return nil
}

func (s *smtpSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.m.Data = data
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "unparsable message: " + err.Error()}
	}
	s.m.Header = msg.Header
	s.m.MessageID = msg.Header.Get("Message-ID")
	if err := s.hook("data", ""); err != nil {
		return err
	}
	s.srv.mu.Lock()
	s.srv.accepted = append(s.srv.accepted, *s.m)
	s.srv.byID[s.m.MessageID]++
	s.srv.mu.Unlock()
	select {
	case s.srv.arrived <- struct{}{}:
	default:
	}
	return nil
}

func (s *smtpSession) Reset()        { s.m = nil }
func (s *smtpSession) Logout() error { return nil }

// smsRequest is one request the fake provider received.
type smsRequest struct {
	Method, Path, User, Pass, Token, ContentType string
	BasicOK                                      bool
	Form                                         map[string][]string
}

// smsAnswer is what the fake provider answers to its n-th request (from 1).
type smsAnswer func(n int, r smsRequest) (status int, body any)

// fakeProvider is an httptest server playing a Twilio-compatible SMS API.
type fakeProvider struct {
	URL string

	mu       sync.Mutex
	requests []smsRequest
	// sent counts the messages answered 2xx by idempotency token.
	sent    map[string]int
	arrived chan struct{}
}

func mustProvider(tb testing.TB, answer smsAnswer) *fakeProvider {
	tb.Helper()
	fp := &fakeProvider{sent: map[string]int{}, arrived: make(chan struct{}, 1)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		req := smsRequest{Method: r.Method, Path: r.URL.Path, Token: r.Header.Get("I-Twilio-Idempotency-Token"),
			ContentType: r.Header.Get("Content-Type"), Form: r.PostForm}
		req.User, req.Pass, req.BasicOK = r.BasicAuth()
		fp.mu.Lock()
		fp.requests = append(fp.requests, req)
		n := len(fp.requests)
		fp.mu.Unlock()
		status, body := http.StatusCreated, any(nil)
		if answer != nil {
			status, body = answer(n, req)
		}
		if body == nil && status/100 == 2 {
			body = map[string]any{"sid": fmt.Sprintf("SM%032d", n), "status": "queued", "to": r.PostForm.Get("To")}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		if s, ok := body.(string); ok {
			io.WriteString(w, s)
		} else if body != nil {
			json.NewEncoder(w).Encode(body)
		}
		if status/100 == 2 {
			fp.mu.Lock()
			fp.sent[req.Token]++
			fp.mu.Unlock()
			select {
			case fp.arrived <- struct{}{}:
			default:
			}
		}
	}))
	tb.Cleanup(srv.Close)
	fp.URL = srv.URL
	return fp
}

// Requests returns the requests received so far.
func (fp *fakeProvider) Requests() []smsRequest {
	fp.mu.Lock()
	defer fp.mu.Unlock()
	return append([]smsRequest(nil), fp.requests...)
}

// Sent returns how often the message with the token was accepted.
func (fp *fakeProvider) Sent(token string) int {
	fp.mu.Lock()
	defer fp.mu.Unlock()
	return fp.sent[token]
}

// WaitDistinct waits until n distinct tokens have been accepted.
func (fp *fakeProvider) WaitDistinct(tb testing.TB, n int) {
	tb.Helper()
	deadline := time.After(waitLimit)
	for {
		fp.mu.Lock()
		got := len(fp.sent)
		fp.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-fp.arrived:
		case <-deadline:
			tb.Fatalf("SMS provider: %d of %d messages arrived", got, n)
		}
	}
}

// twilioError is the JSON body of a Twilio error.
func twilioError(status, code int, message string) map[string]any {
	return map[string]any{"code": code, "message": message, "more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code), "status": status}
}

// testLogger returns a logger that writes to the test's log. The worker must
// be stopped before the test ends (runWorker sees to it).
func testLogger(tb testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tbWriter{tb}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tbWriter struct{ tb testing.TB }

func (w tbWriter) Write(p []byte) (int, error) {
	w.tb.Helper()
	w.tb.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// runner is a Worker running in the background.
type runner struct {
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

// start runs w until stop (or the end of the test).
func start(tb testing.TB, run func(context.Context) error) *runner {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &runner{cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- run(ctx) }()
	tb.Cleanup(func() { r.stop(tb) })
	return r
}

// stop cancels the worker and waits for Run to return; Run must return nil.
func (r *runner) stop(tb testing.TB) {
	tb.Helper()
	r.once.Do(func() {
		r.cancel()
		select {
		case err := <-r.done:
			if err != nil {
				tb.Errorf("Run returned %v", err)
			}
		case <-time.After(waitLimit):
			tb.Errorf("Run did not return after its context was cancelled")
		}
	})
}

// decodeBody returns a MIME part's body decoded per its
// Content-Transfer-Encoding.
func decodeBody(tb testing.TB, cte string, body []byte) string {
	tb.Helper()
	switch strings.ToLower(cte) {
	case "quoted-printable":
		b, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(body)))
		if err != nil {
			tb.Fatalf("quoted-printable body: %v", err)
		}
		return string(b)
	case "base64":
		b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(body)), ""))
		if err != nil {
			tb.Fatalf("base64 body: %v", err)
		}
		return string(b)
	}
	return string(body)
}

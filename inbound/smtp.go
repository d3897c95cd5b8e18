package inbound

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"switchboard/models"
	"switchboard/store"
)

// The SMTP receiver's defaults (SMTPConfig).
const (
	DefaultMaxRecipients = 50
	DefaultMaxConns      = 100
	DefaultSMTPTimeout   = time.Minute
)

// storeTimeout bounds the store's work for one message: past it the sender
// hears 451 and tries again later.
const storeTimeout = time.Minute

// refuseTimeout bounds the write of the 421 that refuses a connection over
// the limit, so that a client that never reads cannot hold it.
const refuseTimeout = 5 * time.Second

// MailStore is what the SMTP receiver needs of the store.
type MailStore interface {
	EmailInboxes(ctx context.Context, address string) ([]models.Inbox, error)
	ReceiveEmail(ctx context.Context, inboxID int64, in store.InboundEmail) (store.InboundResult, error)
}

// SMTPConfig is the SMTP receiver's configuration. Zero values take the
// defaults.
type SMTPConfig struct {
	// Domain is the name the server greets with (default "localhost").
	Domain string
	// MaxMessageBytes is the largest message taken (DefaultMaxMessageBytes).
	MaxMessageBytes int64
	// MaxRecipients is the most RCPTs of one message (DefaultMaxRecipients).
	MaxRecipients int
	// MaxConns is the most connections at once (DefaultMaxConns); more are
	// answered 421 and closed.
	MaxConns int
	// TLS, when set, offers STARTTLS.
	TLS *tls.Config
	// ReadTimeout and WriteTimeout bound each command and answer
	// (DefaultSMTPTimeout).
	ReadTimeout, WriteTimeout time.Duration
	// Log receives the receiver's records (never a message's content);
	// nil discards them.
	Log *slog.Logger
	// TempDir is where messages are spooled while they arrive (default
	// os.TempDir()).
	TempDir string
}

// SMTPServer is the SMTP receiver: an MX for the accounts' email inboxes.
// It is never a relay: it takes mail only for addresses that are inboxes,
// and answers 250 only once every inbox's account has recorded the message.
type SMTPServer struct {
	srv *smtp.Server
	st  MailStore
	cfg SMTPConfig
	log *slog.Logger
	// ctx is the store calls' context, cancelled when Shutdown gives up.
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	closing bool
	conns   map[*trackedConn]struct{}
	// refusing counts the goroutines that answer 421 to connections over
	// the limit.
	refusing sync.WaitGroup
}

// NewSMTPServer returns an SMTP receiver over st, not yet serving.
func NewSMTPServer(st MailStore, cfg SMTPConfig) *SMTPServer {
	if cfg.Domain == "" {
		cfg.Domain = "localhost"
	}
	if cfg.MaxMessageBytes <= 0 {
		cfg.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if cfg.MaxRecipients <= 0 {
		cfg.MaxRecipients = DefaultMaxRecipients
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = DefaultMaxConns
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = DefaultSMTPTimeout
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = DefaultSMTPTimeout
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	s := &SMTPServer{st: st, cfg: cfg, log: cfg.Log, conns: map[*trackedConn]struct{}{}}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	srv := smtp.NewServer(smtp.BackendFunc(s.newSession))
	srv.Domain = cfg.Domain
	srv.MaxMessageBytes = cfg.MaxMessageBytes
	srv.MaxRecipients = cfg.MaxRecipients
	srv.ReadTimeout, srv.WriteTimeout = cfg.ReadTimeout, cfg.WriteTimeout
	srv.TLSConfig = cfg.TLS
	srv.ErrorLog = slog.NewLogLogger(cfg.Log.Handler(), slog.LevelWarn)
	s.srv = srv
	return s
}

// Serve answers SMTP on l until Shutdown. It returns nil after Shutdown,
// or the listener's error.
func (s *SMTPServer) Serve(l net.Listener) error {
	s.mu.Lock()
	closing := s.closing
	s.mu.Unlock()
	if closing {
		l.Close()
		return nil
	}
	return s.srv.Serve(&limitListener{Listener: l, s: s})
}

// Shutdown stops the server gracefully: it stops accepting, closes the
// connections between messages at once and lets the messages in flight
// (from MAIL to the answer to DATA) finish. When ctx ends first it closes
// every connection, cancels the store's work, and returns ctx's error;
// otherwise it returns the error of closing the listener, if any.
func (s *SMTPServer) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	for c := range s.conns {
		if !c.busy {
			c.Conn.Close()
		}
	}
	s.mu.Unlock()
	err := s.srv.Shutdown(ctx)
	if errors.Is(err, smtp.ErrServerClosed) {
		err = nil
	}
	if ctx.Err() != nil {
		s.cancel()
		s.mu.Lock()
		for c := range s.conns {
			c.Conn.Close()
		}
		s.mu.Unlock()
		s.refusing.Wait()
		return ctx.Err()
	}
	s.refusing.Wait()
	s.cancel()
	return err
}

// limitListener hands go-smtp the connections within the limit and refuses
// the others with 421.
type limitListener struct {
	net.Listener
	s *SMTPServer
}

// Accept returns the next connection within the limit, or the listener's
// error.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if tc := l.s.track(c); tc != nil {
			return tc, nil
		}
		l.s.refusing.Add(1)
		go func() {
			defer l.s.refusing.Done()
			l.s.refuse(c)
		}()
	}
}

// track returns c counted as one of the server's connections, or nil when
// the server is at its limit or stopping.
func (s *SMTPServer) track(c net.Conn) *trackedConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing || len(s.conns) >= s.cfg.MaxConns {
		return nil
	}
	tc := &trackedConn{Conn: c, s: s}
	s.conns[tc] = struct{}{}
	return tc
}

// refuse answers 421 on a connection over the limit and closes it.
func (s *SMTPServer) refuse(c net.Conn) {
	defer c.Close()
	s.log.Warn("smtp: connection refused: too many connections", "remote", c.RemoteAddr().String(), "max", s.cfg.MaxConns)
	if err := c.SetWriteDeadline(time.Now().Add(refuseTimeout)); err != nil {
		return
	}
	_, _ = io.WriteString(c, "421 4.7.0 too many connections\r\n")
}

// trackedConn is a connection the server counts. Once the server is
// stopping, a connection with no message in flight reads as closed, so that
// it ends after the answer to its last message.
type trackedConn struct {
	net.Conn
	s    *SMTPServer
	once sync.Once
	// busy is set from MAIL to the end of the message (guarded by s.mu).
	busy bool
}

// Read reads from the connection, or returns net.ErrClosed when the server
// is stopping and the connection has no message in flight.
func (c *trackedConn) Read(b []byte) (int, error) {
	c.s.mu.Lock()
	idle := c.s.closing && !c.busy
	c.s.mu.Unlock()
	if idle {
		return 0, net.ErrClosed
	}
	return c.Conn.Read(b)
}

// Close closes the connection and stops counting it.
func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.s.mu.Lock()
		delete(c.s.conns, c)
		c.s.mu.Unlock()
	})
	return c.Conn.Close()
}

// setBusy marks the connection's message in flight or done. It returns
// false, marking nothing, when a message would start on a stopping server.
func (c *trackedConn) setBusy(busy bool) bool {
	if c == nil {
		return true
	}
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	if busy && c.s.closing {
		return false
	}
	c.busy = busy
	return true
}

// newSession starts the session of a client's EHLO (again after STARTTLS).
func (s *SMTPServer) newSession(c *smtp.Conn) (smtp.Session, error) {
	nc := c.Conn()
	if t, ok := nc.(*tls.Conn); ok {
		nc = t.NetConn()
	}
	tc, _ := nc.(*trackedConn)
	return &session{s: s, conn: tc, remote: nc.RemoteAddr().String(), seen: map[int64]bool{}}, nil
}

// The answers the receiver gives besides go-smtp's own.
var (
	errTemporary = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0},
		Message: "temporary failure, try again later"}
	errNoMailbox = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1},
		Message: "no such mailbox here"}
	errStopping = &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 2},
		Message: "shutting down, try again later"}
)

// session is one client's conversation: the inboxes its RCPTs named.
type session struct {
	s      *SMTPServer
	conn   *trackedConn
	remote string
	// inboxes are the inboxes the message goes to, one per account (the
	// first the RCPTs named); seen holds their accounts.
	inboxes []models.Inbox
	seen    map[int64]bool
}

var _ smtp.AuthSession = (*session)(nil)

// AuthMechanisms returns none: an MX takes mail without AUTH.
func (*session) AuthMechanisms() []string { return nil }

// Auth refuses every mechanism.
func (*session) Auth(string) (sasl.Server, error) { return nil, smtp.ErrAuthUnsupported }

// Mail starts a message from any sender (bounces come from <>). It returns
// a 421 error when the server is stopping.
func (ss *session) Mail(string, *smtp.MailOptions) error {
	if !ss.conn.setBusy(true) {
		return errStopping
	}
	return nil
}

// Rcpt adds the inboxes at the address. It returns a 550 error for an
// address that is no inbox (this is never a relay) and a 451 one when the
// store cannot say.
func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ctx, cancel := context.WithTimeout(ss.s.ctx, storeTimeout)
	defer cancel()
	inboxes, err := ss.s.st.EmailInboxes(ctx, to)
	if err != nil {
		ss.s.log.Warn("smtp: recipient lookup failed", "remote", ss.remote, "error", err)
		return errTemporary
	}
	if len(inboxes) == 0 {
		ss.s.log.Info("smtp: recipient refused: no such inbox", "remote", ss.remote, "to", to)
		return errNoMailbox
	}
	for _, in := range inboxes {
		if !ss.seen[in.AccountID] {
			ss.seen[in.AccountID] = true
			ss.inboxes = append(ss.inboxes, in)
		}
	}
	return nil
}

// Data spools the message, parses it and records it in each inbox's
// account. It returns nil (250) only after every account committed it;
// a 552 error over the size limit, a 554 one for a message that cannot be
// recorded, and a 451 one for any failure of ours, so that the sender
// tries again (a retry is recorded once, by its Message-ID).
func (ss *session) Data(r io.Reader) error {
	f, err := os.CreateTemp(ss.s.cfg.TempDir, "switchboard-smtp-*.eml")
	if err != nil {
		ss.s.log.Error("smtp: cannot spool a message", "error", err)
		return errTemporary
	}
	defer func() {
		f.Close()
		if err := os.Remove(f.Name()); err != nil {
			ss.s.log.Warn("smtp: cannot remove a spooled message", "error", err)
		}
	}()
	size, err := io.Copy(f, r)
	var smtpErr *smtp.SMTPError
	switch {
	case errors.As(err, &smtpErr):
		ss.s.log.Info("smtp: message refused", "remote", ss.remote, "code", smtpErr.Code, "reason", smtpErr.Message)
		return smtpErr
	case err != nil:
		if _, isPath := err.(*os.PathError); isPath {
			ss.s.log.Error("smtp: cannot spool a message", "error", err)
			return errTemporary
		}
		return err // the client is gone: no one hears the answer
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		ss.s.log.Error("smtp: cannot read a spooled message", "error", err)
		return errTemporary
	}
	in, err := ParseEmail(bufio.NewReader(f))
	if errors.Is(err, ErrMalformed) {
		ss.s.log.Info("smtp: message refused: malformed", "remote", ss.remote, "error", err)
		return malformed(err)
	}
	if err != nil {
		ss.s.log.Error("smtp: cannot parse a spooled message", "error", err)
		return errTemporary
	}
	ctx, cancel := context.WithTimeout(ss.s.ctx, storeTimeout)
	defer cancel()
	for _, inbox := range ss.inboxes {
		res, err := ss.s.st.ReceiveEmail(ctx, inbox.ID, in)
		var fe store.FieldErrors
		switch {
		case errors.As(err, &fe):
			ss.s.log.Info("smtp: message refused", "remote", ss.remote, "inbox_id", inbox.ID, "error", err)
			return malformed(fe)
		case err != nil:
			ss.s.log.Warn("smtp: message not recorded: asking the sender to retry", "remote", ss.remote,
				"inbox_id", inbox.ID, "error", err)
			return errTemporary
		}
		ss.s.log.Info("smtp: email received", "remote", ss.remote, "inbox_id", inbox.ID, "account_id", res.AccountID,
			"outcome", res.Outcome, "case_id", res.CaseID, "message_id", res.MessageID, "bytes", size)
	}
	return nil
}

// malformed returns the 554 5.6.0 answer for a message that cannot be
// recorded, saying why on one line.
func malformed(err error) *smtp.SMTPError {
	why := strings.Join(strings.Fields(err.Error()), " ")
	if len(why) > 400 {
		why = strings.ToValidUTF8(why[:400], "")
	}
	return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: fmt.Sprintf("message refused: %s", why)}
}

// Reset forgets the message in progress.
func (ss *session) Reset() {
	ss.inboxes = nil
	clear(ss.seen)
	ss.conn.setBusy(false)
}

// Logout ends the session.
func (ss *session) Logout() error {
	ss.conn.setBusy(false)
	return nil
}

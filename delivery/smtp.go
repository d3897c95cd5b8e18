package delivery

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wneessen/go-mail"

	"switchboard/models"
	"switchboard/store"
)

// SMTPOptions tune NewSMTP. The zero value is fine.
type SMTPOptions struct {
	// TLSConfig verifies the server's certificate (STARTTLS and smtps). It is
	// cloned; an empty ServerName is set to the URL's host. Nil uses the
	// system roots.
	TLSConfig *tls.Config
	// Timeout bounds the connection and each SMTP command (default 30s). The
	// context of Send bounds the whole exchange as well.
	Timeout time.Duration
}

// SMTP sends email through an SMTP relay. It is safe for concurrent use:
// each Send opens its own connection.
type SMTP struct {
	host     string
	port     int
	implicit bool
	user     string
	pass     string
	auth     bool
	tls      *tls.Config
	timeout  time.Duration
}

// NewSMTP returns a sender for the relay the URL names:
//
//   - smtp://[user:pass@]host[:port] (port 587 by default) upgrades to TLS
//     with STARTTLS when the server offers it, and sends in clear when it
//     does not (opportunistic TLS);
//   - smtps://[user:pass@]host[:port] (port 465 by default) speaks TLS from
//     the first byte.
//
// With a user the client authenticates with AUTH PLAIN, which go-mail only
// does over TLS or to localhost, 127.0.0.1 or ::1: a password never crosses
// the network in clear, and a relay that offers no STARTTLS then fails every
// send (a temporary error naming the unencrypted connection). The user and
// password may be percent-encoded. It returns an error for another scheme, a
// missing host, a bad port or a query or path it does not understand.
func NewSMTP(rawURL string, opts SMTPOptions) (*SMTP, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Parse quotes the URL, password included: say only what is wrong.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("smtp url: %w", err)
	}
	s := &SMTP{host: u.Hostname(), timeout: opts.Timeout}
	switch u.Scheme {
	case "smtp":
		s.port = 587
	case "smtps":
		s.port, s.implicit = 465, true
	default:
		return nil, fmt.Errorf("smtp url %s: scheme must be smtp or smtps", u.Redacted())
	}
	if s.host == "" {
		return nil, fmt.Errorf("smtp url %s: no host", u.Redacted())
	}
	if p := u.Port(); p != "" {
		if s.port, err = strconv.Atoi(p); err != nil || s.port < 1 || s.port > 65535 {
			return nil, fmt.Errorf("smtp url %s: bad port %q", u.Redacted(), p)
		}
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("smtp url %s: takes no path, query or fragment", u.Redacted())
	}
	if u.User != nil {
		s.user = u.User.Username()
		s.pass, _ = u.User.Password()
		s.auth = s.user != ""
	}
	if s.timeout <= 0 {
		s.timeout = 30 * time.Second
	}
	if opts.TLSConfig != nil {
		s.tls = opts.TLSConfig.Clone()
	} else {
		s.tls = &tls.Config{}
	}
	if s.tls.ServerName == "" {
		s.tls.ServerName = s.host
	}
	if s.tls.MinVersion == 0 {
		s.tls.MinVersion = tls.VersionTLS12
	}
	return s, nil
}

// Send sends the email of o: one connection, one message. It returns the
// server's answer to the message (its queue id, typically) as the provider
// reference. A 5xx answer to MAIL FROM, RCPT TO or DATA, or a message that
// cannot be built (a bad address, no valid Message-ID), is ErrPermanent with
// the server's text; everything else is temporary: 4xx answers, network
// errors and failures while setting up the session (greeting, EHLO,
// STARTTLS, AUTH), which concern the relay and its configuration rather than
// the message, so that a wrong password or a relay down for maintenance
// holds mail back instead of failing it.
func (s *SMTP) Send(ctx context.Context, o store.Outgoing) (string, error) {
	if o.Delivery.Kind != models.InboxEmail {
		return "", fmt.Errorf("%w: smtp sender given a %s delivery", ErrPermanent, o.Delivery.Kind)
	}
	msg, err := buildEmail(o)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrPermanent, err)
	}

	// go-mail bounds each command with its timeout but watches the context
	// only while dialling: closing the connection when ctx is done makes a
	// stuck exchange give up with it.
	var (
		mu   sync.Mutex
		conn net.Conn
	)
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		if conn != nil {
			conn.Close()
		}
	})
	defer stop()
	dial := func(dctx context.Context, network, addr string) (net.Conn, error) {
		d := &net.Dialer{}
		var c net.Conn
		var err error
		if s.implicit {
			c, err = (&tls.Dialer{NetDialer: d, Config: s.tls}).DialContext(dctx, network, addr)
		} else {
			c, err = d.DialContext(dctx, network, addr)
		}
		if err != nil {
			return nil, err
		}
		mu.Lock()
		defer mu.Unlock()
		if ctx.Err() != nil {
			c.Close()
			return nil, ctx.Err()
		}
		conn = c
		return c, nil
	}

	opts := []mail.Option{
		mail.WithPort(s.port),
		mail.WithTimeout(s.timeout),
		mail.WithTLSConfig(s.tls),
		mail.WithDialContextFunc(dial),
		// One message a connection: the NOOP that checks a reused
		// connection is a round trip for nothing.
		mail.WithoutNoop(),
	}
	if s.implicit {
		// The dial function speaks TLS already; WithSSL tells go-mail not
		// to try STARTTLS on top.
		opts = append(opts, mail.WithSSL())
	} else {
		opts = append(opts, mail.WithTLSPolicy(mail.TLSOpportunistic))
	}
	if s.auth {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthPlain), mail.WithUsername(s.user), mail.WithPassword(s.pass))
	}
	client, err := mail.NewClient(s.host, opts...)
	if err != nil {
		return "", fmt.Errorf("%w: smtp client: %w", ErrPermanent, err)
	}
	err = client.DialAndSendWithContext(ctx, msg)
	// A message the server accepted counts as sent even when closing the
	// session failed afterwards: resending it would deliver it twice.
	if msg.IsDelivered() {
		return strings.TrimSpace(msg.ServerResponse()), nil
	}
	if err == nil {
		err = errors.New("the server did not accept the message")
	}
	return "", classifySMTP(err)
}

// classifySMTP wraps err in ErrPermanent when it is a 5xx answer to the
// message transaction or a message go-mail could not address.
func classifySMTP(err error) error {
	var se *mail.SendError
	if errors.As(err, &se) {
		code := se.ErrorCode()
		if code >= 500 && code <= 599 || se.Reason == mail.ErrGetSender || se.Reason == mail.ErrGetRcpts {
			return fmt.Errorf("%w: smtp: %w", ErrPermanent, err)
		}
	}
	return fmt.Errorf("smtp: %w", err)
}

// buildEmail returns the MIME message of o: From, To and Cc headers (Bcc
// only in the envelope), the UTF-8 subject, Message-ID set to the delivery's
// reference, In-Reply-To and References from the thread, the Date the agent
// wrote it, a text/plain body with a text/html alternative when the
// message has one, and each attachment as a base64 part with its file name
// and content type (multipart/mixed around the body). It returns an error
// for a bad address or reference.
func buildEmail(o store.Outgoing) (*mail.Msg, error) {
	ref := o.Delivery.Reference
	if !validMessageID(ref) {
		return nil, fmt.Errorf("delivery %d has no valid Message-ID reference (%q)", o.Delivery.ID, ref)
	}
	if len(o.To)+len(o.Cc)+len(o.Bcc) == 0 {
		return nil, fmt.Errorf("message %d has no recipient", o.Message.ID)
	}
	// go-mail names itself in a User-Agent header by default; a helpdesk's
	// mail has no reason to advertise its library and version.
	m := mail.NewMsg(mail.WithNoDefaultUserAgent())
	if err := m.From(o.Message.EmailFrom); err != nil {
		return nil, fmt.Errorf("from %q: %w", o.Message.EmailFrom, err)
	}
	for _, h := range []struct {
		name  string
		addrs []string
		set   func(...string) error
	}{{"to", o.To, m.To}, {"cc", o.Cc, m.Cc}, {"bcc", o.Bcc, m.Bcc}} {
		if len(h.addrs) == 0 {
			continue
		}
		if err := h.set(h.addrs...); err != nil {
			return nil, fmt.Errorf("%s: %w", h.name, err)
		}
	}
	m.Subject(o.Message.EmailSubject)
	// Set as a generic header, not with SetMessageIDWithValue, which adds
	// its own angle brackets: the reference has them already and must go
	// out byte for byte, the same on every attempt.
	m.SetGenHeader(mail.HeaderMessageID, ref)
	var thread []string
	for _, id := range o.Thread {
		if validMessageID(id) {
			thread = append(thread, id)
		}
	}
	if len(thread) > 0 {
		m.SetGenHeader(mail.HeaderInReplyTo, thread[len(thread)-1])
		m.SetGenHeader(mail.HeaderReferences, strings.Join(thread, " "))
	}
	// The Date is when the agent wrote the message, so that every attempt,
	// and any duplicate a lost lease causes, is the same message.
	date := o.Message.CreatedAt
	if date.IsZero() {
		date = time.Now()
	}
	m.SetDateWithValue(date)
	switch {
	case o.Message.Text != "" && o.Message.HTMLBody != "":
		m.SetBodyString(mail.TypeTextPlain, o.Message.Text)
		m.AddAlternativeString(mail.TypeTextHTML, o.Message.HTMLBody)
	case o.Message.HTMLBody != "":
		m.SetBodyString(mail.TypeTextHTML, o.Message.HTMLBody)
	default:
		m.SetBodyString(mail.TypeTextPlain, o.Message.Text)
	}
	for _, a := range o.Attachments {
		// A ReadSeeker is read again from the start on each write of the
		// message, and the content is not copied.
		m.AttachReadSeeker(a.Name, bytes.NewReader(a.Content), mail.WithFileContentType(mail.ContentType(a.ContentType)))
	}
	return m, nil
}

// validMessageID reports whether id looks like <left@right> with nothing
// that could break the header it goes into.
func validMessageID(id string) bool {
	if len(id) < 5 || len(id) > 998 || id[0] != '<' || id[len(id)-1] != '>' {
		return false
	}
	inner := id[1 : len(id)-1]
	at := strings.IndexByte(inner, '@')
	if at <= 0 || at == len(inner)-1 {
		return false
	}
	for i := 0; i < len(inner); i++ {
		if c := inner[i]; c <= ' ' || c >= 0x7f || c == '<' || c == '>' {
			return false
		}
	}
	return true
}

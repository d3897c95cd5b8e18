package main

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"

	"switchboard/bytesize"
	"switchboard/inbound"
	"switchboard/store"
)

// smtpConfig is the configuration of the SMTP receiver that serve runs:
// the MX of the accounts' email inboxes.
type smtpConfig struct {
	listen        string
	domain        string
	maxSize       string
	maxConns      int
	maxRecipients int
	tlsCert       string
	tlsKey        string
}

// addSMTP defines the SMTP receiver's flags on fs.
func (c *smtpConfig) addSMTP(fs *flag.FlagSet) {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	fs.StringVar(&c.listen, "smtp-listen", "", "listen address of the built-in SMTP receiver for inbound email, as :25; empty: no SMTP receiver (env SWITCHBOARD_SMTP_LISTEN)")
	fs.StringVar(&c.domain, "smtp-domain", host, "the name the SMTP receiver greets with: the host your MX record names (env SWITCHBOARD_SMTP_DOMAIN)")
	fs.StringVar(&c.maxSize, "smtp-max-size", "25MiB", "largest inbound email, by SMTP and on the raw email route: 25MiB is 26214400 bytes, 25M 25000000 (env SWITCHBOARD_SMTP_MAX_SIZE)")
	fs.IntVar(&c.maxConns, "smtp-max-conns", inbound.DefaultMaxConns, "most SMTP connections at once, 1 to 10000; more are answered 421 (env SWITCHBOARD_SMTP_MAX_CONNS)")
	fs.IntVar(&c.maxRecipients, "smtp-max-recipients", inbound.DefaultMaxRecipients, "most recipients of one inbound email, 1 to 1000; more are answered 452 (env SWITCHBOARD_SMTP_MAX_RECIPIENTS)")
	fs.StringVar(&c.tlsCert, "smtp-tls-cert", "", "PEM certificate (chain) for STARTTLS, with --smtp-tls-key; empty: no STARTTLS (env SWITCHBOARD_SMTP_TLS_CERT)")
	fs.StringVar(&c.tlsKey, "smtp-tls-key", "", "PEM private key of --smtp-tls-cert (env SWITCHBOARD_SMTP_TLS_KEY)")
}

// validate returns every problem with the SMTP receiver's settings; a
// certificate and key that do not load are one.
func (c *smtpConfig) validate() []error {
	var errs []error
	if c.listen != "" {
		if _, _, err := net.SplitHostPort(c.listen); err != nil {
			errs = append(errs, fmt.Errorf("--smtp-listen %q: want HOST:PORT or :PORT", c.listen))
		}
	}
	if c.domain == "" {
		errs = append(errs, errors.New("--smtp-domain: want the host name the MX record names"))
	}
	if n, err := bytesize.Parse(c.maxSize); err != nil || n <= 0 {
		errs = append(errs, fmt.Errorf("--smtp-max-size %q: want a size such as 25M", c.maxSize))
	}
	if c.maxConns < 1 || c.maxConns > 10_000 {
		errs = append(errs, fmt.Errorf("--smtp-max-conns %d: want 1 to 10000", c.maxConns))
	}
	if c.maxRecipients < 1 || c.maxRecipients > 1000 {
		errs = append(errs, fmt.Errorf("--smtp-max-recipients %d: want 1 to 1000", c.maxRecipients))
	}
	switch {
	case (c.tlsCert == "") != (c.tlsKey == ""):
		errs = append(errs, errors.New("--smtp-tls-cert and --smtp-tls-key go together: give both or neither"))
	case c.tlsCert != "":
		if _, err := tls.LoadX509KeyPair(c.tlsCert, c.tlsKey); err != nil {
			errs = append(errs, fmt.Errorf("--smtp-tls-cert/--smtp-tls-key: %w", err))
		}
	}
	return errs
}

// maxBytes returns the largest inbound email in bytes. It is called after
// validate.
func (c *smtpConfig) maxBytes() int64 {
	n, _ := bytesize.Parse(c.maxSize) // validated
	return n
}

// server returns the SMTP receiver over st, or nil when --smtp-listen is
// empty. It returns an error when the certificate and key do not load.
func (c *smtpConfig) server(st *store.Store, log *slog.Logger) (*inbound.SMTPServer, error) {
	if c.listen == "" {
		return nil, nil
	}
	cfg := inbound.SMTPConfig{Domain: c.domain, MaxMessageBytes: c.maxBytes(), MaxRecipients: c.maxRecipients,
		MaxConns: c.maxConns, Log: log}
	if c.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(c.tlsCert, c.tlsKey)
		if err != nil {
			return nil, fmt.Errorf("--smtp-tls-cert/--smtp-tls-key: %w", err)
		}
		cfg.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	return inbound.NewSMTPServer(st, cfg), nil
}

package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"switchboard/delivery"
	"switchboard/handlers/switchboard"
	"switchboard/store"
)

// outboxConfig is the configuration of the delivery worker that serve runs.
type outboxConfig struct {
	smtpURL  string
	smsURL   string
	smsSID   string
	smsToken string
	// publicURL is the server's base address as providers reach it.
	publicURL   string
	workers     int
	maxAttempts int
}

// addOutbox defines the delivery flags on fs.
func (c *outboxConfig) addOutbox(fs *flag.FlagSet) {
	fs.StringVar(&c.smtpURL, "smtp-url", "", "SMTP relay for email replies, smtp://USER:PASS@HOST:PORT (STARTTLS when offered) or smtps://... (implicit TLS); empty: email stays queued (env SWITCHBOARD_SMTP_URL)")
	fs.StringVar(&c.smsURL, "sms-url", "", "base URL of a Twilio-compatible SMS provider, as https://api.twilio.com; empty: SMS stays queued (env SWITCHBOARD_SMS_URL)")
	fs.StringVar(&c.smsSID, "sms-account-sid", "", "the SMS provider's account SID (env SWITCHBOARD_SMS_ACCOUNT_SID)")
	fs.StringVar(&c.smsToken, "sms-auth-token", "", "the SMS provider's auth token (env SWITCHBOARD_SMS_AUTH_TOKEN)")
	fs.StringVar(&c.publicURL, "public-url", "", "the server's base address as SMS providers reach it, as https://desk.example.com: the URL inbound SMS signatures are checked against, and where delivery receipts are asked for; empty: the request's own scheme and host, and no receipts (env SWITCHBOARD_PUBLIC_URL)")
	fs.IntVar(&c.workers, "delivery-workers", 2, "concurrent senders of the outbox (env SWITCHBOARD_DELIVERY_WORKERS)")
	fs.IntVar(&c.maxAttempts, "delivery-attempts", 8, "attempts before an email or SMS is marked failed (env SWITCHBOARD_DELIVERY_ATTEMPTS)")
}

// validate returns every problem with the delivery settings, never showing
// a password or token.
func (c *outboxConfig) validate() []error {
	var errs []error
	if c.smtpURL != "" {
		u, err := url.Parse(c.smtpURL)
		if err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Hostname() == "" {
			errs = append(errs, errors.New("--smtp-url: want smtp://USER:PASS@HOST:PORT or smtps://USER:PASS@HOST:PORT"))
		}
	}
	if c.smsURL != "" {
		u, err := url.Parse(c.smsURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("--sms-url %q: want the provider's base URL, as https://api.twilio.com", c.smsURL))
		}
		if c.smsSID == "" || c.smsToken == "" {
			errs = append(errs, errors.New("--sms-url needs --sms-account-sid and --sms-auth-token"))
		}
	}
	if c.publicURL != "" {
		u, err := url.Parse(c.publicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			errs = append(errs, fmt.Errorf("--public-url %q: want the server's base URL, as https://desk.example.com", c.publicURL))
		}
	}
	if c.workers < 1 || c.workers > 64 {
		errs = append(errs, fmt.Errorf("--delivery-workers %d: want 1 to 64", c.workers))
	}
	if c.maxAttempts < 1 || c.maxAttempts > 100 {
		errs = append(errs, fmt.Errorf("--delivery-attempts %d: want 1 to 100", c.maxAttempts))
	}
	return errs
}

// worker returns the delivery worker over the store's outbox with the
// configured senders. A channel without configuration gets no sender, and its
// messages stay queued until one is configured: they are never dropped.
func (c *outboxConfig) worker(st *store.Store, log *slog.Logger) (*delivery.Worker, error) {
	var email, sms delivery.Sender
	if c.smtpURL != "" {
		s, err := delivery.NewSMTP(c.smtpURL, delivery.SMTPOptions{})
		if err != nil {
			return nil, fmt.Errorf("--smtp-url: %w", err)
		}
		email = s
	} else {
		log.Info("email: no SMTP relay (--smtp-url); email replies stay queued until one is set")
	}
	if c.smsURL != "" {
		opts := delivery.TwilioOptions{Client: &http.Client{Timeout: 30 * time.Second}}
		if c.publicURL != "" {
			// The provider posts each SMS's status changes there.
			opts.StatusCallback = strings.TrimSuffix(c.publicURL, "/") + switchboard.InboundSMSStatusPath
		}
		s, err := delivery.NewTwilio(c.smsURL, c.smsSID, c.smsToken, opts)
		if err != nil {
			return nil, fmt.Errorf("--sms-url: %w", err)
		}
		sms = s
	} else {
		log.Info("sms: no SMS provider (--sms-url); SMS replies stay queued until one is set")
	}
	return delivery.New(st, email, sms, delivery.Config{Workers: c.workers, MaxAttempts: c.maxAttempts}, log), nil
}

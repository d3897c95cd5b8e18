//go:build faults

package faults

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/smtp"
	"net/textproto"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"switchboard/models"
	"switchboard/store/storetest"
)

// The SMTP receiver's settings of the inbound fault tests.
const smtpListen = "SWITCHBOARD_SMTP_LISTEN=127.0.0.1:0"

// smtpAddr returns the address of the server's SMTP receiver, from its
// "smtp: listening" log line.
func (s *server) smtpAddr(t *testing.T) string {
	t.Helper()
	var addr string
	waitFor(t, "the SMTP receiver", 30*time.Second, func() bool {
		for line := range strings.Lines(s.logs.String()) {
			var rec struct{ Msg, Addr string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "smtp: listening" {
				addr = rec.Addr
				return true
			}
		}
		return false
	})
	return addr
}

// inboundMail returns a customer's email to help@acme.example with the
// Message-ID.
func inboundMail(messageID string) []byte {
	return []byte("From: Ann <ann@example.com>\r\nTo: help@acme.example\r\nSubject: Order\r\nMessage-ID: " + messageID +
		"\r\nDate: Sat, 05 Dec 2026 10:00:00 +0000\r\n\r\nWhere is my order " + messageID + "?\r\n")
}

// smtpCode returns the SMTP code of net/smtp's error: 250 for none, 0 for
// an error that is not an answer (the connection failed).
func smtpCode(err error) int {
	var te *textproto.Error
	switch {
	case err == nil:
		return 250
	case errors.As(err, &te):
		return te.Code
	}
	return 0
}

// mustStoredEmails fails the test unless each Message-ID names exactly one
// message in the database at dbURL.
func mustStoredEmails(t *testing.T, dbURL string, ids []string) {
	t.Helper()
	st := storetest.MustOpenURL(t, dbURL)
	var missing []string
	for _, id := range ids {
		var n int64
		if err := st.GORM().Model(&models.Message{}).Where("source_ref = ?", id).Count(&n).Error; err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			missing = append(missing, fmt.Sprintf("%s (%d)", id, n))
		}
	}
	if len(missing) > 0 {
		t.Errorf("%d of %d acknowledged emails are not stored exactly once: %s", len(missing), len(ids), strings.Join(missing[:min(len(missing), 20)], ", "))
	}
	t.Logf("all %d acknowledged emails are stored once", len(ids))
}

// TestFaults_InboundSMTPPostgresStopped stops PostgreSQL under the SMTP
// receiver: an email sent meanwhile is answered 4xx (never 5xx, which would
// bounce it, and never 250), and the sender's retry after PostgreSQL is
// back is answered 250 and stored once.
func TestFaults_InboundSMTPPostgresStopped(t *testing.T) {
	bin := mustBuild(t)
	pg := mustCluster(t)
	s := mustStart(t, bin, pg.url(), smtpListen)
	mustRunBinary(t, bin, pg.url(), "inbox", "create", "--account", "1", "--kind", "email", "--address", "help@acme.example")
	mx := s.smtpAddr(t)
	send := func(id string) error {
		return smtp.SendMail(mx, nil, "ann@example.com", []string{"help@acme.example"}, inboundMail(id))
	}
	if err := send("<before@example.com>"); err != nil {
		t.Fatalf("before the fault: %v", err)
	}

	pg.stop(t)
	err := send("<during@example.com>")
	if code := smtpCode(err); code < 400 || code > 499 {
		t.Fatalf("while PostgreSQL is down: %v (code %d), want a 4xx", err, code)
	}
	t.Logf("while PostgreSQL is down: %v", err)

	pg.start(t)
	started := time.Now()
	// The sender retries, as an MTA does (more slowly), until it hears 250.
	waitFor(t, "a retry answered 250", 10*time.Second, func() bool { return send("<during@example.com>") == nil })
	t.Logf("retry answered 250 %v after PostgreSQL's start", time.Since(started).Round(time.Millisecond))
	// A sender that never heard that 250 sends once more, and retries too:
	// a pooled connection that PostgreSQL's restart broke may still answer
	// one 451 before the pool drops it.
	waitFor(t, "a second retry answered 250", 10*time.Second, func() bool { return send("<during@example.com>") == nil })
	mustStoredEmails(t, pg.url(), []string{"<before@example.com>", "<during@example.com>"})
	s.mustNoPanic(t)
}

// TestFaults_InboundSMTPSIGKILL kills the server with SIGKILL while
// senders deliver emails to its SMTP receiver, restarts it on the same
// database, and finds every email that was answered 250 there, once.
func TestFaults_InboundSMTPSIGKILL(t *testing.T) {
	bin := mustBuild(t)
	dbURL := mustPostgresURL(t)
	s := mustStart(t, bin, dbURL, smtpListen)
	mustRunBinary(t, bin, dbURL, "inbox", "create", "--account", "1", "--kind", "email", "--address", "help@acme.example")
	mx := s.smtpAddr(t)

	var (
		mu       sync.Mutex
		acked    []string
		failed   int
		stopLoad atomic.Bool
		wg       sync.WaitGroup
	)
	for w := range 4 {
		wg.Go(func() {
			for n := 0; !stopLoad.Load(); n++ {
				id := fmt.Sprintf("<kill-%d-%d@example.com>", w, n)
				err := smtp.SendMail(mx, nil, "ann@example.com", []string{"help@acme.example"}, inboundMail(id))
				mu.Lock()
				if err == nil {
					acked = append(acked, id)
				} else {
					failed++
				}
				mu.Unlock()
				if err != nil && smtpCode(err) == 0 { // the server is gone
					return
				}
			}
		})
	}
	time.Sleep(2 * time.Second)
	s.kill(t)
	stopLoad.Store(true)
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	t.Logf("%d emails acknowledged before SIGKILL, %d not", len(acked), failed)
	if len(acked) < 5 || failed == 0 {
		t.Fatalf("want many acknowledged emails and some cut off by the kill; got %d and %d", len(acked), failed)
	}

	s2 := mustStart(t, bin, dbURL, smtpListen)
	mx2 := s2.smtpAddr(t)
	if err := smtp.SendMail(mx2, nil, "ann@example.com", []string{"help@acme.example"}, inboundMail("<after@example.com>")); err != nil {
		t.Errorf("an email after the restart: %v", err)
	}
	mustStoredEmails(t, dbURL, append(acked, "<after@example.com>"))
	s2.mustNoPanic(t)
}

package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/smtp"
	"strings"
	"testing"
	"time"

	"switchboard/cmd/switchboard/binarytest"
	"switchboard/models"
	"switchboard/store/storetest"
)

// smtpAddr returns the address the server's SMTP receiver listens on, from
// its "smtp: listening" log line.
func (s *server) smtpAddr(t *testing.T) string {
	t.Helper()
	var addr string
	waitFor(t, "the SMTP receiver", func() bool {
		for line := range strings.SplitSeq(s.logs.String(), "\n") {
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

// mustEvents opens the server's event stream from the first event, showing
// only the types.
func (s *server) mustEvents(t *testing.T, token string, types ...string) *e2eStream {
	t.Helper()
	return s.openStream(t, token, "/switchboard/v1/events?after=0&types="+strings.Join(types, ","), -1)
}

// nextOf returns the stream's next event of the type, skipping others.
func (st *e2eStream) nextOf(t *testing.T, typ string) e2eEvent {
	t.Helper()
	for {
		if ev := st.next(t); ev.event == typ {
			return ev
		}
	}
}

// customerMail returns an email from Ann to the inbox answering inReplyTo,
// with extra headers.
func customerMail(messageID, inReplyTo, body string, extra ...string) string {
	h := "From: Ann <ann@example.com>\r\nTo: help@acme.example\r\nSubject: Re: Your order\r\n" +
		"Message-ID: " + messageID + "\r\nIn-Reply-To: " + inReplyTo + "\r\nReferences: " + inReplyTo + "\r\n" +
		"Date: Sat, 05 Dec 2026 10:00:00 +0000\r\n"
	for _, x := range extra {
		h += x + "\r\n"
	}
	return h + "\r\n" + body + "\r\n"
}

// bounceMail returns a delivery status report (RFC 3464) saying the email
// sentID could not be delivered to ann@example.com.
func bounceMail(messageID, sentID string) string {
	return "From: Mail Delivery System <MAILER-DAEMON@mx.example.com>\r\nTo: help@acme.example\r\n" +
		"Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: " + messageID + "\r\n" +
		"Date: Sat, 05 Dec 2026 10:00:00 +0000\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/report; report-type=delivery-status; boundary=\"b1\"\r\n\r\n" +
		"--b1\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n" +
		"--b1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.com\r\n\r\n" +
		"Final-Recipient: rfc822; ann@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n" +
		"Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n" +
		"--b1\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: help@acme.example\r\nTo: ann@example.com\r\n" +
		"Subject: Your order\r\nMessage-ID: " + sentID + "\r\n--b1--\r\n"
}

// TestE2E_InboundEmail runs the real binary with its SMTP receiver: an
// agent's email through Acquire goes out by the relay; the customer's reply,
// sent to the receiver, lands in the same case in HelpCrunch and Acquire
// and in the event stream, and, the case being a visitor's offline message,
// in REVE; a bounce marks the email failed; an auto-reply leaves a closed
// case closed.
func TestE2E_InboundEmail(t *testing.T) {
	bin := mustBuild(t)
	for _, b := range storetest.Backends(t) {
		t.Run(string(b), func(t *testing.T) {
			mb := mustMailbox(t)
			dbURL := storetest.MustURL(t, b)
			t.Setenv("SWITCHBOARD_SMTP_URL", "smtp://"+mb.addr)
			t.Setenv("SWITCHBOARD_SMTP_LISTEN", "127.0.0.1:0")
			t.Setenv("SWITCHBOARD_SMTP_DOMAIN", "mx.acme.example")
			s := mustStart(t, bin, dbURL)
			adminEmail, password, token := binarytest.MustCredentials(t, s.stdout)
			mx := s.smtpAddr(t)
			c := cli{dbURL: dbURL}
			c.mustID(t, "inbox", "create", "--account", "1", "--kind", "email", "--address", "help@acme.example")
			events := s.mustEvents(t, token, "message.created", "delivery.failed", "auto_reply.received", "case.closed")

			// Ann's offline message arrives through CallGear's upload; REVE
			// shows it.
			site := c.mustID(t, "site", "create", "--account", "1", "--domain", "shop.example")
			code, body := s.call(t, http.MethodPost, "/data-api/v2.0", "", "", map[string]any{
				"jsonrpc": "2.0", "id": 1, "method": "upload.offline_messages", "params": map[string]any{
					"access_token": token, "offline_messages": []map[string]any{{
						"date_time": time.Now().UTC().Add(-time.Hour).Format(time.DateTime), "name": "Ann", "email": "ann@example.com",
						"message": "Where is my order?", "site_id": site,
					}},
				},
			})
			var up struct {
				Result struct{ Data []struct{ ID int64 } }
			}
			mustJSON(t, "upload.offline_messages", body, &up)
			if code != 200 || len(up.Result.Data) != 1 {
				t.Fatalf("upload.offline_messages = %d %s", code, body)
			}
			chat := struct{ ID int64 }{up.Result.Data[0].ID}
			code, body = s.get(t, fmt.Sprint("/api/offlinemessages/", chat.ID), adminEmail, password)
			var detail struct {
				VisitorID int64 `json:"visitor_id"`
			}
			mustJSON(t, "REVE detail", body, &detail)
			if code != 200 || detail.VisitorID == 0 {
				t.Fatalf("REVE offline message = %d %s", code, body)
			}
			cust := struct{ ID int64 }{detail.VisitorID}

			// The agent's email, through Acquire, out by the relay.
			code, body = s.call(t, http.MethodPost, "/api/v1/mail/add-message", token, "", map[string]any{"data": map[string]any{
				"caseId": chat.ID, "to": []string{"ann@example.com"}, "from": "help@acme.example", "cc": []string{}, "bcc": []string{},
				"subject": "Your order", "contactId": cust.ID, "type": "message", "textBody": "Your order ships today",
				"htmlBody": "<p>Your order ships today</p>", "attachments": []any{},
			}})
			if code != 200 {
				t.Fatalf("mail/add-message = %d %s", code, body)
			}
			waitFor(t, "the email at the relay", func() bool { return len(mb.mails()) == 1 })
			sentID := mb.mails()[0].msg.Header.Get("Message-Id")
			if sentID == "" {
				t.Fatal("the email went out without a Message-ID")
			}

			// The customer's reply, to the receiver.
			reply := customerMail("<reply1@example.com>", sentID, "Thanks, it arrived")
			if err := smtp.SendMail(mx, nil, "ann@example.com", []string{"help@acme.example"}, []byte(reply)); err != nil {
				t.Fatalf("reply: %v", err)
			}
			code, body = s.call(t, http.MethodGet, fmt.Sprintf("/v1/chats/%d/messages", chat.ID), token, "", nil)
			if code != 200 || !strings.Contains(body, "Thanks, it arrived") {
				t.Errorf("HelpCrunch messages of the chat = %d %s, want the reply", code, body)
			}
			code, body = s.call(t, http.MethodGet, fmt.Sprintf("/api/v1/crm/messenger/chat/messages?contactId=%d&threadId=%d", cust.ID, chat.ID), token, "", nil)
			if code != 200 || !strings.Contains(body, "Thanks, it arrived") {
				t.Errorf("Acquire messages of the case = %d %s, want the reply", code, body)
			}
			code, body = s.get(t, fmt.Sprint("/api/offlinemessages/", chat.ID), adminEmail, password)
			if code != 200 || !strings.Contains(body, `"reply_message":"Thanks, it arrived`) || !strings.Contains(body, `"unread":1`) {
				t.Errorf("REVE offline message = %d %s, want the reply among its replies, unread", code, body)
			}
			var ev struct {
				CaseID    int64 `json:"case_id"`
				ContactID int64 `json:"contact_id"`
				AgentID   int64 `json:"agent_id"`
			}
			for ev.AgentID != 0 || ev.CaseID == 0 { // the agent's email first, then the reply
				ev.CaseID, ev.AgentID = 0, 0
				mustJSON(t, "event", events.nextOf(t, "message.created").data, &ev)
			}
			if ev.CaseID != chat.ID {
				t.Errorf("the reply's message.created is in case %d, want %d", ev.CaseID, chat.ID)
			}
			// A sender that retries (it never heard our 250) makes no
			// second message.
			if err := smtp.SendMail(mx, nil, "ann@example.com", []string{"help@acme.example"}, []byte(reply)); err != nil {
				t.Fatalf("reply again: %v", err)
			}
			// Mail for an address that is no inbox is refused: never a relay.
			if err := smtp.SendMail(mx, nil, "ann@example.com", []string{"someone@elsewhere.example"}, []byte(reply)); err == nil ||
				!strings.Contains(err.Error(), "550") {
				t.Errorf("mail for another domain: %v, want 550", err)
			}

			st := storetest.MustOpenURL(t, dbURL)
			var replies int64
			st.GORM().Model(&models.Message{}).Where("case_id = ? AND source_ref = ?", chat.ID, "<reply1@example.com>").Count(&replies)
			if replies != 1 {
				t.Errorf("%d messages of the reply, want 1", replies)
			}

			// A bounce for the sent email marks it failed.
			bounce := bounceMail("<bounce1@mx.example.com>", sentID)
			{
				if err := smtp.SendMail(mx, nil, "", []string{"help@acme.example"}, []byte(bounce)); err != nil {
					t.Fatalf("bounce: %v", err)
				}
				failed := events.nextOf(t, "delivery.failed")
				if !strings.Contains(failed.data, `"bounce":true`) {
					t.Errorf("delivery.failed %s, want a bounce", failed.data)
				}
				var m models.Message
				st.GORM().Where("case_id = ? AND sender = ?", chat.ID, models.SenderAgent).Take(&m)
				if m.DeliveryStatus != string(models.DeliveryFailed) || !strings.Contains(m.FailReason, "5.1.1") {
					t.Errorf("sent email: status %q reason %q, want failed 5.1.1", m.DeliveryStatus, m.FailReason)
				}

				// An auto-reply to a closed case leaves it closed.
				code, body = s.call(t, http.MethodPut, fmt.Sprintf("/v1/chats/%d/status", chat.ID), token, "", map[string]any{"status": "closed"})
				if code != 200 {
					t.Fatalf("close the chat = %d %s", code, body)
				}
				auto := customerMail("<auto1@example.com>", sentID, "I am away until Monday", "Auto-Submitted: auto-replied")
				if err := smtp.SendMail(mx, nil, "ann@example.com", []string{"help@acme.example"}, []byte(auto)); err != nil {
					t.Fatalf("auto-reply: %v", err)
				}
				if got := events.nextOf(t, "auto_reply.received"); !strings.Contains(got.data, "auto1@example.com") {
					t.Errorf("auto_reply.received %s, want the auto-reply", got.data)
				}
				var cs models.Case
				st.GORM().Take(&cs, chat.ID)
				if cs.Status != models.StatusClosed {
					t.Errorf("case status %q after the auto-reply, want closed", cs.Status)
				}
				code, body = s.call(t, http.MethodGet, fmt.Sprintf("/v1/chats/%d/messages", chat.ID), token, "", nil)
				if code != 200 || strings.Contains(body, "away until Monday") {
					t.Errorf("HelpCrunch messages = %d %s: the auto-reply is no message", code, body)
				}
			}
			st.Close()
			if err := s.stop(t); err != nil {
				t.Errorf("exit after SIGTERM: %v\n%s", err, s.logs.String())
			}
		})
	}
}

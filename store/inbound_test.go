package store_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

// inboxID returns the id of the account's inbox of kind.
func inboxID(t *testing.T, s *store.Store, accountID int64, kind models.InboxKind) int64 {
	t.Helper()
	var id int64
	if err := s.GORM().Raw("SELECT id FROM inboxes WHERE account_id = ? AND kind = ?", accountID, kind).Scan(&id).Error; err != nil || id == 0 {
		t.Fatalf("inbox of %s: %v", kind, err)
	}
	return id
}

// caseMessages returns the messages of the case, oldest first.
func caseMessages(t *testing.T, s *store.Store, accountID, caseID int64) []store.MessageView {
	t.Helper()
	ms, _, err := s.ListMessages(t.Context(), accountID, caseID, store.MessageQuery{Limit: 100, Oldest: true})
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// eventTypes returns the types of the account's events after seq, in order.
func eventTypes(t *testing.T, s *store.Store, accountID, after int64) []models.EventType {
	t.Helper()
	evs, err := s.Events(t.Context(), accountID, store.EventFilter{After: after})
	if err != nil {
		t.Fatal(err)
	}
	out := []models.EventType{}
	for _, e := range evs {
		out = append(out, e.Type)
	}
	return out
}

func sameTypes(a, b []models.EventType) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// mustSentEmail sends an agent's email in the fixture's case and records it
// sent; it returns the message and its Message-ID.
func mustSentEmail(t *testing.T, s *store.Store, f outboxFixture) (models.Message, string) {
	t.Helper()
	sm, err := s.AddEmail(t.Context(), f.acct.ID, f.c.ID, f.email(nil))
	if err != nil {
		t.Fatal(err)
	}
	claimed, err := s.ClaimDeliveries(t.Context(), []models.InboxKind{models.InboxEmail}, 10, time.Minute)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim: %v, %d rows", err, len(claimed))
	}
	d := claimed[0].Delivery
	if err := s.DeliverySent(t.Context(), d.ID, d.Attempts, "", time.Now()); err != nil {
		t.Fatal(err)
	}
	return sm.Message, d.Reference
}

func inboundEmail(id string, mod func(*store.InboundEmail)) store.InboundEmail {
	in := store.InboundEmail{
		MessageID: id, From: "Bob@Example.com", FromName: "Bob Smith", To: []string{"help@acme.example"},
		Cc: []string{"carol@example.com", "not an address"}, Subject: "Printer on fire", TextBody: "It is on fire.",
		HTMLBody: "<p>It is on fire.</p>", HTMLOriginal: `<p onclick="x()">It is on fire.</p>`,
		Attachments: []store.NewAttachment{{Name: "../photo.jpg", ContentType: "image/jpeg", Content: []byte{0xff, 0xd8, 1, 2}}},
	}
	if mod != nil {
		mod(&in)
	}
	return in
}

func TestStore_ReceiveEmail(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		f := mustOutboxFixture(t, s)
		inbox := inboxID(t, s, f.acct.ID, models.InboxEmail)

		t.Run("a new sender opens a case", func(t *testing.T) {
			before := lastSeq(t, s, f.acct.ID)
			res, err := s.ReceiveEmail(ctx, inbox, inboundEmail("<new-1@example.com>", nil))
			if err != nil {
				t.Fatal(err)
			}
			if res.Outcome != store.InboundMessage || !res.CaseCreated || res.Reopened || res.AccountID != f.acct.ID {
				t.Fatalf("result %+v; want a message in a new case", res)
			}
			v, err := s.Case(ctx, f.acct.ID, res.CaseID)
			if err != nil {
				t.Fatal(err)
			}
			if v.Channel != models.ChannelEmail || v.Status != models.StatusNew || v.Initiator != models.InitiatorContact ||
				v.Subject != "Printer on fire" || v.Contact.Email != "bob@example.com" || v.Contact.Name != "Bob Smith" {
				t.Errorf("case %+v, contact %+v", v.Case, v.Contact)
			}
			ms := caseMessages(t, s, f.acct.ID, res.CaseID)
			if len(ms) != 1 {
				t.Fatalf("%d messages, want 1", len(ms))
			}
			m := ms[0].Message
			if m.ID != res.MessageID || m.Sender != models.SenderContact || m.SourceRef != "<new-1@example.com>" ||
				m.EmailFrom != "bob@example.com" || m.EmailCc != `["carol@example.com"]` || m.EmailSubject != "Printer on fire" ||
				m.HTMLBody != "<p>It is on fire.</p>" || m.HTMLOriginal != `<p onclick="x()">It is on fire.</p>` || m.DeliveryStatus != "" {
				t.Errorf("message %+v", m)
			}
			var files []models.Attachment
			if err := s.GORM().Where("message_id = ?", m.ID).Find(&files).Error; err != nil {
				t.Fatal(err)
			}
			if len(files) != 1 || files[0].Name != "photo.jpg" || files[0].Size != 4 {
				t.Errorf("attachments %+v; want photo.jpg of 4 bytes, its path dropped", files)
			}
			want := []models.EventType{models.EventContactCreated, models.EventCaseCreated, models.EventMessageCreated}
			if got := eventTypes(t, s, f.acct.ID, before); !sameTypes(got, want) {
				t.Errorf("events %v, want %v", got, want)
			}
		})

		t.Run("a known sender's contact is reused", func(t *testing.T) {
			res, err := s.ReceiveEmail(ctx, inbox, inboundEmail("<new-2@example.com>", func(in *store.InboundEmail) { in.From = "ann@example.com" }))
			if err != nil {
				t.Fatal(err)
			}
			v, err := s.Case(ctx, f.acct.ID, res.CaseID)
			if err != nil {
				t.Fatal(err)
			}
			if !res.CaseCreated || v.ContactID != f.contact.ID {
				t.Errorf("case of contact %d (created %v); want a new case of the existing contact %d", v.ContactID, res.CaseCreated, f.contact.ID)
			}
		})

		t.Run("the same Message-ID twice is one message", func(t *testing.T) {
			first, err := s.ReceiveEmail(ctx, inbox, inboundEmail("<dup@example.com>", nil))
			if err != nil {
				t.Fatal(err)
			}
			counts := outboxCounts(t, s, f.acct.ID)
			seq := lastSeq(t, s, f.acct.ID)
			again, err := s.ReceiveEmail(ctx, inbox, inboundEmail("<dup@example.com>", func(in *store.InboundEmail) { in.Subject = "changed" }))
			if err != nil {
				t.Fatal(err)
			}
			if again.Outcome != store.InboundDuplicate || again.MessageID != first.MessageID || again.CaseID != first.CaseID {
				t.Errorf("second arrival %+v; want the duplicate of %+v", again, first)
			}
			if outboxCounts(t, s, f.acct.ID) != counts || lastSeq(t, s, f.acct.ID) != seq {
				t.Error("a duplicate wrote something")
			}
		})

		t.Run("a reply to a sent email joins its case and reopens it", func(t *testing.T) {
			sent, ref := mustSentEmail(t, s, f)
			if _, err := s.SetCaseStatus(ctx, f.acct.ID, f.c.ID, models.StatusClosed, nil); err != nil {
				t.Fatal(err)
			}
			before := lastSeq(t, s, f.acct.ID)
			res, err := s.ReceiveEmail(ctx, inbox, inboundEmail("<reply-1@example.com>", func(in *store.InboundEmail) {
				in.From, in.References = "someone-else@example.com", []string{"<unknown@example.com>", ref}
			}))
			if err != nil {
				t.Fatal(err)
			}
			if res.Outcome != store.InboundMessage || res.CaseID != sent.CaseID || res.CaseCreated || !res.Reopened {
				t.Fatalf("result %+v; want a message in case %d, reopened", res, sent.CaseID)
			}
			v, err := s.Case(ctx, f.acct.ID, f.c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if v.Status != models.StatusOpen || v.ClosedAt != nil || v.LastMessageID == nil || *v.LastMessageID != res.MessageID {
				t.Errorf("case after the reply: status %s, closed at %v, last message %v", v.Status, v.ClosedAt, v.LastMessageID)
			}
			want := []models.EventType{models.EventMessageCreated, models.EventCaseStatusChanged}
			if got := eventTypes(t, s, f.acct.ID, before); !sameTypes(got, want) {
				t.Errorf("events %v, want %v", got, want)
			}

			// A reply to that reply threads by the Message-ID received.
			next, err := s.ReceiveEmail(ctx, inbox, inboundEmail("<reply-2@example.com>", func(in *store.InboundEmail) {
				in.References = []string{"<reply-1@example.com>"}
			}))
			if err != nil || next.CaseID != f.c.ID || next.CaseCreated {
				t.Errorf("reply to a received email: %+v, %v; want case %d", next, err, f.c.ID)
			}
		})

		t.Run("another account's Message-IDs thread nothing", func(t *testing.T) {
			other := storetest.MustAccount(t, s, "C")
			in, err := s.CreateInbox(ctx, other.ID, models.InboxEmail, "help@c.example")
			if err != nil {
				t.Fatal(err)
			}
			res, err := s.ReceiveEmail(ctx, in.ID, inboundEmail("<cross@example.com>", func(in *store.InboundEmail) {
				in.References = []string{"<reply-1@example.com>"}
			}))
			if err != nil || !res.CaseCreated || res.AccountID != other.ID {
				t.Errorf("result %+v, %v; want a new case of account %d", res, err, other.ID)
			}
		})

		t.Run("an auto-reply is an event and reopens nothing", func(t *testing.T) {
			_, ref := mustSentEmail(t, s, f)
			if _, err := s.SetCaseStatus(ctx, f.acct.ID, f.c.ID, models.StatusClosed, nil); err != nil {
				t.Fatal(err)
			}
			counts := outboxCounts(t, s, f.acct.ID)
			before := lastSeq(t, s, f.acct.ID)
			res, err := s.ReceiveEmail(ctx, inbox, inboundEmail("<ooo@example.com>", func(in *store.InboundEmail) {
				in.References, in.AutoReply = []string{ref}, "Auto-Submitted: auto-replied"
			}))
			if err != nil {
				t.Fatal(err)
			}
			if res.Outcome != store.InboundAutoReply || res.CaseID != f.c.ID || res.MessageID != 0 {
				t.Errorf("result %+v; want an auto-reply about case %d", res, f.c.ID)
			}
			if v, _ := s.Case(ctx, f.acct.ID, f.c.ID); v.Status != models.StatusClosed {
				t.Errorf("the case is %s after an auto-reply, want closed", v.Status)
			}
			if outboxCounts(t, s, f.acct.ID) != counts {
				t.Error("an auto-reply wrote a message")
			}
			evs, err := s.Events(ctx, f.acct.ID, store.EventFilter{After: before})
			if err != nil || len(evs) != 1 || evs[0].Type != models.EventAutoReplyReceived || evs[0].CaseID != f.c.ID {
				t.Errorf("events %+v, %v; want one auto_reply.received of the case", evs, err)
			}
		})

		t.Run("a bounce fails the email it names", func(t *testing.T) {
			if _, err := s.SetCaseStatus(ctx, f.acct.ID, f.c.ID, models.StatusOpen, nil); err != nil {
				t.Fatal(err)
			}
			sent, ref := mustSentEmail(t, s, f)
			counts := outboxCounts(t, s, f.acct.ID)
			res, err := s.ReceiveEmail(ctx, inbox, inboundEmail("<dsn-1@mx.example.com>", func(in *store.InboundEmail) {
				in.From, in.Bounce = "mailer-daemon@mx.example.com", &store.Bounce{MessageIDs: []string{ref}, Reason: "5.1.1 user unknown"}
			}))
			if err != nil {
				t.Fatal(err)
			}
			if res.Outcome != store.InboundBounce || res.MessageID != sent.ID || res.CaseID != sent.CaseID {
				t.Fatalf("result %+v; want a bounce of message %d", res, sent.ID)
			}
			var m models.Message
			if err := s.GORM().Take(&m, sent.ID).Error; err != nil {
				t.Fatal(err)
			}
			if m.DeliveryStatus != string(models.DeliveryFailed) || m.FailReason != "5.1.1 user unknown" || m.FailedAt == nil {
				t.Errorf("bounced message: status %q reason %q failed at %v", m.DeliveryStatus, m.FailReason, m.FailedAt)
			}
			if outboxCounts(t, s, f.acct.ID) != counts {
				t.Error("a bounce wrote a message")
			}

			again, err := s.ReceiveEmail(ctx, inbox, inboundEmail("<dsn-2@mx.example.com>", func(in *store.InboundEmail) {
				in.Bounce = &store.Bounce{MessageIDs: []string{ref}, Reason: "again"}
			}))
			if err != nil || again.Outcome != store.InboundBounceUnmatched {
				t.Errorf("a second bounce of a failed email: %+v, %v; want unmatched", again, err)
			}
			none, err := s.ReceiveEmail(ctx, inbox, inboundEmail("<dsn-3@mx.example.com>", func(in *store.InboundEmail) {
				in.Bounce = &store.Bounce{MessageIDs: []string{"<never-sent@acme.example>"}}
			}))
			if err != nil || none.Outcome != store.InboundBounceUnmatched || outboxCounts(t, s, f.acct.ID) != counts {
				t.Errorf("a bounce of an email never sent: %+v, %v; want unmatched and nothing written", none, err)
			}
		})

		t.Run("bad input writes nothing", func(t *testing.T) {
			sms := inboxID(t, s, f.acct.ID, models.InboxSMS)
			counts := outboxCounts(t, s, f.acct.ID)
			cases := []struct {
				name  string
				inbox int64
				in    store.InboundEmail
				want  error
			}{
				{"an SMS inbox", sms, inboundEmail("<x1@example.com>", nil), store.ErrNotFound},
				{"no such inbox", 99999, inboundEmail("<x2@example.com>", nil), store.ErrNotFound},
				{"no Message-ID", inbox, inboundEmail(" ", nil), nil},
				{"no sender address", inbox, inboundEmail("<x3@example.com>", func(in *store.InboundEmail) { in.From = "bob" }), nil},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					_, err := s.ReceiveEmail(ctx, tc.inbox, tc.in)
					var fe store.FieldErrors
					if tc.want != nil && !errors.Is(err, tc.want) || tc.want == nil && !errors.As(err, &fe) {
						t.Errorf("err %v, want %v", err, tc.want)
					}
				})
			}
			if outboxCounts(t, s, f.acct.ID) != counts {
				t.Error("bad input wrote a message")
			}
		})

		t.Run("unstorable text is kept, made storable", func(t *testing.T) {
			res, err := s.ReceiveEmail(ctx, inbox, inboundEmail("<bytes@example.com>", func(in *store.InboundEmail) {
				in.Subject, in.TextBody = "a\r\nb\x00c", "x\x00y\xffz"
			}))
			if err != nil {
				t.Fatal(err)
			}
			m := caseMessages(t, s, f.acct.ID, res.CaseID)[0].Message
			if m.EmailSubject != "a  bc" || m.Text != "xy\uFFFDz" {
				t.Errorf("subject %q text %q", m.EmailSubject, m.Text)
			}
		})

		t.Run("concurrent arrivals of one message record it once", func(t *testing.T) {
			var wg sync.WaitGroup
			results := make([]store.InboundResult, 4)
			errs := make([]error, 4)
			for i := range results {
				wg.Add(1)
				go func() {
					defer wg.Done()
					results[i], errs[i] = s.ReceiveEmail(ctx, inbox, inboundEmail("<race@example.com>", nil))
				}()
			}
			wg.Wait()
			created := 0
			for i, r := range results {
				if errs[i] != nil {
					t.Fatalf("arrival %d: %v", i, errs[i])
				}
				if r.Outcome == store.InboundMessage {
					created++
				}
				if r.MessageID != results[0].MessageID {
					t.Errorf("arrival %d names message %d, the first %d", i, r.MessageID, results[0].MessageID)
				}
			}
			if created != 1 {
				t.Errorf("%d arrivals recorded the message, want 1", created)
			}
		})
	})
}

func TestStore_EmailInboxes(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		f := mustOutboxFixture(t, s)
		got, err := s.EmailInboxes(t.Context(), " HELP@acme.example ")
		if err != nil || len(got) != 1 || got[0].AccountID != f.acct.ID {
			t.Errorf("EmailInboxes = %+v, %v; want the account's inbox", got, err)
		}
		got, err = s.EmailInboxes(t.Context(), "+14155550150")
		if err != nil || len(got) != 0 {
			t.Errorf("EmailInboxes of an SMS number = %+v, %v; want none", got, err)
		}
	})
}

func inboundSMS(sid, body string) store.InboundSMS {
	return store.InboundSMS{SID: sid, From: "+1 415 555 0199", To: "+14155550150", Body: body}
}

func TestStore_ReceiveSMS(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		f := mustOutboxFixture(t, s)

		first, err := s.ReceiveSMS(ctx, inboundSMS("SM001", "Hello?"))
		if err != nil || len(first) != 1 {
			t.Fatalf("ReceiveSMS = %+v, %v", first, err)
		}
		r := first[0]
		v, err := s.Case(ctx, f.acct.ID, r.CaseID)
		if err != nil {
			t.Fatal(err)
		}
		if r.Outcome != store.InboundMessage || !r.CaseCreated || v.Channel != models.ChannelSMS || v.Contact.Phone != "+14155550199" {
			t.Fatalf("result %+v, case %+v", r, v.Case)
		}
		m := caseMessages(t, s, f.acct.ID, r.CaseID)[0].Message
		if m.SMSFrom != "+14155550199" || m.SMSTo != "+14155550150" || m.Text != "Hello?" || m.SourceRef != "SM001" {
			t.Errorf("message %+v", m)
		}

		t.Run("the next SMS joins the open case", func(t *testing.T) {
			in := inboundSMS("SM002", "Anyone?")
			in.Media = []store.NewAttachment{{Name: "media-0", ContentType: "image/png", SourceURL: "https://api.example.com/media/1"}}
			got, err := s.ReceiveSMS(ctx, in)
			if err != nil || got[0].CaseID != r.CaseID || got[0].CaseCreated {
				t.Errorf("second SMS: %+v, %v; want case %d", got, err, r.CaseID)
			}
			var files []models.Attachment
			s.GORM().Where("message_id = ?", got[0].MessageID).Find(&files)
			if len(files) != 1 || files[0].SourceURL != "https://api.example.com/media/1" {
				t.Errorf("media %+v", files)
			}
		})

		t.Run("the same sid twice is one message", func(t *testing.T) {
			counts := outboxCounts(t, s, f.acct.ID)
			got, err := s.ReceiveSMS(ctx, inboundSMS("SM002", "Anyone?"))
			if err != nil || got[0].Outcome != store.InboundDuplicate || outboxCounts(t, s, f.acct.ID) != counts {
				t.Errorf("replay: %+v, %v", got, err)
			}
		})

		t.Run("after the case closes a new one opens", func(t *testing.T) {
			if _, err := s.SetCaseStatus(ctx, f.acct.ID, r.CaseID, models.StatusClosed, nil); err != nil {
				t.Fatal(err)
			}
			got, err := s.ReceiveSMS(ctx, inboundSMS("SM003", "Back again"))
			if err != nil || !got[0].CaseCreated || got[0].CaseID == r.CaseID {
				t.Errorf("SMS after close: %+v, %v; want a new case", got, err)
			}
		})

		t.Run("STOP opts out and START opts back in", func(t *testing.T) {
			reply := func() error {
				_, err := s.AddSMS(ctx, f.acct.ID, f.c.ID, f.sms(func(in *store.NewSMS) { in.To = "+14155550199" }))
				return err
			}
			if err := reply(); err != nil {
				t.Fatalf("a reply before STOP: %v", err)
			}
			before := lastSeq(t, s, f.acct.ID)
			in := inboundSMS("SM004", "STOP")
			in.OptOut = new(true)
			if _, err := s.ReceiveSMS(ctx, in); err != nil {
				t.Fatal(err)
			}
			if out, err := s.OptedOut(ctx, f.acct.ID, "+14155550199"); err != nil || !out {
				t.Errorf("OptedOut after STOP = %v, %v", out, err)
			}
			if got := eventTypes(t, s, f.acct.ID, before); len(got) == 0 || got[len(got)-1] != models.EventSMSOptedOut {
				t.Errorf("events %v; want sms.opted_out last", got)
			}
			counts := outboxCounts(t, s, f.acct.ID)
			err := reply()
			var fe store.FieldErrors
			if !errors.As(err, &fe) || len(fe) != 1 || fe[0].Field != "to" || fe[0].Reason != store.ReasonOptedOut {
				t.Errorf("a reply after STOP: %v; want a field error on to, opted out", err)
			}
			if outboxCounts(t, s, f.acct.ID) != counts {
				t.Error("a refused reply wrote something")
			}
			in = inboundSMS("SM005", "start")
			in.OptOut = new(false)
			if _, err := s.ReceiveSMS(ctx, in); err != nil {
				t.Fatal(err)
			}
			if err := reply(); err != nil {
				t.Errorf("a reply after START: %v", err)
			}
		})

		t.Run("a number no account has", func(t *testing.T) {
			in := inboundSMS("SM006", "hi")
			in.To = "+14155550177"
			if _, err := s.ReceiveSMS(ctx, in); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("err %v, want ErrNotFound", err)
			}
		})

		t.Run("bad input", func(t *testing.T) {
			for name, in := range map[string]store.InboundSMS{
				"no sid":   {From: "+14155550199", To: "+14155550150", Body: "x"},
				"bad from": {SID: "SM007", From: "12", To: "+14155550150", Body: "x"},
			} {
				var fe store.FieldErrors
				if _, err := s.ReceiveSMS(ctx, in); !errors.As(err, &fe) {
					t.Errorf("%s: err %v, want FieldErrors", name, err)
				}
			}
		})
	})
}

func TestStore_SMSReceipt(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		f := mustOutboxFixture(t, s)
		send := func(sid string) models.Message {
			t.Helper()
			sm, err := s.AddSMS(ctx, f.acct.ID, f.c.ID, f.sms(nil))
			if err != nil {
				t.Fatal(err)
			}
			claimed, err := s.ClaimDeliveries(ctx, []models.InboxKind{models.InboxSMS}, 10, time.Minute)
			if err != nil || len(claimed) != 1 {
				t.Fatalf("claim: %v, %d", err, len(claimed))
			}
			if err := s.DeliverySent(ctx, claimed[0].Delivery.ID, claimed[0].Delivery.Attempts, sid, time.Now()); err != nil {
				t.Fatal(err)
			}
			return sm.Message
		}
		status := func(id int64) (models.Message, models.Delivery) {
			t.Helper()
			var m models.Message
			var d models.Delivery
			if err := s.GORM().Take(&m, id).Error; err != nil {
				t.Fatal(err)
			}
			if err := s.GORM().Take(&d, "message_id = ?", id).Error; err != nil {
				t.Fatal(err)
			}
			return m, d
		}
		delivered := send("SMaaa")
		failed := send("SMbbb")

		tests := []struct {
			name      string
			sid       string
			status    models.DeliveryStatus
			reason    string
			msg       int64
			outcome   store.InboundOutcome
			wantMsg   models.DeliveryStatus
			wantRow   models.DeliveryStatus
			wantEvent models.EventType
		}{
			{"sent says nothing new", "SMaaa", models.DeliverySent, "", delivered.ID, store.InboundDuplicate, models.DeliverySent, models.DeliverySent, ""},
			{"delivered", "SMaaa", models.DeliveryDelivered, "", delivered.ID, store.InboundMessage, models.DeliveryDelivered, models.DeliverySent, models.EventDeliveryDelivered},
			{"a late failure after delivered", "SMaaa", models.DeliveryUndelivered, "error 30003", delivered.ID, store.InboundDuplicate, models.DeliveryDelivered, models.DeliverySent, ""},
			{"undelivered", "SMbbb", models.DeliveryUndelivered, "error 30003", failed.ID, store.InboundMessage, models.DeliveryUndelivered, models.DeliveryFailed, models.EventDeliveryFailed},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				before := lastSeq(t, s, f.acct.ID)
				res, err := s.SMSReceipt(ctx, store.InboundReceipt{SID: tc.sid, Status: tc.status, Reason: tc.reason})
				if err != nil || res.Outcome != tc.outcome || res.MessageID != tc.msg {
					t.Fatalf("SMSReceipt = %+v, %v; want %s of message %d", res, err, tc.outcome, tc.msg)
				}
				m, d := status(tc.msg)
				if models.DeliveryStatus(m.DeliveryStatus) != tc.wantMsg || d.Status != tc.wantRow {
					t.Errorf("message %s, row %s; want %s, %s", m.DeliveryStatus, d.Status, tc.wantMsg, tc.wantRow)
				}
				got := eventTypes(t, s, f.acct.ID, before)
				if tc.wantEvent == "" && len(got) != 0 || tc.wantEvent != "" && !sameTypes(got, []models.EventType{tc.wantEvent}) {
					t.Errorf("events %v, want %q", got, tc.wantEvent)
				}
			})
		}
		if m, _ := status(failed.ID); m.FailReason != "error 30003" || m.FailedAt == nil {
			t.Errorf("undelivered message: reason %q, failed at %v", m.FailReason, m.FailedAt)
		}
		if _, err := s.SMSReceipt(ctx, store.InboundReceipt{SID: "SMzzz", Status: models.DeliveryDelivered}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("receipt of an unknown sid: %v, want ErrNotFound", err)
		}
	})
}

// TestStore_SMSReceipt_BeforeSent checks receipts that reach the store
// before the worker has recorded the send's answer (the provider may post
// its status callback first): they find the SMS by the delivery named in
// the callback's URL, keep its sid, and the worker's record of the send
// that follows does not undo what they said.
func TestStore_SMSReceipt_BeforeSent(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		f := mustOutboxFixture(t, s)
		// claim queues an SMS and claims it, as the worker does before it
		// posts to the provider.
		claim := func(t *testing.T) store.Outgoing {
			t.Helper()
			if _, err := s.AddSMS(ctx, f.acct.ID, f.c.ID, f.sms(nil)); err != nil {
				t.Fatal(err)
			}
			claimed, err := s.ClaimDeliveries(ctx, []models.InboxKind{models.InboxSMS}, 10, time.Minute)
			if err != nil || len(claimed) != 1 {
				t.Fatalf("claim: %v, %d", err, len(claimed))
			}
			if claimed[0].Delivery.Reference == "" {
				t.Fatal("an SMS delivery without a reference")
			}
			return claimed[0]
		}
		state := func(t *testing.T, o store.Outgoing) (models.Message, models.Delivery) {
			t.Helper()
			var m models.Message
			var d models.Delivery
			if err := s.GORM().Take(&m, o.Message.ID).Error; err != nil {
				t.Fatal(err)
			}
			if err := s.GORM().Take(&d, o.Delivery.ID).Error; err != nil {
				t.Fatal(err)
			}
			return m, d
		}

		t.Run("delivered, then the send's answer", func(t *testing.T) {
			o := claim(t)
			before := lastSeq(t, s, f.acct.ID)
			res, err := s.SMSReceipt(ctx, store.InboundReceipt{SID: "SMearly1", DeliveryID: o.Delivery.ID,
				Reference: o.Delivery.Reference, Status: models.DeliveryDelivered})
			if err != nil || res.Outcome != store.InboundMessage || res.MessageID != o.Message.ID {
				t.Fatalf("SMSReceipt = %+v, %v; want message %d", res, err, o.Message.ID)
			}
			if m, d := state(t, o); m.DeliveryStatus != string(models.DeliveryDelivered) || d.ProviderRef != "SMearly1" || d.Status != models.DeliverySending {
				t.Fatalf("after the receipt: message %q, delivery %s with sid %q; want delivered, still sending, SMearly1",
					m.DeliveryStatus, d.Status, d.ProviderRef)
			}
			if err := s.DeliverySent(ctx, o.Delivery.ID, o.Delivery.Attempts, "SMearly1", time.Now()); err != nil {
				t.Fatal(err)
			}
			m, d := state(t, o)
			if m.DeliveryStatus != string(models.DeliveryDelivered) || d.Status != models.DeliverySent {
				t.Errorf("after the send's answer: message %q, delivery %s; want delivered, sent", m.DeliveryStatus, d.Status)
			}
			if got := eventTypes(t, s, f.acct.ID, before); !sameTypes(got, []models.EventType{models.EventDeliveryDelivered, models.EventDeliverySent}) {
				t.Errorf("events %v", got)
			}
			// The provider's later receipts find it by its sid alone.
			res, err = s.SMSReceipt(ctx, store.InboundReceipt{SID: "SMearly1", Status: models.DeliveryDelivered})
			if err != nil || res.Outcome != store.InboundDuplicate {
				t.Errorf("a repeated receipt = %+v, %v; want a duplicate", res, err)
			}
		})

		t.Run("undelivered, then the send's answer", func(t *testing.T) {
			o := claim(t)
			if _, err := s.SMSReceipt(ctx, store.InboundReceipt{SID: "SMearly2", DeliveryID: o.Delivery.ID,
				Reference: o.Delivery.Reference, Status: models.DeliveryUndelivered, Reason: "error 30003"}); err != nil {
				t.Fatal(err)
			}
			err := s.DeliverySent(ctx, o.Delivery.ID, o.Delivery.Attempts, "SMearly2", time.Now())
			if !errors.Is(err, store.ErrConflict) {
				t.Errorf("the send's answer after a final failure: %v, want ErrConflict", err)
			}
			m, d := state(t, o)
			if m.DeliveryStatus != string(models.DeliveryUndelivered) || m.FailReason != "error 30003" || d.Status != models.DeliveryFailed {
				t.Errorf("message %q (%q), delivery %s; want undelivered, failed", m.DeliveryStatus, m.FailReason, d.Status)
			}
		})

		t.Run("a delivery that does not match", func(t *testing.T) {
			o := claim(t)
			for name, r := range map[string]store.InboundReceipt{
				"wrong reference": {SID: "SMearly3", DeliveryID: o.Delivery.ID, Reference: "not-" + o.Delivery.Reference},
				"wrong delivery":  {SID: "SMearly3", DeliveryID: o.Delivery.ID + 1000, Reference: o.Delivery.Reference},
				"no delivery":     {SID: "SMearly3"},
			} {
				r.Status = models.DeliveryDelivered
				if _, err := s.SMSReceipt(ctx, r); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("%s: %v, want ErrNotFound", name, err)
				}
			}
			if m, d := state(t, o); m.DeliveryStatus == string(models.DeliveryDelivered) || d.ProviderRef != "" {
				t.Errorf("a refused receipt changed the SMS: message %q, sid %q", m.DeliveryStatus, d.ProviderRef)
			}
		})
	})
}

// TestStore_ReceiveEmail_OfflineCase checks that a visitor's answer to an
// agent's email about an offline message shows in that offline message:
// as a reply under the visitor's name, counted, and the message unread.
func TestStore_ReceiveEmail_OfflineCase(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		f := mustOutboxFixture(t, s)
		visitor := storetest.MustContact(t, s, f.acct.ID, "Vera", "vera@example.com", "")
		oc := storetest.MustOfflineCase(t, s, f.acct.ID, visitor.ID, "Pricing", "How much?", time.Now().Add(-time.Hour))
		if err := s.GORM().Model(&models.Case{}).Where("id = ?", oc.ID).Update("unread", false).Error; err != nil {
			t.Fatal(err)
		}
		f.c.ID = oc.ID
		_, ref := mustSentEmail(t, s, f)
		res, err := s.ReceiveEmail(ctx, inboxID(t, s, f.acct.ID, models.InboxEmail), inboundEmail("<vera-1@example.com>", func(in *store.InboundEmail) {
			in.From, in.References, in.TextBody = "vera@example.com", []string{ref}, "Thanks, and for ten?"
		}))
		if err != nil || res.CaseID != oc.ID {
			t.Fatalf("ReceiveEmail = %+v, %v; want the offline case %d", res, err, oc.ID)
		}
		d, err := s.OfflineCase(ctx, f.acct.ID, oc.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Replies) != 2 || d.Replies[0].Text != "Thanks, and for ten?" || d.Replies[0].AgentID != 0 ||
			d.Replies[0].FirstName != "Vera" || d.Replies[0].Email != "vera@example.com" || d.Replies[1].AgentID != f.agent.ID {
			t.Errorf("replies %+v; want the visitor's answer, then the agent's email", d.Replies)
		}
		if d.Message != "How much?" || !d.Unread || d.ReplyCount != 2 {
			t.Errorf("offline case: message %q, unread %v, %d replies; want the first message, unread, 2", d.Message, d.Unread, d.ReplyCount)
		}
	})
}

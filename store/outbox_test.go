package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

// outboxFixture is an account with an email inbox, an SMS number, an agent
// and an open case of a contact, and a second account's case.
type outboxFixture struct {
	acct    models.Account
	agent   models.Agent
	contact models.Contact
	c       store.CaseView
	foreign store.CaseView
}

func mustOutboxFixture(t *testing.T, s *store.Store) outboxFixture {
	t.Helper()
	ctx := t.Context()
	var f outboxFixture
	f.acct = storetest.MustAccount(t, s, "A")
	other := storetest.MustAccount(t, s, "B")
	for _, in := range []struct {
		kind models.InboxKind
		addr string
	}{{models.InboxEmail, "help@acme.example"}, {models.InboxSMS, "+14155550150"}} {
		if _, err := s.CreateInbox(ctx, f.acct.ID, in.kind, in.addr); err != nil {
			t.Fatal(err)
		}
	}
	f.agent = storetest.MustAgent(t, s, f.acct.ID, "agent@acme.example", models.RoleAgent, hash)
	f.contact = storetest.MustContact(t, s, f.acct.ID, "Ann", "ann@example.com", "+14155550101")
	var err error
	if f.c, err = s.CreateCase(ctx, f.acct.ID, store.NewCase{ContactID: f.contact.ID, Channel: models.ChannelEmail}); err != nil {
		t.Fatal(err)
	}
	oc := storetest.MustContact(t, s, other.ID, "X", "", "")
	if f.foreign, err = s.CreateCase(ctx, other.ID, store.NewCase{ContactID: oc.ID}); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f outboxFixture) email(mod func(*store.NewEmail)) store.NewEmail {
	in := store.NewEmail{Sender: models.SenderAgent, AgentID: &f.agent.ID, From: "Help@Acme.example",
		To: []string{"ann@example.com"}, Cc: []string{"boss@example.com"}, Subject: "Re: ünïcode", TextBody: "Hi", HTMLBody: "<p>Hi</p>"}
	if mod != nil {
		mod(&in)
	}
	return in
}

func (f outboxFixture) sms(mod func(*store.NewSMS)) store.NewSMS {
	in := store.NewSMS{Sender: models.SenderAgent, AgentID: &f.agent.ID, From: "+14155550150", To: "+14155550101", Body: "Hi"}
	if mod != nil {
		mod(&in)
	}
	return in
}

// outboxCounts returns the account's messages and deliveries.
func outboxCounts(t *testing.T, s *store.Store, accountID int64) [2]int64 {
	t.Helper()
	var out [2]int64
	for i, table := range []string{"messages", "deliveries"} {
		if err := s.GORM().Raw("SELECT COUNT(*) FROM "+table+" WHERE account_id = ?", accountID).Scan(&out[i]).Error; err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func TestStore_AddEmail(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		f := mustOutboxFixture(t, s)
		ctx := t.Context()
		t.Run("agent reply queued", func(t *testing.T) {
			m, err := s.AddEmail(ctx, f.acct.ID, f.c.ID, f.email(nil))
			if err != nil {
				t.Fatal(err)
			}
			if m.Delivery == nil || m.Delivery.Status != models.DeliveryQueued || m.Delivery.Kind != models.InboxEmail ||
				m.Inbox.Address != "help@acme.example" || m.Agent == nil || m.DeliveryStatus != "queued" {
				t.Fatalf("sent = %+v, delivery %+v", m, m.Delivery)
			}
			if ref := m.Delivery.Reference; len(ref) < 10 || ref[0] != '<' || ref[len(ref)-len("@acme.example>"):] != "@acme.example>" {
				t.Errorf("Message-ID = %q, want <...@acme.example>", ref)
			}
			v, _ := s.Case(ctx, f.acct.ID, f.c.ID)
			if v.Status != models.StatusOpen || v.LastMessageID == nil || *v.LastMessageID != m.ID {
				t.Errorf("case after the reply = %+v", v.Case)
			}
		})
		t.Run("contact email recorded, not sent", func(t *testing.T) {
			m, err := s.AddEmail(ctx, f.acct.ID, f.c.ID, store.NewEmail{Sender: models.SenderContact, From: "ann@example.com",
				To: []string{"other@example.com", "help@acme.example"}, TextBody: "thanks"})
			if err != nil {
				t.Fatal(err)
			}
			if m.Delivery != nil || m.Inbox.Address != "help@acme.example" || m.DeliveryStatus != "" {
				t.Errorf("contact email = %+v", m)
			}
		})
		tests := []struct {
			name    string
			caseID  int64
			in      store.NewEmail
			want    error
			wantErr []string
		}{
			{"from not an inbox", f.c.ID, f.email(func(in *store.NewEmail) { in.From = "me@elsewhere.example" }), nil, []string{"from"}},
			{"contact to no inbox", f.c.ID, store.NewEmail{Sender: models.SenderContact, From: "ann@example.com", To: []string{"x@example.com"}, TextBody: "x"}, nil, []string{"to"}},
			{"every bad address", f.c.ID, f.email(func(in *store.NewEmail) {
				in.From, in.To, in.Cc, in.Bcc, in.TextBody, in.HTMLBody = "nope", nil, []string{"a@b.example", "bad"}, []string{"@"}, " ", ""
			}), nil, []string{"from", "to", "cc[1]", "bcc[0]", "text_body"}},
			{"too many recipients, a header in the subject", f.c.ID, f.email(func(in *store.NewEmail) {
				in.Bcc = make([]string, store.MaxRecipients)
				for i := range in.Bcc {
					in.Bcc[i] = "r@example.com"
				}
				in.Subject = "Hi\r\nBcc: everyone@example.com"
			}), nil, []string{"to", "subject"}},
			{"closed case", f.c.ID, f.email(nil), store.ErrCaseNotActive, nil},
			{"another account's case", f.foreign.ID, f.email(nil), store.ErrNotFound, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if tt.want == store.ErrCaseNotActive {
					if _, err := s.SetCaseStatus(ctx, f.acct.ID, f.c.ID, models.StatusClosed, nil); err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { s.SetCaseStatus(context.Background(), f.acct.ID, f.c.ID, models.StatusOpen, nil) })
				}
				before := outboxCounts(t, s, f.acct.ID)
				_, err := s.AddEmail(ctx, f.acct.ID, tt.caseID, tt.in)
				if tt.wantErr != nil {
					assertFields(t, err, tt.wantErr)
				} else if !errors.Is(err, tt.want) {
					t.Errorf("err = %v, want %v", err, tt.want)
				}
				if after := outboxCounts(t, s, f.acct.ID); after != before {
					t.Errorf("a refused email wrote: %v → %v", before, after)
				}
			})
		}
	})
}

func TestStore_AddSMS(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		f := mustOutboxFixture(t, s)
		ctx := t.Context()
		m, err := s.AddSMS(ctx, f.acct.ID, f.c.ID, f.sms(nil))
		if err != nil {
			t.Fatal(err)
		}
		if m.Delivery == nil || m.Delivery.Kind != models.InboxSMS || m.SMSFrom != "+14155550150" || m.Text != "Hi" {
			t.Errorf("sms = %+v", m)
		}
		tests := []struct {
			name    string
			in      store.NewSMS
			wantErr []string
		}{
			{"from not a number of the account", f.sms(func(in *store.NewSMS) { in.From = "+14155550198" }), []string{"from"}},
			{"contact to no number", f.sms(func(in *store.NewSMS) {
				in.Sender, in.AgentID, in.From, in.To = models.SenderContact, nil, "+14155550101", "+14155550198"
			}), []string{"to"}},
			{"every bad field", f.sms(func(in *store.NewSMS) { in.From, in.To, in.Body = "555", "+1 555", "" }), []string{"from", "to", "body"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := outboxCounts(t, s, f.acct.ID)
				_, err := s.AddSMS(ctx, f.acct.ID, f.c.ID, tt.in)
				assertFields(t, err, tt.wantErr)
				if after := outboxCounts(t, s, f.acct.ID); after != before {
					t.Errorf("a refused SMS wrote: %v → %v", before, after)
				}
			})
		}
	})
}

func TestStore_Quota(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		f := mustOutboxFixture(t, s)
		ctx := t.Context()
		two := 2
		if _, err := s.UpdateAccount(ctx, f.acct.ID, store.AccountUpdate{SMSPerHour: &two}); err != nil {
			t.Fatal(err)
		}
		// Concurrent sends of one account count one after another: exactly two pass.
		var wg sync.WaitGroup
		errs := make(chan error, 5)
		for range 5 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := s.AddSMS(context.Background(), f.acct.ID, f.c.ID, f.sms(nil))
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		var ok, refused int
		for err := range errs {
			var qe *store.QuotaError
			switch {
			case err == nil:
				ok++
			case errors.As(err, &qe) && errors.Is(err, store.ErrQuotaExceeded):
				refused++
				if qe.Limit != 2 || qe.RetryAfter <= 0 || qe.RetryAfter > time.Hour {
					t.Errorf("quota error = %+v", qe)
				}
			default:
				t.Errorf("unexpected error: %v", err)
			}
		}
		if ok != 2 || refused != 3 {
			t.Errorf("%d sent and %d refused, want 2 and 3", ok, refused)
		}
		// Email has its own quota; a contact's message spends none.
		if _, err := s.AddEmail(ctx, f.acct.ID, f.c.ID, f.email(nil)); err != nil {
			t.Errorf("email after the SMS quota: %v", err)
		}
		if _, err := s.AddSMS(ctx, f.acct.ID, f.c.ID, f.sms(func(in *store.NewSMS) {
			in.Sender, in.AgentID, in.From, in.To = models.SenderContact, nil, "+14155550101", "+14155550150"
		})); err != nil {
			t.Errorf("contact SMS after the quota: %v", err)
		}
	})
}

func TestStore_UpdateAccount(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		a := storetest.MustAccount(t, s, "A")
		if a.EmailsPerHour != store.DefaultEmailsPerHour || a.SMSPerHour != store.DefaultSMSPerHour {
			t.Errorf("new account quotas = %d/%d", a.EmailsPerHour, a.SMSPerHour)
		}
		name, tz, neg, zero := "B", "Europe/Riga", -1, 0
		tests := []struct {
			name    string
			id      int64
			in      store.AccountUpdate
			want    error
			wantErr []string
		}{
			{"rename and move", a.ID, store.AccountUpdate{Name: &name, Timezone: &tz, EmailsPerHour: &zero}, nil, nil},
			{"bad values", a.ID, store.AccountUpdate{Timezone: ptr("Mars/Base"), SMSPerHour: &neg}, nil, []string{"timezone", "sms_per_hour"}},
			{"unknown", 1 << 40, store.AccountUpdate{Name: &name}, store.ErrNotFound, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := s.UpdateAccount(t.Context(), tt.id, tt.in)
				if tt.wantErr != nil {
					assertFields(t, err, tt.wantErr)
					return
				}
				if !errors.Is(err, tt.want) {
					t.Fatalf("err = %v, want %v", err, tt.want)
				}
				if err == nil && (got.Name != "B" || got.Timezone != tz || got.EmailsPerHour != store.DefaultEmailsPerHour) {
					t.Errorf("updated = %+v", got)
				}
			})
		}
	})
}

func TestStore_ClaimDeliveries(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		f := mustOutboxFixture(t, s)
		ctx := t.Context()
		first, err := s.AddEmail(ctx, f.acct.ID, f.c.ID, f.email(nil))
		if err != nil {
			t.Fatal(err)
		}
		second, err := s.AddEmail(ctx, f.acct.ID, f.c.ID, f.email(func(in *store.NewEmail) { in.Bcc = []string{"audit@acme.example"} }))
		if err != nil {
			t.Fatal(err)
		}
		sms, err := s.AddSMS(ctx, f.acct.ID, f.c.ID, f.sms(nil))
		if err != nil {
			t.Fatal(err)
		}

		// Only the kinds asked for are claimed; SMS stays queued.
		got, err := s.ClaimDeliveries(ctx, []models.InboxKind{models.InboxEmail}, 10, time.Minute)
		if err != nil || len(got) != 2 {
			t.Fatalf("claim = %d, %v; want the 2 emails", len(got), err)
		}
		o := got[1]
		if o.Delivery.ID != second.Delivery.ID || o.Delivery.Attempts != 1 || o.Delivery.Status != models.DeliverySending ||
			len(o.To) != 1 || len(o.Cc) != 1 || len(o.Bcc) != 1 || o.Message.HTMLBody != "<p>Hi</p>" {
			t.Errorf("claimed = %+v", o)
		}
		if len(o.Thread) != 1 || o.Thread[0] != first.Delivery.Reference || len(got[0].Thread) != 0 {
			t.Errorf("threads = %v / %v, want the first email's Message-ID before the second", got[0].Thread, o.Thread)
		}
		if again, _ := s.ClaimDeliveries(ctx, []models.InboxKind{models.InboxEmail}, 10, time.Minute); len(again) != 0 {
			t.Errorf("leased rows claimed again: %d", len(again))
		}

		// Sent, failed for good, retried; records need the claim that holds the row.
		if err := s.DeliverySent(ctx, got[0].Delivery.ID, 1, "queue-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		if err := s.DeliverySent(ctx, got[0].Delivery.ID, 1, "queue-1", time.Now()); !errors.Is(err, store.ErrConflict) {
			t.Errorf("recording twice: err = %v, want ErrConflict", err)
		}
		if err := s.DeliveryFailed(ctx, got[1].Delivery.ID, 2, "stale claim", nil); !errors.Is(err, store.ErrConflict) {
			t.Errorf("a stale attempt: err = %v, want ErrConflict", err)
		}
		if err := s.DeliveryFailed(ctx, got[1].Delivery.ID, 1, "550 no such user", nil); err != nil {
			t.Fatal(err)
		}
		msgs, _, err := s.ListMessages(ctx, f.acct.ID, f.c.ID, store.MessageQuery{Limit: 10, Oldest: true})
		if err != nil {
			t.Fatal(err)
		}
		if m := msgs[0]; m.DeliveryStatus != "sent" || m.DeliveredAt == nil {
			t.Errorf("sent message = %+v", m.Message)
		}
		if m := msgs[1]; m.DeliveryStatus != "failed" || m.FailedAt == nil || m.FailReason != "550 no such user" {
			t.Errorf("failed message = %+v", m.Message)
		}

		// A lease that runs out makes the row due again, with its reference.
		claimed, err := s.ClaimDeliveries(ctx, []models.InboxKind{models.InboxSMS}, 10, -time.Second)
		if err != nil || len(claimed) != 1 {
			t.Fatalf("claim sms = %d, %v", len(claimed), err)
		}
		reclaimed, err := s.ClaimDeliveries(ctx, []models.InboxKind{models.InboxSMS}, 10, time.Minute)
		if err != nil || len(reclaimed) != 1 || reclaimed[0].Delivery.Attempts != 2 || reclaimed[0].Delivery.Reference != sms.Delivery.Reference {
			t.Fatalf("after the lease ran out = %+v, %v", reclaimed, err)
		}
		if err := s.DeliverySent(ctx, sms.Delivery.ID, 1, "SM1", time.Now()); !errors.Is(err, store.ErrConflict) {
			t.Errorf("the first claim recording after losing its lease: err = %v, want ErrConflict", err)
		}

		// Retry later, then release: due again at once, the attempt not counted.
		later := time.Now().Add(time.Hour)
		if err := s.DeliveryFailed(ctx, sms.Delivery.ID, 2, "503 busy", &later); err != nil {
			t.Fatal(err)
		}
		if due, _ := s.ClaimDeliveries(ctx, []models.InboxKind{models.InboxSMS}, 10, time.Minute); len(due) != 0 {
			t.Errorf("a row retried in an hour is due now")
		}
		if err := s.GORM().Exec("UPDATE deliveries SET next_attempt_at = ? WHERE id = ?", time.Now().Add(-time.Second), sms.Delivery.ID).Error; err != nil {
			t.Fatal(err)
		}
		due, err := s.ClaimDeliveries(ctx, []models.InboxKind{models.InboxSMS}, 10, time.Minute)
		if err != nil || len(due) != 1 || due[0].Delivery.Attempts != 3 || due[0].Delivery.LastError != "503 busy" {
			t.Fatalf("retry = %+v, %v", due, err)
		}
		if err := s.ReleaseDeliveries(ctx, map[int64]int{sms.Delivery.ID: 3}); err != nil {
			t.Fatal(err)
		}
		back, err := s.ClaimDeliveries(ctx, []models.InboxKind{models.InboxSMS}, 10, time.Minute)
		if err != nil || len(back) != 1 || back[0].Delivery.Attempts != 3 {
			t.Errorf("after release = %+v, %v; want due at once with the attempt not counted", back, err)
		}
	})
}

func TestStore_ClaimDeliveries_Concurrent(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		f := mustOutboxFixture(t, s)
		ctx := t.Context()
		const n = 40
		for range n {
			if _, err := s.AddSMS(ctx, f.acct.ID, f.c.ID, f.sms(nil)); err != nil {
				t.Fatal(err)
			}
		}
		var mu sync.Mutex
		seen := map[int64]int{}
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					got, err := s.ClaimDeliveries(context.Background(), []models.InboxKind{models.InboxSMS}, 3, time.Minute)
					if err != nil {
						t.Error(err)
						return
					}
					if len(got) == 0 {
						return
					}
					mu.Lock()
					for _, o := range got {
						seen[o.Delivery.ID]++
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if len(seen) != n {
			t.Errorf("claimed %d distinct rows, want %d", len(seen), n)
		}
		for id, c := range seen {
			if c != 1 {
				t.Errorf("delivery %d claimed %d times", id, c)
			}
		}
	})
}

// TestStore_WithCase checks that each write asked for the case answers with
// the case as it now is (status, last message, the writer among its agents),
// the same as a fresh read, and that without WithCase it does not.
func TestStore_WithCase(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		f := mustOutboxFixture(t, s)
		tests := []struct {
			name     string
			write    func(withCase bool) (store.MessageView, error)
			wantText string
		}{
			{"message", func(w bool) (store.MessageView, error) {
				return s.AddMessage(t.Context(), f.acct.ID, f.c.ID, store.NewMessage{Sender: models.SenderAgent, AgentID: &f.agent.ID,
					Kind: models.KindMessage, Text: "a reply", WithCase: w})
			}, "a reply"},
			{"email", func(w bool) (store.MessageView, error) {
				sm, err := s.AddEmail(t.Context(), f.acct.ID, f.c.ID, f.email(func(in *store.NewEmail) { in.TextBody, in.WithCase = "an email", w }))
				return sm.MessageView, err
			}, "an email"},
			{"sms", func(w bool) (store.MessageView, error) {
				sm, err := s.AddSMS(t.Context(), f.acct.ID, f.c.ID, f.sms(func(in *store.NewSMS) { in.Body, in.WithCase = "an sms", w }))
				return sm.MessageView, err
			}, "an sms"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				without, err := tt.write(false)
				if err != nil {
					t.Fatal(err)
				}
				if without.Case != nil {
					t.Errorf("without WithCase: Case = %+v, want nil", without.Case)
				}
				m, err := tt.write(true)
				if err != nil {
					t.Fatal(err)
				}
				if m.Case == nil {
					t.Fatal("with WithCase: Case = nil")
				}
				got := *m.Case
				if got.ID != f.c.ID || got.LastMessageID == nil || *got.LastMessageID != m.ID || got.LastMessageText != tt.wantText ||
					got.Status != models.StatusOpen || got.Contact.ID != f.contact.ID {
					t.Errorf("case = %+v; want case %d open with last message %d %q and contact %d", got, f.c.ID, m.ID, tt.wantText, f.contact.ID)
				}
				if len(got.Agents) != 1 || got.Agents[0].ID != f.agent.ID {
					t.Errorf("agents = %+v, want the writer", got.Agents)
				}
				fresh, err := s.Case(t.Context(), f.acct.ID, f.c.ID)
				if err != nil {
					t.Fatal(err)
				}
				if fresh.LastMessageText != got.LastMessageText || !fresh.UpdatedAt.Equal(got.UpdatedAt) || fresh.Status != got.Status {
					t.Errorf("answer %+v differs from a fresh read %+v", got, fresh)
				}
			})
		}
	})
}

package store_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

// webhookFixture is an account with a contact and an agent, and a helper
// that writes n messages into a new case of the contact.
type webhookFixture struct {
	s       *store.Store
	acct    models.Account
	agent   models.Agent
	contact models.Contact
}

func mustWebhookFixture(t *testing.T, s *store.Store) webhookFixture {
	t.Helper()
	f := webhookFixture{s: s, acct: storetest.MustAccount(t, s, "A")}
	f.agent = storetest.MustAgent(t, s, f.acct.ID, "agent@acme.example", models.RoleAgent, hash)
	f.contact = storetest.MustContact(t, s, f.acct.ID, "Ann", "ann@example.com", "")
	return f
}

// MustWebhook subscribes the fixture's account with the given types.
func (f webhookFixture) MustWebhook(tb testing.TB, types ...models.EventType) models.Webhook {
	tb.Helper()
	w, err := f.s.CreateWebhook(tb.Context(), f.acct.ID, store.NewWebhook{
		URL: "https://hooks.example/x", Format: models.FormatStandard, Types: types, Secret: "whsec_c2VjcmV0",
	})
	if err != nil {
		tb.Fatal(err)
	}
	return w
}

// MustMessages writes a case of the contact with n contact messages.
func (f webhookFixture) MustMessages(tb testing.TB, n int) {
	tb.Helper()
	ctx := tb.Context()
	c, err := f.s.CreateCase(ctx, f.acct.ID, store.NewCase{ContactID: f.contact.ID})
	if err != nil {
		tb.Fatal(err)
	}
	for i := range n {
		if _, err := f.s.AddMessage(ctx, f.acct.ID, c.ID, store.NewMessage{Sender: models.SenderContact,
			Kind: models.KindMessage, Text: fmt.Sprintf("m%d", i)}); err != nil {
			tb.Fatal(err)
		}
	}
}

// mustFanOut fans out with wants and returns how many rows it queued.
func mustFanOut(tb testing.TB, s *store.Store, wants store.WebhookWants) int {
	tb.Helper()
	n, err := s.FanOutWebhookEvents(tb.Context(), wants)
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

func TestStore_FanOutWebhookEvents(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		f := mustWebhookFixture(t, s)
		all := f.MustWebhook(t)
		msgs := f.MustWebhook(t, models.EventMessageCreated)
		off := f.MustWebhook(t)
		if _, err := s.DisableWebhook(ctx, f.acct.ID, off.ID, "test"); err != nil {
			t.Fatal(err)
		}
		before := f.MustWebhook(t) // its cursor: nothing before it is sent
		f.MustMessages(t, 3)

		t.Run("QueuesWhatEachWants", func(t *testing.T) {
			if got := mustFanOut(t, s, nil); got == 0 {
				t.Fatal("queued nothing")
			}
			evs, err := s.Events(ctx, f.acct.ID, store.EventFilter{})
			if err != nil {
				t.Fatal(err)
			}
			last := evs[len(evs)-1].Seq
			for _, tc := range []struct {
				name  string
				w     models.Webhook
				types map[models.EventType]bool // nil: every type
				none  bool
			}{
				{"All", all, nil, false},
				{"Messages", msgs, map[models.EventType]bool{models.EventMessageCreated: true}, false},
				{"Disabled", off, nil, true},
				{"After", before, nil, false},
			} {
				t.Run(tc.name, func(t *testing.T) {
					ds, err := s.WebhookDeliveries(ctx, f.acct.ID, tc.w.ID, store.WebhookDeliveryFilter{})
					if err != nil {
						t.Fatal(err)
					}
					var want []int64
					eventIDs := map[int64]int64{} // seq → id
					if !tc.none {
						for _, ev := range evs {
							eventIDs[ev.Seq] = ev.ID
							if ev.Seq > tc.w.Cursor && (tc.types == nil || tc.types[ev.Type]) {
								want = append(want, ev.Seq)
							}
						}
					}
					var got []int64
					for i := len(ds) - 1; i >= 0; i-- { // newest first
						got = append(got, ds[i].EventSeq)
						d := ds[i]
						if d.Status != models.DeliveryQueued || d.Reference == "" || d.Attempts != 0 || d.LastAttemptAt != nil ||
							d.AccountID != f.acct.ID || d.EventID != eventIDs[d.EventSeq] || d.NextAttemptAt.IsZero() ||
							d.CreatedAt.IsZero() || d.NextAttemptAt.After(time.Now().Add(time.Minute)) {
							t.Errorf("delivery %+v: want queued and due, with a reference, of event %d, never tried", d, eventIDs[d.EventSeq])
						}
					}
					if fmt.Sprint(got) != fmt.Sprint(want) {
						t.Errorf("queued seqs %v, want %v", got, want)
					}
					w, err := s.Webhook(ctx, f.acct.ID, tc.w.ID)
					if err != nil {
						t.Fatal(err)
					}
					if !tc.none && w.Cursor != last {
						t.Errorf("cursor %d, want %d", w.Cursor, last)
					}
				})
			}
		})
		t.Run("Again", func(t *testing.T) {
			if got := mustFanOut(t, s, nil); got != 0 {
				t.Errorf("a second fan-out queued %d", got)
			}
		})
		t.Run("QueuedOnce", func(t *testing.T) {
			// A cursor moved back (as by a fan-out that could not record
			// its move) finds its events queued already: they stay once.
			before, err := s.WebhookDeliveries(ctx, f.acct.ID, all.ID, store.WebhookDeliveryFilter{})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.GORM().Exec("UPDATE webhooks SET cursor = ? WHERE id = ?", all.Cursor, all.ID).Error; err != nil {
				t.Fatal(err)
			}
			if got := mustFanOut(t, s, nil); got != 0 {
				t.Errorf("the fan-out queued %d again", got)
			}
			after, err := s.WebhookDeliveries(ctx, f.acct.ID, all.ID, store.WebhookDeliveryFilter{})
			if err != nil {
				t.Fatal(err)
			}
			if len(after) != len(before) || len(after) == 0 || after[0].Reference != before[0].Reference {
				t.Errorf("%d deliveries after, %d before; want the same ones", len(after), len(before))
			}
		})
		t.Run("WantsDecides", func(t *testing.T) {
			f.MustMessages(t, 1)
			if got := mustFanOut(t, s, func(models.Webhook, models.Event) bool { return false }); got != 0 {
				t.Errorf("queued %d that nobody wants", got)
			}
			w, err := s.Webhook(ctx, f.acct.ID, all.ID)
			if err != nil {
				t.Fatal(err)
			}
			last, err := s.LastEventSeq(ctx, f.acct.ID)
			if err != nil {
				t.Fatal(err)
			}
			if w.Cursor != last {
				t.Errorf("cursor %d, want it past the unwanted events (%d)", w.Cursor, last)
			}
		})
	})
}

// mustClaimWebhooks claims up to n deliveries.
func mustClaimWebhooks(tb testing.TB, s *store.Store, n int) []store.WebhookOutgoing {
	tb.Helper()
	out, err := s.ClaimWebhookDeliveries(tb.Context(), n, time.Minute)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

func TestStore_ClaimWebhookDeliveries(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		f := mustWebhookFixture(t, s)
		w := f.MustWebhook(t, models.EventMessageCreated)
		f.MustMessages(t, 3)
		mustFanOut(t, s, nil)

		var head store.WebhookOutgoing
		t.Run("HeadOnly", func(t *testing.T) {
			got := mustClaimWebhooks(t, s, 1)
			if len(got) != 1 {
				t.Fatalf("claimed %d, want the head only", len(got))
			}
			head = got[0]
			d := head.Delivery
			if d.Attempts != 1 || d.Status != models.DeliverySending || d.LastAttemptAt == nil {
				t.Errorf("claimed %+v", d)
			}
			if head.Event.Type != models.EventMessageCreated || head.Message == nil || head.Message.Text != "m0" ||
				head.Case == nil || head.Contact == nil || head.Contact.ID != f.contact.ID || head.Webhook.ID != w.ID {
				t.Errorf("claimed %+v without its entities", head)
			}
			if again := mustClaimWebhooks(t, s, 10); len(again) != 0 {
				t.Errorf("claimed %d while the head is leased", len(again))
			}
		})
		t.Run("RetrySameID", func(t *testing.T) {
			d := head.Delivery
			now := time.Now()
			if err := s.WebhookDeliveryFailed(ctx, d.ID, d.Attempts, 503, "busy", &now); err != nil {
				t.Fatal(err)
			}
			got := mustClaimWebhooks(t, s, 1)
			if len(got) != 1 || got[0].Delivery.ID != d.ID || got[0].Delivery.Reference != d.Reference || got[0].Delivery.Attempts != 2 {
				t.Fatalf("claimed %+v, want delivery %d again at attempt 2", got, d.ID)
			}
			if got[0].Delivery.ResponseStatus != 503 || got[0].Delivery.LastError != "busy" {
				t.Errorf("last outcome %d %q", got[0].Delivery.ResponseStatus, got[0].Delivery.LastError)
			}
			head = got[0]
		})
		t.Run("ErrConflict", func(t *testing.T) {
			err := s.WebhookDeliverySent(ctx, head.Delivery.ID, 1, 200)
			if !errors.Is(err, store.ErrConflict) {
				t.Errorf("recording attempt 1 of a row held by attempt 2: %v, want ErrConflict", err)
			}
		})
		t.Run("Release", func(t *testing.T) {
			d := head.Delivery
			if err := s.ReleaseWebhookDeliveries(ctx, map[int64]int{d.ID: d.Attempts}); err != nil {
				t.Fatal(err)
			}
			got := mustClaimWebhooks(t, s, 1)
			if len(got) != 1 || got[0].Delivery.ID != d.ID || got[0].Delivery.Attempts != d.Attempts {
				t.Fatalf("claimed %+v, want delivery %d at attempt %d", got, d.ID, d.Attempts)
			}
		})
		t.Run("SentThenNext", func(t *testing.T) {
			d := head.Delivery
			if err := s.WebhookDeliverySent(ctx, d.ID, d.Attempts, 204); err != nil {
				t.Fatal(err)
			}
			got := mustClaimWebhooks(t, s, 1)
			if len(got) != 1 || got[0].Delivery.EventSeq <= d.EventSeq || got[0].Message.Text != "m1" {
				t.Fatalf("claimed %+v, want the next event", got)
			}
			head = got[0]
		})
		t.Run("FailedForGoodThenNext", func(t *testing.T) {
			d := head.Delivery
			if err := s.WebhookDeliveryFailed(ctx, d.ID, d.Attempts, 500, "down", nil); err != nil {
				t.Fatal(err)
			}
			failed, err := s.WebhookDeliveries(ctx, f.acct.ID, w.ID, store.WebhookDeliveryFilter{Status: models.DeliveryFailed})
			if err != nil {
				t.Fatal(err)
			}
			if len(failed) != 1 || failed[0].ID != d.ID || failed[0].LastError != "down" || failed[0].ResponseStatus != 500 {
				t.Errorf("failed deliveries %+v", failed)
			}
			got := mustClaimWebhooks(t, s, 1)
			if len(got) != 1 || got[0].Message.Text != "m2" {
				t.Fatalf("claimed %+v, want the last event", got)
			}
			head = got[0]
		})
		t.Run("GoneDisables", func(t *testing.T) {
			f.MustMessages(t, 1)
			mustFanOut(t, s, nil)
			d := head.Delivery
			if err := s.WebhookGone(ctx, d.ID, d.Attempts, 410, "gone"); err != nil {
				t.Fatal(err)
			}
			got, err := s.Webhook(ctx, f.acct.ID, w.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != models.WebhookDisabled || got.DisabledReason != "gone" {
				t.Errorf("webhook %+v, want disabled", got)
			}
			if c := mustClaimWebhooks(t, s, 10); len(c) != 0 {
				t.Errorf("claimed %d of a disabled webhook", len(c))
			}
			evs, err := s.Events(ctx, f.acct.ID, store.EventFilter{Types: []models.EventType{models.EventWebhookDisabled}})
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != 1 {
				t.Errorf("%d webhook.disabled events, want 1", len(evs))
			}
		})
	})
}

// TestStore_ClaimWebhookDeliveries_Runs checks that a claim takes each due
// head with the queued rows behind it, each subscription's rows together in
// sequence order; that rows given back behind a failed head wait for it;
// and that a subscription whose head is held is not claimed.
func TestStore_ClaimWebhookDeliveries_Runs(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		f := mustWebhookFixture(t, s)
		a, b := f.MustWebhook(t, models.EventMessageCreated), f.MustWebhook(t, models.EventMessageCreated)
		f.MustMessages(t, 5)
		mustFanOut(t, s, nil)

		got := mustClaimWebhooks(t, s, 7)
		runs := map[int64][]models.WebhookDelivery{}
		var order []int64
		for _, o := range got {
			d := o.Delivery
			if n := len(order); n == 0 || order[n-1] != d.WebhookID {
				if len(runs[d.WebhookID]) > 0 {
					t.Fatalf("subscription %d's rows are not together: %v", d.WebhookID, order)
				}
				order = append(order, d.WebhookID)
			}
			if r := runs[d.WebhookID]; len(r) > 0 && r[len(r)-1].EventSeq >= d.EventSeq {
				t.Errorf("subscription %d: seq %d after %d", d.WebhookID, d.EventSeq, r[len(r)-1].EventSeq)
			}
			if d.Status != models.DeliverySending || d.Attempts != 1 || o.Message == nil {
				t.Errorf("claimed %+v", o)
			}
			runs[d.WebhookID] = append(runs[d.WebhookID], d)
		}
		if len(got) != 7 || len(runs[a.ID])+len(runs[b.ID]) != 7 || len(runs[a.ID]) == 0 || len(runs[b.ID]) == 0 {
			t.Fatalf("claimed %d (a %d, b %d), want 7 with both heads", len(got), len(runs[a.ID]), len(runs[b.ID]))
		}
		if again := mustClaimWebhooks(t, s, 10); len(again) != 0 {
			t.Fatalf("claimed %d while both heads are held", len(again))
		}

		// The first subscription's head fails for a minute and its run is
		// given back; the second's run is sent.
		first, second := runs[order[0]], runs[order[1]]
		later := time.Now().Add(time.Minute)
		if err := s.WebhookDeliveryFailed(ctx, first[0].ID, 1, 503, "busy", &later); err != nil {
			t.Fatal(err)
		}
		back := map[int64]int{}
		for _, d := range first[1:] {
			back[d.ID] = d.Attempts
		}
		if err := s.ReleaseWebhookDeliveries(ctx, back); err != nil {
			t.Fatal(err)
		}
		for _, d := range second {
			if err := s.WebhookDeliverySent(ctx, d.ID, d.Attempts, 200); err != nil {
				t.Fatal(err)
			}
		}
		rest := mustClaimWebhooks(t, s, 10)
		if len(rest) != 5-len(second) {
			t.Fatalf("claimed %d, want the second subscription's %d left", len(rest), 5-len(second))
		}
		for i, o := range rest {
			d := o.Delivery
			if d.WebhookID != order[1] || d.EventSeq <= second[len(second)-1].EventSeq || i > 0 && d.EventSeq <= rest[i-1].Delivery.EventSeq {
				t.Errorf("claimed %+v: want the second subscription's next rows, in order", d)
			}
		}
	})
}

// TestStore_ClaimWebhookDeliveries_Concurrent runs claimers side by side
// over several subscriptions: every delivery is sent once (no row is held
// by two claims at once), and each subscription's in sequence order.
func TestStore_ClaimWebhookDeliveries_Concurrent(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		f := mustWebhookFixture(t, s)
		hooks := []models.Webhook{f.MustWebhook(t), f.MustWebhook(t), f.MustWebhook(t)}
		f.MustMessages(t, 8)
		total := mustFanOut(t, s, nil) // a call takes up to 500 events a subscription: all of them
		var (
			mu       sync.Mutex
			held     = map[int64]bool{}
			sent     = map[int64][]int64{} // webhook: seqs in the order sent
			errs     []error
			wg       sync.WaitGroup
			deadline = time.Now().Add(60 * time.Second)
		)
		for range 2 {
			wg.Go(func() {
				for time.Now().Before(deadline) {
					got, err := s.ClaimWebhookDeliveries(ctx, 2, time.Minute)
					if err != nil {
						mu.Lock()
						errs = append(errs, err)
						mu.Unlock()
						return
					}
					if len(got) == 0 {
						mu.Lock()
						done := len(held) == 0 && count(sent) == total
						mu.Unlock()
						if done {
							return
						}
						continue
					}
					for _, o := range got {
						mu.Lock()
						if held[o.Delivery.ID] {
							errs = append(errs, fmt.Errorf("delivery %d claimed twice at once", o.Delivery.ID))
						}
						held[o.Delivery.ID] = true
						sent[o.Delivery.WebhookID] = append(sent[o.Delivery.WebhookID], o.Delivery.EventSeq)
						mu.Unlock()
						err := s.WebhookDeliverySent(ctx, o.Delivery.ID, o.Delivery.Attempts, 200)
						mu.Lock()
						delete(held, o.Delivery.ID)
						if err != nil {
							errs = append(errs, err)
						}
						mu.Unlock()
					}
				}
			})
		}
		wg.Wait()
		if len(errs) > 0 {
			t.Fatal(errors.Join(errs...))
		}
		if got := count(sent); got != total {
			t.Fatalf("sent %d deliveries, want %d", got, total)
		}
		for _, w := range hooks {
			seqs := sent[w.ID]
			for i := 1; i < len(seqs); i++ {
				if seqs[i] <= seqs[i-1] {
					t.Errorf("webhook %d sent out of order: %v", w.ID, seqs)
					break
				}
			}
		}
	})
}

func count(m map[int64][]int64) int {
	n := 0
	for _, v := range m {
		n += len(v)
	}
	return n
}

// TestStore_ClaimWebhookDeliveries_Backlog checks on PostgreSQL that the
// claim finds the queues' heads through the partial index, however many
// sent rows there are: 50,000 sent and a few queued behind 5 subscriptions.
// With -v it logs the plan's execution time.
func TestStore_ClaimWebhookDeliveries_Backlog(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 50,000 rows")
	}
	s := storetest.MustOpen(t, store.Postgres)
	ctx := t.Context()
	f := mustWebhookFixture(t, s)
	db := s.GORM().WithContext(ctx)
	for i := range 5 {
		w := f.MustWebhook(t)
		if err := db.Exec(`INSERT INTO webhook_deliveries (account_id, webhook_id, event_id, event_seq, status, attempts,
				next_attempt_at, last_error, response_status, reference, created_at, updated_at)
			SELECT ?, ?, g, g, CASE WHEN g > 10000 - ? THEN 'queued' ELSE 'sent' END, 1, now(), '', 200, 'r' || g, now(), now()
			FROM generate_series(1, 10000) g`, f.acct.ID, w.ID, i+1).Error; err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Exec(`ANALYZE webhook_deliveries`).Error; err != nil {
		t.Fatal(err)
	}
	var plan []string
	if err := db.Raw(`EXPLAIN (ANALYZE, COSTS OFF) `+store.ClaimHeadsForTest, time.Now(), 10).Scan(&plan).Error; err != nil {
		t.Fatal(err)
	}
	text := fmt.Sprint(plan)
	if !strings.Contains(text, "idx_webhook_deliveries_pending") {
		t.Errorf("the claim does not use idx_webhook_deliveries_pending:\n%s", strings.Join(plan, "\n"))
	}
	t.Logf("plan:\n%s", strings.Join(plan, "\n"))
	got := mustClaimWebhooks(t, s, 5)
	if len(got) != 5 {
		t.Errorf("claimed %d, want one head of each of the 5 subscriptions", len(got))
	}
	for _, o := range got {
		if o.Delivery.EventSeq <= 10000-5 || o.Delivery.Status != models.DeliverySending {
			t.Errorf("claimed %+v", o.Delivery)
		}
	}
}

// TestStore_RecordWebhookOutcomes records a run's outcomes in one call:
// sent, queued again, failed for good, and one whose claim was lost, which
// is skipped and counted without undoing the others; then a 410, which
// disables the subscription.
func TestStore_RecordWebhookOutcomes(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		f := mustWebhookFixture(t, s)
		w := f.MustWebhook(t, models.EventMessageCreated)
		f.MustMessages(t, 6)
		mustFanOut(t, s, nil)
		got := mustClaimWebhooks(t, s, 5)
		if len(got) != 5 {
			t.Fatalf("claimed %d, want a run of 5", len(got))
		}
		later := time.Now().Add(time.Hour)
		outs := []store.WebhookOutcome{
			{ID: got[0].Delivery.ID, Attempt: 1, Sent: true, ResponseStatus: 200},
			{ID: got[1].Delivery.ID, Attempt: 1, ResponseStatus: 503, Reason: "busy", RetryAt: &later},
			{ID: got[2].Delivery.ID, Attempt: 1, ResponseStatus: 500, Reason: "down"},
			{ID: got[3].Delivery.ID, Attempt: 7, Sent: true, ResponseStatus: 200}, // another claim's attempt
			{ID: got[4].Delivery.ID, Attempt: 1, Sent: true, ResponseStatus: 204},
		}
		lost, err := s.RecordWebhookOutcomes(ctx, outs)
		if err != nil || lost != 1 {
			t.Fatalf("RecordWebhookOutcomes = %d, %v; want 1 skipped", lost, err)
		}
		ds, err := s.WebhookDeliveries(ctx, f.acct.ID, w.ID, store.WebhookDeliveryFilter{})
		if err != nil {
			t.Fatal(err)
		}
		byID := map[int64]models.WebhookDelivery{}
		for _, d := range ds {
			byID[d.ID] = d
		}
		tests := []struct {
			name   string
			id     int64
			status models.DeliveryStatus
			resp   int
			reason string
		}{
			{"sent", got[0].Delivery.ID, models.DeliverySent, 200, ""},
			{"queued again", got[1].Delivery.ID, models.DeliveryQueued, 503, "busy"},
			{"failed for good", got[2].Delivery.ID, models.DeliveryFailed, 500, "down"},
			{"lost claim untouched", got[3].Delivery.ID, models.DeliverySending, 0, ""},
			{"sent with another status", got[4].Delivery.ID, models.DeliverySent, 204, ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				d := byID[tt.id]
				if d.Status != tt.status || d.ResponseStatus != tt.resp || d.LastError != tt.reason {
					t.Errorf("delivery %+v, want %s %d %q", d, tt.status, tt.resp, tt.reason)
				}
			})
		}
		t.Run("gone disables", func(t *testing.T) {
			if _, err := s.RecordWebhookOutcomes(ctx, []store.WebhookOutcome{
				{ID: got[3].Delivery.ID, Attempt: 1, Gone: true, ResponseStatus: 410, Reason: "gone"}}); err != nil {
				t.Fatal(err)
			}
			hook, err := s.Webhook(ctx, f.acct.ID, w.ID)
			if err != nil || hook.Status != models.WebhookDisabled || hook.DisabledReason != "gone" {
				t.Errorf("webhook %+v, %v; want disabled", hook, err)
			}
		})
	})
}

// TestStore_ClaimWebhookDeliveries_Entities claims the deliveries of two
// accounts' subscriptions at once, two subscriptions each: every delivery
// carries its own subscription and the case, message and contact of its own
// event, though the claim reads each kind once for all of them.
func TestStore_ClaimWebhookDeliveries_Entities(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		a := mustWebhookFixture(t, s)
		b := webhookFixture{s: s, acct: storetest.MustAccount(t, s, "B")}
		b.contact = storetest.MustContact(t, s, b.acct.ID, "Bob", "bob@example.com", "")
		contacts := map[int64]int64{a.acct.ID: a.contact.ID, b.acct.ID: b.contact.ID}
		hooks := map[int64]int64{}
		for _, f := range []webhookFixture{a, b} {
			for range 2 {
				hooks[f.MustWebhook(t, models.EventMessageCreated).ID] = f.acct.ID
			}
			f.MustMessages(t, 2)
		}
		mustFanOut(t, s, nil)
		got := mustClaimWebhooks(t, s, 50)
		if len(got) != 8 {
			t.Fatalf("claimed %d, want 2 messages × 4 subscriptions", len(got))
		}
		for _, o := range got {
			t.Run(fmt.Sprintf("delivery %d", o.Delivery.ID), func(t *testing.T) {
				acct := hooks[o.Delivery.WebhookID]
				switch {
				case o.Webhook.ID != o.Delivery.WebhookID || o.Webhook.AccountID != acct:
					t.Errorf("webhook %+v for delivery of webhook %d", o.Webhook, o.Delivery.WebhookID)
				case o.Event.ID != o.Delivery.EventID || o.Event.AccountID != acct:
					t.Errorf("event %+v for delivery of event %d", o.Event, o.Delivery.EventID)
				case o.Message == nil || o.Message.ID != o.Event.MessageID || o.Message.AccountID != acct:
					t.Errorf("message %+v for event %+v", o.Message, o.Event)
				case o.Case == nil || o.Case.ID != o.Event.CaseID || o.Case.AccountID != acct:
					t.Errorf("case %+v for event %+v", o.Case, o.Event)
				case o.Contact == nil || o.Contact.ID != contacts[acct]:
					t.Errorf("contact %+v, want %d", o.Contact, contacts[acct])
				}
			})
		}
	})
}

// TestStore_PruneWebhookDeliveries: deliveries queued before the cutoff
// are deleted when they ended (sent, failed for good) or their subscription
// is disabled; an active subscription's owed ones (queued, retried later,
// never claimed) are kept however old, and so are the newer ones, whichever
// range of ids a statement covers.
func TestStore_PruneWebhookDeliveries(t *testing.T) {
	for _, batch := range []int64{2, 5000} {
		t.Run(fmt.Sprintf("Batch%d", batch), func(t *testing.T) {
			storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
				ctx := t.Context()
				f := mustWebhookFixture(t, s)
				off := f.MustWebhook(t, models.EventMessageCreated)
				f.MustMessages(t, 2)
				if n := mustFanOut(t, s, nil); n != 2 {
					t.Fatalf("queued %d for the first subscription, want 2", n)
				}
				if _, err := s.DisableWebhook(ctx, f.acct.ID, off.ID, "by hand"); err != nil {
					t.Fatal(err)
				}
				w := f.MustWebhook(t, models.EventMessageCreated)
				f.MustMessages(t, 7)
				if n := mustFanOut(t, s, nil); n != 7 {
					t.Fatalf("queued %d, want 7", n)
				}
				if n, err := s.PruneWebhookDeliveriesInBatches(ctx, time.Now().Add(-time.Hour), batch); err != nil || n != 0 {
					t.Fatalf("prune with nothing old = %d, %v; want 0", n, err)
				}
				got := mustClaimWebhooks(t, s, 5)
				if len(got) != 5 || got[0].Delivery.WebhookID != w.ID {
					t.Fatalf("claimed %d, want a run of 5 of the active subscription", len(got))
				}
				later := time.Now().Add(time.Hour)
				id := func(i int) int64 { return got[i].Delivery.ID }
				if _, err := s.RecordWebhookOutcomes(ctx, []store.WebhookOutcome{
					{ID: id(0), Attempt: 1, Sent: true, ResponseStatus: 200},
					{ID: id(1), Attempt: 1, ResponseStatus: 500, Reason: "down"}, // failed for good
					{ID: id(2), Attempt: 1, ResponseStatus: 503, Reason: "busy", RetryAt: &later},
					{ID: id(3), Attempt: 1, Sent: true, ResponseStatus: 200},
					{ID: id(4), Attempt: 1, Sent: true, ResponseStatus: 204},
				}); err != nil {
					t.Fatal(err)
				}
				// The disabled subscription's two and the first four of the
				// active one were queued ten days ago; the fifth and the two
				// never claimed (still queued) since.
				old := time.Now().UTC().Add(-10 * 24 * time.Hour)
				mustOK(t, s.GORM().Exec("UPDATE webhook_deliveries SET created_at = ? WHERE id < ?", old, id(4)).Error)

				if n, err := s.PruneWebhookDeliveriesInBatches(ctx, old.Add(-time.Hour), batch); err != nil || n != 0 {
					t.Fatalf("prune before the oldest = %d, %v; want 0", n, err)
				}
				n, err := s.PruneWebhookDeliveriesInBatches(ctx, time.Now().Add(-7*24*time.Hour), batch)
				if err != nil || n != 5 {
					t.Fatalf("prune = %d, %v; want 5 (the old sent and failed ones, the disabled subscription's two)", n, err)
				}
				left, err := s.WebhookDeliveries(ctx, f.acct.ID, w.ID, store.WebhookDeliveryFilter{})
				mustOK(t, err)
				kept := map[int64]models.DeliveryStatus{}
				for _, d := range left {
					kept[d.ID] = d.Status
				}
				for _, tc := range []struct {
					name string
					id   int64
					kept bool
				}{
					{"OldSent", id(0), false},
					{"OldFailed", id(1), false},
					{"OldRetriedLater", id(2), true},
					{"OldSentAgain", id(3), false},
					{"NewSent", id(4), true},
				} {
					if _, ok := kept[tc.id]; ok != tc.kept {
						t.Errorf("%s: kept %v, want %v (left: %v)", tc.name, ok, tc.kept, kept)
					}
				}
				if len(left) != 4 {
					t.Errorf("%d deliveries left, want 4 (two never claimed): %v", len(left), kept)
				}
				if offLeft, err := s.WebhookDeliveries(ctx, f.acct.ID, off.ID, store.WebhookDeliveryFilter{}); err != nil || len(offLeft) != 0 {
					t.Errorf("the disabled subscription's deliveries: %d left, %v; want none", len(offLeft), err)
				}
				// The queue goes on: the retried head is still the head.
				mustOK(t, s.GORM().Exec("UPDATE webhook_deliveries SET next_attempt_at = ? WHERE id = ?", time.Now().Add(-time.Minute), id(2)).Error)
				if again := mustClaimWebhooks(t, s, 1); len(again) != 1 || again[0].Delivery.ID != id(2) {
					t.Errorf("claimed %+v after the prune, want the retried head %d", again, id(2))
				}
			})
		})
	}
}

// TestStore_DeleteWebhook: deleting a subscription deletes its deliveries,
// whatever their status, and no other subscription's; another account's
// id is not found and deletes nothing. On PostgreSQL no foreign key
// cascades the delete (migration 0028): DeleteWebhook does it itself.
func TestStore_DeleteWebhook(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		f := mustWebhookFixture(t, s)
		gone := f.MustWebhook(t, models.EventMessageCreated)
		kept := f.MustWebhook(t, models.EventMessageCreated)
		other := storetest.MustAccount(t, s, "B")
		f.MustMessages(t, 3)
		if n := mustFanOut(t, s, nil); n != 6 {
			t.Fatalf("queued %d, want 6", n)
		}
		// One of each status among the deleted subscription's rows.
		got := mustClaimWebhooks(t, s, 10)
		for _, o := range got {
			if o.Delivery.WebhookID == gone.ID {
				mustOK(t, s.GORM().Exec("UPDATE webhook_deliveries SET status = 'sent' WHERE id = ?", o.Delivery.ID).Error)
				break
			}
		}
		countOf := func(id int64) int64 {
			var n int64
			mustOK(t, s.GORM().Raw("SELECT COUNT(*) FROM webhook_deliveries WHERE webhook_id = ?", id).Scan(&n).Error)
			return n
		}

		err := s.DeleteWebhook(ctx, other.ID, gone.ID)
		if nf, ok := errors.AsType[*store.NotFoundError](err); !ok || nf.Entity != "webhook" {
			t.Fatalf("DeleteWebhook of another account's = %v, want a NotFoundError naming webhook", err)
		}
		if n := countOf(gone.ID); n != 3 {
			t.Fatalf("%d deliveries after a refused delete, want 3", n)
		}
		mustOK(t, s.DeleteWebhook(ctx, f.acct.ID, gone.ID))
		if n := countOf(gone.ID); n != 0 {
			t.Errorf("%d deliveries of the deleted subscription left", n)
		}
		if n := countOf(kept.ID); n != 3 {
			t.Errorf("%d deliveries of the other subscription, want 3", n)
		}
		if _, err := s.Webhook(ctx, f.acct.ID, gone.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Webhook after the delete: %v, want not found", err)
		}
	})
}

// TestStore_DeleteWebhook_DuringFanOut: a fan-out that holds the
// subscription locked while it queues rows for it commits before a
// concurrent DeleteWebhook goes on, and the delete takes those rows too
// (PostgreSQL, where transactions overlap and no foreign key cascades).
func TestStore_DeleteWebhook_DuringFanOut(t *testing.T) {
	s := storetest.MustOpen(t, store.Postgres)
	ctx := t.Context()
	f := mustWebhookFixture(t, s)
	w := f.MustWebhook(t, models.EventMessageCreated)
	f.MustMessages(t, 1)

	// What FanOutWebhookEvents does: lock the subscription, queue a row.
	tx := s.GORM().WithContext(ctx).Begin()
	t.Cleanup(func() { tx.Rollback() })
	var fanOut int64
	mustOK(t, tx.Raw("SELECT pg_backend_pid()").Scan(&fanOut).Error)
	mustOK(t, tx.Exec("SELECT id FROM webhooks WHERE id = ? FOR UPDATE", w.ID).Error)
	mustOK(t, tx.Exec(`INSERT INTO webhook_deliveries (account_id, webhook_id, event_id, event_seq, status, attempts,
		next_attempt_at, last_error, response_status, reference, created_at, updated_at)
		SELECT account_id, ?, id, seq, 'queued', 0, now(), '', 0, 'ref', now(), now() FROM events
		WHERE account_id = ? ORDER BY seq DESC LIMIT 1`, w.ID, f.acct.ID).Error)

	deleted := make(chan error, 1)
	go func() { deleted <- s.DeleteWebhook(ctx, f.acct.ID, w.ID) }()
	// Wait until the delete waits for the fan-out's lock.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var waiting int64
		mustOK(t, s.GORM().Raw("SELECT COUNT(*) FROM pg_stat_activity WHERE ? = ANY(pg_blocking_pids(pid))", fanOut).Scan(&waiting).Error)
		if waiting > 0 {
			break
		}
		select {
		case err := <-deleted:
			t.Fatalf("DeleteWebhook returned %v while the fan-out held the subscription", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("DeleteWebhook did not wait for the fan-out's lock within 30 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	mustOK(t, tx.Commit().Error)
	mustOK(t, <-deleted)
	var left int64
	mustOK(t, s.GORM().Raw("SELECT COUNT(*) FROM webhook_deliveries WHERE webhook_id = ?", w.ID).Scan(&left).Error)
	if left != 0 {
		t.Errorf("%d deliveries of the deleted subscription left", left)
	}
}

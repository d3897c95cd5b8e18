package store_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

// uploadFixture is an account with two sites, a campaign of the first, a
// visitor session on it, an agent, an existing contact, and a second account
// with a site and an agent of its own.
type uploadFixture struct {
	acct                   models.Account
	site, site2, otherSite models.Site
	camp                   models.Campaign
	sess                   models.VisitorSession
	agent, stranger        models.Agent
	known                  models.Contact
	t0                     time.Time
}

func mustUploadFixture(t *testing.T, s *store.Store) uploadFixture {
	t.Helper()
	ctx := t.Context()
	var f uploadFixture
	var err error
	f.acct = storetest.MustAccount(t, s, "A")
	other := storetest.MustAccount(t, s, "B")
	if f.site, err = s.CreateSite(ctx, f.acct.ID, "a.example"); err != nil {
		t.Fatal(err)
	}
	if f.site2, err = s.CreateSite(ctx, f.acct.ID, "b.example"); err != nil {
		t.Fatal(err)
	}
	if f.otherSite, err = s.CreateSite(ctx, other.ID, "other.example"); err != nil {
		t.Fatal(err)
	}
	if f.camp, err = s.CreateCampaign(ctx, f.acct.ID, f.site.ID, "Spring"); err != nil {
		t.Fatal(err)
	}
	f.t0 = time.Now().UTC().Add(-48 * time.Hour).Truncate(time.Second)
	if f.sess, err = s.CreateVisitorSession(ctx, f.acct.ID, store.NewVisitorSession{SiteID: f.site.ID, CampaignID: &f.camp.ID, StartedAt: f.t0}); err != nil {
		t.Fatal(err)
	}
	f.agent = storetest.MustAgent(t, s, f.acct.ID, "op@example.com", models.RoleAgent, hash)
	f.stranger = storetest.MustAgent(t, s, other.ID, "op2@example.com", models.RoleAgent, hash)
	f.known = storetest.MustContact(t, s, f.acct.ID, "Known", "", "+15550000001")
	return f
}

func ptr[T any](v T) *T { return &v }

// counts returns the account's cases, messages and contacts.
func counts(t *testing.T, s *store.Store, accountID int64) [3]int64 {
	t.Helper()
	var out [3]int64
	for i, table := range []string{"cases", "messages", "contacts"} {
		if err := s.GORM().Raw("SELECT COUNT(*) FROM "+table+" WHERE account_id = ?", accountID).Scan(&out[i]).Error; err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func TestStore_UploadOfflineMessages(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		f := mustUploadFixture(t, s)
		ctx := t.Context()
		at := f.t0.Add(time.Hour)
		items := []store.OfflineUpload{
			{ReceivedAt: at, Contact: store.UploadContact{Name: "Ann", Email: "Ann@Example.com"}, Message: "first", Source: store.UploadSource{SiteID: &f.site.ID}, ExtID: ptr("om-1")},
			{ReceivedAt: at.Add(time.Minute), Contact: store.UploadContact{Email: "ann@example.com", Phone: "+15550000009"}, Message: "second", Source: store.UploadSource{CampaignID: &f.camp.ID}},
			{ReceivedAt: at.Add(2 * time.Minute), Contact: store.UploadContact{Phone: "+15550000001"}, Message: "third", Source: store.UploadSource{VisitorSessionID: &f.sess.ID}},
			{Contact: store.UploadContact{Phone: "+15550000009"}, Source: store.UploadSource{SiteID: &f.site2.ID, NoCampaign: true}},
		}
		ids, err := s.UploadOfflineMessages(ctx, f.acct.ID, items)
		if err != nil {
			t.Fatal(err)
		}
		if len(ids) != 4 {
			t.Fatalf("ids = %v, want 4", ids)
		}
		var got []store.CaseView
		for _, id := range ids {
			v, err := s.Case(ctx, f.acct.ID, id)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, v)
		}
		t.Run("contacts found or made once", func(t *testing.T) {
			if got[0].ContactID != got[1].ContactID || got[3].ContactID != got[1].ContactID {
				t.Errorf("contacts %d %d %d, want the same new contact for the same email and then its phone", got[0].ContactID, got[1].ContactID, got[3].ContactID)
			}
			if got[2].ContactID != f.known.ID {
				t.Errorf("contact by phone = %d, want the existing %d", got[2].ContactID, f.known.ID)
			}
			if got[0].Contact.Email != "ann@example.com" || got[0].Contact.Name != "Ann" {
				t.Errorf("new contact = %+v", got[0].Contact)
			}
		})
		t.Run("sources filled in", func(t *testing.T) {
			if got[1].SiteID == nil || *got[1].SiteID != f.site.ID {
				t.Errorf("campaign's site = %v, want %d", got[1].SiteID, f.site.ID)
			}
			if got[2].SiteID == nil || *got[2].SiteID != f.site.ID || got[2].CampaignID == nil || *got[2].CampaignID != f.camp.ID {
				t.Errorf("session's site and campaign = %v %v", got[2].SiteID, got[2].CampaignID)
			}
			if got[3].CampaignID != nil || *got[3].SiteID != f.site2.ID {
				t.Errorf("no campaign = %v on %v", got[3].CampaignID, got[3].SiteID)
			}
		})
		t.Run("offline messages as REVE reads them", func(t *testing.T) {
			d, err := s.OfflineMessage(ctx, f.acct.ID, ids[0])
			if err != nil {
				t.Fatal(err)
			}
			if d.Message != "first" || !d.ReceivedAt.Equal(at) || !got[0].Uploaded || got[0].Status != models.StatusNew {
				t.Errorf("detail = %+v", d)
			}
			if got[3].LastMessageID != nil {
				t.Errorf("an empty message added a message: %+v", got[3].Case)
			}
			page, err := s.ListOfflineMessages(ctx, f.acct.ID, 1, 10)
			if err != nil || len(page) != 4 {
				t.Fatalf("list = %d, %v", len(page), err)
			}
		})
		t.Run("resend keeps the id and the replies", func(t *testing.T) {
			storetest.MustReply(t, s, f.acct.ID, ids[0], f.agent.ID, "reply", at.Add(time.Hour))
			before := counts(t, s, f.acct.ID)
			moved := at.Add(-24 * time.Hour)
			again, err := s.UploadOfflineMessages(ctx, f.acct.ID, []store.OfflineUpload{
				{ReceivedAt: moved, Contact: store.UploadContact{Email: "ann@example.com"}, Message: "first, edited", Source: store.UploadSource{SiteID: &f.site.ID}, ExtID: ptr("om-1")},
			})
			if err != nil {
				t.Fatal(err)
			}
			if again[0] != ids[0] {
				t.Errorf("resent id = %d, want %d", again[0], ids[0])
			}
			if after := counts(t, s, f.acct.ID); after != before {
				t.Errorf("counts %v → %v, want unchanged", before, after)
			}
			d, err := s.OfflineMessage(ctx, f.acct.ID, ids[0])
			if err != nil {
				t.Fatal(err)
			}
			if d.Message != "first, edited" || len(d.Replies) != 1 || !d.ReceivedAt.Equal(moved) {
				t.Errorf("after resend = %+v", d)
			}
			// The day counts moved with the date: every page still adds up.
			page, err := s.ListOfflineMessages(ctx, f.acct.ID, 4, 1)
			if err != nil || len(page) != 1 || page[0].ID != ids[0] {
				t.Errorf("last page = %+v, %v; want the moved message last", page, err)
			}
		})
	})
}

func TestStore_UploadOfflineMessages_Invalid(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		f := mustUploadFixture(t, s)
		ok := func(mod func(*store.OfflineUpload)) store.OfflineUpload {
			it := store.OfflineUpload{ReceivedAt: f.t0.Add(time.Hour), Contact: store.UploadContact{Email: "v@example.com"}, Message: "m", Source: store.UploadSource{SiteID: &f.site.ID}}
			mod(&it)
			return it
		}
		none := func(*store.OfflineUpload) {}
		tests := []struct {
			name  string
			items []store.OfflineUpload
			want  []store.FieldError
		}{
			{"no contact", []store.OfflineUpload{ok(func(it *store.OfflineUpload) { it.Contact = store.UploadContact{Name: "x"} })},
				[]store.FieldError{{Field: "[0].phone", Reason: store.ReasonRequired}}},
			{"bad phone and email", []store.OfflineUpload{ok(func(it *store.OfflineUpload) { it.Contact = store.UploadContact{Email: "nope", Phone: "555"} })},
				[]store.FieldError{{Field: "[0].email"}, {Field: "[0].phone"}}},
			{"no source", []store.OfflineUpload{ok(func(it *store.OfflineUpload) { it.Source = store.UploadSource{} })},
				[]store.FieldError{{Field: "[0].site_id", Reason: store.ReasonRequired}}},
			{"no campaign without a site", []store.OfflineUpload{ok(func(it *store.OfflineUpload) { it.Source = store.UploadSource{NoCampaign: true} })},
				[]store.FieldError{{Field: "[0].site_id", Reason: store.ReasonRequired}}},
			{"future", []store.OfflineUpload{none2(ok(none)), ok(func(it *store.OfflineUpload) { it.ReceivedAt = time.Now().Add(time.Hour) })},
				[]store.FieldError{{Field: "[1].date_time", Reason: store.ReasonTime}}},
			{"another account's site", []store.OfflineUpload{ok(func(it *store.OfflineUpload) { it.Source.SiteID = &f.otherSite.ID })},
				[]store.FieldError{{Field: "[0].site_id", Reason: store.ReasonNotFound}}},
			{"campaign of another site", []store.OfflineUpload{ok(func(it *store.OfflineUpload) {
				it.Source = store.UploadSource{SiteID: &f.site2.ID, CampaignID: &f.camp.ID}
			})},
				[]store.FieldError{{Field: "[0].campaign_id", Reason: store.ReasonCombination}}},
			{"session of another site", []store.OfflineUpload{ok(func(it *store.OfflineUpload) {
				it.Source = store.UploadSource{SiteID: &f.site2.ID, VisitorSessionID: &f.sess.ID}
			})},
				[]store.FieldError{{Field: "[0].visitor_session_id", Reason: store.ReasonCombination}}},
			{"before the session", []store.OfflineUpload{ok(func(it *store.OfflineUpload) {
				it.Source = store.UploadSource{VisitorSessionID: &f.sess.ID}
				it.ReceivedAt = f.t0.Add(-time.Hour)
			})}, []store.FieldError{{Field: "[0].date_time", Reason: store.ReasonTime}}},
			{"unknown session", []store.OfflineUpload{ok(func(it *store.OfflineUpload) { it.Source = store.UploadSource{VisitorSessionID: ptr(int64(1 << 40))} })},
				[]store.FieldError{{Field: "[0].visitor_session_id", Reason: store.ReasonNotFound}}},
			{"ext_id twice", []store.OfflineUpload{ok(func(it *store.OfflineUpload) { it.ExtID = ptr("x") }), ok(func(it *store.OfflineUpload) { it.ExtID = ptr("x") })},
				[]store.FieldError{{Field: "[1].ext_id", Reason: store.ReasonCombination}}},
			{"NUL in the message", []store.OfflineUpload{ok(func(it *store.OfflineUpload) { it.Message = "a\x00" })},
				[]store.FieldError{{Field: "[0].message"}}},
			{"every bad item, in order", []store.OfflineUpload{
				ok(none),
				ok(func(it *store.OfflineUpload) { it.Source.SiteID = &f.otherSite.ID }),
				ok(func(it *store.OfflineUpload) { it.Contact = store.UploadContact{} }),
			}, []store.FieldError{{Field: "[1].site_id", Reason: store.ReasonNotFound}, {Field: "[2].phone", Reason: store.ReasonRequired}}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := counts(t, s, f.acct.ID)
				_, err := s.UploadOfflineMessages(t.Context(), f.acct.ID, tt.items)
				assertReasons(t, err, tt.want)
				if after := counts(t, s, f.acct.ID); after != before {
					t.Errorf("a refused batch wrote: counts %v → %v", before, after)
				}
			})
		}
	})
}

// none2 returns it unchanged; it keeps a valid item in a table row readable.
func none2(it store.OfflineUpload) store.OfflineUpload { return it }

// assertReasons checks that err is FieldErrors with exactly the fields and
// reasons of want, in order.
func assertReasons(t *testing.T, err error, want []store.FieldError) {
	t.Helper()
	var fe store.FieldErrors
	if !errors.As(err, &fe) {
		t.Fatalf("err = %v, want FieldErrors %v", err, want)
	}
	var got, exp []string
	for _, f := range fe {
		got = append(got, fmt.Sprintf("%s/%s", f.Field, f.Reason))
	}
	for _, f := range want {
		exp = append(exp, fmt.Sprintf("%s/%s", f.Field, f.Reason))
	}
	if fmt.Sprint(got) != fmt.Sprint(exp) {
		t.Errorf("errors = %v, want %v (%v)", got, exp, err)
	}
}

func TestStore_UploadChats(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		f := mustUploadFixture(t, s)
		ctx := t.Context()
		start := f.t0.Add(time.Hour)
		chat := func(ext string, texts ...string) store.ChatUpload {
			c := store.ChatUpload{StartedAt: start, Contact: store.UploadContact{Phone: "+15550000001"}, Outcome: models.OutcomeSucceeded,
				Source: store.UploadSource{SiteID: &f.site.ID}, ExtID: ptr(ext)}
			for i, text := range texts {
				m := store.ChatUploadMessage{At: start.Add(time.Duration(i) * time.Minute), Sender: models.SenderContact, Text: text}
				if i%2 == 1 {
					m.Sender, m.AgentID = models.SenderAgent, &f.agent.ID
				}
				c.Messages = append(c.Messages, m)
			}
			return c
		}
		lost := chat("c-2", "anyone?")
		lost.Outcome = models.OutcomeLost
		lost.Messages = append(lost.Messages, store.ChatUploadMessage{At: start.Add(time.Hour), Sender: models.SenderSystem, Text: "visitor left"})
		ids, err := s.UploadChats(ctx, f.acct.ID, []store.ChatUpload{chat("c-1", "hi", "hello", "bye"), lost})
		if err != nil {
			t.Fatal(err)
		}
		v, err := s.Case(ctx, f.acct.ID, ids[0])
		if err != nil {
			t.Fatal(err)
		}
		if v.Channel != models.ChannelChat || v.Status != models.StatusClosed || v.Outcome == nil || *v.Outcome != models.OutcomeSucceeded ||
			v.Assignee == nil || v.Assignee.ID != f.agent.ID || v.Initiator != "visitor" || v.ContactID != f.known.ID ||
			v.LastMessageText != "bye" || v.ClosedAt == nil || !v.ClosedAt.Equal(start.Add(2*time.Minute)) {
			t.Errorf("chat = %+v", v)
		}
		msgs, total, err := s.ListMessages(ctx, f.acct.ID, ids[0], store.MessageQuery{Limit: 10, Oldest: true})
		if err != nil || total != 3 || msgs[0].Text != "hi" || msgs[1].Agent == nil || msgs[1].Agent.ID != f.agent.ID {
			t.Errorf("messages = %+v (%d), %v", msgs, total, err)
		}
		l, err := s.Case(ctx, f.acct.ID, ids[1])
		if err != nil || *l.Outcome != models.OutcomeLost || l.Assignee != nil || l.LastMessageText != "visitor left" {
			t.Errorf("lost chat = %+v, %v", l, err)
		}

		t.Run("resend replaces the messages", func(t *testing.T) {
			again, err := s.UploadChats(ctx, f.acct.ID, []store.ChatUpload{chat("c-1", "hi", "hello")})
			if err != nil || again[0] != ids[0] {
				t.Fatalf("resend = %v, %v; want id %d", again, err, ids[0])
			}
			if _, total, _ := s.ListMessages(ctx, f.acct.ID, ids[0], store.MessageQuery{Limit: 10}); total != 2 {
				t.Errorf("messages after resend = %d, want 2", total)
			}
			if _, n, _ := s.ListCases(ctx, f.acct.ID, store.CaseQuery{Limit: 1}); n != 2 {
				t.Errorf("cases after resend = %d, want 2", n)
			}
		})

		bad := func(mod func(*store.ChatUpload)) store.ChatUpload {
			c := chat("", "hi", "hello")
			c.ExtID = nil
			mod(&c)
			return c
		}
		tests := []struct {
			name string
			in   store.ChatUpload
			want []store.FieldError
		}{
			{"another account's employee", bad(func(c *store.ChatUpload) { c.Messages[1].AgentID = &f.stranger.ID }),
				[]store.FieldError{{Field: "[0].messages[1].employee_id", Reason: store.ReasonNotFound}}},
			{"operator without employee", bad(func(c *store.ChatUpload) { c.Messages[1].AgentID = nil }),
				[]store.FieldError{{Field: "[0].messages[1].employee_id", Reason: store.ReasonRequired}}},
			{"visitor with employee", bad(func(c *store.ChatUpload) { c.Messages[0].AgentID = &f.agent.ID }),
				[]store.FieldError{{Field: "[0].messages[0].employee_id", Reason: store.ReasonCombination}}},
			{"message before the start", bad(func(c *store.ChatUpload) { c.Messages[0].At = start.Add(-time.Second) }),
				[]store.FieldError{{Field: "[0].messages[0].date_time", Reason: store.ReasonTime}}},
			{"no messages, no start, no status", bad(func(c *store.ChatUpload) {
				c.Messages, c.StartedAt, c.Outcome = nil, time.Time{}, "succeed"
			}), []store.FieldError{{Field: "[0].start_date_time", Reason: store.ReasonRequired}, {Field: "[0].status"}, {Field: "[0].messages", Reason: store.ReasonRequired}}},
			{"no campaign for a chat", bad(func(c *store.ChatUpload) { c.Source.NoCampaign = true }),
				[]store.FieldError{{Field: "[0].campaign_id"}}},
			{"unknown initiator and empty message", bad(func(c *store.ChatUpload) { c.Initiator, c.Messages[0].Text = "bot", " " }),
				[]store.FieldError{{Field: "[0].initiator"}, {Field: "[0].messages[0].message", Reason: store.ReasonRequired}}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := counts(t, s, f.acct.ID)
				_, err := s.UploadChats(ctx, f.acct.ID, []store.ChatUpload{tt.in})
				assertReasons(t, err, tt.want)
				if after := counts(t, s, f.acct.ID); after != before {
					t.Errorf("a refused batch wrote: counts %v → %v", before, after)
				}
			})
		}
	})
}

func TestStore_DeleteUploaded(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		f := mustUploadFixture(t, s)
		ctx := t.Context()
		ids, err := s.UploadOfflineMessages(ctx, f.acct.ID, []store.OfflineUpload{
			{Contact: store.UploadContact{Email: "a@example.com"}, Message: "1", Source: store.UploadSource{SiteID: &f.site.ID}},
			{Contact: store.UploadContact{Email: "b@example.com"}, Message: "2", Source: store.UploadSource{SiteID: &f.site.ID}},
		})
		if err != nil {
			t.Fatal(err)
		}
		manual := storetest.MustOfflineCase(t, s, f.acct.ID, f.known.ID, "S", "typed in", time.Now())
		tests := []struct {
			name    string
			channel models.Channel
			ids     []int64
			want    []store.FieldError
		}{
			{"not uploaded", models.ChannelOffline, []int64{ids[0], manual.ID}, []store.FieldError{{Field: "[1]", Reason: store.ReasonNotFound}}},
			{"another channel", models.ChannelChat, []int64{ids[0]}, []store.FieldError{{Field: "[0]", Reason: store.ReasonNotFound}}},
			{"unknown", models.ChannelOffline, []int64{1 << 40}, []store.FieldError{{Field: "[0]", Reason: store.ReasonNotFound}}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := counts(t, s, f.acct.ID)
				_, err := s.DeleteUploaded(ctx, f.acct.ID, tt.channel, tt.ids)
				assertReasons(t, err, tt.want)
				if after := counts(t, s, f.acct.ID); after != before {
					t.Errorf("a refused delete changed counts %v → %v", before, after)
				}
			})
		}
		deleted, err := s.DeleteUploaded(ctx, f.acct.ID, models.ChannelOffline, []int64{ids[1], ids[1]})
		if err != nil || len(deleted) != 1 || deleted[0] != ids[1] {
			t.Fatalf("delete = %v, %v", deleted, err)
		}
		if _, err := s.Case(ctx, f.acct.ID, ids[1]); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("deleted case still reads: %v", err)
		}
		page, err := s.ListOfflineMessages(ctx, f.acct.ID, 1, 10)
		if err != nil || len(page) != 2 {
			t.Errorf("list after delete = %d, %v; want 2", len(page), err)
		}
		if _, n, _ := s.ListCases(ctx, f.acct.ID, store.CaseQuery{Limit: 1}); n != 2 {
			t.Errorf("total after delete = %d, want 2 (the day counts follow)", n)
		}
	})
}

func TestStore_CreateVisitorSession(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		f := mustUploadFixture(t, s)
		tests := []struct {
			name    string
			in      store.NewVisitorSession
			want    error
			wantErr []string
		}{
			{"site and campaign", store.NewVisitorSession{SiteID: f.site.ID, CampaignID: &f.camp.ID, ContactID: &f.known.ID}, nil, nil},
			{"another account's site", store.NewVisitorSession{SiteID: f.otherSite.ID}, store.ErrNotFound, nil},
			{"campaign of another site", store.NewVisitorSession{SiteID: f.site2.ID, CampaignID: &f.camp.ID}, nil, []string{"campaign_id"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				v, err := s.CreateVisitorSession(t.Context(), f.acct.ID, tt.in)
				if tt.wantErr != nil {
					assertFields(t, err, tt.wantErr)
					return
				}
				if !errors.Is(err, tt.want) {
					t.Fatalf("err = %v, want %v", err, tt.want)
				}
				if err == nil && (v.ID == 0 || v.SiteID != tt.in.SiteID) {
					t.Errorf("session = %+v", v)
				}
			})
		}
	})
}

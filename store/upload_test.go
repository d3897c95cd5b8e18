package store_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

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
	f.known = storetest.MustContact(t, s, f.acct.ID, "Known", "", "+14155550101")
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
			{ReceivedAt: at.Add(time.Minute), Contact: store.UploadContact{Email: "ann@example.com", Phone: "+14155550109"}, Message: "second", Source: store.UploadSource{CampaignID: &f.camp.ID}},
			{ReceivedAt: at.Add(2 * time.Minute), Contact: store.UploadContact{Phone: "+14155550101"}, Message: "third", Source: store.UploadSource{VisitorSessionID: &f.sess.ID}},
			{Contact: store.UploadContact{Phone: "+14155550109"}, Source: store.UploadSource{SiteID: &f.site2.ID, NoCampaign: true}},
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
			d, err := s.OfflineCase(ctx, f.acct.ID, ids[0])
			if err != nil {
				t.Fatal(err)
			}
			if d.Message != "first" || !d.ReceivedAt.Equal(at) || !got[0].Uploaded || got[0].Status != models.StatusNew {
				t.Errorf("detail = %+v", d)
			}
			if got[3].LastMessageID != nil {
				t.Errorf("an empty message added a message: %+v", got[3].Case)
			}
			page, err := s.ListOfflineCases(ctx, f.acct.ID, 1, 10)
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
			d, err := s.OfflineCase(ctx, f.acct.ID, ids[0])
			if err != nil {
				t.Fatal(err)
			}
			if d.Message != "first, edited" || len(d.Replies) != 1 || !d.ReceivedAt.Equal(moved) {
				t.Errorf("after resend = %+v", d)
			}
			// The day counts moved with the date: every page still adds up.
			page, err := s.ListOfflineCases(ctx, f.acct.ID, 4, 1)
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
				[]store.FieldError{{Field: "[0].contact.phone", Reason: store.ReasonRequired}}},
			{"bad phone and email", []store.OfflineUpload{ok(func(it *store.OfflineUpload) { it.Contact = store.UploadContact{Email: "nope", Phone: "555"} })},
				[]store.FieldError{{Field: "[0].contact.email"}, {Field: "[0].contact.phone"}}},
			{"no source", []store.OfflineUpload{ok(func(it *store.OfflineUpload) { it.Source = store.UploadSource{} })},
				[]store.FieldError{{Field: "[0].site_id", Reason: store.ReasonRequired}}},
			{"no campaign without a site", []store.OfflineUpload{ok(func(it *store.OfflineUpload) { it.Source = store.UploadSource{NoCampaign: true} })},
				[]store.FieldError{{Field: "[0].site_id", Reason: store.ReasonRequired}}},
			{"future", []store.OfflineUpload{none2(ok(none)), ok(func(it *store.OfflineUpload) { it.ReceivedAt = time.Now().Add(time.Hour) })},
				[]store.FieldError{{Field: "[1].received_at", Reason: store.ReasonTime}}},
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
			})}, []store.FieldError{{Field: "[0].received_at", Reason: store.ReasonTime}}},
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
			}, []store.FieldError{{Field: "[1].site_id", Reason: store.ReasonNotFound}, {Field: "[2].contact.phone", Reason: store.ReasonRequired}}},
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
			c := store.ChatUpload{StartedAt: start, Contact: store.UploadContact{Phone: "+14155550101"}, Outcome: models.OutcomeSucceeded,
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
			v.Assignee == nil || v.Assignee.ID != f.agent.ID || v.Initiator != models.InitiatorContact || v.ContactID != f.known.ID ||
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
				[]store.FieldError{{Field: "[0].messages[1].agent_id", Reason: store.ReasonNotFound}}},
			{"operator without employee", bad(func(c *store.ChatUpload) { c.Messages[1].AgentID = nil }),
				[]store.FieldError{{Field: "[0].messages[1].agent_id", Reason: store.ReasonRequired}}},
			{"visitor with employee", bad(func(c *store.ChatUpload) { c.Messages[0].AgentID = &f.agent.ID }),
				[]store.FieldError{{Field: "[0].messages[0].agent_id", Reason: store.ReasonCombination}}},
			{"message before the start", bad(func(c *store.ChatUpload) { c.Messages[0].At = start.Add(-time.Second) }),
				[]store.FieldError{{Field: "[0].messages[0].created_at", Reason: store.ReasonTime}}},
			{"no messages, no start, no status", bad(func(c *store.ChatUpload) {
				c.Messages, c.StartedAt, c.Outcome = nil, time.Time{}, "succeed"
			}), []store.FieldError{{Field: "[0].started_at", Reason: store.ReasonRequired}, {Field: "[0].outcome"}, {Field: "[0].messages", Reason: store.ReasonRequired}}},
			{"no campaign for a chat", bad(func(c *store.ChatUpload) { c.Source.NoCampaign = true }),
				[]store.FieldError{{Field: "[0].no_campaign"}}},
			{"unknown initiator and empty message", bad(func(c *store.ChatUpload) { c.Initiator, c.Messages[0].Text = "bot", " " }),
				[]store.FieldError{{Field: "[0].initiator"}, {Field: "[0].messages[0].text", Reason: store.ReasonRequired}}},
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
		page, err := s.ListOfflineCases(ctx, f.acct.ID, 1, 10)
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

// inUTC returns v with its time.Time and *time.Time fields in UTC, so that
// reflect.DeepEqual compares instants whatever zone a driver reads them in.
func inUTC[T any](v T) T {
	rv := reflect.ValueOf(&v).Elem()
	for i := range rv.NumField() {
		switch f := rv.Field(i); x := f.Interface().(type) {
		case time.Time:
			f.Set(reflect.ValueOf(x.UTC()))
		case *time.Time:
			if x != nil {
				u := x.UTC()
				f.Set(reflect.ValueOf(&u))
			}
		}
	}
	return v
}

// readCase returns the case, its contact and its messages (by id) as the
// store's readers return them, times in UTC.
func readCase(t *testing.T, s *store.Store, accountID, id int64) (models.Case, models.Contact, []models.Message) {
	t.Helper()
	v, err := s.Case(t.Context(), accountID, id)
	if err != nil {
		t.Fatal(err)
	}
	page, _, err := s.ListMessages(t.Context(), accountID, id, store.MessageQuery{Limit: 100, Oldest: true})
	if err != nil {
		t.Fatal(err)
	}
	msgs := make([]models.Message, len(page))
	for i, m := range page {
		msgs[i] = inUTC(m.Message)
	}
	slices.SortFunc(msgs, func(a, b models.Message) int { return cmp.Compare(a.ID, b.ID) })
	return inUTC(v.Case), inUTC(v.Contact), msgs
}

// rawRow returns the columns of row id of table as the driver reads them,
// each as its Go type and value.
func rawRow(t *testing.T, tx *gorm.DB, table string, id int64) map[string]string {
	t.Helper()
	rows, err := tx.Raw("SELECT * FROM "+table+" WHERE id = ?", id).Rows()
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	if !rows.Next() {
		t.Fatalf("no row %d in %s", id, table)
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for i, c := range cols {
		out[c] = fmt.Sprintf("%T %v", vals[i], vals[i])
	}
	return out
}

// assertGORMRow checks that row id of M's table holds what GORM's Create
// writes for the model GORM reads from that row: it writes the model again
// through GORM, with a new id, in a transaction it rolls back, and compares
// every column but id. Together with a check of the model read back, it
// shows that an upload's rows (COPY on PostgreSQL) are GORM's rows.
func assertGORMRow[M any](t *testing.T, s *store.Store, id int64) {
	t.Helper()
	tx := s.GORM().Begin()
	if tx.Error != nil {
		t.Fatal(tx.Error)
	}
	defer tx.Rollback()
	var m M
	stmt := &gorm.Statement{DB: tx}
	if err := stmt.Parse(&m); err != nil {
		t.Fatal(err)
	}
	table := stmt.Schema.Table
	orig := rawRow(t, tx, table, id)
	if err := tx.First(&m, id).Error; err != nil {
		t.Fatal(err)
	}
	if table == "cases" {
		// The copy keeps the ext_id and the timeline id, which are unique.
		if err := tx.Exec(`UPDATE cases SET ext_id = NULL, timeline_id = -timeline_id WHERE id = ?`, id).Error; err != nil {
			t.Fatal(err)
		}
	}
	rv := reflect.ValueOf(&m).Elem().FieldByName("ID")
	rv.SetInt(0)
	if err := tx.Create(&m).Error; err != nil {
		t.Fatal(err)
	}
	copied := rawRow(t, tx, table, rv.Int())
	delete(orig, "id")
	delete(copied, "id")
	for col, v := range orig {
		if copied[col] != v {
			t.Errorf("%s %d: %s = %s, GORM writes %s", table, id, col, v, copied[col])
		}
	}
	if len(copied) != len(orig) {
		t.Errorf("%s %d: columns %v, GORM's %v", table, id, orig, copied)
	}
}

// assertNow checks that at is the one write time of an upload made between
// before and after.
func assertNow(t *testing.T, at, before, after time.Time) {
	t.Helper()
	if at.Before(before) || at.After(after) || !at.Equal(at.Truncate(time.Microsecond)) {
		t.Fatalf("write time %v, want microseconds within %v .. %v", at, before, after)
	}
}

func TestStore_UploadOfflineMessages_Rows(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		f := mustUploadFixture(t, s)
		ctx := t.Context()
		mail := storetest.MustContact(t, s, f.acct.ID, "Mail", "mail@example.com", "")
		// Nanoseconds and a zone other than UTC: rows hold UTC microseconds.
		at0 := f.t0.Add(time.Hour + 123456789).In(time.FixedZone("UTC+3", 3*3600))
		at := func(i int) time.Time { return at0.Add(time.Duration(i) * time.Minute).UTC().Truncate(time.Microsecond) }
		// New contacts have no id here: the upload gives them theirs.
		ann := models.Contact{AccountID: f.acct.ID, Name: "Ann", Email: "ann@example.com", Phone: "+14155550109"}
		bo := models.Contact{AccountID: f.acct.ID, Name: "Bo", Phone: "+14155550177"}
		tests := []struct {
			name                    string
			in                      store.OfflineUpload
			contact                 models.Contact
			site, campaign, session *int64
		}{
			{"new contact by email", store.OfflineUpload{Contact: store.UploadContact{Name: "Ann", Email: "Ann@Example.com"},
				Subject: "  Hello  ", Message: "first", FormName: "Form", Source: store.UploadSource{SiteID: &f.site.ID}, ExtID: ptr("o-1")},
				ann, &f.site.ID, nil, nil},
			{"its email, a phone more", store.OfflineUpload{Contact: store.UploadContact{Email: "ann@example.com", Phone: "+14155550109"},
				Message: "second", Source: store.UploadSource{CampaignID: &f.camp.ID}},
				ann, &f.site.ID, &f.camp.ID, nil},
			{"that phone", store.OfflineUpload{Contact: store.UploadContact{Phone: "+14155550109"},
				Message: "third", Source: store.UploadSource{VisitorSessionID: &f.sess.ID}},
				ann, &f.site.ID, &f.camp.ID, &f.sess.ID},
			{"found by email before phone", store.OfflineUpload{Contact: store.UploadContact{Email: "MAIL@example.com", Phone: "+14155550101"},
				Message: "fourth", Source: store.UploadSource{SiteID: &f.site2.ID, NoCampaign: true}, ExtID: ptr("o-4")},
				mail, &f.site2.ID, nil, nil},
			{"found by phone", store.OfflineUpload{Contact: store.UploadContact{Phone: "+14155550101"},
				Message: "fifth", Source: store.UploadSource{SiteID: &f.site.ID}},
				f.known, &f.site.ID, nil, nil},
			{"no message, new contact by phone", store.OfflineUpload{Contact: store.UploadContact{Name: "Bo", Phone: "+14155550177"},
				Message: "  ", Source: store.UploadSource{SiteID: &f.site.ID}},
				bo, &f.site.ID, nil, nil},
		}
		items := make([]store.OfflineUpload, len(tests))
		for i, tt := range tests {
			items[i] = tt.in
			items[i].ReceivedAt = at0.Add(time.Duration(i) * time.Minute)
		}
		before := time.Now().UTC().Truncate(time.Microsecond)
		ids, err := s.UploadOfflineMessages(ctx, f.acct.ID, items)
		if err != nil {
			t.Fatal(err)
		}
		after := time.Now().UTC()
		first, _, _ := readCase(t, s, f.acct.ID, ids[0])
		now := first.CreatedAt
		assertNow(t, now, before, after)

		var msgIDs []int64
		newContacts := map[string]int64{}
		timelines := map[int64]bool{}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				c, ct, msgs := readCase(t, s, f.acct.ID, ids[i])
				wantContact := inUTC(tt.contact)
				if wantContact.ID == 0 {
					// Items that name one new contact share it.
					if id, ok := newContacts[tt.contact.Name]; ok && ct.ID != id {
						t.Errorf("contact %d, want %d as an item before", ct.ID, id)
					}
					newContacts[tt.contact.Name] = ct.ID
					wantContact.ID, wantContact.CreatedAt, wantContact.UpdatedAt = ct.ID, now, now
				}
				if ct != wantContact {
					t.Errorf("contact =\n%+v, want\n%+v", ct, wantContact)
				}
				wantMsgs := []models.Message{}
				var last *int64
				var lastAt *time.Time
				if len(msgs) > 0 {
					last, lastAt = &msgs[0].ID, ptr(at(i))
					msgIDs = append(msgIDs, msgs[0].ID)
					wantMsgs = []models.Message{{ID: msgs[0].ID, AccountID: f.acct.ID, CaseID: ids[i], Sender: models.SenderContact,
						Kind: models.KindMessage, Text: tt.in.Message, CreatedAt: at(i), UpdatedAt: now}}
				}
				if !reflect.DeepEqual(msgs, wantMsgs) {
					t.Errorf("messages =\n%+v, want\n%+v", msgs, wantMsgs)
				}
				want := models.Case{ID: ids[i], AccountID: f.acct.ID, ContactID: ct.ID, Channel: models.ChannelOffline,
					Status: models.StatusNew, Initiator: models.InitiatorContact, Subject: strings.TrimSpace(tt.in.Subject), Unread: true,
					StartedAt: at(i), LastMessageID: last, LastMessageAt: lastAt, LastCustomerMessageAt: lastAt, ExtID: tt.in.ExtID,
					SiteID: tt.site, CampaignID: tt.campaign, VisitorSessionID: tt.session, FormName: tt.in.FormName,
					Uploaded: true, TimelineID: c.TimelineID, CreatedAt: now, UpdatedAt: now}
				if c.TimelineID <= 0 || c.TimelineID == c.ID || timelines[c.TimelineID] {
					t.Errorf("timeline id %d, want a new one of its own", c.TimelineID)
				}
				timelines[c.TimelineID] = true
				if !reflect.DeepEqual(c, want) {
					t.Errorf("case =\n%+v, want\n%+v", c, want)
				}
				assertGORMRow[models.Case](t, s, ids[i])
				assertGORMRow[models.Contact](t, s, ct.ID)
				for _, m := range msgs {
					assertGORMRow[models.Message](t, s, m.ID)
				}
			})
		}
		t.Run("ids in item order", func(t *testing.T) {
			if !slices.IsSorted(ids) || !slices.IsSorted(msgIDs) || len(slices.Compact(slices.Clone(ids))) != len(ids) {
				t.Errorf("case ids %v, message ids %v; want both ascending", ids, msgIDs)
			}
			if newContacts["Ann"] >= newContacts["Bo"] || newContacts["Ann"] <= f.known.ID {
				t.Errorf("new contacts %v, want ascending after %d", newContacts, f.known.ID)
			}
		})
		t.Run("a resend's last message is the reply it keeps", func(t *testing.T) {
			reply := storetest.MustReply(t, s, f.acct.ID, ids[0], f.agent.ID, "reply", at(60))
			again := items[0]
			again.ReceivedAt = at(-30)
			if _, err := s.UploadOfflineMessages(ctx, f.acct.ID, []store.OfflineUpload{again}); err != nil {
				t.Fatal(err)
			}
			c, _, msgs := readCase(t, s, f.acct.ID, ids[0])
			if c.LastMessageID == nil || *c.LastMessageID != reply.ID || !c.LastMessageAt.Equal(at(60)) ||
				!c.LastCustomerMessageAt.Equal(at(-30)) || len(msgs) != 2 || msgs[1].Text != "first" {
				t.Errorf("case = %+v, messages %+v; want the reply %d last, the visitor's message at %v", c, msgs, reply.ID, at(-30))
			}
			assertGORMRow[models.Case](t, s, ids[0])
		})
	})
}

func TestStore_UploadChats_Rows(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		f := mustUploadFixture(t, s)
		ctx := t.Context()
		start := f.t0.Add(time.Hour)
		at := func(minute int) time.Time { return start.Add(time.Duration(minute) * time.Minute) }
		msg := func(minute int, sender models.Sender, text string) store.ChatUploadMessage {
			m := store.ChatUploadMessage{At: at(minute), Sender: sender, Text: text}
			if sender == models.SenderAgent {
				m.AgentID = &f.agent.ID
			}
			return m
		}
		// chatWant is how a chat's case reads back.
		type chatWant struct {
			contact   models.Contact // without id when the upload creates it
			initiator models.Initiator
			assignee  *int64
			// closed is the minute of the chat's last message; last and
			// customer index its last message and its last from the contact
			// (-1 for none).
			closed, last, customer  int
			site, campaign, session *int64
		}
		cat := models.Contact{AccountID: f.acct.ID, Name: "Cat", Email: "cat@example.com"}
		tests := []struct {
			name string
			in   store.ChatUpload
			want chatWant
		}{
			{"a tie goes to the later message", store.ChatUpload{Contact: store.UploadContact{Name: "Cat", Email: "cat@example.com"},
				Outcome: models.OutcomeSucceeded, Source: store.UploadSource{SiteID: &f.site.ID}, ExtID: ptr("c-1"),
				Messages: []store.ChatUploadMessage{msg(1, models.SenderContact, "hi"), msg(2, models.SenderAgent, "hello"), msg(2, models.SenderSystem, "left")}},
				chatWant{cat, models.InitiatorContact, &f.agent.ID, 2, 2, 0, &f.site.ID, nil, nil}},
			{"the last by time, not by order", store.ChatUpload{Contact: store.UploadContact{Phone: "+14155550101"},
				Outcome: models.OutcomeLost, Source: store.UploadSource{CampaignID: &f.camp.ID},
				Messages: []store.ChatUploadMessage{msg(5, models.SenderAgent, "late"), msg(1, models.SenderContact, "early")}},
				chatWant{f.known, models.InitiatorAgent, &f.agent.ID, 5, 0, 1, &f.site.ID, &f.camp.ID, nil}},
			{"no message from the contact", store.ChatUpload{Contact: store.UploadContact{Email: "cat@example.com"},
				Outcome: models.OutcomeRefused, Initiator: models.InitiatorInvite, Source: store.UploadSource{VisitorSessionID: &f.sess.ID},
				Messages: []store.ChatUploadMessage{msg(0, models.SenderSystem, "bot")}},
				chatWant{cat, models.InitiatorInvite, nil, 0, 0, -1, &f.site.ID, &f.camp.ID, &f.sess.ID}},
		}
		items := make([]store.ChatUpload, len(tests))
		for i, tt := range tests {
			items[i] = tt.in
			items[i].StartedAt = start
		}
		before := time.Now().UTC().Truncate(time.Microsecond)
		ids, err := s.UploadChats(ctx, f.acct.ID, items)
		if err != nil {
			t.Fatal(err)
		}
		after := time.Now().UTC()
		first, _, _ := readCase(t, s, f.acct.ID, ids[0])
		now := first.CreatedAt
		assertNow(t, now, before, after)

		// check compares the case of item i, uploaded as in, with want, and
		// returns its messages.
		check := func(t *testing.T, i int, in store.ChatUpload, want chatWant) []models.Message {
			t.Helper()
			c, ct, msgs := readCase(t, s, f.acct.ID, ids[i])
			wantContact := inUTC(want.contact)
			if wantContact.ID == 0 {
				wantContact.ID, wantContact.CreatedAt, wantContact.UpdatedAt = ct.ID, now, now
			}
			if ct != wantContact {
				t.Errorf("contact =\n%+v, want\n%+v", ct, wantContact)
			}
			if len(msgs) != len(in.Messages) {
				t.Fatalf("messages = %+v, want %d", msgs, len(in.Messages))
			}
			for j, m := range in.Messages {
				// A resend writes later than the first upload: its own time.
				wantMsg := models.Message{ID: msgs[j].ID, AccountID: f.acct.ID, CaseID: ids[i], Sender: m.Sender, AgentID: m.AgentID,
					Kind: models.KindMessage, Text: m.Text, Read: true, CreatedAt: m.At.UTC(), UpdatedAt: c.UpdatedAt}
				if !reflect.DeepEqual(msgs[j], wantMsg) {
					t.Errorf("message %d =\n%+v, want\n%+v", j, msgs[j], wantMsg)
				}
				assertGORMRow[models.Message](t, s, msgs[j].ID)
			}
			var customerAt *time.Time
			if want.customer >= 0 {
				customerAt = ptr(msgs[want.customer].CreatedAt)
			}
			wantCase := models.Case{ID: ids[i], AccountID: f.acct.ID, ContactID: ct.ID, Channel: models.ChannelChat, Status: models.StatusClosed,
				Outcome: &in.Outcome, Initiator: want.initiator, AssigneeID: want.assignee, StartedAt: start, ClosedAt: ptr(at(want.closed)),
				LastMessageID: &msgs[want.last].ID, LastMessageAt: &msgs[want.last].CreatedAt, LastCustomerMessageAt: customerAt,
				ExtID: in.ExtID, SiteID: want.site, CampaignID: want.campaign, VisitorSessionID: want.session, Uploaded: true,
				TimelineID: c.TimelineID, CreatedAt: now, UpdatedAt: c.UpdatedAt}
			if c.TimelineID <= 0 || c.TimelineID == c.ID {
				t.Errorf("timeline id %d, want one of its own", c.TimelineID)
			}
			if !reflect.DeepEqual(c, wantCase) {
				t.Errorf("case =\n%+v, want\n%+v", c, wantCase)
			}
			assertGORMRow[models.Case](t, s, ids[i])
			assertGORMRow[models.Contact](t, s, ct.ID)
			return msgs
		}
		var msgIDs, contactIDs []int64
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				for _, m := range check(t, i, tt.in, tt.want) {
					msgIDs = append(msgIDs, m.ID)
				}
				c, _, _ := readCase(t, s, f.acct.ID, ids[i])
				if !c.UpdatedAt.Equal(now) {
					t.Errorf("case updated at %v, want %v", c.UpdatedAt, now)
				}
				contactIDs = append(contactIDs, c.ContactID)
			})
		}
		t.Run("ids in item order", func(t *testing.T) {
			if !slices.IsSorted(ids) || !slices.IsSorted(msgIDs) || len(msgIDs) != 6 {
				t.Errorf("case ids %v, message ids %v; want both ascending", ids, msgIDs)
			}
			if len(contactIDs) != 3 || contactIDs[0] != contactIDs[2] {
				t.Errorf("contacts %v, want one new contact for one email", contactIDs)
			}
		})
		t.Run("a resend's last message is its own", func(t *testing.T) {
			again := items[0]
			again.Messages = []store.ChatUploadMessage{msg(3, models.SenderContact, "again")}
			if _, err := s.UploadChats(ctx, f.acct.ID, []store.ChatUpload{again}); err != nil {
				t.Fatal(err)
			}
			check(t, 0, again, chatWant{cat, models.InitiatorContact, nil, 3, 0, 0, &f.site.ID, nil, nil})
		})
	})
}

func TestStore_UploadOfflineMessages_Rollback(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		f := mustUploadFixture(t, s)
		ctx := t.Context()
		item := func(ext *string, email, subject, text string) store.OfflineUpload {
			return store.OfflineUpload{ReceivedAt: f.t0.Add(time.Hour), Contact: store.UploadContact{Email: email},
				Subject: subject, Message: text, Source: store.UploadSource{SiteID: &f.site.ID}, ExtID: ext}
		}
		kept, err := s.UploadOfflineMessages(ctx, f.acct.ID, []store.OfflineUpload{item(ptr("o-1"), "kept@example.com", "", "kept")})
		if err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name string
			// setup makes the database fail the upload; a backend without
			// an entry skips the test.
			setup map[store.Backend][]string
			ctx   func(t *testing.T) context.Context
			items []store.OfflineUpload
			// want is what the error wraps; nil takes any error but
			// FieldErrors.
			want error
		}{
			{"a message row refused after the contacts and cases went in",
				map[store.Backend][]string{
					store.Postgres: {`ALTER TABLE messages ADD CONSTRAINT test_no_boom CHECK (text <> 'boom')`},
					store.SQLite:   {`CREATE TRIGGER test_no_boom BEFORE INSERT ON messages WHEN NEW.text = 'boom' BEGIN SELECT RAISE(ABORT, 'boom'); END`},
				},
				func(t *testing.T) context.Context { return t.Context() },
				[]store.OfflineUpload{item(ptr("o-1"), "kept@example.com", "", "replaced"), item(nil, "new@example.com", "", "boom")}, nil},
			{"a context cancelled before", nil,
				func(t *testing.T) context.Context {
					ctx, cancel := context.WithCancel(t.Context())
					cancel()
					return ctx
				},
				[]store.OfflineUpload{item(nil, "new@example.com", "", "m")}, context.Canceled},
			// The cases' COPY waits on the server until the context ends:
			// pgx gives up the connection and the transaction goes with it.
			{"a context ending during a COPY",
				map[store.Backend][]string{store.Postgres: {
					`CREATE FUNCTION test_slow() RETURNS trigger LANGUAGE plpgsql AS $$
						BEGIN IF NEW.subject = 'slow' THEN PERFORM pg_sleep(1); END IF; RETURN NEW; END $$`,
					`CREATE TRIGGER test_slow BEFORE INSERT ON cases FOR EACH ROW EXECUTE FUNCTION test_slow()`,
				}},
				func(t *testing.T) context.Context {
					ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
					t.Cleanup(cancel)
					return ctx
				},
				[]store.OfflineUpload{item(ptr("o-1"), "kept@example.com", "", "replaced"), item(nil, "new@example.com", "slow", "m")},
				context.DeadlineExceeded},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				setup, ok := tt.setup[s.Backend()]
				if tt.setup != nil && !ok {
					t.Skipf("no way to fail this on %s", s.Backend())
				}
				for _, q := range setup {
					if err := s.GORM().Exec(q).Error; err != nil {
						t.Fatal(err)
					}
				}
				before := counts(t, s, f.acct.ID)
				_, err := s.UploadOfflineMessages(tt.ctx(t), f.acct.ID, tt.items)
				var fe store.FieldErrors
				switch {
				case err == nil, errors.As(err, &fe):
					t.Fatalf("err = %v, want the database's", err)
				case tt.want != nil && !errors.Is(err, tt.want):
					t.Fatalf("err = %v, want %v", err, tt.want)
				}
				if after := counts(t, s, f.acct.ID); after != before {
					t.Errorf("a failed upload wrote: counts %v → %v", before, after)
				}
				d, err := s.OfflineCase(ctx, f.acct.ID, kept[0])
				if err != nil || d.Message != "kept" {
					t.Errorf("resent case = %+v, %v; want its message kept", d, err)
				}
				if _, n, err := s.ListCases(ctx, f.acct.ID, store.CaseQuery{Limit: 1}); err != nil || n != 1 {
					t.Errorf("cases counted = %d, %v; want 1 (the day counts rolled back)", n, err)
				}
			})
		}
		t.Run("the next upload writes", func(t *testing.T) {
			ids, err := s.UploadOfflineMessages(ctx, f.acct.ID, []store.OfflineUpload{
				item(ptr("o-1"), "kept@example.com", "", "replaced"), item(nil, "new@example.com", "", "m")})
			if err != nil {
				t.Fatal(err)
			}
			if ids[0] != kept[0] || ids[1] <= kept[0] {
				t.Errorf("ids = %v, want %d and a new one", ids, kept[0])
			}
			if after := counts(t, s, f.acct.ID); after != [3]int64{2, 2, 3} {
				t.Errorf("counts = %v, want 2 cases, 2 messages, 3 contacts", after)
			}
		})
	})
}

// TestStore_UploadNewVisitorSession checks that a session number the account
// has no session of is recorded as the account's session, once per number,
// on the site and campaign of the first item that gives them and from the
// earliest item's time; that another account's number is not seen; and that
// CreateVisitorSession still works after, its id left to the sequence.
func TestStore_UploadNewVisitorSession(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		f := mustUploadFixture(t, s)
		ctx := t.Context()
		otherSess, err := s.CreateVisitorSession(ctx, f.otherSite.AccountID, store.NewVisitorSession{SiteID: f.otherSite.ID, StartedAt: f.t0})
		if err != nil {
			t.Fatal(err)
		}
		if f.sess.ExtID == nil || *f.sess.ExtID != f.sess.ID {
			t.Errorf("a created session's number = %v, want its id %d", f.sess.ExtID, f.sess.ID)
		}
		// Another account's number is unknown here, as any other number.
		_, err = s.UploadOfflineMessages(ctx, f.acct.ID, []store.OfflineUpload{{
			Contact: store.UploadContact{Email: "x@example.com"}, Source: store.UploadSource{VisitorSessionID: &otherSess.ID}}})
		assertReasons(t, err, []store.FieldError{{Field: "[0].visitor_session_id", Reason: store.ReasonNotFound}})

		number := f.sess.ID + 5
		at := f.t0.Add(time.Hour)
		ids, err := s.UploadOfflineMessages(ctx, f.acct.ID, []store.OfflineUpload{
			{ReceivedAt: at.Add(time.Minute), Contact: store.UploadContact{Email: "ann@example.com"}, Message: "no site",
				Source: store.UploadSource{VisitorSessionID: &number}},
			{ReceivedAt: at, Contact: store.UploadContact{Email: "bob@example.com"}, Message: "site and campaign",
				Source: store.UploadSource{VisitorSessionID: &number, CampaignID: &f.camp.ID}},
			{ReceivedAt: at, Contact: store.UploadContact{Email: "eve@example.com"}, Message: "the other account's number",
				Source: store.UploadSource{VisitorSessionID: &otherSess.ID, SiteID: &f.site2.ID}},
		})
		if err != nil {
			t.Fatal(err)
		}
		var mine []models.VisitorSession
		if err := s.GORM().Where("account_id = ? AND id <> ?", f.acct.ID, f.sess.ID).Order("ext_id").Find(&mine).Error; err != nil {
			t.Fatal(err)
		}
		if len(mine) != 2 {
			t.Fatalf("sessions recorded = %+v, want 2", mine)
		}
		byNumber := map[int64]models.VisitorSession{*mine[0].ExtID: mine[0], *mine[1].ExtID: mine[1]}
		v, w := byNumber[number], byNumber[otherSess.ID]
		if v.SiteID != f.site.ID || v.CampaignID == nil || *v.CampaignID != f.camp.ID || !v.StartedAt.Equal(at) {
			t.Errorf("session %d = %+v, want site %d, campaign %d, from %s", number, v, f.site.ID, f.camp.ID, at)
		}
		if w.SiteID != f.site2.ID || w.CampaignID != nil || w.ID == otherSess.ID {
			t.Errorf("session %d = %+v, want the account's own on site %d", otherSess.ID, w, f.site2.ID)
		}
		for i, want := range []int64{v.ID, v.ID, w.ID} {
			c, err := s.Case(ctx, f.acct.ID, ids[i])
			if err != nil {
				t.Fatal(err)
			}
			if c.VisitorSessionID == nil || *c.VisitorSessionID != want {
				t.Errorf("case %d session = %v, want %d", i, c.VisitorSessionID, want)
			}
		}
		if v.ContactID == nil || *v.ContactID == 0 {
			t.Errorf("session %d has no contact", number)
		}
		var theirs models.VisitorSession
		if err := s.GORM().Take(&theirs, otherSess.ID).Error; err != nil || theirs.AccountID != f.otherSite.AccountID || theirs.SiteID != f.otherSite.ID {
			t.Errorf("the other account's session = %+v (%v), want it unchanged", theirs, err)
		}

		// The id sequence never saw the numbers: sessions created after go
		// on from it, and the one whose id is an uploaded number has none.
		hit := false
		for range 10 {
			n, err := s.CreateVisitorSession(ctx, f.acct.ID, store.NewVisitorSession{SiteID: f.site.ID})
			if err != nil {
				t.Fatal(err)
			}
			if n.ID == number {
				hit = true
				if n.ExtID != nil {
					t.Errorf("session %d took the uploaded number %d", n.ID, *n.ExtID)
				}
				break
			}
			if n.ExtID == nil || *n.ExtID != n.ID {
				t.Errorf("session %d's number = %v, want its id", n.ID, n.ExtID)
			}
		}
		if !hit {
			t.Errorf("no session created with id %d", number)
		}
	})
}

// TestStore_UploadOfflineMessages_ExtIDRace checks, on PostgreSQL, an upload
// racing another writer of its ext_id: the other transaction has written
// the case but not committed when the upload reads the account's ext_ids,
// so the upload's own write of that case waits on the unique index and
// fails once the other commits. The upload runs again and resends over the
// case the other wrote, as if the two had come one after the other, instead
// of answering ErrConflict.
func TestStore_UploadOfflineMessages_ExtIDRace(t *testing.T) {
	s := storetest.MustOpen(t, store.Postgres)
	f := mustUploadFixture(t, s)
	ctx := t.Context()
	db, err := s.GORM().DB()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	holder, err := conn.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Rollback()
	var pid, caseID int64
	if err := holder.QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
		t.Fatal(err)
	}
	if err := holder.QueryRowContext(ctx, `INSERT INTO cases (account_id, contact_id, channel, status, initiator, subject,
			unread, started_at, ext_id, form_name, created_at, updated_at)
		VALUES ($1, $2, 'offline', 'new', 'contact', 'first', true, $3, 'race-1', '', now(), now()) RETURNING id`,
		f.acct.ID, f.known.ID, f.t0).Scan(&caseID); err != nil {
		t.Fatal(err)
	}

	type result struct {
		ids []int64
		err error
	}
	done := make(chan result, 1)
	go func() {
		ids, err := s.UploadOfflineMessages(ctx, f.acct.ID, []store.OfflineUpload{{
			ReceivedAt: f.t0.Add(time.Hour), Contact: store.UploadContact{Email: "race@example.com"},
			Message: "sent twice", ExtID: ptr("race-1"), Source: store.UploadSource{SiteID: &f.site.ID},
		}})
		done <- result{ids, err}
	}()
	// Commit the other writer only once the upload waits on it, so that the
	// upload has read the ext_ids before the case was there.
	for waiting := false; !waiting; {
		select {
		case r := <-done:
			t.Fatalf("the upload ended before it waited on the other writer: %v, %v", r.ids, r.err)
		case <-time.After(10 * time.Millisecond):
		}
		var n int64
		if err := s.GORM().Raw(`SELECT count(*) FROM pg_stat_activity WHERE ? = ANY(pg_blocking_pids(pid))`, pid).
			Scan(&n).Error; err != nil {
			t.Fatal(err)
		}
		waiting = n > 0
	}
	if err := holder.Commit(); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil {
		t.Fatalf("upload racing another writer of its ext_id: %v", r.err)
	}
	if len(r.ids) != 1 || r.ids[0] != caseID {
		t.Fatalf("upload ids = %v, want [%d] (the case the other writer committed)", r.ids, caseID)
	}
	var n int64
	if err := s.GORM().Raw(`SELECT count(*) FROM cases WHERE account_id = ? AND ext_id = 'race-1'`, f.acct.ID).Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	d, err := s.OfflineCase(ctx, f.acct.ID, caseID)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 || d.Message != "sent twice" {
		t.Errorf("after the race: %d cases with the ext_id, the case's message %q; want 1 and %q", n, d.Message, "sent twice")
	}
}

package store_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

const hash = "$2a$04$placeholderplaceholderplaceholderplaceholderplacehol"

func TestParseURL(t *testing.T) {
	tests := []struct {
		name    string
		url     string
		backend store.Backend
		wantErr bool
	}{
		{"sqlite path", "sqlite:switchboard.db", store.SQLite, false},
		{"sqlite slashes", "sqlite:///tmp/x.db", store.SQLite, false},
		{"sqlite memory", "sqlite::memory:", store.SQLite, false},
		{"postgres", "postgres://u:p@localhost/db", store.Postgres, false},
		{"postgresql", "postgresql://localhost/db", store.Postgres, false},
		{"sqlite without path", "sqlite:", "", true},
		{"mysql", "mysql://localhost/db", "", true},
		{"empty", "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, _, err := store.ParseURL(tt.url)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseURL(%q) err = %v, want error %v", tt.url, err, tt.wantErr)
			}
			if b != tt.backend {
				t.Errorf("ParseURL(%q) backend = %q, want %q", tt.url, b, tt.backend)
			}
		})
	}
}

func TestOpen_Unreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, err := store.Open(ctx, "postgres://nobody:secret@127.0.0.1:1/none?connect_timeout=2", store.Options{})
	if err == nil {
		t.Fatal("Open on a closed port succeeded")
	}
	if strings.Contains(err.Error(), "secret") {
		t.Errorf("error %q shows the password", err)
	}
}

func TestStore_CreateAccount(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		tests := []struct {
			name    string
			in      store.NewAccount
			wantTZ  string
			wantErr []string
		}{
			{"default time zone", store.NewAccount{Name: "Acme"}, "UTC", nil},
			{"given time zone", store.NewAccount{Name: "Acme", Timezone: "Europe/Riga"}, "Europe/Riga", nil},
			{"every bad field", store.NewAccount{Name: " ", Timezone: "Mars/Base"}, "", []string{"name", "timezone"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				a, err := s.CreateAccount(t.Context(), tt.in)
				assertFields(t, err, tt.wantErr)
				if err != nil {
					return
				}
				got, err := s.Account(t.Context(), a.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got.Timezone != tt.wantTZ || got.Name != tt.in.Name {
					t.Errorf("stored %+v, want name %q tz %q", got, tt.in.Name, tt.wantTZ)
				}
			})
		}
		if _, err := s.Account(t.Context(), 999999); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Account(999999) err = %v, want ErrNotFound", err)
		}
	})
}

// assertFields checks that err is FieldErrors naming exactly the fields, or nil when none.
func assertFields(t *testing.T, err error, fields []string) {
	t.Helper()
	if len(fields) == 0 {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	var fe store.FieldErrors
	if !errors.As(err, &fe) {
		t.Fatalf("err = %v, want FieldErrors on %v", err, fields)
	}
	var got []string
	for _, f := range fe {
		got = append(got, f.Field)
	}
	if fmt.Sprint(got) != fmt.Sprint(fields) {
		t.Errorf("field errors on %v, want %v (%v)", got, fields, err)
	}
}

func TestStore_CreateAgent(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		acct := storetest.MustAccount(t, s, "A")
		tests := []struct {
			name     string
			account  int64
			in       store.NewAgent
			wantErr  error
			wantFail []string
		}{
			{"ok", acct.ID, store.NewAgent{Email: "Ann@Example.com", PasswordHash: hash, Role: models.RoleAdmin}, nil, nil},
			{"duplicate email in any case", acct.ID, store.NewAgent{Email: "ann@example.COM", PasswordHash: hash, Role: models.RoleAgent}, store.ErrConflict, nil},
			{"unknown account", 424242, store.NewAgent{Email: "bob@example.com", PasswordHash: hash, Role: models.RoleAgent}, store.ErrNotFound, nil},
			{"every bad field", acct.ID, store.NewAgent{Email: "nope", Role: "boss"}, nil, []string{"email", "password", "role"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				a, err := s.CreateAgent(t.Context(), tt.account, tt.in)
				if tt.wantFail != nil {
					assertFields(t, err, tt.wantFail)
					return
				}
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if err != nil {
					return
				}
				got, err := s.AgentByEmail(t.Context(), "ANN@example.com")
				if err != nil || got.ID != a.ID || !got.Enabled || got.Email != "ann@example.com" {
					t.Errorf("AgentByEmail = %+v, %v; want agent %d, enabled, lower-case email", got, err, a.ID)
				}
			})
		}
	})
}

func TestStore_UpdateAgent(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		a1 := storetest.MustAccount(t, s, "A")
		a2 := storetest.MustAccount(t, s, "B")
		ag := storetest.MustAgent(t, s, a1.ID, "x@example.com", models.RoleAgent, hash)
		role, newHash := models.RoleSuperadmin, "other-hash"
		got, err := s.UpdateAgent(t.Context(), a1.ID, ag.ID, store.AgentUpdate{Role: &role, PasswordHash: &newHash})
		if err != nil || got.Role != role || got.PasswordHash != newHash {
			t.Fatalf("UpdateAgent = %+v, %v", got, err)
		}
		if _, err := s.UpdateAgent(t.Context(), a2.ID, ag.ID, store.AgentUpdate{Role: &role}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("update through another account: err = %v, want ErrNotFound", err)
		}
		bad := models.Role("root")
		if _, err := s.UpdateAgent(t.Context(), a1.ID, ag.ID, store.AgentUpdate{Role: &bad}); err == nil {
			t.Error("UpdateAgent accepted role root")
		}
	})
}

func TestStore_CreateContact(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		acct := storetest.MustAccount(t, s, "A")
		tests := []struct {
			name    string
			in      store.NewContact
			wantErr []string
		}{
			{"full", store.NewContact{Name: "Ann", Email: "ann@example.com", Phone: "+37120000000"}, nil},
			{"anonymous", store.NewContact{}, nil},
			{"bad email and phone", store.NewContact{Email: "ann@", Phone: "12345"}, []string{"email", "phone"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				c, err := s.CreateContact(t.Context(), acct.ID, tt.in)
				assertFields(t, err, tt.wantErr)
				if err != nil {
					return
				}
				got, err := s.Contact(t.Context(), acct.ID, c.ID)
				if err != nil || got.Email != tt.in.Email || got.Phone != tt.in.Phone {
					t.Errorf("Contact = %+v, %v", got, err)
				}
			})
		}
	})
}

func TestStore_SitesCampaignsInboxes(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		a1 := storetest.MustAccount(t, s, "A")
		a2 := storetest.MustAccount(t, s, "B")
		site, err := s.CreateSite(ctx, a1.ID, "Example.com")
		if err != nil || site.Domain != "example.com" {
			t.Fatalf("CreateSite = %+v, %v", site, err)
		}
		if _, err := s.CreateSite(ctx, a1.ID, ""); err == nil {
			t.Error("CreateSite accepted an empty domain")
		}
		if _, err := s.CreateCampaign(ctx, a1.ID, site.ID, "Spring"); err != nil {
			t.Errorf("CreateCampaign: %v", err)
		}
		if _, err := s.CreateCampaign(ctx, a2.ID, site.ID, "Spring"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("campaign on another account's site: err = %v, want ErrNotFound", err)
		}
		tests := []struct {
			name    string
			kind    models.InboxKind
			address string
			want    error
		}{
			{"email", models.InboxEmail, "Help@Example.com", nil},
			{"same email again", models.InboxEmail, "help@example.com", store.ErrConflict},
			{"sms", models.InboxSMS, "+14155550111", nil},
			{"sms not E.164", models.InboxSMS, "5550001111", store.FieldErrors{}},
			{"unknown kind", "fax", "+14155550111", store.FieldErrors{}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := s.CreateInbox(ctx, a1.ID, tt.kind, tt.address)
				var fe store.FieldErrors
				switch {
				case tt.want == nil && err != nil:
					t.Errorf("err = %v", err)
				case tt.want != nil && errors.As(tt.want, &fe):
					if !errors.As(err, &fe) {
						t.Errorf("err = %v, want FieldErrors", err)
					}
				case tt.want != nil && !errors.Is(err, tt.want):
					t.Errorf("err = %v, want %v", err, tt.want)
				}
			})
		}
	})
}

func TestStore_Bootstrap(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		tests := []struct {
			name    string
			keyID   string
			wantKey bool
		}{
			{"without a key", "", false},
			{"with a key", "bootstrap-key-1", true},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := storetest.MustOpen(t, s.Backend()) // each case needs an empty database
				in := store.Bootstrap{AccountName: "Default", Email: "admin@example.com", PasswordHash: hash, KeyID: tt.keyID}
				b, err := s.Bootstrap(t.Context(), in)
				if err != nil || !b.Created || b.Agent.Role != models.RoleSuperadmin || b.Agent.AccountID != b.Account.ID || b.Account.Timezone != "UTC" {
					t.Fatalf("first Bootstrap = %+v %v", b, err)
				}
				if tt.wantKey {
					if b.Key.ID != tt.keyID || b.Key.AgentID != b.Agent.ID || b.Key.AccountID != b.Account.ID || b.Key.Scopes != "" || b.Key.ExpiresAt != nil {
						t.Errorf("bootstrap key = %+v, want a full-access key of the superadmin", b.Key)
					}
					if got, err := s.APIKey(t.Context(), tt.keyID); err != nil || got.Key.AgentID != b.Agent.ID {
						t.Errorf("stored key = %+v, %v", got, err)
					}
				} else if b.Key.ID != "" {
					t.Errorf("key %+v made without a KeyID", b.Key)
				}
				again, err := s.Bootstrap(t.Context(), in)
				if err != nil || again.Created || again.Key.ID != "" {
					t.Fatalf("second Bootstrap = %+v, %v; want nothing created", again, err)
				}
			})
		}
	})
}

func TestStore_AddMessage(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		a1 := storetest.MustAccount(t, s, "A")
		a2 := storetest.MustAccount(t, s, "B")
		agent1 := storetest.MustAgent(t, s, a1.ID, "one@example.com", models.RoleAgent, hash)
		agent2 := storetest.MustAgent(t, s, a2.ID, "two@example.com", models.RoleAgent, hash)
		ct := storetest.MustContact(t, s, a1.ID, "V", "v@example.com", "")
		c := storetest.MustOfflineCase(t, s, a1.ID, ct.ID, "S", "hello", time.Now().Add(-time.Hour))
		tests := []struct {
			name     string
			account  int64
			caseID   int64
			in       store.NewMessage
			want     error
			wantFail []string
		}{
			{"agent reply", a1.ID, c.ID, store.NewMessage{Sender: models.SenderAgent, AgentID: &agent1.ID, Kind: models.KindMessage, Text: "hi"}, nil, nil},
			{"contact message", a1.ID, c.ID, store.NewMessage{Sender: models.SenderContact, Kind: models.KindMessage, Text: "thanks"}, nil, nil},
			{"another account's agent", a1.ID, c.ID, store.NewMessage{Sender: models.SenderAgent, AgentID: &agent2.ID, Kind: models.KindMessage, Text: "x"}, store.ErrNotFound, nil},
			{"another account's case", a2.ID, c.ID, store.NewMessage{Sender: models.SenderContact, Kind: models.KindMessage, Text: "x"}, store.ErrNotFound, nil},
			{"unknown case", a1.ID, 999999, store.NewMessage{Sender: models.SenderContact, Kind: models.KindMessage, Text: "x"}, store.ErrNotFound, nil},
			{"every bad field", a1.ID, c.ID, store.NewMessage{Sender: "bot", Kind: "fax"}, nil, []string{"sender", "kind", "text"}},
			{"agent without agent id", a1.ID, c.ID, store.NewMessage{Sender: models.SenderAgent, Kind: models.KindMessage, Text: "x"}, nil, []string{"agent"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := s.AddMessage(ctx, tt.account, tt.caseID, tt.in)
				if tt.wantFail != nil {
					assertFields(t, err, tt.wantFail)
					return
				}
				if !errors.Is(err, tt.want) {
					t.Errorf("err = %v, want %v", err, tt.want)
				}
			})
		}
		d, err := s.OfflineCase(ctx, a1.ID, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		// The visitor's later message is a reply too (issue 21), newest first.
		if len(d.Replies) != 2 || d.Replies[1].Text != "hi" || d.Replies[1].AgentID != agent1.ID ||
			d.Replies[0].Text != "thanks" || d.Replies[0].AgentID != 0 || d.Message != "hello" {
			t.Errorf("after writes, detail = %+v; want the visitor's later message, the agent reply, and the first visitor message", d)
		}
		if err := s.GORM().Exec("UPDATE cases SET status = 'closed' WHERE id = ?", c.ID).Error; err != nil {
			t.Fatal(err)
		}
		_, err = s.AddMessage(ctx, a1.ID, c.ID, store.NewMessage{Sender: models.SenderContact, Kind: models.KindMessage, Text: "late"})
		if !errors.Is(err, store.ErrCaseNotActive) {
			t.Errorf("message into a closed case: err = %v, want ErrCaseNotActive", err)
		}
	})
}

func TestStore_AddMessage_Concurrent(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		acct := storetest.MustAccount(t, s, "A")
		ag := storetest.MustAgent(t, s, acct.ID, "a@example.com", models.RoleAgent, hash)
		ct := storetest.MustContact(t, s, acct.ID, "V", "", "+14155550111")
		c := storetest.MustOfflineCase(t, s, acct.ID, ct.ID, "S", "hello", time.Now())
		const n = 20
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := s.AddMessage(context.Background(), acct.ID, c.ID, store.NewMessage{
					Sender: models.SenderAgent, AgentID: &ag.ID, Kind: models.KindMessage, Text: fmt.Sprint("r", i),
				})
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Error(err)
			}
		}
		page, err := s.ListOfflineCases(t.Context(), acct.ID, 1, 20)
		if err != nil || len(page) != 1 || page[0].ReplyCount != n {
			t.Errorf("list = %+v, %v; want one message with %d replies", page, err, n)
		}
	})
}

func TestStore_OfflineCase(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		a1 := storetest.MustAccount(t, s, "A")
		a2 := storetest.MustAccount(t, s, "B")
		ag := storetest.MustAgent(t, s, a1.ID, "ag@example.com", models.RoleAgent, hash)
		ct := storetest.MustContact(t, s, a1.ID, "Visitor", "v@example.com", "+37120000000")
		received := time.Date(2025, 4, 15, 7, 14, 23, 768_000_000, time.UTC)
		c := storetest.MustOfflineCase(t, s, a1.ID, ct.ID, "Subject", "Body", received)
		storetest.MustReply(t, s, a1.ID, c.ID, ag.ID, "older", received.Add(time.Minute))
		storetest.MustReply(t, s, a1.ID, c.ID, ag.ID, "newer", received.Add(2*time.Minute))
		if _, err := s.AddMessage(ctx, a1.ID, c.ID, store.NewMessage{Sender: models.SenderAgent, AgentID: &ag.ID, Kind: models.KindNote, Text: "private"}); err != nil {
			t.Fatal(err)
		}

		d, err := s.OfflineCase(ctx, a1.ID, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		// Answered, it is read (REVE shows its answered messages unread 0).
		if d.ID != c.ID || d.ContactID != ct.ID || d.ContactName != "Visitor" || d.ContactEmail != "v@example.com" ||
			d.ContactPhone != "+37120000000" || d.Subject != "Subject" || d.Message != "Body" || !d.ReceivedAt.Equal(received) ||
			d.Unread || d.ReplyCount != 2 {
			t.Errorf("detail = %+v", d.OfflineCase)
		}
		if len(d.Replies) != 2 || d.Replies[0].Text != "newer" || d.Replies[1].Text != "older" ||
			d.Replies[0].Email != "ag@example.com" || !d.Replies[1].At.Equal(received.Add(time.Minute)) {
			t.Errorf("replies = %+v, want newer then older, notes left out", d.Replies)
		}
		for _, tt := range []struct {
			name    string
			account int64
			id      int64
		}{{"another account", a2.ID, c.ID}, {"unknown id", a1.ID, c.ID + 1000}} {
			t.Run(tt.name, func(t *testing.T) {
				if _, err := s.OfflineCase(ctx, tt.account, tt.id); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("err = %v, want ErrNotFound", err)
				}
			})
		}
	})
}

// TestStore_ListOfflineCases checks every page of a list spread over many
// days against the order the REVE API promises (received time, then id, newest
// first), including ties, other accounts' rows and pages past the end.
func TestStore_ListOfflineCases(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		a1 := storetest.MustAccount(t, s, "A")
		a2 := storetest.MustAccount(t, s, "B")
		ct1 := storetest.MustContact(t, s, a1.ID, "V1", "", "")
		ct2 := storetest.MustContact(t, s, a2.ID, "V2", "", "")
		rng := rand.New(rand.NewPCG(1, 2))
		base := time.Date(2024, 12, 30, 0, 0, 0, 0, time.UTC)
		type row struct {
			id int64
			at time.Time
		}
		var want []row
		for i := range 97 {
			// Days 0..9, with several rows at the very same instant to test the id tie-break.
			at := base.Add(time.Duration(rng.IntN(10))*24*time.Hour + time.Duration(rng.IntN(3))*time.Hour)
			c := storetest.MustOfflineCase(t, s, a1.ID, ct1.ID, fmt.Sprint("s", i), fmt.Sprint("m", i), at)
			want = append(want, row{c.ID, at})
			if i%10 == 0 {
				storetest.MustOfflineCase(t, s, a2.ID, ct2.ID, "other", "other", at)
			}
		}
		sort.Slice(want, func(i, j int) bool {
			if !want[i].at.Equal(want[j].at) {
				return want[i].at.After(want[j].at)
			}
			return want[i].id > want[j].id
		})
		for _, size := range []int{1, 7, 20, 97, 100} {
			t.Run(fmt.Sprintf("size %d", size), func(t *testing.T) {
				var got []int64
				for page := int64(1); ; page++ {
					rows, err := s.ListOfflineCases(ctx, a1.ID, page, size)
					if err != nil {
						t.Fatal(err)
					}
					if len(rows) == 0 {
						break
					}
					if len(rows) > size {
						t.Fatalf("page %d has %d rows, size is %d", page, len(rows), size)
					}
					for _, r := range rows {
						got = append(got, r.ID)
					}
				}
				if len(got) != len(want) {
					t.Fatalf("paged through %d rows, want %d", len(got), len(want))
				}
				for i := range want {
					if got[i] != want[i].id {
						t.Fatalf("row %d is case %d, want %d", i, got[i], want[i].id)
					}
				}
			})
		}
		for _, page := range []int64{6, 1000, 1 << 40, 1<<62 - 1} {
			rows, err := s.ListOfflineCases(ctx, a1.ID, page, 20)
			if err != nil || len(rows) != 0 {
				t.Errorf("page %d = %d rows, %v; want an empty page", page, len(rows), err)
			}
		}
		if _, err := s.ListOfflineCases(ctx, a1.ID, 0, 20); err == nil {
			t.Error("page 0 accepted")
		}
		empty := storetest.MustAccount(t, s, "C")
		if rows, err := s.ListOfflineCases(ctx, empty.ID, 1, 20); err != nil || rows == nil || len(rows) != 0 {
			t.Errorf("empty account page 1 = %#v, %v; want an empty, non-nil slice", rows, err)
		}
	})
}

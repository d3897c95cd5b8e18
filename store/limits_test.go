package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

// limitsFixture is an account with an agent, a contact, a site and an open
// case, for writing values at and over the limits of models.
type limitsFixture struct {
	acct    models.Account
	agent   models.Agent
	contact models.Contact
	site    models.Site
	c       store.CaseView
}

func mustLimitsFixture(t *testing.T, s *store.Store) limitsFixture {
	t.Helper()
	ctx := t.Context()
	var f limitsFixture
	var err error
	f.acct = storetest.MustAccount(t, s, "Limits")
	f.agent = storetest.MustAgent(t, s, f.acct.ID, "limits-agent@example.com", models.RoleAgent, hash)
	f.contact = storetest.MustContact(t, s, f.acct.ID, "Ann", "ann@example.com", "")
	if f.site, err = s.CreateSite(ctx, f.acct.ID, "limits.example.com"); err != nil {
		t.Fatal(err)
	}
	if f.c, err = s.CreateCase(ctx, f.acct.ID, store.NewCase{ContactID: f.contact.ID}); err != nil {
		t.Fatal(err)
	}
	for _, in := range []struct {
		kind models.InboxKind
		addr string
	}{{models.InboxEmail, "help@limits.example.com"}, {models.InboxSMS, "+14155550100"}} {
		if _, err := s.CreateInbox(ctx, f.acct.ID, in.kind, in.addr); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// tableCounts counts the rows of every table a write adds to.
func tableCounts(t *testing.T, s *store.Store) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, table := range []string{"accounts", "agents", "api_keys", "contacts", "sites", "campaigns", "visitor_sessions",
		"cases", "messages", "inboxes", "deliveries"} {
		var n int64
		if err := s.GORM().Table(table).Count(&n).Error; err != nil {
			t.Fatal(err)
		}
		out[table] = n
	}
	return out
}

// chars returns n characters, each of two bytes, so that a limit in
// characters is not met by counting bytes.
func chars(n int) string { return strings.Repeat("é", n) }

// emailOf returns a valid address of n bytes (n >= 12).
func emailOf(n int) string {
	const domain = "@example.com"
	return strings.Repeat("a", n-len(domain)) + domain
}

// TestStore_TextLimits writes each free-text field of the store at its
// limit, which is taken, and one past it, which is refused with a
// ReasonTooLong field error naming the field and the limit, writing nothing.
func TestStore_TextLimits(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		f := mustLimitsFixture(t, s)
		ctx := t.Context()
		at := time.Now().Add(-time.Hour)
		message := func(mod func(*store.NewMessage)) error {
			in := store.NewMessage{Sender: models.SenderAgent, AgentID: &f.agent.ID, Kind: models.KindMessage, Text: "hi"}
			mod(&in)
			_, err := s.AddMessage(ctx, f.acct.ID, f.c.ID, in)
			return err
		}
		email := func(mod func(*store.NewEmail)) error {
			in := store.NewEmail{Sender: models.SenderAgent, AgentID: &f.agent.ID, From: "help@limits.example.com",
				To: []string{"ann@example.com"}, Subject: "Hello", TextBody: "Hi"}
			mod(&in)
			_, err := s.AddEmail(ctx, f.acct.ID, f.c.ID, in)
			return err
		}
		offline := func(mod func(*store.NewOfflineCase)) error {
			in := store.NewOfflineCase{ContactID: f.contact.ID, Message: "hello", ReceivedAt: at}
			mod(&in)
			_, err := s.CreateOfflineCase(ctx, f.acct.ID, in)
			return err
		}
		uploadOffline := func(mod func(*store.OfflineUpload)) error {
			in := store.OfflineUpload{ReceivedAt: at, Contact: store.UploadContact{Name: "Bob", Email: "bob@example.com"},
				Message: "hello", Source: store.UploadSource{SiteID: &f.site.ID}}
			mod(&in)
			_, err := s.UploadOfflineMessages(ctx, f.acct.ID, []store.OfflineUpload{in})
			return err
		}
		ext := func(s string) *string { return &s }
		tests := []struct {
			name  string
			field string // as the store names it
			limit int
			bytes bool // the limit is in bytes, not characters
			write func(v string) error
		}{
			{"contact name", "name", models.MaxNameLen, false, func(v string) error {
				_, err := s.CreateContact(ctx, f.acct.ID, store.NewContact{Name: v})
				return err
			}},
			{"contact user id", "user_id", models.MaxExtIDLen, false, func(v string) error {
				_, err := s.CreateContact(ctx, f.acct.ID, store.NewContact{UserID: v})
				return err
			}},
			{"contact email", "email", models.MaxEmailBytes, true, func(v string) error {
				_, err := s.CreateContact(ctx, f.acct.ID, store.NewContact{Email: emailOf(len(v))})
				return err
			}},
			{"message text", "text", models.MaxTextLen, false, func(v string) error {
				return message(func(in *store.NewMessage) { in.Text = v })
			}},
			{"message markdown", "markdown", models.MaxTextLen, false, func(v string) error {
				return message(func(in *store.NewMessage) { in.Markdown = v })
			}},
			{"message language", "lang", models.MaxLangLen, false, func(v string) error {
				return message(func(in *store.NewMessage) { in.Lang = v })
			}},
			{"email subject", "subject", models.MaxSubjectBytes, true, func(v string) error {
				return email(func(in *store.NewEmail) { in.Subject = strings.Repeat("s", len(v)) })
			}},
			{"email subject counted in bytes", "subject", models.MaxSubjectBytes, true, func(v string) error {
				// 499 two-byte characters are 998 bytes; 500 are 1,000.
				return email(func(in *store.NewEmail) { in.Subject = chars((len(v) + 1) / 2) })
			}},
			{"email text body", "text_body", models.MaxEmailBodyLen, false, func(v string) error {
				return email(func(in *store.NewEmail) { in.TextBody = v })
			}},
			{"email HTML body", "html_body", models.MaxEmailBodyLen, false, func(v string) error {
				return email(func(in *store.NewEmail) { in.HTMLBody = v })
			}},
			{"email recipient", "to[0]", models.MaxEmailBytes, true, func(v string) error {
				return email(func(in *store.NewEmail) { in.To = []string{emailOf(len(v))} })
			}},
			{"SMS body", "body", models.MaxSMSLen, false, func(v string) error {
				_, err := s.AddSMS(ctx, f.acct.ID, f.c.ID, store.NewSMS{Sender: models.SenderAgent, AgentID: &f.agent.ID,
					From: "+14155550100", To: "+14155550101", Body: v})
				return err
			}},
			{"offline message", "message", models.MaxTextLen, false, func(v string) error {
				return offline(func(in *store.NewOfflineCase) { in.Message = v })
			}},
			{"offline subject", "subject", models.MaxSubjectBytes, true, func(v string) error {
				return offline(func(in *store.NewOfflineCase) { in.Subject = strings.Repeat("s", len(v)) })
			}},
			{"offline form name", "form_name", models.MaxNameLen, false, func(v string) error {
				return offline(func(in *store.NewOfflineCase) { in.FormName = v })
			}},
			{"offline ext id", "ext_id", models.MaxExtIDLen, false, func(v string) error {
				return offline(func(in *store.NewOfflineCase) { in.ExtID = ext(v) })
			}},
			{"case subject", "subject", models.MaxSubjectBytes, true, func(v string) error {
				_, err := s.CreateCase(ctx, f.acct.ID, store.NewCase{ContactID: f.contact.ID, Subject: strings.Repeat("s", len(v))})
				return err
			}},
			{"uploaded visitor name", "[0].contact.name", models.MaxNameLen, false, func(v string) error {
				return uploadOffline(func(in *store.OfflineUpload) { in.Contact.Name = v })
			}},
			{"uploaded visitor email", "[0].contact.email", models.MaxEmailBytes, true, func(v string) error {
				return uploadOffline(func(in *store.OfflineUpload) { in.Contact.Email = emailOf(len(v)) })
			}},
			{"uploaded offline message", "[0].message", models.MaxTextLen, false, func(v string) error {
				return uploadOffline(func(in *store.OfflineUpload) { in.Message = v })
			}},
			{"uploaded form name", "[0].form_name", models.MaxNameLen, false, func(v string) error {
				return uploadOffline(func(in *store.OfflineUpload) { in.FormName = v })
			}},
			{"uploaded ext id", "[0].ext_id", models.MaxExtIDLen, false, func(v string) error {
				return uploadOffline(func(in *store.OfflineUpload) { in.ExtID = ext(v) })
			}},
			{"uploaded chat message", "[0].messages[1].text", models.MaxTextLen, false, func(v string) error {
				_, err := s.UploadChats(ctx, f.acct.ID, []store.ChatUpload{{StartedAt: at, Contact: store.UploadContact{Email: "bob@example.com"},
					Outcome: models.OutcomeSucceeded, Source: store.UploadSource{SiteID: &f.site.ID}, Messages: []store.ChatUploadMessage{
						{At: at, Sender: models.SenderContact, Text: "hi"}, {At: at, Sender: models.SenderContact, Text: v}}}})
				return err
			}},
			{"agent first name", "first_name", models.MaxNameLen, false, func(v string) error {
				_, err := s.CreateAgent(ctx, f.acct.ID, store.NewAgent{Email: storetest.Name("a") + "@example.com", PasswordHash: hash,
					Role: models.RoleAgent, FirstName: v})
				return err
			}},
			{"agent last name", "last_name", models.MaxNameLen, false, func(v string) error {
				_, err := s.CreateAgent(ctx, f.acct.ID, store.NewAgent{Email: storetest.Name("a") + "@example.com", PasswordHash: hash,
					Role: models.RoleAgent, LastName: v})
				return err
			}},
			{"agent email", "email", models.MaxEmailBytes, true, func(v string) error {
				_, err := s.CreateAgent(ctx, f.acct.ID, store.NewAgent{Email: emailOf(len(v)), PasswordHash: hash, Role: models.RoleAgent})
				return err
			}},
			{"account name", "name", models.MaxNameLen, false, func(v string) error {
				_, err := s.CreateAccount(ctx, store.NewAccount{Name: v})
				return err
			}},
			{"account renamed", "name", models.MaxNameLen, false, func(v string) error {
				_, err := s.UpdateAccount(ctx, f.acct.ID, store.AccountUpdate{Name: &v})
				return err
			}},
			{"campaign name", "name", models.MaxNameLen, false, func(v string) error {
				_, err := s.CreateCampaign(ctx, f.acct.ID, f.site.ID, v)
				return err
			}},
			{"site domain", "domain", models.MaxDomainLen, true, func(v string) error {
				_, err := s.CreateSite(ctx, f.acct.ID, strings.Repeat("d", len(v)-4)+".com")
				return err
			}},
			{"inbox address", "address", models.MaxEmailBytes, true, func(v string) error {
				_, err := s.CreateInbox(ctx, f.acct.ID, models.InboxEmail, emailOf(len(v)))
				return err
			}},
			{"API key name", "name", models.MaxNameLen, false, func(v string) error {
				_, err := s.CreateAPIKey(ctx, f.acct.ID, store.NewAPIKey{ID: storetest.Name("k"), AgentID: &f.agent.ID, Name: v})
				return err
			}},
			{"visitor referrer", "referrer", models.MaxURLLen, false, func(v string) error {
				_, err := s.CreateVisitorSession(ctx, f.acct.ID, store.NewVisitorSession{SiteID: f.site.ID, Referrer: v})
				return err
			}},
			{"visitor IP address", "ip_address", models.MaxIPLen, false, func(v string) error {
				_, err := s.CreateVisitorSession(ctx, f.acct.ID, store.NewVisitorSession{SiteID: f.site.ID, IPAddress: v})
				return err
			}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				value := func(n int) string {
					if tt.bytes {
						return strings.Repeat("x", n)
					}
					return chars(n)
				}
				if err := tt.write(value(tt.limit)); err != nil {
					t.Fatalf("at the limit (%d): %v", tt.limit, err)
				}
				before := tableCounts(t, s)
				err := tt.write(value(tt.limit + 1))
				var fe store.FieldErrors
				if !errors.As(err, &fe) {
					t.Fatalf("past the limit: err = %v, want FieldErrors", err)
				}
				found := false
				for _, e := range fe {
					if e.Field == tt.field && e.Reason == store.ReasonTooLong && e.Limit == tt.limit {
						found = true
					}
				}
				if !found {
					t.Errorf("past the limit: %v, want %s too long (limit %d)", err, tt.field, tt.limit)
				}
				if after := tableCounts(t, s); !equalCounts(before, after) {
					t.Errorf("rows changed: %v, then %v", before, after)
				}
			})
		}
	})
}

func equalCounts(a, b map[string]int64) bool {
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return len(a) == len(b)
}

// TestStore_ControlCharacters checks that names, subjects, addresses and ids
// refuse control characters while message text keeps tabs and line breaks.
func TestStore_ControlCharacters(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		f := mustLimitsFixture(t, s)
		ctx := context.Background()
		refused := []struct {
			name  string
			field string
			write func() error
		}{
			{"contact name with a tab", "name", func() error {
				_, err := s.CreateContact(ctx, f.acct.ID, store.NewContact{Name: "Ann\tLee"})
				return err
			}},
			{"contact name with a C1 control", "name", func() error {
				_, err := s.CreateContact(ctx, f.acct.ID, store.NewContact{Name: "Ann\u0085Lee"})
				return err
			}},
			{"user id with escape", "user_id", func() error {
				_, err := s.CreateContact(ctx, f.acct.ID, store.NewContact{UserID: "u\x1b[31m"})
				return err
			}},
			{"subject with a tab", "subject", func() error {
				_, err := s.AddEmail(ctx, f.acct.ID, f.c.ID, store.NewEmail{Sender: models.SenderAgent, AgentID: &f.agent.ID,
					From: "help@limits.example.com", To: []string{"ann@example.com"}, Subject: "a\tb", TextBody: "x"})
				return err
			}},
			{"case subject with a bell", "subject", func() error {
				_, err := s.CreateCase(ctx, f.acct.ID, store.NewCase{ContactID: f.contact.ID, Subject: "ding\a"})
				return err
			}},
			{"agent name with DEL", "first_name", func() error {
				_, err := s.CreateAgent(ctx, f.acct.ID, store.NewAgent{Email: "del@example.com", PasswordHash: hash,
					Role: models.RoleAgent, FirstName: "A\x7f"})
				return err
			}},
			{"campaign name with a newline", "name", func() error {
				_, err := s.CreateCampaign(ctx, f.acct.ID, f.site.ID, "Spring\nSale")
				return err
			}},
			{"uploaded ext id with a newline", "[0].ext_id", func() error {
				ext := "x\ny"
				_, err := s.UploadOfflineMessages(ctx, f.acct.ID, []store.OfflineUpload{{Contact: store.UploadContact{Email: "b@example.com"},
					Source: store.UploadSource{SiteID: &f.site.ID}, ExtID: &ext}})
				return err
			}},
		}
		for _, tt := range refused {
			t.Run(tt.name, func(t *testing.T) {
				before := tableCounts(t, s)
				err := tt.write()
				var fe store.FieldErrors
				if !errors.As(err, &fe) || !strings.Contains(fe.Error(), tt.field+": must not contain control characters") &&
					!strings.Contains(fe.Error(), tt.field+": must be one line") {
					t.Fatalf("err = %v, want %s refused for a control character", err, tt.field)
				}
				if after := tableCounts(t, s); !equalCounts(before, after) {
					t.Errorf("rows changed: %v, then %v", before, after)
				}
			})
		}
		t.Run("message text keeps tabs and line breaks", func(t *testing.T) {
			text := "line 1\r\n\tline 2\n"
			m, err := s.AddMessage(ctx, f.acct.ID, f.c.ID, store.NewMessage{Sender: models.SenderAgent, AgentID: &f.agent.ID,
				Kind: models.KindMessage, Text: text})
			if err != nil {
				t.Fatal(err)
			}
			if m.Text != text {
				t.Errorf("text = %q, want %q", m.Text, text)
			}
		})
	})
}

// TestStore_DeliveryFailedReasonCut checks that a provider's long error is
// kept cut to models.MaxReasonLen characters.
func TestStore_DeliveryFailedReasonCut(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		f := mustLimitsFixture(t, s)
		ctx := t.Context()
		if _, err := s.AddEmail(ctx, f.acct.ID, f.c.ID, store.NewEmail{Sender: models.SenderAgent, AgentID: &f.agent.ID,
			From: "help@limits.example.com", To: []string{"ann@example.com"}, Subject: "s", TextBody: "x"}); err != nil {
			t.Fatal(err)
		}
		claimed, err := s.ClaimDeliveries(ctx, []models.InboxKind{models.InboxEmail}, 1, time.Minute)
		if err != nil || len(claimed) != 1 {
			t.Fatalf("claim: %v, %d rows", err, len(claimed))
		}
		if err := s.DeliveryFailed(ctx, claimed[0].Delivery.ID, claimed[0].Delivery.Attempts, chars(5000), nil); err != nil {
			t.Fatal(err)
		}
		var d models.Delivery
		if err := s.GORM().Take(&d, "id = ?", claimed[0].Delivery.ID).Error; err != nil {
			t.Fatal(err)
		}
		if d.LastError != chars(models.MaxReasonLen) {
			t.Errorf("last_error has %d bytes, want %d characters kept", len(d.LastError), models.MaxReasonLen)
		}
	})
}

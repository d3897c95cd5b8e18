package store_test

import (
	"errors"
	"strings"
	"testing"

	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

// badPhones are numbers every entry point refuses, with what its error says.
var badPhones = []struct{ name, phone, why string }{
	{"555 is no area code", "+15550001111", "no such number"},
	{"too short", "+1234", "too short"},
	{"unassigned network", "+882123456789", "no such number"},
	{"no plus", "14155550100", "must start with +"},
	{"00 prefix", "0014155550100", "must start with +"},
	{"extension", "+14155550100 x12", "may follow the +"},
}

// fieldMessage returns the message of err's field error on field, or "".
func fieldMessage(err error, field string) string {
	var fe store.FieldErrors
	errors.As(err, &fe)
	for _, f := range fe {
		if f.Field == field {
			return f.Message
		}
	}
	return ""
}

func TestStore_CreateContact_Phone(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		acct := storetest.MustAccount(t, s, "A")
		ctx := t.Context()
		for _, tt := range []struct{ name, in, want string }{
			{"E.164", "+14155550100", "+14155550100"},
			{"spaces", " +1 415 555 0101 ", "+14155550101"},
			{"dashes and parentheses", "+1 (415) 555-0102", "+14155550102"},
			{"UK trunk zero", "+44 (0)7911 123456", "+447911123456"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				c, err := s.CreateContact(ctx, acct.ID, store.NewContact{Name: "Ann", Phone: tt.in})
				if err != nil {
					t.Fatal(err)
				}
				got, err := s.Contact(ctx, acct.ID, c.ID)
				if err != nil || got.Phone != tt.want || c.Phone != tt.want {
					t.Errorf("stored phone %q (returned %q), %v; want %q", got.Phone, c.Phone, err, tt.want)
				}
			})
		}
		for _, tt := range badPhones {
			t.Run("refused: "+tt.name, func(t *testing.T) {
				before := counts(t, s, acct.ID)
				_, err := s.CreateContact(ctx, acct.ID, store.NewContact{Name: "Bob", Email: "bob@example.com", Phone: tt.phone})
				assertFields(t, err, []string{"phone"})
				if msg := fieldMessage(err, "phone"); !strings.Contains(msg, tt.why) {
					t.Errorf("message %q does not say %q", msg, tt.why)
				}
				if after := counts(t, s, acct.ID); after != before {
					t.Errorf("a refused contact wrote: %v → %v", before, after)
				}
			})
		}
	})
}

func TestStore_CreateInbox_Phone(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		acct := storetest.MustAccount(t, s, "A")
		ctx := t.Context()
		in, err := s.CreateInbox(ctx, acct.ID, models.InboxSMS, "+1 (415) 555-0150")
		if err != nil || in.Address != "+14155550150" {
			t.Fatalf("CreateInbox = %+v, %v; want the address in E.164", in, err)
		}
		if _, err := s.CreateInbox(ctx, acct.ID, models.InboxSMS, "+14155550150"); err == nil {
			t.Error("the same number written another way made a second inbox")
		}
		for _, tt := range badPhones {
			t.Run("refused: "+tt.name, func(t *testing.T) {
				_, err := s.CreateInbox(ctx, acct.ID, models.InboxSMS, tt.phone)
				assertFields(t, err, []string{"address"})
				if msg := fieldMessage(err, "address"); !strings.Contains(msg, tt.why) {
					t.Errorf("message %q does not say %q", msg, tt.why)
				}
			})
		}
		var n int64
		if err := s.GORM().Raw("SELECT COUNT(*) FROM inboxes WHERE account_id = ?", acct.ID).Scan(&n).Error; err != nil || n != 1 {
			t.Errorf("%d inboxes (%v), want the one valid number", n, err)
		}
	})
}

func TestStore_AddSMS_Phones(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		f := mustOutboxFixture(t, s)
		ctx := t.Context()
		m, err := s.AddSMS(ctx, f.acct.ID, f.c.ID, f.sms(func(in *store.NewSMS) { in.From, in.To = "+1 (415) 555-0150", "+1 415 555 0101" }))
		if err != nil {
			t.Fatal(err)
		}
		if m.SMSFrom != "+14155550150" || m.SMSTo != "+14155550101" || m.Inbox.Address != "+14155550150" {
			t.Errorf("sms from %q to %q through %q, want E.164", m.SMSFrom, m.SMSTo, m.Inbox.Address)
		}
		for _, tt := range badPhones {
			for _, field := range []string{"from", "to"} {
				t.Run(field+" "+tt.name, func(t *testing.T) {
					before := outboxCounts(t, s, f.acct.ID)
					_, err := s.AddSMS(ctx, f.acct.ID, f.c.ID, f.sms(func(in *store.NewSMS) {
						if field == "from" {
							in.From = tt.phone
						} else {
							in.To = tt.phone
						}
					}))
					assertFields(t, err, []string{field})
					if msg := fieldMessage(err, field); !strings.Contains(msg, tt.why) {
						t.Errorf("message %q does not say %q", msg, tt.why)
					}
					if after := outboxCounts(t, s, f.acct.ID); after != before {
						t.Errorf("a refused SMS wrote: %v → %v", before, after)
					}
				})
			}
		}
	})
}

func TestStore_AddSMS_CostlyNumbers(t *testing.T) {
	costly := []struct{ name, to, want, why string }{
		{"premium rate", "+1 900 555 1234", "+19005551234", "premium-rate"},
		{"UK premium rate", "+448712345678", "+448712345678", "premium-rate"},
		{"shared cost", "+33810123456", "+33810123456", "shared-cost"},
		{"UAN", "+445512345678", "+445512345678", "UAN"},
	}
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		f := mustOutboxFixture(t, s)
		ctx := t.Context()
		send := func(to string) (store.SentMessage, error) {
			return s.AddSMS(ctx, f.acct.ID, f.c.ID, f.sms(func(in *store.NewSMS) { in.To = to }))
		}
		setAllow := func(allow bool) {
			t.Helper()
			a, err := s.UpdateAccount(ctx, f.acct.ID, store.AccountUpdate{SMSAllowPremium: &allow})
			if err != nil || a.SMSAllowPremium != allow {
				t.Fatalf("UpdateAccount = %+v, %v", a, err)
			}
		}
		for _, tt := range costly {
			t.Run("refused: "+tt.name, func(t *testing.T) {
				before := outboxCounts(t, s, f.acct.ID)
				_, err := send(tt.to)
				assertFields(t, err, []string{"to"})
				if msg := fieldMessage(err, "to"); !strings.Contains(msg, tt.why) || !strings.Contains(msg, tt.want) {
					t.Errorf("message %q does not name %s and say %q", msg, tt.want, tt.why)
				}
				if after := outboxCounts(t, s, f.acct.ID); after != before {
					t.Errorf("a refused SMS wrote: %v → %v", before, after)
				}
			})
		}
		t.Run("a contact's SMS from such a number is recorded", func(t *testing.T) {
			m, err := s.AddSMS(ctx, f.acct.ID, f.c.ID, f.sms(func(in *store.NewSMS) {
				in.Sender, in.AgentID, in.From, in.To = models.SenderContact, nil, "+19005551234", "+14155550150"
			}))
			if err != nil || m.Delivery != nil {
				t.Errorf("contact's SMS = %+v, %v; want it recorded and not queued", m, err)
			}
		})

		setAllow(true)
		for _, tt := range costly {
			t.Run("allowed: "+tt.name, func(t *testing.T) {
				m, err := send(tt.to)
				if err != nil || m.Delivery == nil || m.SMSTo != tt.want {
					t.Errorf("AddSMS = %+v, %v; want it queued to %s", m, err, tt.want)
				}
			})
		}

		setAllow(false)
		if _, err := send(costly[0].to); fieldMessage(err, "to") == "" {
			t.Errorf("after --sms-allow-premium=false: err = %v, want the refusal again", err)
		}
		if _, err := send("+14155550101"); err != nil {
			t.Errorf("an ordinary number: %v", err)
		}
	})
}

func TestStore_Account_SMSAllowPremium(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		def := storetest.MustAccount(t, s, "Default")
		if def.SMSAllowPremium {
			t.Error("a new account allows costly numbers")
		}
		a, err := s.CreateAccount(ctx, store.NewAccount{Name: "Premium", SMSAllowPremium: true})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := s.Account(ctx, a.ID); err != nil || !got.SMSAllowPremium {
			t.Errorf("created with SMSAllowPremium: read back %+v, %v", got, err)
		}
		name := "Renamed"
		if got, err := s.UpdateAccount(ctx, a.ID, store.AccountUpdate{Name: &name}); err != nil || !got.SMSAllowPremium {
			t.Errorf("an update of another field changed the setting: %+v, %v", got, err)
		}
		off := false
		if got, err := s.UpdateAccount(ctx, a.ID, store.AccountUpdate{SMSAllowPremium: &off}); err != nil || got.SMSAllowPremium {
			t.Errorf("turned off: %+v, %v", got, err)
		}
	})
}

func TestStore_Upload_Phone(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		f := mustUploadFixture(t, s)
		ctx := t.Context()
		item := func(phone string) store.OfflineUpload {
			return store.OfflineUpload{Contact: store.UploadContact{Phone: phone}, Message: "hi", Source: store.UploadSource{SiteID: &f.site.ID, NoCampaign: true}}
		}
		for _, tt := range badPhones {
			t.Run("refused: "+tt.name, func(t *testing.T) {
				before := counts(t, s, f.acct.ID)
				_, err := s.UploadOfflineMessages(ctx, f.acct.ID, []store.OfflineUpload{item("+14155550103"), item(tt.phone)})
				assertFields(t, err, []string{"[1].contact.phone"})
				if msg := fieldMessage(err, "[1].contact.phone"); !strings.Contains(msg, tt.why) {
					t.Errorf("message %q does not say %q", msg, tt.why)
				}
				_, err = s.UploadChats(ctx, f.acct.ID, []store.ChatUpload{{StartedAt: f.t0, Contact: store.UploadContact{Phone: tt.phone},
					Outcome: models.OutcomeLost, Source: store.UploadSource{SiteID: &f.site.ID},
					Messages: []store.ChatUploadMessage{{At: f.t0, Sender: models.SenderContact, Text: "hi"}}}})
				assertFields(t, err, []string{"[0].contact.phone"})
				if after := counts(t, s, f.acct.ID); after != before {
					t.Errorf("a refused upload wrote: %v → %v", before, after)
				}
			})
		}
		t.Run("formatted: found and stored in E.164", func(t *testing.T) {
			ids, err := s.UploadOfflineMessages(ctx, f.acct.ID, []store.OfflineUpload{item("+1 (415) 555-0101"), item("+1 415 555 0104")})
			if err != nil {
				t.Fatal(err)
			}
			var phones []string
			if err := s.GORM().Raw(`SELECT ct.phone FROM cases c JOIN contacts ct ON ct.id = c.contact_id WHERE c.id IN ? ORDER BY c.id`, ids).
				Scan(&phones).Error; err != nil {
				t.Fatal(err)
			}
			if len(phones) != 2 || phones[0] != f.known.Phone || phones[1] != "+14155550104" {
				t.Errorf("contacts' phones = %v, want the known contact's %s and +14155550104", phones, f.known.Phone)
			}
			var known int64
			if err := s.GORM().Raw(`SELECT COUNT(*) FROM cases WHERE id IN ? AND contact_id = ?`, ids, f.known.ID).Scan(&known).Error; err != nil || known != 1 {
				t.Errorf("%d cases of the known contact (%v), want the first item found by its phone", known, err)
			}
		})
	})
}

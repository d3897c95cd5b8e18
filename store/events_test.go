package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

// wantEvent is an event a write must append: its type, its ids, and the
// data keys it must hold with their values (checked as JSON: numbers are
// float64 once read back).
type wantEvent struct {
	Type                                  models.EventType
	CaseID, ContactID, MessageID, AgentID int64
	Data                                  store.EventData
}

// assertNewEvents checks that the account's events after seq are exactly
// want, numbered seq+1, seq+2, … in order, and returns them.
func assertNewEvents(t *testing.T, s *store.Store, accountID, seq int64, want []wantEvent) []models.Event {
	t.Helper()
	got, err := s.Events(context.Background(), accountID, store.EventFilter{After: seq})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		types := make([]models.EventType, len(got))
		for i, e := range got {
			types[i] = e.Type
		}
		t.Fatalf("events after %d = %d %v, want %d", seq, len(got), types, len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Seq != seq+int64(i)+1 {
			t.Errorf("event %d: seq = %d, want %d (no gaps)", i, g.Seq, seq+int64(i)+1)
		}
		if g.AccountID != accountID || g.Type != w.Type || g.CaseID != w.CaseID || g.ContactID != w.ContactID ||
			g.MessageID != w.MessageID || g.AgentID != w.AgentID {
			t.Errorf("event %d = %s case %d contact %d message %d agent %d, want %s case %d contact %d message %d agent %d",
				i, g.Type, g.CaseID, g.ContactID, g.MessageID, g.AgentID, w.Type, w.CaseID, w.ContactID, w.MessageID, w.AgentID)
		}
		if g.CreatedAt.IsZero() {
			t.Errorf("event %d: no time", i)
		}
		var data map[string]any
		if err := json.Unmarshal([]byte(g.Data), &data); err != nil {
			t.Fatalf("event %d: data %q: %v", i, g.Data, err)
		}
		wb, _ := json.Marshal(w.Data)
		var wd map[string]any
		_ = json.Unmarshal(wb, &wd)
		for k, v := range wd {
			if gv, ok := data[k]; !ok || !reflect.DeepEqual(gv, v) {
				t.Errorf("event %d (%s): data[%q] = %#v, want %#v (data %s)", i, g.Type, k, gv, v, g.Data)
			}
		}
	}
	return got
}

// lastSeq returns the account's last event number.
func lastSeq(t *testing.T, s *store.Store, accountID int64) int64 {
	t.Helper()
	n, err := s.LastEventSeq(context.Background(), accountID)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestEvents_Bootstrap(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		b, err := s.Bootstrap(ctx, store.Bootstrap{AccountName: "Default", Email: "admin@example.com", PasswordHash: hash, KeyID: "boot-key"})
		if err != nil || !b.Created {
			t.Fatalf("Bootstrap = %+v, %v", b, err)
		}
		assertNewEvents(t, s, b.Account.ID, 0, []wantEvent{
			{Type: models.EventAccountCreated, Data: store.EventData{"name": "Default"}},
			{Type: models.EventAgentCreated, AgentID: b.Agent.ID, Data: store.EventData{"role": "superadmin"}},
			{Type: models.EventKeyCreated, AgentID: b.Agent.ID, Data: store.EventData{"key_id": "boot-key", "name": "bootstrap"}},
		})
		// A second bootstrap changes nothing and appends nothing.
		if again, err := s.Bootstrap(ctx, store.Bootstrap{AccountName: "Other", Email: "x@example.com", PasswordHash: hash}); err != nil || again.Created {
			t.Fatalf("second Bootstrap = %+v, %v", again, err)
		}
		assertNewEvents(t, s, b.Account.ID, 3, nil)
	})
}

// TestEvents_EveryWrite runs each write of the store in turn on one account
// and checks the events it appended, in order, with their ids and data, and
// that the account's numbers run on without a gap.
func TestEvents_EveryWrite(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		acct := storetest.MustAccount(t, s, "A")
		agent := storetest.MustAgent(t, s, acct.ID, "agent@acme.example", models.RoleAgent, hash)
		contact := storetest.MustContact(t, s, acct.ID, "Ann", "ann@example.com", "+14155550101")
		var (
			agent2                 models.Agent
			site                   models.Site
			camp                   models.Campaign
			dept                   models.Department
			chat, email, sms       store.CaseView
			offline                models.Case
			emailMsg, smsMsg       store.SentMessage
			uploaded               []int64
			t0                     = time.Now().UTC().Add(-48 * time.Hour).Truncate(time.Second)
			sessionKeyID, apiKeyID = "session-key-1", "api-key-1"
		)
		tests := []struct {
			name string
			// run makes the write and returns the account it should have
			// appended to (0: acct) and the events it should have appended.
			run func(t *testing.T) (int64, []wantEvent)
		}{
			{"create account", func(t *testing.T) (int64, []wantEvent) {
				a, err := s.CreateAccount(ctx, store.NewAccount{Name: "New"})
				mustOK(t, err)
				return a.ID, []wantEvent{{Type: models.EventAccountCreated, Data: store.EventData{"name": "New"}}}
			}},
			{"update account", func(t *testing.T) (int64, []wantEvent) {
				name, tz := "A2", "Europe/Paris"
				_, err := s.UpdateAccount(ctx, acct.ID, store.AccountUpdate{Name: &name, Timezone: &tz})
				mustOK(t, err)
				return 0, []wantEvent{{Type: models.EventAccountUpdated, Data: store.EventData{"fields": []string{"name", "timezone"}}}}
			}},
			{"create agent", func(t *testing.T) (int64, []wantEvent) {
				var err error
				agent2, err = s.CreateAgent(ctx, acct.ID, store.NewAgent{Email: "two@acme.example", PasswordHash: hash, Role: models.RoleAdmin})
				mustOK(t, err)
				return 0, []wantEvent{{Type: models.EventAgentCreated, AgentID: agent2.ID, Data: store.EventData{"role": "admin"}}}
			}},
			{"update agent", func(t *testing.T) (int64, []wantEvent) {
				pw, role := "$2a$04$another-hash-that-must-not-show", models.RoleAgent
				_, err := s.UpdateAgent(ctx, acct.ID, agent2.ID, store.AgentUpdate{PasswordHash: &pw, Role: &role})
				mustOK(t, err)
				evs, err := s.Events(ctx, acct.ID, store.EventFilter{Types: []models.EventType{models.EventAgentUpdated}})
				mustOK(t, err)
				for _, e := range evs {
					if strings.Contains(e.Data, pw) || strings.Contains(e.Data, "$2a$") {
						t.Errorf("agent.updated data %s holds the hash", e.Data)
					}
				}
				return 0, []wantEvent{{Type: models.EventAgentUpdated, AgentID: agent2.ID, Data: store.EventData{"fields": []string{"password", "role"}}}}
			}},
			{"create api key", func(t *testing.T) (int64, []wantEvent) {
				_, err := s.CreateAPIKey(ctx, acct.ID, store.NewAPIKey{ID: apiKeyID, AgentID: &agent.ID, Name: "ci"})
				mustOK(t, err)
				return 0, []wantEvent{{Type: models.EventKeyCreated, AgentID: agent.ID, Data: store.EventData{"key_id": apiKeyID, "name": "ci"}}}
			}},
			{"a login's session key appends nothing", func(t *testing.T) (int64, []wantEvent) {
				_, err := s.CreateAPIKey(ctx, acct.ID, store.NewAPIKey{ID: sessionKeyID, AgentID: &agent.ID, Kind: models.KeySession})
				mustOK(t, err)
				_, err = s.RevokeAPIKey(ctx, sessionKeyID)
				mustOK(t, err)
				return 0, nil
			}},
			{"revoke api key", func(t *testing.T) (int64, []wantEvent) {
				_, err := s.RevokeAPIKey(ctx, apiKeyID)
				mustOK(t, err)
				return 0, []wantEvent{{Type: models.EventKeyRevoked, AgentID: agent.ID, Data: store.EventData{"key_id": apiKeyID, "name": "ci"}}}
			}},
			{"revoking a revoked key appends nothing", func(t *testing.T) (int64, []wantEvent) {
				_, err := s.RevokeAPIKey(ctx, apiKeyID)
				mustOK(t, err)
				return 0, nil
			}},
			{"logins and key use append nothing", func(t *testing.T) (int64, []wantEvent) {
				mustOK(t, s.RecordLogin(ctx, agent.ID, time.Now()))
				mustOK(t, s.TouchAPIKey(ctx, apiKeyID, time.Now()))
				_, err := s.Setting(ctx, "events-test", func() (string, error) { return "v", nil })
				mustOK(t, err)
				return 0, nil
			}},
			{"create site", func(t *testing.T) (int64, []wantEvent) {
				var err error
				site, err = s.CreateSite(ctx, acct.ID, "acme.example")
				mustOK(t, err)
				return 0, []wantEvent{{Type: models.EventSiteCreated, Data: store.EventData{"site_id": site.ID, "domain": "acme.example"}}}
			}},
			{"create campaign", func(t *testing.T) (int64, []wantEvent) {
				var err error
				camp, err = s.CreateCampaign(ctx, acct.ID, site.ID, "Spring")
				mustOK(t, err)
				return 0, []wantEvent{{Type: models.EventCampaignCreated, Data: store.EventData{"site_id": site.ID, "campaign_id": camp.ID}}}
			}},
			{"create visitor session", func(t *testing.T) (int64, []wantEvent) {
				v, err := s.CreateVisitorSession(ctx, acct.ID, store.NewVisitorSession{SiteID: site.ID, CampaignID: &camp.ID, ContactID: &contact.ID, StartedAt: t0})
				mustOK(t, err)
				return 0, []wantEvent{{Type: models.EventVisitorSessionCreated, ContactID: contact.ID, Data: store.EventData{"site_id": site.ID, "visitor_session_id": v.ID}}}
			}},
			{"create inboxes", func(t *testing.T) (int64, []wantEvent) {
				e, err := s.CreateInbox(ctx, acct.ID, models.InboxEmail, "help@acme.example")
				mustOK(t, err)
				n, err := s.CreateInbox(ctx, acct.ID, models.InboxSMS, "+14155550150")
				mustOK(t, err)
				return 0, []wantEvent{
					{Type: models.EventInboxCreated, Data: store.EventData{"kind": "email", "inbox_id": e.ID}},
					{Type: models.EventInboxCreated, Data: store.EventData{"kind": "sms", "inbox_id": n.ID}},
				}
			}},
			{"create department", func(t *testing.T) (int64, []wantEvent) {
				var err error
				dept, err = s.CreateDepartment(ctx, acct.ID, "Sales")
				mustOK(t, err)
				return 0, []wantEvent{{Type: models.EventDepartmentCreated, Data: store.EventData{"department_id": dept.ID, "name": "Sales"}}}
			}},
			{"create contact", func(t *testing.T) (int64, []wantEvent) {
				c, err := s.CreateContact(ctx, acct.ID, store.NewContact{Name: "Bob"})
				mustOK(t, err)
				return 0, []wantEvent{{Type: models.EventContactCreated, ContactID: c.ID}}
			}},
			{"create case", func(t *testing.T) (int64, []wantEvent) {
				var err error
				chat, err = s.CreateCase(ctx, acct.ID, store.NewCase{ContactID: contact.ID, AssigneeID: &agent.ID, Initiator: models.InitiatorContact})
				mustOK(t, err)
				return 0, []wantEvent{{Type: models.EventCaseCreated, CaseID: chat.ID, ContactID: contact.ID, AgentID: agent.ID,
					Data: store.EventData{"channel": "chat", "initiator": "contact", "status": "new"}}}
			}},
			{"contact's message", func(t *testing.T) (int64, []wantEvent) {
				m, err := s.AddMessage(ctx, acct.ID, chat.ID, store.NewMessage{Sender: models.SenderContact, Kind: models.KindMessage, Text: "hi"})
				mustOK(t, err)
				return 0, []wantEvent{{Type: models.EventMessageCreated, CaseID: chat.ID, ContactID: contact.ID, MessageID: m.ID,
					Data: store.EventData{"sender": "contact", "channel": "chat", "kind": "message"}}}
			}},
			{"agent's note", func(t *testing.T) (int64, []wantEvent) {
				m, err := s.AddMessage(ctx, acct.ID, chat.ID, store.NewMessage{Sender: models.SenderAgent, AgentID: &agent.ID, Kind: models.KindNote, Text: "psst"})
				mustOK(t, err)
				return 0, []wantEvent{{Type: models.EventNoteCreated, CaseID: chat.ID, ContactID: contact.ID, MessageID: m.ID, AgentID: agent.ID,
					Data: store.EventData{"sender": "agent", "channel": "chat"}}}
			}},
			{"agent's message opens a new case", func(t *testing.T) (int64, []wantEvent) {
				m, err := s.AddMessage(ctx, acct.ID, chat.ID, store.NewMessage{Sender: models.SenderAgent, AgentID: &agent2.ID, Kind: models.KindMessage, Text: "hello"})
				mustOK(t, err)
				return 0, []wantEvent{
					{Type: models.EventMessageCreated, CaseID: chat.ID, ContactID: contact.ID, MessageID: m.ID, AgentID: agent2.ID,
						Data: store.EventData{"sender": "agent", "channel": "chat", "kind": "message"}},
					{Type: models.EventCaseStatusChanged, CaseID: chat.ID, ContactID: contact.ID, AgentID: agent.ID,
						Data: store.EventData{"from": "new", "to": "open"}},
				}
			}},
			{"system event message", func(t *testing.T) (int64, []wantEvent) {
				m, err := s.AddMessage(ctx, acct.ID, chat.ID, store.NewMessage{Sender: models.SenderSystem, Kind: models.KindEvent, Text: "joined"})
				mustOK(t, err)
				return 0, []wantEvent{{Type: models.EventMessageCreated, CaseID: chat.ID, ContactID: contact.ID, MessageID: m.ID,
					Data: store.EventData{"sender": "system", "kind": "event"}}}
			}},
			{"status to the same status appends nothing", func(t *testing.T) (int64, []wantEvent) {
				_, err := s.SetCaseStatus(ctx, acct.ID, chat.ID, models.StatusOpen, nil)
				mustOK(t, err)
				return 0, nil
			}},
			{"status change", func(t *testing.T) (int64, []wantEvent) {
				_, err := s.SetCaseStatus(ctx, acct.ID, chat.ID, models.StatusPending, nil)
				mustOK(t, err)
				return 0, []wantEvent{{Type: models.EventCaseStatusChanged, CaseID: chat.ID, ContactID: contact.ID, AgentID: agent.ID,
					Data: store.EventData{"from": "open", "to": "pending"}}}
			}},
			{"close", func(t *testing.T) (int64, []wantEvent) {
				_, err := s.SetCaseStatus(ctx, acct.ID, chat.ID, models.StatusClosed, &agent2.ID)
				mustOK(t, err)
				return 0, []wantEvent{{Type: models.EventCaseClosed, CaseID: chat.ID, ContactID: contact.ID, AgentID: agent.ID,
					Data: store.EventData{"from": "pending", "to": "closed", "closed_by": agent2.ID}}}
			}},
			{"message reopening a closed case", func(t *testing.T) (int64, []wantEvent) {
				m, err := s.AddMessage(ctx, acct.ID, chat.ID, store.NewMessage{Sender: models.SenderContact, Kind: models.KindMessage, Text: "again", Reopen: true})
				mustOK(t, err)
				return 0, []wantEvent{
					{Type: models.EventMessageCreated, CaseID: chat.ID, ContactID: contact.ID, MessageID: m.ID, Data: store.EventData{"sender": "contact"}},
					{Type: models.EventCaseStatusChanged, CaseID: chat.ID, ContactID: contact.ID, AgentID: agent.ID, Data: store.EventData{"from": "closed", "to": "open"}},
				}
			}},
			{"assign", func(t *testing.T) (int64, []wantEvent) {
				_, err := s.AssignCase(ctx, acct.ID, chat.ID, &agent2.ID)
				mustOK(t, err)
				return 0, []wantEvent{{Type: models.EventCaseAssigned, CaseID: chat.ID, ContactID: contact.ID, AgentID: agent2.ID,
					Data: store.EventData{"previous_agent_id": agent.ID}}}
			}},
			{"assign to the same agent appends nothing", func(t *testing.T) (int64, []wantEvent) {
				_, err := s.AssignCase(ctx, acct.ID, chat.ID, &agent2.ID)
				mustOK(t, err)
				return 0, nil
			}},
			{"unassign", func(t *testing.T) (int64, []wantEvent) {
				_, err := s.AssignCase(ctx, acct.ID, chat.ID, nil)
				mustOK(t, err)
				return 0, []wantEvent{{Type: models.EventCaseAssigned, CaseID: chat.ID, ContactID: contact.ID,
					Data: store.EventData{"previous_agent_id": agent2.ID}}}
			}},
			{"department", func(t *testing.T) (int64, []wantEvent) {
				_, err := s.SetCaseDepartment(ctx, acct.ID, chat.ID, &dept.ID)
				mustOK(t, err)
				_, err = s.SetCaseDepartment(ctx, acct.ID, chat.ID, &dept.ID) // the same: nothing
				mustOK(t, err)
				return 0, []wantEvent{{Type: models.EventCaseDepartmentChanged, CaseID: chat.ID, ContactID: contact.ID,
					Data: store.EventData{"department_id": dept.ID, "previous_department_id": nil}}}
			}},
			{"snooze", func(t *testing.T) (int64, []wantEvent) {
				until := time.Now().Add(time.Hour).UTC().Truncate(time.Microsecond)
				_, err := s.SnoozeCase(ctx, acct.ID, chat.ID, &until)
				mustOK(t, err)
				return 0, []wantEvent{
					{Type: models.EventCaseSnoozed, CaseID: chat.ID, ContactID: contact.ID, Data: store.EventData{"until": until}},
					{Type: models.EventCaseStatusChanged, CaseID: chat.ID, ContactID: contact.ID, Data: store.EventData{"from": "open", "to": "on_hold"}},
				}
			}},
			{"unsnooze", func(t *testing.T) (int64, []wantEvent) {
				_, err := s.SnoozeCase(ctx, acct.ID, chat.ID, nil)
				mustOK(t, err)
				_, err = s.SnoozeCase(ctx, acct.ID, chat.ID, nil) // not snoozed: nothing
				mustOK(t, err)
				return 0, []wantEvent{
					{Type: models.EventCaseSnoozed, CaseID: chat.ID, ContactID: contact.ID, Data: store.EventData{"until": nil}},
					{Type: models.EventCaseStatusChanged, CaseID: chat.ID, ContactID: contact.ID, Data: store.EventData{"from": "on_hold", "to": "open"}},
				}
			}},
			{"offline case with its message", func(t *testing.T) (int64, []wantEvent) {
				var err error
				offline, err = s.CreateOfflineCase(ctx, acct.ID, store.NewOfflineCase{ContactID: contact.ID, Message: "call me"})
				mustOK(t, err)
				return 0, []wantEvent{
					{Type: models.EventCaseCreated, CaseID: offline.ID, ContactID: contact.ID, Data: store.EventData{"channel": "offline", "initiator": "contact", "status": "new"}},
					{Type: models.EventMessageCreated, CaseID: offline.ID, ContactID: contact.ID, MessageID: *offline.LastMessageID,
						Data: store.EventData{"sender": "contact", "channel": "offline", "kind": "message"}},
				}
			}},
			{"email", func(t *testing.T) (int64, []wantEvent) {
				var err error
				email, err = s.CreateCase(ctx, acct.ID, store.NewCase{ContactID: contact.ID, Channel: models.ChannelEmail})
				mustOK(t, err)
				emailMsg, err = s.AddEmail(ctx, acct.ID, email.ID, store.NewEmail{Sender: models.SenderAgent, AgentID: &agent.ID,
					From: "help@acme.example", To: []string{"ann@example.com"}, Subject: "Re", TextBody: "Hi"})
				mustOK(t, err)
				return 0, []wantEvent{
					{Type: models.EventCaseCreated, CaseID: email.ID, ContactID: contact.ID, Data: store.EventData{"channel": "email", "initiator": "agent"}},
					{Type: models.EventMessageCreated, CaseID: email.ID, ContactID: contact.ID, MessageID: emailMsg.Message.ID, AgentID: agent.ID,
						Data: store.EventData{"sender": "agent", "channel": "email"}},
					{Type: models.EventCaseStatusChanged, CaseID: email.ID, ContactID: contact.ID, Data: store.EventData{"from": "new", "to": "open"}},
				}
			}},
			{"sms", func(t *testing.T) (int64, []wantEvent) {
				var err error
				sms, err = s.CreateCase(ctx, acct.ID, store.NewCase{ContactID: contact.ID, Channel: models.ChannelSMS})
				mustOK(t, err)
				in := store.NewSMS{Sender: models.SenderContact, From: "+14155550101", To: "+14155550150", Body: "yo"}
				m, err := s.AddSMS(ctx, acct.ID, sms.ID, in)
				mustOK(t, err)
				smsMsg, err = s.AddSMS(ctx, acct.ID, sms.ID, store.NewSMS{Sender: models.SenderAgent, AgentID: &agent.ID, From: "+14155550150", To: "+14155550101", Body: "hey"})
				mustOK(t, err)
				return 0, []wantEvent{
					{Type: models.EventCaseCreated, CaseID: sms.ID, ContactID: contact.ID, Data: store.EventData{"channel": "sms"}},
					{Type: models.EventMessageCreated, CaseID: sms.ID, ContactID: contact.ID, MessageID: m.Message.ID, Data: store.EventData{"sender": "contact", "channel": "sms"}},
					{Type: models.EventMessageCreated, CaseID: sms.ID, ContactID: contact.ID, MessageID: smsMsg.Message.ID, AgentID: agent.ID,
						Data: store.EventData{"sender": "agent", "channel": "sms"}},
					{Type: models.EventCaseStatusChanged, CaseID: sms.ID, ContactID: contact.ID, Data: store.EventData{"from": "new", "to": "open"}},
				}
			}},
			{"claims, retries and releases append nothing", func(t *testing.T) (int64, []wantEvent) {
				out, err := s.ClaimDeliveries(ctx, []models.InboxKind{models.InboxEmail, models.InboxSMS}, 10, time.Minute)
				mustOK(t, err)
				if len(out) != 2 {
					t.Fatalf("claimed %d deliveries, want 2", len(out))
				}
				retry := time.Now().Add(-time.Second)
				for _, o := range out {
					mustOK(t, s.DeliveryFailed(ctx, o.Delivery.ID, o.Delivery.Attempts, "try again", &retry))
				}
				out, err = s.ClaimDeliveries(ctx, []models.InboxKind{models.InboxEmail, models.InboxSMS}, 10, time.Minute)
				mustOK(t, err)
				claims := map[int64]int{}
				for _, o := range out {
					claims[o.Delivery.ID] = o.Delivery.Attempts
				}
				mustOK(t, s.ReleaseDeliveries(ctx, claims))
				return 0, nil
			}},
			{"delivered and failed for good", func(t *testing.T) (int64, []wantEvent) {
				out, err := s.ClaimDeliveries(ctx, []models.InboxKind{models.InboxEmail, models.InboxSMS}, 10, time.Minute)
				mustOK(t, err)
				var want []wantEvent
				for _, o := range out {
					switch o.Delivery.Kind {
					case models.InboxEmail:
						mustOK(t, s.DeliverySent(ctx, o.Delivery.ID, o.Delivery.Attempts, "q1", time.Now()))
						want = append(want, wantEvent{Type: models.EventDeliverySent, CaseID: email.ID, MessageID: emailMsg.Message.ID,
							Data: store.EventData{"channel": "email", "attempts": o.Delivery.Attempts}})
					case models.InboxSMS:
						mustOK(t, s.DeliveryFailed(ctx, o.Delivery.ID, o.Delivery.Attempts, "unreachable", nil))
						want = append(want, wantEvent{Type: models.EventDeliveryFailed, CaseID: sms.ID, MessageID: smsMsg.Message.ID,
							Data: store.EventData{"channel": "sms", "attempts": o.Delivery.Attempts, "reason": "unreachable"}})
					}
				}
				if len(want) != 2 {
					t.Fatalf("claimed %d deliveries, want 2", len(out))
				}
				return 0, want
			}},
			{"upload offline messages", func(t *testing.T) (int64, []wantEvent) {
				at := t0.Add(time.Hour)
				ids, err := s.UploadOfflineMessages(ctx, acct.ID, []store.OfflineUpload{
					{ReceivedAt: at, Contact: store.UploadContact{Name: "New", Email: "new@example.com"}, Message: "one", Source: store.UploadSource{SiteID: &site.ID}, ExtID: ptr("om-1")},
					{ReceivedAt: at, Contact: store.UploadContact{Phone: "+14155550101"}, Message: "two", Source: store.UploadSource{CampaignID: &camp.ID}},
					{ReceivedAt: at, Contact: store.UploadContact{Phone: "+14155550101"}, Source: store.UploadSource{SiteID: &site.ID, NoCampaign: true}},
				})
				mustOK(t, err)
				uploaded = ids
				return 0, []wantEvent{{Type: models.EventUploadCompleted,
					Data: store.EventData{"channel": "offline", "cases": 3, "cases_updated": 0, "messages": 2, "contacts": 1}}}
			}},
			{"upload resending an ext_id", func(t *testing.T) (int64, []wantEvent) {
				_, err := s.UploadOfflineMessages(ctx, acct.ID, []store.OfflineUpload{
					{ReceivedAt: t0.Add(2 * time.Hour), Contact: store.UploadContact{Email: "new@example.com"}, Message: "one again", Source: store.UploadSource{SiteID: &site.ID}, ExtID: ptr("om-1")},
				})
				mustOK(t, err)
				return 0, []wantEvent{{Type: models.EventUploadCompleted,
					Data: store.EventData{"channel": "offline", "cases": 0, "cases_updated": 1, "messages": 1, "contacts": 0}}}
			}},
			{"upload chats", func(t *testing.T) (int64, []wantEvent) {
				at := t0.Add(3 * time.Hour)
				_, err := s.UploadChats(ctx, acct.ID, []store.ChatUpload{{
					StartedAt: at, Contact: store.UploadContact{Name: "Chatty", Email: "chatty@example.com"}, Outcome: models.OutcomeSucceeded, Source: store.UploadSource{CampaignID: &camp.ID},
					Messages: []store.ChatUploadMessage{
						{At: at, Sender: models.SenderContact, Text: "q"},
						{At: at.Add(time.Minute), Sender: models.SenderAgent, AgentID: &agent.ID, Text: "a"},
					},
				}})
				mustOK(t, err)
				return 0, []wantEvent{{Type: models.EventUploadCompleted,
					Data: store.EventData{"channel": "chat", "cases": 1, "messages": 2, "contacts": 1}}}
			}},
			{"delete uploaded", func(t *testing.T) (int64, []wantEvent) {
				del := []int64{uploaded[1], uploaded[0]}
				var cs [2]store.CaseView
				for i, id := range del {
					var err error
					cs[i], err = s.Case(ctx, acct.ID, id)
					mustOK(t, err)
				}
				_, err := s.DeleteUploaded(ctx, acct.ID, models.ChannelOffline, del)
				mustOK(t, err)
				return 0, []wantEvent{
					{Type: models.EventCaseDeleted, CaseID: del[0], ContactID: cs[0].ContactID, Data: store.EventData{"channel": "offline"}},
					{Type: models.EventCaseDeleted, CaseID: del[1], ContactID: cs[1].ContactID, Data: store.EventData{"channel": "offline"}},
				}
			}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := lastSeq(t, s, acct.ID)
				target, want := tt.run(t)
				if target == 0 {
					assertNewEvents(t, s, acct.ID, before, want)
					return
				}
				// A new account's events are numbered from 1, and nothing
				// went to the fixture's account.
				assertNewEvents(t, s, target, 0, want)
				assertNewEvents(t, s, acct.ID, before, nil)
			})
		}
	})
}

// mustOK fails the test on an error.
func mustOK(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

// TestEvents_SameTransaction checks that a write that fails appends
// nothing and leaves the account's numbering where it was, including one
// that had appended its events before it failed.
func TestEvents_SameTransaction(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		acct := storetest.MustAccount(t, s, "A")
		agent := storetest.MustAgent(t, s, acct.ID, "agent@acme.example", models.RoleAgent, hash)
		contact := storetest.MustContact(t, s, acct.ID, "Ann", "ann@example.com", "")
		storetest.MustDepartment(t, s, acct.ID, "Sales")
		closed, err := s.CreateCase(ctx, acct.ID, store.NewCase{ContactID: contact.ID})
		mustOK(t, err)
		_, err = s.SetCaseStatus(ctx, acct.ID, closed.ID, models.StatusClosed, nil)
		mustOK(t, err)
		site, err := s.CreateSite(ctx, acct.ID, "acme.example")
		mustOK(t, err)
		boom := errors.New("boom")
		tests := []struct {
			name    string
			run     func() error
			wantErr error
		}{
			{"a message to a closed case without reopen", func() error {
				_, err := s.AddMessage(ctx, acct.ID, closed.ID, store.NewMessage{Sender: models.SenderContact, Kind: models.KindMessage, Text: "hi"})
				return err
			}, store.ErrCaseNotActive},
			{"an email to a closed case", func() error {
				_, err := s.AddEmail(ctx, acct.ID, closed.ID, store.NewEmail{Sender: models.SenderAgent, AgentID: &agent.ID,
					From: "help@acme.example", To: []string{"ann@example.com"}, TextBody: "x"})
				return err
			}, store.ErrCaseNotActive},
			{"a department name taken", func() error {
				_, err := s.CreateDepartment(ctx, acct.ID, "Sales")
				return err
			}, store.ErrConflict},
			{"an agent email taken", func() error {
				_, err := s.CreateAgent(ctx, acct.ID, store.NewAgent{Email: "agent@acme.example", PasswordHash: hash, Role: models.RoleAgent})
				return err
			}, store.ErrConflict},
			{"an assignee of no account's", func() error {
				_, err := s.AssignCase(ctx, acct.ID, closed.ID, ptr(int64(1<<40)))
				return err
			}, store.ErrNotFound},
			{"an upload batch refused", func() error {
				_, err := s.UploadOfflineMessages(ctx, acct.ID, []store.OfflineUpload{
					{Contact: store.UploadContact{Email: "x@example.com"}, Message: "ok", Source: store.UploadSource{SiteID: &site.ID, NoCampaign: true}},
					{Contact: store.UploadContact{Email: "y@example.com"}, Message: "no such site", Source: store.UploadSource{SiteID: ptr(int64(1 << 40)), NoCampaign: true}},
				})
				return err
			}, nil},
			{"a write that appended, then failed", func() error {
				return s.AppendThenForTest(ctx, acct.ID, models.EventContactCreated, func(*gorm.DB) error { return boom })
			}, boom},
			{"a write that appended, then failed in the database", func() error {
				return s.AppendThenForTest(ctx, acct.ID, models.EventContactCreated, func(tx *gorm.DB) error {
					return tx.Exec("INSERT INTO departments (account_id, name, created_at) VALUES (?, 'Sales', ?)", acct.ID, time.Now()).Error
				})
			}, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := lastSeq(t, s, acct.ID)
				var rows int64
				mustOK(t, s.GORM().Raw("SELECT COUNT(*) FROM events WHERE account_id = ?", acct.ID).Scan(&rows).Error)
				err := tt.run()
				if err == nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if got := lastSeq(t, s, acct.ID); got != before {
					t.Errorf("LastEventSeq = %d after a failed write, want %d", got, before)
				}
				var after int64
				mustOK(t, s.GORM().Raw("SELECT COUNT(*) FROM events WHERE account_id = ?", acct.ID).Scan(&after).Error)
				if after != rows {
					t.Errorf("events rows = %d after a failed write, want %d", after, rows)
				}
			})
		}
		// The next write that commits takes the next number.
		before := lastSeq(t, s, acct.ID)
		c := storetest.MustContact(t, s, acct.ID, "Bob", "", "")
		assertNewEvents(t, s, acct.ID, before, []wantEvent{{Type: models.EventContactCreated, ContactID: c.ID}})
	})
}

package store_test

import (
	"fmt"
	"testing"
	"time"

	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

// BenchmarkUploadChats measures one CallGear-sized upload, 500 chats of 10
// messages each, every chat with a contact of its own, on each backend.
func BenchmarkUploadChats(b *testing.B) {
	for _, backend := range storetest.Backends(b) {
		b.Run(string(backend), func(b *testing.B) {
			s, acct, site := mustUploadAccount(b, backend)
			ctx := b.Context()
			agent := storetest.MustAgent(b, s, acct.ID, "op@example.com", models.RoleAgent, hash)
			start := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
			round := 0
			batch := func() []store.ChatUpload {
				round++
				items := make([]store.ChatUpload, 500)
				for i := range items {
					c := store.ChatUpload{StartedAt: start, Outcome: models.OutcomeSucceeded,
						Contact: store.UploadContact{Email: fmt.Sprintf("c%d-%d@example.com", round, i)},
						Source:  store.UploadSource{SiteID: &site.ID}, ExtID: ptr(fmt.Sprintf("r%d-c%d", round, i))}
					for k := range 10 {
						m := store.ChatUploadMessage{At: start.Add(time.Duration(k) * time.Second), Sender: models.SenderContact, Text: "message text"}
						if k%2 == 1 {
							m.Sender, m.AgentID = models.SenderAgent, &agent.ID
						}
						c.Messages = append(c.Messages, m)
					}
					items[i] = c
				}
				return items
			}
			for b.Loop() {
				b.StopTimer()
				items := batch()
				b.StartTimer()
				if _, err := s.UploadChats(ctx, acct.ID, items); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkUploadOfflineMessages measures one CallGear-sized upload of 500
// offline messages, each with a contact of its own, on each backend.
func BenchmarkUploadOfflineMessages(b *testing.B) {
	for _, backend := range storetest.Backends(b) {
		b.Run(string(backend), func(b *testing.B) {
			s, acct, site := mustUploadAccount(b, backend)
			ctx := b.Context()
			at := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
			round := 0
			for b.Loop() {
				b.StopTimer()
				round++
				items := make([]store.OfflineUpload, 500)
				for i := range items {
					items[i] = store.OfflineUpload{ReceivedAt: at, Message: "message text",
						Contact: store.UploadContact{Email: fmt.Sprintf("c%d-%d@example.com", round, i)},
						Source:  store.UploadSource{SiteID: &site.ID}, ExtID: ptr(fmt.Sprintf("r%d-o%d", round, i))}
				}
				b.StartTimer()
				if _, err := s.UploadOfflineMessages(ctx, acct.ID, items); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// mustUploadAccount opens a fresh store on backend with an account and a
// site of it for the uploads to name.
func mustUploadAccount(tb testing.TB, backend store.Backend) (*store.Store, models.Account, models.Site) {
	tb.Helper()
	s := storetest.MustOpen(tb, backend)
	acct := storetest.MustAccount(tb, s, "A")
	site, err := s.CreateSite(tb.Context(), acct.ID, "a.example")
	if err != nil {
		tb.Fatal(err)
	}
	return s, acct, site
}

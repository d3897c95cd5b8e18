package store_test

import (
	"testing"

	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

// BenchmarkAddMessage_Events measures the commonest write, a contact's
// message, which appends one event: compare it with the same benchmark on a
// tree before the event log to see what the append costs.
func BenchmarkAddMessage_Events(b *testing.B) {
	for _, backend := range storetest.Backends(b) {
		b.Run(string(backend), func(b *testing.B) {
			s := storetest.MustOpen(b, backend)
			ctx := b.Context()
			acct := storetest.MustAccount(b, s, "A")
			c := storetest.MustContact(b, s, acct.ID, "Ann", "", "")
			cv, err := s.CreateCase(ctx, acct.ID, store.NewCase{ContactID: c.ID})
			if err != nil {
				b.Fatal(err)
			}
			in := store.NewMessage{Sender: models.SenderContact, Kind: models.KindMessage, Text: "hello"}
			b.ResetTimer()
			for b.Loop() {
				if _, err := s.AddMessage(ctx, acct.ID, cv.ID, in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

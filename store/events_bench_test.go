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

// BenchmarkAddMessage_Concurrent is BenchmarkAddMessage_Events from 32
// goroutines over 20 connections, each writing to cases of its own in one
// account: what the account's event numbering lets through when writes
// commit side by side (PostgreSQL; SQLite takes one writer at a time).
func BenchmarkAddMessage_Concurrent(b *testing.B) {
	s, err := store.Open(b.Context(), storetest.MustURL(b, store.Postgres), store.Options{MaxOpenConns: 20, BulkConns: 1})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(b.Context()); err != nil {
		b.Fatal(err)
	}
	ctx := b.Context()
	acct := storetest.MustAccount(b, s, "A")
	c := storetest.MustContact(b, s, acct.ID, "Ann", "", "")
	const cases = 64
	ids := make(chan int64, cases)
	for range cases {
		cv, err := s.CreateCase(ctx, acct.ID, store.NewCase{ContactID: c.ID})
		if err != nil {
			b.Fatal(err)
		}
		ids <- cv.ID
	}
	in := store.NewMessage{Sender: models.SenderContact, Kind: models.KindMessage, Text: "hello"}
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		id := <-ids
		for pb.Next() {
			if _, err := s.AddMessage(ctx, acct.ID, id, in); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

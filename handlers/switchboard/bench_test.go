package switchboard_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"switchboard/handlers/switchboard"
	"switchboard/store"
	"switchboard/store/storetest"
)

// BenchmarkStream_Writes measures the store's writes of one account (a
// contact each) with no stream open and with 100 streams of that account
// open through the real router, each reading every event: what the streams
// cost the writers. The ratio of the two is the figure the live stream is
// held to (at least 0.90).
//
//	go test -run '^$' -bench BenchmarkStream_Writes -benchtime 2000x ./handlers/switchboard/
func BenchmarkStream_Writes(b *testing.B) {
	for _, backend := range []store.Backend{store.SQLite, store.Postgres} {
		if backend == store.Postgres {
			if _, err := storetest.Postgres(); err != nil {
				continue
			}
		}
		for _, streams := range []int{0, 100} {
			b.Run(fmt.Sprintf("%s/streams=%d", backend, streams), func(b *testing.B) {
				st := storetest.MustOpen(b, backend)
				f := mustFixture(b, st, switchboard.Config{})
				clients := make([]*sseClient, streams)
				for i := range clients {
					clients[i], _ = f.openStreamWith(b, f.read, "", "", true)
				}
				from := f.lastSeq(b, f.one.ID)
				for b.Loop() {
					storetest.MustContact(b, st, f.one.ID, "C", "", "")
				}
				b.StopTimer()
				// Every stream gets every event.
				last := f.lastSeq(b, f.one.ID)
				deadline := time.Now().Add(streamDeadline)
				for _, c := range clients {
					for c.lastID.Load() < last {
						if time.Now().After(deadline) {
							b.Fatalf("a stream got to %d of %d..%d", c.lastID.Load(), from, last)
						}
						time.Sleep(time.Millisecond)
					}
				}
			})
		}
	}
}

// BenchmarkStream_Latency measures the time from a write's commit (its
// return) to its event at a stream client of the real router, one write at
// a time, and reports the median and the 99th percentile.
//
//	go test -run '^$' -bench BenchmarkStream_Latency -benchtime 300x ./handlers/switchboard/
func BenchmarkStream_Latency(b *testing.B) {
	for _, backend := range []store.Backend{store.SQLite, store.Postgres} {
		if backend == store.Postgres {
			if _, err := storetest.Postgres(); err != nil {
				continue
			}
		}
		b.Run(string(backend), func(b *testing.B) {
			st := storetest.MustOpen(b, backend)
			f := mustFixture(b, st, switchboard.Config{})
			c, _ := f.openStream(b, f.read, "", "")
			var lat []time.Duration
			for b.Loop() {
				storetest.MustContact(b, st, f.one.ID, "C", "", "")
				start := time.Now()
				c.next(b)
				lat = append(lat, time.Since(start))
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		})
	}
}

package switchboard_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"switchboard/handlers/switchboard"
	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

// mustContacts writes n contacts to the account, one contact.created event
// each.
func mustContacts(t testing.TB, st *store.Store, account int64, n int) {
	t.Helper()
	for i := range n {
		storetest.MustContact(t, st, account, fmt.Sprintf("C%d", i), "", "")
	}
}

// wantConsecutive fails unless got is from, from+1, ... with no gap and
// no repeat.
func wantConsecutive(t *testing.T, got []int64, from int64) {
	t.Helper()
	for i, id := range got {
		if id != from+int64(i) {
			t.Fatalf("event %d has id %d, want %d (ids %v)", i, id, from+int64(i), got)
		}
	}
}

func TestStream_CatchUpThenLive(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		// A queue of one batch makes the feed drop batches for a stream
		// that is behind, which then catches up by itself.
		f := mustFixture(t, st, switchboard.Config{Stream: switchboard.StreamConfig{Buffer: 1}})
		mustContacts(t, st, f.one.ID, 5)
		base := f.lastSeq(t, f.one.ID)
		const n = 300
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			mustContacts(t, st, f.one.ID, n)
		}()
		// Connect while the writer writes, from an id in the past.
		deadline := time.Now().Add(streamDeadline)
		for f.lastSeq(t, f.one.ID) < base+20 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		from := base - 3
		c, r := f.openStream(t, f.read, "", strconv.FormatInt(from, 10))
		if r.status != http.StatusOK {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		if ct := r.header.Get("Content-Type"); ct != "text/event-stream" {
			t.Errorf("Content-Type %q", ct)
		}
		// Unchunked, delimited by the connection's close: a batch is one
		// send.
		if te := c.res.TransferEncoding; len(te) != 0 || !c.res.Close {
			t.Errorf("Transfer-Encoding %q, Close %v: want none, and the connection closed after", te, c.res.Close)
		}
		wg.Wait()
		last := f.lastSeq(t, f.one.ID)
		wantConsecutive(t, c.seqs(t, int(last-from)), from+1)
		// Then live: one more, nothing repeated before it.
		mustContacts(t, st, f.one.ID, 1)
		ev := c.next(t)
		if ev.id != strconv.FormatInt(last+1, 10) || ev.event != string(models.EventContactCreated) {
			t.Fatalf("live event %+v, want id %d contact.created", ev, last+1)
		}
		var data switchboard.Event
		if err := json.Unmarshal([]byte(ev.data), &data); err != nil {
			t.Fatal(err)
		}
		if data.Seq != last+1 || data.AccountID != f.one.ID || data.ContactID == 0 {
			t.Errorf("data %+v", data)
		}
	})
}

func TestStream_Position(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st, switchboard.Config{})
		mustContacts(t, st, f.one.ID, 3)
		mustContacts(t, st, f.two.ID, 2)
		tests := []struct {
			name, query, header string
			// first is the id of the first event the stream sends, once
			// one more contact is written.
			first int64
		}{
			{name: "no Last-Event-ID: from the next commit", first: -1},
			{name: "Last-Event-ID 0: every event kept", header: "0", first: 1},
			{name: "?after=", query: "?after=2", first: 3},
			{name: "?last_event_id=", query: "?last_event_id=1", first: 2},
			{name: "the header wins over the query", query: "?after=1", header: "2", first: 3},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				c, r := f.openStream(t, f.admin, tt.query, tt.header)
				if r.status != http.StatusOK {
					t.Fatalf("status %d: %s", r.status, r.body)
				}
				mustContacts(t, st, f.one.ID, 1)
				now := f.lastSeq(t, f.one.ID)
				want := tt.first
				if want < 0 {
					want = now
				}
				wantConsecutive(t, c.seqs(t, int(now-want+1)), want)
			})
		}
	})
}

func TestStream_Types(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st, switchboard.Config{})
		c, r := f.openStream(t, f.read, "?types=case.created,case.closed", "0")
		if r.status != http.StatusOK {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		ctx := context.Background()
		ct := storetest.MustContact(t, st, f.one.ID, "Ann", "", "")
		v, err := st.CreateCase(ctx, f.one.ID, store.NewCase{ContactID: ct.ID, Subject: "s"})
		if err != nil {
			t.Fatal(err)
		}
		mustContacts(t, st, f.one.ID, 2)
		if _, err := st.SetCaseStatus(ctx, f.one.ID, v.Case.ID, models.StatusClosed, nil); err != nil {
			t.Fatal(err)
		}
		for _, want := range []models.EventType{models.EventCaseCreated, models.EventCaseClosed} {
			if ev := c.next(t); ev.event != string(want) {
				t.Fatalf("event %+v, want %s", ev, want)
			}
		}
	})
}

func TestStream_Refused(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st, switchboard.Config{})
		tests := []struct {
			name, token, query, header string
			wantStatus                 int
			wantCode                   string
		}{
			{name: "no key", wantStatus: http.StatusUnauthorized, wantCode: "unauthorized"},
			{name: "revoked key", token: f.revoked, wantStatus: http.StatusUnauthorized, wantCode: "unauthorized"},
			{name: "key without read", token: f.chat, wantStatus: http.StatusForbidden, wantCode: "forbidden"},
			{name: "unknown type", token: f.read, query: "?types=case.created,case.exploded", wantStatus: http.StatusUnprocessableEntity, wantCode: "invalid"},
			{name: "Last-Event-ID not a number", token: f.read, header: "abc", wantStatus: http.StatusUnprocessableEntity, wantCode: "invalid"},
			{name: "negative after", token: f.read, query: "?after=-1", wantStatus: http.StatusUnprocessableEntity, wantCode: "invalid"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, r := f.openStream(t, tt.token, tt.query, tt.header)
				if r.status != tt.wantStatus {
					t.Fatalf("status %d, want %d: %s", r.status, tt.wantStatus, r.body)
				}
				if got := errorCode(t, r.body); got != tt.wantCode {
					t.Errorf("code %q, want %q", got, tt.wantCode)
				}
			})
		}
	})
}

func TestStream_OtherAccount(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st, switchboard.Config{})
		c, _ := f.openStream(t, f.read, "", "")
		mustContacts(t, st, f.two.ID, 3)
		mustContacts(t, st, f.one.ID, 1)
		ev := c.next(t)
		var data switchboard.Event
		if err := json.Unmarshal([]byte(ev.data), &data); err != nil {
			t.Fatal(err)
		}
		if data.AccountID != f.one.ID {
			t.Fatalf("got an event of account %d", data.AccountID)
		}
	})
}

func TestStream_KeepAlive(t *testing.T) {
	st := storetest.MustOpen(t, store.SQLite)
	f := mustFixture(t, st, switchboard.Config{Stream: switchboard.StreamConfig{KeepAlive: 10 * time.Millisecond}})
	c, _ := f.openStream(t, f.read, "", "")
	timer := time.NewTimer(streamDeadline)
	defer timer.Stop()
	for n := 0; n < 3; {
		select {
		case ev := <-c.events:
			if ev.comment != "keep-alive" {
				t.Fatalf("got %+v, want a keep-alive comment", ev)
			}
			n++
		case <-timer.C:
			t.Fatal("no keep-alive within the deadline")
		}
	}
}

func TestStream_MaxStreams(t *testing.T) {
	st := storetest.MustOpen(t, store.SQLite)
	f := mustFixture(t, st, switchboard.Config{Stream: switchboard.StreamConfig{MaxStreams: 2}})
	a, _ := f.openStream(t, f.read, "", "")
	f.openStream(t, f.admin, "", "")
	_, r := f.openStream(t, f.read, "", "")
	if r.status != http.StatusServiceUnavailable || errorCode(t, r.body) != "too_many_streams" || r.header.Get("Retry-After") == "" {
		t.Fatalf("third stream: %d %v %s, want 503 too_many_streams with Retry-After", r.status, r.header, r.body)
	}
	// A stream that ends frees its place.
	a.close()
	deadline := time.Now().Add(streamDeadline)
	for {
		c, r := f.openStream(t, f.read, "", "")
		if r.status == http.StatusOK {
			c.close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no place freed: %d %s", r.status, r.body)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestStream_Shutdown(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		done := make(chan struct{})
		f := mustFixture(t, st, switchboard.Config{Stream: switchboard.StreamConfig{Done: done}})
		streams := []*sseClient{}
		for range 3 {
			c, r := f.openStream(t, f.read, "", "")
			if r.status != http.StatusOK {
				t.Fatalf("status %d", r.status)
			}
			streams = append(streams, c)
		}
		close(done)
		for i, c := range streams {
			select {
			case <-c.ended:
			case <-time.After(streamDeadline):
				t.Fatalf("stream %d did not end", i)
			}
		}
	})
}

// TestStream_OutlivesServerTimeouts: a stream lives past the server's read
// and write timeouts (serve's are 30 s and 60 s), which end requests, not
// streams.
func TestStream_OutlivesServerTimeouts(t *testing.T) {
	st := storetest.MustOpen(t, store.SQLite)
	f := mustFixture(t, st, switchboard.Config{Stream: switchboard.StreamConfig{KeepAlive: 20 * time.Millisecond}})
	srv := httptest.NewUnstartedServer(f.h)
	srv.Config.ReadTimeout, srv.Config.WriteTimeout = 100*time.Millisecond, 100*time.Millisecond
	srv.Start()
	t.Cleanup(srv.Close)
	f.raw = srv
	c, r := f.openStream(t, f.read, "", "")
	if r.status != http.StatusOK {
		t.Fatalf("status %d", r.status)
	}
	// Keep-alives for well past both timeouts.
	start := time.Now()
	for n := 0; n < 10 || time.Since(start) < 500*time.Millisecond; n++ {
		select {
		case ev := <-c.events:
			if ev.comment != "keep-alive" {
				t.Fatalf("got %+v, want a keep-alive", ev)
			}
		case <-c.ended:
			t.Fatalf("the stream ended after %s", time.Since(start))
		case <-time.After(streamDeadline):
			t.Fatal("no keep-alive within the deadline")
		}
	}
	mustContacts(t, st, f.one.ID, 1)
	if ev := c.next(t); ev.event != string(models.EventContactCreated) {
		t.Fatalf("got %+v", ev)
	}
}

package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"switchboard/cmd/switchboard/binarytest"
	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

// e2eEvent is one event a stream sent.
type e2eEvent struct {
	id          int64
	event, data string
}

// e2eStream is an open GET /switchboard/v1/events on a running server.
type e2eStream struct {
	events chan e2eEvent
	ended  chan struct{}
	cancel context.CancelFunc
}

// mustStream opens the server's event stream with the token, after lastID
// (-1: none, from the next commit).
func (s *server) mustStream(t *testing.T, token string, lastID int64) *e2eStream {
	t.Helper()
	return s.openStream(t, token, "/switchboard/v1/events", lastID)
}

// openStream opens the event stream at path (with its query) with the
// token, after lastID (-1: no Last-Event-ID).
func (s *server) openStream(t *testing.T, token, path string, lastID int64) *e2eStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+s.addr+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if lastID >= 0 {
		req.Header.Set("Last-Event-ID", strconv.FormatInt(lastID, 10))
	}
	// Not s.client: its spec check reads the whole body, and a stream has
	// no end.
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		cancel()
		res.Body.Close()
		t.Fatalf("stream: status %d", res.StatusCode)
	}
	st := &e2eStream{events: make(chan e2eEvent, 10_000), ended: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(st.ended)
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		var ev e2eEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "" && ev.id != 0:
				st.events <- ev
				ev = e2eEvent{}
			case strings.HasPrefix(line, "id: "):
				ev.id, _ = strconv.ParseInt(line[4:], 10, 64)
			case strings.HasPrefix(line, "event: "):
				ev.event = line[7:]
			case strings.HasPrefix(line, "data: "):
				ev.data = line[6:]
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-st.ended })
	return st
}

// next returns the stream's next event, failing after a generous deadline.
func (st *e2eStream) next(t *testing.T) e2eEvent {
	t.Helper()
	select {
	case ev := <-st.events:
		return ev
	case <-st.ended:
		t.Fatal("the stream ended")
	case <-time.After(30 * time.Second):
		t.Fatal("no event within 30s")
	}
	return e2eEvent{}
}

// mustConsecutive reads events from, from+1, ... to, failing on a gap or a
// repeat.
func (st *e2eStream) mustConsecutive(t *testing.T, from, to int64) {
	t.Helper()
	for want := from; want <= to; want++ {
		if ev := st.next(t); ev.id != want {
			t.Fatalf("event id %d (%s), want %d", ev.id, ev.event, want)
		}
	}
}

// mustCreateWebhook subscribes a URL through the REST route and returns the
// answer's body.
func (s *server) mustCreateWebhook(t *testing.T, token, url string) string {
	t.Helper()
	code, body := s.call(t, http.MethodPost, "/switchboard/v1/webhooks", token, "",
		map[string]any{"url": url, "format": "standard", "events": []string{"case.created"}})
	if code != http.StatusCreated {
		t.Fatalf("create webhook: %d %s", code, body)
	}
	return body
}

// TestE2E_EventsCatchUpAcrossRestart: a stream client that saw events up to
// some id, then lost the server (it shut down, ending the stream), gets
// every event after that id from the restarted server, those written while
// it was down included, then the new ones live, with no gap and no repeat.
func TestE2E_EventsCatchUpAcrossRestart(t *testing.T) {
	bin := mustBuild(t)
	for _, b := range storetest.Backends(t) {
		t.Run(string(b), func(t *testing.T) {
			dbURL := storetest.MustURL(t, b)
			s := mustStart(t, bin, dbURL)
			_, _, token := binarytest.MustCredentials(t, s.stdout)
			st := storetest.MustOpenURL(t, dbURL)
			const account = 1

			stream := s.mustStream(t, token, 0)
			s.mustCreateWebhook(t, token, "https://hooks.example.com/one")
			last, err := st.LastEventSeq(t.Context(), account)
			if err != nil {
				t.Fatal(err)
			}
			stream.mustConsecutive(t, 1, last)

			// SIGTERM ends the stream, and the server stops cleanly.
			if err := s.stop(t); err != nil {
				t.Fatalf("serve exited with %v with a stream open\n%s", err, s.logs.String())
			}
			select {
			case <-stream.ended:
			case <-time.After(30 * time.Second):
				t.Fatal("the stream did not end at shutdown")
			}

			// Written while no server runs.
			for i := range 5 {
				storetest.MustContact(t, st, account, fmt.Sprintf("Offline %d", i), "", "")
			}
			s = mustStart(t, bin, dbURL)
			again := s.mustStream(t, token, last)
			s.mustCreateWebhook(t, token, "https://hooks.example.com/two")
			now, err := st.LastEventSeq(t.Context(), account)
			if err != nil {
				t.Fatal(err)
			}
			if now < last+6 {
				t.Fatalf("last event %d, want at least %d", now, last+6)
			}
			again.mustConsecutive(t, last+1, now)
		})
	}
}

// TestE2E_EventsAcrossReplicas: two replicas on one PostgreSQL database; an
// event committed through replica A reaches a stream on replica B, woken by
// LISTEN/NOTIFY (its safety poll is 5 s; the deadline is generous, so the
// time it took is logged, not asserted).
func TestE2E_EventsAcrossReplicas(t *testing.T) {
	bin := mustBuild(t)
	dbURL := mustPostgresURL(t)
	a := mustStart(t, bin, dbURL)
	_, _, token := binarytest.MustCredentials(t, a.stdout)
	b := mustStart(t, bin, dbURL)
	stream := b.mustStream(t, token, -1)
	// The stream is open once its headers came; write through A.
	start := time.Now()
	a.mustCreateWebhook(t, token, "https://hooks.example.com/a")
	ev := stream.next(t)
	if ev.event != "webhook.created" {
		t.Fatalf("replica B's stream got %+v, want webhook.created", ev)
	}
	t.Logf("replica A's commit reached replica B's stream in %s", time.Since(start))
	st := storetest.MustOpenURL(t, dbURL)
	if last, err := st.LastEventSeq(t.Context(), 1); err != nil || last != ev.id {
		t.Errorf("last event %d (%v), the stream's %d", last, err, ev.id)
	}
}

// TestE2E_EventsPrunedAtStart: serve deletes, as it starts, the events older
// than --event-retention and the webhook deliveries of that age that ended
// (sent or failed), and keeps the deliveries still owed, however old.
func TestE2E_EventsPrunedAtStart(t *testing.T) {
	bin := mustBuild(t)
	for _, b := range storetest.Backends(t) {
		t.Run(string(b), func(t *testing.T) {
			dbURL := storetest.MustURL(t, b)
			s := mustStart(t, bin, dbURL) // the first start makes account 1
			if err := s.stop(t); err != nil {
				t.Fatalf("serve: %v\n%s", err, s.logs.String())
			}
			st := storetest.MustOpenURL(t, dbURL)
			const account = 1
			if _, err := st.CreateWebhook(t.Context(), account, store.NewWebhook{URL: "https://hooks.example.com/x",
				Format: models.FormatStandard, Types: []models.EventType{models.EventContactCreated}, Secret: "whsec_c2VjcmV0"}); err != nil {
				t.Fatal(err)
			}
			for i := range 4 {
				storetest.MustContact(t, st, account, fmt.Sprintf("C%d", i), "", "")
			}
			if n, err := st.FanOutWebhookEvents(t.Context(), nil); err != nil || n != 4 {
				t.Fatalf("FanOutWebhookEvents = %d, %v; want 4", n, err)
			}
			// Ten days ago: two sent, one failed for good, one owed (its retry
			// is an hour away, so that the worker leaves it alone).
			db := st.GORM()
			old, retry := time.Now().UTC().Add(-10*24*time.Hour), time.Now().UTC().Add(time.Hour)
			var ids []int64
			mustExec(t, db.Raw("SELECT id FROM webhook_deliveries ORDER BY id").Scan(&ids).Error)
			if len(ids) != 4 {
				t.Fatalf("deliveries %v, want 4", ids)
			}
			mustExec(t, db.Exec("UPDATE webhook_deliveries SET created_at = ?, status = 'sent' WHERE id IN ?", old, ids[:2]).Error)
			mustExec(t, db.Exec("UPDATE webhook_deliveries SET created_at = ?, status = 'failed' WHERE id = ?", old, ids[2]).Error)
			mustExec(t, db.Exec("UPDATE webhook_deliveries SET created_at = ?, next_attempt_at = ?, attempts = 1 WHERE id = ?", old, retry, ids[3]).Error)
			mustExec(t, db.Exec("UPDATE events SET created_at = ?", old).Error)

			s = mustStart(t, bin, dbURL)
			deadline := time.Now().Add(30 * time.Second)
			for !strings.Contains(s.logs.String(), "pruned webhook deliveries") {
				if time.Now().After(deadline) {
					t.Fatalf("serve did not prune the deliveries within 30 s\n%s", s.logs.String())
				}
				time.Sleep(20 * time.Millisecond)
			}
			var left []int64
			mustExec(t, db.Raw("SELECT id FROM webhook_deliveries ORDER BY id").Scan(&left).Error)
			if len(left) != 1 || left[0] != ids[3] {
				t.Errorf("deliveries left %v, want only the owed one, %d", left, ids[3])
			}
			var events int64
			mustExec(t, db.Raw("SELECT COUNT(*) FROM events WHERE created_at < ?", old.Add(time.Hour)).Scan(&events).Error)
			if events != 0 {
				t.Errorf("%d events older than the retention left", events)
			}
		})
	}
}

// mustExec fails the test on a statement's error.
func mustExec(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

//go:build faults

package faults

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"switchboard/cmd/switchboard/binarytest"
	"switchboard/models"
	"switchboard/store/storetest"
)

// The dialects' answers while the database is down, byte for byte.
const (
	hcUnavailable   = `{"errors":[{"code":"invalid_request","message":"Invalid request"},{"code":"service_unavailable","message":"Service is temporarily unavailable. Retry after the number of seconds in Retry-After; send a write again with the same Idempotency-Key header so that it is not made twice"}]}` + "\n"
	reveUnavailable = `{"error":[{"code":503,"message":"Service is temporarily unavailable. Retry after the number of seconds in Retry-After; send a write again with the same Idempotency-Key header so that it is not made twice."}]}` + "\n"
)

// outcome is one request of a load generator.
type outcome struct {
	kind    string // "helpcrunch" or "reve"
	sent    time.Time
	elapsed time.Duration
	code    int // 0 on a transport error
	body    string
	err     error
	text    string // the message text a HelpCrunch post sent
}

// TestFaults_PostgresStoppedUnderLoad stops PostgreSQL (pg_ctl -m immediate)
// under HelpCrunch posts and REVE reads: every request answers within 5 s,
// 503 in its dialect's format while the database is down, /readyz turns
// unready, nothing panics, and within 10 s of PostgreSQL's return everything
// succeeds again without restarting switchboard. Every post that got a 200 is
// in the database.
func TestFaults_PostgresStoppedUnderLoad(t *testing.T) {
	bin := mustBuild(t)
	pg := mustCluster(t)
	s := mustStart(t, bin, pg.url(), noLimits)
	email, password, token := binarytest.MustCredentials(t, s.stdout)
	mustUnlimited(t, bin, pg.url())
	chat := s.mustChat(t, token, "visitor@example.com")

	const (
		maxAnswer    = 5 * time.Second  // no request may hang longer
		recoverBound = 10 * time.Second // everything succeeds this long after PostgreSQL is back
	)
	var (
		mu       sync.Mutex
		outcomes []outcome
		stopLoad atomic.Bool
		wg       sync.WaitGroup
	)
	record := func(o outcome) { mu.Lock(); outcomes = append(outcomes, o); mu.Unlock() }
	for w := range 3 {
		wg.Go(func() {
			for n := 0; !stopLoad.Load(); n++ {
				text := fmt.Sprintf("load %d-%d", w, n)
				sent := time.Now()
				r, err := s.send(request{method: http.MethodPost, path: "/v1/messages", token: token,
					body: mustMarshalNoFail(map[string]any{"chat": chat, "text": text, "type": "message"})})
				record(outcome{kind: "helpcrunch", sent: sent, elapsed: r.elapsed, code: r.code, body: r.body, err: err, text: text})
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
	wg.Go(func() {
		for !stopLoad.Load() {
			sent := time.Now()
			r, err := s.send(request{method: http.MethodGet, path: "/api/offlinemessages?page_no=1", user: email, pass: password})
			record(outcome{kind: "reve", sent: sent, elapsed: r.elapsed, code: r.code, body: r.body, err: err})
			time.Sleep(20 * time.Millisecond)
		}
	})
	defer func() { stopLoad.Store(true); wg.Wait() }()

	ready := func() int {
		r, err := s.send(request{method: http.MethodGet, path: "/readyz"})
		if err != nil {
			return 0
		}
		return r.code
	}
	time.Sleep(time.Second)
	if code := ready(); code != http.StatusOK {
		t.Fatalf("/readyz before the fault = %d", code)
	}

	stopped := time.Now() // requests in flight during pg_ctl stop may fail too
	pg.stop(t)
	waitFor(t, "/readyz to answer 503 while PostgreSQL is down", maxAnswer, func() bool { return ready() == http.StatusServiceUnavailable })
	t.Logf("/readyz unready %v after the stop", time.Since(stopped).Round(time.Millisecond))
	time.Sleep(3 * time.Second)

	pg.start(t)
	started := time.Now()
	waitFor(t, "/readyz to answer 200 after PostgreSQL is back", recoverBound, func() bool { return ready() == http.StatusOK })
	t.Logf("/readyz ready %v after the start", time.Since(started).Round(time.Millisecond))
	// Keep the load on past the recovery bound, to see everything succeed.
	time.Sleep(recoverBound + 3*time.Second)
	stopLoad.Store(true)
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	var down, lastFailure time.Time
	counts := map[string]map[int]int{"helpcrunch": {}, "reve": {}}
	var slowest outcome
	for _, o := range outcomes {
		counts[o.kind][o.code]++
		if o.elapsed > slowest.elapsed {
			slowest = o
		}
		if o.err != nil {
			t.Errorf("%s request sent at +%v: %v after %v", o.kind, o.sent.Sub(stopped).Round(time.Millisecond), o.err, o.elapsed)
			continue
		}
		if o.elapsed > maxAnswer {
			t.Errorf("%s request sent at +%v took %v, more than %v", o.kind, o.sent.Sub(stopped).Round(time.Millisecond), o.elapsed, maxAnswer)
		}
		if o.code == http.StatusOK {
			continue
		}
		if lastFailure.Before(o.sent) {
			lastFailure = o.sent
		}
		if down.IsZero() {
			down = o.sent
		}
		want := map[string]string{"helpcrunch": hcUnavailable, "reve": reveUnavailable}[o.kind]
		if o.code != http.StatusServiceUnavailable || o.body != want {
			t.Errorf("%s request sent at +%v: %d %s; want 503 %s", o.kind, o.sent.Sub(stopped).Round(time.Millisecond), o.code, o.body, want)
		}
		if o.sent.Add(o.elapsed).Before(stopped) {
			t.Errorf("%s request answered before the stop failed: %d %s", o.kind, o.code, o.body)
		}
		if o.sent.After(started.Add(recoverBound)) {
			t.Errorf("%s request sent %v after PostgreSQL was back failed: %d %s", o.kind, o.sent.Sub(started).Round(time.Millisecond), o.code, o.body)
		}
	}
	t.Logf("%d requests, answers %v; slowest %v, a %s request sent at +%v answering %d", len(outcomes), counts,
		slowest.elapsed.Round(time.Millisecond), slowest.kind, slowest.sent.Sub(stopped).Round(time.Millisecond), slowest.code)
	if lastFailure.IsZero() {
		t.Fatal("no request failed while PostgreSQL was down: the fault did not happen")
	}
	t.Logf("last failure sent %v after PostgreSQL was back", lastFailure.Sub(started).Round(time.Millisecond))
	for _, kind := range []string{"helpcrunch", "reve"} {
		if counts[kind][http.StatusServiceUnavailable] == 0 {
			t.Errorf("no %s request got 503 while PostgreSQL was down", kind)
		}
		if counts[kind][http.StatusOK] == 0 {
			t.Errorf("no %s request succeeded", kind)
		}
	}
	// The last requests of each kind succeeded: recovery without a restart.
	for _, kind := range []string{"helpcrunch", "reve"} {
		for i := len(outcomes) - 1; i >= 0; i-- {
			if outcomes[i].kind == kind {
				if outcomes[i].code != http.StatusOK {
					t.Errorf("the last %s request got %d %s", kind, outcomes[i].code, outcomes[i].body)
				}
				break
			}
		}
	}
	s.mustNoPanic(t)

	// Every acknowledged post is in the database, with its text.
	acked := map[int64]string{}
	for _, o := range outcomes {
		if o.kind != "helpcrunch" || o.code != http.StatusOK {
			continue
		}
		var m struct {
			ID   int64
			Text string
		}
		if err := json.Unmarshal([]byte(o.body), &m); err != nil || m.ID == 0 || m.Text != o.text {
			t.Fatalf("a 200 for %q answered %s", o.text, o.body)
		}
		acked[m.ID] = m.Text
	}
	mustStored(t, pg.url(), acked)
}

func mustMarshalNoFail(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// mustStored fails the test unless every message of acked (id to text) is
// in the database at dbURL with its text.
func mustStored(t *testing.T, dbURL string, acked map[int64]string) {
	t.Helper()
	st := storetest.MustOpenURL(t, dbURL)
	ids := make([]int64, 0, len(acked))
	for id := range acked {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var rows []models.Message
	for chunk := range slices.Chunk(ids, 1000) {
		var part []models.Message
		if err := st.GORM().Select("id", "text").Where("id IN ?", chunk).Find(&part).Error; err != nil {
			t.Fatal(err)
		}
		rows = append(rows, part...)
	}
	got := map[int64]string{}
	for _, m := range rows {
		got[m.ID] = m.Text
	}
	var missing []string
	for _, id := range ids {
		if got[id] != acked[id] {
			missing = append(missing, fmt.Sprintf("%d %q (stored %q)", id, acked[id], got[id]))
		}
	}
	if len(missing) > 0 {
		t.Errorf("%d of %d acknowledged messages are not in the database: %s", len(missing), len(acked), strings.Join(missing[:min(len(missing), 20)], ", "))
	}
	t.Logf("all %d acknowledged messages are in the database", len(acked))
}

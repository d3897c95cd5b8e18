//go:build faults

package faults

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"switchboard/cmd/switchboard/binarytest"
	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

// webhookEnv is the environment of a server that sends webhooks to the
// receivers of this suite, on 127.0.0.1.
var webhookEnv = []string{"SWITCHBOARD_WEBHOOK_ALLOW_PRIVATE=true"}

// deliveryDeadline bounds the waits for every event to arrive: generous,
// since the retry schedule waits minutes between late attempts and the
// machine is shared; the tests never assert a time.
const deliveryDeadline = 10 * time.Minute

// The modes of a hookReceiver.
const (
	answerOK   int32 = iota // 200 at once
	answer503               // 503 at once
	answerHold              // hold the request open until released or cut off
)

// hookRequest is one request a hookReceiver got.
type hookRequest struct {
	path string
	id   string // the webhook-id header: the delivery's id
	seq  int64  // the event's sequence number
	typ  string
	msg  int64 // the message id of a message event
	at   time.Time
	// code is what the receiver answered: 0 while held, and for a held
	// request whose sender went away before the answer.
	code int
}

// hookReceiver is a webhook receiver on a fixed address of 127.0.0.1 that
// can go down (refusing connections), answer 503, or hold requests open,
// and notes every request.
type hookReceiver struct {
	addr    string
	mode    atomic.Int32
	held    atomic.Int64 // requests being held right now
	release chan struct{}

	mu   sync.Mutex
	srv  *http.Server
	reqs []*hookRequest
}

// mustReceiver starts a receiver answering 200, stopped when the test ends.
func mustReceiver(t *testing.T) *hookReceiver {
	t.Helper()
	r := &hookReceiver{addr: "127.0.0.1:0", release: make(chan struct{})}
	r.mustUp(t)
	t.Cleanup(func() {
		r.down()
		r.releaseHeld()
	})
	return r
}

// url is where the receiver takes the subscription named path.
func (r *hookReceiver) url(path string) string { return "http://" + r.addr + "/" + path }

// mustUp listens on the receiver's address (a new one the first time) and
// serves.
func (r *hookReceiver) mustUp(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", r.addr)
	if err != nil {
		t.Fatalf("receiver listen on %s: %v", r.addr, err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(r.serve), ReadHeaderTimeout: 10 * time.Second}
	r.mu.Lock()
	r.addr, r.srv = ln.Addr().String(), srv
	r.mu.Unlock()
	go srv.Serve(ln)
}

// down closes the listener and every connection: connections are refused
// until mustUp.
func (r *hookReceiver) down() {
	r.mu.Lock()
	srv := r.srv
	r.srv = nil
	r.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

// releaseHeld answers every held request, and every later one in hold mode,
// with 200.
func (r *hookReceiver) releaseHeld() {
	r.mu.Lock()
	defer r.mu.Unlock()
	select {
	case <-r.release:
	default:
		close(r.release)
	}
}

func (r *hookReceiver) serve(w http.ResponseWriter, req *http.Request) {
	rec := &hookRequest{path: strings.TrimPrefix(req.URL.Path, "/"), id: req.Header.Get("webhook-id"), at: time.Now()}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return // cut off: nothing received
	}
	rec.seq, rec.typ, rec.msg = standardEvent(body)
	r.mu.Lock()
	r.reqs = append(r.reqs, rec)
	r.mu.Unlock()
	code := http.StatusOK
	switch r.mode.Load() {
	case answer503:
		code = http.StatusServiceUnavailable
	case answerHold:
		r.held.Add(1)
		select {
		case <-r.release:
		case <-req.Context().Done():
			code = 0 // the sender went away: no answer reached it
		}
		r.held.Add(-1)
	}
	r.mu.Lock()
	rec.code = code
	r.mu.Unlock()
	if code != 0 {
		w.WriteHeader(code)
	}
}

// requests returns a copy of every request so far, in arrival order.
func (r *hookReceiver) requests() []hookRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]hookRequest, len(r.reqs))
	for i, rec := range r.reqs {
		out[i] = *rec
	}
	return out
}

// answered returns how many requests the receiver answered with code.
func (r *hookReceiver) answered(code int) int {
	n := 0
	for _, rec := range r.requests() {
		if rec.code == code {
			n++
		}
	}
	return n
}

// mustFailedAttempts returns how many of the subscription's deliveries
// wait for a retry after a failed attempt.
func mustFailedAttempts(t *testing.T, st *store.Store, hook int64) int64 {
	t.Helper()
	var n int64
	if err := st.GORM().Model(&models.WebhookDelivery{}).Where("webhook_id = ? AND status = ? AND attempts > 0",
		hook, models.DeliveryQueued).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// accepted returns the message ids whose message.created event the
// subscription path got with a 200.
func (r *hookReceiver) accepted(path string) map[int64]bool {
	out := map[int64]bool{}
	for _, rec := range r.requests() {
		if rec.path == path && rec.code == http.StatusOK && rec.typ == string(models.EventMessageCreated) {
			out[rec.msg] = true
		}
	}
	return out
}

// standardEvent returns the sequence number, type and message id of a
// standard-format webhook body: the event itself ({seq, type, ...}) or an
// envelope {type, timestamp, data} around it.
func standardEvent(body []byte) (seq int64, typ string, msg int64) {
	type event struct {
		Seq       int64  `json:"seq"`
		Type      string `json:"type"`
		MessageID int64  `json:"message_id"`
	}
	var ev struct {
		event
		Data event `json:"data"`
	}
	if json.Unmarshal(body, &ev) != nil {
		return 0, "", 0
	}
	if ev.Seq == 0 {
		ev.Seq, ev.MessageID = ev.Data.Seq, ev.Data.MessageID
		if ev.Type == "" {
			ev.Type = ev.Data.Type
		}
	}
	return ev.Seq, ev.Type, ev.MessageID
}

// mustWebhook subscribes the default account to every event in the
// standard format at url with the admin CLI, and returns the
// subscription's id.
func mustWebhook(t *testing.T, bin, dbURL, url string) int64 {
	t.Helper()
	out := mustRunBinary(t, bin, dbURL, "webhook", "create", "--account", "1", "--url", url, "--format", "standard", "--json")
	var created struct {
		ID     int64  `json:"id"`
		Secret string `json:"secret"`
	}
	if err := json.Unmarshal([]byte(out), &created); err != nil || created.ID == 0 || created.Secret == "" {
		t.Fatalf("webhook create --json printed %q: %v", out, err)
	}
	return created.ID
}

// writeLoad posts HelpCrunch messages into chat from writers goroutines,
// one after another with a pause, until stop; it notes each acknowledged
// message and each failure.
type writeLoad struct {
	mu     sync.Mutex
	acked  map[int64]string // message id → text
	failed []string
	stop   atomic.Bool
	wg     sync.WaitGroup
}

func startWrites(s *server, token string, chat int64, writers int, pause time.Duration) *writeLoad {
	l := &writeLoad{acked: map[int64]string{}}
	for w := range writers {
		l.wg.Go(func() {
			for n := 0; !l.stop.Load(); n++ {
				text := fmt.Sprintf("hook %d-%d", w, n)
				r, err := s.send(request{method: http.MethodPost, path: "/v1/messages", token: token,
					body: mustMarshalNoFail(map[string]any{"chat": chat, "text": text, "type": "message"})})
				var m struct{ ID int64 }
				l.mu.Lock()
				switch {
				case err != nil:
					l.failed = append(l.failed, err.Error())
				case r.code != http.StatusOK || json.Unmarshal([]byte(r.body), &m) != nil || m.ID == 0:
					l.failed = append(l.failed, fmt.Sprintf("%d %.200s", r.code, r.body))
				default:
					l.acked[m.ID] = text
				}
				l.mu.Unlock()
				time.Sleep(pause)
			}
		})
	}
	return l
}

// end stops the writers and returns what they did.
func (l *writeLoad) end() (acked map[int64]string, failed []string) {
	l.stop.Store(true)
	l.wg.Wait()
	return l.acked, l.failed
}

// mustPostN posts n messages into chat one after another and returns their
// ids.
func mustPostN(t *testing.T, s *server, token string, chat int64, n int, prefix string) []int64 {
	t.Helper()
	var ids []int64
	for i := range n {
		var m struct{ ID int64 }
		s.mustPost(t, "/v1/messages", token, map[string]any{"chat": chat, "text": fmt.Sprintf("%s %d", prefix, i), "type": "message"}, &m)
		ids = append(ids, m.ID)
	}
	return ids
}

// waitDelivered waits until the subscription path got every message of
// msgs with a 200.
func waitDelivered(t *testing.T, r *hookReceiver, path string, msgs []int64) {
	t.Helper()
	began := time.Now()
	waitFor(t, fmt.Sprintf("the %d message events of subscription %s to be accepted", len(msgs), path), deliveryDeadline, func() bool {
		got := r.accepted(path)
		return !slices.ContainsFunc(msgs, func(m int64) bool { return !got[m] })
	})
	t.Logf("subscription %s: all %d message events accepted %v after the wait began", path, len(msgs), time.Since(began).Round(time.Millisecond))
}

// checkDeliveries checks what the subscription path received: a sequence
// number and a type on every request, one delivery id for each event and
// one event for each delivery id (a duplicate carries the same id), and,
// with ordered, each event accepted for the first time after every event
// before it in the sequence. It returns the number of requests, of events
// accepted and of repeated deliveries of an event.
func checkDeliveries(t *testing.T, reqs []hookRequest, path string, ordered bool) (requests, events, repeats int) {
	t.Helper()
	idOf := map[int64]string{}
	seqOf := map[string]int64{}
	acceptedSeqs := map[int64]bool{}
	var last int64
	for _, rec := range reqs {
		if rec.path != path {
			continue
		}
		requests++
		if rec.seq == 0 || rec.typ == "" || rec.id == "" {
			t.Errorf("%s: a request without a webhook-id, a seq or a type: %+v", path, rec)
			continue
		}
		if id, ok := idOf[rec.seq]; ok && id != rec.id {
			t.Errorf("%s: event %d came with two delivery ids, %s and %s", path, rec.seq, id, rec.id)
		}
		if seq, ok := seqOf[rec.id]; ok && seq != rec.seq {
			t.Errorf("%s: delivery id %s came with two events, %d and %d", path, rec.id, seq, rec.seq)
		}
		idOf[rec.seq], seqOf[rec.id] = rec.id, rec.seq
		if seen := acceptedSeqs[rec.seq]; seen || rec.code != 0 && rec.code != http.StatusOK {
			if seen {
				repeats++
			}
			continue
		}
		if rec.code == http.StatusOK {
			if ordered && rec.seq < last {
				t.Errorf("%s: event %d accepted after event %d", path, rec.seq, last)
			}
			acceptedSeqs[rec.seq] = true
			last = max(last, rec.seq)
		}
	}
	return requests, len(acceptedSeqs), repeats
}

// mustAllSent checks the store's side of a subscription after its events
// arrived: once none of its deliveries is waiting (the last answer may be
// recorded a moment after the receiver gave it), every delivery it queued
// is sent, none failed, and each one's event was accepted by the receiver
// under the delivery's id.
func mustAllSent(t *testing.T, st *store.Store, hook int64, r *hookReceiver, path string) {
	t.Helper()
	waitFor(t, fmt.Sprintf("every delivery of subscription %s to be recorded", path), deliveryDeadline, func() bool {
		var pending int64
		if err := st.GORM().Model(&models.WebhookDelivery{}).Where("webhook_id = ? AND status IN ?", hook,
			[]models.DeliveryStatus{models.DeliveryQueued, models.DeliverySending}).Count(&pending).Error; err != nil {
			t.Fatal(err)
		}
		return pending == 0
	})
	reqs := r.requests()
	idOf := map[int64]string{}
	for _, rec := range reqs {
		if rec.path == path && rec.code == http.StatusOK {
			idOf[rec.seq] = rec.id
		}
	}
	var rows []models.WebhookDelivery
	if err := st.GORM().Where("webhook_id = ?", hook).Order("event_seq").Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	bad := 0
	for _, d := range rows {
		if d.Status != models.DeliverySent || idOf[d.EventSeq] != d.Reference {
			bad++
			if bad <= 10 {
				t.Errorf("%s: delivery %d of event %d is %s after %d attempts (last error %q); the receiver accepted it under %q, the delivery's id is %q",
					path, d.ID, d.EventSeq, d.Status, d.Attempts, d.LastError, idOf[d.EventSeq], d.Reference)
			}
		}
	}
	if len(rows) == 0 {
		t.Errorf("%s: no deliveries queued", path)
	}
	t.Logf("%s: %d deliveries queued, %d not sent or not accepted under their id", path, len(rows), bad)
}

// TestFaults_WebhookReceiverDownUnderLoad takes a subscription's receiver
// down for a minute while clients write steadily: first refusing
// connections, then answering 503. The writes never notice; once the
// receiver is back every event arrives, none lost, a repeated one only
// under the same delivery id, each accepted after every event before it.
func TestFaults_WebhookReceiverDownUnderLoad(t *testing.T) {
	const down = time.Minute
	bin := mustBuild(t)
	dbURL := mustPostgresURL(t)
	s := mustStart(t, bin, dbURL, append([]string{noLimits}, webhookEnv...)...)
	_, _, token := binarytest.MustCredentials(t, s.stdout)
	mustUnlimited(t, bin, dbURL)
	rcv := mustReceiver(t)
	hook := mustWebhook(t, bin, dbURL, rcv.url("hook"))
	chat := s.mustChat(t, token, "visitor@example.com")

	load := startWrites(s, token, chat, 3, 50*time.Millisecond)
	waitFor(t, "the first events to be accepted", time.Minute, func() bool { return len(rcv.accepted("hook")) >= 20 })

	// The phases follow the head delivery's attempts, not the clock alone:
	// the retries wait 5 s, 30 s, then 2 min and 10 min, each ±20 %, so a
	// fault timed by the clock could fall between two attempts, or push the
	// head past its fourth attempt to a wait of 10 minutes. Refusing lasts
	// until an attempt has been refused; 503 until the receiver has been
	// down for the fault's length and has answered a retry 503 (the second
	// or third attempt, 5 s and about 35 s in); the fourth, about 2.5 min
	// in, finds it back.
	st := storetest.MustOpenURL(t, dbURL)
	downAt := time.Now()
	rcv.down()
	t.Logf("receiver down (refusing connections) after %d events accepted", len(rcv.accepted("hook")))
	waitFor(t, "an attempt to fail while the receiver refuses connections", deliveryDeadline, func() bool {
		return mustFailedAttempts(t, st, hook) > 0
	})
	rcv.mode.Store(answer503)
	rcv.mustUp(t)
	t.Logf("receiver answering 503 after %v", time.Since(downAt).Round(time.Millisecond))
	waitFor(t, "a retry to be answered 503", deliveryDeadline, func() bool { return rcv.answered(http.StatusServiceUnavailable) > 0 })
	time.Sleep(time.Until(downAt.Add(down))) // the rest of the fault's length, not a synchronization
	rcv.mode.Store(answerOK)
	back := time.Now()
	t.Logf("receiver answering 200 after %v", back.Sub(downAt).Round(time.Millisecond))
	// The writers go on a little after the receiver is back, then stop.
	time.Sleep(5 * time.Second)
	acked, failed := load.end()
	if len(failed) > 0 {
		t.Errorf("%d writes failed while the receiver was down, first: %s", len(failed), failed[0])
	}
	msgs := make([]int64, 0, len(acked))
	for id := range acked {
		msgs = append(msgs, id)
	}
	slices.Sort(msgs)
	t.Logf("%d writes acknowledged", len(msgs))
	waitDelivered(t, rcv, "hook", msgs)
	t.Logf("every event accepted %v after the receiver was back", time.Since(back).Round(time.Millisecond))

	reqs := rcv.requests()
	n503 := rcv.answered(http.StatusServiceUnavailable)
	requests, events, repeats := checkDeliveries(t, reqs, "hook", true)
	t.Logf("%d requests (%d answered 503), %d events accepted, %d repeated deliveries", requests, n503, events, repeats)
	mustAllSent(t, st, hook, rcv, "hook")
	// The refused connections leave no trace at the receiver: the
	// deliveries' attempts show the retries.
	var most int
	if err := st.GORM().Model(&models.WebhookDelivery{}).Where("webhook_id = ?", hook).
		Select("COALESCE(MAX(attempts), 0)").Scan(&most).Error; err != nil {
		t.Fatal(err)
	}
	t.Logf("the most attempts of one delivery: %d", most)
	if most < 3 {
		t.Errorf("the most attempts of one delivery = %d, want at least 3 (refused, 503, accepted)", most)
	}
	s.mustNoPanic(t)
}

// TestFaults_WebhookSIGKILLMidDelivery kills the server with SIGKILL while
// two subscriptions' receivers hold its requests open, restarts it on the
// same database, and finds every event delivered: the ones cut off by the
// kill again, under the same delivery ids.
func TestFaults_WebhookSIGKILLMidDelivery(t *testing.T) {
	bin := mustBuild(t)
	dbURL := mustPostgresURL(t)
	// A short lease (it must outlast the 10 s send timeout): the
	// deliveries the kill cut off go again that long after their claim,
	// instead of the default minute.
	env := append([]string{noLimits, "SWITCHBOARD_WEBHOOK_LEASE=15s"}, webhookEnv...)
	s := mustStart(t, bin, dbURL, env...)
	_, _, token := binarytest.MustCredentials(t, s.stdout)
	mustUnlimited(t, bin, dbURL)
	rcv := mustReceiver(t)
	rcv.mode.Store(answerHold)
	paths := []string{"a", "b"}
	hooks := map[string]int64{}
	for _, p := range paths {
		hooks[p] = mustWebhook(t, bin, dbURL, rcv.url(p))
	}
	chat := s.mustChat(t, token, "visitor@example.com")
	msgs := mustPostN(t, s, token, chat, 30, "before the kill")

	waitFor(t, "both subscriptions' deliveries to be in flight", time.Minute, func() bool { return rcv.held.Load() >= int64(len(paths)) })
	s.kill(t)
	waitFor(t, "the held requests to be cut off", time.Minute, func() bool { return rcv.held.Load() == 0 })
	cut := map[string]hookRequest{} // delivery id → the request the kill cut off
	for _, rec := range rcv.requests() {
		if rec.code == 0 {
			cut[rec.id] = rec
		}
	}
	var held []string
	for id, c := range cut {
		held = append(held, fmt.Sprintf("%s: event %d (%s) as %s", c.path, c.seq, c.typ, id))
	}
	slices.Sort(held)
	t.Logf("SIGKILL with %d requests held open: %s", len(cut), strings.Join(held, "; "))
	if len(cut) < len(paths) {
		t.Fatalf("%d requests were cut off by the kill, want at least %d", len(cut), len(paths))
	}

	rcv.mode.Store(answerOK)
	s2 := mustStart(t, bin, dbURL, env...)
	msgs = append(msgs, mustPostN(t, s2, token, chat, 10, "after the restart")...)
	for _, p := range paths {
		waitDelivered(t, rcv, p, msgs)
	}

	reqs := rcv.requests()
	for id, c := range cut {
		if !slices.ContainsFunc(reqs, func(rec hookRequest) bool { return rec.id == id && rec.code == http.StatusOK }) {
			t.Errorf("the delivery %s of event %d to %s, cut off by the kill, was not accepted after the restart under the same id", id, c.seq, c.path)
		}
	}
	st := storetest.MustOpenURL(t, dbURL)
	for _, p := range paths {
		requests, events, repeats := checkDeliveries(t, reqs, p, false)
		t.Logf("%s: %d requests, %d events accepted, %d repeated deliveries", p, requests, events, repeats)
		mustAllSent(t, st, hooks[p], rcv, p)
	}
	s2.mustNoPanic(t)
}

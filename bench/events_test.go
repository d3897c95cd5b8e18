//go:build bench

package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
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

// The events run (issue 20): HelpCrunch POST /v1/messages in a closed loop
// with and without webhook subscriptions and live streams, the time from a
// write's commit to the first byte of its event at a receiver and at a
// stream client, and the server's memory with many streams open.
const (
	// eventsName is what -only matches to run the events section alone.
	eventsName     = "events: webhooks and live streams"
	eventsSection  = "events"
	eventsConns    = 32   // closed-loop writers
	eventsHooks    = 5    // webhook subscriptions of the loaded sides
	eventsStreams  = 100  // open streams of the loaded sides
	eventsProbes   = 5    // streams whose events are timed (the others only read)
	eventsRSSConns = 1000 // streams of the memory run
	eventsRatio    = 0.90 // the loaded side's req/s over the bare side's
	eventsMaxRSS   = 200 << 20
	// drainLimit bounds the wait, after a loaded slice, for every receiver
	// and probe to get the slice's last event; a side that does not drain
	// in time is reported so, and its subscriptions are deleted anyway.
	drainLimit = 3 * time.Minute
)

// latencyRates are the constant rates of the commit-to-first-byte runs:
// inside what the server sustains, so that the figure is the path of one
// event rather than a queue's length.
var latencyRates = []int{10, 50}

var (
	perfFlag    = flag.String("events-perf", "", "directory to write a perf profile (perf record -g) of serve into for each loaded slice of the events run, as SIDE-ROUND.data (default: none)")
	perfAllFlag = flag.Bool("events-perf-all", false, "with -events-perf: profile every process on the machine (perf record -a), PostgreSQL's and the benchmark's too, not serve alone")
)

// eventsScale is the length of the events run at each scale: per side, in
// rounds, and the commit-to-first-byte run.
var eventsScale = map[string]struct {
	perSide time.Duration
	rounds  int
	latency time.Duration
}{
	"full":  {60 * time.Second, 6, 30 * time.Second},
	"small": {20 * time.Second, 4, 10 * time.Second},
}

// wantEvents reports whether the run includes the events section: a full
// run does, a partial one when -only matches its name.
func wantEvents(only *regexp.Regexp) bool {
	return only == nil || only.MatchString(eventsName)
}

// eventsSide is one configuration of the closed loop.
type eventsSide struct {
	name           string
	hooks, streams int

	requests, errors int
	firstErr         string
	elapsed          time.Duration
	latencies        []time.Duration
	// delivered counts the message events the receivers got within the
	// slices, backlog the ones still owed at each slice's end; drain is the
	// longest wait for a slice's last event after its end.
	delivered, backlog int
	drain              time.Duration
	undrained          int // slices whose last event had not arrived within drainLimit
	// streamEvents counts the events every stream of the side read.
	streamEvents int64
	// hookLat and streamLat are commit-to-first-byte times within the slices.
	hookLat, streamLat []time.Duration
	// serverCPU and benchCPU are the CPU time serve and the benchmark's
	// own process used within the slices, restCPU the machine's busy time
	// besides them (PostgreSQL's, mostly).
	serverCPU, benchCPU, restCPU time.Duration
}

// cpuPerK returns d per 1,000 acknowledged writes of the side.
func (s *eventsSide) cpuPerK(d time.Duration) time.Duration {
	if s.requests == s.errors {
		return 0
	}
	return d * 1000 / time.Duration(s.requests-s.errors)
}

func (s *eventsSide) throughput() float64 {
	if s.elapsed == 0 {
		return 0
	}
	return float64(s.requests-s.errors) / s.elapsed.Seconds()
}

// eventsReport is the events section of results.md.
type eventsReport struct {
	scale   string
	command string
	perSide time.Duration
	rounds  int
	sides   []*eventsSide
	// latency are the commit-to-first-byte runs, one a rate of latencyRates.
	latency    []latencyRun
	latencyDur time.Duration
	// rssBefore is serve's VmRSS before the memory run's streams open,
	// rssWith the largest sample while they are all open and reading.
	rssBefore, rssWith, peak int64
	rssStreams               int
	load, steal              string
	flags                    []string
}

// latencyRun is a commit-to-first-byte run at a constant rate.
type latencyRun struct {
	rate               int
	posts              int
	hookLat, streamLat []time.Duration
}

// receiver is a local webhook receiver that answers 200 and notes when the
// first request of each message's event arrived.
type receiver struct {
	srv   *httptest.Server
	mu    sync.Mutex
	first map[int64]time.Time // message id → first arrival
	got   atomic.Int64        // requests
}

func newReceiver() *receiver {
	r := &receiver{first: map[int64]time.Time{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		at := time.Now() // the headers have arrived: the request's first bytes
		body, _ := io.ReadAll(req.Body)
		r.got.Add(1)
		if typ, msg := eventOf(body); typ == string(models.EventMessageCreated) && msg != 0 {
			r.mu.Lock()
			if _, ok := r.first[msg]; !ok {
				r.first[msg] = at
			}
			r.mu.Unlock()
		}
		w.WriteHeader(http.StatusOK)
	}))
	return r
}

func (r *receiver) arrival(msg int64) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	at, ok := r.first[msg]
	return at, ok
}

// eventOf returns the type and message id of an event as the live stream
// and the standard webhook format show it: the event itself, or a Standard
// Webhooks envelope {type, timestamp, data} around it.
func eventOf(b []byte) (typ string, messageID int64) {
	var ev struct {
		Type      string `json:"type"`
		MessageID int64  `json:"message_id"`
		Data      struct {
			Type      string `json:"type"`
			MessageID int64  `json:"message_id"`
		} `json:"data"`
	}
	if json.Unmarshal(b, &ev) != nil {
		return "", 0
	}
	if ev.MessageID != 0 {
		return ev.Type, ev.MessageID
	}
	if ev.Type == "" {
		ev.Type = ev.Data.Type
	}
	return ev.Type, ev.Data.MessageID
}

// stream is one open live stream. A probe notes when each message's event
// arrived; every stream counts its events and remembers the last message id
// it saw.
type stream struct {
	probe  bool
	mu     sync.Mutex
	first  map[int64]time.Time
	events atomic.Int64
	last   atomic.Int64 // the largest message id seen
}

func (s *stream) arrival(msg int64) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	at, ok := s.first[msg]
	return at, ok
}

// streams is a set of open streams of one side.
type streams struct {
	list   []*stream
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// openStreams opens n streams of GET /switchboard/v1/events with the
// token, the first probes of them timing their events, and returns once
// every one has its response headers.
func openStreams(t *testing.T, client *http.Client, base, token string, n, probes int) *streams {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ss := &streams{cancel: cancel}
	errs := make(chan error, n)
	var opened sync.WaitGroup
	for i := range n {
		s := &stream{probe: i < probes, first: map[int64]time.Time{}}
		ss.list = append(ss.list, s)
		opened.Add(1)
		ss.wg.Go(func() {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/switchboard/v1/events", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Accept", "text/event-stream")
			res, err := client.Do(req)
			if err != nil {
				errs <- err
				opened.Done()
				return
			}
			defer res.Body.Close()
			if res.StatusCode != http.StatusOK {
				b, _ := io.ReadAll(io.LimitReader(res.Body, 500))
				errs <- fmt.Errorf("stream %d: %d %s", i, res.StatusCode, b)
				opened.Done()
				return
			}
			opened.Done()
			s.read(res.Body)
		})
	}
	opened.Wait()
	close(errs)
	for err := range errs {
		cancel()
		ss.wg.Wait()
		t.Fatalf("open %d streams: %v", n, err)
	}
	return ss
}

var (
	messageIDField = []byte(`"message_id":`)
	dataLine       = []byte("\ndata: ")
	frameEnd       = []byte("\n\n")
)

// read reads the stream's events until it ends: a probe line by line,
// timing each message's event; the others as cheaply as they can, since
// they share the cores with the server they measure.
func (s *stream) read(r io.Reader) {
	if s.probe {
		s.readTimed(r)
		return
	}
	// Whole frames at a time: every frame has one "\ndata: " line. A frame
	// cut by the end of a read waits for the rest.
	buf := make([]byte, 0, 128<<10)
	for {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, cap(buf))
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if end := bytes.LastIndex(buf, frameEnd); end >= 0 {
			frames := buf[:end+len(frameEnd)]
			s.events.Add(int64(bytes.Count(frames, dataLine)))
			// Every message id, not the last: messages are numbered as they
			// are written and their events as they commit, so the newest
			// message need not be in the last event.
			newest := s.last.Load()
			for rest := frames; ; {
				i := bytes.Index(rest, messageIDField)
				if i < 0 {
					break
				}
				rest = rest[i+len(messageIDField):]
				newest = max(newest, leadingInt(rest))
			}
			s.last.Store(newest)
			buf = buf[:copy(buf, buf[len(frames):])]
		}
		if err != nil {
			return
		}
	}
}

// leadingInt returns the whole number b starts with (0 for none).
func leadingInt(b []byte) int64 {
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int64(c-'0')
	}
	return n
}

// readTimed is read for a probe: it notes when each message's event
// arrived.
func (s *stream) readTimed(r io.Reader) {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := br.ReadSlice('\n')
		if err != nil && err != bufio.ErrBufferFull {
			return
		}
		data, ok := bytes.CutPrefix(line, []byte("data:"))
		if !ok {
			continue
		}
		at := time.Now()
		s.events.Add(1)
		if !bytes.Contains(data, []byte(models.EventMessageCreated)) {
			continue
		}
		if typ, msg := eventOf(bytes.TrimSpace(data)); typ == string(models.EventMessageCreated) && msg != 0 {
			s.mu.Lock()
			if _, ok := s.first[msg]; !ok {
				s.first[msg] = at
			}
			s.mu.Unlock()
			if msg > s.last.Load() {
				s.last.Store(msg)
			}
		}
	}
}

func (ss *streams) close() {
	ss.cancel()
	ss.wg.Wait()
}

func (ss *streams) events() int64 {
	var n int64
	for _, s := range ss.list {
		n += s.events.Load()
	}
	return n
}

// commit is one acknowledged write: its message and when its answer came.
type commit struct {
	msg int64
	at  time.Time
}

// writer posts HelpCrunch messages into the account's open chats.
type writer struct {
	client *http.Client
	base   string
	token  string
	agent  int64
	cases  []int64
	n      atomic.Int64
}

// post sends the next message and returns its id, how long the answer took
// and when it came.
func (w *writer) post() (commit, time.Duration, error) {
	i := w.n.Add(1)
	body := fmt.Appendf(nil, `{"chat":%d,"text":"event %d","agent":%d,"type":"message"}`, w.cases[int(i)%len(w.cases)], i, w.agent)
	req, _ := http.NewRequest(http.MethodPost, w.base+"/v1/messages", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+w.token)
	req.Header.Set("Content-Type", "application/json")
	began := time.Now()
	res, err := w.client.Do(req)
	if err != nil {
		return commit{}, time.Since(began), err
	}
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	at := time.Now()
	if err != nil {
		return commit{}, at.Sub(began), err
	}
	var m struct{ ID int64 }
	if res.StatusCode != http.StatusOK || json.Unmarshal(b, &m) != nil || m.ID == 0 {
		return commit{}, at.Sub(began), fmt.Errorf("%d %.200s", res.StatusCode, b)
	}
	return commit{msg: m.ID, at: at}, at.Sub(began), nil
}

// closedLoop runs conns writers, each posting one message after another,
// for d, and adds what they did to side; it returns the acknowledged
// writes.
func (w *writer) closedLoop(side *eventsSide, conns int, d time.Duration) []commit {
	var mu sync.Mutex
	var commits []commit
	var wg sync.WaitGroup
	began := time.Now()
	stop := began.Add(d)
	for range conns {
		wg.Go(func() {
			var mine []commit
			var lats []time.Duration
			var errs int
			var first string
			for time.Now().Before(stop) {
				c, lat, err := w.post()
				lats = append(lats, lat)
				if err != nil {
					errs++
					if first == "" {
						first = err.Error()
					}
					continue
				}
				mine = append(mine, c)
			}
			mu.Lock()
			defer mu.Unlock()
			commits = append(commits, mine...)
			side.latencies = append(side.latencies, lats...)
			side.requests += len(lats)
			side.errors += errs
			if side.firstErr == "" {
				side.firstErr = first
			}
		})
	}
	wg.Wait()
	side.elapsed += time.Since(began)
	return commits
}

// openLoop posts at rate a second for d, each post on its own goroutine,
// and returns the acknowledged writes and the errors.
func (w *writer) openLoop(rate int, d time.Duration) ([]commit, int, string) {
	var mu sync.Mutex
	var commits []commit
	var errs int
	var first string
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	for stop := time.Now().Add(d); time.Now().Before(stop); {
		<-tick.C
		wg.Go(func() {
			c, _, err := w.post()
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs++
				if first == "" {
					first = err.Error()
				}
				return
			}
			commits = append(commits, c)
		})
	}
	wg.Wait()
	return commits, errs, first
}

// lastMessage returns the largest message id of commits.
func lastMessage(commits []commit) int64 {
	var last int64
	for _, c := range commits {
		last = max(last, c.msg)
	}
	return last
}

// subscriptions creates n standard-format webhook subscriptions of the
// account, one to each receiver, and returns their ids.
func subscriptions(t *testing.T, st *store.Store, acct int64, rs []*receiver) []int64 {
	t.Helper()
	var ids []int64
	for _, r := range rs {
		key := make([]byte, 24)
		_, _ = rand.Read(key)
		w, err := st.CreateWebhook(context.Background(), acct, store.NewWebhook{URL: r.srv.URL + "/hook",
			Format: models.FormatStandard, Secret: "whsec_" + base64.StdEncoding.EncodeToString(key)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, w.ID)
	}
	return ids
}

// latencies returns, for every commit, the time from it to the first
// arrival of its event at each of the places that got it, and how many
// commit-place pairs never arrived.
func latencies(commits []commit, places []func(int64) (time.Time, bool)) (out []time.Duration, missing int) {
	for _, p := range places {
		for _, c := range commits {
			if at, ok := p(c.msg); ok {
				out = append(out, at.Sub(c.at))
			} else {
				missing++
			}
		}
	}
	return out, missing
}

// runEvents measures the events section on a fresh PostgreSQL database of
// its own, so that no other server's workers deliver its webhooks.
func runEvents(t *testing.T, bin string, sc scale) *eventsReport {
	t.Helper()
	es := eventsScale[sc.name]
	if *durFlag > 0 {
		es.perSide = *durFlag
	}
	r := &eventsReport{scale: sc.name, perSide: es.perSide, rounds: es.rounds, latencyDur: es.latency, rssStreams: eventsRSSConns,
		flags: []string{"--ip-rate-limit", "0", "--webhook-allow-private", "--max-streams", fmt.Sprint(2 * eventsRSSConns)}}
	loadBefore, cpuBefore := loadavg(), cpuTimes()
	ctx := context.Background()
	dbURL := storetest.MustURL(t, store.Postgres)
	srv := mustStart(t, bin, dbURL, r.flags...)
	email, _, token := binarytest.MustCredentials(t, &srv.stdout)
	t.Logf("events: server pid %d", srv.cmd.Process.Pid)
	st := storetest.MustOpenURL(t, dbURL)
	admin, err := st.AgentByEmail(ctx, email)
	if err != nil {
		t.Fatal(err)
	}
	acct := admin.AccountID
	many, daily := 100_000_000, 1_000_000_000
	if _, err := st.UpdateAccount(ctx, acct, store.AccountUpdate{RateLimit: &many, DailyRateLimit: &daily}); err != nil {
		t.Fatal(err)
	}
	contact := storetest.MustContact(t, st, acct, "Writer", "writer@example.com", "")
	var cases []int64
	for range openCases {
		c, err := st.CreateCase(ctx, acct, store.NewCase{ContactID: contact.ID})
		if err != nil {
			t.Fatal(err)
		}
		cases = append(cases, c.ID)
	}
	base := "http://" + srv.addr
	tr := &http.Transport{MaxIdleConnsPerHost: eventsConns, MaxConnsPerHost: eventsConns}
	defer tr.CloseIdleConnections()
	w := &writer{client: &http.Client{Transport: tr, Timeout: 30 * time.Second}, base: base, token: token, agent: admin.ID, cases: cases}
	// Streams have a transport of their own: they hold their connections.
	str := &http.Transport{MaxIdleConnsPerHost: 10, DisableCompression: true}
	defer str.CloseIdleConnections()
	sclient := &http.Client{Transport: str}
	if _, _, err := w.post(); err != nil {
		t.Fatalf("a first post: %v", err)
	}

	var receivers []*receiver
	for range eventsHooks {
		rc := newReceiver()
		defer rc.srv.Close()
		receivers = append(receivers, rc)
	}

	// loaded sets up a side's subscriptions and streams, and returns the
	// places whose arrivals are timed (receivers first, then probes) and a
	// teardown that waits (at most drainLimit) for every receiver and stream
	// to get the message last, then deletes the subscriptions and closes the
	// streams (a subscription is disabled); teardown returns how long it waited, whether everything
	// arrived and how many events the streams read.
	loaded := func(hooks, nstreams int) (places []func(int64) (time.Time, bool), teardown func(last int64) (time.Duration, bool, int64)) {
		ids := subscriptions(t, st, acct, receivers[:hooks])
		var ss *streams
		if nstreams > 0 {
			ss = openStreams(t, sclient, base, token, nstreams, eventsProbes)
		}
		for _, rc := range receivers[:hooks] {
			places = append(places, rc.arrival)
		}
		if ss != nil {
			for _, s := range ss.list[:eventsProbes] {
				places = append(places, s.arrival)
			}
		}
		teardown = func(last int64) (time.Duration, bool, int64) {
			began := time.Now()
			done := func() bool {
				for _, rc := range receivers[:hooks] {
					if _, ok := rc.arrival(last); !ok {
						return false
					}
				}
				if ss != nil {
					for _, s := range ss.list {
						if s.last.Load() < last {
							return false
						}
					}
				}
				return true
			}
			drained := false
			for deadline := began.Add(drainLimit); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
				if drained = done(); drained {
					break
				}
			}
			waited := time.Since(began)
			for _, id := range ids {
				// Disabled, not deleted: deleting would delete its
				// thousands of sent deliveries too, and the vacuum after
				// that would fall on whichever side runs next.
				if _, err := st.DisableWebhook(ctx, acct, id, "benchmark side ended"); err != nil {
					t.Fatal(err)
				}
			}
			var n int64
			if ss != nil {
				n = ss.events()
				ss.close()
			}
			return waited, drained, n
		}
		return places, teardown
	}

	r.sides = []*eventsSide{
		{name: "no subscribers"},
		{name: fmt.Sprintf("%d webhooks + %d streams", eventsHooks, eventsStreams), hooks: eventsHooks, streams: eventsStreams},
		{name: fmt.Sprintf("%d webhooks only", eventsHooks), hooks: eventsHooks},
		{name: fmt.Sprintf("%d streams only", eventsStreams), streams: eventsStreams},
	}
	slice := es.perSide / time.Duration(es.rounds)
	for round := range es.rounds {
		// Each round starts with another side, so that none always follows
		// the same one.
		for k := range r.sides {
			side := r.sides[(round+k)%len(r.sides)]
			places, teardown := loaded(side.hooks, side.streams)
			stopPerf := startPerf(t, srv.cmd.Process.Pid, fmt.Sprintf("%d-%d", (round+k)%len(r.sides), round+1))
			srvBefore, benchBefore, busyBefore := procCPU(t, srv.cmd.Process.Pid), procCPU(t, os.Getpid()), busyCPU()
			commits := w.closedLoop(side, eventsConns, slice)
			end := time.Now()
			stopPerf()
			srvUsed, benchUsed := procCPU(t, srv.cmd.Process.Pid)-srvBefore, procCPU(t, os.Getpid())-benchBefore
			side.serverCPU += srvUsed
			side.benchCPU += benchUsed
			side.restCPU += max(0, busyCPU()-busyBefore-srvUsed-benchUsed)
			if side.hooks > 0 || side.streams > 0 {
				// What arrived by the end of the slice, and the backlog then.
				for _, rc := range receivers[:side.hooks] {
					for _, c := range commits {
						if at, ok := rc.arrival(c.msg); ok && !at.After(end) {
							side.delivered++
						} else {
							side.backlog++
						}
					}
				}
				waited, drained, n := teardown(lastMessage(commits))
				side.drain = max(side.drain, waited)
				if !drained {
					side.undrained++
				}
				side.streamEvents += n
				hl, _ := latencies(commits, places[:side.hooks])
				sl, _ := latencies(commits, places[side.hooks:])
				side.hookLat = append(side.hookLat, hl...)
				side.streamLat = append(side.streamLat, sl...)
			} else {
				teardown(0) // nothing to wait for or delete
			}
			t.Logf("events round %d %-25s %6.1f req/s (%d requests so far), drain %s", round+1, side.name,
				float64(len(commits))/slice.Seconds(), side.requests, side.drain.Round(time.Millisecond))
		}
	}
	for _, s := range r.sides {
		t.Logf("events %-25s %.1f req/s, p50 %s p99 %s, errors %d/%d; webhooks delivered in the slices %d, owed at their ends %d, longest drain %s; stream events %d; CPU per 1,000 writes: serve %s, benchmark %s, rest %s",
			s.name, s.throughput(), ms(pct(s.latencies, 50)), ms(pct(s.latencies, 99)), s.errors, s.requests, s.delivered, s.backlog, s.drain.Round(time.Millisecond), s.streamEvents,
			ms(s.cpuPerK(s.serverCPU)), ms(s.cpuPerK(s.benchCPU)), ms(s.cpuPerK(s.restCPU)))
	}

	// Commit to first byte at a constant rate well below the ceiling.
	for _, rate := range latencyRates {
		places, teardown := loaded(eventsHooks, eventsStreams)
		commits, errs, first := w.openLoop(rate, es.latency)
		if errs > 0 {
			t.Errorf("events latency run at %d/s: %d errors, first %s", rate, errs, first)
		}
		if _, drained, _ := teardown(lastMessage(commits)); !drained {
			t.Logf("events latency run at %d/s: not every event arrived within %s", rate, drainLimit)
		}
		lr := latencyRun{rate: rate, posts: len(commits)}
		lr.hookLat, _ = latencies(commits, places[:eventsHooks])
		lr.streamLat, _ = latencies(commits, places[eventsHooks:])
		r.latency = append(r.latency, lr)
		t.Logf("events commit→first byte at %d/s: webhook p50 %s p99 %s (%d), stream p50 %s p99 %s (%d)", rate,
			ms(pct(lr.hookLat, 50)), ms(pct(lr.hookLat, 99)), len(lr.hookLat), ms(pct(lr.streamLat, 50)), ms(pct(lr.streamLat, 99)), len(lr.streamLat))
	}

	// Memory: serve's RSS before and with eventsRSSConns streams, each
	// having read a few events.
	r.rssBefore, _ = srv.memory(t)
	mtr := &http.Transport{MaxIdleConnsPerHost: 10, DisableCompression: true}
	defer mtr.CloseIdleConnections()
	ss := openStreams(t, &http.Client{Transport: mtr}, base, token, eventsRSSConns, 0)
	sample := func() {
		rss, _ := srv.memory(t)
		r.rssWith = max(r.rssWith, rss)
	}
	sample()
	var last int64
	for range 20 {
		c, _, err := w.post()
		if err != nil {
			t.Fatalf("post with %d streams: %v", eventsRSSConns, err)
		}
		last = c.msg
		sample()
	}
	deadline := time.Now().Add(drainLimit)
	for slices.ContainsFunc(ss.list, func(s *stream) bool { return s.last.Load() < last }) {
		if time.Now().After(deadline) {
			t.Errorf("%d streams: not every stream got the last event within %s", eventsRSSConns, drainLimit)
			break
		}
		sample()
		time.Sleep(20 * time.Millisecond)
	}
	sample()
	_, r.peak = srv.memory(t)
	ss.close()
	t.Logf("events: RSS %.1f MB before, %.1f MB with %d streams; peak %.1f MB", mb(r.rssBefore), mb(r.rssWith), eventsRSSConns, mb(r.peak))

	r.load = fmt.Sprintf("%s before, %s after", loadBefore, loadavg())
	r.steal = steal(cpuBefore, cpuTimes())
	r.command = "make bench BENCH_SCALE=" + sc.name
	if a := benchArgs(); a != "" {
		r.command += " BENCH_ARGS='" + a + "'"
	}
	srv.stop(t)
	return r
}

// startPerf starts perf record on the process pid (with -events-perf-all,
// on every process) when -events-perf names a directory, writing NAME.data
// there; the returned func stops it and waits for the file.
func startPerf(t *testing.T, pid int, name string) (stop func()) {
	t.Helper()
	if *perfFlag == "" {
		return func() {}
	}
	who := []string{"-p", fmt.Sprint(pid)}
	if *perfAllFlag {
		who = []string{"-a"}
	}
	args := append([]string{"record", "-F", "499", "-g"}, who...)
	cmd := exec.Command("perf", append(args, "-o", filepath.Join(*perfFlag, name+".data"))...)
	if err := cmd.Start(); err != nil {
		t.Fatalf("perf record: %v", err)
	}
	return func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	}
}

// busyCPU returns the time the machine's cores were busy (all of
// /proc/stat's first eight counters but idle, iowait and steal), 0 if
// unreadable.
func busyCPU() time.Duration {
	c := cpuTimes()
	if len(c) < 8 {
		return 0
	}
	busy := c[0] + c[1] + c[2] + c[5] + c[6]
	return time.Duration(busy) * 10 * time.Millisecond
}

// procCPU returns the CPU time (user and system) the process pid has used,
// from /proc/PID/stat, in clock ticks of 10 ms (USER_HZ is 100 on Linux).
func procCPU(t *testing.T, pid int) time.Duration {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatalf("read process stat: %v", err)
	}
	// The command name in parentheses may hold spaces: the fields after it
	// are counted from its closing parenthesis (utime and stime are the
	// 14th and 15th fields of the line, the 12th and 13th after it).
	i := bytes.LastIndexByte(b, ')')
	fields := strings.Fields(string(b[i+1:]))
	var ticks int64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			t.Fatalf("parse process stat %q: %v", f, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond
}

// pct returns the p-th percentile of ds (0 for none).
func pct(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	l := slices.Clone(ds)
	slices.Sort(l)
	return l[(len(l)-1)*p/100]
}

// ratio returns the loaded side's throughput over the bare side's.
func (r *eventsReport) ratio(s *eventsSide) float64 {
	bare := r.sides[0].throughput()
	if bare == 0 {
		return 0
	}
	return s.throughput() / bare
}

// failures lists the events section's missed targets.
func (r *eventsReport) failures() []string {
	var out []string
	if both := r.sides[1]; r.ratio(both) < eventsRatio {
		out = append(out, fmt.Sprintf("%s: %.2f× the req/s without subscribers, target ≥ %.2f×", both.name, r.ratio(both), eventsRatio))
	}
	for _, s := range r.sides {
		if s.errors > 0 {
			out = append(out, fmt.Sprintf("%s: %d errors, first %s", s.name, s.errors, s.firstErr))
		}
	}
	if r.rssWith >= eventsMaxRSS {
		out = append(out, fmt.Sprintf("RSS %.1f MB with %d streams, target < %d MB", mb(r.rssWith), r.rssStreams, eventsMaxRSS>>20))
	}
	return out
}

func (r *eventsReport) markdown() string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("## Events: writes with webhooks and live streams (issue 20)\n\n")
	p("Scale **%s**, on PostgreSQL, a database of its own with one account and %d open chats. %d connections post "+
		"HelpCrunch `POST /v1/messages` one after another (a closed loop) for %s on each side, the sides alternating "+
		"in %d rounds (each round starting with the next side). A side's webhooks are %d standard-format subscriptions "+
		"to receivers in the benchmark's process that answer 200; its streams are `GET /switchboard/v1/events` with "+
		"no filter, read to the end. After each loaded slice the benchmark waits (at most %s) for every receiver and "+
		"stream to get the slice's last event, then disables the subscriptions and closes the streams. "+
		"`switchboard serve %s`.\n\n",
		r.scale, openCases, eventsConns, r.perSide, r.rounds, eventsHooks, drainLimit, strings.Join(r.flags, " "))
	p("```sh\n%s\n```\n\n", r.command)
	p("| side | req/s | p50 | p99 | errors | × no subscribers | serve CPU / 1,000 writes | benchmark CPU / 1,000 writes | rest of the machine's CPU / 1,000 writes | webhook events in the slices / owed at their ends | longest drain | stream events read | target | result |\n")
	p("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for i, s := range r.sides {
		target, result := "", ""
		if i == 1 {
			target, result = fmt.Sprintf("≥ %.2f×, 0 errors", eventsRatio), passFail(r.ratio(s) >= eventsRatio && s.errors == 0)
		}
		hooks, drain, events := "—", "—", "—"
		if s.hooks > 0 {
			hooks = fmt.Sprintf("%d / %d", s.delivered, s.backlog)
		}
		if s.hooks > 0 || s.streams > 0 {
			drain = s.drain.Round(time.Millisecond).String()
			if s.undrained > 0 {
				drain += fmt.Sprintf(" (%d slices not drained)", s.undrained)
			}
		}
		if s.streams > 0 {
			events = fmt.Sprint(s.streamEvents)
		}
		p("| %s | %.1f | %s | %s | %d / %d | %.2f | %s | %s | %s | %s | %s | %s | %s | %s |\n", s.name, s.throughput(), ms(pct(s.latencies, 50)),
			ms(pct(s.latencies, 99)), s.errors, s.requests, r.ratio(s), ms(s.cpuPerK(s.serverCPU)), ms(s.cpuPerK(s.benchCPU)), ms(s.cpuPerK(s.restCPU)),
			hooks, drain, events, target, result)
	}
	p("\n**CPU / 1,000 writes** is the CPU time (user and system, from /proc/PID/stat) the process used within the side's " +
		"slices per 1,000 acknowledged writes: what a side costs independently of the machine's other load. The benchmark's " +
		"process holds the writers, the receivers and the stream readers. The rest of the machine's is its busy time " +
		"(/proc/stat) less those two: PostgreSQL's, mostly, and whatever else ran.\n")
	p("\nCommit to first byte: from the moment the client has the POST's answer (the commit) to the moment the event's "+
		"request reaches a receiver's handler, or its `data:` line a stream client (the first %d streams are timed). "+
		"A negative time is an event that arrived before the POST's answer did.\n\n", eventsProbes)
	p("| where | load | samples | p50 | p99 |\n|---|---|---|---|---|\n")
	for _, lr := range r.latency {
		p("| webhook receiver | %d/s for %s (%d posts), %d webhooks + %d streams | %d | %s | %s |\n", lr.rate, r.latencyDur, lr.posts,
			eventsHooks, eventsStreams, len(lr.hookLat), ms(pct(lr.hookLat, 50)), ms(pct(lr.hookLat, 99)))
		p("| stream client | same | %d | %s | %s |\n", len(lr.streamLat), ms(pct(lr.streamLat, 50)), ms(pct(lr.streamLat, 99)))
	}
	both := r.sides[1]
	p("| webhook receiver | the closed loop's %s side | %d | %s | %s |\n", both.name, len(both.hookLat), ms(pct(both.hookLat, 50)), ms(pct(both.hookLat, 99)))
	p("| stream client | same | %d | %s | %s |\n\n", len(both.streamLat), ms(pct(both.streamLat, 50)), ms(pct(both.streamLat, 99)))
	p("| target | measured | result |\n|---|---|---|\n")
	p("| RSS < %d MB with %d open streams (each read 20 events) | %.1f MB (%.1f MB before they opened; peak over the run %.1f MB) | %s |\n\n",
		eventsMaxRSS>>20, r.rssStreams, mb(r.rssWith), mb(r.rssBefore), mb(r.peak), passFail(r.rssWith < eventsMaxRSS))
	p("The receivers, the stream readers and the writers run in the benchmark's process on the same 2 cores as the server "+
		"and PostgreSQL, so a loaded side also pays for reading its events. Load average (1 min) %s; CPU steal %s; %s.\n",
		r.load, r.steal, time.Now().UTC().Format("2006-01-02 15:04 MST"))
	return b.String()
}

// writeEventsSection puts the events section into the file at path,
// keeping the rest of it.
func writeEventsSection(path string, r *eventsReport) error {
	return writeSection(path, eventsSection, r.markdown())
}

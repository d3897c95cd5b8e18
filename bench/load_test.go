//go:build bench

package bench

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// request builds the i-th request of a scenario (i counts from 0).
type request func(i int64) (method, path string, body []byte)

// check says whether a response is a success: any 2xx, and for JSON-RPC a
// result rather than an error.
type check func(code int, body []byte) bool

func ok2xx(code int, _ []byte) bool { return code >= 200 && code < 300 }

// okPage checks a REVE page, switchboard's or its baseline's: a 2xx answer
// holding a full page (pageSize rows, each with a received_time), so that
// neither side is measured serving an empty one.
func okPage(code int, body []byte) bool {
	return ok2xx(code, body) && bytes.Count(body, []byte(`"received_time"`)) == pageSize
}

func okRPC(code int, body []byte) bool {
	return ok2xx(code, body) && bytes.Contains(body, []byte(`"result"`))
}

// run is what the constant-rate attacks of one side measured.
type run struct {
	Rate       int
	Duration   time.Duration
	Requests   int
	Throughput float64 // successful requests a second
	P50, P99   time.Duration
	Errors     int
	FirstError string
}

// side is one target of a scenario (switchboard or its baseline) across the
// rounds of its attacks: the request counter runs on from round to round so
// that every request is new.
type side struct {
	base   string
	header http.Header
	req    request
	ok     check
	n      atomic.Int64

	latencies []time.Duration
	elapsed   time.Duration
	errors    int
	firstErr  string
}

// attack drives the side at rate requests per per for d with vegeta and
// adds the latencies of every request and the errors (transport errors and
// responses that fail ok) to the side.
func (s *side) attack(rate int, per, d time.Duration) {
	targeter := func(tgt *vegeta.Target) error {
		method, path, body := s.req(s.n.Add(1) - 1)
		*tgt = vegeta.Target{Method: method, URL: s.base + path, Body: body, Header: s.header}
		return nil
	}
	a := vegeta.NewAttacker(vegeta.Timeout(30*time.Second), vegeta.Connections(256), vegeta.Workers(16), vegeta.MaxWorkers(512))
	began := time.Now()
	for res := range a.Attack(targeter, vegeta.Rate{Freq: rate, Per: per}, d, "bench") {
		s.latencies = append(s.latencies, res.Latency)
		if res.Error != "" || !s.ok(int(res.Code), res.Body) {
			s.errors++
			if s.firstErr == "" {
				s.firstErr = fmt.Sprintf("%d %s %.200s", res.Code, res.Error, res.Body)
			}
		}
	}
	s.elapsed += time.Since(began)
}

// result sums up the side's attacks.
func (s *side) result(rate int, d time.Duration) run {
	out := run{Rate: rate, Duration: d, Requests: len(s.latencies), Errors: s.errors, FirstError: s.firstErr}
	if len(s.latencies) == 0 {
		return out
	}
	l := slices.Clone(s.latencies)
	slices.Sort(l)
	out.P50, out.P99 = l[(len(l)-1)*50/100], l[(len(l)-1)*99/100]
	out.Throughput = float64(out.Requests-out.Errors) / s.elapsed.Seconds()
	return out
}

// compare drives switchboard and the baseline at the same rate for d each,
// alternating in rounds of d/rounds so that whatever else the machine does
// meanwhile falls on both alike.
func compare(sb, base *side, rate int, per, d time.Duration, rounds int) (got, want run) {
	slice := d / time.Duration(rounds)
	for range rounds {
		sb.attack(rate, per, slice)
		base.attack(rate, per, slice)
	}
	return sb.result(rate, d), base.result(rate, d)
}

// once sends one request and fails the test unless it succeeds: a scenario
// that is misconfigured stops before its load.
func once(t *testing.T, base string, header http.Header, req request, ok check) {
	t.Helper()
	method, path, body := req(-1)
	r, err := http.NewRequest(method, base+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	r.Header = header.Clone()
	res, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(res.Body)
	if !ok(res.StatusCode, buf.Bytes()) {
		t.Fatalf("%s %s%s: %d %.500s", method, base, path, res.StatusCode, buf.String())
	}
}

// concurrent holds conns keep-alive connections to base+path, each sending
// one request after another for d, and samples the server's resident set
// size meanwhile. It returns the largest sample, the requests and the errors.
func concurrent(t *testing.T, srv *server, header http.Header, conns int, d time.Duration, path string) (maxRSS int64, requests, errors int64, firstErr string) {
	t.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	var reqs, errs atomic.Int64
	var errOnce sync.Once
	failed := func(e string) {
		errs.Add(1)
		errOnce.Do(func() { firstErr = e })
	}
	stop := time.Now().Add(d)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for time.Now().Before(stop) {
				r, _ := http.NewRequest(http.MethodGet, "http://"+srv.addr+path, nil)
				r.Header = header.Clone()
				res, err := client.Do(r)
				reqs.Add(1)
				if err != nil {
					failed(err.Error())
					continue
				}
				var buf bytes.Buffer
				_, _ = buf.ReadFrom(res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					failed(fmt.Sprintf("%d %.200s", res.StatusCode, buf.String()))
				}
			}
		}()
	}
	close(start)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-done:
			rss, _ := srv.memory(t)
			return max(maxRSS, rss), reqs.Load(), errs.Load(), firstErr
		case <-tick.C:
			rss, _ := srv.memory(t)
			maxRSS = max(maxRSS, rss)
		}
	}
}

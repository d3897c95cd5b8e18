//go:build bench

package bench

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"switchboard/store"
)

// closedConns is how many connections the closed loop holds: each sends its
// next request as soon as the previous one is answered.
const closedConns = 32

// closed is what the closed loop of one side measured over its rounds.
type closed struct {
	conns      int
	latencies  []time.Duration
	elapsed    time.Duration
	errors     int
	firstErr   string
	cpuTicks   int64 // the server's user+system clock ticks over the rounds (0: not measured)
	measureCPU bool
}

// loop drives the side with conns connections for d, each sending one
// request after another, and adds what it measured to c. pid, when not 0,
// is the process whose CPU time the requests cost.
func (c *closed) loop(s *side, d time.Duration, pid int) {
	tr := &http.Transport{MaxIdleConnsPerHost: c.conns, MaxConnsPerHost: c.conns}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 60 * time.Second}
	var mu sync.Mutex
	var errs atomic.Int64
	var wg sync.WaitGroup
	cpu0 := procTicks(pid)
	began := time.Now()
	stop := began.Add(d)
	for range c.conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat []time.Duration
			for time.Now().Before(stop) {
				method, path, body := s.req(s.n.Add(1) - 1)
				r, _ := http.NewRequest(method, s.base+path, bytes.NewReader(body))
				r.Header = s.header.Clone()
				t0 := time.Now()
				res, err := client.Do(r)
				var buf bytes.Buffer
				code := 0
				if err == nil {
					_, _ = buf.ReadFrom(res.Body)
					res.Body.Close()
					code = res.StatusCode
				}
				lat = append(lat, time.Since(t0))
				if err != nil || !s.ok(code, buf.Bytes()) {
					errs.Add(1)
					mu.Lock()
					if c.firstErr == "" {
						c.firstErr = fmt.Sprintf("%d %v %.200s", code, err, buf.String())
					}
					mu.Unlock()
				}
			}
			mu.Lock()
			c.latencies = append(c.latencies, lat...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	c.elapsed += time.Since(began)
	c.errors += int(errs.Load())
	if pid != 0 {
		c.cpuTicks += procTicks(pid) - cpu0
		c.measureCPU = true
	}
}

// result sums up the loops: requests a second, p50 and p99.
func (c *closed) result() run {
	out := run{Rate: c.conns, Duration: c.elapsed, Requests: len(c.latencies), Errors: c.errors, FirstError: c.firstErr}
	if len(c.latencies) == 0 {
		return out
	}
	l := slices.Clone(c.latencies)
	slices.Sort(l)
	out.P50, out.P99 = l[(len(l)-1)*50/100], l[(len(l)-1)*99/100]
	out.Throughput = float64(out.Requests-out.Errors) / c.elapsed.Seconds()
	return out
}

// cpuPerRequest returns the server's CPU time per request of the loops, 0
// when it was not measured.
func (c *closed) cpuPerRequest() time.Duration {
	if !c.measureCPU || len(c.latencies) == 0 {
		return 0
	}
	// /proc counts in USER_HZ, 100 a second on Linux.
	return time.Duration(c.cpuTicks) * 10 * time.Millisecond / time.Duration(len(c.latencies))
}

// compareClosed runs both sides' closed loops for d each, alternating in
// rounds; sbPid is the switchboard process whose CPU time is counted.
func compareClosed(sb, base *side, conns int, d time.Duration, rounds, sbPid, basePid int) (got, want *closed) {
	got, want = &closed{conns: conns}, &closed{conns: conns}
	slice := d / time.Duration(rounds)
	for range rounds {
		got.loop(sb, slice, sbPid)
		want.loop(base, slice, basePid)
	}
	return got, want
}

// procTicks returns the user and system clock ticks the process has used
// (fields 14 and 15 of /proc/PID/stat), 0 for pid 0 or when unreadable.
func procTicks(pid int) int64 {
	if pid == 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name in parentheses may hold spaces; the fields after it do not.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return u + st
}

// lengthCases is how many cases of each length the case-length scenarios
// spread over (few enough that the seed stays small, enough that 32
// connections rarely wait on one case's lock).
const lengthCases = 16

// seedLengths creates lengthCases open chats of 10,000 messages and as many
// of 10 for the contact, alternating visitor and agent messages: all but the
// last written with set-based SQL, the last through switchboard's Acquire
// add-message (post), so that whatever the store maintains on write sees the
// case's agent. It returns the long cases and the short ones.
func seedLengths(t *testing.T, st *store.Store, pool *pgxpool.Pool, accountID, agentID, contactID int64, post func(caseID int64)) (long, short []int64) {
	t.Helper()
	ctx := context.Background()
	for _, n := range []int{10_000, 10} {
		var ids []int64
		for range lengthCases {
			c, err := st.CreateCase(ctx, accountID, store.NewCase{ContactID: contactID})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, c.ID)
		}
		if _, err := pool.Exec(ctx, `INSERT INTO messages (account_id, case_id, sender, agent_id, kind, text, markdown, lang, email_from,
				email_to, email_cc, email_bcc, email_subject, html_body, sms_from, sms_to, read, edited, delivery_status, fail_reason, created_at, updated_at)
			SELECT $1, c, CASE WHEN g % 2 = 0 THEN 'agent' ELSE 'contact' END, CASE WHEN g % 2 = 0 THEN $2::bigint END, 'message',
				'message ' || g, '', '', '', '', '', '', '', '', '', '', true, false, '', '',
				now() - interval '1 day' + g * interval '1 second', now() - interval '1 day' + g * interval '1 second'
			FROM unnest($3::bigint[]) c, generate_series(1, $4::int) g`, accountID, agentID, ids, n-1); err != nil {
			t.Fatalf("seed %d-message cases: %v", n, err)
		}
		for _, id := range ids {
			post(id)
		}
		if n == 10_000 {
			long = ids
		} else {
			short = ids
		}
	}
	if _, err := pool.Exec(ctx, "VACUUM ANALYZE messages"); err != nil {
		t.Fatal(err)
	}
	return long, short
}

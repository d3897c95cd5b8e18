//go:build bench

package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	profilesSection     = "profiles"
	instructionsSection = "instructions"
	// profileTop is how many functions of each profile results.md shows.
	profileTop = 10
	// profileStart is where a profiled or counted side's request counter
	// starts: far from the numbers the table's runs used, so that uploads
	// still bring visitors new to the account.
	profileStart = 50_000
)

// profile is the CPU profile of serve under one hot route's closed loop.
type profile struct {
	name string
	run  run
	top  string // go tool pprof -top, its header and first profileTop rows
}

// runProfiles runs each hot scenario's closed loop against a fresh serve on
// dbURL with SWITCHBOARD_CPU_PROFILE set (cmd/switchboard/profile.go), for d,
// and returns the top of each profile: the CPU time of the real binary
// under that route alone.
func runProfiles(t *testing.T, bin, dbURL string, f *fixture, hot []*scenario, d time.Duration) []*profile {
	t.Helper()
	var out []*profile
	for _, s := range hot {
		path := filepath.Join(t.TempDir(), "cpu.pprof")
		srv := mustStartWith(t, []string{"SWITCHBOARD_DATABASE_URL=" + dbURL, "SWITCHBOARD_CPU_PROFILE=" + path}, 60*time.Second,
			bin, "serve", "--addr", "127.0.0.1:0", "--ip-rate-limit", "0")
		url := "http://" + srv.addr
		ok := s.ok
		if ok == nil {
			ok = ok2xx
		}
		conns := s.conns
		if conns == 0 {
			conns = closedConns
		}
		once(t, url, s.header, s.sb, ok)
		sd := &side{base: url, header: s.header, req: s.sb, ok: ok}
		sd.n.Store(profileStart)
		c := &closed{conns: conns}
		c.loop(sd, d, srv.cmd.Process.Pid)
		srv.stop(t)
		top, err := exec.Command("go", "tool", "pprof", "-top", fmt.Sprintf("-nodecount=%d", profileTop), bin, path).CombinedOutput()
		if err != nil {
			t.Fatalf("go tool pprof -top %s: %v\n%s", path, err, top)
		}
		p := &profile{name: s.name, run: c.result(), top: pprofTop(string(top))}
		t.Logf("CPU profile of %s (%s):\n%s", s.name, p.run, p.top)
		out = append(out, p)
	}
	return out
}

// pprofTop keeps the lines of go tool pprof -top from its Duration line on
// (the file, build and type lines say nothing of the route).
func pprofTop(out string) string {
	var keep []string
	sc := bufio.NewScanner(strings.NewReader(out))
	on := false
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "Duration:") {
			on = true
		}
		if on {
			keep = append(keep, line)
		}
	}
	if !on {
		return strings.TrimSpace(out)
	}
	return strings.Join(keep, "\n")
}

func profilesMarkdown(ps []*profile, sc scale, command string) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("## CPU profile per hot route (PostgreSQL)\n\n")
	p("Scale **%s**. Each hot route runs its closed loop for %s against a fresh `switchboard serve --ip-rate-limit 0` on the "+
		"seeded database, started with `SWITCHBOARD_CPU_PROFILE=FILE` (cmd/switchboard/profile.go: a CPU profile from the moment "+
		"serve serves until it stops, so not its start's migrations and dummy bcrypt hash; REVE's holds the one bcrypt check of "+
		"its first Basic request, which the auth cache then answers); below, `go tool pprof -top -nodecount=%d BIN FILE` from "+
		"its Duration line. The profile is the server's alone: PostgreSQL and the load generator are other processes.\n\n", sc.name, sc.duration, profileTop)
	p("```sh\n%s\n```\n\n", command)
	for _, pr := range ps {
		p("### %s\n\n%d connections: %.1f req/s, p50 %s, p99 %s, %d errors.\n\n```\n%s\n```\n\n",
			pr.name, pr.run.Rate, pr.run.Throughput, ms(pr.run.P50), ms(pr.run.P99), pr.run.Errors, pr.top)
	}
	p("%s.\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	return b.String()
}

// instructionsReport is the instructions per request of each hot route,
// counted by callgrind, or why they could not be.
type instructionsReport struct {
	rows    []instructionsRow
	idle    float64 // instructions a second of the idle server (its workers' polling)
	missing string  // why nothing was counted, when so
	command string
}

type instructionsRow struct {
	name     string
	requests int
	total    int64         // instructions between zero and dump
	elapsed  time.Duration // between zero and dump
	errors   int
}

// perRequest returns the row's instructions per request, the idle server's
// share over the same time taken off.
func (r instructionsRow) perRequest(idle float64) float64 {
	return (float64(r.total) - idle*r.elapsed.Seconds()) / float64(r.requests)
}

// callgrindRequests is how many requests of each hot route callgrind
// counts (uploads: uploadRequests), after callgrindWarm unmeasured ones.
const (
	callgrindRequests = 100
	uploadRequests    = 3
	callgrindWarm     = 5
	callgrindIdle     = 5 * time.Second
)

// runInstructions runs serve under callgrind (valgrind --tool=callgrind
// --smc-check=all, GODEBUG=asyncpreemptoff=1,cpu.rdtscp=off: the Go
// runtime's preemption signals made callgrind abort, and valgrind 3.19
// does not emulate the RDTSCP the runtime reads its clock with when the
// CPU has it, a SIGILL in two starts of three on this machine) on dbURL
// and counts the instructions of each hot route's requests, sent one after
// another on one connection between callgrind_control --zero and --dump. An idle window
// first gives the instructions a second the server spends with no request
// (its workers poll), taken off each route's count.
func runInstructions(t *testing.T, bin, dbURL string, f *fixture, hot []*scenario) *instructionsReport {
	t.Helper()
	r := &instructionsReport{}
	valgrind, err := exec.LookPath("valgrind")
	if err != nil {
		r.missing = "valgrind is not installed (apt-get install valgrind)"
		return r
	}
	control, err := exec.LookPath("callgrind_control")
	if err != nil {
		r.missing = "callgrind_control is not installed (it comes with valgrind)"
		return r
	}
	out := filepath.Join(t.TempDir(), "callgrind.out")
	srv := mustStartWith(t, []string{"SWITCHBOARD_DATABASE_URL=" + dbURL, "GODEBUG=asyncpreemptoff=1,cpu.rdtscp=off"}, 5*time.Minute,
		valgrind, "--tool=callgrind", "--smc-check=all", "--callgrind-out-file="+out, "--log-file="+out+".log",
		bin, "serve", "--addr", "127.0.0.1:0", "--ip-rate-limit", "0")
	defer srv.stop(t)
	pid := strconv.Itoa(srv.cmd.Process.Pid)
	url := "http://" + srv.addr
	dumps := 0
	// window zeroes the counters, runs fn and dumps them, and returns the
	// instructions counted and the time it took.
	window := func(name string, fn func()) (int64, time.Duration) {
		if b, err := exec.Command(control, "--zero", pid).CombinedOutput(); err != nil {
			t.Fatalf("callgrind_control --zero: %v\n%s", err, b)
		}
		t0 := time.Now()
		fn()
		elapsed := time.Since(t0)
		if b, err := exec.Command(control, "--dump="+name, pid).CombinedOutput(); err != nil {
			t.Fatalf("callgrind_control --dump: %v\n%s", err, b)
		}
		dumps++
		n, err := callgrindTotal(fmt.Sprintf("%s.%d", out, dumps))
		if err != nil {
			t.Fatal(err)
		}
		return n, elapsed
	}
	idle, idleFor := window("idle", func() { time.Sleep(callgrindIdle) })
	r.idle = float64(idle) / idleFor.Seconds()
	client := &http.Client{Timeout: 5 * time.Minute}
	for _, s := range hot {
		ok := s.ok
		if ok == nil {
			ok = ok2xx
		}
		n := callgrindRequests
		if s.conns != 0 && s.conns < closedConns {
			n = uploadRequests
		}
		i := int64(profileStart * 2)
		send := func() bool {
			method, path, body := s.sb(i)
			i++
			req, _ := http.NewRequest(method, url+path, bytes.NewReader(body))
			req.Header = s.header.Clone()
			res, err := client.Do(req)
			if err != nil {
				return false
			}
			defer res.Body.Close()
			var buf bytes.Buffer
			_, _ = buf.ReadFrom(res.Body)
			return ok(res.StatusCode, buf.Bytes())
		}
		for range min(callgrindWarm, n) {
			send()
		}
		row := instructionsRow{name: s.name, requests: n}
		row.total, row.elapsed = window(strings.Fields(s.name)[0], func() {
			for range n {
				if !send() {
					row.errors++
				}
			}
		})
		t.Logf("callgrind: %s: %.0f instructions a request (%d requests, %d errors, %s; idle %.0f a second)",
			s.name, row.perRequest(r.idle), n, row.errors, row.elapsed.Round(time.Millisecond), r.idle)
		r.rows = append(r.rows, row)
	}
	return r
}

// callgrindTotal returns the Ir total of a callgrind dump file, waiting a
// few seconds for it to appear.
func callgrindTotal(path string) (int64, error) {
	var b []byte
	var err error
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if b, err = os.ReadFile(path); err == nil && bytes.Contains(b, []byte("\ntotals:")) {
			break
		}
	}
	if err != nil {
		return 0, fmt.Errorf("callgrind dump: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "totals:"); ok {
			return strconv.ParseInt(strings.Fields(v)[0], 10, 64)
		}
	}
	return 0, fmt.Errorf("callgrind dump %s has no totals line", path)
}

func (r *instructionsReport) markdown() string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("## Instructions per request (callgrind, PostgreSQL)\n\n")
	if r.missing != "" {
		p("Not measured: %s. `perf stat -e instructions` answers \"not supported\" on this virtual machine (no PMU).\n", r.missing)
		return b.String()
	}
	p("Issue 22 item 5: whole-server instructions per request, a figure that survives a noisy machine. `perf stat -e instructions` "+
		"answers \"not supported\" on this virtual machine (no PMU), so serve runs under "+
		"`GODEBUG=asyncpreemptoff=1,cpu.rdtscp=off valgrind --tool=callgrind --smc-check=all` on the seeded database (without "+
		"asyncpreemptoff, the Go runtime's preemption signals made callgrind abort; without cpu.rdtscp=off, the runtime's RDTSCP, "+
		"which valgrind does not emulate, was a SIGILL). Each route's requests go one after another on one connection between "+
		"`callgrind_control --zero` and `--dump`, after %d unmeasured ones; an idle window of %s first counts what the server does with no request (its "+
		"workers poll: %.0f instructions a second), taken off each route's count for the time its requests took. The count "+
		"is the serve process's alone (user-space instructions, GC included), not PostgreSQL's.\n\n", callgrindWarm, callgrindIdle, r.idle)
	p("```sh\n%s\n```\n\n", r.command)
	p("| route | requests | errors | instructions counted | time under callgrind | instructions per request |\n|---|---|---|---|---|---|\n")
	for _, row := range r.rows {
		p("| %s | %d | %d | %d | %s | %s |\n", row.name, row.requests, row.errors, row.total, row.elapsed.Round(time.Millisecond),
			thousands(row.perRequest(r.idle)))
	}
	p("\n%s.\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	return b.String()
}

// thousands formats n rounded, with commas between thousands.
func thousands(n float64) string {
	s := strconv.FormatInt(int64(n+0.5), 10)
	var out []byte
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 && s[i-1] != '-' {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

//go:build bench

package bench

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"maps"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var (
	binFlag       = flag.String("bin", "", "switchboard binary to run instead of building this tree's (to measure another version)")
	labelFlag     = flag.String("label", "", "what -bin or -serve-args is, for the flood section of results.md (default: this tree)")
	serveArgsFlag = flag.String("serve-args", "", "more flags for the password flood's servers, space-separated, as '--password-checks 1'")
)

// The password flood: REVE Basic logins with wrong passwords, each costing a
// bcrypt compare at cost 12, while bearer-key requests are measured.
const (
	floodName   = "Password flood"
	floodConns  = 64
	floodRate   = 50 // bearer requests a second
	floodTarget = 100 * time.Millisecond
	// floodWarmup is how long the flood runs before the measurement starts,
	// so that every connection has a request in flight.
	floodWarmup = 2 * time.Second
)

// floodServeFlags are the flags of the flood's servers: no per-address
// request limit (the flood is what is measured), and X-Forwarded-For from
// the benchmark believed, so that its addresses can vary.
var floodServeFlags = []string{"--ip-rate-limit", "0", "--trusted-proxies", "127.0.0.1"}

// floodVariant is one way of flooding: the i-th flood request's login and
// X-Forwarded-For ("" for none).
type floodVariant struct {
	name  string
	login func(i int64, admin string) (email, xff string)

	got   run
	flood floodStats
}

// floodStats are the flood's own requests: how many, and their answers.
type floodStats struct {
	requests int64
	codes    map[int]int64
	errors   int64
	firstErr string
}

func (f floodStats) String() string {
	if f.requests == 0 {
		return "—"
	}
	parts := []string{}
	for _, code := range slices.Sorted(maps.Keys(f.codes)) {
		parts = append(parts, fmt.Sprintf("%d × %d", code, f.codes[code]))
	}
	if f.errors > 0 {
		parts = append(parts, fmt.Sprintf("%d transport errors", f.errors))
	}
	return fmt.Sprintf("%d (%s)", f.requests, strings.Join(parts, ", "))
}

// floodReport is the flood section of results.md.
type floodReport struct {
	scale    string
	duration time.Duration
	label    string
	flags    []string
	command  string
	quiet    run
	variants []*floodVariant
	load     string
	steal    string
}

// floodVariants are the runs: one the failed-login throttle cannot catch (a
// new login name and client address each time, so every request costs a
// bcrypt compare and only the bound on concurrent compares protects the
// server), and one it catches (one login from one address).
func floodVariants() []*floodVariant {
	return []*floodVariant{
		{name: floodName + ", a new login and address each", login: func(i int64, _ string) (string, string) {
			return fmt.Sprintf("flood-%d@example.com", i), fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)
		}},
		{name: floodName + ", one login from one address", login: func(_ int64, admin string) (string, string) {
			return admin, ""
		}},
	}
}

// wantFlood reports whether the run includes the flood: a full run does, a
// partial one when -only matches its name.
func wantFlood(only *regexp.Regexp) bool {
	return only == nil || slices.ContainsFunc(floodVariants(), func(v *floodVariant) bool { return only.MatchString(v.name) })
}

// runFlood measures HelpCrunch GET /v1/chats/{id} with a bearer key at
// floodRate for d, first with no flood and then during each flood variant
// that only matches (nil: all), each on a fresh server on dbURL.
func runFlood(t *testing.T, bin, dbURL, email, token string, chat int64, d time.Duration, only *regexp.Regexp) *floodReport {
	t.Helper()
	flags := append(slices.Clone(floodServeFlags), strings.Fields(*serveArgsFlag)...)
	r := &floodReport{duration: d, label: *labelFlag, flags: flags}
	for _, v := range floodVariants() {
		if only == nil || only.MatchString(v.name) {
			r.variants = append(r.variants, v)
		}
	}
	bearer := http.Header{"Authorization": {"Bearer " + token}}
	get := func(int64) (string, string, []byte) { return http.MethodGet, fmt.Sprintf("/v1/chats/%d", chat), nil }
	loadBefore, cpuBefore := loadavg(), cpuTimes()
	for i, v := range r.variants {
		srv := mustStart(t, bin, dbURL, flags...)
		base := "http://" + srv.addr
		once(t, base, bearer, get, ok2xx)
		if i == 0 {
			quiet := &side{base: base, header: bearer, req: get, ok: ok2xx}
			quiet.attack(floodRate, time.Second, d)
			r.quiet = quiet.result(floodRate, d)
			t.Logf("%-70s %s", "bearer GET, no flood", r.quiet)
		}
		ctx, stop := context.WithCancel(context.Background())
		statsCh := make(chan floodStats, 1)
		go func() { statsCh <- flood(ctx, srv.addr, floodConns, email, v.login) }()
		time.Sleep(floodWarmup)
		s := &side{base: base, header: bearer, req: get, ok: ok2xx}
		s.attack(floodRate, time.Second, d)
		stop()
		v.got, v.flood = s.result(floodRate, d), <-statsCh
		t.Logf("%-70s %s | flood %s", v.name, v.got, v.flood)
		if v.got.Errors > 0 {
			t.Logf("  first error: %s", v.got.FirstError)
		}
		if v.flood.firstErr != "" {
			t.Logf("  first flood transport error: %s", v.flood.firstErr)
		}
		srv.stop(t)
	}
	r.load = fmt.Sprintf("%s before, %s after", loadBefore, loadavg())
	r.steal = steal(cpuBefore, cpuTimes())
	return r
}

// flood holds conns keep-alive connections to the server at addr, each
// sending REVE GET /api/offlinemessages/ with a wrong password, one request
// after another, until ctx ends; login names the i-th request's login and
// X-Forwarded-For. It returns what the server answered.
func flood(ctx context.Context, addr string, conns int, admin string, login func(i int64, admin string) (string, string)) floodStats {
	tr := &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	var n atomic.Int64
	var mu sync.Mutex
	stats := floodStats{codes: map[int]int64{}}
	var wg sync.WaitGroup
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := n.Add(1) - 1
				email, xff := login(i, admin)
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/api/offlinemessages/", nil)
				req.SetBasicAuth(email, fmt.Sprintf("wrong-password-%d", i))
				if xff != "" {
					req.Header.Set("X-Forwarded-For", xff)
				}
				res, err := client.Do(req)
				if ctx.Err() != nil {
					return // cut off by the end of the run: neither answered nor failed
				}
				mu.Lock()
				stats.requests++
				if err != nil {
					stats.errors++
					if stats.firstErr == "" {
						stats.firstErr = err.Error()
					}
				} else {
					stats.codes[res.StatusCode]++
				}
				mu.Unlock()
				if err == nil {
					var buf bytes.Buffer
					_, _ = buf.ReadFrom(res.Body)
					res.Body.Close()
				}
			}
		}()
	}
	wg.Wait()
	return stats
}

// benchArgs returns the flags this run was given after -args, as
// BENCH_ARGS would carry them (without -scale, which BENCH_SCALE sets).
func benchArgs() string {
	var out []string
	flag.Visit(func(f *flag.Flag) {
		if strings.HasPrefix(f.Name, "test.") || f.Name == "scale" || f.Name == "out" {
			return
		}
		v := f.Value.String()
		if strings.ContainsAny(v, " '\"") || v == "" {
			v = "\"" + v + "\""
		}
		out = append(out, "-"+f.Name+" "+v)
	})
	return strings.Join(out, " ")
}

// sectionName is the name of the flood section: "flood", or with -label
// "flood: LABEL", so that runs of other binaries or settings sit beside it.
func (r *floodReport) sectionName() string {
	if r.label == "" {
		return "flood"
	}
	return "flood: " + r.label
}

func (r *floodReport) markdown() string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	title := "this tree"
	if r.label != "" {
		title = r.label
	}
	p("## Password flood: bearer-key requests while wrong passwords pour in (%s)\n\n", title)
	p("Scale **%s**. %d connections send REVE `GET /api/offlinemessages/` with wrong Basic passwords, each one request after "+
		"the other, while vegeta sends HelpCrunch `GET /v1/chats/{id}` with a bearer key at %d/s for %s, measured after the "+
		"flood has run %s. Each flood runs on a fresh `switchboard serve %s` on the same database; the first measures the "+
		"bearer requests with no flood. Target: bearer-key p99 < %s.\n\n",
		r.scale, floodConns, floodRate, r.duration, floodWarmup, strings.Join(r.flags, " "), ms(floodTarget))
	p("```sh\n%s\n```\n\n", r.command)
	if *binFlag != "" {
		p("The binary is `%s` (`-bin`), not this tree's; a commit's is built with "+
			"`git archive COMMIT | tar -x -C DIR && cd DIR && go build -o BIN ./cmd/switchboard`.\n\n", *binFlag)
	}
	p("| run | flood requests (answers) | bearer req/s | p50 | p99 | errors | target | result |\n|---|---|---|---|---|---|---|---|\n")
	q := r.quiet
	p("| no flood | — | %.1f | %s | %s | %d / %d | | |\n", q.Throughput, ms(q.P50), ms(q.P99), q.Errors, q.Requests)
	for _, v := range r.variants {
		g := v.got
		p("| %s | %s | %.1f | %s | %s | %d / %d | p99 < %s, 0 errors | %s |\n", strings.TrimPrefix(v.name, floodName+", "), v.flood,
			g.Throughput, ms(g.P50), ms(g.P99), g.Errors, g.Requests, ms(floodTarget), passFail(g.P99 < floodTarget && g.Errors == 0))
	}
	p("\nThe flood's answers: 401 a wrong password checked with bcrypt, 429 a login refused by the failed-login throttle "+
		"before any bcrypt, 503 no password check free within the wait. Load average (1 min) %s; CPU steal %s; %s.\n",
		r.load, r.steal, time.Now().UTC().Format("2006-01-02 15:04 MST"))
	return b.String()
}

// failures lists the flood's missed targets.
func (r *floodReport) failures() []string {
	var out []string
	for _, v := range r.variants {
		if v.got.P99 >= floodTarget || v.got.Errors > 0 {
			out = append(out, fmt.Sprintf("%s: bearer p99 %s with %d errors, target p99 < %s", v.name, ms(v.got.P99), v.got.Errors, ms(floodTarget)))
		}
	}
	return out
}

// sectionRE matches one named section of results.md, with its markers: a
// flood run's ("flood..."), the events run's ("events"), the SQLite run's
// ("sqlite"), the CPU profiles' ("profiles"), the callgrind counts'
// ("instructions"), the figures of a store benchmark run by hand
// ("store...") or prose written by hand ("notes..."), which a full run
// keeps unless it rewrites them.
var sectionRE = regexp.MustCompile(`(?s)<!-- ((?:flood|store|events|sqlite|profiles|instructions|notes)[^>]*?) -->\n.*?<!-- /((?:flood|store|events|sqlite|profiles|instructions|notes)[^>]*?) -->\n`)

// section wraps md in the markers of the named section.
func section(name, md string) string {
	return fmt.Sprintf("<!-- %s -->\n%s<!-- /%s -->\n", name, md, name)
}

// spliceSection returns doc with the named section replaced by md, or md
// appended when doc has no such section.
func spliceSection(doc, name, md string) string {
	s := section(name, md)
	for _, loc := range sectionRE.FindAllStringSubmatchIndex(doc, -1) {
		if doc[loc[2]:loc[3]] == name {
			return doc[:loc[0]] + s + doc[loc[1]:]
		}
	}
	if doc != "" && !strings.HasSuffix(doc, "\n\n") {
		doc = strings.TrimRight(doc, "\n") + "\n\n"
	}
	return doc + s
}

// keptSections returns the named sections of the file at path other than
// those named in skip: a full run rewrites the table and its own flood
// section but keeps the flood runs of other binaries and settings and the
// store benchmarks' sections.
func keptSections(path string, skip ...string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var out []string
	for _, m := range sectionRE.FindAllStringSubmatch(string(b), -1) {
		if !slices.Contains(skip, m[1]) {
			out = append(out, m[0])
		}
	}
	return out
}

// writeFloodSection puts the flood section into the file at path, keeping
// the rest of it.
func writeFloodSection(path string, r *floodReport) error {
	return writeSection(path, r.sectionName(), r.markdown())
}

// writeSection puts md as the named section into the file at path, keeping
// the rest of it.
func writeSection(path, name, md string) error {
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	return os.WriteFile(path, []byte(spliceSection(string(b), name, md)), 0o644)
}

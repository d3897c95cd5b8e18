//go:build bench

package bench

import (
	"fmt"
	"strings"
	"time"
)

// report is one complete run: every scenario, the ceiling, the memory and
// the machine.
type report struct {
	scale       scale
	scenarios   []*scenario
	ceiling     run
	rss         int64
	rssRequests int64
	rssErrors   int64
	peak        int64
	seeded      time.Duration
	elapsed     time.Duration
	machine     map[string]string
	flood       *floodReport
	// kept are the flood sections of results.md from runs of other
	// binaries or settings, written again after this run's.
	kept []string
}

func passFail(ok bool) string {
	if ok {
		return "pass"
	}
	return "**FAIL**"
}

// deep returns the deep page's p50 over page 1's.
func (r report) deep() float64 {
	p1, deep := r.scenarios[0].got.P50, r.scenarios[1].got.P50
	if p1 == 0 {
		return 0
	}
	return float64(deep) / float64(p1)
}

// failures lists every missed target.
func (r report) failures() []string {
	var out []string
	for _, s := range r.scenarios {
		if s.ratio() < s.target() {
			out = append(out, fmt.Sprintf("%s: %.2f of its pgx baseline, target %.2f", s.name, s.ratio(), s.target()))
		}
		if s.got.Errors > 0 {
			out = append(out, fmt.Sprintf("%s: %d errors at %d/s, first: %s", s.name, s.got.Errors, s.got.Rate, s.got.FirstError))
		}
	}
	if d := r.deep(); d > deepLimit {
		out = append(out, fmt.Sprintf("deep page p50 is %.1f× page 1, target ≤ %.0f×", d, deepLimit))
	}
	if r.rss >= maxRSS {
		out = append(out, fmt.Sprintf("RSS %.1f MB at %d connections, target < %d MB", mb(r.rss), rssConns, maxRSS>>20))
	}
	if r.rssErrors > 0 {
		out = append(out, fmt.Sprintf("%d errors at %d connections", r.rssErrors, rssConns))
	}
	if r.flood != nil {
		out = append(out, r.flood.failures()...)
	}
	return out
}

func (r report) markdown() string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("# switchboard load benchmark\n\n")
	p("Scale **%s**: one account with %d offline messages and %d chats (%d messages in all with replies and answers), "+
		"plus 3 small accounts; seeded in %s. Each scenario ran %s at a constant rate against `switchboard serve` "+
		"(the real binary, `--ip-rate-limit 0`, account limits raised) and %s at the same rate against its pgx "+
		"baseline in the benchmark's process, alternating in %d rounds so that other work on the machine falls on both. "+
		"Whole run: %s.\n\n",
		r.scale.name, r.scale.offline, r.scale.chats, r.scale.offline+r.scale.offline/5+r.scale.chats+r.scale.chats/2,
		r.seeded.Round(time.Second), r.scale.duration, r.scale.duration, r.scale.rounds, r.elapsed.Round(time.Second))
	p("```sh\nmake bench BENCH_SCALE=%s\n# = go test -tags bench -run TestBench -count=1 -timeout 60m -v ./bench -args -scale=%s\n```\n\n", r.scale.name, r.scale.name)

	p("| scenario | rate | req/s | p50 | p99 | errors | pgx req/s | pgx p50 | pgx p99 | ratio | target | result |\n")
	p("|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, s := range r.scenarios {
		per := "/s"
		if s.per != time.Second {
			per = "/" + s.per.String()
		}
		kind := "read"
		if s.write {
			kind = "write"
		}
		ok := s.ratio() >= s.target() && s.got.Errors == 0
		p("| %s | %d%s | %.1f | %s | %s | %d / %d | %.1f | %s | %s | %.2f | %s ≥ %.2f, 0 errors | %s |\n",
			s.name, s.rate, per, s.got.Throughput, ms(s.got.P50), ms(s.got.P99), s.got.Errors, s.got.Requests,
			s.base.Throughput, ms(s.base.P50), ms(s.base.P99), s.ratio(), kind, s.target(), passFail(ok))
	}
	c := r.ceiling
	p("| net/http canned body (framework ceiling) | %d/s | %.1f | %s | %s | %d / %d | | | | | | |\n\n",
		c.Rate, c.Throughput, ms(c.P50), ms(c.P99), c.Errors, c.Requests)

	p("| target | measured | result |\n|---|---|---|\n")
	p("| deep page p50 ≤ %.0f× page 1 | %.2f× (%s vs %s) | %s |\n", deepLimit, r.deep(), ms(r.scenarios[1].got.P50), ms(r.scenarios[0].got.P50), passFail(r.deep() <= deepLimit))
	p("| RSS < %d MB at %d concurrent connections (page 1 reads, keep-alive, %s) | %.1f MB, %d requests, %d errors | %s |\n",
		maxRSS>>20, rssConns, r.scale.rss, mb(r.rss), r.rssRequests, r.rssErrors, passFail(r.rss < maxRSS && r.rssErrors == 0))
	p("| peak RSS of serve over the whole run (VmHWM) | %.1f MB | |\n\n", mb(r.peak))

	p("**ratio** is the pgx baseline's p50 over switchboard's p50 at the same constant rate (1.00: as fast as plain pgx; " +
		"0.50: twice its latency). Both keep up with the rate when req/s matches it, so the latency is the cost of each request. " +
		"Errors count transport errors, non-2xx answers and JSON-RPC errors. The baselines do the same queries with pgx " +
		"behind plain net/http with no authentication: the page walk over the per-day counts for REVE, the chat lock, agent read, message insert " +
		"and case update for chat messages, the same plus the inbox, the quota count and the delivery row for email and SMS (Acquire's three also " +
		"read the case back in the same transaction, as its answer needs: the case, its contact, the agents who wrote in it and the last " +
		"message's text). CallGear uploads are held to a floor below the same queries: the ids from the sequences and one COPY each of " +
		"contacts, cases and messages, without switchboard's reads of the site, the agents and the existing contacts or its day counts. " +
		"The framework ceiling is plain net/http answering a canned body.\n\n")

	p("Machine: %s, %s cores, %s memory, %s; %s; %s; %s.\n", r.machine["cpu"], r.machine["cores"], r.machine["memory"],
		r.machine["os"], r.machine["postgres"], r.machine["go"], time.Now().UTC().Format("2006-01-02 15:04 MST"))
	p("The load generator (vegeta v12.12.0), the baselines and PostgreSQL share the machine with the server. "+
		"Load average (1 min) %s; CPU steal over the run %s. A load well above the server's own, or a steal of more than a few "+
		"percent (the hypervisor running other machines on these cores), means the run is noisy.\n", r.machine["load"], r.machine["steal"])
	if r.flood != nil {
		p("\n%s", section(r.flood.sectionName(), r.flood.markdown()))
	}
	for _, s := range r.kept {
		p("\n%s", s)
	}
	return b.String()
}

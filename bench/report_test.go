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
	// instructions is the callgrind count of this run, nil when not run.
	instructions *instructionsReport
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

// deep returns the deep page's closed-loop p50 over page 1's.
func (r report) deep() float64 {
	return deepRatio(r.scenarios[0], r.scenarios[1])
}

// deepRatio returns the deep page's closed-loop p50 over page 1's.
func deepRatio(page1, deep *scenario) float64 {
	p1, d := page1.closedSB.result().P50, deep.closedSB.result().P50
	if p1 == 0 {
		return 0
	}
	return float64(d) / float64(p1)
}

// scenarioFailures lists the scenarios' missed targets and errors.
func scenarioFailures(scenarios []*scenario) []string {
	var out []string
	for _, s := range scenarios {
		if s.goal > 0 && s.closedRatio() < s.goal {
			out = append(out, fmt.Sprintf("%s: %.2f× its baseline's throughput at %d connections, target ≥ %.2f (issue 22 item %s)",
				s.name, s.closedRatio(), s.conns, s.goal, s.item))
		}
		if s.got.Errors > 0 {
			out = append(out, fmt.Sprintf("%s: %d errors at %d/s, first: %s", s.name, s.got.Errors, s.got.Rate, s.got.FirstError))
		}
	}
	if len(scenarios) >= 2 && strings.Contains(scenarios[1].name, "deep") {
		if d := deepRatio(scenarios[0], scenarios[1]); d > deepLimit {
			out = append(out, fmt.Sprintf("deep page p50 is %.1f× page 1, target ≤ %.0f×", d, deepLimit))
		}
	}
	return out
}

// failures lists every missed target.
func (r report) failures() []string {
	out := scenarioFailures(r.scenarios)
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
	args := benchArgs()
	if args != "" {
		args = " " + args
	}
	p("```sh\n%s\n# = go test -tags bench -run TestBench -count=1 -timeout 150m -v ./bench -args -scale=%s%s\n```\n\n", command(r.scale), r.scale.name, args)

	p("Closed loop: each side's connections send one request after another; **ratio** is switchboard's requests a second over the " +
		"baseline's. **CPU/req** is the serve process's user+system CPU time over its closed-loop requests (from /proc). " +
		"For the case-length rows the baseline is switchboard itself on cases of 10 messages, the measured side on cases of 10,000.\n\n")
	closedTable(&b, r.scenarios)
	p("\nFixed rate below saturation (the previous table's measure): **ratio** is the baseline's p50 over switchboard's at the same rate.\n\n")
	fixedTable(&b, r.scenarios)
	c := r.ceiling
	p("| net/http canned body (framework ceiling) | %d/s | %.1f | %s | %s | %d / %d | | | | |\n\n",
		c.Rate, c.Throughput, ms(c.P50), ms(c.P99), c.Errors, c.Requests)

	p("| target | measured | result |\n|---|---|---|\n")
	p("| issue 22 item 1: deep page closed-loop p50 ≤ %.0f× page 1 | %.2f× (%s vs %s) | %s |\n", deepLimit, r.deep(),
		ms(r.scenarios[1].closedSB.result().P50), ms(r.scenarios[0].closedSB.result().P50), passFail(r.deep() <= deepLimit))
	switch i := r.instructions; {
	case i == nil:
		p("| issue 22 item 5: instructions per request | not measured in this run (see the instructions section below, if any, from `-only instructions`) | |\n")
	case i.missing != "":
		p("| issue 22 item 5: instructions per request | not measured: %s | |\n", i.missing)
	default:
		var parts []string
		for _, row := range i.rows {
			parts = append(parts, fmt.Sprintf("%s %s", row.name, thousands(row.perRequest(i.idle))))
		}
		p("| issue 22 item 5: instructions per request (callgrind; see its section) | %s | |\n", strings.Join(parts, "; "))
	}
	p("| RSS < %d MB at %d concurrent connections (page 1 reads, keep-alive, %s) | %.1f MB, %d requests, %d errors | %s |\n",
		maxRSS>>20, rssConns, r.scale.rss, mb(r.rss), r.rssRequests, r.rssErrors, passFail(r.rss < maxRSS && r.rssErrors == 0))
	p("| peak RSS of serve over the whole run (VmHWM) | %.1f MB | |\n\n", mb(r.peak))

	p("Errors count transport errors, non-2xx answers and JSON-RPC errors. The baselines run behind plain net/http with no " +
		"authentication: REVE's is a plain keyset page (`WHERE account_id = $1 AND channel = 'offline' AND id < $2 ORDER BY id DESC LIMIT 20`, " +
		"with the contact, the first visitor message and the reply count in the same statement; the deep page's cursor is found before the run). " +
		"Chat writes' is a raw pgx transaction: BEGIN, the message INSERT, the case UPDATE, the message's event numbered from the account's " +
		"event_seqs row and inserted in one statement, COMMIT (the same writes as the store's; Acquire's also reads the case back as " +
		"its answer needs). Email and SMS do the store's outbox queries with pgx. CallGear uploads are held to the COPY floor (ids " +
		"from the sequences, one COPY each of contacts, cases and messages). Switchboard's side is the real binary with Basic auth (REVE) or a bearer key.\n\n")
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

// closedTable writes the closed-loop table of the scenarios.
func closedTable(b *strings.Builder, scenarios []*scenario) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("| scenario | conns | req/s | p50 | p99 | CPU/req | baseline req/s | p50 | p99 | ratio | target (issue 22) | result |\n")
	p("|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, s := range scenarios {
		g, a := s.closedSB.result(), s.closedAlt.result()
		target, result := "", ""
		if s.goal > 0 {
			target = fmt.Sprintf("item %s: ≥ %.2f", s.item, s.goal)
			result = passFail(s.closedRatio() >= s.goal && g.Errors == 0)
		}
		cpu := ""
		if c := s.closedSB.cpuPerRequest(); c > 0 {
			cpu = fmt.Sprintf("%.2f ms", float64(c.Microseconds())/1000)
		}
		p("| %s | %d | %.1f | %s | %s | %s | %.1f | %s | %s | %.2f | %s | %s |\n", s.name, s.conns, g.Throughput, ms(g.P50), ms(g.P99), cpu,
			a.Throughput, ms(a.P50), ms(a.P99), s.closedRatio(), target, result)
	}
}

// fixedTable writes the fixed-rate table of the scenarios.
func fixedTable(b *strings.Builder, scenarios []*scenario) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("| scenario | rate | req/s | p50 | p99 | errors | baseline req/s | p50 | p99 | ratio |\n")
	p("|---|---|---|---|---|---|---|---|---|---|\n")
	for _, s := range scenarios {
		per := "/s"
		if s.per != time.Second {
			per = "/" + s.per.String()
		}
		p("| %s | %d%s | %.1f | %s | %s | %d / %d | %.1f | %s | %s | %.2f |\n",
			s.name, s.rate, per, s.got.Throughput, ms(s.got.P50), ms(s.got.P99), s.got.Errors, s.got.Requests,
			s.base.Throughput, ms(s.base.P50), ms(s.base.P99), s.ratio())
	}
}

//go:build bench

package bench

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"switchboard/cmd/switchboard/binarytest"
	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

var (
	scaleFlag   = flag.String("scale", "full", "seed size and run length: full (1,000,000 rows, ~25 s a run) or small (20,000 rows, ~4 s a run)")
	outFlag     = flag.String("out", "results.md", "Markdown file the results are written to")
	logFlag     = flag.String("serve-log", "", "file to copy the server's logs to when the benchmark ends (default: none)")
	durFlag     = flag.Duration("duration", 0, "length of each scenario's run on each side (default: the scale's)")
	onlyFlag    = flag.String("only", "", "run only the scenarios whose name matches this regular expression (default: all, and the memory run); 'profiles' and 'instructions' run those sections alone")
	backendFlag = flag.String("backend", "both", "the databases the scenarios run on: postgres, sqlite or both (the flood, events, profiles and instructions run on PostgreSQL)")
)

// scale is the seed and the length of each run.
type scale struct {
	name     string
	offline  int           // offline messages (one visitor message each, every fifth with a reply)
	chats    int           // closed chats (a visitor message each, every other with an answer): 2/3 of them make as many messages as offline
	duration time.Duration // per scenario and side
	rounds   int           // switchboard and baseline alternate this many times within duration
	rss      time.Duration // length of the 256-connection run
	flood    time.Duration // the password flood's measurement, per run
}

var scales = map[string]scale{
	"full":  {"full", 1_000_000, 666_667, 25 * time.Second, 10, 10 * time.Second, 60 * time.Second},
	"small": {"small", 20_000, 13_334, 3 * time.Second, 4, 2 * time.Second, 20 * time.Second},
}

const (
	pageSize  = 20  // --reve-page-size, the default
	openCases = 64  // chats the writes spread over, as a helpdesk's agents do
	rssConns  = 256 // concurrent connections of the memory run
	maxRSS    = 150 << 20
	deepLimit = 2.0
)

// scenario is one row of the table: a request of switchboard's and the same
// work done by its pgx baseline, both driven at rate for the scale's
// duration.
type scenario struct {
	name  string
	write bool
	rate  int
	per   time.Duration
	sb    request // against switchboard
	pgx   request // against the baseline server
	ok    check
	// header is sent with every request to switchboard.
	header http.Header
	// conns is the closed loop's connections (default closedConns).
	conns int
	// goal is issue 22's target for the closed loop's throughput ratio
	// (switchboard ÷ baseline ≥ goal; 0: none), item its number there.
	goal float64
	item string
	// vsSelf: the "baseline" is switchboard too (sb on long cases, pgx on
	// short ones), with the same header.
	vsSelf bool
	// hot routes get their CPU time per request reported.
	hot bool

	// results
	got, base           run
	closedSB, closedAlt *closed
}

// closedRatio is switchboard's closed-loop throughput over the baseline's.
func (s *scenario) closedRatio() float64 {
	if s.closedSB == nil || s.closedAlt == nil {
		return 0
	}
	b := s.closedAlt.result().Throughput
	if b == 0 {
		return 0
	}
	return s.closedSB.result().Throughput / b
}

func (s *scenario) ratio() float64 {
	if s.got.P50 == 0 {
		return 0
	}
	return float64(s.base.P50) / float64(s.got.P50)
}

// TestBench seeds PostgreSQL (and a SQLite file), starts the real binary on
// each and measures every scenario against its raw baseline, then the
// framework ceiling, the server's memory, a CPU profile and the instructions
// per request of each hot route, and writes the tables to results.md.
func TestBench(t *testing.T) {
	sc, ok := scales[*scaleFlag]
	if !ok {
		t.Fatalf("-scale=%q: want full or small", *scaleFlag)
	}
	if *durFlag > 0 {
		sc.duration, sc.flood = *durFlag, *durFlag
	}
	onPostgres, onSQLite := *backendFlag == "both" || *backendFlag == "postgres", *backendFlag == "both" || *backendFlag == "sqlite"
	if !onPostgres && !onSQLite {
		t.Fatalf("-backend=%q: want postgres, sqlite or both", *backendFlag)
	}
	if u, err := storetest.Postgres(); err != nil {
		t.Fatalf("the benchmark runs on PostgreSQL, which does not answer at %s (set %s): %v", u, storetest.EnvURL, err)
	}
	began := time.Now()
	loadBefore, cpuBefore := loadavg(), cpuTimes()
	ctx := context.Background()
	bin := *binFlag
	if bin == "" {
		var err error
		if bin, err = binarytest.Build(t.TempDir()); err != nil {
			t.Fatal(err)
		}
	}
	var only *regexp.Regexp
	if *onlyFlag != "" {
		var err error
		if only, err = regexp.Compile(*onlyFlag); err != nil {
			t.Fatalf("-only: %v", err)
		}
	}
	dbURL := storetest.MustURL(t, store.Postgres)
	srv := mustStart(t, bin, dbURL, "--ip-rate-limit", "0")
	if *logFlag != "" {
		t.Cleanup(func() {
			if b, err := os.ReadFile(srv.logPath); err == nil {
				_ = os.WriteFile(*logFlag, b, 0o644)
			}
		})
	}
	st := storetest.MustOpenURL(t, dbURL)
	f := mustFixture(t, st, srv)

	// The baselines: their own server in this process, a pgx pool as large
	// as switchboard's (20).
	pool, err := pgxpool.New(ctx, dbURL+"&pool_max_conns=20")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	base := httptest.NewServer(route(map[string]http.Handler{
		"ceiling":  ceiling(),
		"keyset":   pgxKeyset(pool, f.acct, pageSize),
		"message":  pgxRawMessage(pool, f.acct, f.agent, decodeHelpCrunch, false),
		"acquire":  pgxRawMessage(pool, f.acct, f.agent, decodeAcquireChat, true),
		"email":    pgxSend(pool, f.acct, f.agent, "email", decodeEmail),
		"sms":      pgxSend(pool, f.acct, f.agent, "sms", decodeSMS),
		"callgear": pgxUpload(pool, f.acct, f.site, f.agent),
	}))
	defer base.Close()

	// The deep page's keyset cursor (the last id of the page before it),
	// found once the seed is in.
	deepPage := int64(sc.offline/pageSize) - 1
	var deepAfter int64
	var deepAt time.Time
	f.long, f.short = seedLengths(t, st, pool, f.acct, f.agent, f.contact, func(id int64) { f.mustPost(t, id) })
	all := f.scenarios(deepPage, func() string { return fmt.Sprintf("/keyset/?at=%d&after=%d", deepAt.UnixMicro(), deepAfter) }, true)
	scenarios := all
	if only != nil || !onPostgres {
		scenarios = slices.DeleteFunc(slices.Clone(all), func(s *scenario) bool { return !onPostgres || !only.MatchString(s.name) })
		t.Logf("server pid %d", srv.cmd.Process.Pid)
	}
	var hot []*scenario
	for _, s := range all {
		if s.hot {
			hot = append(hot, s)
		}
	}
	profiles, instructions := onPostgres && wantSection(only, profilesSection), onPostgres && wantSection(only, instructionsSection)
	// The seed is what the scenarios and the flood read; the events run has
	// a database of its own and needs none.
	var seeded time.Duration
	if len(scenarios) > 0 || (onPostgres && wantFlood(only)) || profiles || instructions {
		t0 := time.Now()
		storetest.SeedOfflineMessages(t, st, f.acct, f.agent, sc.offline, f.newest, 30*time.Second)
		storetest.SeedChats(t, st, f.acct, f.agent, sc.chats, f.newest, 30*time.Second)
		// The seed's dirty pages are written out now, not by a checkpoint in the
		// middle of the first scenarios (it stalled both sides for seconds).
		if err := st.GORM().WithContext(ctx).Exec("CHECKPOINT").Error; err != nil {
			t.Fatal(err)
		}
		seeded = time.Since(t0)
		t.Logf("seeded %d offline messages and %d chats in %s", sc.offline, sc.chats, seeded.Round(time.Millisecond))
		smallAccounts(t, st, f.newest)
	}
	// The deep page's keyset cursor: the last id of the page before it.
	if err := pool.QueryRow(ctx, `SELECT started_at, id FROM cases WHERE account_id = $1 AND channel = 'offline'
		ORDER BY started_at DESC, id DESC OFFSET $2 LIMIT 1`, f.acct, (deepPage-1)*pageSize-1).Scan(&deepAt, &deepAfter); err != nil && len(scenarios) > 0 {
		t.Fatal(err)
	}
	measure(t, scenarios, "http://"+srv.addr, srv.cmd.Process.Pid, base.URL, sc)
	full := *onlyFlag == "" && onPostgres
	var ceil run
	var rss, peak, reqs, rssErrs int64
	if full {
		ceilSide := &side{base: base.URL, req: get("/ceiling/"), ok: ok2xx}
		ceilSide.attack(scenarios[0].rate, time.Second, sc.duration)
		ceil = ceilSide.result(scenarios[0].rate, sc.duration)
		t.Logf("net/http ceiling %s", ceil)

		// The Basic auth cache is warmed first: a cold or expired cache under 256
		// concurrent clients hashes the password once per request (bcrypt, cost
		// 12), which measures bcrypt, not the server's memory.
		once(t, "http://"+srv.addr, f.basic, get("/api/offlinemessages/?page_no=1"), ok2xx)
		var rssFirst string
		rss, reqs, rssErrs, rssFirst = concurrent(t, srv, f.basic, rssConns, sc.rss, "/api/offlinemessages/?page_no=1")
		_, peak = srv.memory(t)
		if rssErrs > 0 {
			t.Logf("  first error at %d connections: %s", rssConns, rssFirst)
		}
		t.Logf("RSS at %d connections: %.1f MB (%d requests, %d errors); peak RSS %.1f MB", rssConns, mb(rss), reqs, rssErrs, mb(peak))
	}
	// The servers started from here on need PostgreSQL connections of
	// their own, which the machine's limit (shared with other work) may not
	// have beside the table's server and the baseline's pool.
	machineInfo := machine(t, pool)
	srv.stop(t)
	pool.Reset()

	var cpu []*profile
	if profiles {
		cpu = runProfiles(t, bin, dbURL, f, hot, sc.duration)
	}
	var instr *instructionsReport
	if instructions {
		instr = runInstructions(t, bin, dbURL, f, hot)
	}
	var lite *sqliteReport
	if onSQLite {
		lite = runSQLite(t, bin, sc, only)
	}
	var flood *floodReport
	if onPostgres && wantFlood(only) {
		flood = runFlood(t, bin, dbURL, f.email, f.token, f.cases[0], sc.flood, only)
		flood.scale = sc.name
		flood.command = "make bench BENCH_SCALE=" + sc.name
		if a := benchArgs(); a != "" {
			flood.command += " BENCH_ARGS='" + a + "'"
		}
	}
	var events *eventsReport
	if onPostgres && wantEvents(only) {
		events = runEvents(t, bin, sc)
		for _, f := range events.failures() {
			t.Logf("TARGET MISSED: %s", f)
		}
	}
	// The sections a partial run rewrites on its own, in results.md's order.
	var sections [][2]string
	if lite != nil {
		lite.command = command(sc)
		sections = append(sections, [2]string{sqliteSection, lite.markdown()})
	}
	if cpu != nil {
		sections = append(sections, [2]string{profilesSection, profilesMarkdown(cpu, sc, command(sc))})
	}
	if instr != nil {
		instr.command = command(sc)
		sections = append(sections, [2]string{instructionsSection, instr.markdown()})
	}
	if *onlyFlag != "" || !onPostgres {
		// A partial run makes no table; a flood or events run updates its own section.
		if events != nil {
			if err := writeEventsSection(*outFlag, events); err != nil {
				t.Fatal(err)
			}
		}
		if flood != nil {
			for _, f := range flood.failures() {
				t.Logf("TARGET MISSED: %s", f)
			}
			if err := writeFloodSection(*outFlag, flood); err != nil {
				t.Fatal(err)
			}
		}
		for _, s := range sections {
			if err := writeSection(*outFlag, s[0], s[1]); err != nil {
				t.Fatal(err)
			}
		}
		if lite != nil {
			for _, f := range lite.failures() {
				t.Logf("TARGET MISSED: SQLite: %s", f)
			}
		}
		return
	}

	skip := []string{flood.sectionName(), eventsSection}
	for _, s := range sections {
		skip = append(skip, s[0])
	}
	r := report{
		scale: sc, scenarios: scenarios, ceiling: ceil, rss: rss, rssRequests: reqs, rssErrors: rssErrs, peak: peak,
		seeded: seeded, elapsed: time.Since(began), machine: machineInfo, flood: flood, instructions: instr,
		kept: keptSections(*outFlag, skip...),
	}
	for _, s := range sections {
		r.kept = append(r.kept, section(s[0], s[1]))
	}
	if events != nil {
		r.kept = append([]string{section(eventsSection, events.markdown())}, r.kept...)
	}
	r.machine["load"] = fmt.Sprintf("%s before, %s after", loadBefore, loadavg())
	r.machine["steal"] = steal(cpuBefore, cpuTimes())
	md := r.markdown()
	fmt.Println(md)
	if err := os.WriteFile(*outFlag, []byte(md), 0o644); err != nil {
		t.Fatal(err)
	}
	// A missed target is a finding of the measurement, marked in the table,
	// not a failure of the command; errors during the run are failures.
	for _, f := range r.failures() {
		t.Logf("TARGET MISSED: %s", f)
	}
	if lite != nil {
		for _, f := range lite.failures() {
			t.Logf("TARGET MISSED: SQLite: %s", f)
		}
	}
}

// command is the make command of this run, as results.md quotes it.
func command(sc scale) string {
	c := "make bench BENCH_SCALE=" + sc.name
	if a := benchArgs(); a != "" {
		c += " BENCH_ARGS='" + a + "'"
	}
	return c
}

// wantSection reports whether the run includes the named section: a full
// run does, a partial one when -only matches its name.
func wantSection(only *regexp.Regexp, name string) bool {
	return only == nil || only.MatchString(name)
}

// measure runs every scenario's closed loop and fixed-rate attacks against
// switchboard at sbURL (process pid) and its baseline server at baseURL,
// and keeps the results in the scenarios.
func measure(t *testing.T, scenarios []*scenario, sbURL string, pid int, baseURL string, sc scale) {
	t.Helper()
	jsonHeader := http.Header{"Content-Type": {"application/json"}}
	for _, s := range scenarios {
		if s.ok == nil {
			s.ok = ok2xx
		}
		if s.per == 0 {
			s.per = time.Second
		}
		if s.conns == 0 {
			s.conns = closedConns
		}
		altURL, altHeader, altPid := baseURL, jsonHeader, 0
		if s.vsSelf {
			altURL, altHeader, altPid = sbURL, s.header, pid
		}
		once(t, sbURL, s.header, s.sb, s.ok)
		once(t, altURL, altHeader, s.pgx, s.ok)
		sbSide := &side{base: sbURL, header: s.header, req: s.sb, ok: s.ok}
		altSide := &side{base: altURL, header: altHeader, req: s.pgx, ok: s.ok}
		s.closedSB, s.closedAlt = compareClosed(sbSide, altSide, s.conns, sc.duration, sc.rounds, pid, altPid)
		s.got, s.base = compare(sbSide, altSide, s.rate, s.per, sc.duration, sc.rounds)
		t.Logf("%-45s closed %s | alt %s | ratio %.2f | cpu/req %s", s.name, s.closedSB.result(), s.closedAlt.result(), s.closedRatio(), s.closedSB.cpuPerRequest())
		t.Logf("%-45s fixed %s | alt %s | ratio %.2f", s.name, s.got, s.base, s.ratio())
		if s.got.Errors > 0 {
			t.Logf("  first error: %s", s.got.FirstError)
		}
		if s.base.Errors > 0 {
			t.Errorf("%s: the baseline had %d errors, first %s", s.name, s.base.Errors, s.base.FirstError)
		}
	}
}

// fixture is what the scenarios need on one database: the server, its first
// account's superadmin and credentials, a site, an email inbox and an SMS
// number, a contact with open chats, and the cases of 10,000 and 10 messages.
type fixture struct {
	st                     *store.Store
	sbURL                  string
	email, password, token string
	acct, agent, site      int64
	contact                int64
	cases                  []int64
	long, short            []int64
	newest                 time.Time
	basic, bearer          http.Header
}

const inboxEmail, inboxSMS, contactPhone = "help@bench.example", "+14155550160", "+14155550161"

// mustFixture creates the fixture's rows on the server's database through
// the store st, and raises the account's limits high enough that nothing is
// refused: the tables measure work.
func mustFixture(t *testing.T, st *store.Store, srv *server) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{st: st, sbURL: "http://" + srv.addr, newest: time.Now().UTC().Add(-time.Hour).Truncate(time.Second)}
	f.email, f.password, f.token = binarytest.MustCredentials(t, &srv.stdout)
	admin, err := st.AgentByEmail(ctx, f.email)
	if err != nil {
		t.Fatal(err)
	}
	f.acct, f.agent = admin.AccountID, admin.ID
	many, daily := 100_000_000, 1_000_000_000
	if _, err := st.UpdateAccount(ctx, f.acct, store.AccountUpdate{RateLimit: &many, DailyRateLimit: &daily,
		EmailsPerHour: &many, SMSPerHour: &many}); err != nil {
		t.Fatal(err)
	}
	site, err := st.CreateSite(ctx, f.acct, "bench.example")
	if err != nil {
		t.Fatal(err)
	}
	f.site = site.ID
	if _, err := st.CreateInbox(ctx, f.acct, models.InboxEmail, inboxEmail); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateInbox(ctx, f.acct, models.InboxSMS, inboxSMS); err != nil {
		t.Fatal(err)
	}
	f.contact = storetest.MustContact(t, st, f.acct, "Writer", "writer@example.com", contactPhone).ID
	for range openCases {
		c, err := st.CreateCase(ctx, f.acct, store.NewCase{ContactID: f.contact})
		if err != nil {
			t.Fatal(err)
		}
		f.cases = append(f.cases, c.ID)
	}
	f.basic = http.Header{}
	basicReq, _ := http.NewRequest(http.MethodGet, "/", nil)
	basicReq.SetBasicAuth(f.email, f.password)
	f.basic.Set("Authorization", basicReq.Header.Get("Authorization"))
	f.bearer = http.Header{"Authorization": {"Bearer " + f.token}, "Content-Type": {"application/json"}}
	return f
}

// mustPost adds a chat message to the case through switchboard's Acquire
// add-message, so that whatever the store maintains on write sees it.
func (f *fixture) mustPost(t *testing.T, id int64) {
	t.Helper()
	once(t, f.sbURL, f.bearer, func(int64) (string, string, []byte) {
		return http.MethodPost, addMessage,
			fmt.Appendf(nil, `{"channel":"chat","message":{"type":"message","message":"seed"},"caseId":%d}`, id)
	}, ok2xx)
}

// smallAccounts adds 3 small accounts of 10 offline messages each with a
// reply, so that the account's rows are not the only ones.
func smallAccounts(t *testing.T, st *store.Store, newest time.Time) {
	t.Helper()
	for i := range 3 {
		small := storetest.MustAccount(t, st, fmt.Sprintf("Small %d", i+1))
		a := storetest.MustAgent(t, st, small.ID, fmt.Sprintf("small%d@example.com", i+1), models.RoleSuperadmin, "x")
		c := storetest.MustContact(t, st, small.ID, "Visitor", fmt.Sprintf("visitor%d@example.com", i+1), "")
		for j := range 10 {
			oc := storetest.MustOfflineCase(t, st, small.ID, c.ID, "Hello", "Anyone there?", newest.Add(-time.Duration(j)*time.Hour))
			storetest.MustReply(t, st, small.ID, oc.ID, a.ID, "Yes", newest.Add(-time.Duration(j)*time.Hour+time.Minute))
		}
	}
}

const addMessage = "/api/v1/crm/messenger/chat/add-message"

func get(path string) request {
	return func(int64) (string, string, []byte) { return http.MethodGet, path, nil }
}

// scenarios returns the table's scenarios on the fixture: deepPage is the
// deep page's number and deepBase the baseline's path for it (known once
// the seed is in); outbox adds the email and SMS sends, whose baselines
// exist on PostgreSQL only.
func (f *fixture) scenarios(deepPage int64, deepBase func() string, outbox bool) []*scenario {
	caseOf := func(i int64) int64 { return f.cases[(i%openCases+openCases)%openCases] }
	agent := f.agent
	helpcrunch := func(prefix string) request {
		return func(i int64) (string, string, []byte) {
			return http.MethodPost, prefix + "/v1/messages",
				fmt.Appendf(nil, `{"chat":%d,"text":"reply %d","agent":%d,"type":"message"}`, caseOf(i), i, agent)
		}
	}
	acquireChat := func(path string) request {
		return func(i int64) (string, string, []byte) {
			return http.MethodPost, path,
				fmt.Appendf(nil, `{"channel":"chat","message":{"type":"message","message":"reply %d"},"caseId":%d}`, i, caseOf(i))
		}
	}
	mail := func(path string) request {
		return func(i int64) (string, string, []byte) {
			return http.MethodPost, path, fmt.Appendf(nil, `{"data":{"caseId":%d,"contactId":%d,"to":["writer@example.com"],"from":%q,"cc":[],"bcc":[],"subject":"Re: %d","type":"message","textBody":"reply %d","htmlBody":"<p>reply %d</p>","attachments":[]}}`,
				caseOf(i), f.contact, inboxEmail, i, i, i)
		}
	}
	sms := func(path string) request {
		return func(i int64) (string, string, []byte) {
			return http.MethodPost, path, fmt.Appendf(nil, `{"threadId":%d,"From":%q,"To":%q,"Body":"reply %d"}`,
				caseOf(i), inboxSMS, contactPhone, i)
		}
	}
	// Uploads: each request new visitors, so that contacts are created too;
	// the baseline's and switchboard's requests never share one.
	upload := func(path, method string, messages int, run int64) request {
		return func(i int64) (string, string, []byte) {
			return http.MethodPost, path, uploadBody(method, f.token, f.site, agent, run, i, 500, messages)
		}
	}
	// The case-length cases are read when a request is made: they are
	// seeded after the scenarios are listed.
	pick := func(cases *[]int64) func(path string) request {
		return func(path string) request {
			return func(i int64) (string, string, []byte) {
				ids := *cases
				return http.MethodPost, path,
					fmt.Appendf(nil, `{"channel":"chat","message":{"type":"message","message":"reply %d"},"caseId":%d}`, i, ids[(i%int64(len(ids))+int64(len(ids)))%int64(len(ids))])
			}
		}
	}
	read := func(cases *[]int64) request {
		return func(i int64) (string, string, []byte) {
			ids := *cases
			return http.MethodGet, fmt.Sprintf("/api/v1/crm/objects/case/%d", ids[(i%int64(len(ids))+int64(len(ids)))%int64(len(ids))]), nil
		}
	}
	jsonHeader := http.Header{"Content-Type": {"application/json"}}
	out := []*scenario{
		{name: "REVE offline messages, page 1", rate: 300, sb: get("/api/offlinemessages/?page_no=1"), pgx: get("/keyset/"), header: f.basic,
			ok: okPage, goal: 0.8, item: "1", hot: true},
		{name: fmt.Sprintf("REVE offline messages, page %d (deep)", deepPage), rate: 300,
			sb: get(fmt.Sprintf("/api/offlinemessages/?page_no=%d", deepPage)), pgx: func(int64) (string, string, []byte) {
				return http.MethodGet, deepBase(), nil
			}, header: f.basic, ok: okPage, item: "1"},
		{name: "HelpCrunch POST /v1/messages", write: true, rate: 200, sb: helpcrunch(""), pgx: helpcrunch("/message"), header: f.bearer,
			goal: 0.8, item: "2", hot: true},
		{name: "Acquire chat/add-message", write: true, rate: 200, sb: acquireChat(addMessage),
			pgx: acquireChat("/acquire/"), header: f.bearer, goal: 0.8, item: "2", hot: true},
		{name: "Acquire chat/add-message, 10,000- vs 10-message cases", write: true, rate: 100, sb: pick(&f.long)(addMessage),
			pgx: pick(&f.short)(addMessage), header: f.bearer, vsSelf: true, goal: 1 / 1.2, item: "3"},
		{name: "Acquire GET case, 10,000- vs 10-message cases", rate: 200, sb: read(&f.long), pgx: read(&f.short), header: f.bearer,
			vsSelf: true, goal: 1 / 1.2, item: "3"},
		{name: "CallGear upload.chats (500 × 10)", write: true, rate: 1, sb: upload("/data-api/v2.0", "upload.chats", 10, 1),
			pgx: upload("/callgear/", "upload.chats", 10, 2), header: jsonHeader, ok: okRPC, conns: 4, goal: 1 / 1.5, item: "4", hot: true},
		{name: "CallGear upload.offline_messages (500)", write: true, rate: 2, sb: upload("/data-api/v2.0", "upload.offline_messages", 1, 3),
			pgx: upload("/callgear/", "upload.offline_messages", 1, 4), header: jsonHeader, ok: okRPC, conns: 4},
	}
	if outbox {
		out = append(out,
			&scenario{name: "Acquire mail/add-message (email)", write: true, rate: 100, sb: mail("/api/v1/mail/add-message"), pgx: mail("/email/"), header: f.bearer},
			&scenario{name: "Acquire voip/send-sms (SMS)", write: true, rate: 100, sb: sms("/api/v1/voip/send-sms"), pgx: sms("/sms/"), header: f.bearer})
	}
	return out
}

func (r run) String() string {
	return fmt.Sprintf("%d/s: %.0f req/s p50 %s p99 %s errors %d/%d", r.Rate, r.Throughput, ms(r.P50), ms(r.P99), r.Errors, r.Requests)
}

// uploadBody is the i-th CallGear upload of a run: n chats of k messages
// (method upload.chats) or n offline messages, from visitors new to the
// account, in the past.
func uploadBody(method, token string, site, agent, run, i int64, n, k int) []byte {
	at := time.Now().UTC().Add(-time.Duration(run*100_000+i+2) * time.Hour).Truncate(time.Second)
	items := make([]map[string]any, n)
	for j := range items {
		it := at.Add(time.Duration(j) * time.Second)
		m := map[string]any{"email": fmt.Sprintf("up-%d-%d-%d@example.com", run, i, j), "site_id": site}
		if method == "upload.chats" {
			m["start_date_time"], m["status"] = it.Format(time.DateTime), "succeeded"
			msgs := make([]map[string]any, k)
			for x := range msgs {
				msg := map[string]any{"date_time": it.Add(time.Duration(x) * time.Second).Format(time.DateTime), "source": "visitor",
					"message": fmt.Sprintf("message %d of chat %d", x, j)}
				if x%2 == 1 {
					msg["source"], msg["employee_id"] = "operator", agent
				}
				msgs[x] = msg
			}
			m["messages"] = msgs
		} else {
			m["date_time"], m["message"] = it.Format(time.DateTime), fmt.Sprintf("offline message %d", j)
		}
		items[j] = m
	}
	list := "offline_messages"
	if method == "upload.chats" {
		list = "chats"
	}
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": i, "method": method,
		"params": map[string]any{"access_token": token, list: items}})
	return b
}

// loadavg returns the 1-minute load average: other work on the machine
// during a run shows here.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Fields(string(b))[0]
}

// cpuTimes returns the machine's CPU time counters of /proc/stat (user,
// nice, system, idle, iowait, irq, softirq, steal, ...), nil if unreadable.
func cpuTimes() []int64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return nil
	}
	line, _, _ := strings.Cut(string(b), "\n")
	var out []int64
	for _, f := range strings.Fields(line)[1:] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return nil
		}
		out = append(out, n)
	}
	return out
}

// steal returns the share of CPU time the hypervisor gave to other machines
// between two cpuTimes readings: on a virtual machine, time the run waited
// for cores it did not get.
func steal(before, after []int64) string {
	if len(before) < 8 || len(after) < 8 {
		return "unknown"
	}
	// The first eight counters add up to all the time; guest and guest_nice
	// after them are already counted in user and nice.
	var total int64
	for i := range 8 {
		total += after[i] - before[i]
	}
	if total <= 0 {
		return "unknown"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(after[7]-before[7])/float64(total))
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }
func mb(n int64) float64        { return float64(n) / (1 << 20) }

// machine describes where the benchmark ran.
func machine(t *testing.T, pool *pgxpool.Pool) map[string]string {
	t.Helper()
	m := map[string]string{"cores": fmt.Sprint(runtime.NumCPU()), "go": runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m["cpu"] = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		if _, err := fmt.Sscanf(strings.SplitN(string(b), "\n", 2)[0], "MemTotal: %d kB", &kb); err == nil {
			m["memory"] = fmt.Sprintf("%.1f GB", float64(kb)/(1<<20))
		}
	}
	var v string
	if err := pool.QueryRow(context.Background(), "SELECT version()").Scan(&v); err != nil {
		t.Fatal(err)
	}
	m["postgres"] = v
	if out, err := exec.Command("uname", "-sr").Output(); err == nil {
		m["os"] = strings.TrimSpace(string(out))
	}
	return m
}

package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"switchboard/cmd/switchboard/binarytest"
	"switchboard/handlers"
	"switchboard/handlers/dialect"
	"switchboard/store"
	"switchboard/store/storetest"
)

// mustServeRegistry returns the names of the metric families serve's
// registry holds after one request through the real router: the guards'
// registry with everything registerMetrics adds.
func mustServeRegistry(t *testing.T) map[string]bool {
	t.Helper()
	st := storetest.MustOpen(t, store.SQLite)
	log := slog.New(slog.DiscardHandler)
	var cfg guardConfig
	g, err := cfg.build(t.Context(), st, log)
	if err != nil {
		t.Fatal(err)
	}
	defer g.counter.Close()
	e := handlers.New(handlers.Config{}, handlers.Deps{Deps: dialect.Deps{Store: st, Log: log},
		Metrics: g.metrics, Instruments: g.instruments})
	e.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/healthz", nil))
	families, err := g.metrics.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range families {
		names[f.GetName()] = true
	}
	return names
}

// TestServeMetrics_Registered checks that every metric issue 23 asks for
// is on serve's registry from the start (the HTTP ones after the first
// request), the outbox's per channel.
func TestServeMetrics_Registered(t *testing.T) {
	names := mustServeRegistry(t)
	for _, want := range []string{
		"switchboard_http_requests_total", "switchboard_http_request_duration_seconds", "switchboard_http_requests_in_flight",
		"go_sql_open_connections", "go_sql_in_use_connections", "go_sql_wait_count_total",
		"switchboard_outbox_pending", "switchboard_outbox_oldest_due_age_seconds", "switchboard_outbox_stats_up",
		"switchboard_deliveries_total", "switchboard_bcrypt_compares_total",
		"go_goroutines", "process_cpu_seconds_total",
	} {
		if !names[want] {
			t.Errorf("serve's registry lacks %s", want)
		}
	}
}

// TestGrafanaDashboard checks deploy/grafana-dashboard.json: valid JSON,
// every metric its queries name is one serve registers, and it shows each
// of the server's own metrics.
func TestGrafanaDashboard(t *testing.T) {
	b, err := os.ReadFile("../../deploy/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash any
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("the dashboard is not valid JSON: %v", err)
	}
	var exprs []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if s, ok := x.(string); ok && (k == "expr" || k == "query" || k == "definition") {
					exprs = append(exprs, s)
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(dash)
	if len(exprs) < 10 {
		t.Fatalf("%d queries in the dashboard, want its panels' queries", len(exprs))
	}
	registered := mustServeRegistry(t)
	metric := regexp.MustCompile(`\b(?:switchboard|go|process)_[a-zA-Z0-9_]+`)
	queried := map[string]bool{}
	for _, expr := range exprs {
		for _, name := range metric.FindAllString(expr, -1) {
			base := name
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				if b, ok := strings.CutSuffix(name, suffix); ok && registered[b] {
					base = b
				}
			}
			if !registered[base] {
				t.Errorf("the dashboard queries %s, which serve does not register (in %s)", name, expr)
			}
			queried[base] = true
		}
	}
	var own []string
	for name := range registered {
		if strings.HasPrefix(name, "switchboard_") && !strings.HasPrefix(name, "switchboard_idempotency") &&
			name != "switchboard_ratelimit_unavailable_total" {
			own = append(own, name)
		}
	}
	slices.Sort(own)
	for _, name := range append(own, "go_sql_open_connections", "go_sql_in_use_connections", "go_sql_wait_count_total") {
		if !queried[name] {
			t.Errorf("the dashboard does not show %s", name)
		}
	}
}

// TestComposeFile checks deploy/compose.yaml where no Docker engine can:
// PostgreSQL and Redis have health checks that switchboard waits for,
// PostgreSQL keeps its data in a volume, switchboard has the image's
// health check and replicas, and every SWITCHBOARD_* variable it sets is
// one serve reads.
func TestComposeFile(t *testing.T) {
	b, err := os.ReadFile("../../deploy/compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	type service struct {
		Build       any               `yaml:"build"`
		Image       string            `yaml:"image"`
		Environment map[string]string `yaml:"environment"`
		Volumes     []string          `yaml:"volumes"`
		Healthcheck *struct {
			Test []string `yaml:"test"`
		} `yaml:"healthcheck"`
		DependsOn map[string]struct {
			Condition string `yaml:"condition"`
		} `yaml:"depends_on"`
		Deploy struct {
			Replicas string `yaml:"replicas"`
		} `yaml:"deploy"`
	}
	var compose struct {
		Services map[string]service `yaml:"services"`
		Volumes  map[string]any     `yaml:"volumes"`
	}
	if err := yaml.Unmarshal(b, &compose); err != nil {
		t.Fatalf("deploy/compose.yaml: %v", err)
	}
	sb, ok := compose.Services["switchboard"]
	if !ok || sb.Build == nil {
		t.Fatalf("no switchboard service built from the Dockerfile: %+v", compose.Services)
	}
	if sb.Healthcheck == nil || !slices.Contains(sb.Healthcheck.Test, "healthcheck") {
		t.Errorf("switchboard's health check = %+v, want the binary's healthcheck", sb.Healthcheck)
	}
	if sb.Deploy.Replicas == "" {
		t.Error("switchboard has no deploy.replicas")
	}
	for _, dep := range []string{"postgres", "redis"} {
		if c := sb.DependsOn[dep].Condition; c != "service_healthy" {
			t.Errorf("switchboard depends on %s with condition %q, want service_healthy", dep, c)
		}
		s, ok := compose.Services[dep]
		if !ok || s.Healthcheck == nil || len(s.Healthcheck.Test) == 0 {
			t.Errorf("service %s missing or without a health check", dep)
		}
	}
	pg := compose.Services["postgres"]
	named := false
	for _, v := range pg.Volumes {
		name, target, _ := strings.Cut(v, ":")
		if _, ok := compose.Volumes[name]; ok && target == "/var/lib/postgresql/data" {
			named = true
		}
	}
	if !named {
		t.Errorf("postgres volumes %v, want a named volume at /var/lib/postgresql/data", pg.Volumes)
	}
	for _, name := range []string{"SWITCHBOARD_DATABASE_URL", "SWITCHBOARD_REDIS_URL", "SWITCHBOARD_ADDR"} {
		if sb.Environment[name] == "" {
			t.Errorf("switchboard does not set %s", name)
		}
	}
	known := map[string]bool{}
	for _, f := range envFlags() {
		known["SWITCHBOARD_"+strings.ToUpper(strings.ReplaceAll(f, "-", "_"))] = true
	}
	for name := range sb.Environment {
		if !known[name] {
			t.Errorf("switchboard sets %s, which serve does not read", name)
		}
	}
	if !strings.HasPrefix(sb.Environment["SWITCHBOARD_DATABASE_URL"], "postgres://") {
		t.Errorf("SWITCHBOARD_DATABASE_URL = %q, want PostgreSQL: replicas share one database", sb.Environment["SWITCHBOARD_DATABASE_URL"])
	}
}

// logAddr returns the addr of the server's log record with the message.
func logAddr(t *testing.T, s *server, msg string) string {
	t.Helper()
	for line := range strings.SplitSeq(s.logs.String(), "\n") {
		var rec struct{ Msg, Addr string }
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == msg {
			return rec.Addr
		}
	}
	t.Fatalf("no %q record in the log:\n%s", msg, s.logs.String())
	return ""
}

// TestE2E_MetricsAddr runs the real binary with --metrics-addr: /metrics
// is served there and not on the main address, and after a little traffic
// (reads, a Basic login, an email sent and an SMS left queued without a
// provider) it shows each figure where traffic flowed.
func TestE2E_MetricsAddr(t *testing.T) {
	bin := mustBuild(t)
	dbURL := storetest.MustURL(t, store.SQLite)
	mb := mustMailbox(t)
	s := mustStartWith(t, bin, dbURL, map[string]string{"SWITCHBOARD_METRICS_ADDR": "127.0.0.1:0",
		"SWITCHBOARD_SMTP_URL": "smtp://" + mb.addr, "SWITCHBOARD_SMS_URL": ""})
	// The metrics server listens before the main one says it does.
	maddr := logAddr(t, s, "metrics: listening")
	email, password, token := binarytest.MustCredentials(t, s.stdout)
	c := cli{dbURL: dbURL}
	c.mustID(t, "inbox", "create", "--account", "1", "--kind", "email", "--address", "help@acme.example")
	c.mustID(t, "inbox", "create", "--account", "1", "--kind", "sms", "--address", "+14155550150")

	if r := s.mustSend(t, request{method: http.MethodGet, path: "/v1/chats", token: token}); r.code != http.StatusOK {
		t.Fatalf("/v1/chats = %d %s", r.code, r.body)
	}
	if code, body := s.get(t, "/api/offlinemessages", email, password); code != http.StatusOK {
		t.Fatalf("/api/offlinemessages = %d %s", code, body)
	}
	code, body := s.call(t, http.MethodPost, "/v1/customers", token, "", map[string]any{"name": "Ann", "email": "ann@example.com", "phone": "+14155550101"})
	var cust struct{ ID int64 }
	mustJSON(t, "customer", body, &cust)
	if code != http.StatusOK {
		t.Fatalf("POST /v1/customers = %d %s", code, body)
	}
	code, body = s.call(t, http.MethodPost, "/v1/chats", token, "", map[string]any{"customer": cust.ID})
	var chat struct{ ID int64 }
	mustJSON(t, "chat", body, &chat)
	if code != http.StatusOK {
		t.Fatalf("POST /v1/chats = %d %s", code, body)
	}
	code, body = s.call(t, http.MethodPost, "/api/v1/mail/add-message", token, "", map[string]any{"data": map[string]any{
		"caseId": chat.ID, "to": []string{"ann@example.com"}, "from": "help@acme.example", "subject": "Hi", "cc": []string{}, "bcc": []string{}, "attachments": []any{},
		"contactId": cust.ID, "type": "message", "textBody": "text", "htmlBody": "<p>html</p>"}})
	if code != http.StatusOK {
		t.Fatalf("mail/add-message = %d %s", code, body)
	}
	code, body = s.call(t, http.MethodPost, "/api/v1/voip/send-sms", token, "", map[string]any{
		"Body": "Hello", "From": "+14155550150", "To": "+14155550101", "contactId": cust.ID, "threadId": chat.ID})
	if code != http.StatusOK {
		t.Fatalf("send-sms = %d %s", code, body)
	}

	res, err := http.Get("http://" + s.addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("/metrics on the main address = %d, want 404", res.StatusCode)
	}

	scrape := func() string {
		res, err := http.Get("http://" + maddr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("/metrics on --metrics-addr = %d %s", res.StatusCode, b)
		}
		return string(b)
	}
	const sent = `switchboard_deliveries_total{channel="email",result="sent"} 1`
	var out string
	waitFor(t, "the email counted as sent", func() bool {
		out = scrape()
		return slices.Contains(strings.Split(out, "\n"), sent)
	})
	lines := strings.Split(out, "\n")
	for _, want := range []string{
		`switchboard_http_requests_total{method="GET",route="/v1/chats",status="200"} 1`,
		`switchboard_http_requests_total{method="GET",route="/api/offlinemessages",status="200"} 1`,
		`switchboard_http_requests_total{method="POST",route="/api/v1/mail/add-message",status="200"} 1`,
		`switchboard_http_request_duration_seconds_count{method="GET",route="/v1/chats",status="200"} 1`,
		`switchboard_bcrypt_compares_total{result="match"} 1`,
		`switchboard_outbox_pending{channel="email"} 0`,
		`switchboard_outbox_pending{channel="sms"} 1`,
		`switchboard_outbox_stats_up 1`,
		`go_sql_max_open_connections{db_name="switchboard"} 1`,
	} {
		if !slices.Contains(lines, want) {
			t.Errorf("/metrics lacks the line %s", want)
		}
	}
	// The queued SMS has been due since it was written.
	if !regexp.MustCompile(`(?m)^switchboard_outbox_oldest_due_age_seconds\{channel="sms"\} [0-9.e+-]+$`).MatchString(out) {
		t.Errorf("/metrics has no age of the SMS outbox:\n%s", grepMetric(out, "switchboard_outbox"))
	}
	if regexp.MustCompile(`(?m)^switchboard_http_requests_in_flight `).FindString(out) == "" {
		t.Error("/metrics has no switchboard_http_requests_in_flight")
	}
	if err := s.stop(t); err != nil {
		t.Errorf("stop: %v\n%s", err, s.logs.String())
	}
}

// grepMetric returns the lines of out that hold name.
func grepMetric(out, name string) string {
	var keep []string
	for l := range strings.SplitSeq(out, "\n") {
		if strings.Contains(l, name) {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

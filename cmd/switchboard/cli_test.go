package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"switchboard/auth"
	"switchboard/store"
	"switchboard/store/storetest"
)

// execResult is one in-process run of the program as main runs it.
type execResult struct {
	code           int
	stdout, stderr string
}

func (c cli) exec(t *testing.T, stdin string, args ...string) execResult {
	t.Helper()
	var out, errOut bytes.Buffer
	env := func(k string) string {
		if k == "SWITCHBOARD_DATABASE_URL" && c.dbURL != "" {
			return c.dbURL
		}
		return c.env[k]
	}
	code := execute(t.Context(), args, env, strings.NewReader(stdin), &out, &errOut)
	return execResult{code, out.String(), errOut.String()}
}

func TestExecute_Bare(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "bare.db")
	r := cli{dbURL: "sqlite:" + dbPath}.exec(t, "")
	if r.code != 0 || !strings.Contains(r.stdout, "Commands:") || r.stderr != "" {
		t.Errorf("bare switchboard: exit %d, stdout %q, stderr %q; want help on stdout and 0", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(dbPath); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("bare switchboard touched the database (%v): it must start nothing", err)
	}
}

func TestExecute_Version(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"version"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r := cli{}.exec(t, "", args...)
			if r.code != 0 || !strings.HasPrefix(r.stdout, "switchboard ") || strings.Count(r.stdout, "\n") != 1 {
				t.Errorf("exit %d, stdout %q; want one line starting 'switchboard '", r.code, r.stdout)
			}
		})
	}
	r := cli{}.exec(t, "", "version", "--json")
	var v struct {
		Version *string `json:"version"`
		Dirty   *bool   `json:"dirty"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil || r.code != 0 || v.Version == nil || *v.Version == "" || v.Dirty == nil {
		t.Errorf("version --json: exit %d, %q (%v); want version and dirty", r.code, r.stdout, err)
	}
}

// TestRun_HelpListsEveryEnvironmentVariable compares the variables top-level
// help names with those the program reads (serve reads the most; every
// command reads through the same parse): neither may name one the other
// does not.
func TestRun_HelpListsEveryEnvironmentVariable(t *testing.T) {
	var mu sync.Mutex
	read := map[string]bool{}
	env := func(k string) string {
		mu.Lock()
		defer mu.Unlock()
		read[k] = true
		return ""
	}
	var out bytes.Buffer
	if err := run(t.Context(), []string{"serve", "--help"}, env, strings.NewReader(""), &out, &out); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("serve --help: %v", err)
	}
	var top bytes.Buffer
	if err := run(t.Context(), []string{"--help"}, env, strings.NewReader(""), &top, &top); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("--help: %v", err)
	}
	_, envSection, ok := strings.Cut(top.String(), "\nEnvironment")
	if !ok {
		t.Fatalf("top-level help has no Environment section:\n%s", top.String())
	}
	listed := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^  (SWITCHBOARD_[A-Z0-9_]+)\s`).FindAllStringSubmatch(envSection, -1) {
		listed[m[1]] = true
	}
	var readKeys, listedKeys []string
	for k := range read {
		readKeys = append(readKeys, k)
	}
	for k := range listed {
		listedKeys = append(listedKeys, k)
	}
	slices.Sort(readKeys)
	slices.Sort(listedKeys)
	if !slices.Equal(readKeys, listedKeys) {
		t.Errorf("serve reads %v\nbut help lists %v", readKeys, listedKeys)
	}
	for _, want := range []string{"SWITCHBOARD_REDIS_URL", "SWITCHBOARD_REDIS_PREFIX", "SWITCHBOARD_IP_RATE_LIMIT", "SWITCHBOARD_TRUSTED_PROXIES"} {
		if !listed[want] {
			t.Errorf("help does not list %s", want)
		}
	}
	// A flag whose usage names a variable must be one that reads it.
	var cfg serveConfig
	fs := serveFlags(&cfg)
	fs.VisitAll(func(f *flag.Flag) {
		if m := regexp.MustCompile(`env (SWITCHBOARD_[A-Z0-9_]+)`).FindStringSubmatch(f.Usage); m != nil && !read[m[1]] {
			t.Errorf("--%s says it reads %s, which is not in envFlags", f.Name, m[1])
		}
	})
	for _, name := range envFlags() {
		if fs.Lookup(name) == nil {
			t.Errorf("envFlags names --%s, which serve does not define", name)
		}
	}
}

// TestRun_CommandHelp runs every noun's and verb's help: a noun lists each
// of its verbs, a verb's help shows its flags in --flag form, --json among
// them.
func TestRun_CommandHelp(t *testing.T) {
	singleDash := regexp.MustCompile(`(?m)^\s+-[a-z]`)
	for _, n := range commands() {
		if n.run == nil {
			t.Run(n.name, func(t *testing.T) {
				out, _, err := cli{}.run(t, "", n.name, "--help")
				if !errors.Is(err, flag.ErrHelp) {
					t.Fatalf("err = %v, want flag.ErrHelp", err)
				}
				for _, v := range n.verbs {
					if !regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(v.name) + `\s`).MatchString(out) {
						t.Errorf("%s --help does not list %s:\n%s", n.name, v.name, out)
					}
				}
			})
		}
		verbs := n.verbs
		if n.run != nil {
			verbs = []verb{{name: ""}}
		}
		for _, v := range verbs {
			args := strings.Fields(n.name + " " + v.name)
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				out, _, err := cli{}.run(t, "", append(args, "--help")...)
				if !errors.Is(err, flag.ErrHelp) {
					t.Fatalf("err = %v, want flag.ErrHelp", err)
				}
				if !strings.HasPrefix(out, "Usage: switchboard "+strings.Join(args, " ")) {
					t.Errorf("help does not start with its usage:\n%s", out)
				}
				if singleDash.MatchString(out) {
					t.Errorf("help shows a flag in -flag form:\n%s", out)
				}
				if !strings.Contains(out, "\n  --json\n") {
					t.Errorf("help has no --json:\n%s", out)
				}
				if n.name != "version" && n.name != "healthcheck" && !strings.Contains(out, "(default sqlite:switchboard.db; env SWITCHBOARD_DATABASE_URL)") {
					t.Errorf("help does not show --database-url's default and variable:\n%s", out)
				}
			})
		}
	}
	top, _, _ := cli{}.run(t, "", "--help")
	for _, want := range []string{"account list", "agent list", "agent set-password", "site list", "inbox list", "Exit status: 0", "2 usage error"} {
		if !strings.Contains(top, want) {
			t.Errorf("top-level help does not mention %q", want)
		}
	}
}

func TestErrorLines(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want []string
	}{
		{"not found repeats its record", fmt.Errorf("update account 99: %w", &store.NotFoundError{Entity: "account", ID: 99}),
			[]string{"account 99: not found"}},
		{"conflict repeats its noun", fmt.Errorf("create agent: agent ann@example.com: %w", store.ErrConflict),
			[]string{"agent ann@example.com: already exists"}},
		{"nothing repeats", fmt.Errorf("list api keys: %w", store.ErrUnavailable), []string{"list api keys: database unavailable"}},
		{"field errors, one line each, as flags", store.FieldErrors{{Field: "rate_limit", Message: "must be 0 (the default) or more"}, {Field: "name", Message: "must not be empty"}},
			[]string{"--rate-limit: must be 0 (the default) or more", "--name: must not be empty"}},
		{"joined errors, one line each", errors.Join(errors.New("--addr \"x\": want HOST:PORT or :PORT"), errors.New("--reve-page-size 0: want 1 to 1000")),
			[]string{"--addr \"x\": want HOST:PORT or :PORT", "--reve-page-size 0: want 1 to 1000"}},
		{"a driver's lines folded", errors.New("open postgres database: failed to connect to `user=x database=db`:\n\t127.0.0.1:1 (127.0.0.1): dial error: refused\n\t127.0.0.1:1 (127.0.0.1): dial error: refused"),
			[]string{"open postgres database: failed to connect to `user=x database=db`: 127.0.0.1:1 (127.0.0.1): dial error: refused"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errorLines(tt.err); !slices.Equal(got, tt.want) {
				t.Errorf("errorLines = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestExecute_ExitCodesAndErrors(t *testing.T) {
	c := cli{dbURL: storetest.MustURL(t, store.SQLite)}
	// Migrated first: a command that migrates logs it.
	if r := c.exec(t, "", "migrate"); r.code != 0 {
		t.Fatalf("migrate: %+v", r)
	}
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr string
	}{
		{"help", []string{"account", "--help"}, 0, ""},
		{"unknown command", []string{"frobnicate"}, 2, "switchboard: unknown command \"frobnicate\" (run 'switchboard --help' for the commands)\n"},
		{"flag before the command", []string{"--addr", ":9000"}, 2, "switchboard: --addr before a command; want 'switchboard serve --addr :9000' (run 'switchboard --help' for the commands)\n"},
		{"unknown flag", []string{"account", "list", "--nope"}, 2, "switchboard account list: unknown flag --nope (run 'switchboard account list --help' for its flags)\n"},
		{"not found, said once", []string{"account", "update", "--id", "99", "--name", "x"}, 1, "switchboard: account 99: not found\n"},
		{"unknown account of a list", []string{"agent", "list", "--account", "99"}, 1, "switchboard: list agents: account 99: not found\n"},
		{"bad input, one line a field", []string{"account", "create", "--name", " ", "--rate-limit", "-1"}, 1,
			"switchboard: --name: must not be empty\nswitchboard: --rate-limit: must be 0 (the default) or more\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.exec(t, "", tt.args...)
			if r.code != tt.wantCode || r.stderr != tt.wantStderr {
				t.Errorf("exit %d, stderr %q; want %d, %q", r.code, r.stderr, tt.wantCode, tt.wantStderr)
			}
		})
	}
}

// TestExecute_UnreachableDatabaseSaidOnce: GORM's own log of the failed
// connection is silenced; the error is printed once, on one line.
func TestExecute_UnreachableDatabaseSaidOnce(t *testing.T) {
	r := cli{dbURL: "postgres://nobody@127.0.0.1:1/none?connect_timeout=2"}.exec(t, "", "migrate")
	if r.code != 1 || strings.Count(r.stderr, "\n") != 1 || strings.Count(r.stderr, "connection refused") != 1 {
		t.Errorf("exit %d, stderr %q; want one line naming the refused connection once", r.code, r.stderr)
	}
}

func TestExecute_MigrateJSON(t *testing.T) {
	c := cli{dbURL: storetest.MustURL(t, store.SQLite)}
	var first, second struct {
		Applied []int `json:"applied"`
		Version int   `json:"version"`
	}
	r := c.exec(t, "", "migrate", "--json")
	if err := json.Unmarshal([]byte(r.stdout), &first); err != nil || r.code != 0 || len(first.Applied) == 0 || first.Version != first.Applied[len(first.Applied)-1] {
		t.Fatalf("migrate --json: exit %d, %q (%v)", r.code, r.stdout, err)
	}
	r = c.exec(t, "", "migrate", "--json")
	if err := json.Unmarshal([]byte(r.stdout), &second); err != nil || second.Applied == nil || len(second.Applied) != 0 || second.Version != first.Version {
		t.Errorf("second migrate --json printed %q (%v); want applied [] and version %d", r.stdout, err, first.Version)
	}
}

func TestExecute_Lists(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(string(b), func(t *testing.T) {
			c := cli{dbURL: storetest.MustURL(t, b)}
			acct := strconv.FormatInt(c.mustID(t, "account", "create", "--name", "Acme"), 10)
			c.mustID(t, "account", "create", "--name", "Beta")
			c.mustID(t, "agent", "create", "--account", acct, "--email", "ann@example.com", "--password", "long-enough", "--role", "admin", "--first-name", "Ann")
			c.mustID(t, "site", "create", "--account", acct, "--domain", "acme.example")
			c.mustID(t, "inbox", "create", "--account", acct, "--kind", "email", "--address", "help@acme.example")
			tests := []struct {
				args     []string
				text     []string
				jsonLen  int
				jsonWant map[string]any
			}{
				{[]string{"account", "list"}, []string{"ID", "Acme", "Beta"}, 2, map[string]any{"name": "Acme"}},
				{[]string{"agent", "list", "--account", acct}, []string{"EMAIL", "ann@example.com", "Ann"}, 1, map[string]any{"email": "ann@example.com", "role": "admin", "enabled": true}},
				{[]string{"site", "list", "--account", acct}, []string{"DOMAIN", "acme.example"}, 1, map[string]any{"domain": "acme.example"}},
				{[]string{"inbox", "list", "--account", acct}, []string{"ADDRESS", "help@acme.example", "yes"}, 1, map[string]any{"address": "help@acme.example", "has_secret": true}},
			}
			for _, tt := range tests {
				t.Run(strings.Join(tt.args[:2], " "), func(t *testing.T) {
					r := c.exec(t, "", tt.args...)
					for _, want := range tt.text {
						if r.code != 0 || !strings.Contains(r.stdout, want) {
							t.Errorf("exit %d, table %q does not show %q (%s)", r.code, r.stdout, want, r.stderr)
						}
					}
					r = c.exec(t, "", append(tt.args, "--json")...)
					var rows []map[string]any
					if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil || len(rows) != tt.jsonLen {
						t.Fatalf("--json printed %q (%v); want %d rows", r.stdout, err, tt.jsonLen)
					}
					for k, v := range tt.jsonWant {
						if rows[0][k] != v {
							t.Errorf("--json row[0][%s] = %v, want %v", k, rows[0][k], v)
						}
					}
					if strings.Contains(r.stdout, `"secret":`) || strings.Contains(r.stdout, "password") {
						t.Errorf("--json shows a secret or password: %s", r.stdout)
					}
				})
			}
			t.Run("missing --account", func(t *testing.T) {
				for _, noun := range []string{"agent", "site", "inbox"} {
					if r := c.exec(t, "", noun, "list"); r.code != 2 || r.stderr != "switchboard "+noun+" list: missing --account\n" {
						t.Errorf("%s list: exit %d, stderr %q", noun, r.code, r.stderr)
					}
				}
			})
		})
	}
}

func TestExecute_SetPassword(t *testing.T) {
	dbURL := storetest.MustURL(t, store.SQLite)
	c := cli{dbURL: dbURL}
	acct := strconv.FormatInt(c.mustID(t, "account", "create", "--name", "Acme"), 10)
	agent := strconv.FormatInt(c.mustID(t, "agent", "create", "--account", acct, "--email", "ann@example.com", "--password", "old-password", "--role", "admin"), 10)
	tests := []struct {
		name       string
		stdin      string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{"missing flags", "new-password\n", nil, 2, "", "switchboard agent set-password: missing --account, --id\n"},
		{"empty input", "", []string{"--account", acct, "--id", agent}, 1, "", "switchboard: standard input holds no password: want it on the first line\n"},
		{"too short", "short\n", []string{"--account", acct, "--id", agent}, 1, "", "switchboard: the password from standard input: password must be 8 to 72 bytes long\n"},
		{"unknown agent", "new-password\n", []string{"--account", acct, "--id", "999"}, 1, "", "switchboard: agent 999: not found\n"},
		{"no password flag", "new-password\n", []string{"--account", acct, "--id", agent, "--password", "x"}, 2, "",
			"switchboard agent set-password: unknown flag --password (run 'switchboard agent set-password --help' for its flags)\n"},
		{"OK", "new-password\r\nignored\n", []string{"--account", acct, "--id", agent}, 0, "agent " + agent + ": password changed\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.exec(t, tt.stdin, append([]string{"agent", "set-password"}, tt.args...)...)
			if r.code != tt.wantCode || r.stdout != tt.wantStdout || r.stderr != tt.wantStderr {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d, %q, %q", r.code, r.stdout, r.stderr, tt.wantCode, tt.wantStdout, tt.wantStderr)
			}
		})
	}
	st := storetest.MustOpenURL(t, dbURL)
	a, err := st.AgentByEmail(t.Context(), "ann@example.com")
	if err != nil || !(auth.Hasher{}).Verify(a.PasswordHash, "new-password") || (auth.Hasher{}).Verify(a.PasswordHash, "old-password") {
		t.Errorf("stored hash does not take the new password alone (%v)", err)
	}
	r := c.exec(t, "another-password\n", "agent", "set-password", "--account", acct, "--id", agent, "--json")
	var got map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || r.code != 0 || got["email"] != "ann@example.com" || got["password_hash"] != nil {
		t.Errorf("set-password --json: exit %d, %q (%v)", r.code, r.stdout, err)
	}
}

// TestOutbox_StartupLines: each channel without a sender says so once, at
// INFO, naming its flag and what stays queued; nothing is a warning.
func TestOutbox_StartupLines(t *testing.T) {
	st := storetest.MustOpen(t, store.SQLite)
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	c := outboxConfig{workers: 1, maxAttempts: 1}
	w, err := c.worker(st, log)
	if err != nil || w == nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var lines []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		lines = append(lines, rec)
	}
	want := []string{
		"email: no SMTP relay (--smtp-url); email replies stay queued until one is set",
		"sms: no SMS provider (--sms-url); SMS replies stay queued until one is set",
	}
	if len(lines) != len(want) {
		t.Fatalf("logged %d lines, want %d:\n%s", len(lines), len(want), logs.String())
	}
	for i, rec := range lines {
		if rec["msg"] != want[i] || rec["level"] != "INFO" {
			t.Errorf("line %d = %v %q, want INFO %q", i, rec["level"], rec["msg"], want[i])
		}
	}
}

func TestExecute_AgentDisableEnable(t *testing.T) {
	c := cli{dbURL: storetest.MustURL(t, store.SQLite)}
	acct := strconv.FormatInt(c.mustID(t, "account", "create", "--name", "Acme"), 10)
	agent := strconv.FormatInt(c.mustID(t, "agent", "create", "--account", acct, "--email", "ann@example.com", "--password", "long-enough", "--role", "agent"), 10)
	tests := []struct {
		args        []string
		wantCode    int
		wantStdout  string
		wantEnabled bool
	}{
		{[]string{"disable", "--account", acct, "--id", agent}, 0, "agent " + agent + " disabled\n", false},
		{[]string{"disable", "--account", acct, "--id", agent}, 0, "agent " + agent + " disabled\n", false},
		{[]string{"enable", "--account", acct, "--id", agent, "--json"}, 0, "", true},
		{[]string{"disable", "--account", acct, "--id", "999"}, 1, "", true},
		{[]string{"disable", "--account", acct}, 2, "", true},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := c.exec(t, "", append([]string{"agent"}, tt.args...)...)
			if r.code != tt.wantCode || tt.wantStdout != "" && r.stdout != tt.wantStdout {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d, %q", r.code, r.stdout, r.stderr, tt.wantCode, tt.wantStdout)
			}
			r = c.exec(t, "", "agent", "list", "--account", acct, "--json")
			var rows []map[string]any
			if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil || len(rows) != 1 || rows[0]["enabled"] != tt.wantEnabled {
				t.Errorf("agent list after it = %q (%v); want enabled %v", r.stdout, err, tt.wantEnabled)
			}
		})
	}
}

func TestRun_HelpCommand(t *testing.T) {
	for _, args := range [][]string{{"account"}, {"account", "create"}, {"serve"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			viaHelp := cli{}.exec(t, "", append([]string{"help"}, args...)...)
			viaFlag := cli{}.exec(t, "", append(slices.Clone(args), "--help")...)
			if viaHelp.code != 0 || viaHelp.stdout == "" || viaHelp.stdout != viaFlag.stdout {
				t.Errorf("help %s: exit %d, printed\n%s\nwant what --help prints:\n%s", strings.Join(args, " "), viaHelp.code, viaHelp.stdout, viaFlag.stdout)
			}
		})
	}
}

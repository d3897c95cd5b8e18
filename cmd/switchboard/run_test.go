package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"switchboard/auth"
	"switchboard/store"
	"switchboard/store/storetest"
)

// cli runs the program in-process against one database.
type cli struct {
	dbURL string
	env   map[string]string
}

func (c cli) run(t *testing.T, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	env := func(k string) string {
		if k == "SWITCHBOARD_DATABASE_URL" && c.dbURL != "" {
			return c.dbURL
		}
		return c.env[k]
	}
	err = run(t.Context(), args, env, strings.NewReader(stdin), &out, &errOut)
	return out.String(), errOut.String(), err
}

// mustID runs an admin command and returns the id it printed.
func (c cli) mustID(t *testing.T, args ...string) int64 {
	t.Helper()
	out, errOut, err := c.run(t, "", args...)
	if err != nil {
		t.Fatalf("%v: %v\n%s", args, err, errOut)
	}
	// The id is the first line (inbox create prints its secret after it).
	first, _, _ := strings.Cut(out, "\n")
	id, err := strconv.ParseInt(strings.TrimSpace(first), 10, 64)
	if err != nil {
		t.Fatalf("%v printed %q, want an id", args, out)
	}
	return id
}

func TestRun_Help(t *testing.T) {
	c := cli{}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"top", []string{"--help"}, "account create "},
		{"serve", []string{"serve", "--help"}, "  --reve-page-size int"},
		{"migrate", []string{"migrate", "-h"}, "Applies every migration"},
		{"account", []string{"account", "create", "--help"}, "  --timezone string"},
		{"agent", []string{"agent", "create", "--help"}, "superadmin, admin or agent"},
		{"site", []string{"site", "create", "--help"}, "  --domain"},
		{"campaign", []string{"campaign", "create", "--help"}, "  --site"},
		{"inbox", []string{"inbox", "create", "--help"}, "email or sms"},
		{"department", []string{"department", "create", "--help"}, "unique in the account"},
		{"department list", []string{"department", "list", "--help"}, "Lists an account's departments"},
		{"top mentions departments", []string{"--help"}, "department list "},
		{"key", []string{"key", "--help"}, "  revoke  "},
		{"key create", []string{"key", "create", "--help"}, "  --expires-in duration"},
		{"key list", []string{"key", "list", "-h"}, "never shown"},
		{"key revoke", []string{"key", "revoke", "--help"}, "Revokes the API key"},
		{"serve secret", []string{"serve", "--help"}, "  --signing-secret string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, err := c.run(t, "", tt.args...)
			if !errors.Is(err, flag.ErrHelp) {
				t.Errorf("err = %v, want flag.ErrHelp", err)
			}
			if !strings.Contains(out, tt.want) {
				t.Errorf("help does not mention %q:\n%s", tt.want, out)
			}
		})
	}
}

func TestRun_UsageErrors(t *testing.T) {
	c := cli{dbURL: storetest.MustURL(t, store.SQLite)}
	tests := []struct {
		name    string
		args    []string
		wantErr error
		stderr  []string
	}{
		{"unknown command", []string{"frobnicate"}, errUsage, []string{`unknown command "frobnicate"`}},
		{"account without subcommand", []string{"account"}, errUsage, []string{"want a subcommand: create, update or list"}},
		{"agent missing flags", []string{"agent", "create", "--account", "1"}, errUsage, []string{"--email", "--password", "--role"}},
		{"unknown flag", []string{"site", "create", "--nope"}, errUsage, []string{"switchboard site create: unknown flag --nope"}},
		{"stray argument", []string{"migrate", "extra"}, errUsage, []string{"unexpected arguments: extra"}},
		{"key without subcommand", []string{"key"}, errUsage, []string{"want a subcommand: create, list or revoke"}},
		{"unknown key subcommand", []string{"key", "rotate"}, errUsage, []string{`unknown subcommand "rotate"; want create, list or revoke`}},
		{"key create without account", []string{"key", "create"}, errUsage, []string{"--account"}},
		{"unknown scope", []string{"key", "create", "--account", "1", "--scopes", "read,owner"}, errUsage, []string{`unknown scope "owner"`}},
		{"negative lifetime", []string{"key", "create", "--account", "1", "--expires-in", "-1h"}, errUsage, []string{"--expires-in"}},
		{"short secret", []string{"key", "create", "--account", "1", "--signing-secret", "short"}, errUsage, []string{"--signing-secret is 5 bytes"}},
		{"key list without account", []string{"key", "list"}, errUsage, []string{"--account"}},
		{"department missing flags", []string{"department", "create"}, errUsage, []string{"--account", "--name"}},
		{"department list without account", []string{"department", "list", "--json"}, errUsage, []string{"missing --account"}},
		{"department without subcommand", []string{"department"}, errUsage, []string{"want a subcommand: create or list"}},
		{"key revoke without id", []string{"key", "revoke", "--json"}, errUsage, []string{"missing the key id"}},
		{"key revoke two ids", []string{"key", "revoke", "A", "--json", "B"}, errUsage, []string{"unexpected arguments: B"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errOut, err := c.run(t, "", tt.args...)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			for _, s := range tt.stderr {
				if !strings.Contains(errOut, s) {
					t.Errorf("stderr does not say %q:\n%s", s, errOut)
				}
			}
		})
	}
}

func TestRun_ServeConfigErrors(t *testing.T) {
	c := cli{env: map[string]string{"SWITCHBOARD_BODY_LIMIT": "lots", "SWITCHBOARD_SIGNING_SECRET": "too-short-secret",
		"SWITCHBOARD_CALLGEAR_BODY_LIMIT": "-1", "SWITCHBOARD_ATTACHMENT_LIMIT": "0"}}
	_, _, err := c.run(t, "", "serve", "--addr", "nowhere", "--reve-page-size", "0", "--database-url", "mysql://x", "--upload-max-items", "0")
	if err == nil {
		t.Fatal("serve started with a bad configuration")
	}
	for _, want := range []string{"--addr", "--body-limit", "--attachment-limit", "--callgear-body-limit", "--upload-max-items", "--reve-page-size", "--database-url", "--signing-secret is 16 bytes"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s: %v", want, err)
		}
	}
	if strings.Contains(err.Error(), "too-short-secret") {
		t.Errorf("error shows the secret: %v", err)
	}
	if out, _, _ := c.run(t, "", "serve", "--help"); strings.Contains(out, "too-short-secret") {
		t.Errorf("help shows the secret from the environment:\n%s", out)
	}
	_, _, err = c.run(t, "", "serve", "--log-level", "loud")
	if err == nil || !strings.Contains(err.Error(), "--log-level") {
		t.Errorf("bad log level: err = %v", err)
	}
}

func TestRun_ServeSMTPConfig(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "cert.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want []string
	}{
		{name: "every bad flag at once",
			args: []string{"--smtp-listen", "nowhere", "--smtp-max-size", "big", "--smtp-max-conns", "0", "--smtp-max-recipients", "1001", "--smtp-domain", ""},
			want: []string{"--smtp-listen", "--smtp-max-size", "--smtp-max-conns", "--smtp-max-recipients", "--smtp-domain"}},
		{name: "from the environment",
			env:  map[string]string{"SWITCHBOARD_SMTP_LISTEN": "nowhere", "SWITCHBOARD_SMTP_MAX_SIZE": "-1", "SWITCHBOARD_SMTP_MAX_CONNS": "10001"},
			want: []string{"--smtp-listen", "--smtp-max-size", "--smtp-max-conns"}},
		{name: "certificate without key", args: []string{"--smtp-tls-cert", notPEM},
			want: []string{"--smtp-tls-cert and --smtp-tls-key go together"}},
		{name: "key without certificate", env: map[string]string{"SWITCHBOARD_SMTP_TLS_KEY": notPEM},
			want: []string{"--smtp-tls-cert and --smtp-tls-key go together"}},
		{name: "certificate that does not load", args: []string{"--smtp-tls-cert", notPEM, "--smtp-tls-key", notPEM},
			want: []string{"--smtp-tls-cert/--smtp-tls-key"}},
		{name: "with the other flags' errors", args: []string{"--addr", "nowhere", "--smtp-max-conns", "0"},
			want: []string{"--addr", "--smtp-max-conns"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := cli{dbURL: storetest.MustURL(t, store.SQLite), env: tt.env}
			_, _, err := c.run(t, "", append([]string{"serve"}, tt.args...)...)
			if err == nil {
				t.Fatal("serve started with a bad configuration")
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error does not name %s: %v", want, err)
				}
			}
		})
	}
	out, _, err := cli{}.run(t, "", "serve", "--help")
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("help: err = %v", err)
	}
	for _, want := range []string{"-smtp-listen", "-smtp-domain", "-smtp-max-size", "-smtp-max-conns", "-smtp-max-recipients", "-smtp-tls-cert", "-smtp-tls-key"} {
		if !strings.Contains(out, want) {
			t.Errorf("serve help does not mention %s", want)
		}
	}
	if top, _, _ := (cli{}).run(t, "", "--help"); !strings.Contains(top, "SWITCHBOARD_SMTP_LISTEN") {
		t.Error("usage does not list SWITCHBOARD_SMTP_LISTEN")
	}
}

func TestRun_AdminCommands(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(string(b), func(t *testing.T) {
			c := cli{dbURL: storetest.MustURL(t, b)}
			out, errOut, err := c.run(t, "", "migrate")
			if err != nil || !strings.HasPrefix(out, "applied ") || strings.HasPrefix(out, "applied 0") {
				t.Fatalf("migrate: %v %q %s", err, out, errOut)
			}
			acct := c.mustID(t, "account", "create", "--name", "Acme", "--timezone", "Europe/Riga")
			out, _, err = c.run(t, "", "account", "create", "--name", "Beta", "--json")
			if err != nil {
				t.Fatal(err)
			}
			var obj map[string]any
			if err := json.Unmarshal([]byte(out), &obj); err != nil || obj["id"] == nil || obj["timezone"] != "UTC" {
				t.Errorf("account --json printed %q (%v); want an object with id and timezone UTC", out, err)
			}
			other := int64(obj["id"].(float64))

			acctFlag := strconv.FormatInt(acct, 10)
			agent := c.mustID(t, "agent", "create", "--account", acctFlag, "--email", "Ann@Example.com", "--password", "long-enough", "--role", "superadmin", "--first-name", "Ann")
			pipeOut, _, err := c.run(t, "hunter2-hunter2\n", "agent", "create", "--account", acctFlag, "--email", "bob@example.com", "--password", "-", "--role", "agent")
			if err != nil || strings.TrimSpace(pipeOut) == "" {
				t.Errorf("password from stdin: %v %q", err, pipeOut)
			}
			site := c.mustID(t, "site", "create", "--account", acctFlag, "--domain", "example.com")
			c.mustID(t, "campaign", "create", "--account", acctFlag, "--site", strconv.FormatInt(site, 10), "--name", "Spring")
			c.mustID(t, "inbox", "create", "--account", acctFlag, "--kind", "email", "--address", "help@example.com")
			c.mustID(t, "inbox", "create", "--account", acctFlag, "--kind", "sms", "--address", "+14155550111")

			st := storetest.MustOpenURL(t, c.dbURL)
			a, err := st.AgentByEmail(t.Context(), "ann@example.com")
			if err != nil || a.ID != agent || a.AccountID != acct || a.FirstName != "Ann" || a.PasswordHash == "long-enough" {
				t.Errorf("stored agent = %+v, %v", a, err)
			}
			account, err := st.Account(t.Context(), acct)
			if err != nil || account.Timezone != "Europe/Riga" || account.EmailsPerHour != store.DefaultEmailsPerHour {
				t.Errorf("stored account = %+v, %v", account, err)
			}
			out, errOut, err = c.run(t, "", "account", "update", "--id", acctFlag, "--sms-per-hour", "5", "--name", "Acme Ltd", "--json")
			if err != nil || !strings.Contains(out, `"sms_per_hour":5`) || !strings.Contains(out, `"name":"Acme Ltd"`) {
				t.Errorf("account update = %q %v %s", out, err, errOut)
			}
			if _, _, err := c.run(t, "", "account", "update", "--id", acctFlag); !errors.Is(err, errUsage) {
				t.Errorf("account update without a change: err = %v, want a usage error", err)
			}

			bad := []struct {
				name string
				args []string
				want []string
			}{
				{"bad agent fields", []string{"agent", "create", "--account", acctFlag, "--email", "nope", "--password", "long-enough", "--role", "boss"}, []string{"email", "role"}},
				{"short password", []string{"agent", "create", "--account", acctFlag, "--email", "c@example.com", "--password", "short", "--role", "agent"}, []string{"password must be 8 to 72 bytes"}},
				{"duplicate email", []string{"agent", "create", "--account", acctFlag, "--email", "ann@example.com", "--password", "long-enough", "--role", "agent"}, []string{"already exists"}},
				{"unknown account", []string{"site", "create", "--account", "9999", "--domain", "x.com"}, []string{"not found"}},
				{"another account's site", []string{"campaign", "create", "--account", strconv.FormatInt(other, 10), "--site", strconv.FormatInt(site, 10), "--name", "X"}, []string{"not found"}},
				{"bad time zone", []string{"account", "create", "--name", "X", "--timezone", "Mars/Olympus"}, []string{"timezone"}},
				{"negative quota", []string{"account", "update", "--id", acctFlag, "--emails-per-hour", "-1"}, []string{"emails_per_hour"}},
				{"unknown account to update", []string{"account", "update", "--id", "9999", "--name", "X"}, []string{"not found"}},
				{"bad inbox", []string{"inbox", "create", "--account", acctFlag, "--kind", "sms", "--address", "555"}, []string{"address", "not a valid phone number"}},
				{"inbox on a 555 number", []string{"inbox", "create", "--account", acctFlag, "--kind", "sms", "--address", "+1 555 000 1111"},
					[]string{"address", `"+1 555 000 1111" is not a valid phone number: its country assigns no such number`}},
			}
			for _, tt := range bad {
				t.Run(tt.name, func(t *testing.T) {
					_, _, err := c.run(t, "", tt.args...)
					if err == nil {
						t.Fatal("succeeded")
					}
					for _, w := range tt.want {
						if !strings.Contains(err.Error(), w) {
							t.Errorf("error %q does not say %q", err, w)
						}
					}
				})
			}
		})
	}
}

func TestRun_AccountSMSAllowPremium(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(string(b), func(t *testing.T) {
			c := cli{dbURL: storetest.MustURL(t, b)}
			// account runs an account command with --json and returns its sms_allow_premium.
			account := func(args ...string) (int64, bool) {
				t.Helper()
				out, errOut, err := c.run(t, "", append(args, "--json")...)
				var obj struct {
					ID    int64 `json:"id"`
					Allow *bool `json:"sms_allow_premium"`
				}
				if err != nil || json.Unmarshal([]byte(out), &obj) != nil || obj.Allow == nil {
					t.Fatalf("%v = %q %v %s; want JSON with sms_allow_premium", args, out, err, errOut)
				}
				return obj.ID, *obj.Allow
			}
			plain, allow := account("account", "create", "--name", "Plain")
			st := storetest.MustOpenURL(t, c.dbURL)
			stored := func(id int64) bool {
				t.Helper()
				a, err := st.Account(t.Context(), id)
				if err != nil {
					t.Fatal(err)
				}
				return a.SMSAllowPremium
			}
			if allow || stored(plain) {
				t.Errorf("a new account allows costly numbers (printed %v)", allow)
			}
			id, allow := account("account", "create", "--name", "Premium", "--sms-allow-premium")
			if !allow || !stored(id) {
				t.Errorf("account create --sms-allow-premium printed %v, stored %v", allow, stored(id))
			}
			idFlag := strconv.FormatInt(id, 10)
			if _, allow := account("account", "update", "--id", idFlag, "--sms-allow-premium=false"); allow || stored(id) {
				t.Errorf("--sms-allow-premium=false printed %v, stored %v", allow, stored(id))
			}
			if _, allow := account("account", "update", "--id", idFlag, "--name", "Renamed"); allow {
				t.Error("an update of the name turned the setting on")
			}
			if _, allow := account("account", "update", "--id", idFlag, "--sms-allow-premium"); !allow || !stored(id) {
				t.Errorf("account update --sms-allow-premium printed %v, stored %v", allow, stored(id))
			}
			out, errOut, err := c.run(t, "", "inbox", "create", "--account", idFlag, "--kind", "sms", "--address", "+1 (415) 555-0150", "--json")
			if err != nil || !strings.Contains(out, `"address":"+14155550150"`) {
				t.Errorf("inbox create with a formatted number = %q %v %s; want it in E.164", out, err, errOut)
			}
		})
	}
}

func TestRun_FlagBeatsEnv(t *testing.T) {
	envURL := storetest.MustURL(t, store.SQLite)
	flagURL := storetest.MustURL(t, store.SQLite)
	c := cli{dbURL: envURL}
	c.mustID(t, "account", "create", "--name", "FromFlag", "--database-url", flagURL)
	fromEnv := storetest.MustOpenURL(t, envURL)
	if _, err := fromEnv.Account(t.Context(), 1); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the account went to the environment's database (err %v)", err)
	}
	fromFlag := storetest.MustOpenURL(t, flagURL)
	if a, err := fromFlag.Account(t.Context(), 1); err != nil || a.Name != "FromFlag" {
		t.Errorf("flag database has %+v, %v", a, err)
	}
}

// MustKeys returns the API keys serve would build for the database: signed
// with the secret, or with the one kept in the database when secret is empty.
func MustKeys(tb testing.TB, dbURL, secret string) *auth.Keys {
	tb.Helper()
	st := storetest.MustOpenURL(tb, dbURL)
	s := signing{secret: secret}
	keys, err := s.keys(context.Background(), st, nil)
	if err != nil {
		tb.Fatalf("keys: %v", err)
	}
	return keys
}

func TestRun_KeyCommands(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(string(b), func(t *testing.T) {
			c := cli{dbURL: storetest.MustURL(t, b)}
			acct := c.mustID(t, "account", "create", "--name", "Acme")
			other := c.mustID(t, "account", "create", "--name", "Other")
			acctFlag := strconv.FormatInt(acct, 10)
			boss := c.mustID(t, "agent", "create", "--account", acctFlag, "--email", "boss@example.com", "--password", "long-enough", "--role", "superadmin")
			helper := c.mustID(t, "agent", "create", "--account", acctFlag, "--email", "helper@example.com", "--password", "long-enough", "--role", "agent")
			stranger := c.mustID(t, "agent", "create", "--account", strconv.FormatInt(other, 10), "--email", "x@example.com", "--password", "long-enough", "--role", "superadmin")

			// Plain output is the token alone; it works with keys built later
			// from the same database, as serve builds them.
			out, errOut, err := c.run(t, "", "key", "create", "--account", acctFlag)
			if err != nil {
				t.Fatalf("key create: %v\n%s", err, errOut)
			}
			plainToken := strings.TrimSpace(out)
			if strings.Count(out, "\n") != 1 || strings.Count(plainToken, ".") != 2 {
				t.Fatalf("key create printed %q, want one token line", out)
			}
			caller, err := MustKeys(t, c.dbURL, "").Authenticate(t.Context(), plainToken)
			if err != nil || caller.AgentID != boss || caller.AccountID != acct || len(caller.Scopes) != len(auth.AllScopes()) {
				t.Fatalf("the created key authenticates as %+v, %v; want the superadmin with every scope", caller, err)
			}

			// JSON output with every flag, flags in any order.
			out, errOut, err = c.run(t, "", "key", "create", "--json", "--account", acctFlag, "--agent", strconv.FormatInt(helper, 10),
				"--scopes", "sms, read", "--name", "ci", "--expires-in", "24h")
			if err != nil {
				t.Fatalf("key create --json: %v\n%s", err, errOut)
			}
			var created struct {
				ID        string     `json:"id"`
				Token     string     `json:"token"`
				AccountID int64      `json:"account_id"`
				AgentID   int64      `json:"agent_id"`
				Name      string     `json:"name"`
				Scopes    []string   `json:"scopes"`
				ExpiresAt *time.Time `json:"expires_at"`
			}
			if err := json.Unmarshal([]byte(out), &created); err != nil {
				t.Fatalf("key create --json printed %q: %v", out, err)
			}
			if created.ID == "" || created.Token == "" || created.AccountID != acct || created.AgentID != helper || created.Name != "ci" ||
				strings.Join(created.Scopes, ",") != "sms,read" || created.ExpiresAt == nil || time.Until(*created.ExpiresAt) < 23*time.Hour {
				t.Errorf("key create --json = %+v", created)
			}
			caller, err = MustKeys(t, c.dbURL, "").Authenticate(t.Context(), created.Token)
			if err != nil || caller.AgentID != helper || caller.KeyID != created.ID || caller.Require(auth.ScopeChat) == nil || caller.Require(auth.ScopeSMS) != nil {
				t.Errorf("scoped key authenticates as %+v, %v", caller, err)
			}

			// A configured secret signs instead of the stored one.
			secret := strings.Repeat("s", 40)
			sc := cli{dbURL: c.dbURL, env: map[string]string{"SWITCHBOARD_SIGNING_SECRET": secret}}
			out, errOut, err = sc.run(t, "", "key", "create", "--account", acctFlag)
			if err != nil {
				t.Fatalf("key create with a secret: %v\n%s", err, errOut)
			}
			if _, err := MustKeys(t, c.dbURL, secret).Authenticate(t.Context(), strings.TrimSpace(out)); err != nil {
				t.Errorf("key signed with the configured secret: %v", err)
			}
			if _, err := MustKeys(t, c.dbURL, "").Authenticate(t.Context(), strings.TrimSpace(out)); !errors.Is(err, auth.ErrInvalidToken) {
				t.Errorf("key signed with the configured secret passes the stored one: %v", err)
			}

			// list never prints tokens.
			out, _, err = c.run(t, "", "key", "list", "--account", acctFlag)
			if err != nil {
				t.Fatal(err)
			}
			if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 4 || !strings.Contains(lines[2], created.ID) || !strings.Contains(lines[2], "ci") || !strings.Contains(lines[2], "sms,read") {
				t.Errorf("key list printed\n%s\nwant a header and 3 keys, the second %s", out, created.ID)
			}
			if strings.Contains(out, created.Token) || strings.Contains(out, plainToken) {
				t.Errorf("key list printed a token:\n%s", out)
			}
			out, _, err = c.run(t, "", "key", "list", "--account", acctFlag, "--json")
			if err != nil {
				t.Fatal(err)
			}
			var listed []map[string]any
			if err := json.Unmarshal([]byte(out), &listed); err != nil || len(listed) != 3 || listed[1]["id"] != created.ID {
				t.Fatalf("key list --json printed %q (%v)", out, err)
			}
			for _, k := range listed {
				if _, ok := k["token"]; ok {
					t.Errorf("key list --json printed a token: %v", k)
				}
			}
			if out, _, err := c.run(t, "", "key", "list", "--json", "--account", strconv.FormatInt(other, 10)); err != nil || strings.TrimSpace(out) != "[]" {
				t.Errorf("list of an account without keys = %q, %v; want []", out, err)
			}

			// revoke, with the id before or after the flags.
			out, _, err = c.run(t, "", "key", "revoke", created.ID, "--json")
			if err != nil {
				t.Fatal(err)
			}
			var revoked struct {
				ID        string     `json:"id"`
				RevokedAt *time.Time `json:"revoked_at"`
			}
			if err := json.Unmarshal([]byte(out), &revoked); err != nil || revoked.ID != created.ID || revoked.RevokedAt == nil {
				t.Fatalf("key revoke --json printed %q (%v)", out, err)
			}
			out, _, err = c.run(t, "", "key", "revoke", "--database-url", c.dbURL, created.ID)
			if err != nil || out != fmt.Sprintf("%s revoked at %s\n", created.ID, revoked.RevokedAt.UTC().Format(time.RFC3339)) {
				t.Errorf("second revoke printed %q, %v; want the first time", out, err)
			}
			if _, err := MustKeys(t, c.dbURL, "").Authenticate(t.Context(), created.Token); !errors.Is(err, auth.ErrInvalidToken) {
				t.Errorf("revoked key: err = %v, want ErrInvalidToken", err)
			}

			bad := []struct {
				name string
				args []string
				want string
			}{
				{"create for an unknown account", []string{"key", "create", "--account", "9999"}, "account 9999: not found"},
				{"create for another account's agent", []string{"key", "create", "--account", acctFlag, "--agent", strconv.FormatInt(stranger, 10)}, "not found"},
				{"create for an unknown agent", []string{"key", "create", "--account", acctFlag, "--agent", "9999"}, "agent 9999: not found"},
				{"list of an unknown account", []string{"key", "list", "--account", "9999"}, "not found"},
				{"revoke an unknown key", []string{"key", "revoke", "NOPE"}, "not found"},
			}
			for _, tt := range bad {
				t.Run(tt.name, func(t *testing.T) {
					_, _, err := c.run(t, "", tt.args...)
					if !errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), tt.want) {
						t.Errorf("err = %v, want %q", err, tt.want)
					}
				})
			}
		})
	}
}

func TestRun_Departments(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(string(b), func(t *testing.T) {
			c := cli{dbURL: storetest.MustURL(t, b)}
			if _, errOut, err := c.run(t, "", "migrate"); err != nil {
				t.Fatalf("migrate: %v %s", err, errOut)
			}
			acct := strconv.FormatInt(c.mustID(t, "account", "create", "--name", "Acme"), 10)
			other := strconv.FormatInt(c.mustID(t, "account", "create", "--name", "Beta"), 10)
			sales := c.mustID(t, "department", "create", "--account", acct, "--name", "Sales")
			out, errOut, err := c.run(t, "", "department", "create", "--account", acct, "--name", " Support ", "--json")
			if err != nil {
				t.Fatalf("department create --json: %v %s", err, errOut)
			}
			var obj struct {
				ID        int64  `json:"id"`
				AccountID int64  `json:"account_id"`
				Name      string `json:"name"`
				CreatedAt string `json:"created_at"`
			}
			if err := json.Unmarshal([]byte(out), &obj); err != nil || obj.ID <= sales || strconv.FormatInt(obj.AccountID, 10) != acct ||
				obj.Name != "Support" || obj.CreatedAt == "" {
				t.Errorf("department --json printed %q (%v)", out, err)
			}
			c.mustID(t, "department", "create", "--account", other, "--name", "Sales")

			st := storetest.MustOpenURL(t, c.dbURL)
			id, _ := strconv.ParseInt(acct, 10, 64)
			d, err := st.Department(t.Context(), id, sales)
			if err != nil || d.Name != "Sales" {
				t.Errorf("stored department = %+v, %v", d, err)
			}

			out, _, err = c.run(t, "", "department", "list", "--account", acct, "--json")
			var list []struct {
				ID   int64  `json:"id"`
				Name string `json:"name"`
			}
			if err != nil || json.Unmarshal([]byte(out), &list) != nil || len(list) != 2 || list[0].ID != sales || list[1].Name != "Support" {
				t.Errorf("department list --json = %q, %v", out, err)
			}
			out, _, err = c.run(t, "", "department", "list", "--account", acct)
			if err != nil || !strings.Contains(out, "NAME") || !strings.Contains(out, "Sales") || !strings.Contains(out, "Support") {
				t.Errorf("department list = %q, %v", out, err)
			}
			out, _, err = c.run(t, "", "department", "list", "--account", "9999", "--json")
			if err != nil || strings.TrimSpace(out) != "[]" {
				t.Errorf("department list of an account with none = %q, %v; want []", out, err)
			}

			bad := []struct {
				name string
				args []string
				want []string
			}{
				{"duplicate name", []string{"department", "create", "--account", acct, "--name", "Sales"}, []string{"already exists"}},
				{"blank name", []string{"department", "create", "--account", acct, "--name", "  "}, []string{"name", "must not be empty"}},
				{"name with a line break", []string{"department", "create", "--account", acct, "--name", "A\nB"}, []string{"name", "control characters"}},
				{"unknown account", []string{"department", "create", "--account", "9999", "--name", "X"}, []string{"not found"}},
			}
			for _, tt := range bad {
				t.Run(tt.name, func(t *testing.T) {
					_, _, err := c.run(t, "", tt.args...)
					if err == nil {
						t.Fatal("succeeded")
					}
					for _, w := range tt.want {
						if !strings.Contains(err.Error(), w) {
							t.Errorf("error %q does not say %q", err, w)
						}
					}
				})
			}
		})
	}
}

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"strconv"
	"strings"
	"testing"

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
	id, err := strconv.ParseInt(strings.TrimSpace(out), 10, 64)
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
		{"top", []string{"--help"}, "switchboard account create --name N"},
		{"serve", []string{"serve", "--help"}, "-reve-page-size"},
		{"migrate", []string{"migrate", "-h"}, "Applies every migration"},
		{"account", []string{"account", "create", "--help"}, "-timezone"},
		{"agent", []string{"agent", "create", "--help"}, "superadmin, admin or agent"},
		{"site", []string{"site", "create", "--help"}, "-domain"},
		{"campaign", []string{"campaign", "create", "--help"}, "-site"},
		{"inbox", []string{"inbox", "create", "--help"}, "email or sms"},
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
		{"account without create", []string{"account"}, errUsage, []string{"switchboard account create"}},
		{"agent missing flags", []string{"agent", "create", "--account", "1"}, errUsage, []string{"--email", "--password", "--role"}},
		{"unknown flag", []string{"site", "create", "--nope"}, errUsage, []string{"flag provided but not defined: -nope"}},
		{"stray argument", []string{"migrate", "extra"}, errUsage, []string{"unexpected arguments: extra"}},
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
	c := cli{env: map[string]string{"SWITCHBOARD_BODY_LIMIT": "lots"}}
	_, _, err := c.run(t, "", "serve", "--addr", "nowhere", "--reve-page-size", "0", "--database-url", "mysql://x")
	if err == nil {
		t.Fatal("serve started with a bad configuration")
	}
	for _, want := range []string{"--addr", "--body-limit", "--reve-page-size", "--database-url"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s: %v", want, err)
		}
	}
	_, _, err = c.run(t, "", "serve", "--log-level", "loud")
	if err == nil || !strings.Contains(err.Error(), "--log-level") {
		t.Errorf("bad log level: err = %v", err)
	}
}

func TestRun_AdminCommands(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(string(b), func(t *testing.T) {
			c := cli{dbURL: storetest.MustURL(t, b)}
			out, errOut, err := c.run(t, "", "migrate")
			if err != nil || !strings.Contains(out, "applied 1 migration") {
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
			c.mustID(t, "inbox", "create", "--account", acctFlag, "--kind", "sms", "--address", "+15550001111")

			st := storetest.MustOpenURL(t, c.dbURL)
			a, err := st.AgentByEmail(t.Context(), "ann@example.com")
			if err != nil || a.ID != agent || a.AccountID != acct || a.FirstName != "Ann" || a.PasswordHash == "long-enough" {
				t.Errorf("stored agent = %+v, %v", a, err)
			}
			account, err := st.Account(t.Context(), acct)
			if err != nil || account.Timezone != "Europe/Riga" {
				t.Errorf("stored account = %+v, %v", account, err)
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
				{"bad inbox", []string{"inbox", "create", "--account", acctFlag, "--kind", "sms", "--address", "555"}, []string{"E.164"}},
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

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"switchboard/store"
	"switchboard/store/storetest"
)

// envUpdateGolden rewrites the golden files from the program's output
// instead of comparing: SWITCHBOARD_UPDATE_GOLDEN=1 go test -run TestGolden ./cmd/switchboard/
const envUpdateGolden = "SWITCHBOARD_UPDATE_GOLDEN"

// TestGolden_Output compares help, version and error output with the files
// in testdata/golden, byte for byte: a change to what a user reads shows in
// review as a change to those files.
func TestGolden_Output(t *testing.T) {
	c := cli{dbURL: storetest.MustURL(t, store.SQLite)}
	if r := c.exec(t, "", "migrate"); r.code != 0 {
		t.Fatalf("migrate: %+v", r)
	}
	host, _ := os.Hostname()
	tests := []struct {
		file string
		// db runs the command on the test's database; help runs without
		// one, so that it shows the defaults a user sees.
		db   bool
		args []string
	}{
		{file: "help.txt", args: []string{"--help"}},
		{file: "bare.txt"},
		{file: "serve-help.txt", args: []string{"serve", "--help"}},
		{file: "migrate-help.txt", args: []string{"migrate", "--help"}},
		{file: "account-help.txt", args: []string{"account", "--help"}},
		{file: "account-create-help.txt", args: []string{"account", "create", "--help"}},
		{file: "agent-help.txt", args: []string{"agent", "--help"}},
		{file: "agent-set-password-help.txt", args: []string{"agent", "set-password", "--help"}},
		{file: "inbox-list-help.txt", args: []string{"inbox", "list", "--help"}},
		{file: "key-help.txt", args: []string{"key", "--help"}},
		{file: "webhook-help.txt", args: []string{"webhook", "--help"}},
		{file: "error-unknown-command.txt", args: []string{"frobnicate"}},
		{file: "error-no-subcommand.txt", args: []string{"site"}},
		{file: "error-unknown-flag.txt", args: []string{"site", "list", "--acount", "1"}},
		{file: "error-not-found.txt", db: true, args: []string{"account", "update", "--id", "99", "--name", "x"}},
		{file: "error-fields.txt", db: true, args: []string{"account", "create", "--name", " ", "--rate-limit", "-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			run := cli{}
			if tt.db {
				run = c
			}
			r := run.exec(t, "", tt.args...)
			got := strings.TrimSpace("$ switchboard "+strings.Join(tt.args, " ")) + "\n" + r.stdout + r.stderr
			// serve's --smtp-domain defaults to this machine's name.
			if host != "" {
				got = strings.ReplaceAll(got, "(default "+host+";", "(default HOSTNAME;")
				got = strings.ReplaceAll(got, "(default "+host+")", "(default HOSTNAME)")
			}
			got += "exit status " + string(rune('0'+r.code)) + "\n"
			path := filepath.Join("testdata", "golden", tt.file)
			if os.Getenv(envUpdateGolden) == "1" {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (%s=1 writes it)", err, envUpdateGolden)
			}
			if got != string(want) {
				t.Errorf("output differs from %s (%s=1 rewrites it):\n--- got\n%s\n--- want\n%s", path, envUpdateGolden, got, want)
			}
		})
	}
}

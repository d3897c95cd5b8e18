package main

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"

	"switchboard/store/storetest"
)

func TestRun_WebhookCommands(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(string(b), func(t *testing.T) {
			c := cli{dbURL: storetest.MustURL(t, b)}
			acct := strconv.FormatInt(c.mustID(t, "account", "create", "--name", "Acme"), 10)
			other := strconv.FormatInt(c.mustID(t, "account", "create", "--name", "Other"), 10)

			// --json prints the id and the secret made, once.
			out, errOut, err := c.run(t, "", "webhook", "create", "--account", acct, "--url", "https://hooks.example.com/s",
				"--format", "standard", "--events", "case.created, message.created", "--json")
			if err != nil {
				t.Fatalf("webhook create: %v\n%s", err, errOut)
			}
			var created struct {
				ID     int64  `json:"id"`
				Secret string `json:"secret"`
			}
			if err := json.Unmarshal([]byte(out), &created); err != nil || created.ID == 0 || !strings.HasPrefix(created.Secret, "whsec_") {
				t.Fatalf("webhook create --json printed %q (%v), want an id and a whsec_ secret", out, err)
			}
			id := strconv.FormatInt(created.ID, 10)

			// Plain output names the secret given.
			out, errOut, err = c.run(t, "", "webhook", "create", "--account", acct, "--url", "https://hooks.example.com/h",
				"--format", "helpcrunch", "--secret", "a-secret-long-enough")
			if err != nil || !strings.Contains(out, "secret: a-secret-long-enough") {
				t.Fatalf("webhook create: %q, %v\n%s", out, err, errOut)
			}

			out, errOut, err = c.run(t, "", "webhook", "list", "--account", acct, "--json")
			if err != nil {
				t.Fatalf("webhook list: %v\n%s", err, errOut)
			}
			var list []struct {
				ID     int64    `json:"id"`
				Format string   `json:"format"`
				Events []string `json:"events"`
				Status string   `json:"status"`
			}
			if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 2 || list[0].ID != created.ID ||
				strings.Join(list[0].Events, ",") != "case.created,message.created" || list[1].Format != "helpcrunch" {
				t.Fatalf("webhook list printed %q (%v)", out, err)
			}
			if strings.Contains(out, "whsec_") || strings.Contains(out, "a-secret-long-enough") {
				t.Errorf("webhook list shows a secret: %s", out)
			}
			if out, _, err := c.run(t, "", "webhook", "list", "--account", acct); err != nil || !strings.Contains(out, "https://hooks.example.com/h") {
				t.Errorf("webhook list (text): %q, %v", out, err)
			}

			// Another account's id is not found.
			if _, _, err := c.run(t, "", "webhook", "disable", "--account", other, "--id", id); err == nil || !strings.Contains(err.Error(), "not found") {
				t.Errorf("disable another account's webhook: %v, want not found", err)
			}
			out, errOut, err = c.run(t, "", "webhook", "disable", "--account", acct, "--id", id, "--json")
			if err != nil || !strings.Contains(out, `"status":"disabled"`) {
				t.Fatalf("webhook disable: %q, %v\n%s", out, err, errOut)
			}
			out, errOut, err = c.run(t, "", "webhook", "deliveries", "--account", acct, "--id", id, "--status", "failed", "--json")
			if err != nil || strings.TrimSpace(out) != "[]" {
				t.Fatalf("webhook deliveries: %q, %v\n%s", out, err, errOut)
			}
			if out, _, err := c.run(t, "", "webhook", "deliveries", "--account", acct, "--id", id); err != nil || !strings.HasPrefix(out, "ID") {
				t.Errorf("webhook deliveries (text): %q, %v", out, err)
			}
			if out, _, err := c.run(t, "", "webhook", "delete", "--account", acct, "--id", id); err != nil || out != "webhook "+id+" deleted\n" {
				t.Fatalf("webhook delete: %q, %v", out, err)
			}
			if _, _, err := c.run(t, "", "webhook", "delete", "--account", acct, "--id", id); err == nil {
				t.Error("deleting twice succeeded")
			}
		})
	}
}

func TestRun_WebhookUsageErrors(t *testing.T) {
	c := cli{dbURL: storetest.MustURL(t, "sqlite")}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no subcommand", []string{"webhook"}, "want a subcommand: create, list"},
		{"unknown subcommand", []string{"webhook", "edit"}, "unknown subcommand"},
		{"create without url", []string{"webhook", "create", "--account", "1", "--format", "standard"}, "missing --url"},
		{"create bad format", []string{"webhook", "create", "--account", "1", "--url", "https://x.example", "--format", "zapier"}, "--format: must be"},
		{"create unknown event", []string{"webhook", "create", "--account", "1", "--url", "https://x.example", "--format", "helpcrunch", "--events", "chat.new,chat.nope"}, `"chat.nope" is no helpcrunch event`},
		{"create bad url", []string{"webhook", "create", "--account", "1", "--url", "ftp://x", "--format", "acquire"}, "--url: must start with"},
		{"disable without id", []string{"webhook", "disable", "--account", "1"}, "missing --id"},
		{"deliveries bad status", []string{"webhook", "deliveries", "--account", "1", "--id", "1", "--status", "lost"}, "--status"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errOut, err := c.run(t, "", tt.args...)
			if !errors.Is(err, errUsage) {
				t.Fatalf("err %v, want errUsage", err)
			}
			if !strings.Contains(errOut, tt.want) {
				t.Errorf("stderr %q, want %q", errOut, tt.want)
			}
		})
	}
}

func TestRun_EventFlagErrors(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want []string
	}{
		{name: "flags", args: []string{"serve", "--event-retention", "10s", "--max-streams", "0", "--stream-keep-alive", "1ms", "--stream-window", "2s"},
			want: []string{"--event-retention 10s", "--max-streams 0", "--stream-keep-alive 1ms", "--stream-window 2s"}},
		{name: "environment", env: map[string]string{"SWITCHBOARD_EVENT_RETENTION": "30s", "SWITCHBOARD_MAX_STREAMS": "-5"},
			args: []string{"serve"}, want: []string{"--event-retention 30s", "--max-streams -5"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := cli{env: tt.env}
			_, _, err := c.run(t, "", tt.args...)
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
}

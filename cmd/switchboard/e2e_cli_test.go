package main

import (
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"switchboard/cmd/switchboard/binarytest"
	"switchboard/store"
	"switchboard/store/storetest"
)

// TestE2E_SetPassword resets an agent's password with the real binary, the
// password on standard input: the server refuses the old one at once and
// takes the new one. Its start-up says once per channel what stays queued.
func TestE2E_SetPassword(t *testing.T) {
	bin := mustBuild(t)
	dbURL := storetest.MustURL(t, store.SQLite)
	s := mustStart(t, bin, dbURL)
	for _, msg := range []string{
		`"level":"INFO","msg":"email: no SMTP relay (--smtp-url); email replies stay queued until one is set"`,
		`"level":"INFO","msg":"sms: no SMS provider (--sms-url); SMS replies stay queued until one is set"`,
	} {
		if n := strings.Count(s.logs.String(), msg); n != 1 {
			t.Errorf("start-up logged %s %d times, want once:\n%s", msg, n, s.logs.String())
		}
	}
	if strings.Contains(s.logs.String(), `"level":"WARN"`) {
		t.Errorf("start-up without SMTP or SMS warns:\n%s", s.logs.String())
	}

	agent := strings.TrimSpace(mustRunBinary(t, bin, dbURL, "agent", "create", "--account", "1", "--email", "reset@example.com",
		"--password", "old-password", "--role", "superadmin"))
	if r := s.mustSend(t, reveLogin("reset@example.com", "old-password", "203.0.113.20")); r.code != http.StatusOK {
		t.Fatalf("old password before the reset = %d %s, want 200", r.code, r.body)
	}

	cmd := exec.Command(bin, "agent", "set-password", "--account", "1", "--id", agent)
	cmd.Env = append(os.Environ(), "SWITCHBOARD_DATABASE_URL="+dbURL)
	cmd.Stdin = strings.NewReader("new-password\n")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil || out.String() != "agent "+agent+": password changed\n" {
		t.Fatalf("set-password: %v, stdout %q, stderr %q", err, out.String(), errOut.String())
	}

	if r := s.mustSend(t, reveLogin("reset@example.com", "old-password", "203.0.113.20")); r.code != http.StatusUnauthorized {
		t.Errorf("old password after the reset = %d %s, want 401", r.code, r.body)
	}
	if r := s.mustSend(t, reveLogin("reset@example.com", "new-password", "203.0.113.21")); r.code != http.StatusOK {
		t.Errorf("new password = %d %s, want 200", r.code, r.body)
	}

	_, errText, status := runBinary(t, bin, dbURL, "agent", "set-password", "--account", "1", "--id", agent)
	if status != 1 || errText != "switchboard: standard input holds no password: want it on the first line\n" {
		t.Errorf("set-password without input: exit %d, stderr %q", status, errText)
	}
}

// TestE2E_ServeJSON: serve --json prints the first start's credentials as
// one JSON object, and they work.
func TestE2E_ServeJSON(t *testing.T) {
	bin := mustBuild(t)
	dbURL := storetest.MustURL(t, store.SQLite)
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--json")
	cmd.Env = append(os.Environ(), "SWITCHBOARD_DATABASE_URL="+dbURL)
	stdout, stderr := &binarytest.Buffer{}, &binarytest.Buffer{}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		<-done
	})
	// Waits for the line, not for a time: the deadline only ends a hang.
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(stdout.String(), "\n"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("serve --json printed nothing in 30s; stderr:\n%s", stderr.String())
		}
	}
	var creds struct {
		AccountID int64  `json:"account_id"`
		Email     string `json:"email"`
		Password  string `json:"password"`
		APIKey    string `json:"api_key"`
	}
	mustJSON(t, "serve --json", stdout.String(), &creds)
	if creds.AccountID != 1 || creds.Email != "admin@switchboard.local" || len(creds.Password) < 8 || creds.APIKey == "" {
		t.Errorf("serve --json printed %s", stdout.String())
	}
}

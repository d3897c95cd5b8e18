package main

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"

	"switchboard/store"
	"switchboard/store/storetest"
)

// TestRun_InboxSecret checks that inbox create prints the inbox's secret once
// (after the id, or as "secret" with --json), that the secret is the one the
// store accepts, and that rotate-secret replaces it.
func TestRun_InboxSecret(t *testing.T) {
	url := storetest.MustURL(t, store.SQLite)
	c := cli{dbURL: url}
	acct := strconv.FormatInt(c.mustID(t, "account", "create", "--name", "Acme"), 10)

	out, errOut, err := c.run(t, "", "inbox", "create", "--account", acct, "--kind", "email", "--address", "help@acme.example")
	if err != nil {
		t.Fatalf("inbox create: %v\n%s", err, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[1], "secret: sbin_") {
		t.Fatalf("inbox create printed %q; want the id, then \"secret: sbin_...\"", out)
	}
	id, err := strconv.ParseInt(lines[0], 10, 64)
	if err != nil {
		t.Fatalf("inbox create's first line %q is not an id", lines[0])
	}
	first := strings.TrimPrefix(lines[1], "secret: ")

	st := storetest.MustOpenURL(t, url)
	if _, err := st.InboxBySecret(t.Context(), id, first); err != nil {
		t.Errorf("the printed secret is refused: %v", err)
	}

	out, errOut, err = c.run(t, "", "inbox", "rotate-secret", "--account", acct, "--id", strconv.FormatInt(id, 10), "--json")
	if err != nil {
		t.Fatalf("inbox rotate-secret: %v\n%s", err, errOut)
	}
	var rotated struct {
		ID     int64  `json:"id"`
		Secret string `json:"secret"`
	}
	if err := json.Unmarshal([]byte(out), &rotated); err != nil || rotated.ID != id || !strings.HasPrefix(rotated.Secret, "sbin_") {
		t.Fatalf("rotate-secret --json printed %q (%v); want the inbox with a new secret", out, err)
	}
	if _, err := st.InboxBySecret(t.Context(), id, first); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the old secret after rotating: %v; want ErrNotFound", err)
	}
	if _, err := st.InboxBySecret(t.Context(), id, rotated.Secret); err != nil {
		t.Errorf("the rotated secret is refused: %v", err)
	}

	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no id", []string{"inbox", "rotate-secret", "--account", acct}, "missing --id"},
		{"no flags", []string{"inbox", "rotate-secret"}, "missing --account, --id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errOut, err := c.run(t, "", tt.args...)
			if !errors.Is(err, errUsage) || !strings.Contains(errOut, tt.want) {
				t.Errorf("%v = %v, %q; want a usage error saying %q", tt.args, err, errOut, tt.want)
			}
		})
	}
	t.Run("another account's inbox", func(t *testing.T) {
		other := strconv.FormatInt(c.mustID(t, "account", "create", "--name", "Other"), 10)
		_, _, err := c.run(t, "", "inbox", "rotate-secret", "--account", other, "--id", strconv.FormatInt(id, 10))
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("rotating another account's inbox: %v; want ErrNotFound", err)
		}
	})
}

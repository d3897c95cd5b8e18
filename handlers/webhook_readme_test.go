package handlers_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"switchboard/handlers"
	"switchboard/models"
)

// readmePath is the README, from this package's directory.
const readmePath = "../README.md"

// readmeVerifiers returns the Python block of the README's Webhooks
// section: the verification snippet a receiver is told to copy.
func readmeVerifiers(tb testing.TB) string {
	tb.Helper()
	b, err := os.ReadFile(readmePath)
	if err != nil {
		tb.Fatal(err)
	}
	s := string(b)
	start := strings.Index(s, "\n## Webhooks\n")
	if start < 0 {
		tb.Fatal("README.md has no Webhooks section")
	}
	s = s[start+1:]
	if end := strings.Index(s[3:], "\n## "); end >= 0 {
		s = s[:end+3]
	}
	const open = "```python\n"
	i := strings.Index(s, open)
	if i < 0 {
		tb.Fatal("README.md's Webhooks section has no Python block")
	}
	code, _, ok := strings.Cut(s[i+len(open):], "```")
	if !ok {
		tb.Fatal("README.md's Python block is not closed")
	}
	return code
}

// readmeDriver calls the README's functions on each case read from stdin
// ({format, secret, body, headers}) and prints one line a case: true or
// false, what the function answered.
const readmeDriver = `
import json, sys
for c in json.load(sys.stdin):
    body, h = c["body"].encode(), c["headers"]
    if c["format"] == "helpcrunch":
        ok = helpcrunch_ok(c["secret"], body, h["X-Helpcrunch-Signature"])
    elif c["format"] == "acquire":
        ok = acquire_ok(c["secret"], body, h["X-Acquire-Signature"])
    else:
        ok = standard_ok(c["secret"], body, h["Webhook-Id"], h["Webhook-Timestamp"], h["Webhook-Signature"])
    print("true" if ok else "false")
`

// TestWebhookFormats_READMEVerifiers runs the README's Python verifiers, as
// written there, on requests switchboard renders in each format: they must
// accept each request as sent, and refuse it with its body changed or with
// another secret.
func TestWebhookFormats_READMEVerifiers(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Fatalf("the README's verifiers need python3: %v", err)
	}
	code := readmeVerifiers(t)
	formats := handlers.NewWebhookFormats()
	at := time.Date(2026, 12, 5, 10, 0, 5, 0, time.UTC)
	const contactMsg = `{"sender":"contact","channel":"chat","kind":"message"}`

	type pyCase struct {
		Format  string            `json:"format"`
		Secret  string            `json:"secret"`
		Body    string            `json:"body"`
		Headers map[string]string `json:"headers"`
	}
	var cases []pyCase
	var names []string
	var wants []bool
	for _, tc := range []struct {
		format models.WebhookFormat
		secret string
		other  string // another subscription's secret
	}{
		{models.FormatHelpCrunch, "9f0c5b8e1d2a4c6f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7", "0000000000000000000000000000000000000000000000000000000000000000"},
		{models.FormatAcquire, "s3cret-key", "s3cret-kez"},
		{models.FormatStandard, "whsec_c2VjcmV0LWtleS1ieXRlcw==", "whsec_b3RoZXIta2V5LWJ5dGVz"},
	} {
		o := formatFixture(tc.format, models.EventMessageCreated, contactMsg, 0)
		o.Webhook.Secret = tc.secret
		req, err := formats.Render(o, at)
		if err != nil {
			t.Fatalf("%s: %v", tc.format, err)
		}
		h := map[string]string{}
		for k, vs := range req.Header {
			h[http.CanonicalHeaderKey(k)] = strings.Join(vs, ", ")
		}
		body := string(req.Body)
		for _, v := range []struct {
			name   string
			secret string
			body   string
			want   bool
		}{
			{"AsSent", tc.secret, body, true},
			{"BodyChanged", tc.secret, body + " ", false}, // the same JSON, other bytes
			{"OtherSecret", tc.other, body, false},
		} {
			cases = append(cases, pyCase{Format: string(tc.format), Secret: v.secret, Body: v.body, Headers: h})
			names = append(names, fmt.Sprintf("%s/%s", tc.format, v.name))
			wants = append(wants, v.want)
		}
	}

	in, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), python, "-c", code+readmeDriver)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3: %v\n%s", err, stderr.String())
	}
	got := strings.Fields(string(out))
	if len(got) != len(cases) {
		t.Fatalf("python3 answered %d cases of %d: %q", len(got), len(cases), out)
	}
	for i, name := range names {
		t.Run(name, func(t *testing.T) {
			if want := fmt.Sprint(wants[i]); got[i] != want {
				t.Errorf("the README's verifier says %s, want %s (headers %v)", got[i], want, cases[i].Headers)
			}
		})
	}
}

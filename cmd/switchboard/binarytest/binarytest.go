// Package binarytest builds and reads the real switchboard binary for the
// tests that run it: end-to-end (cmd/switchboard), faults and bench.
package binarytest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// EnvBinary names a switchboard binary built beforehand (make test builds
// one and sets it), so that every test package of a run starts the same one
// instead of compiling its own.
const EnvBinary = "SWITCHBOARD_TEST_BINARY"

// Build returns the binary named by EnvBinary when it is set, or else
// compiles cmd/switchboard into dir and returns the binary's path. It
// returns an error when the named binary is missing or with go build's
// output.
func Build(dir string) (string, error) {
	if bin := os.Getenv(EnvBinary); bin != "" {
		if _, err := os.Stat(bin); err != nil {
			return "", fmt.Errorf("%s: %w", EnvBinary, err)
		}
		return bin, nil
	}
	bin := filepath.Join(dir, "switchboard")
	out, err := exec.Command("go", "build", "-o", bin, "switchboard/cmd/switchboard").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
}

// Buffer is a process's stdout or stderr: written by exec's copier
// goroutine while the test reads it.
type Buffer struct {
	mu sync.Mutex
	b  strings.Builder
}

// Write appends p; it never fails.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

var credentials = regexp.MustCompile(`email:\s+(\S+)\n\s+password:\s+(\S+)\n\s+api key:\s+(\S+)`)

// MustCredentials returns the superadmin's email and password and the
// full-access API key that serve's first start printed to stdout. It waits
// up to 30 s for them (a busy machine is slow), since stdout is copied by its own goroutine and may
// land after the "listening" log line, and fails tb when they do not come.
func MustCredentials(tb testing.TB, stdout *Buffer) (email, password, token string) {
	tb.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := credentials.FindStringSubmatch(stdout.String()); m != nil {
			return m[1], m[2], m[3]
		}
	}
	tb.Fatalf("first start printed no credentials:\n%s", stdout.String())
	return "", "", ""
}

//go:build bench

package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"switchboard/cmd/switchboard/binarytest"
)

// server is the real binary running serve.
type server struct {
	cmd     *exec.Cmd
	addr    string
	logPath string
	stdout  binarytest.Buffer
	done    chan error
}

// mustStart starts serve on a free port with the given extra flags and waits
// for its "listening" line. Its logs go to a file (no pipe for this process to
// drain while it measures); they are shown when it fails to start.
func mustStart(t *testing.T, bin, dbURL string, flags ...string) *server {
	t.Helper()
	return mustStartWith(t, []string{"SWITCHBOARD_DATABASE_URL=" + dbURL}, 60*time.Second,
		append([]string{bin, "serve", "--addr", "127.0.0.1:0"}, flags...)...)
}

// mustStartWith is mustStart of the command argv (the binary, possibly
// behind a wrapper such as valgrind, and its arguments, serve's --addr
// among them) with env (the database URL among it) added to this process's
// environment, waiting up to wait for its "listening" line.
func mustStartWith(t *testing.T, env []string, wait time.Duration, argv ...string) *server {
	t.Helper()
	s := &server{logPath: filepath.Join(t.TempDir(), "serve.log"), done: make(chan error, 1)}
	logs, err := os.Create(s.logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logs.Close()
	s.cmd = exec.Command(argv[0], argv[1:]...)
	s.cmd.Env = append(os.Environ(), env...)
	s.cmd.Stdout = &s.stdout
	s.cmd.Stderr = logs
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	t.Cleanup(func() {
		if s.cmd.ProcessState == nil {
			_ = s.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-s.done:
			case <-time.After(20 * time.Second):
				_ = s.cmd.Process.Kill()
				<-s.done
			}
		}
	})
	for deadline := time.Now().Add(wait); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		select {
		case err := <-s.done:
			t.Fatalf("serve exited before listening: %v\n%s", err, s.logs(t))
		default:
		}
		if s.addr = listening(t, s.logPath); s.addr != "" {
			return s
		}
	}
	t.Fatalf("serve did not listen within %s\n%s", wait, s.logs(t))
	return nil
}

// stop sends SIGTERM and waits for the server to exit.
func (s *server) stop(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// listening returns the address of the "listening" log line, or "".
func listening(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var rec struct{ Msg, Addr string }
		if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Msg == "listening" {
			return rec.Addr
		}
	}
	return ""
}

func (s *server) logs(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return err.Error()
	}
	if len(b) > 8000 {
		b = b[len(b)-8000:]
	}
	return string(b)
}

// memory returns the serve process's current and peak resident set sizes in
// bytes (VmRSS and VmHWM of /proc/PID/status).
func (s *server) memory(t *testing.T) (rss, peak int64) {
	t.Helper()
	return procMemory(t, s.cmd.Process.Pid)
}

func procMemory(t *testing.T, pid int) (rss, peak int64) {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("read process status: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			t.Fatalf("parse %s %q: %v", k, v, err)
		}
		if k == "VmRSS" {
			rss = n * 1024
		} else {
			peak = n * 1024
		}
	}
	return rss, peak
}

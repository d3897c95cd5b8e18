package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"switchboard/auth"
	"switchboard/cmd/switchboard/binarytest"
	"switchboard/handlers/apitest"
	"switchboard/models"
	"switchboard/store/storetest"
)

// TestMain runs the tests with storetest's per-package databases and
// removes the binary the tests built.
func TestMain(m *testing.M) {
	code := storetest.Run(m)
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// mustBuild returns the real binary: the one make test built
// (binarytest.EnvBinary), or else one compiled once per test binary run. It
// skips the test under -short: every end-to-end test starts here.
func mustBuild(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end: skipped with -short")
	}
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "switchboard-e2e")
		if buildErr != nil {
			return
		}
		binPath, buildErr = binarytest.Build(buildDir)
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

var (
	buildOnce sync.Once
	buildDir  string
	binPath   string
	buildErr  error
)

// server is the real binary, running serve.
type server struct {
	cmd    *exec.Cmd
	addr   string
	stdout *binarytest.Buffer
	logs   *binarytest.Buffer
	done   chan error
	// client is every request's client: each exchange is checked against
	// openapi.yaml, and departures fail the test that started the server.
	client *http.Client
}

// mustStart starts serve on a free port and waits for its "listening" line.
func mustStart(t *testing.T, bin, dbURL string) *server {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0")
	// A small pool, so that the suite's servers stay within PostgreSQL's
	// connections beside everything else; the test's environment may
	// override it.
	cmd.Env = append([]string{"SWITCHBOARD_DATABASE_MAX_CONNS=4"}, os.Environ()...)
	cmd.Env = append(cmd.Env, "SWITCHBOARD_DATABASE_URL="+dbURL, "SWITCHBOARD_LOG_LEVEL=info")
	stdout := &binarytest.Buffer{}
	cmd.Stdout = stdout
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, stdout: stdout, logs: &binarytest.Buffer{}, done: make(chan error, 1),
		client: &http.Client{Transport: apitest.Transport(t, nil)}}
	addrCh := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			s.logs.Write([]byte(line + "\n"))
			var rec struct{ Msg, Addr string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "listening" {
				addrCh <- rec.Addr
			}
		}
	}()
	go func() { s.done <- cmd.Wait(); pw.Close() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-s.done
		}
	})
	select {
	case s.addr = <-addrCh:
	case err := <-s.done:
		t.Fatalf("server exited before listening: %v\n%s", err, s.logs.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("server did not listen within 30s\n%s", s.logs.String())
	}
	return s
}

// stop sends SIGTERM and returns the exit error.
func (s *server) stop(t *testing.T) error {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-s.done:
		return err
	case <-time.After(90 * time.Second): // past serve's own bounds (15 s, then 50 s): only when it hangs
		t.Fatalf("server did not stop within 90s after SIGTERM\n%s", s.logs.String())
		return nil
	}
}

func (s *server) get(t *testing.T, path, user, pass string) (int, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, "http://"+s.addr+path, nil)
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	res, err := s.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestE2E_FirstStart runs the real binary the way the README tells a new user
// to: first start prints the superadmin's credentials once, and with them
// REVE's offline-messages list answers, first [] and then what was written.
func TestE2E_FirstStart(t *testing.T) {
	bin := mustBuild(t)
	for _, b := range storetest.Backends(t) {
		t.Run(string(b), func(t *testing.T) {
			dbURL := storetest.MustURL(t, b)
			s := mustStart(t, bin, dbURL)
			email, password, token := binarytest.MustCredentials(t, s.stdout)
			if c, err := MustKeys(t, dbURL, "").Authenticate(t.Context(), token); err != nil || c.Email != email || !slices.Equal(c.Scopes, auth.AllScopes()) {
				t.Errorf("first start's API key authenticates as %+v, %v; want the superadmin with every scope", c, err)
			}

			if code, body := s.get(t, "/api/offlinemessages", email, password); code != 200 || body != "[]\n" {
				t.Fatalf("empty list = %d %q, want 200 []", code, body)
			}
			if code, body := s.get(t, "/api/offlinemessages", email, "wrong"); code != 401 || body != "Bad credentials" {
				t.Errorf("wrong password = %d %q", code, body)
			}
			if code, _ := s.get(t, "/readyz", "", ""); code != 200 {
				t.Errorf("/readyz = %d", code)
			}
			if code, body := s.get(t, "/healthz", "", ""); code != 200 {
				t.Errorf("/healthz = %d %s", code, body)
			}

			// Write through the store, as another process would, and read it back.
			st := storetest.MustOpenURL(t, dbURL)
			admin, err := st.AgentByEmail(t.Context(), email)
			if err != nil {
				t.Fatal(err)
			}
			ct := storetest.MustContact(t, st, admin.AccountID, "Visitor", "v@example.com", "+14155550111")
			at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
			c := storetest.MustOfflineCase(t, st, admin.AccountID, ct.ID, "Hi", "Is anyone there?", at)
			storetest.MustReply(t, st, admin.AccountID, c.ID, admin.ID, "Yes", at.Add(time.Minute))
			code, body := s.get(t, fmt.Sprint("/api/offlinemessages/", c.ID), email, password)
			want := fmt.Sprintf(`"reply_messages":[{"reply_message":"Yes","message_reply_time":%d,"agent_id":%d`, at.Add(time.Minute).UnixMilli(), admin.ID)
			if code != 200 || !strings.Contains(body, want) {
				t.Errorf("detail = %d %s; want it to contain %s", code, body, want)
			}

			// An admin created with the CLI is refused by REVE: superadmins only.
			c2 := cli{dbURL: dbURL}
			c2.mustID(t, "agent", "create", "--account", fmt.Sprint(admin.AccountID), "--email", "adm@example.com",
				"--password", "admin-password", "--role", string(models.RoleAdmin))
			if code, _ := s.get(t, "/api/offlinemessages", "adm@example.com", "admin-password"); code != 403 {
				t.Errorf("admin got %d, want 403", code)
			}

			if err := s.stop(t); err != nil {
				t.Errorf("exit after SIGTERM: %v\n%s", err, s.logs.String())
			}
			if !strings.Contains(s.logs.String(), `"msg":"stopped"`) {
				t.Errorf("no graceful stop in the logs:\n%s", s.logs.String())
			}

			// A second start keeps the data and prints no credentials.
			s2 := mustStart(t, bin, dbURL)
			if strings.Contains(s2.stdout.String(), "password") || strings.Contains(s2.stdout.String(), "api key") {
				t.Errorf("second start printed credentials again:\n%s", s2.stdout.String())
			}
			if code, body := s2.get(t, "/api/offlinemessages", email, password); code != 200 || !strings.Contains(body, `"reply_message_count":1`) {
				t.Errorf("after restart list = %d %s", code, body)
			}
			if err := s2.stop(t); err != nil {
				t.Errorf("second exit: %v", err)
			}
		})
	}
}

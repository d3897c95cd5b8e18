//go:build faults

package faults

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/mail"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"switchboard/cmd/switchboard/binarytest"
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

// mustBuild returns the real binary: the one make built
// (binarytest.EnvBinary), or else one compiled once per test binary run. It
// skips the test under -short: every fault test starts here.
func mustBuild(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("fault test: skipped with -short")
	}
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "switchboard-faults")
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

// server is the real binary running serve.
type server struct {
	cmd    *exec.Cmd
	addr   string
	stdout *binarytest.Buffer
	logs   *binarytest.Buffer
	done   chan error
	client *http.Client
}

// mustStart starts serve on a free port of 127.0.0.1 against dbURL, with the
// extra environment variables env, and waits for its "listening" line.
func mustStart(t *testing.T, bin, dbURL string, env ...string) *server {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "SWITCHBOARD_DATABASE_URL="+dbURL, "SWITCHBOARD_LOG_LEVEL=info")
	cmd.Env = append(cmd.Env, env...)
	s := &server{cmd: cmd, stdout: &binarytest.Buffer{}, logs: &binarytest.Buffer{}, done: make(chan error, 1),
		// A bound well past the 5 s the suite allows, so that a hang shows
		// as a slow answer rather than a stuck test.
		client: &http.Client{Timeout: 15 * time.Second}}
	cmd.Stdout = s.stdout
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addrCh := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			s.logs.Write([]byte(line + "\n"))
			var rec struct{ Msg, Addr string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "listening" {
				addrCh <- rec.Addr
			}
		}
		io.Copy(s.logs, pr) // a line longer than the buffer: keep reading
	}()
	go func() { s.done <- cmd.Wait(); pw.Close() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-s.done
		}
		if t.Failed() {
			// The whole log is long under load: keep its errors and warnings.
			var keep []string
			for line := range strings.Lines(s.logs.String()) {
				if !strings.Contains(line, `"level":"INFO"`) || strings.Contains(line, `"status":500`) {
					keep = append(keep, line)
				}
			}
			path := filepath.Join(t.TempDir(), "server.log")
			if dir := os.Getenv("SWITCHBOARD_FAULTS_LOGS"); dir != "" {
				path = filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_")+"-"+strings.ReplaceAll(s.addr, ":", "_")+".log")
			}
			_ = os.WriteFile(path, []byte(s.logs.String()), 0o644)
			t.Logf("server %s: warnings, errors and 500s of its log (last 8 KB; all of it in %s):\n%s", s.addr, path, tail(strings.Join(keep, ""), 8192))
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

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

// kill sends SIGKILL and waits for the process to go.
func (s *server) kill(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		t.Fatal("server did not die within 10s of SIGKILL")
	}
}

// panicMark matches what a panic leaves in the server's logs: the
// runtime's "panic: " and its goroutine dumps, the router's recovered panic
// ("msg":"panic") and the delivery worker's ("sender panicked"). Not the
// bare word: the random request ids of a few thousand requests spell
// "panic" in some letter case every hundred runs or so.
var panicMark = regexp.MustCompile(`(?m)^panic: |"msg":"panic"|panicked|^goroutine \d+ \[`)

// mustNoPanic fails the test when the server's logs show a panic.
func (s *server) mustNoPanic(t *testing.T) {
	t.Helper()
	logs := s.logs.String()
	if loc := panicMark.FindStringIndex(logs); loc != nil {
		i := loc[0]
		t.Errorf("server stderr shows a panic:\n%s", logs[max(0, i-500):min(len(logs), i+2500)])
	}
}

// request is one HTTP request: a bearer token or Basic credentials, extra
// headers and a JSON body.
type request struct {
	method, path string
	token        string
	user, pass   string
	header       map[string]string
	body         []byte
}

// reply is what the server answered and how long it took.
type reply struct {
	code    int
	header  http.Header
	body    string
	elapsed time.Duration
}

// send does one request; it returns an error rather than failing the test so
// that goroutines may use it.
func (s *server) send(r request) (reply, error) {
	var rd io.Reader
	if r.body != nil {
		rd = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(context.Background(), r.method, "http://"+s.addr+r.path, rd)
	if err != nil {
		return reply{}, err
	}
	if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	if r.user != "" {
		req.SetBasicAuth(r.user, r.pass)
	}
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	start := time.Now()
	res, err := s.client.Do(req)
	if err != nil {
		return reply{elapsed: time.Since(start)}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return reply{elapsed: time.Since(start)}, err
	}
	return reply{code: res.StatusCode, header: res.Header, body: string(b), elapsed: time.Since(start)}, nil
}

// mustSend is send that fails the test on a transport error.
func (s *server) mustSend(t *testing.T, r request) reply {
	t.Helper()
	rep, err := s.send(r)
	if err != nil {
		t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	return rep
}

// mustPost posts v as JSON with the token and decodes a 200 answer into out.
func (s *server) mustPost(t *testing.T, path, token string, v, out any) {
	t.Helper()
	r := s.mustSend(t, request{method: http.MethodPost, path: path, token: token, body: mustMarshal(t, v)})
	if r.code != http.StatusOK {
		t.Fatalf("POST %s = %d %s", path, r.code, r.body)
	}
	if err := json.Unmarshal([]byte(r.body), out); err != nil {
		t.Fatalf("POST %s: %v in %s", path, err, r.body)
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// mustChat creates a HelpCrunch customer and a chat of it, and returns the
// chat's id.
func (s *server) mustChat(t *testing.T, token, email string) int64 {
	t.Helper()
	var cust, chat struct{ ID int64 }
	s.mustPost(t, "/v1/customers", token, map[string]any{"name": "Visitor", "email": email}, &cust)
	s.mustPost(t, "/v1/chats", token, map[string]any{"customer": cust.ID}, &chat)
	return chat.ID
}

// mustRunBinary runs an admin command of the real binary on dbURL and
// returns what it printed, failing the test unless it succeeds.
func mustRunBinary(t *testing.T, bin, dbURL string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "SWITCHBOARD_DATABASE_URL="+dbURL)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("switchboard %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
	}
	return strings.TrimSpace(out.String())
}

// noLimits is the environment that turns the per-address rate limit off;
// mustUnlimited raises the default account's own limits. Load generators
// use both, so that a 429 never hides the fault under test.
const noLimits = "SWITCHBOARD_IP_RATE_LIMIT=0"

func mustUnlimited(t *testing.T, bin, dbURL string) {
	t.Helper()
	mustRunBinary(t, bin, dbURL, "account", "update", "--id", "1", "--rate-limit", "1000000", "--daily-rate-limit", "100000000")
}

// waitFor polls cond every 50 ms until it holds, failing after limit.
func waitFor(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(limit); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting %v for %s", limit, what)
		}
	}
}

// freePort returns a TCP port of 127.0.0.1 nobody listens on.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// cluster is a private PostgreSQL cluster of one test, which the test may
// stop and start without disturbing anything else.
type cluster struct {
	bin  string // PostgreSQL's bin directory
	dir  string // data directory
	port int
	// asPostgres is set when we run as root: initdb and pg_ctl refuse root,
	// so they run as the postgres user.
	asPostgres bool
}

// pgBinDir finds PostgreSQL's programs: pg_config --bindir, else the newest
// /usr/lib/postgresql/*/bin.
func pgBinDir(t *testing.T) string {
	t.Helper()
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		dir := strings.TrimSpace(string(out))
		if _, err := os.Stat(filepath.Join(dir, "initdb")); err == nil {
			return dir
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	best, bestVersion := "", -1
	for _, d := range dirs {
		v, err := strconv.Atoi(filepath.Base(filepath.Dir(d)))
		if _, serr := os.Stat(filepath.Join(d, "initdb")); err == nil && serr == nil && v > bestVersion {
			best, bestVersion = d, v
		}
	}
	if best == "" {
		t.Fatal("no PostgreSQL server programs (initdb, pg_ctl): install postgresql")
	}
	return best
}

// mustCluster initdbs a cluster in a temporary directory, starts it on a
// free port and stops it (immediately) when the test ends.
func mustCluster(t *testing.T) *cluster {
	t.Helper()
	c := &cluster{bin: pgBinDir(t), port: freePort(t), asPostgres: os.Geteuid() == 0}
	dir, err := os.MkdirTemp("", "switchboard-faults-pg")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if c.asPostgres {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root, initdb needs the postgres user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	c.dir = filepath.Join(dir, "data")
	c.mustRun(t, "initdb", "-D", c.dir, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")
	conf := fmt.Sprintf("port = %d\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\n"+
		"fsync = off\nmax_connections = 100\nshared_buffers = 32MB\n", c.port, dir)
	c.mustRun(t, "sh", "-c", fmt.Sprintf("cat >> %s/postgresql.conf <<'EOF'\n%sEOF", c.dir, conf))
	c.start(t)
	t.Cleanup(func() { c.run("pg_ctl", "-D", c.dir, "-m", "immediate", "-w", "stop") })
	return c
}

// url is the cluster's postgres database.
func (c *cluster) url() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
}

func (c *cluster) run(name string, args ...string) ([]byte, error) {
	if name != "sh" {
		name = filepath.Join(c.bin, name)
	}
	var cmd *exec.Cmd
	if c.asPostgres {
		cmd = exec.Command("runuser", append([]string{"-u", "postgres", "--", name}, args...)...)
	} else {
		cmd = exec.Command(name, args...)
	}
	return cmd.CombinedOutput()
}

func (c *cluster) mustRun(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := c.run(name, args...); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// start starts the cluster and waits until it accepts connections.
func (c *cluster) start(t *testing.T) {
	t.Helper()
	c.mustRun(t, "pg_ctl", "-D", c.dir, "-l", filepath.Join(filepath.Dir(c.dir), "log"), "-w", "-t", "30", "start")
}

// stop stops the cluster at once, as a crash would (pg_ctl -m immediate).
func (c *cluster) stop(t *testing.T) {
	t.Helper()
	c.mustRun(t, "pg_ctl", "-D", c.dir, "-m", "immediate", "-w", "stop")
}

// mailbox is an in-process SMTP server (emersion/go-smtp) that counts the
// messages it receives by Message-ID.
type mailbox struct {
	addr string
	// delay is how long each message's DATA takes, so that sends overlap.
	delay time.Duration
	mu    sync.Mutex
	byID  map[string]int
	all   int
}

func mustMailbox(t *testing.T, delay time.Duration) *mailbox {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mb := &mailbox{addr: ln.Addr().String(), delay: delay, byID: map[string]int{}}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &mailSession{mb: mb}, nil }))
	srv.Domain = "mx.test"
	srv.ErrorLog = log.New(io.Discard, "", 0)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return mb
}

// counts returns how many messages arrived and how many times each
// Message-ID did.
func (mb *mailbox) counts() (int, map[string]int) {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	byID := make(map[string]int, len(mb.byID))
	for k, v := range mb.byID {
		byID[k] = v
	}
	return mb.all, byID
}

type mailSession struct{ mb *mailbox }

func (s *mailSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *mailSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *mailSession) Data(r io.Reader) error {
	msg, err := mail.ReadMessage(r)
	if err != nil {
		return err
	}
	if _, err := io.Copy(io.Discard, msg.Body); err != nil {
		return err
	}
	time.Sleep(s.mb.delay)
	id := msg.Header.Get("Message-Id")
	if id == "" {
		return errors.New("no Message-ID")
	}
	s.mb.mu.Lock()
	defer s.mb.mu.Unlock()
	s.mb.byID[id]++
	s.mb.all++
	return nil
}
func (s *mailSession) Reset()        {}
func (s *mailSession) Logout() error { return nil }

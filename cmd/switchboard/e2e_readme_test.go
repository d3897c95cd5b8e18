package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode"
)

// The README and the Makefile, from this package's directory.
const (
	readmePath   = "../../README.md"
	makefilePath = "../../Makefile"
)

// readmeStep is one command of the README's Quick start and the output the
// README shows for it.
type readmeStep struct {
	cmd    string   // as the README writes it, continuation lines included
	want   []string // the lines shown as its output; none: it prints nothing
	line   int      // the README line the command starts on
	server bool     // make run: started in the background, not waited for
}

// TestE2E_READMEQuickStart runs the README's Quick start as a new user would
// on a fresh clone: make run in one terminal (the Makefile's own serve
// command, on a free port), then every other command in order in a second
// one, each through bash with the shell variables earlier commands set, and
// holds each output to the shape the README shows.
func TestE2E_READMEQuickStart(t *testing.T) {
	bin := mustBuild(t)
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatalf("the README's Quick start needs curl: %v", err)
	}
	if _, err := exec.LookPath("bash"); err != nil {
		t.Fatalf("the README's Quick start needs bash: %v", err)
	}
	readme, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	steps, err := parseQuickStart(string(readme))
	if err != nil {
		t.Fatalf("README.md: %v", err)
	}
	makefile, err := os.ReadFile(makefilePath)
	if err != nil {
		t.Fatal(err)
	}
	serveArgs, err := makeRunCommand(string(makefile))
	if err != nil {
		t.Fatalf("Makefile: %v", err)
	}

	// A fresh clone after make run's build: ./bin/switchboard is the binary.
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(bin, filepath.Join(dir, "bin", "switchboard")); err != nil {
		t.Fatal(err)
	}
	env := readmeEnv()

	s := mustStartREADMEServer(t, dir, env, serveArgs)
	want := steps[0].want
	out, err := os.ReadFile(s.stdoutPath)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimRight(string(out), "\n"); !shapeMatches(strings.Join(want, "\n"), got) {
		t.Errorf("README.md:%d: make run printed\n%s\nwant the shape\n%s", steps[0].line, got, strings.Join(want, "\n"))
	}

	vars := filepath.Join(dir, ".readme-vars")
	if err := os.WriteFile(vars, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, st := range steps[1:] {
		cmd := strings.NewReplacer("localhost:8080", s.addr, "127.0.0.1:8080", s.addr).Replace(st.cmd)
		got, err := runREADMECommand(t.Context(), dir, env, vars, cmd)
		if err != nil {
			t.Fatalf("README.md:%d: %s\n%v\nserver log:\n%s", st.line, st.cmd, err, s.log())
		}
		want := strings.Join(st.want, "\n")
		if !shapeMatches(want, got) {
			t.Errorf("README.md:%d: %s\nprinted\n%s\nwant the shape\n%s", st.line, st.cmd, got, want)
		}
	}

	if err := s.stop(); err != nil {
		t.Errorf("make run after Ctrl-C (SIGINT): %v\n%s", err, s.log())
	}
}

// readmeServer is the binary started as make run starts it.
type readmeServer struct {
	cmd        *exec.Cmd
	addr       string
	stdoutPath string
	stderrPath string
	done       chan error
	exited     bool // its exit was received from done
}

// log returns what the server wrote to stderr so far.
func (s *readmeServer) log() string {
	b, _ := os.ReadFile(s.stderrPath)
	return string(b)
}

// stop sends SIGINT, as Ctrl-C in make run's terminal does, and returns
// the exit error.
func (s *readmeServer) stop() error {
	if err := s.cmd.Process.Signal(os.Interrupt); err != nil {
		return err
	}
	select {
	case err := <-s.done:
		s.exited = true
		return err
	case <-time.After(90 * time.Second): // a guard against a hang, past serve's own bounds
		return errors.New("did not stop within 90s")
	}
}

// mustStartREADMEServer starts args (make run's command) in dir with
// --addr 127.0.0.1:0 added, learns the port from its "listening" log line
// and waits until /readyz answers 200, each within a generous deadline.
// stdout and stderr go to files, so that what the first start printed
// before listening is all there once it listens.
func mustStartREADMEServer(t *testing.T, dir string, env, args []string) *readmeServer {
	t.Helper()
	s := &readmeServer{stdoutPath: filepath.Join(dir, "make-run.out"), stderrPath: filepath.Join(dir, "make-run.err"),
		done: make(chan error, 1)}
	stdout, err := os.Create(s.stdoutPath)
	if err != nil {
		t.Fatal(err)
	}
	defer stdout.Close()
	stderr, err := os.Create(s.stderrPath)
	if err != nil {
		t.Fatal(err)
	}
	defer stderr.Close()
	args = append(append([]string{}, args...), "--addr", "127.0.0.1:0")
	s.cmd = exec.Command(filepath.Join(dir, args[0]), args[1:]...)
	s.cmd.Dir, s.cmd.Env, s.cmd.Stdout, s.cmd.Stderr = dir, env, stdout, stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	t.Cleanup(func() {
		if !s.exited {
			s.cmd.Process.Kill()
			<-s.done
		}
	})

	deadline := time.Now().Add(60 * time.Second)
	for s.addr == "" {
		if time.Now().After(deadline) {
			t.Fatalf("make run did not listen within 60s\n%s", s.log())
		}
		select {
		case err := <-s.done:
			s.exited = true
			t.Fatalf("make run exited before listening: %v\n%s", err, s.log())
		case <-time.After(20 * time.Millisecond):
		}
		sc := bufio.NewScanner(strings.NewReader(s.log()))
		for sc.Scan() {
			var rec struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Msg == "listening" {
				s.addr = rec.Addr
			}
		}
	}
	client := &http.Client{Timeout: 10 * time.Second}
	for {
		res, err := client.Get("http://" + s.addr + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz did not answer 200 within 60s: %v\n%s", err, s.log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// runREADMECommand runs cmd with bash in dir, with the shell variables
// earlier commands set (kept in the file vars), and appends the variables
// cmd assigns to that file. It returns cmd's stdout without its trailing
// newlines, or an error with its stderr when it fails.
func runREADMECommand(ctx context.Context, dir string, env []string, vars, cmd string) (string, error) {
	var script strings.Builder
	fmt.Fprintf(&script, "set -eu -o pipefail\n. %q\n%s\n", vars, cmd)
	for _, name := range assignedVars(cmd) {
		fmt.Fprintf(&script, "printf '%%s=%%q\\n' %s \"$%s\" >> %q\n", name, name, vars)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute) // a guard against a hang
	defer cancel()
	c := exec.CommandContext(ctx, "bash", "-c", script.String())
	c.Dir, c.Env = dir, env
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	if err := c.Run(); err != nil {
		return "", fmt.Errorf("%v\nstdout: %s\nstderr: %s", err, stdout.String(), stderr.String())
	}
	return strings.TrimRight(stdout.String(), "\n"), nil
}

var assignment = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)=`)

// assignedVars returns the shell variable a command assigns (KEY=$(...)),
// or none.
func assignedVars(cmd string) []string {
	if m := assignment.FindStringSubmatch(cmd); m != nil {
		return []string{m[1]}
	}
	return nil
}

// readmeEnv returns the test's environment without any SWITCHBOARD_
// variable, so that the README's commands use the defaults a new user has.
func readmeEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SWITCHBOARD_") {
			env = append(env, kv)
		}
	}
	return env
}

// makeRunCommand returns the command the Makefile's run target runs, with
// $(BIN) as bin/switchboard and $(ARGS) empty, as make run runs it, or an
// error when there is no such target or it does not run the binary.
func makeRunCommand(makefile string) ([]string, error) {
	lines := strings.Split(makefile, "\n")
	for i, l := range lines {
		if !strings.HasPrefix(l, "run:") {
			continue
		}
		for _, r := range lines[i+1:] {
			if !strings.HasPrefix(r, "\t") {
				break
			}
			if strings.Contains(r, "$(BIN)") {
				r = strings.NewReplacer("$(BIN)", "bin/switchboard", "$(ARGS)", "").Replace(r)
				return strings.Fields(r), nil
			}
		}
		return nil, errors.New("the run target does not run $(BIN)")
	}
	return nil, errors.New("no run target")
}

// parseQuickStart returns the commands of README's "## Quick start"
// section, in order, each with the output the README shows for it. The
// section's ```sh blocks hold the commands: a command runs on over lines
// while it ends in a backslash or a single quote is open, and the "# " lines
// after it are its output; a ```text block is the output of the command
// before it. The first command must be make run, the server, and the only
// one. It returns an error naming the README line of anything else.
func parseQuickStart(readme string) ([]readmeStep, error) {
	lines := strings.Split(readme, "\n")
	start := -1
	for i, l := range lines {
		if l == "## Quick start" {
			start = i
			break
		}
	}
	if start < 0 {
		return nil, errors.New(`no "## Quick start" section`)
	}
	var steps []readmeStep
	last := func(n int) (*readmeStep, error) {
		if len(steps) == 0 {
			return nil, fmt.Errorf("line %d: output before any command", n)
		}
		return &steps[len(steps)-1], nil
	}
	for i := start + 1; i < len(lines) && !strings.HasPrefix(lines[i], "## "); i++ {
		info, ok := strings.CutPrefix(lines[i], "```")
		if !ok {
			continue
		}
		open := i + 1
		var body []string
		for i++; i < len(lines) && lines[i] != "```"; i++ {
			body = append(body, lines[i])
		}
		if i == len(lines) {
			return nil, fmt.Errorf("line %d: the code block is not closed", open)
		}
		switch info {
		case "text":
			st, err := last(open)
			if err != nil {
				return nil, err
			}
			if st.want != nil {
				return nil, fmt.Errorf("line %d: the command of line %d already shows its output", open, st.line)
			}
			st.want = append([]string{}, body...)
		case "sh":
			var pending []string
			for j, l := range body {
				n := open + j + 1
				if pending != nil {
					pending = append(pending, l)
				} else if strings.TrimSpace(l) == "" {
					continue
				} else if out, ok := strings.CutPrefix(l, "#"); ok {
					st, err := last(n)
					if err != nil {
						return nil, err
					}
					st.want = append(st.want, strings.TrimPrefix(out, " "))
					continue
				} else {
					pending = []string{l}
					steps = append(steps, readmeStep{line: n})
				}
				if cmd := strings.Join(pending, "\n"); strings.Count(cmd, "'")%2 == 0 && !strings.HasSuffix(cmd, `\`) {
					steps[len(steps)-1].cmd = cmd
					pending = nil
				}
			}
			if pending != nil {
				return nil, fmt.Errorf("line %d: the command does not end in its block", steps[len(steps)-1].line)
			}
		default:
			return nil, fmt.Errorf("line %d: a code block of the Quick start is ```sh or ```text, not %q", open, "```"+info)
		}
	}
	for i := range steps {
		f := strings.Fields(steps[i].cmd)
		steps[i].server = len(f) >= 2 && f[0] == "make" && f[1] == "run"
		if steps[i].server != (i == 0) {
			return nil, fmt.Errorf("line %d: make run is the first command of the Quick start and the only server", steps[i].line)
		}
	}
	if len(steps) == 0 {
		return nil, errors.New("the Quick start has no commands")
	}
	return steps, nil
}

// shapeMatches reports whether got has the shape want shows: the same text,
// where each "..." (or "…") in want stands for any text, and, when want is
// JSON, got is valid JSON.
func shapeMatches(want, got string) bool {
	parts := strings.Split(strings.ReplaceAll(want, "…", "..."), "...")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	if !regexp.MustCompile(`(?s)\A` + strings.Join(parts, `.*?`) + `\z`).MatchString(got) {
		return false
	}
	if w := strings.TrimSpace(want); strings.HasPrefix(w, "{") || strings.HasPrefix(w, "[") {
		return json.Valid([]byte(got))
	}
	return true
}

func TestParseQuickStart(t *testing.T) {
	const fence = "```"
	tests := []struct {
		name    string
		readme  string
		want    []readmeStep
		wantErr string
	}{
		{
			name: "server, text output, commands with outputs",
			readme: "# x\n## Quick start\n" + fence + "sh\nmake run\n" + fence + "\nprose\n" + fence + "text\nhello\n  there\n" + fence + "\n" +
				fence + "sh\nK=$(./bin/switchboard key create)\n./bin/switchboard site create \\\n  --domain a\n# 1\ncurl -d '{\"a\":\n 1}'\n# {\"b\":...}\n" + fence + "\n## Next\n" +
				fence + "sh\nnot this\n" + fence + "\n",
			want: []readmeStep{
				{cmd: "make run", want: []string{"hello", "  there"}, line: 4, server: true},
				{cmd: "K=$(./bin/switchboard key create)", line: 12},
				{cmd: "./bin/switchboard site create \\\n  --domain a", want: []string{"1"}, line: 13},
				{cmd: "curl -d '{\"a\":\n 1}'", want: []string{`{"b":...}`}, line: 16},
			},
		},
		{name: "no section", readme: "# x\n", wantErr: "no \"## Quick start\""},
		{name: "output first", readme: "## Quick start\n" + fence + "sh\n# 1\n" + fence + "\n", wantErr: "output before any command"},
		{name: "no server first", readme: "## Quick start\n" + fence + "sh\ncurl x\nmake run\n" + fence + "\n", wantErr: "make run is the first"},
		{name: "open quote", readme: "## Quick start\n" + fence + "sh\nmake run\ncurl -d '{\n" + fence + "\n", wantErr: "does not end"},
		{name: "other language", readme: "## Quick start\n" + fence + "python\nx\n" + fence + "\n", wantErr: "not \"```python\""},
		{name: "unclosed", readme: "## Quick start\n" + fence + "sh\nmake run\n", wantErr: "not closed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseQuickStart(tt.readme)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestShapeMatches(t *testing.T) {
	tests := []struct {
		name      string
		want, got string
		match     bool
	}{
		{"same text", "2", "2", true},
		{"another number", "2", "3", false},
		{"placeholder", "secret: sbin_...", "secret: sbin_abc", true},
		{"JSON with placeholders", `{"id":1,...,"chat":1}`, `{"id":1,"a":"b","chat":1}`, true},
		{"JSON with another id", `{"id":1,...}`, `{"id":12,"x":1}`, false},
		{"JSON missing a key", `{"id":1,...,"chat":1}`, `{"id":1,"a":"b"}`, false},
		{"not JSON", `{"id":1,...}`, `{"id":1,oops`, false},
		{"lines", "a: ...\nb", "a: x\nb", true},
		{"extra line", "a", "a\nb", false},
		{"ellipsis character", `[{"id":1,…}]`, `[{"id":1,"n":2}]`, true},
		{"nothing shown", "", "", true},
		{"nothing shown, something printed", "", "x", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := shapeMatches(tt.want, tt.got); got != tt.match {
				t.Errorf("shapeMatches(%q, %q) = %v, want %v", tt.want, tt.got, got, tt.match)
			}
		})
	}
}

// TestDocs_Links checks that every relative link of README.md and docs/*.md
// names a file of the repository and, with a #fragment, a heading of it.
func TestDocs_Links(t *testing.T) {
	files, err := filepath.Glob("../../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	files = append([]string{readmePath}, files...)
	link := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range link.FindAllStringSubmatch(stripCode(string(b)), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			path, frag, _ := strings.Cut(target, "#")
			file := f
			if path != "" {
				file = filepath.Join(filepath.Dir(f), path)
			}
			body, err := os.ReadFile(file)
			if err != nil {
				t.Errorf("%s: link %s: %v", f, target, err)
				continue
			}
			if frag != "" && !hasAnchor(string(body), frag) {
				t.Errorf("%s: link %s: %s has no heading with the anchor #%s", f, target, file, frag)
			}
		}
	}
}

// stripCode returns markdown without its fenced code blocks, whose text is
// not links.
func stripCode(md string) string {
	var out []string
	in := false
	for _, l := range strings.Split(md, "\n") {
		if strings.HasPrefix(l, "```") {
			in = !in
			continue
		}
		if !in {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// hasAnchor reports whether a heading of md has the anchor GitHub gives it:
// lower case, spaces as hyphens, punctuation other than - and _ dropped, and
// -1, -2, ... after the first of equal ones.
func hasAnchor(md, frag string) bool {
	seen := map[string]int{}
	for _, l := range strings.Split(stripCode(md), "\n") {
		text, ok := strings.CutPrefix(strings.TrimLeft(l, "#"), " ")
		if !ok || !strings.HasPrefix(l, "#") {
			continue
		}
		var b strings.Builder
		for _, r := range strings.ToLower(text) {
			switch {
			case unicode.IsLetter(r), unicode.IsDigit(r), r == '-', r == '_':
				b.WriteRune(r)
			case r == ' ':
				b.WriteRune('-')
			}
		}
		a := b.String()
		if n := seen[a]; n > 0 {
			a = fmt.Sprintf("%s-%d", a, n)
		}
		seen[b.String()]++
		if a == frag {
			return true
		}
	}
	return false
}

package switchboard_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"switchboard/auth"
	"switchboard/handlers"
	"switchboard/handlers/apitest"
	"switchboard/handlers/dialect"
	"switchboard/handlers/switchboard"
	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

// fixture is two accounts, keys with the scopes the namespace checks, and
// the real router over them.
type fixture struct {
	st *store.Store
	h  http.Handler
	// srv serves h checked by openapi.yaml; raw serves h as it is (the
	// stream, which the check's recorder would hold back).
	srv, raw *httptest.Server

	one, two models.Account
	// admin has every scope; read has only read; chat only chat; other is
	// the second account's key with every scope.
	admin, read, chat, other, revoked string
}

// mustFixture returns the fixture over st, the router built with cfg.
func mustFixture(t testing.TB, st *store.Store, cfg switchboard.Config) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{st: st}
	f.one = storetest.MustAccount(t, st, "One")
	f.two = storetest.MustAccount(t, st, "Two")
	storetest.MustAgent(t, st, f.one.ID, "boss@example.com", models.RoleSuperadmin, "x")
	storetest.MustAgent(t, st, f.two.ID, "boss2@example.com", models.RoleSuperadmin, "x")
	keys, err := auth.NewKeys(bytes.Repeat([]byte("s"), auth.MinSecretLen), st, auth.KeysOptions{})
	if err != nil {
		t.Fatal(err)
	}
	issue := func(account int64, scopes ...auth.Scope) (models.APIKey, string) {
		t.Helper()
		k, token, err := keys.Issue(ctx, account, auth.KeySpec{Scopes: scopes})
		if err != nil {
			t.Fatal(err)
		}
		return k, token
	}
	_, f.admin = issue(f.one.ID)
	_, f.read = issue(f.one.ID, auth.ScopeRead)
	_, f.chat = issue(f.one.ID, auth.ScopeChat)
	_, f.other = issue(f.two.ID)
	rk, token := issue(f.one.ID)
	if _, err := st.RevokeAPIKey(ctx, rk.ID); err != nil {
		t.Fatal(err)
	}
	f.revoked = token
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	f.h = handlers.New(handlers.Config{Switchboard: cfg}, handlers.Deps{Deps: dialect.Deps{Store: st, Keys: keys, Log: log}})
	f.srv = httptest.NewServer(apitest.Wrap(t, f.h))
	t.Cleanup(f.srv.Close)
	f.raw = httptest.NewServer(f.h)
	t.Cleanup(f.raw.Close)
	return f
}

// response is an answer read whole.
type response struct {
	status int
	header http.Header
	body   string
}

// do sends a request to the spec-checked server with the bearer token ("":
// none) and returns the answer.
func (f *fixture) do(t testing.TB, method, path, token, body string) response {
	t.Helper()
	return f.doAt(t, f.srv, method, path, token, body)
}

// doAt is do on the server srv.
func (f *fixture) doAt(t testing.TB, srv *httptest.Server, method, path, token, body string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: string(b)}
}

// errorCode returns the error code of a namespace error body, "" for none.
func errorCode(t testing.TB, body string) string {
	t.Helper()
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("error body %q: %v", body, err)
	}
	return e.Error.Code
}

// sseEvent is one event of a stream as a client reads it; comment is set
// for a comment line instead.
type sseEvent struct {
	id, event, data string
	comment         string
}

// sseClient reads one open stream on its own goroutine.
type sseClient struct {
	res    *http.Response
	events chan sseEvent
	// ended is closed when the stream ends (EOF or error).
	ended  chan struct{}
	cancel context.CancelFunc
	// counting clients keep no event, only the id of the last in lastID
	// (the benchmark's 100 clients would otherwise hold every event).
	counting bool
	lastID   atomic.Int64
}

// openStream opens GET /switchboard/v1/events+query on the raw server with
// the token and Last-Event-ID header ("": none). It returns the response
// (its body already being read when the status is 200).
func (f *fixture) openStream(t testing.TB, token, query, lastID string) (*sseClient, response) {
	t.Helper()
	return f.openStreamWith(t, token, query, lastID, false)
}

// openStreamWith is openStream, with a counting client when counting is
// set.
func (f *fixture) openStreamWith(t testing.TB, token, query, lastID string, counting bool) (*sseClient, response) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.raw.URL+"/switchboard/v1/events"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		defer cancel()
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return nil, response{status: res.StatusCode, header: res.Header, body: string(b)}
	}
	size := 10_000
	if counting {
		size = 1
	}
	c := &sseClient{res: res, events: make(chan sseEvent, size), ended: make(chan struct{}), cancel: cancel, counting: counting}
	t.Cleanup(c.close)
	go c.read()
	return c, response{status: res.StatusCode, header: res.Header}
}

func (c *sseClient) close() {
	c.cancel()
	c.res.Body.Close()
	<-c.ended
}

// read parses the stream into events until it ends.
func (c *sseClient) read() {
	defer close(c.ended)
	sc := bufio.NewScanner(c.res.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var ev sseEvent
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			switch {
			case c.counting && ev.id != "":
				id, _ := strconv.ParseInt(ev.id, 10, 64)
				c.lastID.Store(id)
			case c.counting:
			case ev != (sseEvent{}):
				c.events <- ev
			}
			ev = sseEvent{}
		case strings.HasPrefix(line, ":"):
			ev.comment = strings.TrimSpace(line[1:])
		case strings.HasPrefix(line, "id: "):
			ev.id = line[4:]
		case strings.HasPrefix(line, "event: "):
			ev.event = line[7:]
		case strings.HasPrefix(line, "data: "):
			ev.data = line[6:]
		}
	}
}

// streamDeadline bounds every wait for a stream: generous, since it only
// fails a broken test.
const streamDeadline = 20 * time.Second

// next returns the stream's next event, skipping comments, or fails the
// test when the stream ends or nothing comes before the deadline.
func (c *sseClient) next(t testing.TB) sseEvent {
	t.Helper()
	timer := time.NewTimer(streamDeadline)
	defer timer.Stop()
	for {
		select {
		case ev := <-c.events:
			if ev.comment != "" && ev.id == "" {
				continue
			}
			return ev
		case <-c.ended:
			select {
			case ev := <-c.events:
				if ev.comment == "" {
					return ev
				}
				continue
			default:
			}
			t.Fatal("the stream ended")
		case <-timer.C:
			t.Fatal("no event within the deadline")
		}
	}
}

// seqs reads n events and returns their ids as numbers.
func (c *sseClient) seqs(t testing.TB, n int) []int64 {
	t.Helper()
	out := make([]int64, 0, n)
	for range n {
		ev := c.next(t)
		id, err := strconv.ParseInt(ev.id, 10, 64)
		if err != nil {
			t.Fatalf("event id %q: %v", ev.id, err)
		}
		out = append(out, id)
	}
	return out
}

// lastSeq returns the account's latest event number.
func (f *fixture) lastSeq(t testing.TB, account int64) int64 {
	t.Helper()
	n, err := f.st.LastEventSeq(context.Background(), account)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

package reve_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"switchboard/auth"
	"switchboard/handlers"
	"switchboard/handlers/apitest"
	"switchboard/handlers/dialect"
	"switchboard/handlers/reve"
	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

const password = "s3cret-password"

// fixture is one account with data, a second account, and the router over them.
type fixture struct {
	srv        *httptest.Server
	st         *store.Store
	superadmin models.Agent
	other      models.Agent // superadmin of the second account
	cases      []models.Case
	foreign    models.Case // a case of the second account
	agents     []models.Agent
	contact    models.Contact
	received   []time.Time
}

func mustFixture(tb testing.TB, st *store.Store, pageSize int) *fixture {
	tb.Helper()
	h := auth.Hasher{Cost: bcrypt.MinCost}
	hash, err := h.Hash(password)
	if err != nil {
		tb.Fatal(err)
	}
	f := &fixture{st: st}
	a1 := storetest.MustAccount(tb, st, "One")
	a2 := storetest.MustAccount(tb, st, "Two")
	f.superadmin = storetest.MustAgent(tb, st, a1.ID, "boss@example.com", models.RoleSuperadmin, hash)
	f.agents = []models.Agent{
		storetest.MustAgent(tb, st, a1.ID, "admin@example.com", models.RoleAdmin, hash),
		storetest.MustAgent(tb, st, a1.ID, "agent@example.com", models.RoleAgent, hash),
	}
	f.other = storetest.MustAgent(tb, st, a2.ID, "boss2@example.com", models.RoleSuperadmin, hash)
	f.contact = storetest.MustContact(tb, st, a1.ID, "arafat.mobilw", "ssd@example.com", "+2348031234567")
	anon := storetest.MustContact(tb, st, a1.ID, "", "", "")
	base := time.Date(2015, 4, 15, 7, 14, 23, 768_000_000, time.UTC)
	for i := range 5 {
		ct := f.contact
		if i%2 == 1 {
			ct = anon
		}
		at := base.Add(time.Duration(i) * 25 * time.Hour)
		f.received = append(f.received, at)
		f.cases = append(f.cases, storetest.MustOfflineCase(tb, st, a1.ID, ct.ID, fmt.Sprint("subject ", i), fmt.Sprint("message ", i), at))
	}
	// Two replies on the newest case, by two agents; one on the oldest.
	storetest.MustReply(tb, st, a1.ID, f.cases[4].ID, f.agents[0].ID, "Hello", f.received[4].Add(time.Hour))
	storetest.MustReply(tb, st, a1.ID, f.cases[4].ID, f.agents[1].ID, "test", f.received[4].Add(2*time.Hour))
	storetest.MustReply(tb, st, a1.ID, f.cases[0].ID, f.superadmin.ID, "hy", f.received[0].Add(time.Minute))
	foreignContact := storetest.MustContact(tb, st, a2.ID, "x", "", "")
	f.foreign = storetest.MustOfflineCase(tb, st, a2.ID, foreignContact.ID, "other", "other", base)

	basic, err := auth.NewBasic(st, auth.BasicOptions{Hasher: h})
	if err != nil {
		tb.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	e := handlers.New(handlers.Config{REVE: reve.Config{BodyLimit: "1K", PageSize: pageSize}}, handlers.Deps{Deps: dialect.Deps{Store: st, Passwords: basic, Log: log}})
	// Every exchange of the REVE tests is checked against openapi.yaml.
	f.srv = httptest.NewServer(apitest.Wrap(tb, e))
	tb.Cleanup(f.srv.Close)
	return f
}

type response struct {
	status int
	header http.Header
	body   string
}

func (f *fixture) get(t *testing.T, path, user, pass string) response {
	t.Helper()
	return f.do(t, http.MethodGet, path, user, pass, nil)
}

func (f *fixture) do(t *testing.T, method, path, user, pass string, body io.Reader) response {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" || pass != "" {
		req.SetBasicAuth(user, pass)
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

func reveError(code int, msg string) string {
	b, _ := json.Marshal(map[string]any{"error": []map[string]any{{"code": code, "message": msg}}})
	return string(b)
}

// assertJSON compares two JSON documents, ignoring formatting.
func assertJSON(t *testing.T, got, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("response is not JSON: %v\n%s", err, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want is not JSON: %v", err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if string(gb) != string(wb) {
		t.Errorf("body\n got: %s\nwant: %s", gb, wb)
	}
}

func TestOfflineMessages_Errors(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st, 2)
		boss := f.superadmin.Email
		foreign := fmt.Sprint(f.foreign.ID)
		tests := []struct {
			name       string
			path       string
			user, pass string
			status     int
			body       string // exact for text, JSON-equal for JSON
		}{
			{"no auth", "/api/offlinemessages", "", "", 401, "Bad credentials"},
			{"no auth on one", "/api/offlinemessages/1", "", "", 401, "Bad credentials"},
			{"bad password", "/api/offlinemessages/", boss, "wrong", 401, "Bad credentials"},
			{"unknown agent", "/api/offlinemessages", "nobody@example.com", password, 401, "Bad credentials"},
			{"admin is not superadmin", "/api/offlinemessages", "admin@example.com", password, 403, "Access is denied! Only user with Super Admin role can access the REST API"},
			{"agent is not superadmin", "/api/agents/1", "agent@example.com", password, 403, "Access is denied! Only user with Super Admin role can access the REST API"},
			// The offline message detail's 403 is the JSON of REVE's page.
			{"agent is not superadmin on one", "/api/offlinemessages/1", "agent@example.com", password, 403, `{"code":403,"message":"You don't have permission to see offline message details with Id 1"}`},
			{"page -2", "/api/offlinemessages?page_no=-2", boss, password, 400, reveError(400, "Invalid Page Number: -2. Please enter a valid Page Number.")},
			{"page 0", "/api/offlinemessages/?page_no=0", boss, password, 400, reveError(400, "Invalid Page Number: 0. Please enter a valid Page Number.")},
			{"page abc", "/api/offlinemessages?page_no=abc", boss, password, 400, reveError(400, "Invalid Page Number: abc. Please enter a valid Page Number.")},
			{"page 1e3", "/api/offlinemessages?page_no=1e3", boss, password, 400, reveError(400, "Invalid Page Number: 1e3. Please enter a valid Page Number.")},
			{"page 1.5", "/api/offlinemessages?page_no=1.5", boss, password, 400, reveError(400, "Invalid Page Number: 1.5. Please enter a valid Page Number.")},
			{"page with space", "/api/offlinemessages?page_no=%201", boss, password, 400, reveError(400, "Invalid Page Number:  1. Please enter a valid Page Number.")},
			{"id -14", "/api/offlinemessages/-14", boss, password, 400, reveError(400, "Invalid Offline message Id: -14. Please enter a Valid Offline message Id.")},
			{"id 0", "/api/offlinemessages/0", boss, password, 400, reveError(400, "Invalid Offline message Id: 0. Please enter a Valid Offline message Id.")},
			{"id abc", "/api/offlinemessages/abc", boss, password, 400, reveError(400, "Invalid Offline message Id: abc. Please enter a Valid Offline message Id.")},
			{"id huge", "/api/offlinemessages/99999999999999999999999", boss, password, 404, reveError(404, "No Record found for Offline Message Id = 99999999999999999999999. Please enter a another Offline Message Id.")},
			{"id unknown", "/api/offlinemessages/744", boss, password, 404, reveError(404, "No Record found for Offline Message Id = 744. Please enter a another Offline Message Id.")},
			{"id of another account", "/api/offlinemessages/" + foreign, boss, password, 404, reveError(404, "No Record found for Offline Message Id = "+foreign+". Please enter a another Offline Message Id.")},
			{"id of another account, trailing slash", "/api/offlinemessages/" + foreign + "/", boss, password, 404, reveError(404, "No Record found for Offline Message Id = "+foreign+". Please enter a another Offline Message Id.")},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := f.get(t, tt.path, tt.user, tt.pass)
				if r.status != tt.status {
					t.Fatalf("status = %d, want %d; body %s", r.status, tt.status, r.body)
				}
				switch {
				case (tt.status == 401 || tt.status == 403) && !strings.HasPrefix(tt.body, "{"):
					if r.body != tt.body {
						t.Errorf("body = %q, want %q", r.body, tt.body)
					}
					if got := r.header.Get("WWW-Authenticate"); got != `Basic realm="revechat"` {
						t.Errorf("WWW-Authenticate = %q", got)
					}
					if got := r.header.Get("Content-Type"); got != "application/json;charset=UTF-8" {
						t.Errorf("Content-Type = %q", got)
					}
				default:
					assertJSON(t, r.body, tt.body)
					if !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
						t.Errorf("Content-Type = %q", r.header.Get("Content-Type"))
					}
				}
			})
		}
	})
}

func TestOfflineMessages_List(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st, 2)
		row := func(i int, replies int) string {
			c := f.cases[i]
			name, email, phone := "", "", ""
			if i%2 == 0 {
				name, email, phone = "arafat.mobilw", "ssd@example.com", "2348031234567"
			}
			// The fixture's replies are agents': an answered message is
			// read, as in REVE's own examples (unread 0 with replies).
			unread := 1
			if replies > 0 {
				unread = 0
			}
			return fmt.Sprintf(`{"offline_message_id":%d,"visitor_id":%d,"visitor_name":%q,"visitor_email":%q,"visitor_phone":%q,
				"subject":"subject %d","message":"message %d","received_time":%d,"unread":%d,"reply_message_count":%d}`,
				c.ID, c.ContactID, name, email, phone, i, i, f.received[i].UnixMilli(), unread, replies)
		}
		tests := []struct {
			name, path string
			want       string
		}{
			{"default page", "/api/offlinemessages", "[" + row(4, 2) + "," + row(3, 0) + "]"},
			{"trailing slash", "/api/offlinemessages/", "[" + row(4, 2) + "," + row(3, 0) + "]"},
			{"empty page_no", "/api/offlinemessages?page_no=", "[" + row(4, 2) + "," + row(3, 0) + "]"},
			{"page 2", "/api/offlinemessages?page_no=2", "[" + row(2, 0) + "," + row(1, 0) + "]"},
			{"page 003", "/api/offlinemessages/?page_no=003", "[" + row(0, 1) + "]"},
			{"past the end", "/api/offlinemessages?page_no=4", "[]"},
			{"huge page", "/api/offlinemessages?page_no=99999999999999999999999", "[]"},
			{"largest int64 page", "/api/offlinemessages?page_no=9223372036854775807", "[]"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := f.get(t, tt.path, f.superadmin.Email, password)
				if r.status != http.StatusOK {
					t.Fatalf("status = %d; body %s", r.status, r.body)
				}
				assertJSON(t, r.body, tt.want)
			})
		}
		t.Run("other account sees only its own", func(t *testing.T) {
			r := f.get(t, "/api/offlinemessages", f.other.Email, password)
			var rows []map[string]any
			if err := json.Unmarshal([]byte(r.body), &rows); err != nil || len(rows) != 1 || rows[0]["offline_message_id"] != float64(f.foreign.ID) {
				t.Errorf("second account's list = %s", r.body)
			}
		})
	})
}

func TestOfflineMessages_Get(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st, 20)
		c := f.cases[4]
		a0, a1 := f.agents[0], f.agents[1]
		want := fmt.Sprintf(`{"offline_message_id":%d,"visitor_id":%d,"visitor_name":"arafat.mobilw","visitor_email":"ssd@example.com",
			"visitor_phone":"2348031234567","subject":"subject 4","message":"message 4","received_time":%d,"unread":0,
			"reply_messages":[
			 {"reply_message":"test","message_reply_time":%d,"agent_id":%d,"first_name":%q,"last_name":"Last","email":"agent@example.com"},
			 {"reply_message":"Hello","message_reply_time":%d,"agent_id":%d,"first_name":%q,"last_name":"Last","email":"admin@example.com"}]}`,
			c.ID, c.ContactID, f.received[4].UnixMilli(),
			f.received[4].Add(2*time.Hour).UnixMilli(), a1.ID, a1.FirstName,
			f.received[4].Add(time.Hour).UnixMilli(), a0.ID, a0.FirstName)
		for _, path := range []string{fmt.Sprint("/api/offlinemessages/", c.ID), fmt.Sprint("/api/offlinemessages/", c.ID, "/"), fmt.Sprint("/api/offlinemessages/000", c.ID)} {
			t.Run(path, func(t *testing.T) {
				r := f.get(t, path, f.superadmin.Email, password)
				if r.status != http.StatusOK {
					t.Fatalf("status = %d; body %s", r.status, r.body)
				}
				assertJSON(t, r.body, want)
			})
		}
		t.Run("no replies is an empty array", func(t *testing.T) {
			r := f.get(t, fmt.Sprint("/api/offlinemessages/", f.cases[3].ID), f.superadmin.Email, password)
			if !strings.Contains(r.body, `"reply_messages":[]`) {
				t.Errorf("body = %s", r.body)
			}
		})
	})
}

func TestOfflineMessages_Limits(t *testing.T) {
	st := storetest.MustOpen(t, store.SQLite)
	f := mustFixture(t, st, 20)
	t.Run("body over the limit", func(t *testing.T) {
		r := f.do(t, http.MethodGet, "/api/offlinemessages", f.superadmin.Email, password, strings.NewReader(strings.Repeat("x", 4096)))
		if r.status != http.StatusRequestEntityTooLarge {
			t.Fatalf("status = %d, body %s", r.status, r.body)
		}
		assertJSON(t, r.body, reveError(413, "Request Entity Too Large"))
	})
	t.Run("database gone", func(t *testing.T) {
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
		r := f.get(t, "/api/offlinemessages", f.superadmin.Email, password)
		if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" {
			t.Fatalf("status = %d, Retry-After %q, body %s", r.status, r.header.Get("Retry-After"), r.body)
		}
		assertJSON(t, r.body, reveError(503, "Service is temporarily unavailable. Retry after the number of seconds in Retry-After; send a write again with the same Idempotency-Key header so that it is not made twice."))
		r = f.get(t, "/readyz", "", "")
		if r.status != http.StatusServiceUnavailable {
			t.Errorf("/readyz = %d with the database closed", r.status)
		}
	})
}

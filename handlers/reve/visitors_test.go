package reve_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

// visitorJSON is what the visitor list shows for c.
func (p *people) visitorJSON(c models.Contact) map[string]any {
	out := map[string]any{
		"visitor_id": c.ID, "name": c.Name, "email": c.Email, "phone": strings.TrimPrefix(c.Phone, "+"), "first_visit_time": ms(c.CreatedAt),
		"ip_address": "", "platform": "", "browser": "", "browser_version": "", "country": "", "region": "",
		"latitude": "", "longitude": "", "isp": "", "city": "", "referrer_link": "",
	}
	if c.ID == p.contact.ID {
		// Its first visit was before it was made; its latest visit is the
		// one described in full.
		out["first_visit_time"] = ms(p.sessions[0].StartedAt)
		for k, v := range map[string]string{
			"ip_address": "10.0.0.2", "platform": "Windows", "browser": "Chrome", "browser_version": "120.0",
			"country": "Bangladesh", "region": "Dhaka", "latitude": "23.8103", "longitude": "90.4125",
			"isp": "Grameenphone", "city": "Dhaka", "referrer_link": "https://b.example/x",
		} {
			out[k] = v
		}
	}
	return out
}

func (p *people) visitorList(cs ...models.Contact) []map[string]any {
	out := []map[string]any{}
	for _, c := range cs {
		out = append(out, p.visitorJSON(c))
	}
	return out
}

func TestVisitors_List(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		p := mustPeople(t, st, 2)
		all := byIDDesc([]models.Contact{p.contact, p.anon, p.ann, p.bob})
		tests := []struct {
			name, path string
			want       []map[string]any
		}{
			{"default page", "/api/visitors", p.visitorList(all[:2]...)},
			{"trailing slash", "/api/visitors/", p.visitorList(all[:2]...)},
			{"empty page_no", "/api/visitors?page_no=", p.visitorList(all[:2]...)},
			{"page 2", "/api/visitors?page_no=2", p.visitorList(all[2:]...)},
			{"page 02, trailing slash", "/api/visitors/?page_no=02", p.visitorList(all[2:]...)},
			{"past the end", "/api/visitors?page_no=3", p.visitorList()},
			{"largest int64 page", "/api/visitors?page_no=9223372036854775807", p.visitorList()},
			{"huge page", "/api/visitors?page_no=99999999999999999999999", p.visitorList()},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				assertJSON(t, p.mustOK(t, tt.path), jsonOf(t, tt.want))
			})
		}
		t.Run("other account sees only its own", func(t *testing.T) {
			r := p.get(t, "/api/visitors", p.other.Email, password)
			var rows []map[string]any
			mustUnmarshal(t, r.body, &rows)
			ids := map[float64]bool{}
			for _, row := range rows {
				ids[row["visitor_id"].(float64)] = true
			}
			if len(rows) != 2 || !ids[float64(p.foreign.ContactID)] || !ids[float64(p.foreignChat.ContactID)] {
				t.Errorf("second account's visitors = %s", r.body)
			}
		})
	})
}

func TestVisitors_Get(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		p := mustPeople(t, st, 20)
		c4, c5 := p.chats[4], p.chats[5]
		last := c4.StartedAt
		if c5.StartedAt.After(last) {
			last = c5.StartedAt
		}
		tests := []struct {
			name     string
			visitor  models.Contact
			views    int64
			visits   int64
			chats    int64
			duration int64 // ms
			lastChat *time.Time
		}{
			// Two visits (2 and 3 page views); an open chat and one closed by
			// an agent; offline messages are not chats.
			{"two visits, two chats", p.contact, 5, 2, 2, c5.ClosedAt.Sub(c5.StartedAt).Milliseconds(), &last},
			// c0 lasted 2 minutes, c2 30 seconds, c3 1 minute.
			{"three uploaded chats", p.ann, 0, 0, 3, 210_000, &c2Start},
			{"a lost chat", p.bob, 0, 0, 1, 180_000, &c1Start},
			{"no chats", p.anon, 0, 0, 0, 0, nil},
		}
		for _, tt := range tests {
			want := p.visitorJSON(tt.visitor)
			for k, v := range map[string]any{
				"visitor_records": []any{}, "total_views": tt.views, "total_visits": tt.visits, "total_chats": tt.chats,
				"total_chat_duration": tt.duration, "last_chat_start_time": msOrNil(tt.lastChat),
			} {
				want[k] = v
			}
			for _, path := range []string{fmt.Sprint("/api/visitors/", tt.visitor.ID), fmt.Sprint("/api/visitors/00", tt.visitor.ID, "/")} {
				t.Run(tt.name+" "+path, func(t *testing.T) {
					assertJSON(t, p.mustOK(t, path), jsonOf(t, want))
				})
			}
		}
	})
}

func TestVisitors_Errors(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		p := mustPeople(t, st, 2)
		boss := p.superadmin.Email
		invalid := func(v string) string {
			return reveError(400, "Invalid Visitor Id: "+v+". Please enter a valid Visitor Id.")
		}
		notFound := func(v string) string {
			return reveError(404, "No Record found for Visitor Id = "+v+". Please enter a another Visitor Id.")
		}
		foreign, foreignChatter := fmt.Sprint(p.foreign.ContactID), fmt.Sprint(p.foreignChat.ContactID)
		tests := append(authErrors("/api/visitors", fmt.Sprint("/api/visitors/", p.contact.ID)), pageErrors("/api/visitors")...)
		tests = append(tests, []errorCase{
			{"id -14", "/api/visitors/-14", boss, password, 400, invalid("-14")},
			{"id 0", "/api/visitors/0", boss, password, 400, invalid("0")},
			{"id abc, trailing slash", "/api/visitors/abc/", boss, password, 400, invalid("abc")},
			{"id unknown", "/api/visitors/744", boss, password, 404, notFound("744")},
			{"id huge", "/api/visitors/99999999999999999999999", boss, password, 404, notFound("99999999999999999999999")},
			{"id of another account", "/api/visitors/" + foreign, boss, password, 404, notFound(foreign)},
			{"id of another account's chatter, trailing slash", "/api/visitors/" + foreignChatter + "/", boss, password, 404, notFound(foreignChatter)},
		}...)
		runErrors(t, p.fixture, tests)
	})
}

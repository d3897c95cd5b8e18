package helpcrunch_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

// list is one of HelpCrunch's GET lists as the list tests page through it.
type list struct {
	name, path string
	// sorts are the list's sort keys; "" is its default.
	sorts []string
	// orders are the orders it takes.
	orders []string
	// ids reads a page's ids and total.
	ids func(*testing.T, map[string]any) ([]int64, float64)
	// all returns the ids of every row the list holds, in no order.
	all func(*testing.T) []int64
}

// lists returns the three lists of f's account: chats, customers and the
// messages of f.chat.
func (f *fixture) lists() []list {
	pluck := func(query string, args ...any) func(*testing.T) []int64 {
		return func(t *testing.T) []int64 {
			var ids []int64
			if err := f.st.GORM().Raw(query, args...).Scan(&ids).Error; err != nil {
				t.Fatal(err)
			}
			return ids
		}
	}
	return []list{
		{"chats", "/v1/chats", []string{"", "chats.createdAt", "chats.lastMessageAt", "chats.lastCustomerMessageAt", "chats.closedAt"},
			[]string{"", "asc", "desc"}, chatIDs, pluck(`SELECT id FROM cases WHERE account_id = ?`, f.acct.ID)},
		{"customers", "/v1/customers", []string{"", "customers.firstSeen", "customers.lastSeen"},
			[]string{"", "asc", "desc"}, customerIDs, pluck(`SELECT id FROM contacts WHERE account_id = ?`, f.acct.ID)},
		{"messages", fmt.Sprint("/v1/chats/", f.chat.ID, "/messages"), []string{"", "createdAt"},
			[]string{"", "desc"}, customerIDs, pluck(`SELECT id FROM messages WHERE case_id = ?`, f.chat.ID)},
	}
}

// mustListFixture is the fixture with 12 more chats, 9 more customers and
// 11 messages in f.chat, their times in a few instants so that most share
// one, and a missing time on every third chat of each nullable key.
func mustListFixture(t *testing.T, st *store.Store) *fixture {
	t.Helper()
	f := mustFixture(t, st)
	ctx := context.Background()
	base := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	at := func(i int) time.Time { return base.Add(time.Duration(i%3) * time.Second) }
	db := st.GORM()
	for i := range 12 {
		c, err := st.CreateCase(ctx, f.acct.ID, store.NewCase{ContactID: f.contact.ID})
		if err != nil {
			t.Fatal(err)
		}
		set := map[string]any{"started_at": at(i), "last_message_at": at(i + 1), "last_customer_message_at": at(i + 2), "closed_at": at(i)}
		for k, col := range []string{"last_message_at", "last_customer_message_at", "closed_at"} {
			if i%3 == k {
				set[col] = nil
			}
		}
		if err := db.Model(&models.Case{}).Where("id = ?", c.ID).Updates(set).Error; err != nil {
			t.Fatal(err)
		}
	}
	for i := range 9 {
		c := storetest.MustContact(t, st, f.acct.ID, fmt.Sprint("Customer ", i), "", "")
		if err := db.Model(&models.Contact{}).Where("id = ?", c.ID).
			Updates(map[string]any{"created_at": at(i), "updated_at": at(i + 1)}).Error; err != nil {
			t.Fatal(err)
		}
	}
	for i := range 11 {
		if _, err := st.AddMessage(ctx, f.acct.ID, f.chat.ID, store.NewMessage{Sender: models.SenderContact, Kind: models.KindMessage,
			Text: fmt.Sprint("m", i), At: at(i)}); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// TestLists_EveryRowOnce pages through each list by offset, as a client
// does, until offset + limit reaches the total, for every sort key and order
// and a few limits: the ids seen are every row of the list once, in the
// order one page of them all has, and total is their number.
func TestLists_EveryRowOnce(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustListFixture(t, st)
		for _, l := range f.lists() {
			want := l.all(t)
			slices.Sort(want)
			for _, sort := range l.sorts {
				for _, order := range l.orders {
					query := "?"
					if sort != "" {
						query += "sort=" + sort + "&"
					}
					if order != "" {
						query += "order=" + order + "&"
					}
					onePage, total := l.ids(t, mustOK(t, f.do(t, http.MethodGet, l.path+query+"limit=100", f.token, "")))
					if int(total) != len(want) || len(onePage) != len(want) {
						t.Fatalf("%s%s: %d rows, total %v; want %d", l.path, query, len(onePage), total, len(want))
					}
					for _, limit := range []int{1, 2, 5, 7} {
						t.Run(fmt.Sprintf("%s %slimit=%d", l.name, query, limit), func(t *testing.T) {
							var seen []int64
							for offset := 0; ; offset += limit {
								ids, n := l.ids(t, mustOK(t, f.do(t, http.MethodGet,
									fmt.Sprintf("%s%soffset=%d&limit=%d", l.path, query, offset, limit), f.token, "")))
								if n != total {
									t.Fatalf("offset %d: total %v, want %v", offset, n, total)
								}
								seen = append(seen, ids...)
								if offset+limit >= int(n) {
									break
								}
							}
							if !slices.Equal(seen, onePage) {
								t.Errorf("paged %v, one page %v", seen, onePage)
							}
							slices.Sort(seen)
							if !slices.Equal(seen, want) {
								t.Errorf("ids seen %v, want each of %v once", seen, want)
							}
						})
					}
				}
			}
		}
	})
}

// TestLists_DefaultsAndMaxima checks each list's default limit (100), its
// maximum (100: 101 is refused) and a total beyond one page.
func TestLists_DefaultsAndMaxima(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		ctx := context.Background()
		for i := range 101 {
			if _, err := st.CreateCase(ctx, f.acct.ID, store.NewCase{ContactID: f.contact.ID}); err != nil {
				t.Fatal(err)
			}
			storetest.MustContact(t, st, f.acct.ID, fmt.Sprint("Customer ", i), "", "")
			if _, err := st.AddMessage(ctx, f.acct.ID, f.chat.ID, store.NewMessage{Sender: models.SenderContact, Kind: models.KindMessage,
				Text: fmt.Sprint("m", i)}); err != nil {
				t.Fatal(err)
			}
		}
		totals := map[string]int{"chats": 103, "customers": 103, "messages": 101}
		for _, l := range f.lists() {
			t.Run(l.name+" default", func(t *testing.T) {
				ids, total := l.ids(t, mustOK(t, f.do(t, http.MethodGet, l.path, f.token, "")))
				if len(ids) != 100 || int(total) != totals[l.name] {
					t.Errorf("%d rows, total %v; want 100 of %d", len(ids), total, totals[l.name])
				}
			})
			t.Run(l.name+" rest", func(t *testing.T) {
				ids, total := l.ids(t, mustOK(t, f.do(t, http.MethodGet, l.path+"?offset=100&limit=100", f.token, "")))
				if len(ids) != totals[l.name]-100 || int(total) != totals[l.name] {
					t.Errorf("%d rows, total %v; want %d of %d", len(ids), total, totals[l.name]-100, totals[l.name])
				}
			})
			t.Run(l.name+" limit 101", func(t *testing.T) {
				assertError(t, f.do(t, http.MethodGet, l.path+"?limit=101", f.token, ""), http.StatusBadRequest,
					hcErrors("limit", "This value should be less than or equal to 100."))
			})
		}
	})
}

// TestLists_BadParameters checks that each list names every bad parameter
// of one request.
func TestLists_BadParameters(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		min0 := "This value should be greater than or equal to 0."
		min1 := "This value should be greater than or equal to 1."
		max100 := "This value should be less than or equal to 100."
		tests := []struct {
			name, path string
			want       string
		}{
			{"chats", "/v1/chats?sort=chats.id&order=newest&offset=-1&limit=0",
				hcErrors("sort", choice, "order", choice, "offset", min0, "limit", min1)},
			{"chats, sort of customers", "/v1/chats?sort=customers.firstSeen&offset=x&limit=101",
				hcErrors("sort", choice, "offset", numeric, "limit", max100)},
			{"customers", "/v1/customers?sort=chats.createdAt&order=up&offset=9223372036854775808&limit=x",
				hcErrors("sort", choice, "order", choice, "offset", maxOffset, "limit", numeric)},
			{"messages", fmt.Sprint("/v1/chats/", f.chat.ID, "/messages?sort=updatedAt&order=asc&offset=-2&limit=101"),
				hcErrors("sort", choice, "order", choice, "offset", min0, "limit", max100)},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				assertError(t, f.do(t, http.MethodGet, tt.path, f.token, ""), http.StatusBadRequest, tt.want)
			})
		}
	})
}

package store_test

import (
	"cmp"
	"fmt"
	"slices"
	"testing"
	"time"

	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

// sortable is a listed row as the paging tests see it: its id and the value
// of the sort key (nil for a missing time).
type sortable struct {
	id int64
	at *time.Time
}

// wantOrder returns the ids of rows in the order every list promises: by the
// key, a missing time as the oldest, then by id, all one way.
func wantOrder(rows []sortable, asc bool) []int64 {
	rows = slices.Clone(rows)
	slices.SortFunc(rows, func(a, b sortable) int {
		c := 0
		switch {
		case a.at == nil && b.at == nil:
		case a.at == nil:
			c = -1
		case b.at == nil:
			c = 1
		default:
			c = a.at.Compare(*b.at)
		}
		if c == 0 {
			c = cmp.Compare(a.id, b.id)
		}
		if !asc {
			c = -c
		}
		return c
	})
	out := make([]int64, len(rows))
	for i, r := range rows {
		out[i] = r.id
	}
	return out
}

// pageAll pages through a list by offset, as a client does, until offset +
// limit reaches the total, and returns every id seen in order. It fails the
// test when the total changes between pages or a page is short before the
// end.
func pageAll(t *testing.T, limit int, page func(offset int) ([]int64, int64, error)) []int64 {
	t.Helper()
	var seen []int64
	var total int64 = -1
	for offset := 0; ; offset += limit {
		got, n, err := page(offset)
		if err != nil {
			t.Fatalf("offset %d: %v", offset, err)
		}
		if total >= 0 && n != total {
			t.Fatalf("offset %d: total %d, was %d", offset, n, total)
		}
		total = n
		if want := min(int64(limit), max(total-int64(offset), 0)); int64(len(got)) != want {
			t.Fatalf("offset %d: %d rows, want %d of %d", offset, len(got), want, total)
		}
		seen = append(seen, got...)
		if int64(offset+limit) >= total {
			break
		}
	}
	if int64(len(seen)) != total {
		t.Errorf("saw %d rows, total says %d", len(seen), total)
	}
	return seen
}

// timesFixture is a clock of four distinct instants in the last hour, so
// that many rows share one.
func timesFixture() func(i int) time.Time {
	base := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	return func(i int) time.Time { return base.Add(time.Duration(i%4) * time.Second) }
}

func TestStore_ListCases_EveryRowOnce(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		acct := storetest.MustAccount(t, s, "A")
		other := storetest.MustAccount(t, s, "B")
		ct := storetest.MustContact(t, s, acct.ID, "Ann", "ann@example.com", "")
		theirs := storetest.MustContact(t, s, other.ID, "Bob", "bob@example.com", "")
		at := timesFixture()
		db := s.GORM()
		for i := range 13 {
			ch := models.ChannelChat
			if i%5 == 4 {
				ch = models.ChannelEmail
			}
			c, err := s.CreateCase(ctx, acct.ID, store.NewCase{ContactID: ct.ID, Channel: ch})
			if err != nil {
				t.Fatal(err)
			}
			// Ties on every key, and a missing time on every third row of
			// each nullable key, at a different phase.
			set := map[string]any{"started_at": at(i), "last_message_at": at(i + 1), "last_customer_message_at": at(i + 2), "closed_at": at(i + 3)}
			for k, col := range []string{"last_message_at", "last_customer_message_at", "closed_at"} {
				if i%3 == k {
					set[col] = nil
				}
			}
			if err := db.Model(&models.Case{}).Where("id = ?", c.ID).Updates(set).Error; err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.CreateCase(ctx, other.ID, store.NewCase{ContactID: theirs.ID}); err != nil {
			t.Fatal(err)
		}
		all, total, err := s.ListCases(ctx, acct.ID, store.CaseQuery{Limit: store.MaxLimit})
		if err != nil || total != 13 || len(all) != 13 {
			t.Fatalf("%d cases, total %d, %v; want 13", len(all), total, err)
		}
		keyOf := map[string]func(models.Case) *time.Time{
			store.CaseStartedAt:             func(c models.Case) *time.Time { return &c.StartedAt },
			store.CaseLastMessageAt:         func(c models.Case) *time.Time { return c.LastMessageAt },
			store.CaseLastCustomerMessageAt: func(c models.Case) *time.Time { return c.LastCustomerMessageAt },
			store.CaseClosedAt:              func(c models.Case) *time.Time { return c.ClosedAt },
		}
		for sort, key := range keyOf {
			for _, asc := range []bool{false, true} {
				for _, filtered := range []bool{false, true} {
					var rows []sortable
					for _, v := range all {
						if !filtered || v.Channel == models.ChannelChat {
							rows = append(rows, sortable{v.ID, key(v.Case)})
						}
					}
					want := wantOrder(rows, asc)
					q := store.CaseQuery{Sort: sort, Asc: asc}
					if filtered {
						q.Filters = []store.Filter{{Field: store.CaseChannel, Op: store.OpEq, Value: string(models.ChannelChat)}}
					}
					for _, limit := range []int{1, 2, 3, 5, 13} {
						t.Run(fmt.Sprintf("%s asc=%v filtered=%v limit=%d", sort, asc, filtered, limit), func(t *testing.T) {
							got := pageAll(t, limit, func(offset int) ([]int64, int64, error) {
								q.Offset, q.Limit = offset, limit
								views, total, err := s.ListCases(ctx, acct.ID, q)
								return ids(views), total, err
							})
							if !slices.Equal(got, want) {
								t.Errorf("ids %v, want %v", got, want)
							}
						})
					}
				}
			}
		}
	})
}

func TestStore_ListContacts_EveryRowOnce(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		acct := storetest.MustAccount(t, s, "A")
		other := storetest.MustAccount(t, s, "B")
		storetest.MustContact(t, s, other.ID, "Theirs", "", "")
		at := timesFixture()
		db := s.GORM()
		for i := range 11 {
			c := storetest.MustContact(t, s, acct.ID, fmt.Sprintf("Contact %d", i%2), "", "")
			if err := db.Model(&models.Contact{}).Where("id = ?", c.ID).
				Updates(map[string]any{"created_at": at(i), "updated_at": at(i + 1)}).Error; err != nil {
				t.Fatal(err)
			}
		}
		all, total, err := s.ListContacts(ctx, acct.ID, store.ContactQuery{Limit: store.MaxLimit})
		if err != nil || total != 11 || len(all) != 11 {
			t.Fatalf("%d contacts, total %d, %v; want 11", len(all), total, err)
		}
		keyOf := map[string]func(models.Contact) *time.Time{
			store.ContactCreatedAt: func(c models.Contact) *time.Time { return &c.CreatedAt },
			store.ContactUpdatedAt: func(c models.Contact) *time.Time { return &c.UpdatedAt },
		}
		contactIDs := func(rows []models.Contact) []int64 {
			out := []int64{}
			for _, c := range rows {
				out = append(out, c.ID)
			}
			return out
		}
		for sort, key := range keyOf {
			for _, asc := range []bool{false, true} {
				for _, filtered := range []bool{false, true} {
					var rows []sortable
					for _, c := range all {
						if !filtered || c.Name == "Contact 0" {
							rows = append(rows, sortable{c.ID, key(c)})
						}
					}
					want := wantOrder(rows, asc)
					q := store.ContactQuery{Sort: sort, Asc: asc}
					if filtered {
						q.Filters = []store.Filter{{Field: store.ContactName, Op: store.OpEq, Value: "Contact 0"}}
					}
					for _, limit := range []int{1, 2, 4, 11} {
						t.Run(fmt.Sprintf("%s asc=%v filtered=%v limit=%d", sort, asc, filtered, limit), func(t *testing.T) {
							got := pageAll(t, limit, func(offset int) ([]int64, int64, error) {
								q.Offset, q.Limit = offset, limit
								rows, total, err := s.ListContacts(ctx, acct.ID, q)
								return contactIDs(rows), total, err
							})
							if !slices.Equal(got, want) {
								t.Errorf("ids %v, want %v", got, want)
							}
						})
					}
				}
			}
		}
		for _, limit := range []int{1, 3, 11} {
			t.Run(fmt.Sprintf("ContactPage limit=%d", limit), func(t *testing.T) {
				got := pageAll(t, limit, func(offset int) ([]int64, int64, error) {
					rows, total, err := s.ContactPage(ctx, acct.ID, store.ContactPageQuery{Offset: int64(offset), Limit: limit})
					return contactIDs(rows), total, err
				})
				want := contactIDs(all)
				slices.Sort(want)
				slices.Reverse(want)
				if !slices.Equal(got, want) {
					t.Errorf("ids %v, want %v", got, want)
				}
			})
		}
	})
}

func TestStore_ListMessages_EveryRowOnce(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		acct := storetest.MustAccount(t, s, "A")
		ct := storetest.MustContact(t, s, acct.ID, "Ann", "ann@example.com", "")
		c, err := s.CreateCase(ctx, acct.ID, store.NewCase{ContactID: ct.ID})
		if err != nil {
			t.Fatal(err)
		}
		at := timesFixture()
		var rows []sortable
		for i := range 9 {
			m, err := s.AddMessage(ctx, acct.ID, c.ID, store.NewMessage{Sender: models.SenderContact, Kind: models.KindMessage,
				Text: fmt.Sprint("m", i), At: at(i)})
			if err != nil {
				t.Fatal(err)
			}
			mAt := m.CreatedAt
			rows = append(rows, sortable{m.ID, &mAt})
		}
		for _, oldest := range []bool{false, true} {
			want := wantOrder(rows, oldest)
			for _, limit := range []int{1, 2, 4, 9} {
				t.Run(fmt.Sprintf("oldest=%v limit=%d", oldest, limit), func(t *testing.T) {
					got := pageAll(t, limit, func(offset int) ([]int64, int64, error) {
						msgs, total, err := s.ListMessages(ctx, acct.ID, c.ID, store.MessageQuery{Offset: offset, Limit: limit, Oldest: oldest})
						out := []int64{}
						for _, m := range msgs {
							out = append(out, m.ID)
						}
						return out, total, err
					})
					if !slices.Equal(got, want) {
						t.Errorf("ids %v, want %v", got, want)
					}
				})
			}
		}
	})
}

// TestStore_ContactCount checks that the maintained contact count (the
// total of an unfiltered contact list) stays equal to COUNT(*) after contacts
// are made or removed by every path: a dialect's create, both uploads (COPY
// on PostgreSQL), and a delete.
func TestStore_ContactCount(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		acct := storetest.MustAccount(t, s, "A")
		other := storetest.MustAccount(t, s, "B")
		storetest.MustContact(t, s, other.ID, "Theirs", "", "")
		site, err := s.CreateSite(ctx, acct.ID, "example.com")
		if err != nil {
			t.Fatal(err)
		}
		at := time.Now().UTC().Add(-time.Hour)
		db := s.GORM()
		steps := []struct {
			name string
			do   func(t *testing.T)
		}{
			{"create", func(t *testing.T) {
				for i := range 3 {
					storetest.MustContact(t, s, acct.ID, fmt.Sprint("Ann ", i), "", "")
				}
			}},
			{"upload offline messages", func(t *testing.T) {
				var items []store.OfflineUpload
				for i := range 4 {
					// Two new contacts, each named twice.
					items = append(items, store.OfflineUpload{ReceivedAt: at, Contact: store.UploadContact{Email: fmt.Sprintf("o%d@example.com", i%2)},
						Message: "m", Source: store.UploadSource{SiteID: &site.ID}})
				}
				if _, err := s.UploadOfflineMessages(ctx, acct.ID, items); err != nil {
					t.Fatal(err)
				}
			}},
			{"upload chats", func(t *testing.T) {
				var items []store.ChatUpload
				for i := range 3 {
					items = append(items, store.ChatUpload{StartedAt: at, Contact: store.UploadContact{Email: fmt.Sprintf("c%d@example.com", i)},
						Outcome: models.OutcomeLost, Source: store.UploadSource{SiteID: &site.ID},
						Messages: []store.ChatUploadMessage{{At: at, Sender: models.SenderContact, Text: "hi"}}})
				}
				if _, err := s.UploadChats(ctx, acct.ID, items); err != nil {
					t.Fatal(err)
				}
			}},
			{"delete", func(t *testing.T) {
				if err := db.Exec(`DELETE FROM contacts WHERE account_id = ? AND name LIKE 'Ann %'`, acct.ID).Error; err != nil {
					t.Fatal(err)
				}
			}},
		}
		wantCounts := []int64{3, 5, 8, 5}
		for i, st := range steps {
			t.Run(st.name, func(t *testing.T) {
				st.do(t)
				for _, a := range []int64{acct.ID, other.ID} {
					var exact, kept int64
					if err := db.Raw(`SELECT COUNT(*) FROM contacts WHERE account_id = ?`, a).Scan(&exact).Error; err != nil {
						t.Fatal(err)
					}
					if err := db.Raw(`SELECT COALESCE(SUM(n), 0) FROM contact_counts WHERE account_id = ?`, a).Scan(&kept).Error; err != nil {
						t.Fatal(err)
					}
					_, listed, err := s.ListContacts(ctx, a, store.ContactQuery{Limit: 1})
					if err != nil {
						t.Fatal(err)
					}
					_, paged, err := s.ContactPage(ctx, a, store.ContactPageQuery{Limit: 1})
					if err != nil {
						t.Fatal(err)
					}
					if kept != exact || listed != exact || paged != exact {
						t.Errorf("account %d: kept %d, ListContacts %d, ContactPage %d, COUNT(*) %d", a, kept, listed, paged, exact)
					}
					if a == acct.ID && exact != wantCounts[i] {
						t.Errorf("COUNT(*) = %d, want %d", exact, wantCounts[i])
					}
				}
			})
		}
	})
}

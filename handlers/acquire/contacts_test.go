package acquire_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"testing"
	"time"

	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

const (
	contactsPath      = "/api/v1/crm/objects/contact"
	contactsShortPath = "/crm/objects/contact"
)

// contactPage is the part of a contact list response the tests look at.
type contactPage struct {
	Data struct {
		Page   int64 `json:"page"`
		Offset int64 `json:"offset"`
		Limit  int   `json:"limit"`
		Count  int64 `json:"count"`
		List   []struct {
			ID int64 `json:"id"`
		} `json:"list"`
	} `json:"data"`
}

func (p contactPage) ids() []int64 {
	ids := []int64{}
	for _, c := range p.Data.List {
		ids = append(ids, c.ID)
	}
	return ids
}

func mustContactPage(tb testing.TB, r response) contactPage {
	tb.Helper()
	if r.status != 200 {
		tb.Fatalf("status = %d; body %s", r.status, r.body)
	}
	var p contactPage
	if err := json.Unmarshal([]byte(r.body), &p); err != nil {
		tb.Fatalf("%v: %s", err, r.body)
	}
	return p
}

func contactIDs(cs ...models.Contact) []int64 {
	out := []int64{}
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}

func TestContacts_ListWhere(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		all := contactIDs(f.anon, f.contact)
		tests := []struct {
			name  string
			where []string
			want  []int64
		}{
			{"no where", nil, all},
			{"id eq", []string{fmt.Sprintf("id|eq|%d", f.contact.ID)}, contactIDs(f.contact)},
			{"id ne", []string{fmt.Sprintf("id|ne|%d", f.contact.ID)}, contactIDs(f.anon)},
			{"id in", []string{fmt.Sprintf("id|in|%d,%d", f.contact.ID, f.anon.ID)}, all},
			{"id gt", []string{fmt.Sprintf("id|gt|%d", f.contact.ID)}, contactIDs(f.anon)},
			{"id gte", []string{fmt.Sprintf("id|gte|%d", f.contact.ID)}, all},
			{"id lt", []string{fmt.Sprintf("id|lt|%d", f.anon.ID)}, contactIDs(f.contact)},
			{"id lte", []string{fmt.Sprintf("id|lte|%d", f.contact.ID)}, contactIDs(f.contact)},
			{"name eq", []string{"name|eq|Ann Lee"}, contactIDs(f.contact)},
			{"name like", []string{"name|like|%ann%"}, contactIDs(f.contact)},
			{"fields.name like", []string{"fields.name|like|LEE"}, contactIDs(f.contact)},
			{"name eq empty", []string{"name|eq|"}, contactIDs(f.anon)},
			{"email eq", []string{"email|eq|ann@example.com"}, contactIDs(f.contact)},
			{"email like", []string{"Email|Like|example"}, contactIDs(f.contact)},
			{"email in", []string{"email|in|ann@example.com,bob@example.com"}, contactIDs(f.contact)},
			{"phone eq", []string{"phone|eq|+14155550100"}, contactIDs(f.contact)},
			{"phone ne", []string{"phone|ne|+14155550100"}, contactIDs(f.anon)},
			{"dateCreated gt", []string{"dateCreated|gt|2021-01-01T00:00:00.000Z"}, all},
			{"dateCreated lt", []string{"dateCreated|lt|2021-01-01T00:00:00Z"}, contactIDs()},
			{"dateUpdated gte", []string{"dateUpdated|gte|2021-01-01T00:00:00Z"}, all},
			{"dateUpdated lte", []string{"dateUpdated|lte|2021-01-01T00:00:00Z"}, contactIDs()},
			{"two items ANDed", []string{"email|like|example", fmt.Sprintf("id|eq|%d", f.anon.ID)}, contactIDs()},
			{"blank where ignored", []string{""}, all},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				p := mustContactPage(t, f.get(t, contactsPath, f.readOnly, url.Values{"where": tt.where}))
				if got := p.ids(); !slices.Equal(got, tt.want) {
					t.Errorf("ids = %v, want %v", got, tt.want)
				}
				if p.Data.Count != int64(len(tt.want)) {
					t.Errorf("count = %d, want %d", p.Data.Count, len(tt.want))
				}
			})
		}
		t.Run("relations and select are ignored", func(t *testing.T) {
			p := mustContactPage(t, f.get(t, contactsPath, f.full, url.Values{"relations": {"company|cases"}, "select": {"id,fields"}}))
			if got := p.ids(); !slices.Equal(got, all) {
				t.Errorf("ids = %v", got)
			}
		})
		t.Run("exact shape", func(t *testing.T) {
			r := f.get(t, contactsPath, f.full, url.Values{"limit": {"1"}})
			want := `{"data":{"page":0,"offset":0,"limit":1,"count":2,"list":[` + wantContact(f.anon) + `]}}`
			assertJSON(t, r.body, want)
		})
		t.Run("short path", func(t *testing.T) {
			p := mustContactPage(t, f.get(t, contactsShortPath, f.full, url.Values{"where": {"email|eq|ann@example.com"}}))
			if got := p.ids(); !slices.Equal(got, contactIDs(f.contact)) {
				t.Errorf("ids = %v", got)
			}
		})
		t.Run("other account sees only its own", func(t *testing.T) {
			p := mustContactPage(t, f.get(t, contactsPath, f.otherKey, nil))
			if p.Data.Count != 1 || len(p.ids()) != 1 || slices.Contains(all, p.ids()[0]) {
				t.Errorf("ids = %v count %d", p.ids(), p.Data.Count)
			}
			p = mustContactPage(t, f.get(t, contactsPath, f.otherKey, url.Values{"where": {fmt.Sprintf("id|eq|%d", f.contact.ID)}}))
			if p.Data.Count != 0 || len(p.ids()) != 0 {
				t.Errorf("another account's contact: ids = %v count %d", p.ids(), p.Data.Count)
			}
		})
	})
}

func TestContacts_ListPaging(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		all := contactIDs(f.anon, f.contact)
		for i := range 3 {
			c := storetest.MustContact(t, st, f.contact.AccountID, fmt.Sprintf("More %d", i), "", "")
			all = append([]int64{c.ID}, all...)
		}
		tests := []struct {
			name                string
			query               url.Values
			page, offset, count int64
			limit               int
			want                []int64
		}{
			{"defaults", nil, 0, 0, 5, 20, all},
			{"limit 2", url.Values{"limit": {"2"}}, 0, 0, 5, 2, all[:2]},
			{"page 1", url.Values{"limit": {"2"}, "page": {"1"}}, 1, 2, 5, 2, all[2:4]},
			{"last page", url.Values{"limit": {"2"}, "page": {"2"}}, 2, 4, 5, 2, all[4:]},
			{"offset", url.Values{"limit": {"2"}, "offset": {"3"}}, 1, 3, 5, 2, all[3:5]},
			{"offset wins over page", url.Values{"limit": {"2"}, "offset": {"1"}, "page": {"2"}}, 0, 1, 5, 2, all[1:3]},
			{"past the end", url.Values{"page": {"5"}}, 5, 100, 5, 20, []int64{}},
			{"largest offset", url.Values{"offset": {"9223372036854775807"}, "limit": {"100"}}, 92233720368547758, 9223372036854775807, 5, 100, []int64{}},
			{"count with where", url.Values{"limit": {"1"}, "page": {"1"}, "where": {"name|like|more"}}, 1, 1, 3, 1, all[1:2]},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				p := mustContactPage(t, f.get(t, contactsPath, f.full, tt.query))
				d := p.Data
				if d.Page != tt.page || d.Offset != tt.offset || d.Limit != tt.limit || d.Count != tt.count {
					t.Errorf("page %d offset %d limit %d count %d, want %d %d %d %d", d.Page, d.Offset, d.Limit, d.Count, tt.page, tt.offset, tt.limit, tt.count)
				}
				if got := p.ids(); !slices.Equal(got, tt.want) {
					t.Errorf("ids = %v, want %v", got, tt.want)
				}
			})
		}
		t.Run("paging by one sees each contact once", func(t *testing.T) {
			var got []int64
			for page := 0; page < len(all); page++ {
				p := mustContactPage(t, f.get(t, contactsPath, f.full, url.Values{"limit": {"1"}, "page": {fmt.Sprint(page)}}))
				got = append(got, p.ids()...)
			}
			if !slices.Equal(got, all) {
				t.Errorf("ids = %v, want %v", got, all)
			}
		})
	})
}

func TestContacts_ListErrors(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		const invalid = "ERROR_INVALID_INPUT"
		tests := []struct {
			name    string
			token   string
			query   url.Values
			status  int
			typ     string
			message string
		}{
			{"unknown column", f.full, url.Values{"where": {"status|eq|active"}}, 400, invalid, `where "status|eq|active": "status" is not a contact column that can be filtered`},
			{"unknown op", f.full, url.Values{"where": {"email|between|a"}}, 400, invalid, `where "email|between|a": "between" is not an operator: use eq, ne, gt, gte, lt, lte, like or in`},
			{"two parts", f.full, url.Values{"where": {"email|a"}}, 400, invalid, `where "email|a": must be column|operator|value`},
			{"bad int", f.full, url.Values{"where": {"id|eq|abc"}}, 400, invalid, `where "id|eq|abc": "abc" is not an integer`},
			{"like on id", f.full, url.Values{"where": {"id|like|1"}}, 400, invalid, `where "id|like|1": like works only on text columns`},
			{"bad date", f.full, url.Values{"where": {"dateUpdated|gt|today"}}, 400, invalid, `where "dateUpdated|gt|today": "today" is not an ISO-8601 time such as 2021-03-30T16:05:46.000Z`},
			{"date in", f.full, url.Values{"where": {"dateCreated|in|2021-03-30T16:04:10Z"}}, 400, invalid, `where "dateCreated|in|2021-03-30T16:04:10Z": dates work only with eq, ne, gt, gte, lt and lte`},
			{"null on a required column", f.full, url.Values{"where": {"id|eq|null"}}, 400, invalid, `where "id|eq|null": "null" is not an integer`},
			{"bare filter parameter", f.full, url.Values{"email": {"ann@example.com"}}, 400, invalid, "email: is not a parameter of this list: filter with where=column|operator|value"},
			{"limit 101", f.full, url.Values{"limit": {"101"}}, 400, invalid, "limit: must be 1 to 100"},
			{"negative offset", f.full, url.Values{"offset": {"-1"}}, 400, invalid, "offset: must be 0 or a positive integer"},
			{"no key", "", nil, 401, "ERROR_UNAUTHORIZED", "Missing API key: send the header Authorization: Bearer <API key>"},
			{"revoked key", f.revoked, nil, 401, "ERROR_UNAUTHORIZED", "Invalid API key"},
			{"key without read", f.chatOnly, nil, 403, "ERROR_UNAUTHORIZED_ACCESS", `This API key lacks the "read" scope`},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				assertError(t, f.get(t, contactsPath, tt.token, tt.query), tt.status, tt.typ, tt.message)
			})
		}
		t.Run("short path", func(t *testing.T) {
			assertError(t, f.get(t, contactsShortPath, f.full, url.Values{"where": {"nope|eq|1"}}), 400, invalid,
				`where "nope|eq|1": "nope" is not a contact column that can be filtered`)
		})
	})
}

func TestContacts_Get(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		for _, c := range []models.Contact{f.contact, f.anon} {
			for _, base := range []string{contactsPath, contactsShortPath} {
				t.Run(fmt.Sprintf("contact %d at %s", c.ID, base), func(t *testing.T) {
					r := f.get(t, fmt.Sprintf("%s/%d", base, c.ID), f.readOnly, nil)
					if r.status != 200 {
						t.Fatalf("status %d: %s", r.status, r.body)
					}
					assertJSON(t, r.body, `{"data":`+wantContact(c)+`}`)
				})
			}
		}
		foreign := mustContactPage(t, f.get(t, contactsPath, f.otherKey, nil)).ids()[0]
		tests := []struct {
			name, id, token string
			status          int
			typ, message    string
		}{
			{"not a number", "abc", f.full, 400, "ERROR_INVALID_INPUT", `id: must be a positive integer, not "abc"`},
			{"zero", "0", f.full, 400, "ERROR_INVALID_INPUT", `id: must be a positive integer, not "0"`},
			{"unknown", "744000", f.full, 404, "ERROR_RECORD_NOT_FOUND", "Contact 744000 not found"},
			{"huge", "99999999999999999999", f.full, 404, "ERROR_RECORD_NOT_FOUND", "Contact 99999999999999999999 not found"},
			{"another account's", fmt.Sprint(foreign), f.full, 404, "ERROR_RECORD_NOT_FOUND", fmt.Sprintf("Contact %d not found", foreign)},
			{"no key", "1", "", 401, "ERROR_UNAUTHORIZED", "Missing API key: send the header Authorization: Bearer <API key>"},
			{"garbage key", "1", "Bearer", 401, "ERROR_UNAUTHORIZED", "Invalid API key"},
			{"key without read", "1", f.chatOnly, 403, "ERROR_UNAUTHORIZED_ACCESS", `This API key lacks the "read" scope`},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				assertError(t, f.get(t, contactsPath+"/"+tt.id, tt.token, nil), tt.status, tt.typ, tt.message)
			})
		}
	})
}

// TestContacts_CountIsKept checks that the unfiltered count, which comes
// from the count the store keeps, follows contacts made and removed by other
// paths (another dialect's create, a CallGear upload, a delete), and that a
// filtered count counts its matches.
func TestContacts_CountIsKept(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		ctx := t.Context()
		accountID := f.agent.AccountID
		site, err := st.CreateSite(ctx, accountID, "example.com")
		if err != nil {
			t.Fatal(err)
		}
		at := time.Now().UTC().Add(-time.Hour)
		db := st.GORM()
		steps := []struct {
			name string
			do   func(t *testing.T)
		}{
			{"unchanged", func(*testing.T) {}},
			{"created by a dialect", func(t *testing.T) {
				storetest.MustContact(t, st, accountID, "Zed", "zed@example.com", "")
			}},
			{"uploaded", func(t *testing.T) {
				if _, err := st.UploadChats(ctx, accountID, []store.ChatUpload{{StartedAt: at, Contact: store.UploadContact{Email: "up@example.com"},
					Outcome: models.OutcomeLost, Source: store.UploadSource{SiteID: &site.ID},
					Messages: []store.ChatUploadMessage{{At: at, Sender: models.SenderContact, Text: "hi"}}}}); err != nil {
					t.Fatal(err)
				}
			}},
			{"deleted", func(t *testing.T) {
				if err := db.Exec(`DELETE FROM contacts WHERE account_id = ? AND email = ?`, accountID, "zed@example.com").Error; err != nil {
					t.Fatal(err)
				}
			}},
		}
		for _, step := range steps {
			t.Run(step.name, func(t *testing.T) {
				step.do(t)
				var exact, matching int64
				if err := db.Raw(`SELECT COUNT(*) FROM contacts WHERE account_id = ?`, accountID).Scan(&exact).Error; err != nil {
					t.Fatal(err)
				}
				if err := db.Raw(`SELECT COUNT(*) FROM contacts WHERE account_id = ? AND email LIKE '%example.com'`, accountID).Scan(&matching).Error; err != nil {
					t.Fatal(err)
				}
				if p := mustContactPage(t, f.get(t, contactsPath, f.full, nil)); p.Data.Count != exact {
					t.Errorf("count %d, COUNT(*) %d", p.Data.Count, exact)
				}
				p := mustContactPage(t, f.get(t, contactsPath, f.full, url.Values{"where": {"email|like|example.com"}}))
				if p.Data.Count != matching {
					t.Errorf("filtered count %d, want %d", p.Data.Count, matching)
				}
			})
		}
	})
}

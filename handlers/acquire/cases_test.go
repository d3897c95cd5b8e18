package acquire_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

const casesPath = "/api/v1/crm/objects/case"

// casePage is the part of a case list response the paging tests look at.
type casePage struct {
	Data struct {
		Page   int64 `json:"page"`
		Offset int64 `json:"offset"`
		Limit  int   `json:"limit"`
		Count  int64 `json:"count"`
		Data   []struct {
			ID int64 `json:"id"`
		} `json:"data"`
	} `json:"data"`
}

func (p casePage) ids() []int64 {
	ids := []int64{}
	for _, c := range p.Data.Data {
		ids = append(ids, c.ID)
	}
	return ids
}

func mustCasePage(tb testing.TB, r response) casePage {
	tb.Helper()
	if r.status != 200 {
		tb.Fatalf("status = %d; body %s", r.status, r.body)
	}
	var p casePage
	if err := json.Unmarshal([]byte(r.body), &p); err != nil {
		tb.Fatalf("%v: %s", err, r.body)
	}
	return p
}

func ids(cs ...models.Case) []int64 {
	out := []int64{}
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}

func TestCases_ListWhere(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		all := ids(f.closed, f.assigned, f.open, f.off1, f.off0)
		tests := []struct {
			name  string
			where []string
			want  []int64
		}{
			{"no where", nil, all},
			{"status eq active", []string{"status|eq|active"}, ids(f.assigned, f.open, f.off1, f.off0)},
			{"status eq closed", []string{"status|eq|closed"}, ids(f.closed)},
			{"status ne active", []string{"status|ne|active"}, ids(f.closed)},
			{"status neq closed", []string{"status|neq|closed"}, ids(f.assigned, f.open, f.off1, f.off0)},
			{"status in both", []string{"status|in|active,closed"}, all},
			{"status in closed", []string{"status|in|Closed"}, ids(f.closed)},
			{"id eq", []string{fmt.Sprintf("id|eq|%d", f.open.ID)}, ids(f.open)},
			{"threadId eq", []string{fmt.Sprintf("threadId|eq|%d", f.open.ID)}, ids(f.open)},
			{"id in", []string{fmt.Sprintf("id|in|%d, %d", f.open.ID, f.closed.ID)}, ids(f.closed, f.open)},
			{"id gt", []string{fmt.Sprintf("id|gt|%d", f.off1.ID)}, ids(f.closed, f.assigned, f.open)},
			{"id lte", []string{fmt.Sprintf("id|lte|%d", f.off1.ID)}, ids(f.off1, f.off0)},
			{"contactId", []string{fmt.Sprintf("contactId|eq|%d", f.anon.ID)}, ids(f.closed, f.off0)},
			{"closedBy", []string{fmt.Sprintf("closedBy|eq|%d", f.agent.ID)}, ids(f.closed)},
			{"closedBy null", []string{"closedBy|eq|null"}, ids(f.assigned, f.open, f.off1, f.off0)},
			{"userId", []string{fmt.Sprintf("userId|eq|%d", f.boss.ID)}, ids(f.assigned)},
			{"userId not null", []string{"userId|ne|NULL"}, ids(f.assigned)},
			{"visitId null", []string{"visitId|eq|null"}, all},
			{"title like", []string{"title|like|pricing"}, ids(f.off1)},
			{"title like with %", []string{"title|like|%PRICING%"}, ids(f.off1)},
			{"title eq", []string{"title|eq|Billing"}, ids(f.assigned)},
			{"title with a bar", []string{"title|eq|a|b"}, ids()},
			// An offline message is a chat to Acquire.
			{"channel eq chat", []string{"channel|eq|chat"}, ids(f.closed, f.open, f.off1, f.off0)},
			{"channel eq email", []string{"channel|eq|email"}, ids(f.assigned)},
			{"channel in", []string{"channel|in|email,sms"}, ids(f.assigned)},
			{"channel ne chat", []string{"channel|ne|chat"}, ids(f.assigned)},
			{"channel ne email", []string{"channel|ne|email"}, ids(f.closed, f.open, f.off1, f.off0)},
			{"dateCreated lt", []string{"dateCreated|lt|2021-03-31T00:00:00Z"}, ids(f.off0)},
			{"dateCreated gte with millis", []string{"dateCreated|gte|2021-03-31T10:00:00.123Z"}, ids(f.closed, f.assigned, f.open, f.off1)},
			{"dateCreated gt with millis", []string{"dateCreated|gt|2021-03-31T10:00:00.123Z"}, ids(f.closed, f.assigned, f.open)},
			{"dateActive eq", []string{"dateActive|eq|2021-03-30T16:04:10.000Z"}, ids(f.off0)},
			{"dateQueue with offset", []string{"dateQueue|eq|2021-03-30T18:04:10+02:00"}, ids(f.off0)},
			{"dateClosed null", []string{"dateClosed|eq|null"}, ids(f.assigned, f.open, f.off1, f.off0)},
			{"dateClosed after 2021", []string{"dateClosed|gt|2022-01-01T00:00:00Z"}, ids(f.closed)},
			{"dateUpdated after 2021", []string{"dateUpdated|gte|2022-01-01T00:00:00Z"}, all},
			{"two items ANDed", []string{"status|eq|active", "channel|eq|chat"}, ids(f.open, f.off1, f.off0)},
			{"three items ANDed", []string{"status|eq|active", "channel|eq|chat", fmt.Sprintf("contactId|eq|%d", f.contact.ID)}, ids(f.open, f.off1)},
			{"blank where ignored", []string{""}, all},
			{"case-insensitive names", []string{"STATUS|EQ|active", "ContactId|Eq|" + fmt.Sprint(f.anon.ID)}, ids(f.off0)},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				p := mustCasePage(t, f.get(t, casesPath, f.readOnly, url.Values{"where": tt.where}))
				if got := p.ids(); !slices.Equal(got, tt.want) {
					t.Errorf("ids = %v, want %v", got, tt.want)
				}
				if p.Data.Count != int64(len(tt.want)) {
					t.Errorf("count = %d, want %d", p.Data.Count, len(tt.want))
				}
			})
		}
		t.Run("where[] parameters", func(t *testing.T) {
			p := mustCasePage(t, f.get(t, casesPath, f.full, url.Values{"where[0]": {"status|eq|active"}, "where[1]": {"channel|eq|email"}}))
			if got := p.ids(); !slices.Equal(got, ids(f.assigned)) {
				t.Errorf("ids = %v", got)
			}
		})
		t.Run("relations and select are ignored", func(t *testing.T) {
			p := mustCasePage(t, f.get(t, casesPath, f.full, url.Values{"relations": {"contact|messages"}, "select": {"id,title"}, "where": {"status|eq|closed"}}))
			if got := p.ids(); !slices.Equal(got, ids(f.closed)) {
				t.Errorf("ids = %v", got)
			}
		})
	})
}

func TestCases_ListPaging(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		all := ids(f.closed, f.assigned, f.open, f.off1, f.off0)
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
			{"page 2", url.Values{"limit": {"2"}, "page": {"2"}}, 2, 4, 5, 2, all[4:]},
			{"offset", url.Values{"limit": {"2"}, "offset": {"3"}}, 1, 3, 5, 2, all[3:5]},
			{"offset wins over page", url.Values{"limit": {"2"}, "offset": {"1"}, "page": {"2"}}, 0, 1, 5, 2, all[1:3]},
			{"past the end", url.Values{"page": {"5"}}, 5, 100, 5, 20, []int64{}},
			{"largest offset", url.Values{"offset": {"9223372036854775807"}, "limit": {"100"}}, 92233720368547758, 9223372036854775807, 5, 100, []int64{}},
			{"limit 100", url.Values{"limit": {"100"}}, 0, 0, 5, 100, all},
			{"count with where", url.Values{"limit": {"1"}, "where": {"status|eq|active"}}, 0, 0, 4, 1, all[1:2]},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				p := mustCasePage(t, f.get(t, casesPath, f.full, tt.query))
				d := p.Data
				if d.Page != tt.page || d.Offset != tt.offset || d.Limit != tt.limit || d.Count != tt.count {
					t.Errorf("page %d offset %d limit %d count %d, want %d %d %d %d", d.Page, d.Offset, d.Limit, d.Count, tt.page, tt.offset, tt.limit, tt.count)
				}
				if got := p.ids(); !slices.Equal(got, tt.want) {
					t.Errorf("ids = %v, want %v", got, tt.want)
				}
			})
		}
		t.Run("exact shape", func(t *testing.T) {
			r := f.get(t, casesPath, f.full, url.Values{"limit": {"2"}, "where": {"status|eq|closed"}})
			want := `{"data":{"page":0,"offset":0,"limit":2,"count":1,"data":[` + wantCase(f.mustCaseView(t, f.closed)) + `]}}`
			assertJSON(t, r.body, want)
		})
		t.Run("other account sees only its own", func(t *testing.T) {
			p := mustCasePage(t, f.get(t, casesPath, f.otherKey, nil))
			if got := p.ids(); !slices.Equal(got, ids(f.foreign)) || p.Data.Count != 1 {
				t.Errorf("ids = %v count %d", got, p.Data.Count)
			}
		})
	})
}

func TestCases_ListErrors(t *testing.T) {
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
			{"unknown column", f.full, url.Values{"where": {"nope|eq|1"}}, 400, invalid, `where "nope|eq|1": "nope" is not a case column that can be filtered`},
			{"unknown op", f.full, url.Values{"where": {"id|between|1"}}, 400, invalid, `where "id|between|1": "between" is not an operator: use eq, ne, gt, gte, lt, lte, like or in`},
			{"two parts", f.full, url.Values{"where": {"id|1"}}, 400, invalid, `where "id|1": must be column|operator|value`},
			{"bad int", f.full, url.Values{"where": {"id|eq|abc"}}, 400, invalid, `where "id|eq|abc": "abc" is not an integer`},
			{"bad int in list", f.full, url.Values{"where": {"id|in|1,x"}}, 400, invalid, `where "id|in|1,x": "x" is not an integer`},
			{"huge int", f.full, url.Values{"where": {"id|eq|99999999999999999999"}}, 400, invalid, `where "id|eq|99999999999999999999": "99999999999999999999" is not an integer`},
			{"bad date", f.full, url.Values{"where": {"dateCreated|gt|yesterday"}}, 400, invalid, `where "dateCreated|gt|yesterday": "yesterday" is not an ISO-8601 time such as 2021-03-30T16:05:46.000Z`},
			{"date in", f.full, url.Values{"where": {"dateCreated|in|2021-03-30T16:04:10Z"}}, 400, invalid, `where "dateCreated|in|2021-03-30T16:04:10Z": dates work only with eq, ne, gt, gte, lt and lte`},
			{"like on int", f.full, url.Values{"where": {"id|like|1"}}, 400, invalid, `where "id|like|1": like works only on text columns`},
			{"unknown status", f.full, url.Values{"where": {"status|eq|open"}}, 400, invalid, `where "status|eq|open": "open" is not a status: use active or closed`},
			{"status gt", f.full, url.Values{"where": {"status|gt|active"}}, 400, invalid, `where "status|gt|active": status works only with eq, ne and in`},
			{"unknown channel", f.full, url.Values{"where": {"channel|eq|fax"}}, 400, invalid, `where "channel|eq|fax": "fax" is not a channel: use chat, email or sms`},
			{"offline is not Acquire's", f.full, url.Values{"where": {"channel|eq|offline"}}, 400, invalid, `where "channel|eq|offline": "offline" is not a channel: use chat, email or sms`},
			{"null on a required column", f.full, url.Values{"where": {"id|eq|null"}}, 400, invalid, `where "id|eq|null": "null" is not an integer`},
			{"null with gt", f.full, url.Values{"where": {"userId|gt|null"}}, 400, invalid, `where "userId|gt|null": null works only with eq and ne`},
			{"NUL in value", f.full, url.Values{"where": {"title|eq|a\x00b"}}, 400, invalid, `where "title|eq|a\x00b": the value must be UTF-8 text without NUL characters`},
			{"bad UTF-8 in value", f.full, url.Values{"where": {"title|like|\xff"}}, 400, invalid, `where "title|like|\xff": the value must be UTF-8 text without NUL characters`},
			{"every bad item at once", f.full, url.Values{"where": {"nope|eq|1", "status|eq|active", "id|eq|x"}, "limit": {"0"}}, 400, invalid,
				`limit: must be 1 to 100; where "nope|eq|1": "nope" is not a case column that can be filtered; where "id|eq|x": "x" is not an integer`},
			{"too many values", f.full, url.Values{"where": {"status|eq|active", "id|in|" + strings.Repeat("1,", 70000) + "1"}}, 400, invalid, "where: at most 1000 values in all"},
			{"too many items", f.full, url.Values{"where": slices.Repeat([]string{"id|gt|0"}, 1001)}, 400, invalid, "where: at most 1000 values in all"},
			{"limit 101", f.full, url.Values{"limit": {"101"}}, 400, invalid, "limit: must be 1 to 100"},
			{"limit abc", f.full, url.Values{"limit": {"abc"}}, 400, invalid, "limit: must be 1 to 100"},
			{"negative offset", f.full, url.Values{"offset": {"-1"}}, 400, invalid, "offset: must be 0 or a positive integer"},
			{"bad page", f.full, url.Values{"page": {"1.5"}}, 400, invalid, "page: must be 0 or a positive integer"},
			{"huge page", f.full, url.Values{"page": {"922337203685477580"}}, 400, invalid, "page: is too large"},
			{"no key", "", nil, 401, "ERROR_UNAUTHORIZED", "Missing API key: send the header Authorization: Bearer <API key>"},
			{"garbage key", "garbage", nil, 401, "ERROR_UNAUTHORIZED", "Invalid API key"},
			{"revoked key", f.revoked, nil, 401, "ERROR_UNAUTHORIZED", "Invalid API key"},
			{"expired key", f.expired, nil, 401, "ERROR_UNAUTHORIZED", "The API key has expired"},
			{"key without read", f.chatOnly, nil, 403, "ERROR_UNAUTHORIZED_ACCESS", `This API key lacks the "read" scope`},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				assertError(t, f.get(t, casesPath, tt.token, tt.query), tt.status, tt.typ, tt.message)
			})
		}
	})
}

func TestCases_Get(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		for _, c := range []models.Case{f.closed, f.assigned, f.off0} {
			t.Run(fmt.Sprintf("case %s", c.Subject), func(t *testing.T) {
				r := f.get(t, fmt.Sprintf("%s/%d", casesPath, c.ID), f.readOnly, nil)
				if r.status != 200 {
					t.Fatalf("status %d: %s", r.status, r.body)
				}
				assertJSON(t, r.body, `{"data":`+wantCase(f.mustCaseView(t, c))+`}`)
			})
		}
		t.Run("closed case", func(t *testing.T) {
			var got struct {
				Data map[string]any `json:"data"`
			}
			r := f.get(t, fmt.Sprintf("%s/%d", casesPath, f.closed.ID), f.full, nil)
			if err := json.Unmarshal([]byte(r.body), &got); err != nil {
				t.Fatal(err)
			}
			d := got.Data
			if d["status"] != "closed" || d["closingState"] != "handled" || d["closedBy"] != float64(f.agent.ID) || d["dateClosed"] == nil {
				t.Errorf("closed case = %v", d)
			}
			users := d["users"].([]any)
			if len(users) != 2 || users[0].(map[string]any)["userId"] != float64(f.boss.ID) || users[0].(map[string]any)["closed"] != "yes" {
				t.Errorf("users = %v", users)
			}
		})
		tests := []struct {
			name, id, token string
			status          int
			typ, message    string
		}{
			{"not a number", "abc", f.full, 400, "ERROR_INVALID_INPUT", `id: must be a positive integer, not "abc"`},
			{"negative", "-14", f.full, 400, "ERROR_INVALID_INPUT", `id: must be a positive integer, not "-14"`},
			{"zero", "0", f.full, 400, "ERROR_INVALID_INPUT", `id: must be a positive integer, not "0"`},
			{"unknown", "744000", f.full, 404, "ERROR_RECORD_NOT_FOUND", "Case 744000 not found"},
			{"huge", "99999999999999999999", f.full, 404, "ERROR_RECORD_NOT_FOUND", "Case 99999999999999999999 not found"},
			{"another account's", fmt.Sprint(f.foreign.ID), f.full, 404, "ERROR_RECORD_NOT_FOUND", fmt.Sprintf("Case %d not found", f.foreign.ID)},
			{"no key", "1", "", 401, "ERROR_UNAUTHORIZED", "Missing API key: send the header Authorization: Bearer <API key>"},
			{"garbage key", "1", "Bearer", 401, "ERROR_UNAUTHORIZED", "Invalid API key"},
			{"revoked key", "1", f.revoked, 401, "ERROR_UNAUTHORIZED", "Invalid API key"},
			{"key without read", "1", f.chatOnly, 403, "ERROR_UNAUTHORIZED_ACCESS", `This API key lacks the "read" scope`},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				assertError(t, f.get(t, casesPath+"/"+tt.id, tt.token, nil), tt.status, tt.typ, tt.message)
			})
		}
	})
}

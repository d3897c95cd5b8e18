package helpcrunch_test

import (
	"fmt"
	"net/http"
	"testing"

	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

// customerIDs returns the ids of a customer list's data, in order, and its total.
func customerIDs(t *testing.T, list map[string]any) ([]int64, float64) {
	t.Helper()
	data, ok := list["data"].([]any)
	if !ok {
		t.Fatalf("data = %v", list["data"])
	}
	ids := make([]int64, len(data))
	for i, d := range data {
		ids[i] = id(t, d.(map[string]any)["id"])
	}
	total, ok := list["total"].(float64)
	if !ok {
		t.Fatalf("total = %v", list["total"])
	}
	return ids, total
}

// customerJSON is the customer object HelpCrunch shows for c.
func customerJSON(c models.Contact) string {
	str := func(s string) string {
		if s == "" {
			return "null"
		}
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprintf(`{"id":%d,"userId":%s,"name":%s,"email":%s,"phone":%s,"firstSeen":%q,"lastSeen":%q,"createdAt":%q}`,
		c.ID, str(c.UserID), str(c.Name), str(c.Email), str(c.Phone), unix(c.CreatedAt), unix(c.UpdatedAt), unix(c.CreatedAt))
}

func TestCustomers_List(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		ann, anon := f.contact.ID, f.anon.ID
		t.Run("shape", func(t *testing.T) {
			r := mustOK(t, f.do(t, http.MethodGet, "/v1/customers", f.readToken, ""))
			assertJSON(t, mustJSON(t, r), `{"data":[`+customerJSON(f.anon)+`,`+customerJSON(f.contact)+`],"total":2}`)
		})
		tests := []struct {
			query string
			want  []int64
		}{
			{"?sort=customers.firstSeen", []int64{anon, ann}},
			{"?sort=customers.firstSeen&order=asc", []int64{ann, anon}},
			{"?sort=customers.lastSeen&order=asc", []int64{ann, anon}},
			{"?limit=1", []int64{anon}},
			{"?offset=1", []int64{ann}},
			{"?offset=2", []int64{}},
			{"?sort=&order=Asc&offset=&limit=", []int64{ann, anon}},
		}
		for _, tt := range tests {
			t.Run("query "+tt.query, func(t *testing.T) {
				ids, total := customerIDs(t, mustOK(t, f.do(t, http.MethodGet, "/v1/customers"+tt.query, f.token, "")))
				if fmt.Sprint(ids) != fmt.Sprint(tt.want) || total != 2 {
					t.Errorf("ids %v total %v, want %v total 2", ids, total, tt.want)
				}
			})
		}
		errs := []struct {
			name, query, want string
		}{
			{"unknown sort", "?sort=customers.name", hcErrors("sort", choice)},
			{"chat sort key", "?sort=chats.createdAt", hcErrors("sort", choice)},
			{"everything wrong", "?sort=x&order=sideways&offset=x&limit=-1", hcErrors("sort", choice, "order", choice,
				"offset", numeric, "limit", "This value should be greater than or equal to 1.")},
		}
		for _, tt := range errs {
			t.Run(tt.name, func(t *testing.T) {
				assertError(t, f.do(t, http.MethodGet, "/v1/customers"+tt.query, f.token, ""), http.StatusBadRequest, tt.want)
			})
		}
	})
}

func TestCustomers_Get(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		for _, c := range []struct {
			name string
			ct   models.Contact
		}{{"named", f.contact}, {"anonymous", f.anon}} {
			t.Run("shape "+c.name, func(t *testing.T) {
				r := mustOK(t, f.do(t, http.MethodGet, fmt.Sprint("/v1/customers/", c.ct.ID), f.readToken, ""))
				assertJSON(t, mustJSON(t, r), customerJSON(c.ct))
			})
		}
		notFound := hcErrors("entity_not_found", "Customer not found")
		invalid := hcErrors("invalid_customer_value", "Invalid customer ID")
		errs := []struct {
			name, path string
			status     int
			want       string
		}{
			{"id not a number", "/v1/customers/abc", 400, invalid},
			{"id negative", "/v1/customers/-5", 400, invalid},
			{"id zero", "/v1/customers/0", 400, invalid},
			{"id huge", "/v1/customers/99999999999999999999", 404, notFound},
			{"id unknown", "/v1/customers/987654321", 404, notFound},
			{"id of another account", fmt.Sprint("/v1/customers/", f.foreignContact.ID), 404, notFound},
		}
		for _, tt := range errs {
			t.Run(tt.name, func(t *testing.T) {
				assertError(t, f.do(t, http.MethodGet, tt.path, f.token, ""), tt.status, tt.want)
			})
		}
	})
}

func TestCustomers_Search(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		ann, anon := f.contact.ID, f.anon.ID
		tests := []struct {
			name, body string
			want       []int64
		}{
			{"all", `{}`, []int64{anon, ann}},
			{"email", `{"filter":[{"field":"customers.email","operator":"=","value":"ann@example.com"}]}`, []int64{ann}},
			{"email of another account", `{"filter":[{"field":"customers.email","operator":"=","value":"other@example.com"}]}`, []int64{}},
			{"name contains", `{"filter":[{"field":"customers.name","operator":"~","value":"LEE"}]}`, []int64{ann}},
			{"phone not", `{"filter":[{"field":"customers.phone","operator":"!=","value":"+380501234567"}]}`, []int64{anon}},
			{"id", fmt.Sprintf(`{"filter":[{"field":"customers.id","operator":"=","value":%d}]}`, anon), []int64{anon}},
			{"userId empty", `{"filter":[{"field":"customers.userId","operator":"=","value":""}]}`, []int64{anon, ann}},
			{"first seen after 2001", `{"filter":[{"field":"customers.firstSeen","operator":">","value":"1000000000"}]}`, []int64{anon, ann}},
			{"last seen before 2001", `{"filter":[{"field":"customers.lastSeen","operator":"<","value":1000000000}]}`, []int64{}},
			{"OR", fmt.Sprintf(`{"comparison":"OR","filter":[{"field":"customers.id","operator":"=","value":%d},{"field":"customers.email","operator":"~","value":"ann"}]}`, anon), []int64{anon, ann}},
			{"sorted ascending", `{"sort":"customers.firstSeen","order":"asc"}`, []int64{ann, anon}},
			{"in any letter case", `{"comparison":"and","order":"ASC"}`, []int64{ann, anon}},
			{"every field null", `{"filter":null,"comparison":null,"sort":null,"order":null,"offset":null,"limit":null}`, []int64{anon, ann}},
			{"every field empty", `{"filter":[],"comparison":"","sort":"","order":"","offset":"","limit":""}`, []int64{anon, ann}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ids, total := customerIDs(t, mustOK(t, f.do(t, http.MethodPost, "/v1/customers/search", f.readToken, tt.body)))
				if fmt.Sprint(ids) != fmt.Sprint(tt.want) || total != float64(len(tt.want)) {
					t.Errorf("ids %v total %v, want %v", ids, total, tt.want)
				}
			})
		}
		errs := []struct {
			name, body, want string
		}{
			{"chat field", `{"filter":[{"field":"chats.id","operator":"=","value":1}]}`, hcErrors("filter[0].field", choice)},
			{"bad values", `{"filter":[{"field":"customers.id","operator":"=","value":"x"},{"field":"customers.email","operator":"~","value":["a"]},{"field":"customers.firstSeen","operator":"~","value":1}],"sort":"customers.email"}`,
				hcErrors("filter[0].value", numeric, "filter[1].value", typeStr, "filter[2].operator", choice, "sort", choice)},
			{"blank field and operator", `{"filter":[{"field":"","operator":" ","value":"x"}]}`, hcErrors("filter[0].field", blank, "filter[0].operator", blank)},
			{"NUL in a value", `{"filter":[{"field":"customers.name","operator":"~","value":"a\u0000"}]}`, hcErrors("filter[0].value", "This value should not contain NUL characters.")},
			{"malformed", `{"filter":[}`, hcErrors("body", "The request body is not valid JSON: invalid character '}' looking for beginning of value at offset 12.")},
		}
		for _, tt := range errs {
			t.Run(tt.name, func(t *testing.T) {
				assertError(t, f.do(t, http.MethodPost, "/v1/customers/search", f.token, tt.body), http.StatusBadRequest, tt.want)
			})
		}
	})
}

func TestCustomers_Create(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		t.Run("every field", func(t *testing.T) {
			before := f.counts(t)
			r := mustOK(t, f.do(t, http.MethodPost, "/v1/customers", f.chatToken,
				`{"name":" Bob Smith ","email":"Bob@Example.com","phone":"+14155550123","userId":"u-1","tags":["vip"]}`))
			assertRecent(t, "firstSeen", r["firstSeen"])
			assertJSON(t, mustJSON(t, r), fmt.Sprintf(`{"id":%d,"userId":"u-1","name":"Bob Smith","email":"bob@example.com",
				"phone":"+14155550123","firstSeen":%q,"lastSeen":%q,"createdAt":%q}`, id(t, r["id"]), r["firstSeen"], r["firstSeen"], r["firstSeen"]))
			if after := f.counts(t); after.contacts != before.contacts+1 {
				t.Errorf("contacts went from %d to %d", before.contacts, after.contacts)
			}
			found := mustOK(t, f.do(t, http.MethodPost, "/v1/customers/search", f.token,
				`{"filter":[{"field":"customers.userId","operator":"=","value":"u-1"}]}`))
			assertJSON(t, mustJSON(t, found), `{"data":[`+mustJSON(t, r)+`],"total":1}`)
		})
		t.Run("email only", func(t *testing.T) {
			r := mustOK(t, f.do(t, http.MethodPost, "/v1/customers", f.token, `{"email":"solo@example.com","name":null}`))
			if r["name"] != nil || r["phone"] != nil || r["userId"] != nil || r["email"] != "solo@example.com" {
				t.Errorf("customer = %v", r)
			}
		})
		t.Run("formatted phone stored in E.164", func(t *testing.T) {
			r := mustOK(t, f.do(t, http.MethodPost, "/v1/customers", f.chatToken, `{"name":"Cy","phone":" +1 (415) 555-0177 "}`))
			if r["phone"] != "+14155550177" {
				t.Errorf("phone = %v, want +14155550177", r["phone"])
			}
			found := mustOK(t, f.do(t, http.MethodPost, "/v1/customers/search", f.token,
				`{"filter":[{"field":"customers.phone","operator":"=","value":"+14155550177"}]}`))
			assertJSON(t, mustJSON(t, found), `{"data":[`+mustJSON(t, r)+`],"total":1}`)
		})
		atLeastOne := hcErrors("customer", "At least one of name, email, phone or userId should not be blank.")
		tests := []struct {
			name, body string
			want       string
		}{
			{"nothing", `{}`, atLeastOne},
			{"all blank", `{"name":" ","email":"","phone":null,"userId":"  "}`, atLeastOne},
			{"bad email", `{"email":"not-an-email"}`, hcErrors("email", "This value is not a valid email address.")},
			{"bad phone", `{"name":"x","phone":"0501234567"}`, hcErrors("phone", "This value is not a valid phone number.")},
			{"555 is no area code", `{"name":"x","phone":"+1 555 000 1111"}`, hcErrors("phone", "This value is not a valid phone number.")},
			{"too short", `{"name":"x","phone":"+1234"}`, hcErrors("phone", "This value is not a valid phone number.")},
			{"unassigned network", `{"name":"x","phone":"+882123456789"}`, hcErrors("phone", "This value is not a valid phone number.")},
			{"00 prefix", `{"name":"x","phone":"00380501234567"}`, hcErrors("phone", "This value is not a valid phone number.")},
			{"extension", `{"name":"x","phone":"+380501234567 ext 2"}`, hcErrors("phone", "This value is not a valid phone number.")},
			{"bad email and phone", `{"email":"a@b","phone":"+0"}`, hcErrors("email", "This value is not a valid email address.", "phone", "This value is not a valid phone number.")},
			{"wrong types", `{"name":1,"email":true,"phone":["+1"],"userId":{"a":1}}`, hcErrors("name", typeStr, "email", typeStr, "phone", typeStr, "userId", typeStr)},
			{"NUL in the name", `{"name":"a\u0000b"}`, hcErrors("name", "This value should not contain NUL characters.")},
			{"empty body", ``, hcErrors("body", "The request body should not be empty.")},
			{"array body", `[]`, hcErrors("body", "The request body should be a JSON object.")},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := f.counts(t)
				assertError(t, f.do(t, http.MethodPost, "/v1/customers", f.token, tt.body), http.StatusBadRequest, tt.want)
				f.assertUnchanged(t, before)
			})
		}
	})
}

package helpcrunch_test

import (
	"fmt"
	"net/http"
	"testing"

	"switchboard/auth"
	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

func TestDepartments_List(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		support := storetest.MustDepartment(t, st, f.acct.ID, "Support")
		sales := f.sales.ID
		t.Run("shape", func(t *testing.T) {
			r := mustOK(t, f.do(t, http.MethodGet, "/v1/departments", f.readToken, ""))
			assertJSON(t, mustJSON(t, r), `{"data":[`+departmentJSON(f.sales)+`,`+departmentJSON(support)+`],"total":2}`)
		})
		tests := []struct {
			query string
			want  []int64
		}{
			{"", []int64{sales, support.ID}},
			{"?limit=1", []int64{sales}},
			{"?offset=1", []int64{support.ID}},
			{"?offset=2", []int64{}},
			{"?offset=9223372036854775807", []int64{}},
			{"?offset=&limit=", []int64{sales, support.ID}},
			{"?cachebuster=1", []int64{sales, support.ID}},
		}
		for _, tt := range tests {
			t.Run("query "+tt.query, func(t *testing.T) {
				ids, total := customerIDs(t, mustOK(t, f.do(t, http.MethodGet, "/v1/departments"+tt.query, f.token, "")))
				if fmt.Sprint(ids) != fmt.Sprint(tt.want) || total != 2 {
					t.Errorf("ids %v total %v, want %v total 2", ids, total, tt.want)
				}
			})
		}
		t.Run("another account's key sees its own", func(t *testing.T) {
			r := mustOK(t, f.do(t, http.MethodGet, "/v1/departments", f.foreignToken, ""))
			assertJSON(t, mustJSON(t, r), `{"data":[`+departmentJSON(f.foreignDepartment)+`],"total":1}`)
		})
		t.Run("an account with none", func(t *testing.T) {
			acct := storetest.MustAccount(t, st, "Empty")
			storetest.MustAgent(t, st, acct.ID, "empty@example.com", models.RoleSuperadmin, "x")
			token := mustKey(t, f.keys, acct.ID, auth.KeySpec{Name: "empty"})
			r := mustOK(t, f.do(t, http.MethodGet, "/v1/departments", token, ""))
			assertJSON(t, mustJSON(t, r), `{"data":[],"total":0}`)
		})
		errs := []struct {
			name, query, want string
		}{
			{"bad paging", "?offset=x&limit=0", hcErrors("offset", numeric, "limit", "This value should be greater than or equal to 1.")},
			{"limit over 100", "?limit=101", hcErrors("limit", "This value should be less than or equal to 100.")},
			{"a filter", "?name=Sales", hcErrors("name", "This field was not expected.")},
			{"a sort", "?sort=departments.name&order=asc", hcErrors("order", "This field was not expected.", "sort", "This field was not expected.")},
		}
		for _, tt := range errs {
			t.Run(tt.name, func(t *testing.T) {
				assertError(t, f.do(t, http.MethodGet, "/v1/departments"+tt.query, f.token, ""), http.StatusBadRequest, tt.want)
			})
		}
		t.Run("a chat key may not", func(t *testing.T) {
			assertError(t, f.do(t, http.MethodGet, "/v1/departments", f.chatToken, ""), http.StatusForbidden, needsRead)
		})
	})
}

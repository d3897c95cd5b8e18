package callgear_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"sort"
	"testing"

	"switchboard/store"
	"switchboard/store/storetest"
)

// listResult is a get method's result: its rows and metadata.total_items.
type listResult struct {
	Data     []map[string]any `json:"data"`
	Metadata struct {
		TotalItems *int64 `json:"total_items"`
	} `json:"metadata"`
}

// mustList checks a get method's successful answer and returns its rows
// and total_items.
func mustList(tb testing.TB, r response) ([]map[string]any, int64) {
	tb.Helper()
	res := mustRPC(tb, r, http.StatusOK)
	if res.Error != nil {
		tb.Fatalf("want a result, got error %s", r.body)
	}
	var out listResult
	dec := json.NewDecoder(bytes.NewReader(res.Result))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil || out.Data == nil || out.Metadata.TotalItems == nil {
		tb.Fatalf("result is not {data: [...], metadata: {total_items}}: %s", res.Result)
	}
	return out.Data, *out.Metadata.TotalItems
}

// cells returns the column name of every row, as JSON text.
func cells(rows []map[string]any, name string) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		b, _ := json.Marshal(r[name])
		out[i] = string(b)
	}
	return out
}

// keysOf returns the row's column names, sorted.
func keysOf(row map[string]any) []string {
	out := make([]string, 0, len(row))
	for k := range row {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// jsonIDs returns ids as JSON text, as column gives them.
func jsonIDs(ids ...int64) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		b, _ := json.Marshal(id)
		out[i] = string(b)
	}
	return out
}

func TestGetEmployees(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		call := func(params obj) response {
			return f.call(t, "get.employees", with(obj{"access_token": f.readToken}, flatten(params)...))
		}
		t.Run("defaults", func(t *testing.T) {
			rows, total := mustList(t, call(nil))
			if total != 3 || !slices.Equal(cells(rows, "id"), jsonIDs(f.boss.ID, f.agent.ID, f.admin.ID)) {
				t.Fatalf("ids %v total %d, want the account's 3 agents by id", cells(rows, "id"), total)
			}
			boss := rows[0]
			if len(boss) != 24 || boss["login"] != "boss@example.com" || boss["email"] != "boss@example.com" ||
				boss["full_name"] != "First boss@example.com Last" || boss["first_name"] != "First boss@example.com" || boss["last_name"] != "Last" {
				t.Errorf("boss = %v (%d columns)", boss, len(boss))
			}
			for _, null := range []string{"patronymic", "status", "groups", "coach", "schedule_id", "extension"} {
				if v, ok := boss[null]; !ok || v != nil {
					t.Errorf("%s = %v, want null", null, v)
				}
			}
			op, _ := boss["operator"].(map[string]any)
			if op["operator_login"] != "boss@example.com" || op["operator_chat_enabled"] != true || op["operator_position_id"] != nil {
				t.Errorf("operator = %v", boss["operator"])
			}
			if phones, ok := boss["phone_numbers"].([]any); !ok || len(phones) != 0 {
				t.Errorf("phone_numbers = %v, want []", boss["phone_numbers"])
			}
		})
		t.Run("fields", func(t *testing.T) {
			rows, _ := mustList(t, call(obj{"fields": []any{"login", "id", "login"}}))
			if got := keysOf(rows[0]); !slices.Equal(got, []string{"id", "login"}) {
				t.Errorf("columns %v, want id and login", got)
			}
		})
		t.Run("sort", func(t *testing.T) {
			rows, _ := mustList(t, call(obj{"sort": []any{obj{"field": "login", "order": "asc"}}}))
			if got := cells(rows, "login"); !slices.Equal(got, []string{`"admin@example.com"`, `"agent@example.com"`, `"boss@example.com"`}) {
				t.Errorf("logins %v", got)
			}
		})
		t.Run("filter", func(t *testing.T) {
			rows, total := mustList(t, call(obj{"filter": obj{"condition": "or", "filters": []any{
				obj{"field": "login", "operator": "=", "value": "agent@example.com"},
				obj{"field": "full_name", "operator": "like", "value": "First ad%"},
			}}}))
			if total != 2 || !slices.Equal(cells(rows, "id"), jsonIDs(f.agent.ID, f.admin.ID)) {
				t.Errorf("ids %v total %d", cells(rows, "id"), total)
			}
		})
		t.Run("paging", func(t *testing.T) {
			rows, total := mustList(t, call(obj{"offset": 1, "limit": 1}))
			if total != 3 || !slices.Equal(cells(rows, "id"), jsonIDs(f.agent.ID)) {
				t.Errorf("ids %v total %d", cells(rows, "id"), total)
			}
		})
		errs := []struct {
			name     string
			params   obj
			code     int
			mnemonic string
			field    string
		}{
			{"unknown field", obj{"fields": []any{"id", "shoe_size"}}, -32602, "unexpected_parameters", "fields[1]"},
			{"unknown filter field", obj{"filter": obj{"field": "shoe_size", "operator": "=", "value": 1}}, -32602, "filter_prohibited", "filter.field"},
			{"a column not recorded", obj{"filter": obj{"field": "status", "operator": "=", "value": "available"}}, -32602, "filter_prohibited", "filter.field"},
			{"unknown sort field", obj{"sort": []any{obj{"field": "shoe_size"}}}, -32602, "sort_prohibited", "sort[0].field"},
			{"a date range", obj{"date_from": "2024-01-01 00:00:00"}, -32602, "unexpected_parameters", "date_from"},
			{"unknown user", obj{"user_id": 999999}, -32602, "entity_not_found", "user_id"},
			{"another account's user", obj{"user_id": f.foreignAgent.ID}, -32602, "entity_not_found", "user_id"},
		}
		for _, tt := range errs {
			t.Run(tt.name, func(t *testing.T) {
				assertError(t, call(tt.params), http.StatusOK, tt.code, tt.mnemonic, tt.field)
			})
		}
	})
}

func TestGetCustomerUsers(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		call := func(params obj) response {
			return f.call(t, "get.customer_users", with(obj{"access_token": f.token}, flatten(params)...))
		}
		rows, total := mustList(t, call(nil))
		if total != 3 || !slices.Equal(cells(rows, "id"), jsonIDs(f.boss.ID, f.agent.ID, f.admin.ID)) {
			t.Fatalf("ids %v total %d", cells(rows, "id"), total)
		}
		want := map[string]any{"id": json.Number(jsonIDs(f.boss.ID)[0]), "login": "boss@example.com", "name": "First boss@example.com Last",
			"description": nil, "customer_id": json.Number(jsonIDs(f.acct.ID)[0])}
		if got := rows[0]; !mapsEqual(got, want) {
			t.Errorf("boss = %v, want %v", got, want)
		}
		rows, total = mustList(t, call(obj{"fields": []any{"login"}, "sort": []any{obj{"field": "name", "order": "desc"}},
			"filter": obj{"field": "customer_id", "operator": "=", "value": f.acct.ID}}))
		if total != 3 || !slices.Equal(cells(rows, "login"), []string{`"boss@example.com"`, `"agent@example.com"`, `"admin@example.com"`}) || len(rows[0]) != 1 {
			t.Errorf("rows %v total %d", rows, total)
		}
		assertError(t, call(obj{"fields": []any{"email"}}), http.StatusOK, -32602, "unexpected_parameters", "fields[0]")
		assertError(t, call(obj{"user_id": f.foreignAgent.ID}), http.StatusOK, -32602, "entity_not_found", "user_id")
		if rows, _ := mustList(t, call(obj{"user_id": f.agent.ID})); len(rows) != 3 {
			t.Errorf("with user_id: %v", rows)
		}
	})
}

// flatten returns o's members as with's key, value list.
func flatten(o obj) []any {
	var kv []any
	keys := make([]string, 0, len(o))
	for k := range o {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		kv = append(kv, k, o[k])
	}
	return kv
}

// mapsEqual reports whether two decoded JSON objects are equal.
func mapsEqual(a, b map[string]any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

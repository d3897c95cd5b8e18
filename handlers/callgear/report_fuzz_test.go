package callgear

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"switchboard/handlers/jsonbody"
	"switchboard/store"
)

// FuzzFilterParams feeds JSON filters to the report's filter reader: it
// must never panic, and must either record a problem or return a filter
// naming only the store's fields of the method's columns.
func FuzzFilterParams(f *testing.F) {
	for _, seed := range []string{
		`{"field":"status","operator":"in","value":["new","lost"]}`,
		`{"filters":[{"field":"ext_id","operator":"like","value":"a%"},{"filters":[{"field":"date_time","operator":">","value":"2024-03-05 10:00:00"}],"condition":"or"}],"condition":"and"}`,
		`{"field":"initiator","operator":"!=","value":"visitor"}`,
		`{"field":"employee_id","operator":"=","value":null}`,
		`{"field":"id","operator":"regexp","value":"1"}`,
		`{"filters":[]}`,
	} {
		f.Add([]byte(seed))
	}
	fields := map[string]bool{}
	for _, c := range chatColumns {
		fields[c.field] = true
		for _, e := range c.enum {
			collectFields(e, fields)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var v any
		if dec.Decode(&v) != nil {
			return
		}
		var p problems
		o := newObject(map[string]any{"filter": v}, &p)
		o.get("filter")
		got, ok := readFilter(o, jsonbody.Path{jsonbody.Member("filter")}, v, chatColumns, time.UTC, 1)
		if ok != (len(p) == 0) {
			t.Fatalf("ok = %v with problems %v", ok, p)
		}
		if ok {
			seen := map[string]bool{}
			collectFields(got, seen)
			for name := range seen {
				if !fields[name] {
					t.Fatalf("filter names %q, no store field of the columns", name)
				}
			}
		}
	})
}

// collectFields adds the fields f's conditions name to into.
func collectFields(f store.Filter, into map[string]bool) {
	if f.Group == nil {
		into[f.Field] = true
		return
	}
	for _, s := range f.Group.Filters {
		collectFields(s, into)
	}
}

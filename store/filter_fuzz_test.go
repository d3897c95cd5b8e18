package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"sort"
	"strings"
	"testing"
	"time"
)

// filterOf builds a filter tree from a decoded JSON value the way a
// dialect would, without checking anything: {filters, condition} is a
// group, anything else a condition whose field, operator and value are
// taken as they come (numbers as int64 when whole, strings that read as
// RFC 3339 as times).
func filterOf(v any) Filter {
	m, _ := v.(map[string]any)
	if subs, ok := m["filters"].([]any); ok {
		g := &Group{Any: m["condition"] == "or"}
		for _, s := range subs {
			g.Filters = append(g.Filters, filterOf(s))
		}
		return Filter{Group: g}
	}
	field, _ := m["field"].(string)
	op, _ := m["operator"].(string)
	return Filter{Field: field, Op: Op(op), Value: valueOf(m["value"])}
}

func valueOf(v any) any {
	switch t := v.(type) {
	case json.Number:
		if n, err := t.Int64(); err == nil {
			return n
		}
		return string(t)
	case string:
		if at, err := time.Parse(time.RFC3339, t); err == nil {
			return at
		}
		return t
	case []any:
		var ints []int64
		var texts []string
		for _, e := range t {
			switch x := valueOf(e).(type) {
			case int64:
				ints = append(ints, x)
			case string:
				texts = append(texts, x)
			}
		}
		if len(ints) > 0 {
			return ints
		}
		return texts
	}
	return v
}

// FuzzFilterTranslate feeds JSON filter trees to the translator: it must
// never panic, must answer FieldErrors or SQL, and its SQL may hold only the
// columns' expressions, operators, placeholders and the translator's own
// words, with as many values as placeholders: nothing a client wrote.
func FuzzFilterTranslate(f *testing.F) {
	for _, seed := range []string{
		`{"field":"ext_id","operator":"like","value":"crm-%"}`,
		`{"field":"id","operator":"in","value":[1,2,3]}`,
		`{"filters":[{"field":"ext_id","operator":"eq","value":null},{"filters":[{"field":"started_at","operator":"gt","value":"2024-03-05T10:00:00Z"}],"condition":"or"}],"condition":"and"}`,
		`{"field":"contact_name","operator":"eq","value":"x' OR 1=1 --"}`,
		`{"field":"id) OR (1=1","operator":"eq","value":1}`,
		`{"filters":[]}`,
		`{"filters":[],"condition":"or"}`,
		`{"field":"form_name","operator":"contains","value":"a%_\\"}`,
	} {
		f.Add([]byte(seed))
	}
	// The words the translator may write, longest first so that a longer
	// one is removed before a shorter one inside it.
	var words []string
	for _, c := range reportCaseColumns {
		words = append(words, c.expr)
	}
	words = append(words, "IS NOT NULL", "IS NULL", "ESCAPE '\\'", "LOWER", "LIKE", "GLOB", "AND", "OR", "IN", "<>", "<=", ">=")
	sort.Slice(words, func(i, j int) bool { return len(words[i]) > len(words[j]) })
	f.Fuzz(func(t *testing.T, data []byte) {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var v any
		if dec.Decode(&v) != nil {
			return
		}
		tree := filterOf(v)
		for _, b := range []Backend{Postgres, SQLite} {
			sql, args, err := filterSQL(reportCaseColumns, b, &tree)
			if err != nil {
				var fe FieldErrors
				if !errors.As(err, &fe) || len(fe) == 0 {
					t.Fatalf("err = %v, want FieldErrors", err)
				}
				continue
			}
			if strings.Count(sql, "?") != len(args) {
				t.Fatalf("%d placeholders, %d values: %s", strings.Count(sql, "?"), len(args), sql)
			}
			rest := sql
			for _, w := range words {
				rest = strings.ReplaceAll(rest, w, " ")
			}
			if strings.Trim(rest, " ()?=<>10") != "" {
				t.Fatalf("SQL holds more than columns and operators: %q (left %q)", sql, rest)
			}
		}
	})
}

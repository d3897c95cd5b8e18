package store

import (
	"fmt"
	"strings"
	"time"

	"switchboard/models"
)

// Op is a comparison a list filter makes.
type Op string

// The comparisons of a filter. Contains is a case-insensitive substring match
// on text; In takes a slice of the field's type.
const (
	OpEq       Op = "eq"
	OpNe       Op = "ne"
	OpLt       Op = "lt"
	OpLe       Op = "le"
	OpGt       Op = "gt"
	OpGe       Op = "ge"
	OpContains Op = "contains"
	OpIn       Op = "in"
	// OpLike matches text against a client's pattern, case-sensitively: %
	// stands for any run of characters, _ for one character, and every
	// other character for itself. The pattern is a bound parameter.
	OpLike Op = "like"
)

// Filter is one condition of a list query: Field compared with Value by Op.
// Value is an int64 for id fields, a string for text and enum fields, a
// time.Time for times, a slice of one of those for OpIn, or nil with OpEq and
// OpNe to test for a missing value.
//
// A Filter with Group set is instead a group of conditions, each of which
// may be a group again (see MaxFilterDepth); Field, Op and Value are then
// unused.
type Filter struct {
	Field string
	Op    Op
	Value any
	Group *Group
}

// Group joins conditions: all of them must hold, or any one when Any is set.
// An empty group matches every row, or none when Any is set.
type Group struct {
	Filters []Filter
	Any     bool
}

// valueKind is the Go type a field's filter values have.
type valueKind int

const (
	kindInt valueKind = iota
	kindText
	kindTime
)

// column is a filterable, sortable attribute: its SQL expression, the type of
// its values and whether it may be NULL.
type column struct {
	expr     string
	kind     valueKind
	nullable bool
}

// where builds the WHERE clause of filters over cols, joined by AND, or by OR
// when anyOf is set. It returns FieldErrors naming "filter[i]" for an unknown
// field, an unknown operator or a value of the wrong type, all at once.
func where(cols map[string]column, filters []Filter, anyOf bool) (string, []any, error) {
	var fe FieldErrors
	if len(filters) > MaxFilters {
		fe.Add("filter", "takes at most %d conditions, not %d", MaxFilters, len(filters))
		return "", nil, fe
	}
	t := translator{cols: cols, backend: Postgres, fe: &fe}
	var parts []string
	for i, f := range filters {
		if sql := t.node(f, fmt.Sprintf("filter[%d]", i), 1); sql != "" {
			parts = append(parts, sql)
		}
	}
	if err := fe.Err(); err != nil {
		return "", nil, err
	}
	if len(parts) == 0 {
		return "", nil, nil
	}
	sep := " AND "
	if anyOf {
		sep = " OR "
	}
	return "(" + strings.Join(parts, sep) + ")", t.args, nil
}

// Bounds of a filter tree (Filter.Group).
const (
	// MaxFilterDepth is how deep groups may nest: a lone condition is depth
	// 1, a group of conditions 2.
	MaxFilterDepth = 8
	// MaxFilterNodes is the most conditions and groups one tree holds.
	MaxFilterNodes = 200
)

// translator turns a filter tree into SQL over cols: a WHERE expression
// whose every value is a bound parameter (args), never text of the
// client's. Problems go to fe, each named by its path in the tree.
type translator struct {
	cols    map[string]column
	backend Backend
	fe      *FieldErrors
	args    []any
	nodes   int
}

// node returns the SQL of f, named name ("filter", "filter.filters[2]"), at
// depth (1 for the root), appending its values to t.args; "" after
// recording a problem, or for an empty group.
func (t *translator) node(f Filter, name string, depth int) string {
	t.nodes++
	if t.nodes == MaxFilterNodes+1 {
		t.fe.Add(name, "the filter holds more than %d conditions and groups", MaxFilterNodes)
	}
	if t.nodes > MaxFilterNodes {
		return ""
	}
	if f.Group == nil {
		col, ok := t.cols[f.Field]
		if !ok {
			t.fe.Add(name+".field", "%q is not a field that can be filtered", f.Field)
			return ""
		}
		if !knownOp(f.Op) {
			t.fe.Add(name+".operator", "%q is not an operator", f.Op)
			return ""
		}
		sql, a, msg := condition(col, f, t.backend)
		if msg != "" {
			t.fe.Add(name+".value", "%s", msg)
			return ""
		}
		t.args = append(t.args, a...)
		return sql
	}
	if depth >= MaxFilterDepth {
		t.fe.Add(name, "groups nest at most %d deep", MaxFilterDepth-1)
		return ""
	}
	var parts []string
	for i, sub := range f.Group.Filters {
		if sql := t.node(sub, fmt.Sprintf("%s.filters[%d]", name, i), depth+1); sql != "" {
			parts = append(parts, sql)
		}
	}
	if len(parts) == 0 {
		switch {
		case len(f.Group.Filters) > 0:
			return "" // a problem was recorded
		case f.Group.Any:
			return "1 = 0" // no condition holds
		}
		return "1 = 1"
	}
	sep := " AND "
	if f.Group.Any {
		sep = " OR "
	}
	return "(" + strings.Join(parts, sep) + ")"
}

// knownOp reports whether op is one of the comparisons.
func knownOp(op Op) bool {
	switch op {
	case OpEq, OpNe, OpLt, OpLe, OpGt, OpGe, OpContains, OpIn, OpLike:
		return true
	}
	return false
}

// filterSQL returns the WHERE expression of the filter tree f over cols on
// the backend ("" for none), with its bound values. It returns FieldErrors
// naming each bad part by its path under "filter" ("filter.field",
// "filter.filters[1].value"), all at once.
func filterSQL(cols map[string]column, backend Backend, f *Filter) (string, []any, error) {
	if f == nil {
		return "", nil, nil
	}
	var fe FieldErrors
	t := translator{cols: cols, backend: backend, fe: &fe}
	sql := t.node(*f, "filter", 1)
	if err := fe.Err(); err != nil {
		return "", nil, err
	}
	if sql == "1 = 1" {
		return "", nil, nil
	}
	return sql, t.args, nil
}

// condition returns the SQL of one filter on col for the backend, or a
// message saying what is wrong with it.
func condition(col column, f Filter, backend Backend) (string, []any, string) {
	if f.Value == nil {
		switch f.Op {
		case OpEq:
			return col.expr + " IS NULL", nil, ""
		case OpNe:
			return col.expr + " IS NOT NULL", nil, ""
		}
		return "", nil, "must not be null"
	}
	switch f.Op {
	case OpEq, OpNe, OpLt, OpLe, OpGt, OpGe:
		v, msg := scalar(col.kind, f.Value)
		if msg != "" {
			return "", nil, msg
		}
		sqlOp := map[Op]string{OpEq: "=", OpNe: "<>", OpLt: "<", OpLe: "<=", OpGt: ">", OpGe: ">="}[f.Op]
		if f.Op == OpNe && col.nullable {
			// NULL is "not equal" to any value, as a client reading "!=" means it.
			return fmt.Sprintf("(%s IS NULL OR %s <> ?)", col.expr, col.expr), []any{v}, ""
		}
		return fmt.Sprintf("%s %s ?", col.expr, sqlOp), []any{v}, ""
	case OpContains:
		s, ok := f.Value.(string)
		if !ok || col.kind != kindText {
			return "", nil, "contains needs a text field and a text value"
		}
		if _, msg := scalar(kindText, s); msg != "" {
			return "", nil, msg
		}
		return fmt.Sprintf(`LOWER(%s) LIKE ? ESCAPE '\'`, col.expr), []any{"%" + escapeLike(strings.ToLower(s)) + "%"}, ""
	case OpLike:
		s, ok := f.Value.(string)
		if !ok || col.kind != kindText {
			return "", nil, "like needs a text field and a text pattern"
		}
		if _, msg := scalar(kindText, s); msg != "" {
			return "", nil, msg
		}
		if backend == SQLite {
			// SQLite's LIKE ignores the case of ASCII letters; GLOB does not.
			return col.expr + " GLOB ?", []any{globPattern(s)}, ""
		}
		return fmt.Sprintf(`%s LIKE ? ESCAPE '\'`, col.expr), []any{strings.ReplaceAll(s, `\`, `\\`)}, ""
	case OpIn:
		var vals []any
		switch vs := f.Value.(type) {
		case []int64:
			for _, v := range vs {
				vals = append(vals, v)
			}
		case []string:
			for _, v := range vs {
				vals = append(vals, v)
			}
		default:
			return "", nil, "in needs a list of values"
		}
		if len(vals) == 0 {
			return "1 = 0", nil, ""
		}
		if len(vals) > MaxInValues {
			// Every value is a bound parameter, and the drivers take at most
			// 32,766 (SQLite) or 65,535 (PostgreSQL) of them.
			return "", nil, fmt.Sprintf("in takes at most %d values, not %d", MaxInValues, len(vals))
		}
		for _, v := range vals {
			if _, msg := scalar(col.kind, v); msg != "" {
				return "", nil, msg
			}
		}
		return col.expr + " IN ?", []any{vals}, ""
	}
	return "", nil, fmt.Sprintf("%q is not an operator", f.Op)
}

// scalar checks that v has the Go type of kind and returns it ready to bind.
func scalar(kind valueKind, v any) (any, string) {
	switch kind {
	case kindInt:
		if n, ok := v.(int64); ok {
			return n, ""
		}
		return nil, "must be a number"
	case kindText:
		s, ok := v.(string)
		if !ok {
			return nil, "must be text"
		}
		var fe FieldErrors
		// No stored text is longer than a search value may be.
		if checkBlock(&fe, "", s, models.MaxSearchValueLen); len(fe) > 0 {
			return nil, fe[0].Message
		}
		return s, ""
	case kindTime:
		if t, ok := v.(time.Time); ok {
			return t.UTC(), ""
		}
		return nil, "must be a time"
	}
	return nil, "has an unknown type"
}

// globPattern returns the GLOB pattern matching what the LIKE pattern s
// (OpLike) matches: % becomes *, _ becomes ?, and GLOB's own wildcards
// stand for themselves.
func globPattern(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '%':
			b.WriteByte('*')
		case '_':
			b.WriteByte('?')
		case '*', '?', '[':
			b.WriteByte('[')
			b.WriteRune(r)
			b.WriteByte(']')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// orderBy returns the ORDER BY clause for sorting by col, then by tie, both
// in the same direction; missing values sort last either way.
func orderBy(col column, tie string, asc bool) string {
	dir := " DESC"
	if asc {
		dir = " ASC"
	}
	nulls := ""
	if col.nullable {
		nulls = "(" + col.expr + " IS NULL), "
	}
	return nulls + col.expr + dir + ", " + tie + dir
}

// Page bounds of list queries.
const (
	// MaxLimit is the most rows one list call returns.
	MaxLimit = 1000
	// MaxInValues is the most values one OpIn filter takes.
	MaxInValues = 1000
	// MaxFilters is the most conditions one query takes.
	MaxFilters = 50
)

// listSpec checks a list query over cols (its sort field, its filters and
// its page) and returns the column to order by and the WHERE clause. It
// returns FieldErrors naming every problem at once.
func listSpec(cols map[string]column, sort string, filters []Filter, anyOf bool, offset, limit int) (column, string, []any, error) {
	var fe FieldErrors
	checkPage(&fe, offset, limit)
	sortCol, ok := cols[sort]
	if !ok {
		fe.Add("sort", "%q is not a field that can be sorted on", sort)
	}
	cond, args, err := where(cols, filters, anyOf)
	if err != nil {
		fe = append(fe, err.(FieldErrors)...)
	}
	if err := fe.Err(); err != nil {
		return column{}, "", nil, err
	}
	return sortCol, cond, args, nil
}

// checkPage returns FieldErrors for an offset below 0 or a limit outside 1..MaxLimit.
func checkPage(fe *FieldErrors, offset, limit int) {
	if offset < 0 {
		fe.Add("offset", "must be 0 or more")
	}
	if limit < 1 || limit > MaxLimit {
		fe.Add("limit", "must be 1 to %d", MaxLimit)
	}
}

// pageOffset returns the offset of page (1-based) of size rows, ok=false for
// a page no database can reach, and FieldErrors for a page or size below 1.
func pageOffset(page int64, size int) (int64, bool, error) {
	var fe FieldErrors
	if page < 1 {
		fe.Add("page", "must be 1 or more")
	}
	if size < 1 || size > MaxLimit {
		fe.Add("size", "must be 1 to %d", MaxLimit)
	}
	if err := fe.Err(); err != nil {
		return 0, false, err
	}
	if page-1 > (1<<62)/int64(size) {
		return 0, false, nil
	}
	return (page - 1) * int64(size), true, nil
}

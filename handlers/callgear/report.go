package callgear

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"switchboard/handlers/jsonbody"
	"switchboard/store"
)

// The get.* methods share CallGear's list conventions, read here once:
// date_from and date_till in the account's time zone, offset (default 0, at
// most 100000) and limit (default 1000, at most 10000), fields to pick the
// columns, sort [{field, order}] and the nestable filter
// ({field, operator, value} or {filters: [...], condition: "and"|"or"}).
// A method describes its columns (columns[R]); readList turns the params
// into a store.ListQuery over the store's field names, and listOf turns the
// store's rows back into CallGear's columns.

// Paging of the get methods, as CallGear documents it.
const (
	defaultLimit = 1000
	maxLimit     = store.MaxListLimit
	maxOffset    = store.MaxListOffset
)

// kind is the CallGear type of a column's values, which its filter values
// must have.
type kind int

const (
	kindNumber kind = iota
	kindText
	// kindDateTime is "YYYY-MM-DD hh:mm:ss" in the account's time zone.
	kindDateTime
	// kindEnum is text from a fixed list: column.enum maps each value.
	kindEnum
)

// column is one column of a get method's rows: how to filter and sort by it
// (through the store's field of the same meaning) and its value in a row.
type column[R any] struct {
	// field is the store's field the column filters and sorts on; "" for a
	// column that does neither.
	field string
	kind  kind
	// filter and sort say whether CallGear lets clients filter and sort by
	// the column (filter_prohibited, sort_prohibited otherwise).
	filter, sort bool
	// byDefault columns are returned when the request has no fields.
	byDefault bool
	// enum, for a kindEnum column, maps each value CallGear names to the
	// store's condition meaning "the column has this value"; = takes it, !=
	// the others, in any of the listed ones.
	enum map[string]store.Filter
	// value returns the column's value in a row, as JSON shows it: nil for
	// an empty value, a time.Time or *time.Time for a date and time (shown
	// in the account's time zone).
	value func(r R) any
}

// columns are a get method's columns by CallGear's name.
type columns[R any] map[string]column[R]

// dateRule says whether a get method takes date_from and date_till.
type dateRule int

const (
	// datesNone: the method takes no dates (a directory like get.sites).
	datesNone dateRule = iota
	// datesRequired: a report; both are required.
	datesRequired
	// datesOptional: both or neither (get.chat_messages_report, with
	// chat_id or chat_ids instead).
	datesOptional
)

// listSpec is what readList needs to know of a get method beyond its
// columns.
type listSpec struct {
	dates dateRule
	// maxRange bounds date_till - date_from (date_interval_limit_reached);
	// zero means CallGear's three months.
	maxRange func(from time.Time) time.Time
}

// threeMonths is CallGear's longest report period, counted in the
// account's calendar.
func threeMonths(from time.Time) time.Time { return from.AddDate(0, 3, 0) }

// listIn is a get method's common params, read.
type listIn struct {
	// Query is the store's query: filter, sort, page and the time window
	// [date_from, date_till + 1s) in UTC (zero when no dates were given).
	Query store.ListQuery
	// Fields are the columns to return, in the order asked.
	Fields []string
	// Dated says date_from and date_till were given.
	Dated bool
}

// readList reads the common params of a get method from o (which the
// method goes on reading for its own params before o.unexpected()),
// recording every problem in o's problems. loc is the account's time zone,
// in which dates are read. The store fields it names come from cols.
func readList[R any](o *object, loc *time.Location, cols columns[R], spec listSpec) listIn {
	in := listIn{Query: store.ListQuery{Limit: defaultLimit}}
	// user_id's form is checked here; the method checks that it names an
	// agent of the account (checkUser) once every param has been read.
	o.optID("user_id")
	if n, ok := o.r.Int64("offset", false); ok {
		if n < 0 || n > maxOffset {
			o.p.invalid("offset", n, "must be 0 to %d", maxOffset)
		} else {
			in.Query.Offset = int(n)
		}
	}
	if n, ok := o.r.Int64("limit", false); ok {
		if n < 1 || n > maxLimit {
			o.p.invalid("limit", n, "must be 1 to %d", maxLimit)
		} else {
			in.Query.Limit = int(n)
		}
	}
	in.Fields = readFields(o, cols)
	in.Query.Sort = readSort(o, cols)
	if v, ok := o.get("filter"); ok {
		f, fine := readFilter(o, jsonbody.Path{jsonbody.Member("filter")}, v, cols, loc, 1)
		if fine {
			in.Query.Filter = &f
		}
	}
	if spec.dates != datesNone {
		readDates(o, loc, spec, &in)
	}
	return in
}

// readDates reads date_from and date_till into in (see listSpec.dates).
func readDates(o *object, loc *time.Location, spec listSpec, in *listIn) {
	required := spec.dates == datesRequired
	if spec.dates == datesOptional && (o.r.Has("date_from") || o.r.Has("date_till")) {
		required = true
	}
	from, okFrom := o.dateTime("date_from", required, loc)
	till, okTill := o.dateTime("date_till", required, loc)
	if !okFrom || !okTill {
		return
	}
	if till.Before(from) {
		o.p.invalid("date_till", till.In(loc).Format(dateTimeLayout), "must not be before date_from")
		return
	}
	bound := spec.maxRange
	if bound == nil {
		bound = threeMonths
	}
	if till.After(bound(from.In(loc))) {
		o.p.add("date_till", mDateIntervalLimit, till.In(loc).Format(dateTimeLayout),
			"Max value of requested date interval is exceeded: from %s to %s", from.In(loc).Format(dateTimeLayout), till.In(loc).Format(dateTimeLayout))
		return
	}
	// date_till names a whole second, which the window includes.
	in.Query.From, in.Query.To, in.Dated = from, till.Add(time.Second), true
}

// readFields reads fields: an array of column names, each once.
func readFields[R any](o *object, cols columns[R]) []string {
	names, ok := o.r.StringArray("fields", false)
	if !ok {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	for i, name := range names {
		if _, known := cols[name]; !known {
			field := fmt.Sprintf("fields[%d]", i)
			o.p.add(field, mUnexpected, name, "Unexpected parameter %s: %s is not a field of this method", field, name)
			continue
		}
		if !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	if len(names) == 0 {
		o.p.invalid("fields", nil, "must not be empty")
	}
	return out
}

// readSort reads sort: an array of {field, order}, order asc (the default)
// or desc.
func readSort[R any](o *object, cols columns[R]) []store.SortKey {
	items, ok := o.r.Objects("sort", false, 0, store.MaxSortKeys)
	if !ok {
		return nil
	}
	var keys []store.SortKey
	for i, e := range items {
		if e == nil {
			continue
		}
		it := &object{r: e, p: o.p}
		name, okName := it.str("field", true)
		order, okOrder := "asc", true
		if it.r.Has("order") {
			order, okOrder = it.choice("order", false, "asc", "desc")
		}
		it.unexpected()
		if !okName || !okOrder {
			continue
		}
		col, known := cols[name]
		if !known || !col.sort || col.field == "" {
			field := fmt.Sprintf("sort[%d].field", i)
			o.p.add(field, mSortProhibited, name, "Sort by parameter %s is prohibited", name)
			continue
		}
		keys = append(keys, store.SortKey{Field: col.field, Desc: order == "desc"})
	}
	return keys
}

// operators maps CallGear's filter operators to the store's; regexp and
// jsquery are CallGear's too, but answer filter_prohibited here.
var operators = map[string]store.Op{
	"=": store.OpEq, "!=": store.OpNe, "<": store.OpLt, ">": store.OpGt, "<=": store.OpLe, ">=": store.OpGe,
	"like": store.OpLike, "in": store.OpIn,
}

// readFilter reads the filter v at path (depth 1 for the root): a condition
// {field, operator, value} or a group {filters, condition}. It returns the
// store's filter and false after recording a problem.
func readFilter[R any](o *object, path jsonbody.Path, v any, cols columns[R], loc *time.Location, depth int) (store.Filter, bool) {
	before := len(*o.p)
	f, ok := readNode(o, path, v, cols, loc, depth)
	// A member the node does not take is a problem too.
	return f, ok && len(*o.p) == before
}

// readNode is readFilter but for members the node does not take.
func readNode[R any](o *object, path jsonbody.Path, v any, cols columns[R], loc *time.Location, depth int) (store.Filter, bool) {
	name := path.Full()
	m, isObj := v.(map[string]any)
	if !isObj {
		o.p.wrongType(name, v, "an object")
		return store.Filter{}, false
	}
	node := &object{r: jsonbody.NewObject(m, path, o.p.report), p: o.p}
	if _, isGroup := m["filters"]; isGroup {
		return readGroup(node, path, cols, loc, depth)
	}
	field, okField := node.str("field", true)
	op, okOp := node.str("operator", true)
	value, _ := node.get("value")
	node.unexpected()
	if !okField || !okOp {
		return store.Filter{}, false
	}
	col, known := cols[field]
	if !known || !col.filter || (col.field == "" && col.enum == nil) {
		o.p.add(name+".field", mFilterProhibited, field, "Filter by parameter %s is prohibited", field)
		return store.Filter{}, false
	}
	storeOp, knownOp := operators[op]
	switch {
	case op == "regexp" || op == "jsquery":
		o.p.add(name+".operator", mFilterProhibited, op, "Filter by operator %s is prohibited", op)
		return store.Filter{}, false
	case !knownOp:
		o.p.invalid(name+".operator", op, "must be one of =, !=, <, >, <=, >=, like, in")
		return store.Filter{}, false
	}
	return filterValue(o.p, name+".value", col, storeOp, value, loc)
}

// readGroup reads the group {filters: [...], condition: "and"|"or"} at
// path (see readFilter).
func readGroup[R any](node *object, path jsonbody.Path, cols columns[R], loc *time.Location, depth int) (store.Filter, bool) {
	name := path.Full()
	if depth >= store.MaxFilterDepth {
		node.p.invalid(name, nil, "filter groups nest at most %d deep", store.MaxFilterDepth-1)
		return store.Filter{}, false
	}
	cond := "and"
	okCond := true
	if node.r.Has("condition") {
		cond, okCond = node.choice("condition", false, "and", "or")
	}
	subs, okSubs := node.array("filters", true)
	node.unexpected()
	if len(subs) > store.MaxFilterNodes {
		node.p.add(name+".filters", mDataLimitExceeded, len(subs), "Data limit exceeded: %s.filters has %d items, at most %d are allowed",
			name, len(subs), store.MaxFilterNodes)
		return store.Filter{}, false
	}
	g := &store.Group{Any: cond == "or"}
	ok := okCond && okSubs
	for i, sub := range subs {
		f, fine := readFilter(node, path.Member("filters").Element(i), sub, cols, loc, depth+1)
		ok = ok && fine
		g.Filters = append(g.Filters, f)
	}
	return store.Filter{Group: g}, ok
}

// filterValue returns the store's condition comparing col with value by op,
// value checked against the column's kind; false after recording a
// problem under name (the condition's value).
func filterValue[R any](p *problems, name string, col column[R], op store.Op, value any, loc *time.Location) (store.Filter, bool) {
	if col.kind == kindEnum {
		return enumFilter(p, name, col, op, value)
	}
	f := store.Filter{Field: col.field, Op: op}
	if value == nil {
		if op != store.OpEq && op != store.OpNe {
			p.invalid(name, nil, "must not be null with this operator")
			return f, false
		}
		return f, true
	}
	if op == store.OpIn {
		list, isList := value.([]any)
		if !isList {
			p.wrongType(name, value, "an array")
			return f, false
		}
		if len(list) > store.MaxInValues {
			p.add(name, mDataLimitExceeded, len(list), "Data limit exceeded: %s has %d items, at most %d are allowed", name, len(list), store.MaxInValues)
			return f, false
		}
		ok := true
		var ints []int64
		var texts []string
		for i, e := range list {
			v, fine := scalarValue(p, fmt.Sprintf("%s[%d]", name, i), col.kind, e, loc)
			switch t := v.(type) {
			case int64:
				ints = append(ints, t)
			case string:
				texts = append(texts, t)
			default:
				if fine {
					p.invalid(fmt.Sprintf("%s[%d]", name, i), e, "in takes numbers or text")
					fine = false
				}
			}
			ok = ok && fine
		}
		if col.kind == kindNumber {
			f.Value = ints
		} else {
			f.Value = texts
		}
		return f, ok
	}
	if op == store.OpLike && col.kind != kindText {
		p.invalid(name, value, "like compares text only")
		return f, false
	}
	if col.kind == kindText && op != store.OpEq && op != store.OpNe && op != store.OpLike {
		p.invalid(name, value, "text is compared with =, !=, like and in only")
		return f, false
	}
	v, ok := scalarValue(p, name, col.kind, value, loc)
	f.Value = v
	return f, ok
}

// scalarValue checks that v, the JSON value at name, has the kind's type
// and returns it as the store takes it: int64, string or time.Time (UTC).
func scalarValue(p *problems, name string, k kind, v any, loc *time.Location) (any, bool) {
	switch k {
	case kindNumber:
		num, isNum := v.(json.Number)
		if !isNum {
			p.wrongType(name, v, "a number")
			return nil, false
		}
		n, huge, isInt := jsonbody.ParseInteger(string(num))
		if !isInt || huge {
			p.invalid(name, num, "must be an integer")
			return nil, false
		}
		return n, true
	case kindText:
		s, isText := v.(string)
		if !isText {
			p.wrongType(name, v, "a string")
			return nil, false
		}
		if strings.ContainsRune(s, 0) {
			p.invalid(name, nil, "must not contain NUL characters")
			return nil, false
		}
		return s, true
	case kindDateTime:
		s, isText := v.(string)
		if !isText {
			p.wrongType(name, v, "a string")
			return nil, false
		}
		t, ok := parseDateTime(s, loc)
		if !ok {
			p.add(name, mInvalidDateTime, s, "Invalid date and time in parameter %s: want YYYY-MM-DD hh:mm:ss", name)
			return nil, false
		}
		return t, true
	}
	p.invalid(name, v, "cannot be compared")
	return nil, false
}

// enumFilter returns the condition of an enum column: = a value, != a value
// (any of the others) or in a list of values.
func enumFilter[R any](p *problems, name string, col column[R], op store.Op, value any) (store.Filter, bool) {
	pick := func(field string, v any) (string, bool) {
		s, isText := v.(string)
		if !isText {
			p.wrongType(field, v, "a string")
			return "", false
		}
		if _, known := col.enum[s]; !known {
			p.invalid(field, s, "must be one of %s", strings.Join(enumNames(col.enum), ", "))
			return "", false
		}
		return s, true
	}
	anyOf := func(names ...string) store.Filter {
		g := &store.Group{Any: true}
		for _, n := range names {
			g.Filters = append(g.Filters, col.enum[n])
		}
		return store.Filter{Group: g}
	}
	switch op {
	case store.OpEq, store.OpNe:
		if value == nil {
			// An enum column always has a value: = null matches no row
			// (an empty "any" group), != null every row (an empty "all").
			if op == store.OpEq {
				return anyOf(), true
			}
			return store.Filter{Group: &store.Group{}}, true
		}
		s, ok := pick(name, value)
		if !ok {
			return store.Filter{}, false
		}
		if op == store.OpEq {
			return col.enum[s], true
		}
		var others []string
		for _, n := range enumNames(col.enum) {
			if n != s {
				others = append(others, n)
			}
		}
		return anyOf(others...), true
	case store.OpIn:
		list, isList := value.([]any)
		if !isList {
			p.wrongType(name, value, "an array")
			return store.Filter{}, false
		}
		var names []string
		ok := true
		for i, e := range list {
			s, fine := pick(fmt.Sprintf("%s[%d]", name, i), e)
			ok = ok && fine
			names = append(names, s)
		}
		return anyOf(names...), ok
	}
	p.invalid(name, value, "an enum is compared with =, != and in only")
	return store.Filter{}, false
}

// enumNames returns the values of an enum column, sorted.
func enumNames(enum map[string]store.Filter) []string {
	names := make([]string, 0, len(enum))
	for n := range enum {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// listData is a get method's result data with its metadata.total_items;
// serve puts each where it goes.
type listData struct {
	rows  []map[string]any
	total int64
}

// listOf returns the rows as CallGear shows them: the columns in fields (or
// the default ones), times in loc, empty values as null.
func listOf[R any](rows []R, total int64, cols columns[R], fields []string, loc *time.Location) listData {
	if len(fields) == 0 {
		for name, c := range cols {
			if c.byDefault {
				fields = append(fields, name)
			}
		}
	}
	out := make([]map[string]any, len(rows))
	for i, r := range rows {
		m := make(map[string]any, len(fields))
		for _, name := range fields {
			m[name] = shown(cols[name].value(r), loc)
		}
		out[i] = m
	}
	return listData{rows: out, total: total}
}

// shown returns v as a column shows it: a time as "YYYY-MM-DD hh:mm:ss" in
// loc, nil pointers and empty text as null.
func shown(v any, loc *time.Location) any {
	switch t := v.(type) {
	case time.Time:
		if t.IsZero() {
			return nil
		}
		return t.In(loc).Format(dateTimeLayout)
	case *time.Time:
		if t == nil {
			return nil
		}
		return t.In(loc).Format(dateTimeLayout)
	case *int64:
		if t == nil {
			return nil
		}
		return *t
	case *string:
		if t == nil || *t == "" {
			return nil
		}
		return *t
	case string:
		if t == "" {
			return nil
		}
	}
	return v
}

// listErrors returns err with the store's field names in the request's:
// the store names its time window "from" and "to".
func listErrors(err error) error {
	var fe store.FieldErrors
	if !errors.As(err, &fe) {
		return err
	}
	out := make(store.FieldErrors, len(fe))
	for i, f := range fe {
		switch f.Field {
		case "from":
			f.Field = "date_from"
		case "to":
			f.Field = "date_till"
		}
		out[i] = f
	}
	return out
}

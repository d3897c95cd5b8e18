package store

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
)

// ListQuery selects a page of one of the store's report lists, in the
// store's words: each list method names the fields its Filter and Sort may
// use (the list's column whitelist stays in the store) and the time its
// window bounds.
type ListQuery struct {
	// Filter, when not nil, keeps the rows it matches: one condition or a
	// group of them (nestable, see Filter.Group).
	Filter *Filter
	// Sort orders the rows by these fields, the first deciding first; ties
	// go by the list's id, ascending. Empty: the list's default order.
	Sort []SortKey
	// Offset rows are skipped (0 to MaxListOffset); then at most Limit rows
	// (1 to MaxListLimit) are returned.
	Offset int
	Limit  int
	// From and To, when not zero, keep the rows whose time (each list says
	// which) is in [From, To).
	From, To time.Time
}

// SortKey orders a list by one field: smallest or oldest first, or largest
// or newest first when Desc. Missing values sort last either way.
type SortKey struct {
	Field string
	Desc  bool
}

// Bounds of a ListQuery.
const (
	// MaxListLimit is the most rows one ListQuery returns.
	MaxListLimit = 10000
	// MaxListOffset is the deepest offset a ListQuery starts from.
	MaxListOffset = 100000
	// MaxSortKeys is the most fields one ListQuery sorts by.
	MaxSortKeys = 10
)

// listPlan is a ListQuery checked against a list's columns: its filter as
// SQL with bound values and its ORDER BY clause.
type listPlan struct {
	where string
	args  []any
	order string
	// byTime says the order is the list's time column alone (then id), so a
	// deep page may be found from per-day counts; desc gives its direction.
	byTime, desc bool
}

// planList checks q against cols for the backend and returns its plan.
// timeField names the list's time column, its default order (ascending);
// a list without one ("") is in id order by default. tie is the SQL of the
// list's id. It returns FieldErrors naming every problem at
// once: "filter…" paths (see filterSQL), "sort[i].field", "offset",
// "limit", and "to" for a To before From.
func planList(cols map[string]column, backend Backend, q ListQuery, timeField, tie string) (listPlan, error) {
	var fe FieldErrors
	if q.Offset < 0 || q.Offset > MaxListOffset {
		fe.Add("offset", "must be 0 to %d", MaxListOffset)
	}
	if q.Limit < 1 || q.Limit > MaxListLimit {
		fe.Add("limit", "must be 1 to %d", MaxListLimit)
	}
	if !q.From.IsZero() && !q.To.IsZero() && q.To.Before(q.From) {
		fe.Add("to", "must not be before from")
	}
	sort := q.Sort
	if len(sort) == 0 && timeField != "" {
		sort = []SortKey{{Field: timeField}}
	}
	if len(sort) > MaxSortKeys {
		fe.Add("sort", "takes at most %d fields, not %d", MaxSortKeys, len(sort))
		sort = nil
	}
	var order []string
	for i, k := range sort {
		col, ok := cols[k.Field]
		if !ok {
			fe.Add(fmt.Sprintf("sort[%d].field", i), "%q is not a field that can be sorted on", k.Field)
			continue
		}
		dir := " ASC"
		if k.Desc {
			dir = " DESC"
		}
		if col.nullable {
			order = append(order, "("+col.expr+" IS NULL)")
		}
		order = append(order, col.expr+dir)
	}
	where, args, err := filterSQL(cols, backend, q.Filter)
	if err != nil {
		fe = append(fe, err.(FieldErrors)...)
	}
	if err := fe.Err(); err != nil {
		return listPlan{}, err
	}
	p := listPlan{where: where, args: args, order: strings.Join(append(order, tie+" ASC"), ", ")}
	if len(sort) == 1 && sort[0].Field == timeField {
		p.byTime, p.desc = true, sort[0].Desc
		if p.desc {
			// Newest first reads the index backwards, ids included.
			p.order = cols[timeField].expr + " DESC, " + tie + " DESC"
		}
	}
	return p, nil
}

// listSource is the SQL a planned list reads: what to select (in the order
// scan reads it), from which tables, and the condition every row meets
// (the account's, with its args) before the client's filter.
type listSource[T any] struct {
	selects string
	from    string
	base    string
	args    []any
	scan    func(rowScanner) (T, error)
}

// listPage returns the page of src that p selects (OFFSET and LIMIT from q)
// and how many rows match in all, counted by the database: fit for lists an
// account holds a few thousand rows of (sites, campaigns, employees), not
// for the reports, which count by day (see the report methods).
func listPage[T any](tx *gorm.DB, src listSource[T], p listPlan, q ListQuery) ([]T, int64, error) {
	cond, args := src.base, src.args
	if p.where != "" {
		cond = "(" + cond + ") AND " + p.where
		args = append(slices.Clip(args), p.args...)
	}
	var total int64
	if err := tx.Raw("SELECT COUNT(*) FROM "+src.from+" WHERE "+cond, args...).Scan(&total).Error; err != nil {
		return nil, 0, err
	}
	rows, err := scanAll(tx.Raw("SELECT "+src.selects+" FROM "+src.from+" WHERE "+cond+" ORDER BY "+p.order+" LIMIT ? OFFSET ?",
		append(slices.Clip(args), q.Limit, q.Offset)...), src.scan)
	if err != nil {
		return nil, 0, err
	}
	return rows, total, nil
}

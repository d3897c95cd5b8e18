package store

import (
	"slices"

	"gorm.io/gorm"
)

// A list page is read by OFFSET, and OFFSET steps over every row before the
// page. So a list whose total is known reads a page in the second half from
// the other end, in the reversed order, and turns it back: the last page
// then costs what the first does, and only pages near the middle skip up to
// half the rows. Reading from the other end gives the same rows only when
// the reversed order is exactly the reverse, so every order ends in the id
// (unique) and a NULL sorts as the smallest value, in either direction
// (first ascending, last descending), which is also how one index serves
// both directions (migration 0017).

// sortOrder orders a list by one column and then by the id, both the same
// way.
type sortOrder struct {
	col column
	// id is the SQL expression of the row's id, the tie-break.
	id  string
	asc bool
}

// clause returns the ORDER BY of o, or of its exact reverse.
func (o sortOrder) clause(reversed bool) string {
	asc := o.asc != reversed
	dir, nulls := " DESC", " NULLS LAST"
	if asc {
		dir, nulls = " ASC", " NULLS FIRST"
	}
	switch {
	case o.col.expr == o.id:
		return o.id + dir
	case !o.col.nullable:
		// Without NULLs, orderBy's order is this one.
		return orderBy(o.col, o.id, asc)
	}
	// Not orderBy's: it puts NULLs last both ways, so its reverse is not
	// the other direction's order.
	return o.col.expr + dir + nulls + ", " + o.id + dir
}

// nearerEnd returns how to read rows offset to offset+limit of a list of
// total rows: reversed says from the other end, in the reversed order, skip
// rows skipped first and take rows read. ok is false past the last row.
func nearerEnd(total, offset int64, limit int) (reversed bool, skip int64, take int, ok bool) {
	if offset < 0 || offset >= total || limit < 1 {
		return false, 0, 0, false
	}
	after := total - offset - int64(limit)
	if after >= offset {
		return false, offset, limit, true
	}
	take = limit
	if after < 0 {
		take, after = int(total-offset), 0
	}
	return true, after, take, true
}

// readPage reads into dest rows offset to offset+limit of q (a query with
// its conditions but no order) in the order o, from the nearer end of its
// total rows. dest is left empty past the last row.
func readPage[T any](q *gorm.DB, o sortOrder, total, offset int64, limit int, dest *[]T) error {
	reversed, skip, take, ok := nearerEnd(total, offset, limit)
	if !ok {
		*dest = []T{}
		return nil
	}
	if err := q.Order(o.clause(reversed)).Offset(int(skip)).Limit(take).Find(dest).Error; err != nil {
		return err
	}
	if reversed {
		slices.Reverse(*dest)
	}
	return nil
}

// caseCount returns how many cases the account has, of every channel: the
// sum of its per-day counts (case_day_counts), which every case write keeps.
func caseCount(tx *gorm.DB, accountID int64) (int64, error) {
	var n int64
	err := tx.Raw(`SELECT COALESCE(SUM(n), 0) FROM case_day_counts WHERE account_id = ?`, accountID).Scan(&n).Error
	return n, err
}

// contactCount returns how many contacts the account has: the sum of its
// rows of contact_counts, which the triggers of migration 0017 keep in the
// transaction of every contact insert and delete.
func contactCount(tx *gorm.DB, accountID int64) (int64, error) {
	var n int64
	err := tx.Raw(`SELECT COALESCE(SUM(n), 0) FROM contact_counts WHERE account_id = ?`, accountID).Scan(&n).Error
	return n, err
}

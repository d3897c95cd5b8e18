package helpcrunch

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"switchboard/handlers/jsonbody"
	"switchboard/models"
	"switchboard/store"
)

// valueKind is the type a search field's values have.
type valueKind int

const (
	valueID     valueKind = iota // an integer id
	valueText                    // free text, which "~" searches
	valueTime                    // unix seconds, as a number or a numeric string
	valueStatus                  // a HelpCrunch chat status name
	valueRating                  // a rating name (great, average, poor)
)

// searchField is a field of HelpCrunch's search grammar: the store field it
// filters, the type of its values and whether it may be null (which "=" and
// "!=" then test for).
type searchField struct {
	column   string
	kind     valueKind
	nullable bool
}

// chatField returns the search field a POST /v1/chats/search filter names.
func chatField(name string) (searchField, bool) {
	switch name {
	case "chats.id":
		return searchField{store.CaseID, valueID, false}, true
	case "chats.customer":
		return searchField{store.CaseContactID, valueID, false}, true
	case "chats.customer.email":
		return searchField{store.CaseContactEmail, valueText, false}, true
	case "chats.customer.name":
		return searchField{store.CaseContactName, valueText, false}, true
	case "chats.customer.phone":
		return searchField{store.CaseContactPhone, valueText, false}, true
	case "chats.assignee":
		return searchField{store.CaseAssigneeID, valueID, true}, true
	case "chats.status":
		return searchField{store.CaseStatus, valueStatus, false}, true
	case "chats.createdAt":
		return searchField{store.CaseStartedAt, valueTime, false}, true
	case "chats.closedAt":
		return searchField{store.CaseClosedAt, valueTime, true}, true
	case "chats.lastMessageAt":
		return searchField{store.CaseLastMessageAt, valueTime, true}, true
	case "chats.lastCustomerMessageAt":
		return searchField{store.CaseLastCustomerMessageAt, valueTime, true}, true
	case "chats.rating":
		return searchField{store.CaseRating, valueRating, true}, true
	}
	return searchField{}, false
}

// customerField returns the search field a POST /v1/customers/search filter
// names.
func customerField(name string) (searchField, bool) {
	switch name {
	case "customers.id":
		return searchField{store.ContactID, valueID, false}, true
	case "customers.name":
		return searchField{store.ContactName, valueText, false}, true
	case "customers.email":
		return searchField{store.ContactEmail, valueText, false}, true
	case "customers.phone":
		return searchField{store.ContactPhone, valueText, false}, true
	case "customers.userId":
		return searchField{store.ContactUserID, valueText, false}, true
	case "customers.firstSeen":
		return searchField{store.ContactCreatedAt, valueTime, false}, true
	case "customers.lastSeen":
		return searchField{store.ContactUpdatedAt, valueTime, false}, true
	}
	return searchField{}, false
}

// chatSort returns the store field a chat list's sort key orders by.
func chatSort(key string) (string, bool) {
	switch key {
	case "chats.createdAt":
		return store.CaseStartedAt, true
	case "chats.lastCustomerMessageAt":
		return store.CaseLastCustomerMessageAt, true
	case "chats.lastMessageAt":
		return store.CaseLastMessageAt, true
	case "chats.closedAt":
		return store.CaseClosedAt, true
	}
	return "", false
}

// customerSort returns the store field a customer list's sort key orders by.
func customerSort(key string) (string, bool) {
	switch key {
	case "customers.firstSeen":
		return store.ContactCreatedAt, true
	case "customers.lastSeen":
		return store.ContactUpdatedAt, true
	}
	return "", false
}

// operatorOf returns the store's comparison for a HelpCrunch operator.
func operatorOf(s string) (store.Op, bool) {
	switch s {
	case "=":
		return store.OpEq, true
	case "!=":
		return store.OpNe, true
	case "<":
		return store.OpLt, true
	case ">":
		return store.OpGt, true
	case "<=":
		return store.OpLe, true
	case ">=":
		return store.OpGe, true
	case "~":
		return store.OpContains, true
	}
	return "", false
}

// allows reports whether op makes sense on the field: "~" only on text, and
// only "=" and "!=" on statuses and ratings, which have no order.
func (f searchField) allows(op store.Op) bool {
	switch f.kind {
	case valueText:
		return true
	case valueStatus, valueRating:
		return op == store.OpEq || op == store.OpNe
	}
	return op != store.OpContains
}

// chatStatusNamed returns the case status for HelpCrunch's status name.
// "no communication" is a way of closing a chat. withEmpty also takes
// "empty", which is how HelpCrunch shows a new chat without messages.
func chatStatusNamed(name string, withEmpty bool) (models.CaseStatus, bool) {
	switch name {
	case "empty":
		return models.StatusNew, withEmpty
	case "new":
		return models.StatusNew, true
	case "opened":
		return models.StatusOpen, true
	case "pending":
		return models.StatusPending, true
	case "on hold", "onhold":
		return models.StatusOnHold, true
	case "closed", "no communication":
		return models.StatusClosed, true
	}
	return "", false
}

// searchQuery is a decoded search body, before it becomes the store's query.
type searchQuery struct {
	Filters []store.Filter
	Any     bool
	Sort    string
	Asc     bool
	Offset  int
	Limit   int
}

// searchKeys are the members of a search body.
func searchKeys() []string {
	return []string{"filter", "comparison", "sort", "order", "offset", "limit"}
}

// readSearch reads a HelpCrunch search body {filter, comparison, sort, order,
// offset, limit} whose filters name fields that field knows and whose sort
// keys sortOf knows. It returns a 400 listing every problem, each filter's
// named "filter[i].field", "filter[i].operator" or "filter[i].value", and
// every other member that looks like a filter (a misspelt "filters", a
// "where", a "status" of the resource isField names), which would otherwise
// widen the search to every row.
func readSearch(obj *jsonbody.Object, p *problems, field func(string) (searchField, bool), sortOf func(string) (string, bool),
	isField func(string) bool) (searchQuery, error) {
	var q searchQuery
	var extra []string
	for _, key := range obj.Keys() {
		if !slices.Contains(searchKeys(), key) && looksLikeFilter(key, isField) {
			extra = append(extra, key)
		}
	}
	if list, ok := obj.Array("filter", false); ok {
		if len(list) > store.MaxFilters {
			// The store takes no more; checking here spares reading them all.
			p.add("filter", msgMaxFilters())
		} else {
			for i, item := range list {
				if f, ok := readFilter(obj, i, item, field, p); ok {
					q.Filters = append(q.Filters, f)
				}
			}
		}
	}
	if s, ok := readChoice(member(obj, "comparison"), "comparison", p); ok {
		switch strings.ToUpper(s) {
		case "AND":
		case "OR":
			q.Any = true
		default:
			p.add("comparison", msgChoice)
		}
	}
	if key, ok := readChoice(member(obj, "sort"), "sort", p); ok {
		if q.Sort, ok = sortOf(key); !ok {
			p.add("sort", msgChoice)
		}
	}
	q.Asc = readOrder(member(obj, "order"), p)
	q.Offset, q.Limit = readPage(member(obj, "offset"), member(obj, "limit"), p)
	for _, key := range extra {
		p.add(key, msgUnexpected)
	}
	return q, p.err()
}

// member returns the member key of obj as decoded, nil when it is absent.
func member(obj *jsonbody.Object, key string) any {
	v, _ := obj.Value(key)
	return v
}

// readFilter reads item, the {field, operator, value} element i of a
// search's filter, adding a problem named after its path ("filter[i].field")
// for each bad part.
func readFilter(obj *jsonbody.Object, i int, item any, field func(string) (searchField, bool), p *problems) (store.Filter, bool) {
	fo, ok := obj.Element("filter", i, item)
	if !ok {
		return store.Filter{}, false
	}
	var f searchField
	name, fieldOK := readString(fo, "field", true)
	if fieldOK {
		if f, fieldOK = field(name); !fieldOK {
			p.add(fo.Name("field"), msgChoice)
		}
	}
	opName, opOK := readString(fo, "operator", true)
	var op store.Op
	if opOK {
		op, opOK = operatorOf(opName)
		if !opOK || (fieldOK && !f.allows(op)) {
			p.add(fo.Name("operator"), msgChoice)
			opOK = false
		}
	}
	if !fieldOK {
		return store.Filter{}, false
	}
	value, msg := filterValue(f, member(fo, "value"), op)
	if msg != "" {
		p.add(fo.Name("value"), msg)
		return store.Filter{}, false
	}
	return store.Filter{Field: f.column, Op: op, Value: value}, opOK
}

// filterValue converts a filter's JSON value to what the store compares the
// field with, or returns the message saying why it cannot. null tests for a
// missing value, on fields that may miss one, with "=" and "!=".
func filterValue(f searchField, v any, op store.Op) (any, string) {
	if v == nil {
		if f.nullable && (op == store.OpEq || op == store.OpNe || op == "") {
			return nil, ""
		}
		return nil, msgBlank
	}
	switch f.kind {
	case valueID:
		n, _, present, ok := integerOf(v)
		switch {
		case !ok:
			return nil, msgNumeric
		case !present:
			return nil, msgBlank
		}
		// An id too large for int64 is clamped: no row has either bound, so
		// every comparison answers as it would with the exact number.
		return n, ""
	case valueTime:
		t, msg := timeOf(v)
		return t, msg
	}
	s, ok := v.(string)
	switch {
	case !ok:
		return nil, msgString
	case strings.ContainsRune(s, 0):
		return nil, msgNUL
	case models.TooLong(s, models.MaxSearchValueLen):
		return nil, msgTooLong(models.MaxSearchValueLen)
	case f.kind == valueStatus:
		status, ok := chatStatusNamed(s, true)
		if !ok {
			return nil, msgChoice
		}
		return string(status), ""
	}
	return s, ""
}

// Bounds of the times a filter may name, in unix seconds: years 1 to 9999,
// which both databases store and compare.
const (
	minUnix = -62135596800
	maxUnix = 253402300799
)

// timeOf reads HelpCrunch's time: unix seconds as a number or a numeric
// string, with an optional fraction ("1594139170.913"). It returns the
// message saying why v is not one.
func timeOf(v any) (time.Time, string) {
	var s string
	switch t := v.(type) {
	case string:
		s = t
	case json.Number:
		s = string(t)
	default:
		return time.Time{}, msgNumeric
	}
	neg := strings.HasPrefix(s, "-")
	whole, frac, hasFrac := strings.Cut(strings.TrimPrefix(s, "-"), ".")
	if !allDigits(whole) || (hasFrac && !allDigits(frac)) {
		if _, err := strconv.ParseFloat(s, 64); err == nil {
			// A number, but in exponent form or out of range.
			return time.Time{}, msgDatetime
		}
		return time.Time{}, msgNumeric
	}
	if len(whole) > 12 {
		return time.Time{}, msgDatetime
	}
	sec, _ := strconv.ParseInt(whole, 10, 64)
	frac = (frac + "000000000")[:9]
	nsec, _ := strconv.ParseInt(frac, 10, 64)
	if neg {
		sec, nsec = -sec, -nsec
	}
	if sec < minUnix || sec > maxUnix || (sec == minUnix && nsec < 0) {
		return time.Time{}, msgDatetime
	}
	return time.Unix(sec, nsec).UTC(), ""
}

// allDigits reports whether s is one or more ASCII digits.
func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

package store_test

import (
	"fmt"
	"slices"
	"testing"

	"switchboard/store"
	"switchboard/store/storetest"
)

func TestStore_ContactPage(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		acct := storetest.MustAccount(t, s, "A")
		other := storetest.MustAccount(t, s, "B")
		storetest.MustContact(t, s, other.ID, "Theirs", "", "")
		var all []int64 // newest first
		for i := range 7 {
			c := storetest.MustContact(t, s, acct.ID, fmt.Sprintf("Contact %d", i), fmt.Sprintf("c%d@example.com", i), "")
			all = append([]int64{c.ID}, all...)
		}
		tests := []struct {
			name      string
			q         store.ContactPageQuery
			want      []int64
			wantTotal int64
		}{
			{"first page", store.ContactPageQuery{Limit: 3}, all[:3], 7},
			{"second page", store.ContactPageQuery{Offset: 3, Limit: 3}, all[3:6], 7},
			{"last page, from the other end", store.ContactPageQuery{Offset: 6, Limit: 3}, all[6:], 7},
			{"page ending at the last row", store.ContactPageQuery{Offset: 4, Limit: 3}, all[4:], 7},
			{"one row before the end", store.ContactPageQuery{Offset: 5, Limit: 1}, all[5:6], 7},
			{"all at once", store.ContactPageQuery{Limit: 100}, all, 7},
			{"past the end", store.ContactPageQuery{Offset: 7, Limit: 3}, []int64{}, 7},
			{"filtered", store.ContactPageQuery{Filters: []store.Filter{{Field: store.ContactName, Op: store.OpContains, Value: "contact 1"}}, Limit: 3}, all[5:6], 1},
			{"filtered deep", store.ContactPageQuery{Filters: []store.Filter{{Field: store.ContactID, Op: store.OpLe, Value: all[2]}}, Offset: 4, Limit: 3}, all[6:], 5},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				rows, total, err := s.ContactPage(t.Context(), acct.ID, tt.q)
				if err != nil {
					t.Fatal(err)
				}
				got := []int64{}
				for _, c := range rows {
					got = append(got, c.ID)
				}
				if !slices.Equal(got, tt.want) || total != tt.wantTotal {
					t.Errorf("ids %v total %d, want %v %d", got, total, tt.want, tt.wantTotal)
				}
			})
		}
		t.Run("every offset", func(t *testing.T) {
			for off := range int64(len(all)) {
				rows, _, err := s.ContactPage(t.Context(), acct.ID, store.ContactPageQuery{Offset: off, Limit: 2})
				if err != nil || len(rows) == 0 || rows[0].ID != all[off] {
					t.Errorf("offset %d: %v, %v", off, rows, err)
				}
			}
		})
		t.Run("bad query", func(t *testing.T) {
			_, _, err := s.ContactPage(t.Context(), acct.ID, store.ContactPageQuery{
				Offset: -1, Limit: 0, Filters: []store.Filter{{Field: "nope", Op: store.OpEq, Value: "x"}},
			})
			assertFields(t, err, []string{"offset", "limit", "filter[0].field"})
		})
	})
}

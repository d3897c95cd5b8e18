package store_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

func TestDepartmentStore_Create(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		acct := storetest.MustAccount(t, s, "A")
		other := storetest.MustAccount(t, s, "B")
		t.Run("OK", func(t *testing.T) {
			d, err := s.CreateDepartment(ctx, acct.ID, "  Sales  ")
			if err != nil {
				t.Fatal(err)
			}
			if d.ID == 0 || d.AccountID != acct.ID || d.Name != "Sales" || d.CreatedAt.IsZero() {
				t.Errorf("department = %+v", d)
			}
			got, err := s.Department(ctx, acct.ID, d.ID)
			if err != nil || got.Name != "Sales" || got.ID != d.ID {
				t.Errorf("Department = %+v, %v", got, err)
			}
		})
		t.Run("the same name in another account", func(t *testing.T) {
			if _, err := s.CreateDepartment(ctx, other.ID, "Sales"); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("ErrConflict", func(t *testing.T) {
			_, err := s.CreateDepartment(ctx, acct.ID, "Sales")
			if !errors.Is(err, store.ErrConflict) {
				t.Errorf("err = %v, want ErrConflict", err)
			}
		})
		t.Run("ErrNotFound for an unknown account", func(t *testing.T) {
			_, err := s.CreateDepartment(ctx, 987654321, "Support")
			var nf *store.NotFoundError
			if !errors.As(err, &nf) || nf.Entity != "account" {
				t.Errorf("err = %v, want the account not found", err)
			}
		})
		bad := []struct {
			name, value string
		}{
			{"empty", ""},
			{"blank", "   "},
			{"too long", strings.Repeat("é", models.MaxNameLen+1)},
			{"control character", "Sa\x01les"},
			{"line break", "Sa\nles"},
			{"NUL", "Sa\x00les"},
		}
		for _, tt := range bad {
			t.Run("FieldErrors for "+tt.name, func(t *testing.T) {
				_, err := s.CreateDepartment(ctx, acct.ID, tt.value)
				var fe store.FieldErrors
				if !errors.As(err, &fe) || fe[0].Field != "name" {
					t.Errorf("err = %v, want a field error on name", err)
				}
			})
		}
		t.Run("the longest name", func(t *testing.T) {
			if _, err := s.CreateDepartment(ctx, acct.ID, strings.Repeat("é", models.MaxNameLen)); err != nil {
				t.Error(err)
			}
		})
	})
}

func TestDepartmentStore_List(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		acct := storetest.MustAccount(t, s, "A")
		other := storetest.MustAccount(t, s, "B")
		empty := storetest.MustAccount(t, s, "C")
		sales := storetest.MustDepartment(t, s, acct.ID, "Sales")
		storetest.MustDepartment(t, s, other.ID, "Theirs")
		support := storetest.MustDepartment(t, s, acct.ID, "Support")
		t.Run("Departments", func(t *testing.T) {
			all, err := s.Departments(ctx, acct.ID)
			if err != nil || fmt.Sprint(names(all)) != "[Sales Support]" {
				t.Errorf("Departments = %v, %v", names(all), err)
			}
			none, err := s.Departments(ctx, empty.ID)
			if err != nil || none == nil || len(none) != 0 {
				t.Errorf("Departments of an account with none = %#v, %v; want an empty list", none, err)
			}
		})
		pages := []struct {
			name          string
			offset, limit int
			want          string
		}{
			{"all", 0, 100, "[Sales Support]"},
			{"first", 0, 1, "[Sales]"},
			{"second", 1, 1, "[Support]"},
			{"past the end", 2, 1, "[]"},
		}
		for _, tt := range pages {
			t.Run("DepartmentPage "+tt.name, func(t *testing.T) {
				rows, total, err := s.DepartmentPage(ctx, acct.ID, tt.offset, tt.limit)
				if err != nil || fmt.Sprint(names(rows)) != tt.want || total != 2 {
					t.Errorf("page = %v total %d, %v; want %s total 2", names(rows), total, err, tt.want)
				}
			})
		}
		t.Run("DepartmentPage FieldErrors", func(t *testing.T) {
			_, _, err := s.DepartmentPage(ctx, acct.ID, -1, 0)
			var fe store.FieldErrors
			if !errors.As(err, &fe) || len(fe) != 2 {
				t.Errorf("err = %v, want offset and limit errors", err)
			}
		})
		t.Run("Department of another account", func(t *testing.T) {
			_, err := s.Department(ctx, other.ID, sales.ID)
			var nf *store.NotFoundError
			if !errors.As(err, &nf) || nf.Entity != "department" || nf.ID != sales.ID {
				t.Errorf("err = %v, want department %d not found", err, sales.ID)
			}
		})
		t.Run("Department unknown", func(t *testing.T) {
			if _, err := s.Department(ctx, acct.ID, support.ID+1000); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("err = %v, want ErrNotFound", err)
			}
		})
	})
}

// names returns the departments' names in order.
func names(ds []models.Department) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.Name
	}
	return out
}

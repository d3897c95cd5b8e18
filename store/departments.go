package store

import (
	"context"
	"fmt"
	"strings"

	"gorm.io/gorm"

	"switchboard/models"
)

// CreateDepartment creates a department of the account named name (trimmed).
// It returns FieldErrors for an empty name, one over models.MaxNameLen
// characters or holding control characters, ErrNotFound for an unknown
// account, and ErrConflict when the account has a department of that name.
func (s *Store) CreateDepartment(ctx context.Context, accountID int64, name string) (models.Department, error) {
	name = strings.TrimSpace(name)
	var fe FieldErrors
	if name == "" {
		fe.Add("name", "must not be empty")
	}
	checkLine(&fe, "name", name, models.MaxNameLen)
	if err := fe.Err(); err != nil {
		return models.Department{}, err
	}
	var d models.Department
	err := s.write(ctx, s.db, func(tx *gorm.DB) error {
		if err := accountExists(tx, accountID); err != nil {
			return err
		}
		d = models.Department{AccountID: accountID, Name: name, CreatedAt: s.now()}
		if err := tx.Create(&d).Error; err != nil {
			return err
		}
		return s.appendEvents(tx, newEvent(accountID, models.EventDepartmentCreated, EventData{"department_id": d.ID, "name": d.Name}))
	})
	return d, wrap(fmt.Sprintf("create department %q", name), err)
}

// Departments returns every department of the account by id; an account
// with none (or no account) gives an empty list.
func (s *Store) Departments(ctx context.Context, accountID int64) ([]models.Department, error) {
	rows := []models.Department{}
	err := s.db.WithContext(ctx).Where("account_id = ?", accountID).Order("id").Find(&rows).Error
	if err != nil {
		return nil, wrap("list departments", err)
	}
	return rows, nil
}

// DepartmentPage returns the account's departments by id from offset, at
// most limit of them, and how many departments the account has. An offset
// past the end gives an empty page. It returns FieldErrors for an offset
// below 0 or a limit outside 1..MaxLimit. The count is a full one: an account
// has a handful of departments (teams), as it has few agents.
func (s *Store) DepartmentPage(ctx context.Context, accountID int64, offset, limit int) ([]models.Department, int64, error) {
	var fe FieldErrors
	checkPage(&fe, offset, limit)
	if err := fe.Err(); err != nil {
		return nil, 0, err
	}
	rows := []models.Department{}
	var total int64
	err := s.readTx(ctx, func(tx *gorm.DB) error {
		base := func() *gorm.DB { return tx.Model(&models.Department{}).Where("account_id = ?", accountID) }
		if err := base().Order("id").Offset(offset).Limit(limit).Find(&rows).Error; err != nil {
			return err
		}
		return base().Count(&total).Error
	})
	if err != nil {
		return nil, 0, wrap("department page", err)
	}
	return rows, total, nil
}

// Department returns one department of the account, or a NotFoundError
// (ErrNotFound) naming "department" when the account has none with the id.
func (s *Store) Department(ctx context.Context, accountID, id int64) (models.Department, error) {
	var d models.Department
	err := s.db.WithContext(ctx).Take(&d, "account_id = ? AND id = ?", accountID, id).Error
	return d, wrap(fmt.Sprintf("department %d", id), notFoundOr(err, "department", id))
}

// departmentsByID are the departments of a page of cases, by id.
type departmentsByID map[int64]models.Department

// of returns the department with the id, or nil for no id (or a department
// not loaded, which a foreign key rules out).
func (d departmentsByID) of(id *int64) *models.Department {
	if id == nil {
		return nil
	}
	if dep, ok := d[*id]; ok {
		return &dep
	}
	return nil
}

// caseDepartments loads the account's departments with the ids (repeats
// allowed) in one query, none for no ids.
func caseDepartments(tx *gorm.DB, accountID int64, ids []int64) (departmentsByID, error) {
	out := departmentsByID{}
	if len(ids) == 0 {
		return out, nil
	}
	var rows []models.Department
	if err := tx.Where("account_id = ? AND id IN ?", accountID, ids).Find(&rows).Error; err != nil {
		return nil, err
	}
	for _, d := range rows {
		out[d.ID] = d
	}
	return out, nil
}

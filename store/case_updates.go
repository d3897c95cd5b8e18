package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"switchboard/models"
)

// AssignCase gives the case to the account's agent agentID, or to no one
// when agentID is nil, and answers the case as it is then. The per-agent
// chat counts (assignee_day_counts) move with it in the same transaction, so
// that the agents' chat lists keep paging and counting right. It returns a
// NotFoundError (ErrNotFound) naming "case" for a case, or "agent" for an
// agent, that is not the account's.
func (s *Store) AssignCase(ctx context.Context, accountID, id int64, agentID *int64) (CaseView, error) {
	var v CaseView
	err := s.write(ctx, s.db, func(tx *gorm.DB) error {
		c, err := lockCase(tx, s.backend, accountID, id)
		if err != nil {
			return err
		}
		if agentID != nil {
			if err := owned(tx, &models.Agent{}, "agent", accountID, *agentID); err != nil {
				return err
			}
		}
		if !sameID(c.AssigneeID, agentID) {
			if err := tx.Model(&models.Case{}).Where("id = ?", id).
				Updates(map[string]any{"assignee_id": agentID, "updated_at": s.now()}).Error; err != nil {
				return err
			}
			counts := dayDeltas{}
			counts.addAssignee(accountID, c.Channel, c.AssigneeID, c.StartedAt, -1)
			counts.addAssignee(accountID, c.Channel, agentID, c.StartedAt, 1)
			if err := counts.save(tx); err != nil {
				return err
			}
		}
		if v, err = s.caseView(tx, accountID, id); err != nil {
			return err
		}
		if sameID(c.AssigneeID, agentID) {
			return nil
		}
		previous := c.AssigneeID
		c.AssigneeID = agentID
		return s.appendEvents(tx, caseEvent(c, models.EventCaseAssigned, EventData{"previous_agent_id": optID(previous)}))
	})
	return v, wrap(fmt.Sprintf("assign case %d", id), err)
}

// SetCaseDepartment puts the case in the account's department departmentID,
// or in none when it is nil, and answers the case as it is then. It returns
// a NotFoundError (ErrNotFound) naming "case" for a case, or "department" for
// a department, that is not the account's.
func (s *Store) SetCaseDepartment(ctx context.Context, accountID, id int64, departmentID *int64) (CaseView, error) {
	var v CaseView
	err := s.write(ctx, s.db, func(tx *gorm.DB) error {
		c, err := lockCase(tx, s.backend, accountID, id)
		if err != nil {
			return err
		}
		if departmentID != nil {
			if err := owned(tx, &models.Department{}, "department", accountID, *departmentID); err != nil {
				return err
			}
		}
		if !sameID(c.DepartmentID, departmentID) {
			if err := tx.Model(&models.Case{}).Where("id = ?", id).
				Updates(map[string]any{"department_id": departmentID, "updated_at": s.now()}).Error; err != nil {
				return err
			}
		}
		if v, err = s.caseView(tx, accountID, id); err != nil {
			return err
		}
		if sameID(c.DepartmentID, departmentID) {
			return nil
		}
		return s.appendEvents(tx, caseEvent(c, models.EventCaseDepartmentChanged,
			EventData{"department_id": optID(departmentID), "previous_department_id": optID(c.DepartmentID)}))
	})
	return v, wrap(fmt.Sprintf("set department of case %d", id), err)
}

// SnoozeCase snoozes the case until the time, or unsnoozes it when until is
// nil or not after now, and answers the case as it is then. A snoozed case
// is on hold, waiting (a closed one is reopened so, as SetCaseStatus reopens
// it) until the time; unsnoozing a snoozed case that is still on hold opens
// it again, and unsnoozing a case that is not snoozed changes nothing. The
// time is kept to the microsecond. It returns a NotFoundError (ErrNotFound)
// naming "case" for a case that is not the account's.
func (s *Store) SnoozeCase(ctx context.Context, accountID, id int64, until *time.Time) (CaseView, error) {
	var v CaseView
	err := s.write(ctx, s.db, func(tx *gorm.DB) error {
		c, err := lockCase(tx, s.backend, accountID, id)
		if err != nil {
			return err
		}
		now := s.now()
		var set map[string]any
		var at *time.Time
		to := c.Status
		switch {
		case until != nil && until.After(now):
			t := until.UTC().Truncate(time.Microsecond)
			at, to = &t, models.StatusOnHold
			set = map[string]any{"snoozed_until": t, "status": to, "closed_at": nil, "closed_by": nil}
		case c.SnoozedUntil != nil && c.Status == models.StatusOnHold:
			to = models.StatusOpen
			set = map[string]any{"snoozed_until": nil, "status": to}
		case c.SnoozedUntil != nil:
			set = map[string]any{"snoozed_until": nil}
		}
		if set != nil {
			set["updated_at"] = now
			if err := tx.Model(&models.Case{}).Where("id = ?", id).Updates(set).Error; err != nil {
				return err
			}
		}
		if v, err = s.caseView(tx, accountID, id); err != nil {
			return err
		}
		if set == nil || at != nil && c.SnoozedUntil != nil && at.Equal(*c.SnoozedUntil) && to == c.Status {
			// Nothing changed: not snoozed, or snoozed again to the same time.
			return nil
		}
		var snoozed any // null: unsnoozed
		if at != nil {
			snoozed = *at
		}
		evs := []models.Event{caseEvent(c, models.EventCaseSnoozed, EventData{"until": snoozed})}
		return s.appendEvents(tx, statusEvents(evs, c, c.Status, to, nil)...)
	})
	return v, wrap(fmt.Sprintf("snooze case %d", id), err)
}

// sameID reports whether two optional ids are both unset or equal.
func sameID(a, b *int64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

package store

import (
	"context"
	"fmt"

	"gorm.io/gorm"

	"switchboard/models"
)

// MessageQuery selects a page of one case's messages.
type MessageQuery struct {
	Offset int
	// Limit is 1 to MaxLimit messages.
	Limit int
	// Oldest puts the oldest message first; by default the newest is.
	Oldest bool
}

// ListMessages returns the page of a case's messages that q selects, each
// with its agent, and the number of messages in the case. It returns
// ErrNotFound when the case is not the account's and FieldErrors for a bad
// offset or limit.
func (s *Store) ListMessages(ctx context.Context, accountID, caseID int64, q MessageQuery) ([]MessageView, int64, error) {
	var fe FieldErrors
	checkPage(&fe, q.Offset, q.Limit)
	if err := fe.Err(); err != nil {
		return nil, 0, err
	}
	var out []MessageView
	var total int64
	err := s.readTx(ctx, func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&models.Case{}).Where("account_id = ? AND id = ?", accountID, caseID).Count(&n).Error; err != nil {
			return err
		}
		if n == 0 {
			return notFound("case", caseID)
		}
		if err := tx.Model(&models.Message{}).Where("account_id = ? AND case_id = ?", accountID, caseID).Count(&total).Error; err != nil {
			return err
		}
		order := "created_at DESC, id DESC"
		if q.Oldest {
			order = "created_at ASC, id ASC"
		}
		var msgs []models.Message
		if err := tx.Where("account_id = ? AND case_id = ?", accountID, caseID).Order(order).
			Offset(q.Offset).Limit(q.Limit).Find(&msgs).Error; err != nil {
			return err
		}
		var err error
		out, err = withAuthors(tx, accountID, msgs)
		return err
	})
	if err != nil {
		return nil, 0, wrap(fmt.Sprintf("messages of case %d", caseID), err)
	}
	return out, total, nil
}

// withAuthors pairs each message with its agent, reading the agents at once.
func withAuthors(tx *gorm.DB, accountID int64, msgs []models.Message) ([]MessageView, error) {
	out := make([]MessageView, len(msgs))
	var ids []int64
	for _, m := range msgs {
		if m.AgentID != nil {
			ids = append(ids, *m.AgentID)
		}
	}
	agents := map[int64]models.Agent{}
	if len(ids) > 0 {
		var rows []models.Agent
		if err := tx.Where("account_id = ? AND id IN ?", accountID, ids).Find(&rows).Error; err != nil {
			return nil, err
		}
		for _, a := range rows {
			agents[a.ID] = a
		}
	}
	for i, m := range msgs {
		m.CreatedAt, m.UpdatedAt = m.CreatedAt.UTC(), m.UpdatedAt.UTC()
		out[i] = MessageView{Message: m}
		if m.AgentID != nil {
			if a, ok := agents[*m.AgentID]; ok {
				out[i].Agent = &a
			}
		}
	}
	return out, nil
}

package store

import (
	"context"
	"fmt"

	"gorm.io/gorm"

	"switchboard/models"
)

// RetryDelivery queues again the failed delivery of the account's message
// (an agent's email or SMS whose last attempt failed for good), due now
// and with a fresh count of attempts, and clears the message's failure, in
// one transaction; the delivery keeps its Reference, so that the receiving
// side sees the same message. It returns ErrNotFound when the message is
// not the account's or has no delivery, and ErrConflict when its delivery
// has not failed.
func (s *Store) RetryDelivery(ctx context.Context, accountID, messageID int64) error {
	err := s.write(ctx, s.db, func(tx *gorm.DB) error {
		now := s.now()
		res := tx.Model(&models.Delivery{}).Where("account_id = ? AND message_id = ? AND status = ?", accountID, messageID, models.DeliveryFailed).
			Updates(map[string]any{"status": models.DeliveryQueued, "attempts": 0, "next_attempt_at": now, "updated_at": now})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			var n int64
			if err := tx.Model(&models.Delivery{}).Where("account_id = ? AND message_id = ?", accountID, messageID).Count(&n).Error; err != nil {
				return err
			}
			if n == 0 {
				return notFound("message", messageID)
			}
			return fmt.Errorf("the delivery of message %d has not failed: %w", messageID, ErrConflict)
		}
		return tx.Model(&models.Message{}).Where("account_id = ? AND id = ?", accountID, messageID).
			Updates(map[string]any{"delivery_status": models.DeliveryQueued, "failed_at": nil, "fail_reason": "", "updated_at": now}).Error
	})
	return wrap(fmt.Sprintf("retry delivery of message %d", messageID), err)
}

package store

import (
	"context"
	"fmt"

	"gorm.io/gorm"

	"switchboard/models"
)

// The lists of the operator's CLI (account list, agent list, site list,
// inbox list) and its password reset. They are whole lists, not pages: an
// operator lists the tenants and the people, sites and addresses of one, a
// handful each, and reads them in a terminal.

// Accounts returns every account by id.
func (s *Store) Accounts(ctx context.Context) ([]models.Account, error) {
	rows := []models.Account{}
	if err := s.db.WithContext(ctx).Order("id").Find(&rows).Error; err != nil {
		return nil, wrap("list accounts", err)
	}
	for i := range rows {
		rows[i].CreatedAt = rows[i].CreatedAt.UTC()
	}
	return rows, nil
}

// AccountAgents returns every agent of the account by id, disabled ones
// included. It returns a NotFoundError (ErrNotFound) for an unknown account.
func (s *Store) AccountAgents(ctx context.Context, accountID int64) ([]models.Agent, error) {
	rows := []models.Agent{}
	err := s.readTx(ctx, func(tx *gorm.DB) error {
		if err := accountExists(tx, accountID); err != nil {
			return err
		}
		return tx.Where("account_id = ?", accountID).Order("id").Find(&rows).Error
	})
	if err != nil {
		return nil, wrap("list agents", err)
	}
	for i := range rows {
		rows[i].CreatedAt = rows[i].CreatedAt.UTC()
	}
	return rows, nil
}

// Sites returns every site of the account by id. It returns a NotFoundError
// (ErrNotFound) for an unknown account.
func (s *Store) Sites(ctx context.Context, accountID int64) ([]models.Site, error) {
	rows := []models.Site{}
	err := s.readTx(ctx, func(tx *gorm.DB) error {
		if err := accountExists(tx, accountID); err != nil {
			return err
		}
		return tx.Where("account_id = ?", accountID).Order("id").Find(&rows).Error
	})
	if err != nil {
		return nil, wrap("list sites", err)
	}
	for i := range rows {
		rows[i].CreatedAt = rows[i].CreatedAt.UTC()
	}
	return rows, nil
}

// Inboxes returns every inbox of the account by id, without secrets (only
// their hashes are kept). It returns a NotFoundError (ErrNotFound) for an
// unknown account.
func (s *Store) Inboxes(ctx context.Context, accountID int64) ([]models.Inbox, error) {
	rows := []models.Inbox{}
	err := s.readTx(ctx, func(tx *gorm.DB) error {
		if err := accountExists(tx, accountID); err != nil {
			return err
		}
		return tx.Where("account_id = ?", accountID).Order("id").Find(&rows).Error
	})
	if err != nil {
		return nil, wrap("list inboxes", err)
	}
	for i := range rows {
		rows[i].CreatedAt = rows[i].CreatedAt.UTC()
	}
	return rows, nil
}

// SetAgentPassword gives the account's agent a new password hash and, in the
// same transaction, revokes the agent's login sessions (CallGear login.user
// tokens): they were won with the old password. The Basic checker's cache
// needs nothing: its entries hold the hash they were verified against, and a
// new hash drops them on every replica. API keys made with key create stay:
// they are not derived from the password. It returns the agent, a
// NotFoundError (ErrNotFound) for an unknown agent or account, and
// FieldErrors for an empty hash.
func (s *Store) SetAgentPassword(ctx context.Context, accountID, id int64, passwordHash string) (models.Agent, error) {
	if passwordHash == "" {
		return models.Agent{}, FieldErrors{{Field: "password", Message: "must not be empty"}}
	}
	var a models.Agent
	err := s.write(ctx, s.db, func(tx *gorm.DB) error {
		if err := accountExists(tx, accountID); err != nil {
			return err
		}
		now := s.now()
		res := tx.Model(&models.Agent{}).Where("account_id = ? AND id = ?", accountID, id).
			Updates(map[string]any{"password_hash": passwordHash, "updated_at": now})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return notFound("agent", id)
		}
		if err := tx.Model(&models.APIKey{}).
			Where("agent_id = ? AND kind = ? AND revoked_at IS NULL", id, models.KeySession).
			Update("revoked_at", now).Error; err != nil {
			return err
		}
		if err := tx.Take(&a, "id = ?", id).Error; err != nil {
			return err
		}
		// The event names the field, never the password or its hash.
		ev := newEvent(accountID, models.EventAgentUpdated, EventData{"fields": []string{"password"}})
		ev.AgentID = id
		return s.appendEvents(tx, ev)
	})
	if err != nil {
		return models.Agent{}, wrap(fmt.Sprintf("set password of agent %d", id), err)
	}
	a.CreatedAt, a.UpdatedAt = a.CreatedAt.UTC(), a.UpdatedAt.UTC()
	return a, nil
}

// SchemaVersion returns the highest migration version applied to the
// database. It returns the database's error before Migrate has made the
// schema_migrations table.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.db.WithContext(ctx).Raw("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&v).Error
	if err != nil {
		return 0, wrap("schema version", err)
	}
	return v, nil
}

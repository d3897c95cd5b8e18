package store

import (
	"context"
	"fmt"
	"strings"

	"gorm.io/gorm"

	"switchboard/models"
)

// Setting returns the server-wide setting's stored value. When there is none
// it stores the value generate returns and returns that. Two replicas racing
// on an empty table both return the one value stored first. It returns
// FieldErrors for an empty name and generate's error, wrapped.
func (s *Store) Setting(ctx context.Context, name string, generate func() (string, error)) (string, error) {
	if strings.TrimSpace(name) == "" {
		return "", FieldErrors{{Field: "name", Message: "must not be empty"}}
	}
	var value string
	err := s.write(ctx, s.db, func(tx *gorm.DB) error {
		var rows []string
		if err := tx.Model(&models.Setting{}).Where("name = ?", name).Limit(1).Pluck("value", &rows).Error; err != nil {
			return err
		}
		if len(rows) == 1 {
			value = rows[0]
			return nil
		}
		v, err := generate()
		if err != nil {
			return fmt.Errorf("generate: %w", err)
		}
		// Another replica may have stored a value since the read above: keep
		// its value, not ours. On PostgreSQL the INSERT waits for that
		// replica's transaction, and the SELECT after it sees its row.
		if err := tx.Exec("INSERT INTO settings (name, value, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING",
			name, v, s.now()).Error; err != nil {
			return err
		}
		if err := tx.Model(&models.Setting{}).Where("name = ?", name).Pluck("value", &rows).Error; err != nil {
			return err
		}
		if len(rows) != 1 {
			return fmt.Errorf("stored, then not found: %w", ErrNotFound)
		}
		value = rows[0]
		return nil
	})
	if err != nil {
		return "", wrap(fmt.Sprintf("setting %s", name), err)
	}
	return value, nil
}

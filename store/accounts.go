package store

import (
	"context"
	"fmt"
	"strings"

	"gorm.io/gorm"

	"switchboard/models"
)

// DefaultTimezone is the time zone of an account created without one.
const DefaultTimezone = "UTC"

// NewAccount is the input of CreateAccount.
type NewAccount struct {
	Name string
	// Timezone is an IANA name; empty means DefaultTimezone.
	Timezone string
}

func (in *NewAccount) validate() error {
	var fe FieldErrors
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" {
		fe.Add("name", "must not be empty")
	}
	if in.Timezone == "" {
		in.Timezone = DefaultTimezone
	} else if !models.ValidTimezone(in.Timezone) {
		fe.Add("timezone", "unknown time zone %q", in.Timezone)
	}
	return fe.Err()
}

// CreateAccount creates a tenant. It returns FieldErrors for an empty name or
// an unknown time zone.
func (s *Store) CreateAccount(ctx context.Context, in NewAccount) (models.Account, error) {
	if err := in.validate(); err != nil {
		return models.Account{}, err
	}
	now := s.now()
	a := models.Account{Name: in.Name, Timezone: in.Timezone, CreatedAt: now, UpdatedAt: now}
	if err := s.db.WithContext(ctx).Create(&a).Error; err != nil {
		return models.Account{}, wrap("create account", err)
	}
	return a, nil
}

// Account returns the account with the id, or ErrNotFound.
func (s *Store) Account(ctx context.Context, id int64) (models.Account, error) {
	var a models.Account
	if err := s.db.WithContext(ctx).Take(&a, "id = ?", id).Error; err != nil {
		return models.Account{}, wrap(fmt.Sprintf("account %d", id), err)
	}
	return a, nil
}

// Bootstrap is the input of Bootstrap: the first account and its superadmin.
type Bootstrap struct {
	AccountName  string
	Email        string
	PasswordHash string
}

// Bootstrap creates the first account and its superadmin when the database
// has no account yet, all in one transaction. It returns created=false (and no
// error) when an account already exists.
func (s *Store) Bootstrap(ctx context.Context, in Bootstrap) (acct models.Account, agent models.Agent, created bool, err error) {
	na := NewAccount{Name: in.AccountName}
	if err := na.validate(); err != nil {
		return acct, agent, false, err
	}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if s.backend == Postgres {
			// Two replicas starting on an empty database must not both bootstrap.
			if err := tx.Exec("SELECT pg_advisory_xact_lock(?)", migrationLockID).Error; err != nil {
				return err
			}
		}
		var n int64
		if err := tx.Model(&models.Account{}).Count(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		now := s.now()
		acct = models.Account{Name: na.Name, Timezone: na.Timezone, CreatedAt: now, UpdatedAt: now}
		if err := tx.Create(&acct).Error; err != nil {
			return err
		}
		agent, err = createAgent(tx, now, acct.ID, NewAgent{
			Email: in.Email, PasswordHash: in.PasswordHash, Role: models.RoleSuperadmin,
			FirstName: "Admin",
		})
		if err != nil {
			return err
		}
		created = true
		return nil
	})
	return acct, agent, created, wrap("bootstrap", err)
}

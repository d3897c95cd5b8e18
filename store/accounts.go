package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"switchboard/models"
)

// DefaultTimezone is the time zone of an account created without one.
const DefaultTimezone = "UTC"

// Default hourly quotas of an account's paid channels.
const (
	DefaultEmailsPerHour = 1000
	DefaultSMSPerHour    = 200
)

// Default request limits of an account's keys.
const (
	DefaultRateLimit      = 120
	DefaultDailyRateLimit = 100_000
)

// NewAccount is the input of CreateAccount.
type NewAccount struct {
	Name string
	// Timezone is an IANA name; empty means DefaultTimezone.
	Timezone string
	// EmailsPerHour and SMSPerHour bound what the account's keys may send;
	// 0 means the defaults.
	EmailsPerHour int
	SMSPerHour    int
	// RateLimit and DailyRateLimit bound the requests each of the account's
	// keys may make a minute and a day; 0 means the defaults.
	RateLimit      int
	DailyRateLimit int
	// SMSAllowPremium lets the account's agents text premium-rate,
	// shared-cost, UAN and unknown-type numbers (models.Phone.CostlyToText).
	SMSAllowPremium bool
}

func (in *NewAccount) validate() error {
	var fe FieldErrors
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" {
		fe.Add("name", "must not be empty")
	}
	checkLine(&fe, "name", in.Name, models.MaxNameLen)
	if in.Timezone == "" {
		in.Timezone = DefaultTimezone
	} else if !models.ValidTimezone(in.Timezone) {
		fe.Add("timezone", "unknown time zone %q", in.Timezone)
	}
	checkQuota(&fe, "emails_per_hour", &in.EmailsPerHour, DefaultEmailsPerHour)
	checkQuota(&fe, "sms_per_hour", &in.SMSPerHour, DefaultSMSPerHour)
	checkQuota(&fe, "rate_limit", &in.RateLimit, DefaultRateLimit)
	checkQuota(&fe, "daily_rate_limit", &in.DailyRateLimit, DefaultDailyRateLimit)
	return fe.Err()
}

// checkQuota puts the default in an unset quota and refuses a negative one.
func checkQuota(fe *FieldErrors, field string, n *int, def int) {
	switch {
	case *n == 0:
		*n = def
	case *n < 0:
		fe.Add(field, "must be 0 (the default) or more")
	}
}

// model returns the account row of a validated NewAccount.
func (in NewAccount) model(now time.Time) models.Account {
	return models.Account{Name: in.Name, Timezone: in.Timezone, EmailsPerHour: in.EmailsPerHour, SMSPerHour: in.SMSPerHour,
		RateLimit: in.RateLimit, DailyRateLimit: in.DailyRateLimit, SMSAllowPremium: in.SMSAllowPremium, CreatedAt: now, UpdatedAt: now}
}

// CreateAccount creates a tenant. It returns FieldErrors for an empty name or
// an unknown time zone.
func (s *Store) CreateAccount(ctx context.Context, in NewAccount) (models.Account, error) {
	if err := in.validate(); err != nil {
		return models.Account{}, err
	}
	var a models.Account
	err := s.write(ctx, s.db, func(tx *gorm.DB) error {
		a = in.model(s.now())
		if err := tx.Create(&a).Error; err != nil {
			return err
		}
		return s.appendEvents(tx, accountCreated(a))
	})
	if err != nil {
		return models.Account{}, wrap("create account", err)
	}
	return a, nil
}

// accountCreated returns the account.created event of the new account a.
func accountCreated(a models.Account) models.Event {
	return newEvent(a.ID, models.EventAccountCreated, EventData{"name": a.Name})
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
	// KeyID, when set, is the id (JWT "jti") of a full-access API key made for
	// the superadmin in the same transaction.
	KeyID string
}

// Bootstrapped is what Bootstrap made.
type Bootstrapped struct {
	Account models.Account
	Agent   models.Agent
	// Key is the superadmin's API key; zero when Bootstrap had no KeyID.
	Key models.APIKey
	// Created is false when the database already had an account, and then
	// the other fields are zero.
	Created bool
}

// Bootstrap creates the first account, its superadmin and (with a KeyID) a
// full-access API key when the database has no account yet, all in one
// transaction. It returns Created=false (and no error) when an account already
// exists, and FieldErrors for a bad name or email.
func (s *Store) Bootstrap(ctx context.Context, in Bootstrap) (Bootstrapped, error) {
	na := NewAccount{Name: in.AccountName}
	if err := na.validate(); err != nil {
		return Bootstrapped{}, err
	}
	var out Bootstrapped
	err := s.write(ctx, s.db, func(tx *gorm.DB) error {
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
		out.Account = na.model(now)
		if err := tx.Create(&out.Account).Error; err != nil {
			return err
		}
		var err error
		out.Agent, err = createAgent(tx, now, out.Account.ID, NewAgent{
			Email: in.Email, PasswordHash: in.PasswordHash, Role: models.RoleSuperadmin,
			FirstName: "Admin",
		})
		if err != nil {
			return err
		}
		if in.KeyID != "" {
			// Empty scopes mean every scope (see auth.ParseScopes).
			nk := NewAPIKey{ID: in.KeyID, AgentID: &out.Agent.ID, Name: "bootstrap"}
			if err := nk.validate(); err != nil {
				return err
			}
			if out.Key, err = createAPIKey(tx, now, out.Account.ID, nk); err != nil {
				return err
			}
		}
		out.Created = true
		evs := []models.Event{accountCreated(out.Account), agentCreated(out.Agent)}
		if in.KeyID != "" {
			evs = append(evs, keyCreated(out.Key))
		}
		return s.appendEvents(tx, evs...)
	})
	if err != nil {
		return Bootstrapped{}, wrap("bootstrap", err)
	}
	return out, nil
}

// AccountUpdate is the input of UpdateAccount; nil fields stay as they are.
type AccountUpdate struct {
	Name           *string
	Timezone       *string
	EmailsPerHour  *int
	SMSPerHour     *int
	RateLimit      *int
	DailyRateLimit *int
	// SMSAllowPremium turns texting costly numbers on or off (NewAccount).
	SMSAllowPremium *bool
}

// UpdateAccount changes an account's name, time zone, quotas, request limits
// or SMS settings and returns it. It returns ErrNotFound for an unknown account and
// FieldErrors for an empty name, an unknown time zone or a negative quota or
// limit (0 sets the default).
func (s *Store) UpdateAccount(ctx context.Context, id int64, in AccountUpdate) (models.Account, error) {
	var fe FieldErrors
	set := map[string]any{"updated_at": s.now()}
	if in.Name != nil {
		name := strings.TrimSpace(*in.Name)
		if name == "" {
			fe.Add("name", "must not be empty")
		}
		checkLine(&fe, "name", name, models.MaxNameLen)
		set["name"] = name
	}
	if in.Timezone != nil {
		if !models.ValidTimezone(*in.Timezone) {
			fe.Add("timezone", "unknown time zone %q", *in.Timezone)
		}
		set["timezone"] = *in.Timezone
	}
	if in.EmailsPerHour != nil {
		checkQuota(&fe, "emails_per_hour", in.EmailsPerHour, DefaultEmailsPerHour)
		set["emails_per_hour"] = *in.EmailsPerHour
	}
	if in.SMSPerHour != nil {
		checkQuota(&fe, "sms_per_hour", in.SMSPerHour, DefaultSMSPerHour)
		set["sms_per_hour"] = *in.SMSPerHour
	}
	if in.RateLimit != nil {
		checkQuota(&fe, "rate_limit", in.RateLimit, DefaultRateLimit)
		set["rate_limit"] = *in.RateLimit
	}
	if in.DailyRateLimit != nil {
		checkQuota(&fe, "daily_rate_limit", in.DailyRateLimit, DefaultDailyRateLimit)
		set["daily_rate_limit"] = *in.DailyRateLimit
	}
	if in.SMSAllowPremium != nil {
		set["sms_allow_premium"] = *in.SMSAllowPremium
	}
	if err := fe.Err(); err != nil {
		return models.Account{}, err
	}
	var a models.Account
	err := s.write(ctx, s.db, func(tx *gorm.DB) error {
		res := tx.Model(&models.Account{}).Where("id = ?", id).Updates(set)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return notFound("account", id)
		}
		if err := tx.Take(&a, "id = ?", id).Error; err != nil {
			return err
		}
		return s.appendEvents(tx, newEvent(id, models.EventAccountUpdated, EventData{"fields": changedFields(set, nil)}))
	})
	return a, wrap(fmt.Sprintf("update account %d", id), err)
}

// changedFields returns the model field names of an update's columns, sorted,
// without updated_at; rename maps a column to the name an event shows for it
// (a password, never its hash).
func changedFields(set map[string]any, rename map[string]string) []string {
	out := make([]string, 0, len(set))
	for col := range set {
		if col == "updated_at" {
			continue
		}
		if n, ok := rename[col]; ok {
			col = n
		}
		out = append(out, col)
	}
	slices.Sort(out)
	return out
}

package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"switchboard/models"
)

// NewAPIKey is the input of CreateAPIKey. The store keeps the key's row; auth
// makes the id, checks the scopes and signs the token.
type NewAPIKey struct {
	// ID is the token's JWT "jti": random, unique across accounts.
	ID string
	// AgentID is the agent the key acts as; nil means the account's first
	// enabled superadmin.
	AgentID *int64
	Name    string
	// Kind is what the key stands for; empty means models.KeyAPI.
	Kind models.KeyKind
	// Scopes is a comma list as auth.FormatScopes writes it; empty means every scope.
	Scopes string
	// ExpiresAt is when the key stops working; nil means never.
	ExpiresAt *time.Time
}

func (in *NewAPIKey) validate() error {
	var fe FieldErrors
	in.ID = strings.TrimSpace(in.ID)
	if in.ID == "" {
		fe.Add("id", "must not be empty")
	}
	in.Name = strings.TrimSpace(in.Name)
	checkLine(&fe, "name", in.Name, models.MaxNameLen)
	in.Scopes = strings.TrimSpace(in.Scopes)
	if in.Kind == "" {
		in.Kind = models.KeyAPI
	}
	if !in.Kind.Valid() {
		fe.Add("kind", "must be %q or %q", models.KeyAPI, models.KeySession)
	}
	if in.ExpiresAt != nil {
		at := in.ExpiresAt.UTC().Truncate(time.Microsecond)
		in.ExpiresAt = &at
	}
	return fe.Err()
}

// CreateAPIKey stores a key of the account in one transaction and returns it.
// It returns FieldErrors for an empty id or an unknown kind, ErrNotFound (naming what) for an
// unknown account, an agent that is not of the account, or an account without
// an enabled superadmin when no agent is given, and ErrConflict for an id
// already in use.
func (s *Store) CreateAPIKey(ctx context.Context, accountID int64, in NewAPIKey) (models.APIKey, error) {
	if err := in.validate(); err != nil {
		return models.APIKey{}, err
	}
	var key models.APIKey
	err := s.write(ctx, s.db, func(tx *gorm.DB) error {
		if err := accountExists(tx, accountID); err != nil {
			return err
		}
		var err error
		if key, err = createAPIKey(tx, s.now(), accountID, in); err != nil {
			return err
		}
		if key.Kind == models.KeySession {
			// A login's session token is no change to the account.
			return nil
		}
		return s.appendEvents(tx, keyCreated(key))
	})
	return key, wrap("create api key", err)
}

// keyEvent returns the event of type t about the key k: its id and name,
// never its token; AgentID is the agent it acts as.
func keyEvent(k models.APIKey, t models.EventType) models.Event {
	ev := newEvent(k.AccountID, t, EventData{"key_id": k.ID, "name": k.Name})
	ev.AgentID = k.AgentID
	return ev
}

// keyCreated returns the key.created event of the new key k.
func keyCreated(k models.APIKey) models.Event { return keyEvent(k, models.EventKeyCreated) }

// createAPIKey inserts a validated key; the account is known to exist.
func createAPIKey(tx *gorm.DB, now time.Time, accountID int64, in NewAPIKey) (models.APIKey, error) {
	var agent models.Agent
	if in.AgentID != nil {
		err := tx.Take(&agent, "account_id = ? AND id = ?", accountID, *in.AgentID).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return models.APIKey{}, notFound("agent", *in.AgentID)
		}
		if err != nil {
			return models.APIKey{}, err
		}
	} else {
		err := tx.Where("account_id = ? AND role = ? AND enabled = ?", accountID, models.RoleSuperadmin, true).
			Order("id").Take(&agent).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return models.APIKey{}, fmt.Errorf("account %d has no enabled superadmin to own the key: %w", accountID, ErrNotFound)
		}
		if err != nil {
			return models.APIKey{}, err
		}
	}
	key := models.APIKey{
		ID: in.ID, AccountID: accountID, AgentID: agent.ID, Name: in.Name, Kind: in.Kind, Scopes: in.Scopes,
		ExpiresAt: in.ExpiresAt, CreatedAt: now,
	}
	if err := tx.Create(&key).Error; err != nil {
		return models.APIKey{}, wrap(fmt.Sprintf("api key %s", in.ID), err)
	}
	return key, nil
}

// KeyOwner is an API key with the agent it acts as.
type KeyOwner struct {
	Key   models.APIKey
	Agent models.Agent
}

// APIKey returns the key with the id and its agent, or ErrNotFound. It is
// the one key lookup not scoped by account: a bearer token names its key and
// nothing else until the key is read, and key ids are unique across accounts.
// The caller (auth) checks the token's account against the key's.
func (s *Store) APIKey(ctx context.Context, id string) (KeyOwner, error) {
	var out KeyOwner
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Take(&out.Key, "id = ?", id).Error; err != nil {
			return err
		}
		return tx.Take(&out.Agent, "account_id = ? AND id = ?", out.Key.AccountID, out.Key.AgentID).Error
	})
	if err != nil {
		return KeyOwner{}, wrap("api key", err)
	}
	utcKey(&out.Key)
	return out, nil
}

// ListAPIKeys returns the account's keys, oldest first, revoked and expired
// ones included. It returns ErrNotFound for an unknown account.
func (s *Store) ListAPIKeys(ctx context.Context, accountID int64) ([]models.APIKey, error) {
	keys := []models.APIKey{}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := accountExists(tx, accountID); err != nil {
			return err
		}
		return tx.Where("account_id = ?", accountID).Order("created_at, id").Find(&keys).Error
	})
	if err != nil {
		return nil, wrap("list api keys", err)
	}
	for i := range keys {
		utcKey(&keys[i])
	}
	return keys, nil
}

// RevokeAPIKey marks the key revoked and returns it. Revoking a revoked key
// keeps the first revocation time. It returns ErrNotFound for an unknown key.
// Like APIKey it is not scoped by account: the operator's CLI names a key by
// its id alone.
func (s *Store) RevokeAPIKey(ctx context.Context, id string) (models.APIKey, error) {
	var key models.APIKey
	err := s.write(ctx, s.db, func(tx *gorm.DB) error {
		res := tx.Model(&models.APIKey{}).Where("id = ? AND revoked_at IS NULL", id).Update("revoked_at", s.now())
		if res.Error != nil {
			return res.Error
		}
		if err := tx.Take(&key, "id = ?", id).Error; err != nil {
			return err
		}
		if res.RowsAffected == 0 || key.Kind == models.KeySession {
			// Revoked already, or a login's session token: no change to report.
			return nil
		}
		return s.appendEvents(tx, keyEvent(key, models.EventKeyRevoked))
	})
	if err != nil {
		return models.APIKey{}, wrap(fmt.Sprintf("revoke api key %s", id), err)
	}
	utcKey(&key)
	return key, nil
}

// touchInterval is how stale last_used_at must be before TouchAPIKey writes it.
const touchInterval = time.Minute

// TouchAPIKey records that the key was used at at. It is one UPDATE that
// writes only when last_used_at is unset or more than a minute older than at,
// so that replicas together write a key's row about once a minute however
// busy the key is. An unknown key, or one touched within the minute, is not
// an error; a database failure is.
func (s *Store) TouchAPIKey(ctx context.Context, id string, at time.Time) error {
	at = at.UTC().Truncate(time.Microsecond)
	err := s.db.WithContext(ctx).Model(&models.APIKey{}).
		Where("id = ? AND (last_used_at IS NULL OR last_used_at < ?)", id, at.Add(-touchInterval)).
		Update("last_used_at", at).Error
	return wrap("touch api key", err)
}

// utcKey puts the key's times in UTC: PostgreSQL returns them in the
// session's zone.
func utcKey(k *models.APIKey) {
	k.CreatedAt = k.CreatedAt.UTC()
	for _, t := range []**time.Time{&k.ExpiresAt, &k.RevokedAt, &k.LastUsedAt} {
		if *t != nil {
			u := (**t).UTC()
			*t = &u
		}
	}
}

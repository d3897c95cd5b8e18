package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"switchboard/models"
)

// NewAgent is the input of CreateAgent. The password arrives hashed: hashing
// belongs to auth, and the store never sees a plaintext password.
type NewAgent struct {
	Email        string
	PasswordHash string
	Role         models.Role
	FirstName    string
	LastName     string
}

func (in *NewAgent) validate() error {
	var fe FieldErrors
	in.Email = models.NormalizeEmail(in.Email)
	if !tooLongEmail(&fe, "email", in.Email) && !models.ValidEmail(in.Email) {
		fe.Add("email", "%q is not a valid email address", in.Email)
	}
	if in.PasswordHash == "" {
		fe.Add("password", "must not be empty")
	}
	if !in.Role.Valid() {
		fe.Add("role", "%q is not one of superadmin, admin, agent", in.Role)
	}
	in.FirstName, in.LastName = strings.TrimSpace(in.FirstName), strings.TrimSpace(in.LastName)
	checkLine(&fe, "first_name", in.FirstName, models.MaxNameLen)
	checkLine(&fe, "last_name", in.LastName, models.MaxNameLen)
	return fe.Err()
}

// CreateAgent creates an agent in the account. It returns FieldErrors for bad
// input, ErrNotFound when the account does not exist and ErrConflict when the
// email is taken (emails are unique across accounts: they are login names).
func (s *Store) CreateAgent(ctx context.Context, accountID int64, in NewAgent) (models.Agent, error) {
	var agent models.Agent
	err := s.write(ctx, s.db, func(tx *gorm.DB) error {
		if err := accountExists(tx, accountID); err != nil {
			return err
		}
		var err error
		if agent, err = createAgent(tx, s.now(), accountID, in); err != nil {
			return err
		}
		return s.appendEvents(tx, agentCreated(agent))
	})
	return agent, wrap("create agent", err)
}

// agentCreated returns the agent.created event of the new agent a: its
// role, never its password.
func agentCreated(a models.Agent) models.Event {
	ev := newEvent(a.AccountID, models.EventAgentCreated, EventData{"role": a.Role})
	ev.AgentID = a.ID
	return ev
}

func createAgent(tx *gorm.DB, now time.Time, accountID int64, in NewAgent) (models.Agent, error) {
	if err := in.validate(); err != nil {
		return models.Agent{}, err
	}
	a := models.Agent{
		AccountID: accountID, Email: in.Email, PasswordHash: in.PasswordHash, Role: in.Role,
		FirstName: in.FirstName, LastName: in.LastName, Enabled: true, ConcurrentChatLimit: 5,
		CreatedAt: now, UpdatedAt: now,
	}
	if err := tx.Create(&a).Error; err != nil {
		return models.Agent{}, wrap(fmt.Sprintf("agent %s", in.Email), err)
	}
	return a, nil
}

// AgentByEmail returns the agent with the login email, or ErrNotFound. It is
// the one lookup not scoped by account: a Basic login names no account, and
// emails are unique across accounts.
func (s *Store) AgentByEmail(ctx context.Context, email string) (models.Agent, error) {
	var a models.Agent
	if !storable(email) {
		// No agent has such an email, and PostgreSQL would refuse to look.
		return a, fmt.Errorf("agent by email: %w", ErrNotFound)
	}
	// Scanned by position: every Basic-authenticated request reads it.
	a, err := takeRow(s.db.WithContext(ctx).Raw(`SELECT `+agentFields+` FROM agents WHERE email = ?`,
		models.NormalizeEmail(email)), scanAgent)
	return a, wrap("agent by email", err)
}

// Agent returns the agent of the account, or ErrNotFound.
func (s *Store) Agent(ctx context.Context, accountID, id int64) (models.Agent, error) {
	var a models.Agent
	err := s.db.WithContext(ctx).Take(&a, "account_id = ? AND id = ?", accountID, id).Error
	return a, wrap(fmt.Sprintf("agent %d", id), err)
}

// AgentUpdate is the input of UpdateAgent; nil fields stay as they are.
type AgentUpdate struct {
	PasswordHash *string
	Role         *models.Role
	Enabled      *bool
}

// UpdateAgent changes an agent's password, role or enabled flag. It returns
// ErrNotFound for an unknown agent and FieldErrors for an unknown role.
func (s *Store) UpdateAgent(ctx context.Context, accountID, id int64, in AgentUpdate) (models.Agent, error) {
	set := map[string]any{"updated_at": s.now()}
	var fe FieldErrors
	if in.PasswordHash != nil {
		if *in.PasswordHash == "" {
			fe.Add("password", "must not be empty")
		}
		set["password_hash"] = *in.PasswordHash
	}
	if in.Role != nil {
		if !in.Role.Valid() {
			fe.Add("role", "%q is not one of superadmin, admin, agent", *in.Role)
		}
		set["role"] = *in.Role
	}
	if in.Enabled != nil {
		set["enabled"] = *in.Enabled
	}
	if err := fe.Err(); err != nil {
		return models.Agent{}, err
	}
	var a models.Agent
	err := s.write(ctx, s.db, func(tx *gorm.DB) error {
		res := tx.Model(&models.Agent{}).Where("account_id = ? AND id = ?", accountID, id).Updates(set)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrNotFound
		}
		if err := tx.Take(&a, "id = ?", id).Error; err != nil {
			return err
		}
		// The event names the fields, never the password or its hash.
		ev := newEvent(accountID, models.EventAgentUpdated,
			EventData{"fields": changedFields(set, map[string]string{"password_hash": "password"})})
		ev.AgentID = id
		return s.appendEvents(tx, ev)
	})
	if err == nil {
		// Committed: readers of agents in this process see it from now on
		// (other processes when its notification arrives).
		s.agents.bump()
	}
	return a, wrap(fmt.Sprintf("update agent %d", id), err)
}

// accountExists returns ErrNotFound (naming the account) when it does not exist.
func accountExists(tx *gorm.DB, accountID int64) error {
	var n int64
	if err := tx.Model(&models.Account{}).Where("id = ?", accountID).Count(&n).Error; err != nil {
		return err
	}
	if n == 0 {
		return notFound("account", accountID)
	}
	return nil
}

// RecordLogin sets the agent's last login time to at, unless it already
// holds a time less than a minute older: a client that sends credentials
// with every request is one login a minute, not one write per request. It
// returns the database's error, never ErrNotFound (a vanished agent has no
// login to record).
func (s *Store) RecordLogin(ctx context.Context, id int64, at time.Time) error {
	at = at.UTC().Truncate(time.Microsecond)
	err := s.db.WithContext(ctx).Model(&models.Agent{}).
		Where("id = ? AND (last_login_at IS NULL OR last_login_at < ?)", id, at.Add(-time.Minute)).
		Update("last_login_at", at).Error
	return wrap(fmt.Sprintf("record login of agent %d", id), err)
}

// ListAgents returns page (1-based) of the account's agents, size per page,
// by id. A page past the end is empty. It returns FieldErrors for a page or
// size below 1.
func (s *Store) ListAgents(ctx context.Context, accountID, page int64, size int) ([]models.Agent, error) {
	offset, ok, err := pageOffset(page, size)
	if err != nil || !ok {
		return []models.Agent{}, err
	}
	agents := []models.Agent{}
	err = s.db.WithContext(ctx).Where("account_id = ?", accountID).Order("id").
		Offset(int(offset)).Limit(size).Find(&agents).Error
	if err != nil {
		return nil, wrap("list agents", err)
	}
	return agents, nil
}

// AgentPage returns the account's agents by id from offset, at most limit of
// them, and how many agents the account has. An offset past the end gives an
// empty page. It returns FieldErrors for an offset below 0 or a limit outside
// 1..MaxLimit. The count is a full one: an account has few agents (people who
// answer), so it stays cheap at any offset.
func (s *Store) AgentPage(ctx context.Context, accountID int64, offset, limit int) ([]models.Agent, int64, error) {
	var fe FieldErrors
	checkPage(&fe, offset, limit)
	if err := fe.Err(); err != nil {
		return nil, 0, err
	}
	agents := []models.Agent{}
	var total int64
	err := s.readTx(ctx, func(tx *gorm.DB) error {
		base := func() *gorm.DB { return tx.Model(&models.Agent{}).Where("account_id = ?", accountID) }
		if err := base().Order("id").Offset(offset).Limit(limit).Find(&agents).Error; err != nil {
			return err
		}
		return base().Count(&total).Error
	})
	if err != nil {
		return nil, 0, wrap("agent page", err)
	}
	return agents, total, nil
}

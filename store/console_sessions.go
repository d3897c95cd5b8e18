package store

import (
	"context"
	"strings"
	"time"

	"gorm.io/gorm"

	"switchboard/models"
)

// ConsoleSession is one sign-in to the web console. The store keeps the
// SHA-256 of the cookie's token, never the token.
type ConsoleSession struct {
	ID        int64
	TokenHash string
	AccountID int64
	AgentID   int64
	// CSRFToken is the token every form and htmx request of the session
	// must send back.
	CSRFToken string
	// PasswordFingerprint is a digest of the agent's password hash at
	// sign-in: when it no longer matches, the password has changed.
	PasswordFingerprint string
	CreatedAt           time.Time
	ExpiresAt           time.Time
}

// ConsoleSessionView is a session with its agent as it is now.
type ConsoleSessionView struct {
	ConsoleSession
	Agent models.Agent
}

// consoleSessionRow is the console_sessions row.
type consoleSessionRow struct {
	ID                  int64 `gorm:"primaryKey"`
	TokenHash           string
	AccountID           int64
	AgentID             int64
	CSRFToken           string `gorm:"column:csrf_token"`
	PasswordFingerprint string
	CreatedAt           time.Time
	ExpiresAt           time.Time
}

func (consoleSessionRow) TableName() string { return "console_sessions" }

func (r consoleSessionRow) session() ConsoleSession {
	return ConsoleSession{ID: r.ID, TokenHash: r.TokenHash, AccountID: r.AccountID, AgentID: r.AgentID, CSRFToken: r.CSRFToken,
		PasswordFingerprint: r.PasswordFingerprint, CreatedAt: r.CreatedAt.UTC(), ExpiresAt: r.ExpiresAt.UTC()}
}

// NewConsoleSession is the input of CreateConsoleSession.
type NewConsoleSession struct {
	TokenHash           string
	AccountID           int64
	AgentID             int64
	CSRFToken           string
	PasswordFingerprint string
	// TTL is how long the session lasts from now; it must be positive.
	TTL time.Duration
}

// CreateConsoleSession stores a new session of an agent of the account. It
// returns FieldErrors for an empty token hash, CSRF token or fingerprint or
// a TTL that is not positive, ErrNotFound when the agent is not the
// account's, and ErrConflict when the token hash is already a session's.
func (s *Store) CreateConsoleSession(ctx context.Context, in NewConsoleSession) (ConsoleSession, error) {
	var fe FieldErrors
	for _, f := range []struct{ name, v string }{{"token_hash", in.TokenHash}, {"csrf_token", in.CSRFToken}, {"password_fingerprint", in.PasswordFingerprint}} {
		if strings.TrimSpace(f.v) == "" {
			fe.Add(f.name, "must not be empty")
		}
	}
	if in.TTL <= 0 {
		fe.Add("ttl", "must be positive")
	}
	if err := fe.Err(); err != nil {
		return ConsoleSession{}, err
	}
	now := s.now().UTC()
	row := consoleSessionRow{TokenHash: in.TokenHash, AccountID: in.AccountID, AgentID: in.AgentID, CSRFToken: in.CSRFToken,
		PasswordFingerprint: in.PasswordFingerprint, CreatedAt: now, ExpiresAt: now.Add(in.TTL)}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&models.Agent{}).Where("account_id = ? AND id = ?", in.AccountID, in.AgentID).Count(&n).Error; err != nil {
			return err
		}
		if n == 0 {
			return notFound("agent", in.AgentID)
		}
		return tx.Create(&row).Error
	})
	if err != nil {
		return ConsoleSession{}, wrap("create console session", err)
	}
	return row.session(), nil
}

// ConsoleSessionByToken returns the unexpired session whose token hashes to
// tokenHash, with its agent as it is now. It returns ErrNotFound when there
// is none or it has expired.
func (s *Store) ConsoleSessionByToken(ctx context.Context, tokenHash string) (ConsoleSessionView, error) {
	var v ConsoleSessionView
	err := s.readTx(ctx, func(tx *gorm.DB) error {
		var row consoleSessionRow
		if err := tx.Where("token_hash = ? AND expires_at > ?", tokenHash, s.now().UTC()).Take(&row).Error; err != nil {
			return err
		}
		v.ConsoleSession = row.session()
		return tx.Take(&v.Agent, "account_id = ? AND id = ?", row.AccountID, row.AgentID).Error
	})
	return v, wrap("console session", err)
}

// DeleteConsoleSession deletes the session whose token hashes to tokenHash
// (signing out). Deleting one that does not exist is no error.
func (s *Store) DeleteConsoleSession(ctx context.Context, tokenHash string) error {
	err := s.db.WithContext(ctx).Where("token_hash = ?", tokenHash).Delete(&consoleSessionRow{}).Error
	return wrap("delete console session", err)
}

// DeleteConsoleSessionsOf deletes every session of the account's agent and
// returns how many there were.
func (s *Store) DeleteConsoleSessionsOf(ctx context.Context, accountID, agentID int64) (int64, error) {
	res := s.db.WithContext(ctx).Where("account_id = ? AND agent_id = ?", accountID, agentID).Delete(&consoleSessionRow{})
	return res.RowsAffected, wrap("delete console sessions", res.Error)
}

// ExpireConsoleSessions deletes every session that expired before at and
// returns how many it deleted.
func (s *Store) ExpireConsoleSessions(ctx context.Context, at time.Time) (int64, error) {
	res := s.db.WithContext(ctx).Where("expires_at <= ?", at.UTC()).Delete(&consoleSessionRow{})
	return res.RowsAffected, wrap("expire console sessions", res.Error)
}

package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"switchboard/models"
)

// The outcomes of ClaimIdempotencyKey other than a claim or a replay.
var (
	// ErrIdempotencyInFlight means the first request with the key is still
	// running.
	ErrIdempotencyInFlight = errors.New("a request with this idempotency key is still in progress")
	// ErrIdempotencyMismatch means the key was first used with another
	// request (another method, path or body).
	ErrIdempotencyMismatch = errors.New("this idempotency key was used with another request")
	// ErrIdempotencyApplied means the first request with the key made its
	// write but its response was lost (the database's answer to the commit
	// never came, or the client hung up): running it again would write twice.
	ErrIdempotencyApplied = errors.New("the request with this idempotency key was applied but its response was lost")
)

// MaxIdempotencyKeyLen is the longest Idempotency-Key the store keeps, in
// characters.
const MaxIdempotencyKeyLen = 255

// StoredResponse is the response kept for an idempotency key: what a replay
// sends back.
type StoredResponse struct {
	Status int
	// Header holds the response headers a replay repeats (Content-Type and
	// the like), one value each.
	Header map[string]string
	Body   []byte
}

// IdempotencyClaim is the outcome of ClaimIdempotencyKey: either the key is
// now the caller's to answer (ID is set) or it was answered before with the
// same request (Replay is set).
type IdempotencyClaim struct {
	// ID names the claim for CompleteIdempotencyKey and ReleaseIdempotencyKey.
	ID     int64
	Replay *StoredResponse
}

// maxClaimRounds bounds ClaimIdempotencyKey's retries when the key changes
// under it (released, expired or taken by another request) between reads.
const maxClaimRounds = 5

// ClaimIdempotencyKey claims the account's key for a request whose method,
// path and body hash to requestHash, for lease (past which the request is
// taken for dead and the key may be claimed again). Exactly one of any number
// of concurrent claims of one key wins, on one database or across replicas.
//
// It returns a claim with ID set when the key is new (or its last use has
// expired), a claim with Replay set when the key was answered for the same
// request, ErrIdempotencyMismatch when it was used for another request,
// ErrIdempotencyInFlight while the first request runs, and FieldErrors for a
// key that is empty or longer than MaxIdempotencyKeyLen.
func (s *Store) ClaimIdempotencyKey(ctx context.Context, accountID int64, key, requestHash string, lease time.Duration) (IdempotencyClaim, error) {
	var fe FieldErrors
	switch {
	case key == "":
		fe.Add("idempotency_key", "must not be empty")
	case utf8.RuneCountInString(key) > MaxIdempotencyKeyLen:
		fe.Add("idempotency_key", "must be at most %d characters", MaxIdempotencyKeyLen)
	}
	if err := fe.Err(); err != nil {
		return IdempotencyClaim{}, err
	}
	db := s.db.WithContext(ctx)
	for range maxClaimRounds {
		now := s.now()
		row := models.IdempotencyKey{AccountID: accountID, Key: key, RequestHash: requestHash, Headers: "{}",
			CreatedAt: now, ExpiresAt: now.Add(lease)}
		res := db.Clauses(clause.OnConflict{DoNothing: true}).Create(&row)
		if res.Error != nil {
			return IdempotencyClaim{}, wrap("claim idempotency key", res.Error)
		}
		if res.RowsAffected == 1 {
			return IdempotencyClaim{ID: row.ID}, nil
		}
		var cur models.IdempotencyKey
		err := db.Take(&cur, `account_id = ? AND "key" = ?`, accountID, key).Error
		switch {
		case errors.Is(err, gorm.ErrRecordNotFound):
			continue // released or purged since the insert: try again
		case err != nil:
			return IdempotencyClaim{}, wrap("read idempotency key", err)
		case !cur.ExpiresAt.After(now):
			// A lapsed lease or a kept response past its time. The status
			// check leaves a request that answered in the meantime alone.
			err := db.Where("id = ? AND status = ?", cur.ID, cur.Status).Delete(&models.IdempotencyKey{}).Error
			if err != nil {
				return IdempotencyClaim{}, wrap("expire idempotency key", err)
			}
			continue
		case cur.RequestHash != requestHash:
			return IdempotencyClaim{}, fmt.Errorf("idempotency key: %w", ErrIdempotencyMismatch)
		case cur.Status == 0 && cur.ReleasedAt != nil:
			return IdempotencyClaim{}, fmt.Errorf("idempotency key: %w", ErrIdempotencyApplied)
		case cur.Status == 0:
			return IdempotencyClaim{}, fmt.Errorf("idempotency key: %w", ErrIdempotencyInFlight)
		}
		resp := StoredResponse{Status: cur.Status, Body: cur.Body}
		if err := json.Unmarshal([]byte(cur.Headers), &resp.Header); err != nil {
			return IdempotencyClaim{}, fmt.Errorf("idempotency key %d headers: %w", cur.ID, err)
		}
		if resp.Body == nil {
			resp.Body = []byte{}
		}
		return IdempotencyClaim{Replay: &resp}, nil
	}
	// The key kept changing hands: another request holds it now.
	return IdempotencyClaim{}, fmt.Errorf("idempotency key: %w", ErrIdempotencyInFlight)
}

// CompleteIdempotencyKey stores the response to a claimed key and keeps it
// for keep. It returns ErrNotFound when the claim is no longer the caller's
// (its lease lapsed and another request took the key).
func (s *Store) CompleteIdempotencyKey(ctx context.Context, id int64, resp StoredResponse, keep time.Duration) error {
	if resp.Status <= 0 {
		return fmt.Errorf("complete idempotency key %d: status %d", id, resp.Status)
	}
	header, err := json.Marshal(resp.Header)
	if err != nil {
		return fmt.Errorf("complete idempotency key %d: %w", id, err)
	}
	if resp.Header == nil {
		header = []byte("{}")
	}
	body := resp.Body
	if body == nil {
		body = []byte{}
	}
	res := s.db.WithContext(ctx).Model(&models.IdempotencyKey{}).Where("id = ? AND status = 0", id).
		Updates(map[string]any{"status": resp.Status, "body": body, "headers": string(header), "expires_at": s.now().Add(keep)})
	if res.Error != nil {
		return wrap("complete idempotency key", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("idempotency claim %d: %w", id, ErrNotFound)
	}
	return nil
}

// ReleaseIdempotencyKey gives up a claim without a response. A claim whose
// write was not applied is deleted, so that the next request with the key
// runs afresh. One whose write was applied (see WithIdempotencyClaim) is kept
// for keep instead, marked released: running the request again would write
// twice, so the key answers ErrIdempotencyApplied. Releasing a claim that is
// gone is not an error.
func (s *Store) ReleaseIdempotencyKey(ctx context.Context, id int64, keep time.Duration) error {
	db := s.db.WithContext(ctx)
	err := db.Where("id = ? AND status = 0 AND applied_at IS NULL", id).Delete(&models.IdempotencyKey{}).Error
	if err == nil {
		now := s.now()
		err = db.Model(&models.IdempotencyKey{}).Where("id = ? AND status = 0 AND applied_at IS NOT NULL", id).
			Updates(map[string]any{"released_at": now, "expires_at": now.Add(keep)}).Error
	}
	return wrap("release idempotency key", err)
}

// Purged counts what PurgeExpired deleted.
type Purged struct {
	IdempotencyKeys int64
	APIKeys         int64
}

// PurgeExpired deletes the idempotency keys whose time is up (kept responses
// and lapsed leases alike) and the session keys (models.KeySession) that
// expired before before; it returns how many of each went. API keys stay,
// expired or not, for `key list` to show.
func (s *Store) PurgeExpired(ctx context.Context, before time.Time) (Purged, error) {
	var out Purged
	db := s.db.WithContext(ctx)
	res := db.Where("expires_at <= ?", s.now()).Delete(&models.IdempotencyKey{})
	if res.Error != nil {
		return out, wrap("purge idempotency keys", res.Error)
	}
	out.IdempotencyKeys = res.RowsAffected
	res = db.Where("kind = ? AND expires_at IS NOT NULL AND expires_at < ?", models.KeySession, before.UTC()).Delete(&models.APIKey{})
	if res.Error != nil {
		return out, wrap("purge api keys", res.Error)
	}
	out.APIKeys = res.RowsAffected
	return out, nil
}

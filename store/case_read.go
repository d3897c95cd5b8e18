package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"gorm.io/gorm"

	"switchboard/models"
)

// MarkCaseRead marks the account's case read: an agent has opened it. The
// messages that add to a case keep its unread column otherwise (a contact's
// message sets it, an agent's answer clears it: see unreadUpdate). It
// writes only when the case is unread, so opening a read case costs one
// read. It returns ErrNotFound for a case that is not the account's.
//
// A read mark is not an event: it changes what an agent has seen, not the
// conversation, and no dialect's webhooks or event stream has a word for
// it. When it clears the mark it still wakes the account's live readers,
// as a commit of events does, so that other agents' open inboxes read their
// unread counts again; a reader that finds no new event reads nothing.
func (s *Store) MarkCaseRead(ctx context.Context, accountID, caseID int64) error {
	var unread bool
	err := s.db.WithContext(ctx).Raw(`SELECT unread FROM cases WHERE account_id = ? AND id = ?`, accountID, caseID).
		Row().Scan(&unread)
	if errors.Is(err, sql.ErrNoRows) {
		err = notFound("case", caseID)
	}
	if err != nil || !unread {
		return wrap(fmt.Sprintf("mark case %d read", caseID), err)
	}
	// WHERE unread: of two agents opening the case at once, one writes.
	var cleared bool
	err = s.write(ctx, s.db, func(tx *gorm.DB) error {
		res := tx.Exec(`UPDATE cases SET unread = ? WHERE account_id = ? AND id = ? AND unread`, false, accountID, caseID)
		cleared = res.RowsAffected > 0
		return res.Error
	})
	if err != nil {
		return wrap(fmt.Sprintf("mark case %d read", caseID), err)
	}
	if cleared {
		s.committed(&pendingEvents{accounts: []int64{accountID}})
	}
	return nil
}

// UnreadCap is the most unread cases UnreadCounts counts in one channel, so
// that the count costs at most that many entries of a small index however
// many cases the account has.
const UnreadCap = 1000

// UnreadCounts is how many of an account's cases are unread, by channel.
// Each count stops at Cap: a channel whose count is Cap has Cap unread
// cases or more.
type UnreadCounts struct {
	ByChannel map[models.Channel]int
	Cap       int
}

// Total returns the unread cases of all channels, each channel counted up
// to the cap: with any channel at the cap, the account has at least as
// many.
func (u UnreadCounts) Total() int {
	n := 0
	for _, c := range u.ByChannel {
		n += c
	}
	return n
}

// UnreadCounts returns how many of the account's cases are unread in each
// channel, counting at most UnreadCap in each: never a count over all the
// account's cases, only a capped range of the partial index
// idx_cases_unread (migration 0027) per channel, in one statement. It
// returns only the database's errors.
func (s *Store) UnreadCounts(ctx context.Context, accountID int64) (UnreadCounts, error) {
	return s.unreadCounts(ctx, accountID, UnreadCap)
}

// unreadCounts is UnreadCounts with the cap limit.
func (s *Store) unreadCounts(ctx context.Context, accountID int64, limit int) (UnreadCounts, error) {
	channels := models.Channels()
	parts := make([]string, len(channels))
	args := make([]any, 0, 3*len(channels))
	for i, ch := range channels {
		// The LIMIT inside is the cap: the count stops reading there.
		parts[i] = fmt.Sprintf(`(SELECT count(*) FROM (SELECT 1 FROM cases
			WHERE account_id = ? AND channel = ? AND unread LIMIT ?) u%d)`, i)
		args = append(args, accountID, ch, limit)
	}
	n := make([]int, len(channels))
	dest := make([]any, len(n))
	for i := range n {
		dest[i] = &n[i]
	}
	err := s.db.WithContext(ctx).Raw("SELECT "+strings.Join(parts, ", "), args...).Row().Scan(dest...)
	if err != nil {
		return UnreadCounts{}, wrap("unread counts", err)
	}
	out := UnreadCounts{ByChannel: make(map[models.Channel]int, len(n)), Cap: limit}
	for i, ch := range channels {
		out.ByChannel[ch] = n[i]
	}
	return out, nil
}

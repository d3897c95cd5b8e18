package store

import (
	"time"

	"gorm.io/gorm"

	"switchboard/models"
)

// A deep page of a case list must not step over every row before it, and
// OFFSET does exactly that. So each account keeps a count of its cases per
// channel and UTC day (case_day_counts), written in the same transaction as the
// case. To find page N the store walks those counts, newest day first, to the
// day holding the page's first row; the page query then starts at the end of
// that day and skips only the rows of that one day.

const secondsPerDay = 24 * 60 * 60

// dayOf returns the UTC day number (days since 1970-01-01) of t.
func dayOf(t time.Time) int64 {
	sec := t.Unix()
	d := sec / secondsPerDay
	if sec < 0 && sec%secondsPerDay != 0 {
		d--
	}
	return d
}

// countCase adds delta to the count of the account's cases on the channel
// started on the day of at. Call it in the transaction that creates or
// deletes the case.
func countCase(tx *gorm.DB, accountID int64, ch models.Channel, at time.Time, delta int64) error {
	return tx.Exec(`INSERT INTO case_day_counts (account_id, channel, day, n) VALUES (?, ?, ?, ?)
		ON CONFLICT (account_id, channel, day) DO UPDATE SET n = case_day_counts.n + excluded.n`,
		accountID, string(ch), dayOf(at), delta).Error
}

// pageStart locates row offset (0-based, newest first) of the account's cases
// on the channel. It returns before, the exclusive upper bound on started_at
// that the page query starts from, and skip, the rows to skip below it. When
// offset is past the last case it returns ok=false.
func pageStart(tx *gorm.DB, accountID int64, ch models.Channel, offset int64) (before *time.Time, skip int64, ok bool, err error) {
	return pageStartBelow(tx, accountID, dayCounts{channel: ch}, offset, 1<<62)
}

// dayCounts names the per-day counts a page walk reads: those of a channel's
// cases, or (agentID set) those of one agent's chats.
type dayCounts struct {
	channel models.Channel
	agentID *int64
}

// pageStartBelow is pageStart over the counted cases started before UTC day
// belowDay.
func pageStartBelow(tx *gorm.DB, accountID int64, dc dayCounts, offset, belowDay int64) (before *time.Time, skip int64, ok bool, err error) {
	if offset == 0 {
		return nil, 0, true, nil
	}
	q := tx.Raw(`SELECT day, n FROM case_day_counts
		WHERE account_id = ? AND channel = ? AND day < ? AND n > 0 ORDER BY day DESC`, accountID, string(dc.channel), belowDay)
	if dc.agentID != nil {
		q = tx.Raw(`SELECT day, n FROM assignee_day_counts
			WHERE account_id = ? AND agent_id = ? AND day < ? AND n > 0 ORDER BY day DESC`, accountID, *dc.agentID, belowDay)
	}
	rows, err := q.Rows()
	if err != nil {
		return nil, 0, false, err
	}
	defer rows.Close()
	var seen int64
	for rows.Next() {
		var day, n int64
		if err := rows.Scan(&day, &n); err != nil {
			return nil, 0, false, err
		}
		if seen+n > offset {
			end := time.Unix((day+1)*secondsPerDay, 0).UTC()
			return &end, offset - seen, true, rows.Err()
		}
		seen += n
	}
	return nil, 0, false, rows.Err()
}

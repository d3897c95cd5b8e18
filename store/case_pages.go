package store

import (
	"database/sql"
	"fmt"
	"sort"
	"strings"
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

// dayDeltas sums changes to case_day_counts (and, for assigned chats, to
// assignee_day_counts) so that a batch writes each count once.
type dayDeltas map[dayKey]int64

// dayKey names one count: of a channel's cases, or (agent > 0) of one
// agent's chats.
type dayKey struct {
	account int64
	channel models.Channel
	agent   int64
	day     int64
}

func (d dayDeltas) add(accountID int64, ch models.Channel, at time.Time, delta int64) {
	d[dayKey{accountID, ch, 0, dayOf(at)}] += delta
}

// addAssignee counts a chat of the agent; other channels and unassigned
// chats have no agent count.
func (d dayDeltas) addAssignee(accountID int64, ch models.Channel, agentID *int64, at time.Time, delta int64) {
	if ch == models.ChannelChat && agentID != nil {
		d[dayKey{accountID, ch, *agentID, dayOf(at)}] += delta
	}
}

// save writes the non-zero deltas with one statement per table and chunk.
func (d dayDeltas) save(tx *gorm.DB) error {
	var cases, agents []dayKey
	for k, n := range d {
		switch {
		case n == 0:
		case k.agent == 0:
			cases = append(cases, k)
		default:
			agents = append(agents, k)
		}
	}
	for _, t := range []struct {
		keys   []dayKey
		insert string
	}{
		{cases, `INSERT INTO case_day_counts (account_id, channel, day, n) VALUES %s
			ON CONFLICT (account_id, channel, day) DO UPDATE SET n = case_day_counts.n + excluded.n`},
		{agents, `INSERT INTO assignee_day_counts (account_id, agent_id, day, n) VALUES %s
			ON CONFLICT (account_id, agent_id, day) DO UPDATE SET n = assignee_day_counts.n + excluded.n`},
	} {
		sort.Slice(t.keys, func(i, j int) bool { return t.keys[i].day < t.keys[j].day })
		for start := 0; start < len(t.keys); start += 500 {
			part := t.keys[start:min(start+500, len(t.keys))]
			var sb strings.Builder
			args := make([]any, 0, 4*len(part))
			for i, k := range part {
				if i > 0 {
					sb.WriteString(", ")
				}
				sb.WriteString("(?, ?, ?, ?)")
				var key any = string(k.channel)
				if k.agent != 0 {
					key = k.agent
				}
				args = append(args, k.account, key, k.day, d[k])
			}
			if err := tx.Exec(fmt.Sprintf(t.insert, sb.String()), args...).Error; err != nil {
				return err
			}
		}
	}
	return nil
}

// pageDay is where a row of a newest-first walk lies: in the UTC day
// ending (exclusive) at end, which holds n counted rows, after skip of them.
type pageDay struct {
	end     time.Time
	n, skip int64
}

// pageStart locates row offset (0-based, newest first) of the account's cases
// on the channel: the day it lies in, with the day's count and the rows of
// the day before it. When offset is past the last case it returns
// ok=false.
func pageStart(tx *gorm.DB, accountID int64, ch models.Channel, offset int64) (d pageDay, ok bool, err error) {
	return findPageDay(tx, accountID, dayCounts{channel: ch}, offset, 1<<62)
}

// dayCounts names the per-day counts a page walk reads: those of a channel's
// cases, or (agentID set) those of one agent's chats.
type dayCounts struct {
	channel models.Channel
	agentID *int64
}

// pageStartBelow locates row offset of the counted cases started before
// UTC day belowDay. It returns before, the exclusive upper bound on
// started_at that the page query starts from (nil for offset 0), and skip,
// the rows to skip below it; ok=false when offset is past the last case.
func pageStartBelow(tx *gorm.DB, accountID int64, dc dayCounts, offset, belowDay int64) (before *time.Time, skip int64, ok bool, err error) {
	if offset == 0 {
		return nil, 0, true, nil
	}
	d, ok, err := findPageDay(tx, accountID, dc, offset, belowDay)
	if err != nil || !ok {
		return nil, 0, false, err
	}
	return &d.end, d.skip, true, nil
}

// findPageDay walks the day counts dc names, newest first from the day
// before belowDay, to the day holding row offset. It returns ok=false when
// offset is past the last counted row, and the database's error.
func findPageDay(tx *gorm.DB, accountID int64, dc dayCounts, offset, belowDay int64) (d pageDay, ok bool, err error) {
	if c, lite := onSQLite(tx); lite {
		return findPageDaySQLite(tx, c, accountID, dc, offset, belowDay)
	}
	var rows *sql.Rows
	if dc.agentID != nil {
		rows, err = tx.Raw(`SELECT day, n FROM assignee_day_counts
			WHERE account_id = ? AND agent_id = ? AND day < ? AND n > 0 ORDER BY day DESC`, accountID, *dc.agentID, belowDay).Rows()
	} else {
		rows, err = tx.Raw(`SELECT day, n FROM case_day_counts
			WHERE account_id = ? AND channel = ? AND day < ? AND n > 0 ORDER BY day DESC`, accountID, string(dc.channel), belowDay).Rows()
	}
	if err != nil {
		return d, false, err
	}
	return walkDays(rows, offset, 0, false)
}

// findPageDaySQLite is findPageDay on SQLite, where the walk's rows cost
// their steps in the process: it sums the counts first (in the database,
// one row out) and walks from the nearer end, so that the oldest pages
// read as few counts as the newest do. The account, channel and days are
// literals (see sqlInt).
func findPageDaySQLite(tx *gorm.DB, c gorm.ConnPool, accountID int64, dc dayCounts, offset, belowDay int64) (d pageDay, ok bool, err error) {
	from := ` FROM case_day_counts WHERE account_id = ` + sqlInt(accountID) + ` AND channel = '` + string(dc.channel) + `'`
	if dc.agentID != nil {
		from = ` FROM assignee_day_counts WHERE account_id = ` + sqlInt(accountID) + ` AND agent_id = ` + sqlInt(*dc.agentID)
	}
	from += ` AND day < ` + sqlInt(belowDay) + ` AND n > 0`
	ctx := tx.Statement.Context
	var total int64
	begin, q := time.Now(), `SELECT COALESCE(SUM(n), 0)`+from
	err = c.QueryRowContext(ctx, q).Scan(&total)
	trace(tx, begin, q, 1, err)
	if err != nil {
		return d, false, translate(tx, err)
	}
	if offset >= total {
		return d, false, nil
	}
	order, oldest := ` ORDER BY day DESC`, offset >= total/2
	if oldest {
		order = ` ORDER BY day`
	}
	begin, q = time.Now(), `SELECT day, n`+from+order
	rows, err := c.QueryContext(ctx, q)
	if err == nil {
		d, ok, err = walkDays(rows, offset, total, oldest)
	}
	trace(tx, begin, q, -1, err) // -1: rows not counted, as GORM's loggers take it
	return d, ok, translate(tx, err)
}

// walkDays reads rows of (day, n), newest day first or (oldest) oldest
// first, to the day holding row offset (counted from the newest) and closes
// the rows. An oldest-first walk needs total, the sum of every n. It returns
// ok=false when the rows end before offset, and the rows' error.
func walkDays(rows *sql.Rows, offset, total int64, oldest bool) (d pageDay, ok bool, err error) {
	defer rows.Close()
	// seen counts the rows of the days already passed; from the oldest
	// end the target is row total-1-offset counted that way.
	want := offset
	if oldest {
		want = total - 1 - offset
	}
	var seen int64
	for rows.Next() {
		var day, n int64
		if err := rows.Scan(&day, &n); err != nil {
			return d, false, err
		}
		if seen+n > want {
			skip := want - seen
			if oldest {
				// The rows of this day newer than the target.
				skip = n - 1 - skip
			}
			return pageDay{end: time.Unix((day+1)*secondsPerDay, 0).UTC(), n: n, skip: skip}, true, rows.Err()
		}
		seen += n
	}
	return d, false, rows.Err()
}

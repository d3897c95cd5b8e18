package store

import (
	"context"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"switchboard/models"
)

// SessionView is a visitor session with the domain of its site, the name of
// its campaign and the cases (communications) that name it.
type SessionView struct {
	models.VisitorSession
	SiteDomain   string
	CampaignName *string
	Cases        []SessionCase
}

// SessionCase is a case that names a visitor session: a chat or an offline
// message (or another channel's case written with a session).
type SessionCase struct {
	ID        int64
	Channel   models.Channel
	StartedAt time.Time
	ExtID     *string
}

// orderTerm is one key of an ORDER BY: a column's expression, whether it may
// be NULL (NULLs sort last whatever the direction) and its direction.
type orderTerm struct {
	expr     string
	nullable bool
	desc     bool
}

// orderSQL returns the ORDER BY clause of terms, each NULL sorting after the
// values unless reversed, when every term runs the other way and NULLs come
// first: the same rows in the opposite order.
func orderSQL(terms []orderTerm, reversed bool) string {
	parts := make([]string, 0, 2*len(terms))
	for _, t := range terms {
		desc := t.desc != reversed
		if t.nullable {
			nulls := " ASC"
			if reversed {
				nulls = " DESC"
			}
			parts = append(parts, "("+t.expr+" IS NULL)"+nulls)
		}
		dir := " ASC"
		if desc {
			dir = " DESC"
		}
		parts = append(parts, t.expr+dir)
	}
	return strings.Join(parts, ", ")
}

// orderTerms returns the order of a ListQuery's sort over cols, as planList
// builds it: each key in its direction with missing values last, then tie
// ascending; the default is timeField ascending, and timeField alone
// descending takes tie descending too.
func orderTerms(cols map[string]column, sort []SortKey, timeField, tie string) []orderTerm {
	if len(sort) == 0 {
		sort = []SortKey{{Field: timeField}}
	}
	terms := make([]orderTerm, 0, len(sort)+1)
	for _, k := range sort {
		col := cols[k.Field]
		terms = append(terms, orderTerm{expr: col.expr, nullable: col.nullable, desc: k.Desc})
	}
	tieDesc := len(sort) == 1 && sort[0].Field == timeField && sort[0].Desc
	return append(terms, orderTerm{expr: tie, desc: tieDesc})
}

// findNearerEnd reads into dest (a pointer to a slice) the rows offset to
// offset+limit of base in the order of terms, which must end with a unique
// key, given total, the count of base's rows. It reads from whichever end of
// the list is nearer, so the last page skips no more rows than the first
// and no page skips more than half of them. An offset at or past total reads
// nothing.
func findNearerEnd[T any](base *gorm.DB, terms []orderTerm, total int64, offset int64, limit int, dest *[]T) error {
	if offset >= total {
		return nil
	}
	after := total - offset - int64(limit)
	if after >= offset {
		return base.Order(orderSQL(terms, false)).Offset(int(offset)).Limit(limit).Find(dest).Error
	}
	n := int64(limit)
	if after < 0 {
		n, after = n+after, 0
	}
	if err := base.Order(orderSQL(terms, true)).Offset(int(after)).Limit(int(n)).Find(dest).Error; err != nil {
		return err
	}
	slices.Reverse(*dest)
	return nil
}

// sessionViews adds to sessions the domains of their sites, the names of
// their campaigns and their cases, reading each of those once for the page.
func sessionViews(tx *gorm.DB, accountID int64, sessions []models.VisitorSession) ([]SessionView, error) {
	out := make([]SessionView, len(sessions))
	if len(sessions) == 0 {
		return out, nil
	}
	siteSet, campSet := map[int64]bool{}, map[int64]bool{}
	ids := make([]int64, len(sessions))
	for i, v := range sessions {
		ids[i] = v.ID
		siteSet[v.SiteID] = true
		if v.CampaignID != nil {
			campSet[*v.CampaignID] = true
		}
	}
	domains := map[int64]string{}
	for _, chunk := range chunks(keys(siteSet)) {
		var sites []models.Site
		if err := tx.Select("id, domain").Where("account_id = ? AND id IN ?", accountID, chunk).Find(&sites).Error; err != nil {
			return nil, err
		}
		for _, s := range sites {
			domains[s.ID] = s.Domain
		}
	}
	names := map[int64]string{}
	for _, chunk := range chunks(keys(campSet)) {
		var camps []models.Campaign
		if err := tx.Select("id, name").Where("account_id = ? AND id IN ?", accountID, chunk).Find(&camps).Error; err != nil {
			return nil, err
		}
		for _, c := range camps {
			names[c.ID] = c.Name
		}
	}
	cases := map[int64][]SessionCase{}
	for _, chunk := range chunks(ids) {
		var rows []struct {
			ID               int64
			Channel          models.Channel
			StartedAt        time.Time
			ExtID            *string
			VisitorSessionID int64
		}
		if err := tx.Model(&models.Case{}).Select("id, channel, started_at, ext_id, visitor_session_id").
			Where("account_id = ? AND visitor_session_id IN ?", accountID, chunk).Order("started_at, id").Scan(&rows).Error; err != nil {
			return nil, err
		}
		for _, r := range rows {
			cases[r.VisitorSessionID] = append(cases[r.VisitorSessionID],
				SessionCase{ID: r.ID, Channel: r.Channel, StartedAt: r.StartedAt.UTC(), ExtID: r.ExtID})
		}
	}
	for i, v := range sessions {
		v.StartedAt, v.CreatedAt = v.StartedAt.UTC(), v.CreatedAt.UTC()
		sv := SessionView{VisitorSession: v, SiteDomain: domains[v.SiteID], Cases: cases[v.ID]}
		if v.CampaignID != nil {
			if n, ok := names[*v.CampaignID]; ok {
				sv.CampaignName = &n
			}
		}
		if sv.Cases == nil {
			sv.Cases = []SessionCase{}
		}
		out[i] = sv
	}
	return out, nil
}

// The fields a visitor session report filters and sorts on (ListQuery).
const (
	SessionID             = "id"
	SessionNumber         = "number"
	SessionNumberText     = "number_text"
	SessionStartedAt      = "started_at"
	SessionSiteID         = "site_id"
	SessionSiteDomain     = "site_domain"
	SessionCampaignID     = "campaign_id"
	SessionCampaignName   = "campaign_name"
	SessionContactID      = "contact_id"
	SessionIPAddress      = "ip_address"
	SessionPlatform       = "platform"
	SessionBrowser        = "browser"
	SessionBrowserVersion = "browser_version"
	SessionCountry        = "country"
	SessionRegion         = "region"
	SessionCity           = "city"
	SessionISP            = "isp"
	SessionReferrer       = "referrer"
	SessionPageViews      = "page_views"
)

// sessionColumns maps the session fields to SQL over visitor_sessions. The
// site's domain and the campaign's name are read by subqueries, so that
// the count and the pages join nothing unless a filter or sort asks for them.
var sessionColumns = map[string]column{
	SessionID: {"visitor_sessions.id", kindInt, false},
	// The number the account's systems know the session by (ExtID).
	SessionNumber:         {"visitor_sessions.ext_id", kindInt, true},
	SessionNumberText:     {"CAST(visitor_sessions.ext_id AS TEXT)", kindText, true},
	SessionStartedAt:      {"visitor_sessions.started_at", kindTime, false},
	SessionSiteID:         {"visitor_sessions.site_id", kindInt, false},
	SessionSiteDomain:     {"(SELECT s.domain FROM sites s WHERE s.id = visitor_sessions.site_id)", kindText, false},
	SessionCampaignID:     {"visitor_sessions.campaign_id", kindInt, true},
	SessionCampaignName:   {"(SELECT c.name FROM campaigns c WHERE c.id = visitor_sessions.campaign_id)", kindText, true},
	SessionContactID:      {"visitor_sessions.contact_id", kindInt, true},
	SessionIPAddress:      {"visitor_sessions.ip_address", kindText, false},
	SessionPlatform:       {"visitor_sessions.platform", kindText, false},
	SessionBrowser:        {"visitor_sessions.browser", kindText, false},
	SessionBrowserVersion: {"visitor_sessions.browser_version", kindText, false},
	SessionCountry:        {"visitor_sessions.country", kindText, false},
	SessionRegion:         {"visitor_sessions.region", kindText, false},
	SessionCity:           {"visitor_sessions.city", kindText, false},
	SessionISP:            {"visitor_sessions.isp", kindText, false},
	SessionReferrer:       {"visitor_sessions.referrer_url", kindText, false},
	SessionPageViews:      {"visitor_sessions.page_views", kindInt, false},
}

// VisitorSessionReport returns the page of the account's visitor sessions
// that q selects among those started in [q.From, q.To), oldest first unless
// q.Sort says otherwise, each with its site's domain, its campaign's name
// and its cases, and how many sessions of the window match q's filter. It
// returns FieldErrors for a missing From or To, and for q's problems (see
// ListQuery): an unknown field, a value of the wrong type, a bad offset or
// limit.
//
// The count is made within the window, over the index of the account's
// sessions by start time (idx_visitor_sessions_started), never over the
// account's whole history; a window's cost grows with the sessions in it.
// The page is read from whichever end of the matching rows is nearer, so
// that the last page skips no more rows than the first.
func (s *Store) VisitorSessionReport(ctx context.Context, accountID int64, q ListQuery) ([]SessionView, int64, error) {
	var fe FieldErrors
	if q.From.IsZero() {
		fe.Add("from", "must be given")
	}
	if q.To.IsZero() {
		fe.Add("to", "must be given")
	}
	plan, err := planList(sessionColumns, s.backend, q, SessionStartedAt, "visitor_sessions.id")
	if err != nil {
		fe = append(fe, err.(FieldErrors)...)
	}
	if err := fe.Err(); err != nil {
		return nil, 0, err
	}
	terms := orderTerms(sessionColumns, q.Sort, SessionStartedAt, "visitor_sessions.id")
	var out []SessionView
	var total int64
	err = s.readTx(ctx, func(tx *gorm.DB) error {
		base := func() *gorm.DB {
			d := tx.Model(&models.VisitorSession{}).Where("visitor_sessions.account_id = ? AND visitor_sessions.started_at >= ? AND visitor_sessions.started_at < ?",
				accountID, q.From.UTC(), q.To.UTC())
			if plan.where != "" {
				d = d.Where(plan.where, plan.args...)
			}
			return d
		}
		if err := base().Count(&total).Error; err != nil {
			return err
		}
		var rows []models.VisitorSession
		if err := findNearerEnd(base(), terms, total, int64(q.Offset), q.Limit, &rows); err != nil {
			return err
		}
		out, err = sessionViews(tx, accountID, rows)
		return err
	})
	if err != nil {
		return nil, 0, wrap("visitor session report", err)
	}
	return out, total, nil
}

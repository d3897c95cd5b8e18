package store

import (
	"context"

	"gorm.io/gorm"

	"switchboard/models"
)

// The fields a site list filters and sorts on (ListQuery).
const (
	SiteID        = "id"
	SiteDomain    = "domain"
	SiteCreatedAt = "created_at"
)

var siteColumns = map[string]column{
	SiteID:        {"sites.id", kindInt, false},
	SiteDomain:    {"sites.domain", kindText, false},
	SiteCreatedAt: {"sites.created_at", kindTime, false},
}

// SiteList returns the page of the account's sites that q selects, by id
// unless q.Sort says otherwise, and how many match q's filter; q.From and
// q.To are not used. It returns FieldErrors for q's problems (see
// ListQuery). The count is a full one: an account has few sites.
func (s *Store) SiteList(ctx context.Context, accountID int64, q ListQuery) ([]models.Site, int64, error) {
	plan, err := planList(siteColumns, s.backend, q, "", "sites.id")
	if err != nil {
		return nil, 0, err
	}
	var rows []models.Site
	var total int64
	err = s.readTx(ctx, func(tx *gorm.DB) error {
		var err error
		rows, total, err = listPage(tx, listSource[models.Site]{selects: "sites.id, sites.account_id, sites.domain, sites.created_at",
			from: "sites", base: "sites.account_id = ?", args: []any{accountID}, scan: scanSite}, plan, q)
		return err
	})
	if err != nil {
		return nil, 0, wrap("site list", err)
	}
	return rows, total, nil
}

func scanSite(r rowScanner) (models.Site, error) {
	var m models.Site
	err := r.Scan(&m.ID, &m.AccountID, &m.Domain, &m.CreatedAt)
	m.CreatedAt = m.CreatedAt.UTC()
	return m, err
}

// CampaignView is a campaign with the domain of its site.
type CampaignView struct {
	models.Campaign
	SiteDomain string
}

// The fields a campaign list filters and sorts on (ListQuery).
const (
	CampaignID         = "id"
	CampaignName       = "name"
	CampaignSiteID     = "site_id"
	CampaignSiteDomain = "site_domain"
	CampaignCreatedAt  = "created_at"
)

var campaignColumns = map[string]column{
	CampaignID:         {"campaigns.id", kindInt, false},
	CampaignName:       {"campaigns.name", kindText, false},
	CampaignSiteID:     {"campaigns.site_id", kindInt, false},
	CampaignSiteDomain: {"sites.domain", kindText, false},
	CampaignCreatedAt:  {"campaigns.created_at", kindTime, false},
}

// CampaignList returns the page of the account's campaigns that q selects,
// by id unless q.Sort says otherwise, each with its site's domain, and how
// many match q's filter; q.From and q.To are not used. It returns
// FieldErrors for q's problems (see ListQuery). The count is a full one: an
// account has few campaigns.
func (s *Store) CampaignList(ctx context.Context, accountID int64, q ListQuery) ([]CampaignView, int64, error) {
	plan, err := planList(campaignColumns, s.backend, q, "", "campaigns.id")
	if err != nil {
		return nil, 0, err
	}
	var rows []CampaignView
	var total int64
	err = s.readTx(ctx, func(tx *gorm.DB) error {
		var err error
		rows, total, err = listPage(tx, listSource[CampaignView]{
			selects: "campaigns.id, campaigns.account_id, campaigns.site_id, campaigns.name, campaigns.created_at, sites.domain",
			from:    "campaigns JOIN sites ON sites.id = campaigns.site_id",
			base:    "campaigns.account_id = ?", args: []any{accountID}, scan: scanCampaignView}, plan, q)
		return err
	})
	if err != nil {
		return nil, 0, wrap("campaign list", err)
	}
	return rows, total, nil
}

func scanCampaignView(r rowScanner) (CampaignView, error) {
	var m CampaignView
	err := r.Scan(&m.ID, &m.AccountID, &m.SiteID, &m.Name, &m.CreatedAt, &m.SiteDomain)
	m.CreatedAt = m.CreatedAt.UTC()
	return m, err
}

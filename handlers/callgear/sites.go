package callgear

import (
	"github.com/labstack/echo/v4"

	"switchboard/auth"
	"switchboard/models"
	"switchboard/store"
)

// getSites is get.sites {access_token, user_id, offset, limit, filter,
// fields, sort}: the account's sites, by id. See getList for the errors.
func (a *api) getSites(c echo.Context, cl auth.Caller, params map[string]any) (any, error) {
	return getList(a, c, cl, params, siteColumns(), listSpec{}, a.store.SiteList)
}

// getCampaigns is get.campaigns {access_token, user_id, offset, limit,
// filter, fields, sort}: the account's campaigns, by id. See getList for
// the errors.
func (a *api) getCampaigns(c echo.Context, cl auth.Caller, params map[string]any) (any, error) {
	return getList(a, c, cl, params, campaignColumns(), listSpec{}, a.store.CampaignList)
}

// siteColumns are get.sites' columns. A site is its domain: its name is the
// domain, and its call-tracking settings, keys and blocks are not
// switchboard's and are null. No site can be changed through the API, so
// none is_editable.
func siteColumns() columns[models.Site] {
	cols := columns[models.Site]{
		"id":            {field: store.SiteID, kind: kindNumber, filter: true, sort: true, byDefault: true, value: func(r models.Site) any { return r.ID }},
		"domain_name":   {field: store.SiteDomain, kind: kindText, filter: true, sort: true, byDefault: true, value: func(r models.Site) any { return r.Domain }},
		"name":          {field: store.SiteDomain, kind: kindText, filter: true, sort: true, byDefault: true, value: func(r models.Site) any { return r.Domain }},
		"creation_date": {field: store.SiteCreatedAt, kind: kindDateTime, filter: true, sort: true, byDefault: true, value: func(r models.Site) any { return r.CreatedAt }},
		"is_editable":   {byDefault: true, value: func(models.Site) any { return false }},
	}
	return nulls(cols, "default_phone_number", "default_scenario", "app_key", "site_key", "industry_id", "industry_name",
		"target_call_min_duration", "track_subdomains", "cookie_lifetime", "campaign_lifetime", "sales_enabled",
		"second_communication_period", "services_enabled", "replacement_dynamical_block_enabled", "widget_link",
		"show_visitor_id", "site_blocks", "connected_integrations", "is_support_web_directory", "child_customer_id",
		"parent_id", "state")
}

// Every campaign is an active basic one: switchboard's campaigns have no
// status and no engine. The status and type filters match every campaign
// for those values and none for the others (id is never null).
var (
	everyCampaign = store.Filter{Field: store.CampaignID, Op: store.OpNe, Value: nil}
	noCampaign    = store.Filter{Field: store.CampaignID, Op: store.OpEq, Value: nil}
)

// campaignColumns are get.campaigns' columns. Costs, conditions, number
// assignments and the static UTM values are not switchboard's and are
// null; the static UTM values come only when fields names them, as
// CallGear's do.
func campaignColumns() columns[store.CampaignView] {
	cols := columns[store.CampaignView]{
		"id":            {field: store.CampaignID, kind: kindNumber, filter: true, sort: true, byDefault: true, value: func(r store.CampaignView) any { return r.ID }},
		"name":          {field: store.CampaignName, kind: kindText, filter: true, sort: true, byDefault: true, value: func(r store.CampaignView) any { return r.Name }},
		"creation_time": {field: store.CampaignCreatedAt, kind: kindDateTime, filter: true, sort: true, byDefault: true, value: func(r store.CampaignView) any { return r.CreatedAt }},
		"site_id":       {field: store.CampaignSiteID, kind: kindNumber, filter: true, sort: true, byDefault: true, value: func(r store.CampaignView) any { return r.SiteID }},
		"site_domain_name": {field: store.CampaignSiteDomain, kind: kindText, filter: true, sort: true, byDefault: true,
			value: func(r store.CampaignView) any { return r.SiteDomain }},
		"status": {kind: kindEnum, filter: true, byDefault: true, enum: map[string]store.Filter{"active": everyCampaign, "inactive": noCampaign},
			value: func(store.CampaignView) any { return "active" }},
		"type": {kind: kindEnum, filter: true, byDefault: true,
			enum:  map[string]store.Filter{"basic": everyCampaign, "system": noCampaign, "integrated": noCampaign},
			value: func(store.CampaignView) any { return "basic" }},
	}
	cols = nulls(cols, "description", "campaign_conditions", "engine", "costs", "cost_ratio", "cost_ratio_operator",
		"site_blocks", "dynamic_call_tracking")
	for _, n := range []string{"static_utm_source", "static_utm_medium", "static_utm_campaign", "static_utm_term",
		"static_utm_content", "static_utm_referrer", "static_utm_expid"} {
		cols[n] = column[store.CampaignView]{value: func(store.CampaignView) any { return nil }}
	}
	return cols
}

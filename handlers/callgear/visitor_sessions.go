package callgear

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"switchboard/auth"
	"switchboard/models"
	"switchboard/store"
)

// getVisitorSessionsReport is get.visitor_sessions_report {access_token,
// user_id, date_from, date_till, offset, limit, filter, fields, sort}: the
// account's visitor sessions started in the period (at most three months),
// oldest first, each with the chats and offline messages that name it. A
// session is known by its number (the visitor_session_id uploads name it
// by), as id and, as text, ext_id. See getList for the errors.
func (a *api) getVisitorSessionsReport(c echo.Context, cl auth.Caller, params map[string]any) (any, error) {
	loc, err := a.location(c.Request().Context(), cl.AccountID)
	if err != nil {
		return nil, err
	}
	list := func(ctx context.Context, accountID int64, q store.ListQuery) ([]sessionRow, int64, error) {
		views, total, err := a.store.VisitorSessionReport(ctx, accountID, q)
		rows := make([]sessionRow, len(views))
		for i, v := range views {
			rows[i] = sessionRow{SessionView: v, loc: loc}
		}
		return rows, total, err
	}
	return getListIn(a, c, cl, loc, params, sessionColumns(), listSpec{dates: datesRequired}, list)
}

// sessionRow is a session of the report with the account's time zone, in
// which its communications' times are shown.
type sessionRow struct {
	store.SessionView
	loc *time.Location
}

// communication is one of a session's communications.
type communication struct {
	Type     string `json:"communication_type"`
	ID       int64  `json:"communication_id"`
	DateTime string `json:"communication_date_time"`
}

// communicationTypes are the cases a session lists, by channel, as
// CallGear's communication_type names them; cases of other channels are
// not CallGear communications.
var communicationTypes = map[models.Channel]string{models.ChannelChat: "chat", models.ChannelOffline: "offline_message"}

// communications returns the session's chats and offline messages, oldest
// first.
func (r sessionRow) communications() []communication {
	out := []communication{}
	for _, c := range r.Cases {
		if t, ok := communicationTypes[c.Channel]; ok {
			out = append(out, communication{Type: t, ID: c.ID, DateTime: c.StartedAt.In(r.loc).Format(dateTimeLayout)})
		}
	}
	return out
}

// referrerDomain returns the host of the session's referrer, or nil.
func (r sessionRow) referrerDomain() any {
	u, err := url.Parse(r.ReferrerURL)
	if err != nil || u.Hostname() == "" {
		return nil
	}
	return strings.ToLower(u.Hostname())
}

// sessionColumns are get.visitor_sessions_report's columns. A session's
// contact is both its person and its visitor; its platform is its
// operating system. Advertising labels, pages, segments, sources and the
// device are not recorded by switchboard and are null.
func sessionColumns() columns[sessionRow] {
	text := func(field string, get func(sessionRow) string) column[sessionRow] {
		return column[sessionRow]{field: field, kind: kindText, filter: true, sort: true, byDefault: true, value: func(r sessionRow) any { return get(r) }}
	}
	cols := columns[sessionRow]{
		"id": {field: store.SessionNumber, kind: kindNumber, filter: true, sort: true, byDefault: true,
			value: func(r sessionRow) any { return r.ExtID }},
		"ext_id": {field: store.SessionNumberText, kind: kindText, filter: true, sort: true, byDefault: true, value: func(r sessionRow) any {
			if r.ExtID == nil {
				return nil
			}
			return strconv.FormatInt(*r.ExtID, 10)
		}},
		"date_time": {field: store.SessionStartedAt, kind: kindDateTime, filter: true, sort: true, byDefault: true,
			value: func(r sessionRow) any { return r.StartedAt }},
		"site_id": {field: store.SessionSiteID, kind: kindNumber, filter: true, sort: true, byDefault: true,
			value: func(r sessionRow) any { return r.SiteID }},
		"site_domain_name": text(store.SessionSiteDomain, func(r sessionRow) string { return r.SiteDomain }),
		"campaign_id": {field: store.SessionCampaignID, kind: kindNumber, filter: true, sort: true, byDefault: true,
			value: func(r sessionRow) any { return r.CampaignID }},
		"campaign_name": {field: store.SessionCampaignName, kind: kindText, filter: true, sort: true, byDefault: true,
			value: func(r sessionRow) any { return r.CampaignName }},
		"person_id": {field: store.SessionContactID, kind: kindNumber, filter: true, sort: true, byDefault: true,
			value: func(r sessionRow) any { return r.ContactID }},
		"visitor_id": {field: store.SessionContactID, kind: kindNumber, filter: true, sort: true, byDefault: true,
			value: func(r sessionRow) any { return r.ContactID }},
		"visitor_country":         text(store.SessionCountry, func(r sessionRow) string { return r.Country }),
		"visitor_region":          text(store.SessionRegion, func(r sessionRow) string { return r.Region }),
		"visitor_city":            text(store.SessionCity, func(r sessionRow) string { return r.City }),
		"visitor_ip_address":      text(store.SessionIPAddress, func(r sessionRow) string { return r.IPAddress }),
		"visitor_browser_name":    text(store.SessionBrowser, func(r sessionRow) string { return r.Browser }),
		"visitor_browser_version": text(store.SessionBrowserVersion, func(r sessionRow) string { return r.BrowserVersion }),
		"visitor_os_name":         text(store.SessionPlatform, func(r sessionRow) string { return r.Platform }),
		"visitor_provider":        text(store.SessionISP, func(r sessionRow) string { return r.ISP }),
		"referrer":                text(store.SessionReferrer, func(r sessionRow) string { return r.ReferrerURL }),
		"referrer_domain":         {byDefault: true, value: func(r sessionRow) any { return r.referrerDomain() }},
		"hits_count": {field: store.SessionPageViews, kind: kindNumber, filter: true, sort: true, byDefault: true,
			value: func(r sessionRow) any { return r.PageViews }},
		"communications": {byDefault: true, value: func(r sessionRow) any { return r.communications() }},
	}
	return nulls(cols, "ua_client_id", "ym_client_id", "gclid", "yclid", "ef_id", "ymclid", "cm_id",
		"integrated_campaign_data", "search_engine", "search_query", "entrance_page", "exit_page", "duration",
		"channel", "engine", "visitor_device", "visitor_type", "visitor_os_version", "visitor_screen",
		"visitor_language", "visitor_custom_properties", "utm_source", "utm_medium", "utm_term", "utm_content",
		"utm_campaign", "openstat_ad", "openstat_campaign", "openstat_service", "openstat_source", "hits",
		"segments", "source_id", "source_name", "source_new", "channel_new", "channel_code")
}

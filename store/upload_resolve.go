package store

import (
	"sort"
	"time"

	"gorm.io/gorm"

	"switchboard/models"
)

// resolve reads the sites, campaigns and visitor sessions the items name and
// the cases their ext_ids already name, checks that they are the account's
// and agree, and returns each item's source with what the others imply
// filled in (a session's site and campaign, a campaign's site) and the
// session named by its id. times are the items' times, which may not be
// before their session; timeField names them. What it finds wrong it adds
// to b; it returns an error only when the database fails.
//
// An item names a visitor session by the number the account's systems know
// it by (its ExtID). A number the account has no session of is recorded as a
// new session (b.sessions) on the site and campaign of the first item naming
// it that gives a site_id or campaign_id, starting at the earliest time of
// the items naming it; those items' sources name it -1-k for b.sessions[k]
// until write takes its id. A number with no such item is not found.
func (b *batch) resolve(tx *gorm.DB, accountID int64, ch models.Channel, sources []UploadSource, times []time.Time, timeField string, exts []*string) ([]UploadSource, error) {
	// A transaction run again (see retrying) reads them afresh.
	clear(b.existing)
	b.sessions = b.sessions[:0]
	siteSet, campSet, sessSet := map[int64]bool{}, map[int64]bool{}, map[int64]bool{}
	var extList []string
	for i, src := range sources {
		if src.SiteID != nil {
			siteSet[*src.SiteID] = true
		}
		if src.CampaignID != nil {
			campSet[*src.CampaignID] = true
		}
		if src.VisitorSessionID != nil {
			sessSet[*src.VisitorSessionID] = true
		}
		if exts[i] != nil {
			extList = append(extList, *exts[i])
		}
	}
	sites, err := existingIDs(tx, "sites", accountID, keys(siteSet))
	if err != nil {
		return nil, err
	}
	type campaign struct{ ID, SiteID int64 }
	campaigns := map[int64]campaign{}
	for _, chunk := range chunks(keys(campSet)) {
		var rows []campaign
		if err := tx.Raw(`SELECT id, site_id FROM campaigns WHERE account_id = ? AND id IN ?`, accountID, chunk).Scan(&rows).Error; err != nil {
			return nil, err
		}
		for _, r := range rows {
			campaigns[r.ID] = r
		}
	}
	type session struct {
		ID         int64
		ExtID      int64
		SiteID     int64
		CampaignID *int64
		StartedAt  time.Time
		// planned is b.sessions[planned-1], a session this upload records;
		// 0 for one the account has.
		planned int
	}
	// sessions are by number (ExtID).
	sessions := map[int64]*session{}
	for _, chunk := range chunks(keys(sessSet)) {
		var rows []session
		if err := tx.Raw(`SELECT id, ext_id, site_id, campaign_id, started_at FROM visitor_sessions WHERE account_id = ? AND ext_id IN ?`,
			accountID, chunk).Scan(&rows).Error; err != nil {
			return nil, err
		}
		for k := range rows {
			sessions[rows[k].ExtID] = &rows[k]
		}
	}
	byExt := map[string]existingCase{}
	for _, chunk := range chunks(extList) {
		var rows []struct {
			ID         int64
			ExtID      string
			StartedAt  time.Time
			AssigneeID *int64
		}
		if err := tx.Raw(`SELECT id, ext_id, started_at, assignee_id FROM cases WHERE account_id = ? AND channel = ? AND ext_id IN ?`,
			accountID, string(ch), chunk).Scan(&rows).Error; err != nil {
			return nil, err
		}
		for _, r := range rows {
			byExt[r.ExtID] = existingCase{id: r.ID, startedAt: r.StartedAt.UTC(), assigneeID: r.AssigneeID}
		}
	}
	// Each item's site and campaign from its site_id and campaign_id.
	sitesOf, campsOf := make([]*int64, len(sources)), make([]*int64, len(sources))
	for i, src := range sources {
		if exts[i] != nil {
			if c, ok := byExt[*exts[i]]; ok {
				b.existing[i] = c
			}
		}
		site := src.SiteID
		if src.SiteID != nil && !sites[*src.SiteID] {
			b.add(i, ReasonNotFound, "site_id", *src.SiteID, "no site %d in this account", *src.SiteID)
		}
		if src.CampaignID != nil {
			c, ok := campaigns[*src.CampaignID]
			switch {
			case !ok:
				b.add(i, ReasonNotFound, "campaign_id", *src.CampaignID, "no campaign %d in this account", *src.CampaignID)
			case site != nil && c.SiteID != *site:
				b.add(i, ReasonCombination, "campaign_id", *src.CampaignID, "campaign %d is of site %d, not of site %d", c.ID, c.SiteID, *site)
			default:
				site = &c.SiteID
			}
		}
		sitesOf[i], campsOf[i] = site, src.CampaignID
	}
	// The sessions the account does not have, on the first site given with
	// them, from the earliest of their items' times.
	for i, src := range sources {
		if src.VisitorSessionID == nil {
			continue
		}
		n := *src.VisitorSessionID
		v := sessions[n]
		if v == nil && sitesOf[i] != nil {
			b.sessions = append(b.sessions, plannedSession{item: i, session: models.VisitorSession{
				AccountID: accountID, ExtID: &n, SiteID: *sitesOf[i], CampaignID: campsOf[i]}})
			v = &session{ExtID: n, SiteID: *sitesOf[i], CampaignID: campsOf[i], planned: len(b.sessions)}
			sessions[n] = v
		}
		if v != nil && v.planned > 0 && !times[i].IsZero() {
			ps := &b.sessions[v.planned-1].session
			if ps.StartedAt.IsZero() || times[i].Before(ps.StartedAt) {
				ps.StartedAt = times[i]
			}
		}
	}
	out := make([]UploadSource, len(sources))
	for i, src := range sources {
		site, camp := sitesOf[i], campsOf[i]
		var sessionID *int64
		if src.VisitorSessionID != nil {
			n := *src.VisitorSessionID
			v, ok := sessions[n]
			switch {
			case !ok:
				b.add(i, ReasonNotFound, "visitor_session_id", n,
					"no visitor session %d in this account: give site_id or campaign_id to record it", n)
			default:
				if site != nil && v.SiteID != *site {
					b.add(i, ReasonCombination, "visitor_session_id", n, "visitor session %d is on site %d, not on site %d", n, v.SiteID, *site)
				}
				if camp != nil && (v.CampaignID == nil || *v.CampaignID != *camp) {
					b.add(i, ReasonCombination, "visitor_session_id", n, "visitor session %d is not of campaign %d", n, *camp)
				}
				if src.NoCampaign && v.CampaignID != nil {
					b.add(i, ReasonCombination, "no_campaign", true, "visitor session %d is of campaign %d", n, *v.CampaignID)
				}
				if v.planned == 0 && !times[i].IsZero() && times[i].Before(v.StartedAt) {
					b.add(i, ReasonTime, timeField, times[i], "must not be before visitor session %d started", n)
				}
				site = &v.SiteID
				if camp == nil && !src.NoCampaign {
					camp = v.CampaignID
				}
				id := v.ID
				if v.planned > 0 {
					id = int64(-v.planned)
				}
				sessionID = &id
			}
		}
		out[i] = UploadSource{SiteID: site, CampaignID: camp, VisitorSessionID: sessionID}
	}
	return out, nil
}

// plannedSession is a visitor session an upload records: the first item
// naming it gives its contact.
type plannedSession struct {
	item    int
	session models.VisitorSession
}

// newSessions returns the visitor sessions resolve planned, each with the
// contact of its first item (contactIDs by item, as matchContacts returns
// them) and created at now.
func (b *batch) newSessions(contactIDs []int64, now time.Time) []models.VisitorSession {
	out := make([]models.VisitorSession, len(b.sessions))
	for k, ps := range b.sessions {
		out[k] = ps.session
		contact := contactIDs[ps.item]
		out[k].ContactID, out[k].CreatedAt = &contact, now
	}
	return out
}

// matchContacts returns the contact id of each item: the account's oldest
// contact with the item's email, else with its phone, else a new one, shared
// by the items of the batch with the same email or phone. A new contact is
// not written here: it comes back in fresh, and its items' ids are -1-k for
// fresh[k] (see upload.write). It reads with one statement per chunk of the
// batch and returns only the database's errors.
func matchContacts(tx *gorm.DB, now time.Time, accountID int64, in []UploadContact) (ids []int64, fresh []models.Contact, err error) {
	emailSet, phoneSet := map[string]bool{}, map[string]bool{}
	for _, c := range in {
		if c.Email != "" {
			emailSet[c.Email] = true
		}
		if c.Phone != "" {
			phoneSet[c.Phone] = true
		}
	}
	byEmail, byPhone := map[string]int64{}, map[string]int64{}
	type row struct {
		ID    int64
		Email string
		Phone string
	}
	var rows []row
	for _, chunk := range chunks(keys(emailSet)) {
		var part []row
		if err := tx.Raw(`SELECT id, email, phone FROM contacts WHERE account_id = ? AND email IN ?`, accountID, chunk).Scan(&part).Error; err != nil {
			return nil, nil, err
		}
		rows = append(rows, part...)
	}
	for _, chunk := range chunks(keys(phoneSet)) {
		var part []row
		if err := tx.Raw(`SELECT id, email, phone FROM contacts WHERE account_id = ? AND phone IN ?`, accountID, chunk).Scan(&part).Error; err != nil {
			return nil, nil, err
		}
		rows = append(rows, part...)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].ID < rows[j].ID })
	for _, r := range rows {
		if _, ok := byEmail[r.Email]; r.Email != "" && !ok {
			byEmail[r.Email] = r.ID
		}
		if _, ok := byPhone[r.Phone]; r.Phone != "" && !ok {
			byPhone[r.Phone] = r.ID
		}
	}
	ids = make([]int64, len(in))
	pendingEmail, pendingPhone := map[string]int{}, map[string]int{}
	for i, c := range in {
		// The oldest contact with the email, else with the phone, else one
		// this batch creates for an earlier item with the email or phone.
		if id, ok := byEmail[c.Email]; c.Email != "" && ok {
			ids[i] = id
			continue
		}
		if id, ok := byPhone[c.Phone]; c.Phone != "" && ok {
			ids[i] = id
			continue
		}
		k, ok := pendingEmail[c.Email]
		if !ok || c.Email == "" {
			k, ok = pendingPhone[c.Phone]
			ok = ok && c.Phone != ""
		}
		if !ok {
			k = len(fresh)
			fresh = append(fresh, models.Contact{AccountID: accountID, CreatedAt: now, UpdatedAt: now})
		}
		// A later item may tell more of a contact this batch creates.
		nc := &fresh[k]
		if nc.Name == "" {
			nc.Name = c.Name
		}
		if nc.Email == "" && c.Email != "" {
			nc.Email = c.Email
			pendingEmail[c.Email] = k
		}
		if nc.Phone == "" && c.Phone != "" {
			nc.Phone = c.Phone
			pendingPhone[c.Phone] = k
		}
		ids[i] = int64(-1 - k)
	}
	return ids, fresh, nil
}

// existingIDs returns which of ids are rows of the account in table.
func existingIDs(tx *gorm.DB, table string, accountID int64, ids []int64) (map[int64]bool, error) {
	out := map[int64]bool{}
	for _, chunk := range chunks(ids) {
		var found []int64
		if err := tx.Raw(`SELECT id FROM `+table+` WHERE account_id = ? AND id IN ?`, accountID, chunk).Scan(&found).Error; err != nil {
			return nil, err
		}
		for _, id := range found {
			out[id] = true
		}
	}
	return out, nil
}

package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"switchboard/models"
)

// CreateSite creates a site of the account. It returns FieldErrors for an
// empty or malformed domain or one over models.MaxDomainLen, and ErrNotFound
// for an unknown account.
func (s *Store) CreateSite(ctx context.Context, accountID int64, domain string) (models.Site, error) {
	domain = strings.ToLower(strings.TrimSpace(domain))
	switch {
	case len(domain) > models.MaxDomainLen:
		return models.Site{}, FieldErrors{{Field: "domain", Reason: ReasonTooLong, Limit: models.MaxDomainLen,
			Message: fmt.Sprintf("must be at most %d bytes, not %d", models.MaxDomainLen, len(domain))}}
	case domain == "" || strings.ContainsAny(domain, " /") || models.HasControl(domain) || !storable(domain):
		return models.Site{}, FieldErrors{{Field: "domain", Message: fmt.Sprintf("%q is not a domain name", domain)}}
	}
	var site models.Site
	err := s.write(ctx, s.db, func(tx *gorm.DB) error {
		if err := accountExists(tx, accountID); err != nil {
			return err
		}
		site = models.Site{AccountID: accountID, Domain: domain, CreatedAt: s.now()}
		if err := tx.Create(&site).Error; err != nil {
			return err
		}
		return s.appendEvents(tx, newEvent(accountID, models.EventSiteCreated, EventData{"site_id": site.ID, "domain": site.Domain}))
	})
	return site, wrap("create site", err)
}

// CreateCampaign creates a campaign of one of the account's sites. It returns
// FieldErrors for an empty name or one over models.MaxNameLen or holding
// control characters, and ErrNotFound when the site is not the account's.
func (s *Store) CreateCampaign(ctx context.Context, accountID, siteID int64, name string) (models.Campaign, error) {
	name = strings.TrimSpace(name)
	var fe FieldErrors
	if name == "" {
		fe.Add("name", "must not be empty")
	}
	checkLine(&fe, "name", name, models.MaxNameLen)
	if err := fe.Err(); err != nil {
		return models.Campaign{}, err
	}
	var c models.Campaign
	err := s.write(ctx, s.db, func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&models.Site{}).Where("account_id = ? AND id = ?", accountID, siteID).Count(&n).Error; err != nil {
			return err
		}
		if n == 0 {
			return notFound("site", siteID)
		}
		c = models.Campaign{AccountID: accountID, SiteID: siteID, Name: name, CreatedAt: s.now()}
		if err := tx.Create(&c).Error; err != nil {
			return err
		}
		return s.appendEvents(tx, newEvent(accountID, models.EventCampaignCreated,
			EventData{"site_id": siteID, "campaign_id": c.ID, "name": c.Name}))
	})
	return c, wrap("create campaign", err)
}

// NewVisitorSession is the input of CreateVisitorSession.
type NewVisitorSession struct {
	ContactID  *int64
	SiteID     int64
	CampaignID *int64
	// StartedAt zero means now.
	StartedAt time.Time
	IPAddress string
	Referrer  string
}

// CreateVisitorSession records a visit of the account's site, known by its
// id as its ExtID unless the account has a session of that number already.
// It returns ErrNotFound (a NotFoundError) when the site, campaign or contact is not
// the account's, and FieldErrors when the campaign is of another site.
func (s *Store) CreateVisitorSession(ctx context.Context, accountID int64, in NewVisitorSession) (models.VisitorSession, error) {
	var fe FieldErrors
	checkLine(&fe, "ip_address", in.IPAddress, models.MaxIPLen)
	checkLine(&fe, "referrer", in.Referrer, models.MaxURLLen)
	if err := fe.Err(); err != nil {
		return models.VisitorSession{}, err
	}
	var v models.VisitorSession
	err := s.write(ctx, s.db, func(tx *gorm.DB) error {
		var site models.Site
		if err := tx.Take(&site, "account_id = ? AND id = ?", accountID, in.SiteID).Error; err != nil {
			return notFoundOr(err, "site", in.SiteID)
		}
		if in.CampaignID != nil {
			var c models.Campaign
			if err := tx.Take(&c, "account_id = ? AND id = ?", accountID, *in.CampaignID).Error; err != nil {
				return notFoundOr(err, "campaign", *in.CampaignID)
			}
			if c.SiteID != in.SiteID {
				return FieldErrors{{Field: "campaign_id", Reason: ReasonCombination, Value: *in.CampaignID,
					Message: fmt.Sprintf("campaign %d is of site %d, not %d", c.ID, c.SiteID, in.SiteID)}}
			}
		}
		if in.ContactID != nil {
			if err := owned(tx, &models.Contact{}, "contact", accountID, *in.ContactID); err != nil {
				return err
			}
		}
		now := s.now()
		at := in.StartedAt.UTC().Truncate(time.Microsecond)
		if in.StartedAt.IsZero() {
			at = now
		}
		v = models.VisitorSession{
			AccountID: accountID, ContactID: in.ContactID, SiteID: in.SiteID, CampaignID: in.CampaignID,
			StartedAt: at, IPAddress: in.IPAddress, ReferrerURL: in.Referrer, CreatedAt: now,
		}
		if err := tx.Create(&v).Error; err != nil {
			return err
		}
		// The session is known by its id, unless an upload recorded a session
		// of the account under that number already: then it has none, and
		// creating it still works.
		var taken int64
		if err := tx.Model(&models.VisitorSession{}).Where("account_id = ? AND ext_id = ?", accountID, v.ID).Count(&taken).Error; err != nil {
			return err
		}
		if taken == 0 {
			id := v.ID
			v.ExtID = &id
			if err := tx.Model(&models.VisitorSession{}).Where("id = ?", v.ID).Update("ext_id", v.ID).Error; err != nil {
				return err
			}
		}
		// A visit is part of its site's record.
		ev := newEvent(accountID, models.EventVisitorSessionCreated, EventData{"site_id": v.SiteID, "visitor_session_id": v.ID})
		if v.ContactID != nil {
			ev.ContactID = *v.ContactID
		}
		return s.appendEvents(tx, ev)
	})
	return v, wrap("create visitor session", err)
}

package store

import (
	"context"
	"fmt"
	"strings"

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
		return tx.Create(&site).Error
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
		return tx.Create(&c).Error
	})
	return c, wrap("create campaign", err)
}

// CreateInbox connects an email address or SMS number to the account; a
// number is stored in E.164. It returns FieldErrors for an unknown kind, a
// malformed email address or a number that is not a valid one in
// international form (models.ParsePhone), ErrNotFound
// for an unknown account and ErrConflict when the account already has it.
func (s *Store) CreateInbox(ctx context.Context, accountID int64, kind models.InboxKind, address string) (models.Inbox, error) {
	address = strings.TrimSpace(address)
	var fe FieldErrors
	switch kind {
	case models.InboxEmail:
		address = models.NormalizeEmail(address)
		if !tooLongEmail(&fe, "address", address) && !models.ValidEmail(address) {
			fe.Add("address", "%q is not a valid email address", address)
		}
	case models.InboxSMS:
		if p := checkPhone(&fe, "address", address); p.E164 != "" {
			address = p.E164
		}
	default:
		fe.Add("kind", "%q is not one of email, sms", kind)
	}
	if err := fe.Err(); err != nil {
		return models.Inbox{}, err
	}
	var in models.Inbox
	err := s.write(ctx, s.db, func(tx *gorm.DB) error {
		if err := accountExists(tx, accountID); err != nil {
			return err
		}
		in = models.Inbox{AccountID: accountID, Kind: kind, Address: address, CreatedAt: s.now()}
		return tx.Create(&in).Error
	})
	return in, wrap("create inbox", err)
}

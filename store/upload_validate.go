package store

import (
	"fmt"
	"strings"
	"time"

	"switchboard/models"
)

// The messages of field errors a dialect may put in its own words: it
// matches on them.
const (
	// MsgAgentNeeded is the message of an agent's message without its agent.
	MsgAgentNeeded = "an agent's message needs its agent"
	// MsgAgentOnly is the message of an agent given for another sender's message.
	MsgAgentOnly = "only an agent's message has an agent"
	// MsgBeforeChatStart is the message of an uploaded chat's message older
	// than the chat.
	MsgBeforeChatStart = "must not be before the chat started"
	// MsgNoCampaignNeedsSite is the message of a source with NoCampaign and
	// no SiteID (field "site_id").
	MsgNoCampaignNeedsSite = "a source with no campaign needs its site_id"
	// MsgChatNoCampaign is the message of a chat's source with NoCampaign
	// (field "no_campaign"): only an offline message may say it had none.
	MsgChatNoCampaign = "a chat's source may not say it had no campaign"
)

// batch collects the field errors of an upload by item, so that they come
// out in the order of the request, and remembers what resolve found.
type batch struct {
	errs  [][]FieldError
	exts  map[string]int
	found bool
	// existing maps an item to the id of the case its ext_id already names.
	existing map[int]existingCase
	// sessions are the visitor sessions the upload records (see resolve).
	sessions []plannedSession
}

type existingCase struct {
	id         int64
	startedAt  time.Time
	assigneeID *int64
}

func newBatch(n int) *batch {
	return &batch{errs: make([][]FieldError, n), exts: map[string]int{}, existing: map[int]existingCase{}}
}

func (b *batch) add(i int, reason Reason, field string, value any, format string, args ...any) {
	b.errs[i] = append(b.errs[i], FieldError{Field: fmt.Sprintf("[%d].%s", i, field), Reason: reason, Value: value,
		Message: fmt.Sprintf(format, args...)})
	b.found = true
}

// err returns every collected error, item by item, or nil.
func (b *batch) err() error {
	if !b.found {
		return nil
	}
	var fe FieldErrors
	for _, e := range b.errs {
		fe = append(fe, e...)
	}
	return fe
}

// addAll records the field errors of item i, each field named within the
// item (as checkLine and its kin name them).
func (b *batch) addAll(i int, fe FieldErrors) {
	for _, f := range fe {
		f.Field = fmt.Sprintf("[%d].%s", i, f.Field)
		b.errs[i] = append(b.errs[i], f)
		b.found = true
	}
}

// contact normalises and checks an item's contact.
func (b *batch) contact(i int, c *UploadContact) {
	var fe FieldErrors
	c.Name, c.Phone = strings.TrimSpace(c.Name), strings.TrimSpace(c.Phone)
	c.Email = models.NormalizeEmail(c.Email)
	switch {
	case c.Email == "" && c.Phone == "":
		b.add(i, ReasonRequired, "contact.phone", nil, "phone or email is required")
	default:
		if c.Email != "" && !tooLongEmail(&fe, "contact.email", c.Email) && !models.ValidEmail(c.Email) {
			b.add(i, ReasonInvalid, "contact.email", c.Email, "%q is not a valid email address", c.Email)
		}
		if c.Phone != "" {
			if p, err := models.ParsePhone(c.Phone); err != nil {
				b.add(i, ReasonInvalid, "contact.phone", c.Phone, "%v", err)
			} else {
				c.Phone = p.E164
			}
		}
	}
	checkLine(&fe, "contact.name", c.Name, models.MaxNameLen)
	b.addAll(i, fe)
}

// source checks that an item names where it came from.
func (b *batch) source(i int, src UploadSource, chat bool) {
	switch {
	case src.NoCampaign && chat:
		b.add(i, ReasonInvalid, "no_campaign", true, MsgChatNoCampaign)
	case src.NoCampaign && src.SiteID == nil:
		b.add(i, ReasonRequired, "site_id", nil, MsgNoCampaignNeedsSite)
	case src.NoCampaign && src.CampaignID != nil:
		b.add(i, ReasonCombination, "campaign_id", *src.CampaignID, "no campaign and a campaign at once")
	case src.SiteID == nil && src.CampaignID == nil && src.VisitorSessionID == nil && !src.NoCampaign:
		b.add(i, ReasonRequired, "site_id", nil, "one of visitor_session_id, campaign_id, site_id is required")
	}
}

// extID checks that no two items of the batch carry the same ext_id.
func (b *batch) extID(i int, ext *string) {
	if ext == nil {
		return
	}
	if strings.TrimSpace(*ext) == "" {
		b.add(i, ReasonInvalid, "ext_id", *ext, "must not be blank")
		return
	}
	var fe FieldErrors
	checkLine(&fe, "ext_id", *ext, models.MaxExtIDLen)
	b.addAll(i, fe)
	if j, ok := b.exts[*ext]; ok {
		b.add(i, ReasonCombination, "ext_id", *ext, "ext_id %q is also item %d of this batch", *ext, j)
		return
	}
	b.exts[*ext] = i
}

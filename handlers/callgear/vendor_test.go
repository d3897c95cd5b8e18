package callgear_test

import (
	"testing"

	"switchboard/handlers/apitest"
	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

// TestVendorExamples sends the example requests of CallGear's upload pages,
// each naming a visitor session the account does not have yet, and checks
// each response against the page's reply structure (every key path there,
// with the same JSON type), then reads back the case and the session the
// upload recorded on the request's site and campaign.
func TestVendorExamples(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		tests := []struct {
			name    string
			request string
			session int64
			channel models.Channel
		}{
			{"upload.offline_messages", "upload.offline_messages.request.json", 7000001, models.ChannelOffline},
			{"upload.chats", "upload.chats.request.json", 7000002, models.ChannelChat},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				body := apitest.MustExample(t, "testdata/vendor/"+tt.request, map[string]any{
					"token": f.token, "user": f.admin.ID, "session": tt.session, "campaign": f.campaign.ID,
					"site": f.site.ID, "employee": f.agent.ID,
				})
				r := f.post(t, body)
				ids := mustIDs(t, r)
				apitest.AssertLike(t, "testdata/vendor/upload.response.json", []byte(r.body))
				if len(ids) != 1 {
					t.Fatalf("ids = %v, want 1", ids)
				}
				var v models.VisitorSession
				if err := st.GORM().Take(&v, "account_id = ? AND ext_id = ?", f.acct.ID, tt.session).Error; err != nil {
					t.Fatalf("visitor session %d: %v", tt.session, err)
				}
				if v.SiteID != f.site.ID || v.CampaignID == nil || *v.CampaignID != f.campaign.ID {
					t.Errorf("visitor session = %+v, want site %d and campaign %d", v, f.site.ID, f.campaign.ID)
				}
				c, err := st.Case(t.Context(), f.acct.ID, ids[0])
				if err != nil {
					t.Fatal(err)
				}
				if c.Channel != tt.channel || !c.Uploaded || c.VisitorSessionID == nil || *c.VisitorSessionID != v.ID ||
					c.Contact.Email != "visitor@example.com" || c.Contact.Phone != "+14155550100" {
					t.Errorf("case = %+v, want an uploaded %s case of session %d from visitor@example.com, +14155550100",
						c.Case, tt.channel, v.ID)
				}
			})
		}
	})
}

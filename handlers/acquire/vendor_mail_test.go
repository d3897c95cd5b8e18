package acquire_test

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"

	"switchboard/handlers/apitest"
	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

// TestVendorExamples_Mail sends the mail request of Acquire's page, with
// the fixture's case and contact in place of the page's ids and from the
// page's own address (an inbox of the account here), and checks the
// response against the page's example: every key path there, with the same
// JSON type.
func TestVendorExamples_Mail(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		mustInbox(t, st, f.open.AccountID, models.InboxEmail, "test@acquire.io")
		raw, err := os.ReadFile("testdata/vendor/mail-add-message.request.json")
		if err != nil {
			t.Fatal(err)
		}
		var example struct {
			Data map[string]any `json:"data"`
		}
		if err := json.Unmarshal(raw, &example); err != nil {
			t.Fatal(err)
		}
		example.Data["caseId"], example.Data["contactId"] = f.open.ID, f.contact.ID
		body, err := json.Marshal(example)
		if err != nil {
			t.Fatal(err)
		}
		for _, path := range []string{mailPath, strings.TrimPrefix(mailPath, "/api/v1")} {
			t.Run(path, func(t *testing.T) {
				r := f.do(t, request{Method: http.MethodPost, Path: path, Token: f.full, Body: strings.NewReader(string(body))})
				if r.status != http.StatusOK {
					t.Fatalf("status = %d: %s", r.status, r.body)
				}
				apitest.AssertLike(t, "testdata/vendor/mail-add-message.response.json", []byte(r.body))
			})
		}
	})
}

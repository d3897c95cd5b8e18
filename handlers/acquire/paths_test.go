package acquire_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"switchboard/store"
	"switchboard/store/storetest"
)

// TestRoutes_ShortPaths checks that every route answers at the short path
// the brief names (/voip/send-sms) as it does under /api/v1: the same
// status and body for the reads, a write made for the writes. apitest.Wrap
// fails the test where a short path is not in openapi.yaml.
func TestRoutes_ShortPaths(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		t.Run("reads", func(t *testing.T) {
			tests := []struct {
				name, path string
				query      url.Values
			}{
				{"case list", casesPath, url.Values{"where": {"status|eq|active"}}},
				{"case detail", fmt.Sprintf("%s/%d", casesPath, f.open.ID), nil},
				{"messages", messagesPath, url.Values{"threadId": {fmt.Sprint(f.closed.ID)}, "contactId": {fmt.Sprint(f.anon.ID)}}},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					long := f.get(t, tt.path, f.readOnly, tt.query)
					short := f.get(t, strings.TrimPrefix(tt.path, "/api/v1"), f.readOnly, tt.query)
					if long.status != http.StatusOK {
						t.Fatalf("%s = %d: %s", tt.path, long.status, long.body)
					}
					if short.status != long.status || short.body != long.body {
						t.Errorf("short path = %d %s\nwant %d %s", short.status, short.body, long.status, long.body)
					}
				})
			}
		})
		t.Run("writes", func(t *testing.T) {
			tests := []struct {
				name, path, token, body string
			}{
				{"chat add-message", addPath, f.chatOnly, vendorBody(f.open.ID)},
				{"mail add-message", mailPath, f.emailOnly, vendorMailBody(f.assigned.ID, f.contact.ID)},
				{"send-sms", smsPath, f.smsOnly, vendorSMSBody(f.open, f.contact.ID)},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					m0, _ := f.counts(t)
					r := f.do(t, request{Method: http.MethodPost, Path: strings.TrimPrefix(tt.path, "/api/v1"), Token: tt.token, Body: strings.NewReader(tt.body)})
					if r.status != http.StatusOK {
						t.Fatalf("status = %d: %s", r.status, r.body)
					}
					if m1, _ := f.counts(t); m1 != m0+1 {
						t.Errorf("messages %d -> %d, want one more", m0, m1)
					}
				})
			}
		})
	})
}

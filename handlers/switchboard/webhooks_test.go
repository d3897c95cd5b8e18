package switchboard_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"switchboard/handlers"
	"switchboard/handlers/switchboard"
	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

// webhookBody is a subscription as the routes answer it.
type webhookBody struct {
	ID             int64    `json:"id"`
	URL            string   `json:"url"`
	Format         string   `json:"format"`
	Events         []string `json:"events"`
	Status         string   `json:"status"`
	DisabledReason string   `json:"disabled_reason"`
	Secret         *string  `json:"secret"`
}

// mustCreate creates a subscription through the route and returns it.
func (f *fixture) mustCreate(t *testing.T, token, body string) webhookBody {
	t.Helper()
	r := f.do(t, http.MethodPost, "/switchboard/v1/webhooks", token, body)
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	var w webhookBody
	if err := json.Unmarshal([]byte(r.body), &w); err != nil {
		t.Fatal(err)
	}
	return w
}

func TestWebhooks_Create(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st, switchboard.Config{})
		tests := []struct {
			name       string
			token      string
			body       string
			wantStatus int
			wantCode   string
			// wantFields are the fields a 422 names.
			wantFields []string
			check      func(t *testing.T, w webhookBody)
		}{
			{name: "standard, secret made", token: f.admin,
				body:       `{"url":"https://hooks.example.com/a","format":"standard","events":["case.created","message.created"]}`,
				wantStatus: http.StatusCreated,
				check: func(t *testing.T, w webhookBody) {
					if w.Secret == nil || !strings.HasPrefix(*w.Secret, "whsec_") {
						t.Fatalf("secret %v, want whsec_...", w.Secret)
					}
					key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(*w.Secret, "whsec_"))
					if err != nil || len(key) != 24 {
						t.Errorf("secret key: %d bytes, %v; want 24", len(key), err)
					}
					if w.Status != "active" || w.Format != "standard" || strings.Join(w.Events, ",") != "case.created,message.created" {
						t.Errorf("got %+v", w)
					}
				}},
			{name: "helpcrunch, all events, secret given", token: f.admin,
				body:       `{"url":"http://hooks.example.com/hc","format":"helpcrunch","secret":"0123456789abcdef0123"}`,
				wantStatus: http.StatusCreated,
				check: func(t *testing.T, w webhookBody) {
					if w.Secret == nil || *w.Secret != "0123456789abcdef0123" || len(w.Events) != 0 {
						t.Errorf("got %+v", w)
					}
				}},
			{name: "acquire, secret made", token: f.admin,
				body:       `{"url":"https://hooks.example.com/aq","format":"acquire"}`,
				wantStatus: http.StatusCreated,
				check: func(t *testing.T, w webhookBody) {
					if w.Secret == nil || len(*w.Secret) != 64 {
						t.Errorf("secret %v, want 64 hex characters", w.Secret)
					}
				}},
			{name: "every field wrong at once", token: f.admin,
				body:       `{"url":"ftp://x","format":"zapier","secret":"short"}`,
				wantStatus: http.StatusUnprocessableEntity, wantCode: "invalid", wantFields: []string{"url", "format", "secret"}},
			{name: "unknown event of the format", token: f.admin,
				body:       `{"url":"https://hooks.example.com/a","format":"helpcrunch","events":["chat.new","chat.nope"]}`,
				wantStatus: http.StatusUnprocessableEntity, wantCode: "invalid", wantFields: []string{"events"}},
			{name: "standard secret not whsec", token: f.admin,
				body:       `{"url":"https://hooks.example.com/a","format":"standard","secret":"0123456789abcdef0123456789"}`,
				wantStatus: http.StatusUnprocessableEntity, wantCode: "invalid", wantFields: []string{"secret"}},
			{name: "wrong types and missing", token: f.admin,
				body:       `{"url":5,"events":"chat.new"}`,
				wantStatus: http.StatusUnprocessableEntity, wantCode: "invalid", wantFields: []string{"url", "format", "events"}},
			{name: "not JSON", token: f.admin, body: `{"url":`, wantStatus: http.StatusBadRequest, wantCode: "bad_request"},
			{name: "no key", body: `{}`, wantStatus: http.StatusUnauthorized, wantCode: "unauthorized"},
			{name: "revoked key", token: f.revoked, body: `{}`, wantStatus: http.StatusUnauthorized, wantCode: "unauthorized"},
			{name: "key without admin", token: f.read, body: `{}`, wantStatus: http.StatusForbidden, wantCode: "forbidden"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := f.do(t, http.MethodPost, "/switchboard/v1/webhooks", tt.token, tt.body)
				if r.status != tt.wantStatus {
					t.Fatalf("status %d, want %d: %s", r.status, tt.wantStatus, r.body)
				}
				if tt.wantCode != "" {
					if got := errorCode(t, r.body); got != tt.wantCode {
						t.Errorf("code %q, want %q", got, tt.wantCode)
					}
				}
				if tt.wantFields != nil {
					var e struct {
						Error struct {
							Fields []struct{ Field, Message string } `json:"fields"`
						} `json:"error"`
					}
					if err := json.Unmarshal([]byte(r.body), &e); err != nil {
						t.Fatal(err)
					}
					var got []string
					for _, fe := range e.Error.Fields {
						got = append(got, fe.Field)
					}
					if strings.Join(got, ",") != strings.Join(tt.wantFields, ",") {
						t.Errorf("fields %v, want %v: %s", got, tt.wantFields, r.body)
					}
				}
				if r.status == http.StatusUnauthorized && r.header.Get("WWW-Authenticate") != "Bearer" {
					t.Errorf("WWW-Authenticate %q, want Bearer", r.header.Get("WWW-Authenticate"))
				}
				if tt.check != nil {
					var w webhookBody
					if err := json.Unmarshal([]byte(r.body), &w); err != nil {
						t.Fatal(err)
					}
					tt.check(t, w)
				}
			})
		}
	})
}

func TestWebhooks_ReadDisableDelete(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st, switchboard.Config{})
		w := f.mustCreate(t, f.admin, `{"url":"https://hooks.example.com/a","format":"standard"}`)
		theirs := f.mustCreate(t, f.other, `{"url":"https://hooks.example.com/b","format":"acquire"}`)
		mine := fmt.Sprintf("/switchboard/v1/webhooks/%d", w.ID)
		other := fmt.Sprintf("/switchboard/v1/webhooks/%d", theirs.ID)
		tests := []struct {
			name, method, path, token string
			wantStatus                int
			wantCode                  string
			want                      func(t *testing.T, body string)
		}{
			{name: "list", method: http.MethodGet, path: "/switchboard/v1/webhooks", token: f.admin, wantStatus: http.StatusOK,
				want: func(t *testing.T, body string) {
					var l struct{ Webhooks []webhookBody }
					if err := json.Unmarshal([]byte(body), &l); err != nil {
						t.Fatal(err)
					}
					if len(l.Webhooks) != 1 || l.Webhooks[0].ID != w.ID || l.Webhooks[0].Secret != nil {
						t.Errorf("list %s: want only webhook %d without its secret", body, w.ID)
					}
				}},
			{name: "get", method: http.MethodGet, path: mine, token: f.admin, wantStatus: http.StatusOK,
				want: func(t *testing.T, body string) {
					if strings.Contains(body, "secret") {
						t.Errorf("get shows the secret: %s", body)
					}
				}},
			{name: "get another account's", method: http.MethodGet, path: other, token: f.admin, wantStatus: http.StatusNotFound, wantCode: "not_found"},
			{name: "get an id that is no number", method: http.MethodGet, path: "/switchboard/v1/webhooks/x1", token: f.admin, wantStatus: http.StatusNotFound, wantCode: "not_found"},
			{name: "get without admin", method: http.MethodGet, path: mine, token: f.chat, wantStatus: http.StatusForbidden, wantCode: "forbidden"},
			{name: "get without a key", method: http.MethodGet, path: mine, wantStatus: http.StatusUnauthorized, wantCode: "unauthorized"},
			{name: "list without admin", method: http.MethodGet, path: "/switchboard/v1/webhooks", token: f.read, wantStatus: http.StatusForbidden, wantCode: "forbidden"},
			{name: "deliveries, none yet", method: http.MethodGet, path: mine + "/deliveries", token: f.admin, wantStatus: http.StatusOK,
				want: func(t *testing.T, body string) {
					if body != `{"deliveries":[]}`+"\n" {
						t.Errorf("deliveries %q", body)
					}
				}},
			{name: "deliveries, failed only", method: http.MethodGet, path: mine + "/deliveries?status=failed&limit=5", token: f.admin, wantStatus: http.StatusOK},
			{name: "deliveries, bad status", method: http.MethodGet, path: mine + "/deliveries?status=lost", token: f.admin, wantStatus: http.StatusUnprocessableEntity, wantCode: "invalid"},
			{name: "deliveries of another account's", method: http.MethodGet, path: other + "/deliveries", token: f.admin, wantStatus: http.StatusNotFound, wantCode: "not_found"},
			{name: "disable another account's", method: http.MethodPost, path: other + "/disable", token: f.admin, wantStatus: http.StatusNotFound, wantCode: "not_found"},
			{name: "disable", method: http.MethodPost, path: mine + "/disable", token: f.admin, wantStatus: http.StatusOK,
				want: func(t *testing.T, body string) {
					var got webhookBody
					if err := json.Unmarshal([]byte(body), &got); err != nil {
						t.Fatal(err)
					}
					if got.Status != "disabled" || got.DisabledReason == "" {
						t.Errorf("disable: %s", body)
					}
				}},
			{name: "disable again", method: http.MethodPost, path: mine + "/disable", token: f.admin, wantStatus: http.StatusOK},
			{name: "delete another account's", method: http.MethodDelete, path: other, token: f.admin, wantStatus: http.StatusNotFound, wantCode: "not_found"},
			{name: "delete without admin", method: http.MethodDelete, path: mine, token: f.read, wantStatus: http.StatusForbidden, wantCode: "forbidden"},
			{name: "delete", method: http.MethodDelete, path: mine, token: f.admin, wantStatus: http.StatusNoContent},
			{name: "get after delete", method: http.MethodGet, path: mine, token: f.admin, wantStatus: http.StatusNotFound, wantCode: "not_found"},
			{name: "delete again", method: http.MethodDelete, path: mine, token: f.admin, wantStatus: http.StatusNotFound, wantCode: "not_found"},
			{name: "a method the route does not take", method: http.MethodPut, path: mine, token: f.admin, wantStatus: http.StatusMethodNotAllowed, wantCode: "method_not_allowed"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				srv := f.srv
				if tt.wantStatus == http.StatusMethodNotAllowed {
					srv = f.raw // no operation of the spec
				}
				r := f.doAt(t, srv, tt.method, tt.path, tt.token, "")
				if r.status != tt.wantStatus {
					t.Fatalf("status %d, want %d: %s", r.status, tt.wantStatus, r.body)
				}
				if tt.wantCode != "" {
					if got := errorCode(t, r.body); got != tt.wantCode {
						t.Errorf("code %q, want %q", got, tt.wantCode)
					}
				}
				if tt.want != nil {
					tt.want(t, r.body)
				}
			})
		}
		// The other account's subscription is untouched.
		if got, err := st.Webhook(context.Background(), f.two.ID, theirs.ID); err != nil || got.Status != models.WebhookActive {
			t.Errorf("the other account's webhook: %+v, %v", got, err)
		}
	})
}

func TestBuildWebhook(t *testing.T) {
	cats := handlers.WebhookCatalogs()
	tests := []struct {
		name      string
		in        switchboard.WebhookRequest
		wantTypes []models.EventType
		wantErr   string
	}{
		{name: "events map to types", in: switchboard.WebhookRequest{URL: "https://x.example", Format: "standard", Events: []string{"case.created", "case.created"}},
			wantTypes: []models.EventType{models.EventCaseCreated}},
		{name: "all events", in: switchboard.WebhookRequest{URL: "https://x.example", Format: "acquire"}},
		{name: "user in url", in: switchboard.WebhookRequest{URL: "https://u:p@x.example", Format: "acquire"}, wantErr: "url"},
		{name: "no host", in: switchboard.WebhookRequest{URL: "https://", Format: "acquire"}, wantErr: "url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := switchboard.BuildWebhook(cats, tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want one about %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got.Types) != fmt.Sprint(tt.wantTypes) || got.Secret == "" {
				t.Errorf("got %+v", got)
			}
		})
	}
}

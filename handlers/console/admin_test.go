package console_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"switchboard/auth"
	"switchboard/handlers/console"
	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

func TestConsole_Admin(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st, console.Config{})
		ctx := context.Background()
		b := f.browser(t)
		b.signIn("boss@example.com")
		t.Run("Page", func(t *testing.T) {
			b.get("/console/admin").want(t, http.StatusOK, "API keys", "agent@example.com", f.emailFrom, "No webhooks.")
		})
		t.Run("AgentRole403", func(t *testing.T) {
			a := f.browser(t)
			a.signIn("agent@example.com")
			a.get("/console/admin").want(t, http.StatusForbidden)
			a.post("/console/admin/inboxes", url.Values{"kind": {"email"}, "address": {"x@example.com"}}).want(t, http.StatusForbidden)
		})
		t.Run("Key", func(t *testing.T) {
			p := b.post("/console/admin/keys", url.Values{"name": {"dashboard"}, "scope": {"read", "chat"}})
			p.want(t, http.StatusCreated, `id="new-token"`, "dashboard")
			token := regexp.MustCompile(`<code>([^<]+)</code>`).FindStringSubmatch(p.body)
			if token == nil {
				t.Fatal("no token shown")
			}
			if again := b.get("/console/admin"); strings.Contains(again.body, token[1]) || !strings.Contains(again.body, "dashboard") {
				t.Error("the admin page shows the new key's token again, or not the key")
			}
			caller, err := f.keys.Authenticate(ctx, token[1])
			if err != nil || caller.AgentID != f.boss.ID || len(caller.Scopes) != 2 {
				t.Fatalf("the new key authenticates as %+v, %v; want the boss with read and chat", caller, err)
			}
			keys, err := st.ListAPIKeys(ctx, f.one.ID)
			if err != nil || len(keys) != 1 {
				t.Fatalf("keys %v, %v", keys, err)
			}
			if p := b.post("/console/admin/keys/"+keys[0].ID+"/revoke", nil); p.status != http.StatusSeeOther {
				t.Fatalf("revoke: %d\n%s", p.status, p.body)
			}
			if _, err := f.keys.Authenticate(ctx, token[1]); err == nil {
				t.Error("the revoked key still authenticates")
			}
			b.post("/console/admin/keys", url.Values{"name": {"x"}, "scope": {"everything"}}).want(t, http.StatusUnprocessableEntity)
		})
		t.Run("OtherAccountsKey404", func(t *testing.T) {
			k, _, err := f.keys.Issue(ctx, f.two.ID, authSpec())
			if err != nil {
				t.Fatal(err)
			}
			b.post("/console/admin/keys/"+k.ID+"/revoke", nil).want(t, http.StatusNotFound)
		})
		t.Run("Agent", func(t *testing.T) {
			p := b.post("/console/admin/agents", url.Values{"email": {"new@example.com"}, "password": {"new-agent-pw"}, "role": {"agent"}, "first_name": {"Nia"}})
			if p.status != http.StatusSeeOther {
				t.Fatalf("create agent: %d\n%s", p.status, p.body)
			}
			a, err := st.AgentByEmail(ctx, "new@example.com")
			if err != nil || a.AccountID != f.one.ID || a.Role != models.RoleAgent {
				t.Fatalf("agent %+v, %v", a, err)
			}
			b.post("/console/admin/agents", url.Values{"email": {"new@example.com"}, "password": {"new-agent-pw"}, "role": {"agent"}}).want(t, http.StatusConflict)
			b.post("/console/admin/agents", url.Values{"email": {"short@example.com"}, "password": {"short"}, "role": {"agent"}}).want(t, http.StatusUnprocessableEntity)
			p = b.post(fmt.Sprintf("/console/admin/agents/%d", a.ID), url.Values{"role": {"admin"}, "enabled": {"false"}})
			if p.status != http.StatusSeeOther {
				t.Fatalf("update agent: %d\n%s", p.status, p.body)
			}
			if a, err = st.Agent(ctx, f.one.ID, a.ID); err != nil || a.Role != models.RoleAdmin || a.Enabled {
				t.Errorf("agent after update %+v, %v; want a disabled admin", a, err)
			}
			b.post(fmt.Sprintf("/console/admin/agents/%d", f.boss.ID), url.Values{"role": {"superadmin"}, "enabled": {"false"}}).
				want(t, http.StatusUnprocessableEntity, "cannot disable yourself")
			b.post(fmt.Sprintf("/console/admin/agents/%d", f.boss2.ID), url.Values{"role": {"agent"}, "enabled": {"true"}}).want(t, http.StatusNotFound)
		})
		t.Run("Inbox", func(t *testing.T) {
			b.post("/console/admin/inboxes", url.Values{"kind": {"email"}, "address": {"sales@example.com"}}).want(t, http.StatusCreated, `id="new-secret"`, "sales@example.com")
			b.post("/console/admin/inboxes", url.Values{"kind": {"fax"}, "address": {"1"}}).want(t, http.StatusUnprocessableEntity)
		})
		t.Run("Webhook", func(t *testing.T) {
			w, err := st.CreateWebhook(ctx, f.one.ID, store.NewWebhook{URL: "https://hooks.example.com/x", Format: models.WebhookFormat("standard"), Secret: "whsec_c2VjcmV0c2VjcmV0c2VjcmV0"})
			if err != nil {
				t.Fatal(err)
			}
			b.get("/console/admin").want(t, http.StatusOK, "https://hooks.example.com/x")
			if p := b.post(fmt.Sprintf("/console/admin/webhooks/%d/disable", w.ID), nil); p.status != http.StatusSeeOther {
				t.Fatalf("disable: %d\n%s", p.status, p.body)
			}
			if w, err = st.Webhook(ctx, f.one.ID, w.ID); err != nil || w.Status != models.WebhookDisabled {
				t.Errorf("webhook %+v, %v; want disabled", w, err)
			}
		})
	})
}

func authSpec() auth.KeySpec { return auth.KeySpec{Name: "other"} }

func TestConsole_AdminWebhooks(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st, console.Config{})
		ctx := context.Background()
		b := f.browser(t)
		b.signIn("boss@example.com")
		b.get("/console/admin").want(t, http.StatusOK, `id="new-webhook"`)
		mustHooks := func(t *testing.T, n int) []models.Webhook {
			t.Helper()
			ws, err := st.Webhooks(ctx, f.one.ID)
			if err != nil || len(ws) != n {
				t.Fatalf("webhooks %+v, %v; want %d", ws, err, n)
			}
			return ws
		}
		t.Run("Refused", func(t *testing.T) {
			for _, tt := range []struct {
				name string
				form url.Values
				want string
			}{
				{"BadURL", url.Values{"url": {"ftp://hooks.example.com/x"}, "format": {"standard"}}, "url: must start with https:// or http://"},
				{"NoURL", url.Values{"url": {""}, "format": {"standard"}}, "url: must not be empty"},
				{"BadFormat", url.Values{"url": {"https://hooks.example.com/x"}, "format": {"xml"}}, "format: must be helpcrunch, acquire or standard"},
				{"BadEvent", url.Values{"url": {"https://hooks.example.com/x"}, "format": {"standard"}, "events": {"no.such.event"}}, `events: &#34;no.such.event&#34; is no standard event`},
				{"ShortSecret", url.Values{"url": {"https://hooks.example.com/x"}, "format": {"helpcrunch"}, "secret": {"short"}}, "secret:"},
			} {
				t.Run(tt.name, func(t *testing.T) {
					b.get("/console/admin")
					b.post("/console/admin/webhooks", tt.form).want(t, http.StatusBadRequest, tt.want, tt.form.Get("url"))
					mustHooks(t, 0)
				})
			}
		})
		t.Run("AgentRole403", func(t *testing.T) {
			a := f.browser(t)
			a.signIn("agent@example.com")
			a.post("/console/admin/webhooks", url.Values{"url": {"https://hooks.example.com/a"}, "format": {"standard"}}).want(t, http.StatusForbidden)
			mustHooks(t, 0)
		})
		t.Run("WrongCSRF403", func(t *testing.T) {
			b.post("/console/admin/webhooks", url.Values{"csrf": {"forged"}, "url": {"https://hooks.example.com/c"}, "format": {"standard"}}).want(t, http.StatusForbidden)
			mustHooks(t, 0)
		})
		var hook models.Webhook
		t.Run("Create", func(t *testing.T) {
			b.get("/console/admin")
			p := b.post("/console/admin/webhooks", url.Values{"url": {"https://hooks.example.com/new"}, "format": {"helpcrunch"}, "events": {" "}})
			p.want(t, http.StatusCreated, `id="new-webhook-secret"`, "https://hooks.example.com/new")
			secret := regexp.MustCompile(`id="new-webhook-secret"[^<]*<code>([0-9a-f]{64})</code>`).FindStringSubmatch(p.body)
			if secret == nil {
				t.Fatalf("no 64-hex secret shown\n%s", p.body)
			}
			hook = mustHooks(t, 1)[0]
			if hook.Secret != secret[1] || hook.Format != models.FormatHelpCrunch || hook.Status != models.WebhookActive {
				t.Errorf("stored %+v, want an active helpcrunch hook with the secret shown", hook)
			}
			again := b.get("/console/admin")
			again.want(t, http.StatusOK, "https://hooks.example.com/new", fmt.Sprintf("/console/admin/webhooks/%d/failed", hook.ID))
			if strings.Contains(again.body, secret[1]) {
				t.Error("the secret is shown again")
			}
			p = b.post("/console/admin/webhooks", url.Values{"url": {"https://hooks.example.com/std"}, "format": {"standard"},
				"secret": {"whsec_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"}})
			p.want(t, http.StatusCreated, "whsec_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0")
			mustHooks(t, 2)
		})
		t.Run("FailedDeliveries", func(t *testing.T) {
			if hook.ID == 0 {
				t.Skip("no webhook created")
			}
			path := fmt.Sprintf("/console/admin/webhooks/%d/failed", hook.ID)
			b.get(path).want(t, http.StatusOK, "No failed deliveries.", "https://hooks.example.com/new")
			if _, err := st.AddMessage(ctx, f.one.ID, f.annCase.ID, store.NewMessage{Sender: models.SenderContact, Kind: models.KindMessage, Text: "ping"}); err != nil {
				t.Fatal(err)
			}
			if _, err := st.FanOutWebhookEvents(ctx, func(w models.Webhook, _ models.Event) bool { return w.ID == hook.ID }); err != nil {
				t.Fatal(err)
			}
			claimed, err := st.ClaimWebhookDeliveries(ctx, 1, time.Minute)
			if err != nil || len(claimed) != 1 {
				t.Fatalf("claimed %+v, %v; want one delivery", claimed, err)
			}
			d := claimed[0].Delivery
			if err := st.WebhookDeliveryFailed(ctx, d.ID, d.Attempts, 502, "bad gateway from the receiver", nil); err != nil {
				t.Fatal(err)
			}
			b.get(path).want(t, http.StatusOK, "bad gateway from the receiver", "502", fmt.Sprintf("#%d", d.EventSeq))
			b.get(fmt.Sprintf("/console/admin/webhooks/%d/failed", hook.ID+1000)).want(t, http.StatusNotFound)
			a := f.browser(t)
			a.signIn("agent@example.com")
			a.get(path).want(t, http.StatusForbidden)
		})
		t.Run("OtherAccounts404", func(t *testing.T) {
			w, err := st.CreateWebhook(ctx, f.two.ID, store.NewWebhook{URL: "https://hooks.example.com/two", Format: models.FormatStandard, Secret: "whsec_c2VjcmV0c2VjcmV0c2VjcmV0"})
			if err != nil {
				t.Fatal(err)
			}
			b.get(fmt.Sprintf("/console/admin/webhooks/%d/failed", w.ID)).want(t, http.StatusNotFound)
		})
	})
}

// TestConsole_AdminRole: an admin (not a superadmin) has the admin page and
// its forms but not the offline messages page, and the navigation offers
// each role only what it may open.
func TestConsole_AdminRole(t *testing.T) {
	st := storetest.MustOpen(t, store.SQLite)
	f := mustFixture(t, st, console.Config{})
	hash, err := f.hasher.Hash(password)
	if err != nil {
		t.Fatal(err)
	}
	storetest.MustAgent(t, st, f.one.ID, "admin@example.com", models.RoleAdmin, hash)
	const adminLink, offlineLink = `<a href="/console/admin">Admin</a>`, `<a href="/console/offline"`
	tests := []struct {
		email             string
		admin, offline    int
		navAdmin, navOffl bool
	}{
		{"boss@example.com", http.StatusOK, http.StatusOK, true, true},
		{"admin@example.com", http.StatusOK, http.StatusForbidden, true, false},
		{"agent@example.com", http.StatusForbidden, http.StatusForbidden, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.email, func(t *testing.T) {
			b := f.browser(t)
			b.signIn(tt.email)
			inbox := b.get("/console")
			if got := strings.Contains(inbox.body, adminLink); got != tt.navAdmin {
				t.Errorf("Admin link shown: %v, want %v", got, tt.navAdmin)
			}
			if got := strings.Contains(inbox.body, offlineLink); got != tt.navOffl {
				t.Errorf("Offline messages link shown: %v, want %v", got, tt.navOffl)
			}
			b.get("/console/admin").want(t, tt.admin)
			b.get("/console/offline").want(t, tt.offline)
			if tt.admin == http.StatusOK {
				b.get("/console/admin")
				b.post("/console/admin/inboxes", url.Values{"kind": {"sms"}, "address": {"+1415555" + fmt.Sprint(1000+len(tt.email))}}).
					want(t, http.StatusCreated, `id="new-secret"`)
			}
		})
	}
}

package console

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"switchboard/auth"
	"switchboard/models"
	"switchboard/store"
)

// AdminStore is what the admin page reads and writes beyond Store;
// *store.Store is the real one.
type AdminStore interface {
	ListAPIKeys(ctx context.Context, accountID int64) ([]models.APIKey, error)
	RevokeAPIKey(ctx context.Context, id string) (models.APIKey, error)
	CreateAgent(ctx context.Context, accountID int64, in store.NewAgent) (models.Agent, error)
	UpdateAgent(ctx context.Context, accountID, id int64, in store.AgentUpdate) (models.Agent, error)
	CreateInbox(ctx context.Context, accountID int64, kind models.InboxKind, address string) (models.Inbox, error)
	Webhooks(ctx context.Context, accountID int64) ([]models.Webhook, error)
	DisableWebhook(ctx context.Context, accountID, id int64, reason string) (models.Webhook, error)
	CreateWebhook(ctx context.Context, accountID int64, in store.NewWebhook) (models.Webhook, error)
	Webhook(ctx context.Context, accountID, id int64) (models.Webhook, error)
	WebhookDeliveries(ctx context.Context, accountID, webhookID int64, f store.WebhookDeliveryFilter) ([]models.WebhookDelivery, error)
}

// adminData is the admin page's data.
type adminData struct {
	Keys     []models.APIKey
	Agents   []models.Agent
	Inboxes  []models.Inbox
	Webhooks []models.Webhook
	Scopes   []auth.Scope
	Roles    []models.Role
	Formats  []models.WebhookFormat
	// NewToken is a key just created: shown this once.
	NewToken string
	// NewSecret is an inbox's secret just created: shown this once.
	NewSecret string
	// NewWebhookSecret is a webhook's signing secret just created (given
	// or made): shown this once.
	NewWebhookSecret string
	// CanCreateWebhooks is whether the console was given the webhook check
	// (Config.BuildWebhook).
	CanCreateWebhooks bool
	// WebhookForm is the webhook form's input, kept when it was refused
	// (never the secret).
	WebhookForm webhookForm
}

// webhookForm is the admin page's new-webhook form as posted.
type webhookForm struct {
	URL, Format, Events string
}

// adminPage is GET /console/admin (admins and superadmins): the account's
// API keys, agents, inboxes and webhook subscriptions.
func (con *console) adminPage(c echo.Context) error {
	return con.showAdmin(c, http.StatusOK, "", adminData{})
}

// showAdmin renders the admin page with what d already holds (a token or
// secret shown once) and the problem, if any, at status.
func (con *console) showAdmin(c echo.Context, status int, problem string, d adminData) error {
	ctx, acc := c.Request().Context(), sessionOf(c).AccountID
	var err error
	if d.Keys, err = con.admin.ListAPIKeys(ctx, acc); err != nil {
		return err
	}
	// A CallGear login's session is no key an admin manages.
	d.Keys = slices.DeleteFunc(d.Keys, func(k models.APIKey) bool { return k.Kind == models.KeySession })
	if d.Agents, _, err = con.store.AgentPage(ctx, acc, 0, store.MaxLimit); err != nil {
		return err
	}
	if d.Inboxes, err = con.store.AccountInboxes(ctx, acc); err != nil {
		return err
	}
	if d.Webhooks, err = con.admin.Webhooks(ctx, acc); err != nil {
		return err
	}
	d.CanCreateWebhooks = con.cfg.BuildWebhook != nil
	d.Formats = []models.WebhookFormat{models.FormatStandard, models.FormatHelpCrunch, models.FormatAcquire}
	d.Scopes = auth.AllScopes()
	d.Roles = []models.Role{models.RoleSuperadmin, models.RoleAdmin, models.RoleAgent}
	c.Response().Header().Set("Cache-Control", "no-store")
	return con.render(c, status, "admin", pageData{Title: "Admin", Error: problem, Page: d})
}

// adminDone answers an admin form: back to the admin page (303) when it
// went through, the page with the problem when the input was refused (422,
// or 409 for a duplicate), and any other error to renderErrors.
func (con *console) adminDone(c echo.Context, err error) error {
	if err == nil {
		return seeOther(c, pathAdmin)
	}
	var fe store.FieldErrors
	switch {
	case errors.As(err, &fe), errors.Is(err, auth.ErrWeakPassword):
		return con.showAdmin(c, http.StatusUnprocessableEntity, err.Error(), adminData{})
	case errors.Is(err, store.ErrConflict):
		return con.showAdmin(c, http.StatusConflict, err.Error(), adminData{})
	}
	return err
}

// createKey is POST /console/admin/keys: a new API key acting as the
// signed-in agent, with the scopes ticked (all when none is), shown once.
func (con *console) createKey(c echo.Context) error {
	if con.keys == nil {
		return errors.New("console: no key issuer")
	}
	form, err := c.FormParams()
	if err != nil {
		return err
	}
	scopes, err := auth.ParseScopes(strings.Join(form["scope"], ","))
	if err != nil {
		var fe store.FieldErrors
		fe.Add("scope", "%v", err)
		return con.adminDone(c, fe)
	}
	s := sessionOf(c)
	agent := s.AgentID
	_, token, err := con.keys.Issue(c.Request().Context(), s.AccountID, auth.KeySpec{AgentID: &agent, Name: strings.TrimSpace(form.Get("name")), Scopes: scopes})
	if err != nil {
		return con.adminDone(c, err)
	}
	return con.showAdmin(c, http.StatusCreated, "", adminData{NewToken: token})
}

// revokeKey is POST /console/admin/keys/{key}/revoke: the account's key
// stops working. A key of another account is 404.
func (con *console) revokeKey(c echo.Context) error {
	ctx, acc := c.Request().Context(), sessionOf(c).AccountID
	keys, err := con.admin.ListAPIKeys(ctx, acc)
	if err != nil {
		return err
	}
	id := c.Param("key")
	if !slices.ContainsFunc(keys, func(k models.APIKey) bool { return k.ID == id }) {
		return store.ErrNotFound
	}
	if _, err = con.admin.RevokeAPIKey(ctx, id); err == nil {
		// This replica stops taking it at once; the others within their
		// key cache's few seconds.
		if f, ok := con.keys.(interface{ Forget(id string) }); ok {
			f.Forget(id)
		}
	}
	return con.adminDone(c, err)
}

// createAgent is POST /console/admin/agents: an agent of the account with
// the form's email, password, role and name.
func (con *console) createAgent(c echo.Context) error {
	hash, err := auth.Hasher{}.Hash(c.FormValue("password"))
	if err != nil {
		return con.adminDone(c, err)
	}
	role := models.Role(c.FormValue("role"))
	if role == models.RoleSuperadmin && sessionOf(c).Agent.Role != models.RoleSuperadmin {
		return errForbidden
	}
	_, err = con.admin.CreateAgent(c.Request().Context(), sessionOf(c).AccountID, store.NewAgent{Email: c.FormValue("email"), PasswordHash: hash,
		Role: role, FirstName: c.FormValue("first_name"), LastName: c.FormValue("last_name")})
	return con.adminDone(c, err)
}

// updateAgent is POST /console/admin/agents/{agent}: the agent's role
// and whether it is enabled. Only a superadmin makes or unmakes a
// superadmin, and no one disables or demotes themselves.
func (con *console) updateAgent(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("agent"), 10, 64)
	if err != nil || id <= 0 {
		return store.ErrNotFound
	}
	s := sessionOf(c)
	ctx := c.Request().Context()
	target, err := con.store.Agent(ctx, s.AccountID, id)
	if err != nil {
		return err
	}
	role := models.Role(c.FormValue("role"))
	enabled := c.FormValue("enabled") == "true"
	if s.Agent.Role != models.RoleSuperadmin && (role == models.RoleSuperadmin || target.Role == models.RoleSuperadmin) {
		return errForbidden
	}
	if id == s.AgentID && (!enabled || role != s.Agent.Role) {
		var fe store.FieldErrors
		fe.Add("agent", "you cannot disable yourself or change your own role")
		return con.adminDone(c, fe)
	}
	_, err = con.admin.UpdateAgent(ctx, s.AccountID, id, store.AgentUpdate{Role: &role, Enabled: &enabled})
	return con.adminDone(c, err)
}

// createInbox is POST /console/admin/inboxes: an email address or SMS
// number of the account; its secret (for the inbound email route) is shown
// once.
func (con *console) createInbox(c echo.Context) error {
	in, err := con.admin.CreateInbox(c.Request().Context(), sessionOf(c).AccountID, models.InboxKind(c.FormValue("kind")), c.FormValue("address"))
	if err != nil {
		return con.adminDone(c, err)
	}
	return con.showAdmin(c, http.StatusCreated, "", adminData{NewSecret: in.Secret})
}

// disableWebhook is POST /console/admin/webhooks/{webhook}/disable: the
// subscription stops getting events.
func (con *console) disableWebhook(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("webhook"), 10, 64)
	if err != nil || id <= 0 {
		return store.ErrNotFound
	}
	s := sessionOf(c)
	_, err = con.admin.DisableWebhook(c.Request().Context(), s.AccountID, id, "disabled in the console by "+s.Agent.Email)
	return con.adminDone(c, err)
}

// createWebhook is POST /console/admin/webhooks: a subscription of the
// account with the form's url, format, events (comma-separated; none: all)
// and secret (none: a new one), checked as the REST route and the CLI check
// it (Config.BuildWebhook). Its secret is shown once (201). Input refused is
// the page with every field's problem at 400, nothing written.
func (con *console) createWebhook(c echo.Context) error {
	if con.cfg.BuildWebhook == nil {
		return errors.New("console: no webhook check configured")
	}
	form := webhookForm{URL: c.FormValue("url"), Format: strings.TrimSpace(c.FormValue("format")), Events: c.FormValue("events")}
	var events []string
	for _, e := range strings.Split(form.Events, ",") {
		if e = strings.TrimSpace(e); e != "" {
			events = append(events, e)
		}
	}
	nw, err := con.cfg.BuildWebhook(form.URL, form.Format, events, strings.TrimSpace(c.FormValue("secret")))
	if err == nil {
		_, err = con.admin.CreateWebhook(c.Request().Context(), sessionOf(c).AccountID, nw)
	}
	var fe store.FieldErrors
	switch {
	case errors.As(err, &fe):
		// The same status the REST route gives the same input.
		return con.showAdmin(c, http.StatusBadRequest, err.Error(), adminData{WebhookForm: form})
	case err != nil:
		return err
	}
	return con.showAdmin(c, http.StatusCreated, "", adminData{NewWebhookSecret: nw.Secret})
}

// deliveriesData is the failed-deliveries page's data.
type deliveriesData struct {
	Webhook    models.Webhook
	Deliveries []models.WebhookDelivery
}

// failedDeliveries is GET /console/admin/webhooks/{webhook}/failed: the
// subscription's deliveries that failed for good, newest first (the most
// recent 100, as `switchboard webhook deliveries --status failed` lists
// them). A webhook of another account is 404.
func (con *console) failedDeliveries(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("webhook"), 10, 64)
	if err != nil || id <= 0 {
		return store.ErrNotFound
	}
	ctx, acc := c.Request().Context(), sessionOf(c).AccountID
	var d deliveriesData
	if d.Webhook, err = con.admin.Webhook(ctx, acc, id); err != nil {
		return err
	}
	if d.Deliveries, err = con.admin.WebhookDeliveries(ctx, acc, id, store.WebhookDeliveryFilter{Status: models.DeliveryFailed}); err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return con.render(c, http.StatusOK, "deliveries", pageData{Title: "Failed deliveries", Page: d})
}

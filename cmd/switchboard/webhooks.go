package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"switchboard/handlers"
	"switchboard/handlers/switchboard"
	"switchboard/models"
	"switchboard/store"
)

// webhookFlags are the flags of the "webhook" subcommands; each uses some.
type webhookFlags struct {
	common
	json    bool
	account int64
	id      int64
	url     string
	format  string
	events  string
	secret  string
	status  string
	limit   int
}

// disabledByCLI is the reason a subscription disabled here shows.
const disabledByCLI = "disabled with switchboard webhook disable"

// webhookCmd runs "switchboard webhook create|list|disable|delete|deliveries":
// args[0] is the subcommand (run dispatches only those).
func webhookCmd(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) error {
	sub, args := args[0], args[1:]
	var f webhookFlags
	var fs *flag.FlagSet
	required := []string{"account"}
	switch sub {
	case "create":
		fs = newFlagSet("webhook create [flags]", "Subscribes a URL to an account's events, sent in a format's wire shape and signed with a secret.\n"+
			"Without --secret one is made and printed, only this once.")
		fs.StringVar(&f.url, "url", "", "where the events are POSTed: an http or https URL (required)")
		fs.StringVar(&f.format, "format", "", "helpcrunch, acquire or standard (Standard Webhooks) (required)")
		fs.StringVar(&f.events, "events", "", "comma-separated event names of the format (default: all)")
		fs.StringVar(&f.secret, "secret", "", "the signing secret (default: a new one; standard: whsec_ and base64)")
		required = append(required, "url", "format")
	case "list":
		fs = newFlagSet("webhook list [flags]", "Lists an account's webhook subscriptions by id. Secrets are never shown.")
	case "disable":
		fs = newFlagSet("webhook disable [flags]", "Stops sending to a subscription, keeping it, and its deliveries for --event-retention. Disabling twice changes nothing.")
		required = append(required, "id")
	case "delete":
		fs = newFlagSet("webhook delete [flags]", "Deletes a subscription and its deliveries.")
		required = append(required, "id")
	case "deliveries":
		fs = newFlagSet("webhook deliveries [flags]", "Lists a subscription's deliveries, newest first.")
		fs.StringVar(&f.status, "status", "", "only deliveries in this status: queued, sending, sent or failed")
		fs.IntVar(&f.limit, "limit", 100, "most deliveries listed, 1 to 100")
		required = append(required, "id")
	default:
		return fmt.Errorf("webhook %s: no such subcommand", sub)
	}
	fs.Int64Var(&f.account, "account", 0, "account id (required)")
	if slices.Contains(required, "id") {
		fs.Int64Var(&f.id, "id", 0, "webhook id (required)")
	}
	f.addCommon(fs)
	fs.BoolVar(&f.json, "json", false, "print JSON")
	if err := parse(fs, args, env, stdout, stderr); err != nil {
		return err
	}
	given := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { given[fl.Name] = true })
	for _, name := range required {
		if !given[name] {
			fmt.Fprintf(stderr, "switchboard webhook %s: missing --%s\n", sub, name)
			return errUsage
		}
	}
	if sub == "deliveries" {
		if f.status != "" && !slices.Contains([]string{"queued", "sending", "sent", "failed"}, f.status) {
			fmt.Fprintf(stderr, "switchboard webhook deliveries: --status %q: want queued, sending, sent or failed\n", f.status)
			return errUsage
		}
		if f.limit < 1 || f.limit > 100 {
			fmt.Fprintf(stderr, "switchboard webhook deliveries: --limit %d: want 1 to 100\n", f.limit)
			return errUsage
		}
	}
	var nw store.NewWebhook
	if sub == "create" {
		in := switchboard.WebhookRequest{URL: f.url, Format: f.format, Secret: f.secret}
		if given["events"] {
			for name := range strings.SplitSeq(f.events, ",") {
				if name = strings.TrimSpace(name); name != "" {
					in.Events = append(in.Events, name)
				}
			}
		}
		var err error
		if nw, err = switchboard.BuildWebhook(handlers.WebhookCatalogs(), in); err != nil {
			var fe store.FieldErrors
			if errors.As(err, &fe) {
				for _, e := range fe {
					fmt.Fprintf(stderr, "switchboard webhook create: --%s: %s\n", e.Field, e.Message)
				}
				return errUsage
			}
			return err
		}
	}
	log, err := f.logger(stderr)
	if err != nil {
		return err
	}
	st, _, err := openStore(ctx, f.common, log)
	if err != nil {
		return err
	}
	defer st.Close()

	switch sub {
	case "create":
		w, err := st.CreateWebhook(ctx, f.account, nw)
		if err != nil {
			return err
		}
		if f.json {
			return json.NewEncoder(stdout).Encode(struct {
				ID     int64  `json:"id"`
				Secret string `json:"secret"`
			}{w.ID, w.Secret})
		}
		_, err = fmt.Fprintf(stdout, "webhook %d created\nsecret: %s\nThe secret is shown only this once.\n", w.ID, w.Secret)
		return err
	case "list":
		list, err := st.Webhooks(ctx, f.account)
		if err != nil {
			return err
		}
		if f.json {
			out := make([]webhookView, len(list))
			for i, w := range list {
				out[i] = webhookJSON(w)
			}
			return json.NewEncoder(stdout).Encode(out)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tFORMAT\tSTATUS\tURL\tEVENTS\tCREATED")
		for _, w := range list {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", w.ID, w.Format, w.Status, w.URL, orAll(w.Events), timeText(&w.CreatedAt))
		}
		return tw.Flush()
	case "disable":
		w, err := st.DisableWebhook(ctx, f.account, f.id, disabledByCLI)
		if err != nil {
			return err
		}
		if f.json {
			return json.NewEncoder(stdout).Encode(webhookJSON(w))
		}
		_, err = fmt.Fprintf(stdout, "webhook %d disabled\n", w.ID)
		return err
	case "delete":
		if err := st.DeleteWebhook(ctx, f.account, f.id); err != nil {
			return err
		}
		if f.json {
			return json.NewEncoder(stdout).Encode(map[string]any{"id": f.id, "deleted": true})
		}
		_, err = fmt.Fprintf(stdout, "webhook %d deleted\n", f.id)
		return err
	default: // deliveries
		list, err := st.WebhookDeliveries(ctx, f.account, f.id, store.WebhookDeliveryFilter{Status: models.DeliveryStatus(f.status), Limit: f.limit})
		if err != nil {
			return err
		}
		if f.json {
			out := make([]webhookDeliveryView, len(list))
			for i, d := range list {
				out[i] = webhookDeliveryJSON(d)
			}
			return json.NewEncoder(stdout).Encode(out)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tEVENT\tSTATUS\tATTEMPTS\tHTTP\tLAST ATTEMPT\tNEXT ATTEMPT\tLAST ERROR")
		for _, d := range list {
			v := webhookDeliveryJSON(d)
			fmt.Fprintf(tw, "%d\t%d\t%s\t%d\t%d\t%s\t%s\t%s\n", d.ID, d.EventSeq, d.Status, d.Attempts, d.ResponseStatus,
				timeText(d.LastAttemptAt), timeText(v.NextAttemptAt), orDash(d.LastError))
		}
		return tw.Flush()
	}
}

// orAll returns s, or "all" for an empty event list.
func orAll(s string) string {
	if s == "" {
		return "all"
	}
	return s
}

// webhookView is a subscription as the webhook commands print it in JSON.
type webhookView struct {
	ID             int64     `json:"id"`
	AccountID      int64     `json:"account_id"`
	URL            string    `json:"url"`
	Format         string    `json:"format"`
	Events         []string  `json:"events"`
	Status         string    `json:"status"`
	DisabledReason string    `json:"disabled_reason"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

func webhookJSON(w models.Webhook) webhookView {
	events := []string{}
	if w.Events != "" {
		events = strings.Split(w.Events, ",")
	}
	return webhookView{ID: w.ID, AccountID: w.AccountID, URL: w.URL, Format: string(w.Format), Events: events,
		Status: string(w.Status), DisabledReason: w.DisabledReason, CreatedAt: w.CreatedAt.UTC(), UpdatedAt: w.UpdatedAt.UTC()}
}

// webhookDeliveryView is a delivery as "webhook deliveries" prints it in JSON.
type webhookDeliveryView struct {
	ID             int64      `json:"id"`
	DeliveryID     string     `json:"delivery_id"`
	EventID        int64      `json:"event_id"`
	EventSeq       int64      `json:"event_seq"`
	Status         string     `json:"status"`
	Attempts       int        `json:"attempts"`
	ResponseStatus int        `json:"response_status"`
	LastError      string     `json:"last_error"`
	LastAttemptAt  *time.Time `json:"last_attempt_at"`
	NextAttemptAt  *time.Time `json:"next_attempt_at"`
	CreatedAt      time.Time  `json:"created_at"`
}

// webhookDeliveryJSON returns the printable view of a delivery: its next
// attempt only while one is due.
func webhookDeliveryJSON(d models.WebhookDelivery) webhookDeliveryView {
	v := webhookDeliveryView{ID: d.ID, DeliveryID: d.Reference, EventID: d.EventID, EventSeq: d.EventSeq, Status: string(d.Status),
		Attempts: d.Attempts, ResponseStatus: d.ResponseStatus, LastError: d.LastError, LastAttemptAt: utc(d.LastAttemptAt),
		CreatedAt: d.CreatedAt.UTC()}
	if d.Status == models.DeliveryQueued || d.Status == models.DeliverySending {
		next := d.NextAttemptAt.UTC()
		v.NextAttemptAt = &next
	}
	return v
}

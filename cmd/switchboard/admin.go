package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"switchboard/auth"
	"switchboard/models"
	"switchboard/store"
)

// migrate runs "switchboard migrate": it applies the migrations the
// database lacks and prints them, with --json as {"applied":[...],"version":N}.
func migrate(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) error {
	var c common
	var asJSON bool
	fs := newFlagSet("migrate [flags]", "Applies every migration the database lacks and exits; serve does the same at start.")
	c.addCommon(fs)
	fs.BoolVar(&asJSON, "json", false, `print {"applied":[versions],"version":N}: the versions applied now and the schema's version`)
	if err := parse(fs, args, env, stdout, stderr); err != nil {
		return err
	}
	log, err := c.logger(stderr)
	if err != nil {
		return err
	}
	st, applied, err := openStore(ctx, c, log)
	if err != nil {
		return err
	}
	defer st.Close()
	ver, err := st.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	if asJSON {
		return json.NewEncoder(stdout).Encode(struct {
			Applied []int `json:"applied"`
			Version int   `json:"version"`
		}{append([]int{}, applied...), ver})
	}
	_, err = fmt.Fprintf(stdout, "applied %d migration(s) %v; schema version %d\n", len(applied), applied, ver)
	return err
}

// createFlags are the flags of every "X create" command; each command uses some.
type createFlags struct {
	common
	json       bool
	name       string
	timezone   string
	account    int64
	site       int64
	email      string
	password   string
	role       string
	firstName  string
	lastName   string
	domain     string
	kind       string
	address    string
	emailsPH   int
	smsPH      int
	rateLimit  int
	dailyLimit int
	// smsPremium is --sms-allow-premium.
	smsPremium bool
	id         int64
}

// createSynopsis returns what "switchboard KIND create" does, for its help.
func createSynopsis(kind string) string {
	switch kind {
	case "account":
		return "Creates an account (a tenant) and prints its id. Its API keys may send --emails-per-hour emails and\n--sms-per-hour SMS an hour (0: the defaults, 1000 and 200), and each key may make --rate-limit requests\na minute and --daily-rate-limit a day (0: the defaults, 120 and 100000). Its agents may text premium-rate,\nshared-cost, UAN and unknown-type numbers only with --sms-allow-premium."
	case "agent":
		return "Creates an agent of an account and prints its id. --password - reads the password from standard input."
	case "site":
		return "Creates a site of an account and prints its id."
	case "campaign":
		return "Creates a campaign of one of an account's sites and prints its id."
	case "inbox":
		return "Connects an email address or SMS number to an account and prints the inbox id, then the inbox's\n" +
			"secret: the credential a mail provider forwarding raw email to POST /switchboard/v1/inbound/email/{id}\n" +
			"presents. The secret is shown only this once ('inbox rotate-secret' makes a new one)."
	case "department":
		return "Creates a department of an account (a team chats are routed to) and prints its id. Its name is\nthe account's only one of that name."
	}
	return ""
}

// create runs "switchboard KIND create".
func create(ctx context.Context, kind string, args []string, env func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	var f createFlags
	var required []string
	fs := newFlagSet(kind+" create [flags]", createSynopsis(kind))
	f.addCommon(fs)
	fs.BoolVar(&f.json, "json", false, "print the new record as one JSON object")
	switch kind {
	case "account":
		fs.StringVar(&f.name, "name", "", "account name (required)")
		fs.StringVar(&f.timezone, "timezone", store.DefaultTimezone, "IANA time zone of the account")
		fs.IntVar(&f.emailsPH, "emails-per-hour", 0, "most emails the account's keys may send an hour (0: 1000)")
		fs.IntVar(&f.smsPH, "sms-per-hour", 0, "most SMS the account's keys may send an hour (0: 200)")
		fs.IntVar(&f.rateLimit, "rate-limit", 0, "requests each of the account's keys may make a minute (0: 120)")
		fs.IntVar(&f.dailyLimit, "daily-rate-limit", 0, "requests each of the account's keys may make a day (0: 100000)")
		fs.BoolVar(&f.smsPremium, "sms-allow-premium", false, smsPremiumUsage)
		required = []string{"name"}
	case "agent":
		fs.Int64Var(&f.account, "account", 0, "account id (required)")
		fs.StringVar(&f.email, "email", "", "login email, unique across accounts (required)")
		fs.StringVar(&f.password, "password", "", "password, 8 to 72 bytes, or - to read it from standard input (required)")
		fs.StringVar(&f.role, "role", "", "superadmin, admin or agent (required)")
		fs.StringVar(&f.firstName, "first-name", "", "first name")
		fs.StringVar(&f.lastName, "last-name", "", "last name")
		required = []string{"account", "email", "password", "role"}
	case "site":
		fs.Int64Var(&f.account, "account", 0, "account id (required)")
		fs.StringVar(&f.domain, "domain", "", "domain name (required)")
		required = []string{"account", "domain"}
	case "campaign":
		fs.Int64Var(&f.account, "account", 0, "account id (required)")
		fs.Int64Var(&f.site, "site", 0, "site id (required)")
		fs.StringVar(&f.name, "name", "", "campaign name (required)")
		required = []string{"account", "site", "name"}
	case "inbox":
		fs.Int64Var(&f.account, "account", 0, "account id (required)")
		fs.StringVar(&f.kind, "kind", "", "email or sms (required)")
		fs.StringVar(&f.address, "address", "", "email address, or SMS number in international form, as +14155550100 (required)")
		required = []string{"account", "kind", "address"}
	case "department":
		fs.Int64Var(&f.account, "account", 0, "account id (required)")
		fs.StringVar(&f.name, "name", "", "department name, unique in the account (required)")
		required = []string{"account", "name"}
	}
	if err := parse(fs, args, env, stdout, stderr); err != nil {
		return err
	}
	if err := requireFlags(fs, kind+" create", stderr, required...); err != nil {
		return err
	}
	log, err := f.logger(stderr)
	if err != nil {
		return err
	}
	if kind == "agent" && f.password == "-" {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read password: %w", err)
		}
		f.password = strings.TrimRight(line, "\r\n")
	}
	st, _, err := openStore(ctx, f.common, log)
	if err != nil {
		return err
	}
	defer st.Close()

	var out map[string]any
	switch kind {
	case "account":
		a, err := st.CreateAccount(ctx, store.NewAccount{Name: f.name, Timezone: f.timezone, EmailsPerHour: f.emailsPH, SMSPerHour: f.smsPH,
			RateLimit: f.rateLimit, DailyRateLimit: f.dailyLimit, SMSAllowPremium: f.smsPremium})
		if err != nil {
			return err
		}
		out = accountJSON(a)
	case "agent":
		hash, err := auth.Hasher{}.Hash(f.password)
		if err != nil {
			return fmt.Errorf("--password: %w", err)
		}
		a, err := st.CreateAgent(ctx, f.account, store.NewAgent{
			Email: f.email, PasswordHash: hash, Role: models.Role(f.role), FirstName: f.firstName, LastName: f.lastName,
		})
		if err != nil {
			return err
		}
		out = map[string]any{"id": a.ID, "account_id": a.AccountID, "email": a.Email, "role": a.Role}
	case "site":
		s, err := st.CreateSite(ctx, f.account, f.domain)
		if err != nil {
			return err
		}
		out = map[string]any{"id": s.ID, "account_id": s.AccountID, "domain": s.Domain}
	case "campaign":
		c, err := st.CreateCampaign(ctx, f.account, f.site, f.name)
		if err != nil {
			return err
		}
		out = map[string]any{"id": c.ID, "account_id": c.AccountID, "site_id": c.SiteID, "name": c.Name}
	case "inbox":
		in, err := st.CreateInbox(ctx, f.account, models.InboxKind(f.kind), f.address)
		if err != nil {
			return err
		}
		out = inboxJSON(in)
		if !f.json {
			_, err = fmt.Fprintf(stdout, "%d\nsecret: %s\n", in.ID, in.Secret)
			return err
		}
	case "department":
		d, err := st.CreateDepartment(ctx, f.account, f.name)
		if err != nil {
			return err
		}
		out = departmentJSON(d)
	}
	if f.json {
		return json.NewEncoder(stdout).Encode(out)
	}
	_, err = fmt.Fprintln(stdout, out["id"])
	return err
}

// inboxJSON is an inbox as the inbox commands print it; "secret" only when
// the inbox carries one (just made or rotated).
func inboxJSON(in models.Inbox) map[string]any {
	out := map[string]any{"id": in.ID, "account_id": in.AccountID, "kind": in.Kind, "address": in.Address}
	if in.Secret != "" {
		out["secret"] = in.Secret
	}
	return out
}

// rotateInboxSecret runs "switchboard inbox rotate-secret": it gives an
// inbox a new secret, prints it once, and the old one stops working.
func rotateInboxSecret(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) error {
	var f createFlags
	fs := newFlagSet("inbox rotate-secret --account ID --id ID [flags]", "Gives an inbox a new secret for mail forwarded over HTTP and prints it, only this once; the old\nsecret stops working at once.")
	f.addCommon(fs)
	fs.BoolVar(&f.json, "json", false, "print the inbox with its secret as one JSON object")
	fs.Int64Var(&f.account, "account", 0, "account id (required)")
	fs.Int64Var(&f.id, "id", 0, "inbox id (required)")
	if err := parse(fs, args, env, stdout, stderr); err != nil {
		return err
	}
	var missing []string
	if f.account == 0 {
		missing = append(missing, "--account")
	}
	if f.id == 0 {
		missing = append(missing, "--id")
	}
	if len(missing) > 0 {
		fmt.Fprintf(stderr, "switchboard inbox rotate-secret: missing %s\n", strings.Join(missing, ", "))
		return errUsage
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
	in, err := st.RotateInboxSecret(ctx, f.account, f.id)
	if err != nil {
		return err
	}
	if f.json {
		return json.NewEncoder(stdout).Encode(inboxJSON(in))
	}
	_, err = fmt.Fprintf(stdout, "secret: %s\n", in.Secret)
	return err
}

func accountJSON(a models.Account) map[string]any {
	return map[string]any{"id": a.ID, "name": a.Name, "timezone": a.Timezone,
		"emails_per_hour": a.EmailsPerHour, "sms_per_hour": a.SMSPerHour,
		"rate_limit": a.RateLimit, "daily_rate_limit": a.DailyRateLimit, "sms_allow_premium": a.SMSAllowPremium}
}

// smsPremiumUsage is the help of --sms-allow-premium on account create and update.
const smsPremiumUsage = "let the account's agents text premium-rate, shared-cost, UAN and unknown-type numbers,\n" +
	"which may cost far more than an ordinary SMS (--sms-allow-premium=false refuses them again)"

// updateAccount runs "switchboard account update": it changes the flags given
// and prints the account's id, or the whole account with --json.
func updateAccount(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) error {
	var f createFlags
	fs := newFlagSet("account update --id ID [flags]", "Changes an account's name, time zone, hourly quotas, request limits or SMS settings; flags left out stay\nas they are. A changed request limit holds on every replica within 5 seconds.")
	f.addCommon(fs)
	fs.BoolVar(&f.json, "json", false, "print the account as one JSON object")
	fs.Int64Var(&f.id, "id", 0, "account id (required)")
	fs.StringVar(&f.name, "name", "", "new name")
	fs.StringVar(&f.timezone, "timezone", "", "new IANA time zone")
	fs.IntVar(&f.emailsPH, "emails-per-hour", 0, "most emails the account's keys may send an hour (0: the default, 1000)")
	fs.IntVar(&f.smsPH, "sms-per-hour", 0, "most SMS the account's keys may send an hour (0: the default, 200)")
	fs.IntVar(&f.rateLimit, "rate-limit", 0, "requests each of the account's keys may make a minute (0: the default, 120)")
	fs.IntVar(&f.dailyLimit, "daily-rate-limit", 0, "requests each of the account's keys may make a day (0: the default, 100000)")
	fs.BoolVar(&f.smsPremium, "sms-allow-premium", false, smsPremiumUsage)
	if err := parse(fs, args, env, stdout, stderr); err != nil {
		return err
	}
	var up store.AccountUpdate
	given := false
	fs.Visit(func(fl *flag.Flag) {
		switch fl.Name {
		case "name":
			up.Name, given = &f.name, true
		case "timezone":
			up.Timezone, given = &f.timezone, true
		case "emails-per-hour":
			up.EmailsPerHour, given = &f.emailsPH, true
		case "sms-per-hour":
			up.SMSPerHour, given = &f.smsPH, true
		case "rate-limit":
			up.RateLimit, given = &f.rateLimit, true
		case "daily-rate-limit":
			up.DailyRateLimit, given = &f.dailyLimit, true
		case "sms-allow-premium":
			up.SMSAllowPremium, given = &f.smsPremium, true
		}
	})
	if f.id == 0 || !given {
		fmt.Fprintln(stderr, "switchboard account update: want --id and at least one of --name, --timezone, --emails-per-hour, --sms-per-hour, --rate-limit, --daily-rate-limit, --sms-allow-premium")
		return errUsage
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
	a, err := st.UpdateAccount(ctx, f.id, up)
	if err != nil {
		return err
	}
	if f.json {
		return json.NewEncoder(stdout).Encode(accountJSON(a))
	}
	_, err = fmt.Fprintln(stdout, a.ID)
	return err
}

func departmentJSON(d models.Department) map[string]any {
	return map[string]any{"id": d.ID, "account_id": d.AccountID, "name": d.Name, "created_at": d.CreatedAt.UTC().Format(time.RFC3339)}
}

// listDepartments runs "switchboard department list": the account's
// departments by id, as a table or, with --json, one JSON array.
func listDepartments(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) error {
	var f createFlags
	fs := newFlagSet("department list --account ID [flags]", "Lists an account's departments, oldest first.")
	f.addCommon(fs)
	fs.BoolVar(&f.json, "json", false, "print the departments as one JSON array")
	fs.Int64Var(&f.account, "account", 0, "account id (required)")
	if err := parse(fs, args, env, stdout, stderr); err != nil {
		return err
	}
	given := false
	fs.Visit(func(fl *flag.Flag) { given = given || fl.Name == "account" })
	if !given {
		fmt.Fprintln(stderr, "switchboard department list: missing --account")
		return errUsage
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
	list, err := st.Departments(ctx, f.account)
	if err != nil {
		return err
	}
	if f.json {
		out := make([]map[string]any, len(list))
		for i, d := range list {
			out[i] = departmentJSON(d)
		}
		return json.NewEncoder(stdout).Encode(out)
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tNAME\tCREATED")
	for _, d := range list {
		fmt.Fprintf(w, "%d\t%s\t%s\n", d.ID, d.Name, timeText(&d.CreatedAt))
	}
	return w.Flush()
}

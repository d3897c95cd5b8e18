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

// listSpec is one "NOUN list" command: what it lists and how it prints a row.
type listSpec[T any] struct {
	// name is the noun ("agent"); synopsis what its help says.
	name, synopsis string
	// perAccount makes --account required and passes it to fetch.
	perAccount bool
	fetch      func(ctx context.Context, st *store.Store, accountID int64) ([]T, error)
	// view is a row in JSON; header and row are the table.
	view   func(T) any
	header string
	row    func(T) string
}

// runList runs a list command: the rows as a table or, with --json, one
// JSON array.
func runList[T any](ctx context.Context, spec listSpec[T], args []string, env func(string) string, stdout, stderr io.Writer) error {
	var c common
	var asJSON bool
	var account int64
	use := spec.name + " list [flags]"
	if spec.perAccount {
		use = spec.name + " list --account ID [flags]"
	}
	fs := newFlagSet(use, spec.synopsis)
	if spec.perAccount {
		fs.Int64Var(&account, "account", 0, "account id (required)")
	}
	fs.BoolVar(&asJSON, "json", false, "print one JSON array")
	c.addCommon(fs)
	if err := parse(fs, args, env, stdout, stderr); err != nil {
		return err
	}
	if spec.perAccount {
		given := false
		fs.Visit(func(f *flag.Flag) { given = given || f.Name == "account" })
		if !given {
			fmt.Fprintf(stderr, "switchboard %s list: missing --account\n", spec.name)
			return errUsage
		}
	}
	log, err := c.logger(stderr)
	if err != nil {
		return err
	}
	st, _, err := openStore(ctx, c, log)
	if err != nil {
		return err
	}
	defer st.Close()
	rows, err := spec.fetch(ctx, st, account)
	if err != nil {
		return err
	}
	if asJSON {
		out := make([]any, len(rows))
		for i, r := range rows {
			out[i] = spec.view(r)
		}
		return json.NewEncoder(stdout).Encode(out)
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, spec.header)
	for _, r := range rows {
		fmt.Fprintln(w, spec.row(r))
	}
	return w.Flush()
}

// listAccounts runs "switchboard account list".
func listAccounts(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) error {
	return runList(ctx, listSpec[models.Account]{
		name: "account", synopsis: "Lists every account by id, with its time zone, hourly quotas and request limits.",
		fetch: func(ctx context.Context, st *store.Store, _ int64) ([]models.Account, error) { return st.Accounts(ctx) },
		view: func(a models.Account) any {
			v := accountJSON(a)
			v["created_at"] = a.CreatedAt.UTC().Format(time.RFC3339)
			return v
		},
		header: "ID\tNAME\tTIMEZONE\tEMAILS/H\tSMS/H\tREQUESTS/MIN\tREQUESTS/DAY\tPREMIUM SMS\tCREATED",
		row: func(a models.Account) string {
			return fmt.Sprintf("%d\t%s\t%s\t%d\t%d\t%d\t%d\t%s\t%s", a.ID, a.Name, a.Timezone, a.EmailsPerHour, a.SMSPerHour,
				a.RateLimit, a.DailyRateLimit, yesNo(a.SMSAllowPremium), timeText(&a.CreatedAt))
		},
	}, args, env, stdout, stderr)
}

// agentJSON is an agent as the agent commands print it: never its password
// or hash.
func agentJSON(a models.Agent) map[string]any {
	return map[string]any{"id": a.ID, "account_id": a.AccountID, "email": a.Email, "role": a.Role,
		"first_name": a.FirstName, "last_name": a.LastName, "enabled": a.Enabled,
		"last_login_at": utc(a.LastLoginAt), "created_at": a.CreatedAt.UTC().Format(time.RFC3339)}
}

// listAgents runs "switchboard agent list".
func listAgents(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) error {
	return runList(ctx, listSpec[models.Agent]{
		name: "agent", synopsis: "Lists an account's agents by id, disabled ones included.", perAccount: true,
		fetch: func(ctx context.Context, st *store.Store, account int64) ([]models.Agent, error) {
			return st.AccountAgents(ctx, account)
		},
		view:   func(a models.Agent) any { return agentJSON(a) },
		header: "ID\tEMAIL\tROLE\tNAME\tENABLED\tLAST LOGIN\tCREATED",
		row: func(a models.Agent) string {
			return fmt.Sprintf("%d\t%s\t%s\t%s\t%s\t%s\t%s", a.ID, a.Email, a.Role, orDash(a.FullName()), yesNo(a.Enabled),
				timeText(a.LastLoginAt), timeText(&a.CreatedAt))
		},
	}, args, env, stdout, stderr)
}

// listSites runs "switchboard site list".
func listSites(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) error {
	return runList(ctx, listSpec[models.Site]{
		name: "site", synopsis: "Lists an account's sites by id.", perAccount: true,
		fetch: func(ctx context.Context, st *store.Store, account int64) ([]models.Site, error) {
			return st.Sites(ctx, account)
		},
		view: func(s models.Site) any {
			return map[string]any{"id": s.ID, "account_id": s.AccountID, "domain": s.Domain, "created_at": s.CreatedAt.UTC().Format(time.RFC3339)}
		},
		header: "ID\tDOMAIN\tCREATED",
		row:    func(s models.Site) string { return fmt.Sprintf("%d\t%s\t%s", s.ID, s.Domain, timeText(&s.CreatedAt)) },
	}, args, env, stdout, stderr)
}

// listInboxes runs "switchboard inbox list".
func listInboxes(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) error {
	return runList(ctx, listSpec[models.Inbox]{
		name: "inbox", synopsis: "Lists an account's inboxes by id. Secrets are never shown (only their hashes are kept):\n'inbox rotate-secret' makes a new one.", perAccount: true,
		fetch: func(ctx context.Context, st *store.Store, account int64) ([]models.Inbox, error) {
			return st.Inboxes(ctx, account)
		},
		view: func(in models.Inbox) any {
			v := inboxJSON(in)
			v["has_secret"] = in.SecretHash != ""
			v["created_at"] = in.CreatedAt.UTC().Format(time.RFC3339)
			return v
		},
		header: "ID\tKIND\tADDRESS\tSECRET\tCREATED",
		row: func(in models.Inbox) string {
			return fmt.Sprintf("%d\t%s\t%s\t%s\t%s", in.ID, in.Kind, in.Address, yesNo(in.SecretHash != ""), timeText(&in.CreatedAt))
		},
	}, args, env, stdout, stderr)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// setAgentPassword runs "switchboard agent set-password": it reads one line
// from stdin, checks it as agent create does, and stores its hash; the
// agent's login sessions end with the old password.
func setAgentPassword(ctx context.Context, args []string, env func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	var c common
	var asJSON bool
	var account, id int64
	fs := newFlagSet("agent set-password --account ID --id ID [flags] < password",
		fmt.Sprintf("Gives an agent a new password, read from the first line of standard input (never a flag: a flag\n"+
			"shows in the process list and the shell's history), %d to %d bytes. The agent's login sessions\n"+
			"(CallGear login.user tokens) are revoked; its API keys keep working.", auth.MinPasswordLen, auth.MaxPasswordLen))
	fs.Int64Var(&account, "account", 0, "account id (required)")
	fs.Int64Var(&id, "id", 0, "agent id (required)")
	fs.BoolVar(&asJSON, "json", false, "print the agent as one JSON object")
	c.addCommon(fs)
	if err := parse(fs, args, env, stdout, stderr); err != nil {
		return err
	}
	if err := requireFlags(fs, "agent set-password", stderr, "account", "id"); err != nil {
		return err
	}
	log, err := c.logger(stderr)
	if err != nil {
		return err
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read the password from standard input: %w", err)
	}
	password := strings.TrimRight(line, "\r\n")
	if password == "" {
		return errors.New("standard input holds no password: want it on the first line")
	}
	hash, err := auth.Hasher{}.Hash(password)
	if err != nil {
		return fmt.Errorf("the password from standard input: %w", err)
	}
	st, _, err := openStore(ctx, c, log)
	if err != nil {
		return err
	}
	defer st.Close()
	a, err := st.SetAgentPassword(ctx, account, id, hash)
	if err != nil {
		return err
	}
	if asJSON {
		return json.NewEncoder(stdout).Encode(agentJSON(a))
	}
	_, err = fmt.Fprintf(stdout, "agent %d: password changed\n", a.ID)
	return err
}

// setAgentEnabled returns the runner of "switchboard agent disable" (enabled
// false) or "agent enable": a disabled agent's password, sessions and API
// keys stop working on every replica, its record and history stay.
func setAgentEnabled(enabled bool) runner {
	verb, synopsis := "disable", "Disables an agent: its password logins, sessions and API keys stop working on every replica;\nits record and history stay ('agent enable' undoes it)."
	if enabled {
		verb, synopsis = "enable", "Enables a disabled agent again: its password and API keys work again."
	}
	return func(ctx context.Context, args []string, env func(string) string, _ io.Reader, stdout, stderr io.Writer) error {
		var c common
		var asJSON bool
		var account, id int64
		fs := newFlagSet("agent "+verb+" --account ID --id ID [flags]", synopsis)
		fs.Int64Var(&account, "account", 0, "account id (required)")
		fs.Int64Var(&id, "id", 0, "agent id (required)")
		fs.BoolVar(&asJSON, "json", false, "print the agent as one JSON object")
		c.addCommon(fs)
		if err := parse(fs, args, env, stdout, stderr); err != nil {
			return err
		}
		if err := requireFlags(fs, "agent "+verb, stderr, "account", "id"); err != nil {
			return err
		}
		log, err := c.logger(stderr)
		if err != nil {
			return err
		}
		st, _, err := openStore(ctx, c, log)
		if err != nil {
			return err
		}
		defer st.Close()
		a, err := st.UpdateAgent(ctx, account, id, store.AgentUpdate{Enabled: &enabled})
		if err != nil {
			return err
		}
		if asJSON {
			return json.NewEncoder(stdout).Encode(agentJSON(a))
		}
		_, err = fmt.Fprintf(stdout, "agent %d %sd\n", a.ID, verb)
		return err
	}
}

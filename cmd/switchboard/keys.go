package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"switchboard/auth"
	"switchboard/models"
)

// keyFlags are the flags of the "key" subcommands; each uses some.
type keyFlags struct {
	common
	signing
	json      bool
	account   int64
	agent     int64
	scopes    string
	name      string
	expiresIn time.Duration
}

// keyCmd runs "switchboard key create|list|revoke": args[0] is the
// subcommand (run dispatches only those).
func keyCmd(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) error {
	sub, args := args[0], args[1:]
	var f keyFlags
	var fs *flag.FlagSet
	maxArgs := 0
	switch sub {
	case "create":
		fs = newFlagSet("key create [flags]", "Creates an API key of an account and prints its token, which is shown only this once.\n"+
			"The key acts as --agent, by default the account's first enabled superadmin.\n"+
			"serve must sign with the same --signing-secret (or, without one, use the same database).")
		f.addSigning(fs)
		fs.Int64Var(&f.account, "account", 0, "account id (required)")
		fs.Int64Var(&f.agent, "agent", 0, "id of the agent the key acts as (default: the first enabled superadmin)")
		fs.StringVar(&f.scopes, "scopes", "", "comma-separated scopes: read, chat, email, sms, upload, admin (default: all)")
		fs.StringVar(&f.name, "name", "", "a name to tell the key by")
		fs.DurationVar(&f.expiresIn, "expires-in", 0, "lifetime, as 720h (default: never expires)")
	case "list":
		fs = newFlagSet("key list [flags]", "Lists an account's API keys, oldest first, revoked ones included. Tokens are never shown.")
		fs.Int64Var(&f.account, "account", 0, "account id (required)")
	case "revoke":
		fs = newFlagSet("key revoke ID [flags]", "Revokes the API key with the id; it stops working within seconds. Revoking twice keeps the first time.")
		maxArgs = 1
	default:
		return fmt.Errorf("key %s: no such subcommand", sub)
	}
	f.addCommon(fs)
	fs.BoolVar(&f.json, "json", false, "print JSON")
	pos, err := parseArgs(fs, args, maxArgs, env, stdout, stderr)
	if err != nil {
		return err
	}
	given := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { given[fl.Name] = true })
	switch {
	case sub == "revoke" && len(pos) == 0:
		fmt.Fprintln(stderr, "switchboard key revoke: missing the key id")
		return errUsage
	case sub != "revoke" && !given["account"]:
		fmt.Fprintf(stderr, "switchboard key %s: missing --account\n", sub)
		return errUsage
	}
	var scopes []auth.Scope
	if sub == "create" {
		if given["scopes"] {
			if scopes, err = auth.ParseScopes(f.scopes); err != nil {
				fmt.Fprintf(stderr, "switchboard key create: --scopes: %v\n", err)
				return errUsage
			}
		}
		if given["expires-in"] && f.expiresIn <= 0 {
			fmt.Fprintf(stderr, "switchboard key create: --expires-in %s: want a positive duration\n", f.expiresIn)
			return errUsage
		}
		if err := f.signing.validate(); err != nil {
			fmt.Fprintf(stderr, "switchboard key create: %v\n", err)
			return errUsage
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
		keys, err := f.signing.keys(ctx, st, log)
		if err != nil {
			return err
		}
		spec := auth.KeySpec{Name: f.name, Scopes: scopes}
		if given["agent"] {
			spec.AgentID = &f.agent
		}
		if given["expires-in"] {
			at := time.Now().Add(f.expiresIn)
			spec.ExpiresAt = &at
		}
		key, token, err := keys.Issue(ctx, f.account, spec)
		if err != nil {
			return err
		}
		if !f.json {
			_, err = fmt.Fprintln(stdout, token)
			return err
		}
		out := keyJSON(key)
		out.Token = token
		return json.NewEncoder(stdout).Encode(out)
	case "list":
		list, err := st.ListAPIKeys(ctx, f.account)
		if err != nil {
			return err
		}
		if f.json {
			out := make([]keyView, len(list))
			for i, k := range list {
				out[i] = keyJSON(k)
			}
			return json.NewEncoder(stdout).Encode(out)
		}
		w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "ID\tKIND\tNAME\tAGENT\tSCOPES\tCREATED\tLAST USED\tEXPIRES\tREVOKED")
		for _, k := range list {
			v := keyJSON(k)
			fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", k.ID, v.Kind, orDash(k.Name), k.AgentID, strings.Join(v.Scopes, ","),
				timeText(&k.CreatedAt), timeText(k.LastUsedAt), timeText(k.ExpiresAt), timeText(k.RevokedAt))
		}
		return w.Flush()
	default: // revoke
		key, err := st.RevokeAPIKey(ctx, pos[0])
		if err != nil {
			return err
		}
		if f.json {
			return json.NewEncoder(stdout).Encode(keyJSON(key))
		}
		_, err = fmt.Fprintf(stdout, "%s revoked at %s\n", key.ID, timeText(key.RevokedAt))
		return err
	}
}

// keyView is an API key as the key commands print it in JSON. Token is set
// only by key create.
type keyView struct {
	ID        string `json:"id"`
	Token     string `json:"token,omitempty"`
	AccountID int64  `json:"account_id"`
	AgentID   int64  `json:"agent_id"`
	Name      string `json:"name"`
	// Kind is "api" for a key made here, "session" for a CallGear login.user session.
	Kind       string     `json:"kind"`
	Scopes     []string   `json:"scopes"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
}

// keyJSON returns the printable view of a key, its scopes spelled out (an
// empty list in the row means every scope).
func keyJSON(k models.APIKey) keyView {
	v := keyView{ID: k.ID, AccountID: k.AccountID, AgentID: k.AgentID, Name: k.Name, Kind: string(k.Kind), Scopes: []string{},
		CreatedAt: k.CreatedAt.UTC(), ExpiresAt: utc(k.ExpiresAt), LastUsedAt: utc(k.LastUsedAt), RevokedAt: utc(k.RevokedAt)}
	scopes, err := auth.ParseScopes(k.Scopes)
	if err != nil {
		// A row the server refuses anyway: show what it says.
		v.Scopes = strings.Split(k.Scopes, ",")
		return v
	}
	for _, s := range scopes {
		v.Scopes = append(v.Scopes, string(s))
	}
	return v
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// timeText returns the time in RFC 3339 UTC to the second, or "-" for none.
func timeText(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

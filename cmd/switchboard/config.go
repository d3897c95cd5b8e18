package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"

	"switchboard/auth"
	"switchboard/store"
)

// common holds the settings every command shares.
type common struct {
	databaseURL string
	logLevel    string
	// maxConns bounds the PostgreSQL pool for requests: serve's
	// --database-max-conns; 0 (the admin commands) takes the store's default.
	maxConns int
}

// addCommon defines the shared flags on fs.
func (c *common) addCommon(fs *flag.FlagSet) {
	fs.StringVar(&c.databaseURL, "database-url", "sqlite:switchboard.db", "database: sqlite:PATH or postgres://USER@HOST/DB (env SWITCHBOARD_DATABASE_URL)")
	fs.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn or error (env SWITCHBOARD_LOG_LEVEL)")
}

// logger returns the JSON logger at the configured level, or an error for an
// unknown level.
func (c *common) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", c.logLevel)
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})), nil
}

// envFlags returns the flags that take a default from SWITCHBOARD_<NAME>:
// the server's settings, not the fields of an admin command.
func envFlags() []string {
	return []string{"addr", "database-url", "database-max-conns", "log-level", "body-limit", "attachment-limit", "callgear-body-limit", "upload-max-items", "reve-page-size", "admin-email", "signing-secret",
		"smtp-url", "sms-url", "sms-account-sid", "sms-auth-token", "public-url", "delivery-workers", "delivery-attempts",
		"smtp-listen", "smtp-domain", "smtp-max-size", "smtp-max-conns", "smtp-max-recipients", "smtp-tls-cert", "smtp-tls-key",
		"webhook-allow-private", "webhook-workers", "webhook-lease",
		"redis-url", "redis-prefix", "ip-rate-limit", "trusted-proxies",
		"login-failures-per-ip", "login-failures-ip-window", "login-failures-per-login", "login-failures-login-window",
		"password-checks", "password-check-wait", "metrics-addr",
		"event-retention", "max-streams", "stream-keep-alive", "stream-window", "console-session-ttl"}
}

// secretFlags are the flags whose value help must never show, even when it
// comes from the environment.
func secretFlags() []string {
	return []string{"signing-secret", "smtp-url", "sms-auth-token", "redis-url"}
}

// signingSecretSetting is the settings row that holds the generated secret.
const signingSecretSetting = "api_key_signing_secret"

// signing is the setting of the commands that sign API keys: serve and key create.
type signing struct {
	secret string
}

// addSigning defines --signing-secret on fs.
func (s *signing) addSigning(fs *flag.FlagSet) {
	fs.StringVar(&s.secret, "signing-secret", "", fmt.Sprintf("secret that signs API keys, at least %d bytes; empty: one generated once and kept in the database (env SWITCHBOARD_SIGNING_SECRET)", auth.MinSecretLen))
}

// validate returns an error for a configured secret that is too short. It
// never shows the secret.
func (s *signing) validate() error {
	if s.secret != "" && len(s.secret) < auth.MinSecretLen {
		return fmt.Errorf("--signing-secret is %d bytes: want at least %d", len(s.secret), auth.MinSecretLen)
	}
	return nil
}

// keys returns the API keys of the store, signed with the configured secret
// or, when none is configured, with the one kept in the database (generated
// by whichever replica needs it first), so that keys survive restarts. It
// returns the store's error when the secret cannot be read or stored.
func (s *signing) keys(ctx context.Context, st *store.Store, log *slog.Logger) (*auth.Keys, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	secret := s.secret
	if secret == "" {
		var err error
		secret, err = st.Setting(ctx, signingSecretSetting, func() (string, error) {
			b := make([]byte, 32)
			if _, err := rand.Read(b); err != nil {
				return "", err
			}
			return hex.EncodeToString(b), nil
		})
		if err != nil {
			return nil, fmt.Errorf("signing secret: %w", err)
		}
	}
	return auth.NewKeys([]byte(secret), st, auth.KeysOptions{Log: log})
}

// parse parses args into fs after taking defaults from the environment for
// the flags in envFlags. It prints usage errors to stderr and returns errUsage
// (or flag.ErrHelp after printing help).
func parse(fs *flag.FlagSet, args []string, env func(string) string, stdout, stderr io.Writer) error {
	_, err := parseArgs(fs, args, 0, env, stdout, stderr)
	return err
}

// parseArgs is parse for a command that takes up to maxArgs arguments besides
// its flags, before, between or after them; it returns the arguments.
func parseArgs(fs *flag.FlagSet, args []string, maxArgs int, env func(string) string, stdout, stderr io.Writer) ([]string, error) {
	fs.SetOutput(io.Discard)
	for _, name := range envFlags() {
		f := fs.Lookup(name)
		if f == nil {
			continue
		}
		key := envName(name)
		if v := env(key); v != "" {
			if err := f.Value.Set(v); err != nil {
				fmt.Fprintf(stderr, "switchboard: %s=%q: %v\n", key, v, err)
				return nil, errUsage
			}
			// Help shows the default the environment gave, but not a secret.
			if !slices.Contains(secretFlags(), name) {
				f.DefValue = v
			}
		}
	}
	var positional []string
	for rest := args; ; {
		err := fs.Parse(rest)
		switch {
		case errors.Is(err, flag.ErrHelp):
			fs.SetOutput(stdout)
			fs.Usage()
			return nil, flag.ErrHelp
		case err != nil:
			path := commandPath(fs.Name())
			fmt.Fprintf(stderr, "switchboard %s: %s (run 'switchboard %s --help' for its flags)\n", path, flagError(err), path)
			return nil, errUsage
		}
		if fs.NArg() == 0 {
			break
		}
		// The flag package stops at the first argument; flags may follow it,
		// unless a "--" ended the flags.
		if ended := len(rest) > fs.NArg() && rest[len(rest)-fs.NArg()-1] == "--"; ended {
			positional = append(positional, fs.Args()...)
			break
		}
		positional = append(positional, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if len(positional) > maxArgs {
		fmt.Fprintf(stderr, "switchboard %s: unexpected arguments: %s\n", commandPath(fs.Name()), strings.Join(positional[maxArgs:], " "))
		return nil, errUsage
	}
	return positional, nil
}

// newFlagSet returns a flag set whose help names the command, says what
// it does and lists its flags in --flag form.
func newFlagSet(name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: switchboard %s\n\n%s\n\nFlags:\n", name, synopsis)
		printFlags(fs.Output(), fs)
	}
	return fs
}

// requireFlags prints a usage error naming every flag of names that the
// command line of cmd did not set, and returns errUsage then; nil when all
// are set.
func requireFlags(fs *flag.FlagSet, cmd string, stderr io.Writer, names ...string) error {
	given := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { given[fl.Name] = true })
	var missing []string
	for _, name := range names {
		if !given[name] {
			missing = append(missing, "--"+name)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	fmt.Fprintf(stderr, "switchboard %s: missing %s\n", cmd, strings.Join(missing, ", "))
	return errUsage
}

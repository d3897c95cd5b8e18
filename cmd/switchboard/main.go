// Command switchboard serves the REVE Chat, HelpCrunch, Acquire and CallGear
// APIs over one store, and administers that store.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // account time zones must resolve in a minimal container too
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	case errors.Is(err, errUsage):
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "switchboard:", err)
		os.Exit(1)
	}
}

// errUsage means the command line was wrong; the message is already printed.
var errUsage = errors.New("usage")

const usage = `switchboard serves the REVE Chat, HelpCrunch, Acquire and CallGear Data API
dialects over one shared store of contacts, cases, messages and deliveries.

Usage:
  switchboard [serve] [flags]    run the HTTP server (the default command)
  switchboard migrate [flags]    apply the database migrations and exit
  switchboard account create --name N [--timezone TZ] [--emails-per-hour N] [--sms-per-hour N] [--rate-limit N] [--daily-rate-limit N]
                             [--sms-allow-premium]
  switchboard account update --id ID [--name N] [--timezone TZ] [--emails-per-hour N] [--sms-per-hour N] [--rate-limit N] [--daily-rate-limit N]
                             [--sms-allow-premium[=false]]
  switchboard agent create --account ID --email E --password P --role superadmin|admin|agent
                           [--first-name F] [--last-name L]
  switchboard site create --account ID --domain D
  switchboard campaign create --account ID --site ID --name N
  switchboard inbox create --account ID --kind email|sms --address A    (prints the id, then the inbox's secret, once)
  switchboard inbox rotate-secret --account ID --id ID
  switchboard department create --account ID --name N
  switchboard department list --account ID
  switchboard key create --account ID [--agent ID] [--scopes a,b] [--name N] [--expires-in DURATION]
  switchboard key list --account ID
  switchboard key revoke ID
  switchboard webhook create --account ID --url URL --format helpcrunch|acquire|standard [--events a,b] [--secret S]
  switchboard webhook list --account ID
  switchboard webhook disable|delete --account ID --id ID
  switchboard webhook deliveries --account ID --id ID [--status failed]

Every command takes --database-url and --log-level; the admin commands print
the new id, or one JSON object with --json; key create prints the new key's
token, which is shown only that once. Run 'switchboard CMD --help' for the
flags of one command.

Environment (a flag given on the command line wins):
  SWITCHBOARD_ADDR                 --addr                 listen address (default :8080)
  SWITCHBOARD_DATABASE_URL         --database-url         sqlite:PATH or postgres://... (default sqlite:switchboard.db)
  SWITCHBOARD_LOG_LEVEL            --log-level            debug, info, warn or error (default info)
  SWITCHBOARD_BODY_LIMIT           --body-limit           largest request body on REST routes (default 2M)
  SWITCHBOARD_ATTACHMENT_LIMIT     --attachment-limit     most bytes of one email's attachments (default 10M)
  SWITCHBOARD_CALLGEAR_BODY_LIMIT  --callgear-body-limit  largest body on the CallGear endpoint (default 16M)
  SWITCHBOARD_UPLOAD_MAX_ITEMS     --upload-max-items     most items of one CallGear upload (default 500)
  SWITCHBOARD_REVE_PAGE_SIZE       --reve-page-size       rows per REVE page (default 20)
  SWITCHBOARD_ADMIN_EMAIL          --admin-email          email of the superadmin made on first start
  SWITCHBOARD_SIGNING_SECRET       --signing-secret       secret that signs API keys, at least 32 bytes
                                   (serve and key create; default: one generated and kept in the database)
  SWITCHBOARD_SMTP_URL             --smtp-url             SMTP relay, smtp://USER:PASS@HOST:PORT or smtps://...
                                   (empty: email replies stay queued)
  SWITCHBOARD_SMS_URL              --sms-url              base URL of a Twilio-compatible SMS provider
  SWITCHBOARD_SMS_ACCOUNT_SID      --sms-account-sid      the provider's account SID
  SWITCHBOARD_SMS_AUTH_TOKEN       --sms-auth-token       the provider's auth token (empty URL: SMS replies stay queued)
  SWITCHBOARD_PUBLIC_URL           --public-url           base URL SMS providers reach the server at (signatures, receipts)
  SWITCHBOARD_DELIVERY_WORKERS     --delivery-workers     concurrent senders of the outbox (default 2)
  SWITCHBOARD_DELIVERY_ATTEMPTS    --delivery-attempts    attempts before a reply is marked failed (default 8)
  SWITCHBOARD_SMTP_LISTEN          --smtp-listen          listen address of the SMTP receiver for inbound email, as :25 (empty: off)
  SWITCHBOARD_SMTP_DOMAIN          --smtp-domain          the name the SMTP receiver greets with (default the host name)
  SWITCHBOARD_SMTP_MAX_SIZE        --smtp-max-size        largest inbound email, by SMTP and HTTP (default 25MiB)
  SWITCHBOARD_SMTP_MAX_CONNS       --smtp-max-conns       most SMTP connections at once (default 100)
  SWITCHBOARD_SMTP_MAX_RECIPIENTS  --smtp-max-recipients  most recipients of one inbound email (default 50)
  SWITCHBOARD_SMTP_TLS_CERT        --smtp-tls-cert        PEM certificate for STARTTLS, with --smtp-tls-key (empty: no STARTTLS)
  SWITCHBOARD_SMTP_TLS_KEY         --smtp-tls-key         PEM private key of --smtp-tls-cert
  SWITCHBOARD_EVENT_RETENTION      --event-retention      how long events are kept (default 168h)
  SWITCHBOARD_MAX_STREAMS          --max-streams          most live event streams open at once (default 1000)
  SWITCHBOARD_STREAM_KEEP_ALIVE    --stream-keep-alive    keep-alive comment interval of a stream (default 15s)
  SWITCHBOARD_STREAM_WINDOW        --stream-window        shortest time between two reads of an account's events for its streams (default 50ms)
`

// run is the whole program: it parses args (with env for defaults), runs one
// command and returns its error. It returns flag.ErrHelp after printing help
// and errUsage after printing a usage error.
func run(ctx context.Context, args []string, env func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || len(args[0]) > 0 && args[0][0] == '-' {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
			fmt.Fprint(stdout, usage)
			return flag.ErrHelp
		}
		return serve(ctx, args, env, stdout, stderr)
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return serve(ctx, rest, env, stdout, stderr)
	case "migrate":
		return migrate(ctx, rest, env, stdout, stderr)
	case "healthcheck":
		return healthcheck(ctx, rest, env, stdout, stderr)
	case "help":
		fmt.Fprint(stdout, usage)
		return nil
	case "account", "agent", "site", "campaign", "inbox", "department":
		if cmd == "account" && len(rest) > 0 && rest[0] == "update" {
			return updateAccount(ctx, rest[1:], env, stdout, stderr)
		}
		if cmd == "inbox" && len(rest) > 0 && rest[0] == "rotate-secret" {
			return rotateInboxSecret(ctx, rest[1:], env, stdout, stderr)
		}
		if cmd == "department" && len(rest) > 0 && rest[0] == "list" {
			return listDepartments(ctx, rest[1:], env, stdout, stderr)
		}
		if len(rest) == 0 || rest[0] != "create" {
			if len(rest) > 0 && (rest[0] == "-h" || rest[0] == "--help") {
				fmt.Fprintf(stdout, "Usage: switchboard %s create [flags]\nRun 'switchboard %s create --help' for its flags.\n", cmd, cmd)
				return flag.ErrHelp
			}
			fmt.Fprintf(stderr, "switchboard %s: want 'switchboard %s create', see 'switchboard --help'\n", cmd, cmd)
			return errUsage
		}
		return create(ctx, cmd, rest[1:], env, stdin, stdout, stderr)
	case "key":
		return keyCmd(ctx, rest, env, stdout, stderr)
	case "webhook":
		return webhookCmd(ctx, rest, env, stdout, stderr)
	}
	fmt.Fprintf(stderr, "switchboard: unknown command %q\n\n%s", cmd, usage)
	return errUsage
}

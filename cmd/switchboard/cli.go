package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	"text/tabwriter"

	"switchboard/store"
)

// runner is one command's body: it parses args (with env for defaults) and
// returns its error, flag.ErrHelp after printing help or errUsage after
// printing a usage error.
type runner func(ctx context.Context, args []string, env func(string) string, stdin io.Reader, stdout, stderr io.Writer) error

// verb is one subcommand of a noun ("create" of "account").
type verb struct {
	name, summary string
	run           runner
}

// noun is a command: one that runs by itself (run set, as serve) or one
// that names what its verbs act on (account, agent, ...).
type noun struct {
	name, summary string
	run           runner
	verbs         []verb
}

// commands returns every command in the order help lists them.
func commands() []noun {
	createOf := func(kind string) runner {
		return func(ctx context.Context, args []string, env func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
			return create(ctx, kind, args, env, stdin, stdout, stderr)
		}
	}
	noStdin := func(f func(context.Context, []string, func(string) string, io.Writer, io.Writer) error) runner {
		return func(ctx context.Context, args []string, env func(string) string, _ io.Reader, stdout, stderr io.Writer) error {
			return f(ctx, args, env, stdout, stderr)
		}
	}
	sub := func(f func(context.Context, []string, func(string) string, io.Writer, io.Writer) error, name string) runner {
		return func(ctx context.Context, args []string, env func(string) string, _ io.Reader, stdout, stderr io.Writer) error {
			return f(ctx, append([]string{name}, args...), env, stdout, stderr)
		}
	}
	return []noun{
		{name: "serve", summary: "run the HTTP server (and the SMTP receiver with --smtp-listen) until SIGINT or SIGTERM", run: noStdin(serve)},
		{name: "migrate", summary: "apply the database migrations the database lacks and exit", run: noStdin(migrate)},
		{name: "version", summary: "print the module version and VCS revision", run: noStdin(version)},
		{name: "healthcheck", summary: "ask a running server whether it is ready: exit 0 on 200 within 2 s, else 1", run: noStdin(healthcheck)},
		{name: "account", summary: "tenants", verbs: []verb{
			{"create", "create an account and print its id", createOf("account")},
			{"update", "change an account's name, time zone, quotas or limits", noStdin(updateAccount)},
			{"list", "list every account", noStdin(listAccounts)},
		}},
		{name: "agent", summary: "the people who answer, and log in", verbs: []verb{
			{"create", "create an agent of an account and print its id", createOf("agent")},
			{"list", "list an account's agents", noStdin(listAgents)},
			{"set-password", "give an agent a new password, read from standard input", setAgentPassword},
			{"disable", "stop an agent's logins, sessions and API keys", setAgentEnabled(false)},
			{"enable", "let a disabled agent work again", setAgentEnabled(true)},
		}},
		{name: "site", summary: "an account's web sites (the chat widget's)", verbs: []verb{
			{"create", "create a site of an account and print its id", createOf("site")},
			{"list", "list an account's sites", noStdin(listSites)},
		}},
		{name: "campaign", summary: "advertising campaigns of a site", verbs: []verb{
			{"create", "create a campaign of a site and print its id", createOf("campaign")},
		}},
		{name: "inbox", summary: "email addresses and SMS numbers that receive", verbs: []verb{
			{"create", "connect an address or number to an account; print its id and secret", createOf("inbox")},
			{"list", "list an account's inboxes (never their secrets)", noStdin(listInboxes)},
			{"rotate-secret", "give an inbox a new secret and print it", noStdin(rotateInboxSecret)},
		}},
		{name: "department", summary: "teams chats are routed to", verbs: []verb{
			{"create", "create a department of an account and print its id", createOf("department")},
			{"list", "list an account's departments", noStdin(listDepartments)},
		}},
		{name: "key", summary: "API keys", verbs: []verb{
			{"create", "create an API key and print its token, only this once", sub(keyCmd, "create")},
			{"list", "list an account's API keys (never their tokens)", sub(keyCmd, "list")},
			{"revoke", "revoke an API key by its id", sub(keyCmd, "revoke")},
		}},
		{name: "webhook", summary: "event subscriptions", verbs: []verb{
			{"create", "subscribe a URL to an account's events", sub(webhookCmd, "create")},
			{"list", "list an account's subscriptions", sub(webhookCmd, "list")},
			{"disable", "stop sending to a subscription, keeping it", sub(webhookCmd, "disable")},
			{"delete", "delete a subscription and its deliveries", sub(webhookCmd, "delete")},
			{"deliveries", "list a subscription's deliveries, newest first", sub(webhookCmd, "deliveries")},
		}},
	}
}

// isHelp reports whether arg asks for help.
func isHelp(arg string) bool {
	return arg == "-h" || arg == "--help" || arg == "-help" || arg == "help"
}

// run is the whole program: it runs the command args name and returns its
// error. It returns flag.ErrHelp after printing help and errUsage after
// printing a usage error; a runtime error is for the caller to print (see
// printError).
func run(ctx context.Context, args []string, env func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		// A bare switchboard starts nothing: a server is asked for by name.
		return writeUsage(stdout)
	}
	cmd, rest := args[0], args[1:]
	switch {
	case cmd == "help" && len(rest) > 0:
		// "help account create" is "account create --help".
		return run(ctx, append(slices.Clone(rest), "--help"), env, stdin, stdout, stderr)
	case isHelp(cmd):
		if err := writeUsage(stdout); err != nil {
			return err
		}
		return flag.ErrHelp
	case cmd == "--version" || cmd == "-version":
		return version(ctx, rest, env, stdout, stderr)
	case strings.HasPrefix(cmd, "-"):
		fmt.Fprintf(stderr, "switchboard: %s before a command; want 'switchboard serve %s' (run 'switchboard --help' for the commands)\n", cmd, strings.Join(args, " "))
		return errUsage
	}
	i := slices.IndexFunc(commands(), func(n noun) bool { return n.name == cmd })
	if i < 0 {
		fmt.Fprintf(stderr, "switchboard: unknown command %q (run 'switchboard --help' for the commands)\n", cmd)
		return errUsage
	}
	n := commands()[i]
	if n.run != nil {
		return n.run(ctx, rest, env, stdin, stdout, stderr)
	}
	if len(rest) == 0 || strings.HasPrefix(rest[0], "-") && !isHelp(rest[0]) {
		fmt.Fprintf(stderr, "switchboard %s: want a subcommand: %s (run 'switchboard %s --help')\n", n.name, verbNames(n), n.name)
		return errUsage
	}
	if isHelp(rest[0]) {
		if err := writeNounUsage(stdout, n); err != nil {
			return err
		}
		return flag.ErrHelp
	}
	j := slices.IndexFunc(n.verbs, func(v verb) bool { return v.name == rest[0] })
	if j < 0 {
		fmt.Fprintf(stderr, "switchboard %s: unknown subcommand %q; want %s\n", n.name, rest[0], verbNames(n))
		return errUsage
	}
	return n.verbs[j].run(ctx, rest[1:], env, stdin, stdout, stderr)
}

// verbNames returns the noun's verbs as "a, b or c".
func verbNames(n noun) string {
	names := make([]string, len(n.verbs))
	for i, v := range n.verbs {
		names[i] = v.name
	}
	if len(names) == 1 {
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// exitCodes is the exit status table help shows; main keeps to it.
const exitCodes = `Exit status: 0 done (help included), 1 runtime error (database, network, not found),
2 usage error (unknown command or flag, missing or bad flag value).`

// writeUsage writes the top-level help: the commands, the shared flags, the
// exit codes and every environment variable the program reads.
func writeUsage(w io.Writer) error {
	var b strings.Builder
	b.WriteString(`switchboard serves the REVE Chat, HelpCrunch, Acquire and CallGear Data API
dialects over one shared store of contacts, cases, messages and deliveries.

Usage:
  switchboard COMMAND [SUBCOMMAND] [flags]
  switchboard --help | --version

Commands:
`)
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	for _, n := range commands() {
		if n.run != nil {
			fmt.Fprintf(tw, "  %s\t%s\n", n.name, n.summary)
			continue
		}
		for _, v := range n.verbs {
			fmt.Fprintf(tw, "  %s %s\t%s\n", n.name, v.name, v.summary)
		}
	}
	tw.Flush()
	b.WriteString(`
Run 'switchboard COMMAND --help' for a command's subcommands and
'switchboard COMMAND SUBCOMMAND --help' for its flags. Flags take one or two
dashes (--name N, --name=N).

Every command but version takes --database-url and --log-level, and every
command takes --json: it then prints one JSON object (a list: one JSON array)
instead of text; serve prints the first start's credentials so. The create
commands print the new id; key create, inbox create and webhook create print
a token or secret that is shown only that once.

` + exitCodes + `

Environment: serve's settings (and --database-url and --log-level of every
command) come from SWITCHBOARD_<FLAG> variables, SWITCHBOARD_DATABASE_URL for
--database-url; a flag given on the command line wins over its variable.
'switchboard serve --help' tells each one in full.
`)
	var cfg serveConfig
	fs := serveFlags(&cfg)
	tw = tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	for _, name := range envFlags() {
		f := fs.Lookup(name)
		if f == nil {
			continue
		}
		usage := firstClause(stripEnv(f.Usage))
		if d := defaultText(f); d != "" {
			usage += " (default " + d + ")"
		}
		fmt.Fprintf(tw, "  %s\t%s\n", envName(name), usage)
	}
	tw.Flush()
	_, err := io.WriteString(w, b.String())
	return err
}

// writeNounUsage writes the help of a noun: its verbs.
func writeNounUsage(w io.Writer, n noun) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Usage: switchboard %s SUBCOMMAND [flags]\n\n%s.\n\nSubcommands:\n", n.name, capitalize(n.summary))
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	for _, v := range n.verbs {
		fmt.Fprintf(tw, "  %s\t%s\n", v.name, v.summary)
	}
	tw.Flush()
	fmt.Fprintf(&b, "\nRun 'switchboard %s SUBCOMMAND --help' for its flags.\n", n.name)
	_, err := io.WriteString(w, b.String())
	return err
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// envName returns the environment variable of a flag in envFlags.
func envName(flagName string) string {
	return "SWITCHBOARD_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// envSuffix is how a flag's usage names its variable; help prints the
// variable from envFlags instead, so that it is named once and right.
var envSuffix = regexp.MustCompile(`\s*\(env SWITCHBOARD_[A-Z0-9_]+\)\s*$`)

func stripEnv(usage string) string { return envSuffix.ReplaceAllString(usage, "") }

// firstClause returns usage up to its first "; " or ", as "
// (the rest is detail that serve's own help shows), in one line.
func firstClause(usage string) string {
	usage = strings.Join(strings.Fields(usage), " ")
	for _, sep := range []string{"; ", ", as "} {
		if i := strings.Index(usage, sep); i > 0 {
			usage = usage[:i]
		}
	}
	return usage
}

// defaultText returns a flag's default as help shows it, or "" for a zero
// value (nothing worth showing).
func defaultText(f *flag.Flag) string {
	switch f.DefValue {
	case "", "0", "false", "0s", "[]":
		return ""
	}
	return f.DefValue
}

// printFlags writes the flags of fs in --flag form, in name order: each
// with its value's kind, usage, default and environment variable.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	env := envFlags()
	fs.VisitAll(func(f *flag.Flag) {
		kind, usage := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if kind != "" {
			line += " " + kind
		}
		var notes []string
		if d := defaultText(f); d != "" {
			notes = append(notes, "default "+d)
		}
		if slices.Contains(env, f.Name) {
			notes = append(notes, "env "+envName(f.Name))
		}
		usage = stripEnv(usage)
		if len(notes) > 0 {
			usage += " (" + strings.Join(notes, "; ") + ")"
		}
		fmt.Fprintf(w, "%s\n        %s\n", line, strings.ReplaceAll(usage, "\n", "\n        "))
	})
}

// commandPath returns the command words of a flag set's name
// ("inbox rotate-secret --account ID [flags]" gives "inbox rotate-secret").
func commandPath(name string) string {
	var words []string
	for _, w := range strings.Fields(name) {
		if strings.HasPrefix(w, "-") || strings.HasPrefix(w, "[") || strings.ToUpper(w) == w {
			break
		}
		words = append(words, w)
	}
	return strings.Join(words, " ")
}

// flagError rewrites the flag package's errors in the --flag form help uses.
func flagError(err error) string {
	msg := err.Error()
	for _, p := range []struct{ from, to string }{
		{"flag provided but not defined: -", "unknown flag --"},
		{"flag needs an argument: -", "flag needs a value: --"},
		{" for flag -", " for flag --"},
		{" for -", " for --"},
	} {
		msg = strings.Replace(msg, p.from, p.to, 1)
	}
	return msg
}

// buildVersion returns the module version and VCS settings the binary was
// built with, from its build information.
func buildVersion() map[string]string {
	out := map[string]string{"version": "(unknown)"}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return out
	}
	out["version"] = info.Main.Version
	out["go"] = info.GoVersion
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			out["revision"] = s.Value
		case "vcs.time":
			out["time"] = s.Value
		case "vcs.modified":
			out["modified"] = s.Value
		}
	}
	return out
}

// version runs "switchboard version" (and --version): the module version,
// the VCS revision (+dirty when built from a modified tree) and its time.
func version(_ context.Context, args []string, env func(string) string, stdout, stderr io.Writer) error {
	var asJSON bool
	fs := newFlagSet("version [flags]", "Prints the module version, the VCS revision it was built from (+dirty: with uncommitted\nchanges) and that revision's time, from the binary's build information.")
	fs.BoolVar(&asJSON, "json", false, "print one JSON object")
	if err := parse(fs, args, env, stdout, stderr); err != nil {
		return err
	}
	v := buildVersion()
	if asJSON {
		out := map[string]any{"version": v["version"], "go": v["go"], "revision": v["revision"], "time": v["time"], "dirty": v["modified"] == "true"}
		return json.NewEncoder(stdout).Encode(out)
	}
	line := "switchboard " + v["version"]
	if r := v["revision"]; r != "" {
		line += " " + r
		if v["modified"] == "true" {
			line += "+dirty"
		}
		if t := v["time"]; t != "" {
			line += " " + t
		}
	}
	_, err := fmt.Fprintf(stdout, "%s (%s)\n", line, v["go"])
	return err
}

// errorLines returns what printError writes for err, one line per error: a
// joined error gives a line each, FieldErrors a line per field (named as
// its flag), and an error whose words repeat along its chain ("update
// account 99: account 99: not found") loses the repeating part.
func errorLines(err error) []string {
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		var lines []string
		for _, e := range joined.Unwrap() {
			lines = append(lines, errorLines(e)...)
		}
		return lines
	}
	var fe store.FieldErrors
	if errors.As(err, &fe) {
		lines := make([]string, len(fe))
		for i, f := range fe {
			lines[i] = "--" + strings.ReplaceAll(f.Field, "_", "-") + ": " + f.Message
		}
		return lines
	}
	return []string{dedupe(oneLine(err.Error()))}
}

// oneLine folds a message a driver spread over lines (pgx lists each
// address it tried on a tab-indented line of its own) into one, without
// the lines that repeat.
func oneLine(msg string) string {
	var parts []string
	for _, p := range strings.Split(msg, "\n") {
		p = strings.TrimSpace(p)
		if p != "" && !slices.Contains(parts, p) {
			parts = append(parts, p)
		}
	}
	out := strings.Join(parts, " ")
	return strings.ReplaceAll(out, ": :", ":")
}

// dedupe drops a segment of a "a: b: c" message whose last words the next
// segment starts with: "update account 99: account 99: not found" is
// "account 99: not found".
func dedupe(msg string) string {
	segs := strings.Split(msg, ": ")
	out := segs[:0:0]
	for i, s := range segs {
		if i+1 < len(segs) && repeats(s, segs[i+1]) {
			continue
		}
		out = append(out, s)
	}
	return strings.Join(out, ": ")
}

// repeats reports whether next starts with the last word or words of seg.
func repeats(seg, next string) bool {
	words := strings.Fields(seg)
	for i := range words {
		tail := strings.Join(words[i:], " ")
		if next == tail || strings.HasPrefix(next, tail+" ") {
			return true
		}
	}
	return false
}

// printError writes err to w as "switchboard: ..." lines (errorLines).
func printError(w io.Writer, err error) {
	for _, line := range errorLines(err) {
		fmt.Fprintln(w, "switchboard:", line)
	}
}

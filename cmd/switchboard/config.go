package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// common holds the settings every command shares.
type common struct {
	databaseURL string
	logLevel    string
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
	return []string{"addr", "database-url", "log-level", "body-limit", "reve-page-size", "admin-email"}
}

// parse parses args into fs after taking defaults from the environment for
// the flags in envFlags. It prints usage errors to stderr and returns errUsage
// (or flag.ErrHelp after printing help).
func parse(fs *flag.FlagSet, args []string, env func(string) string, stdout, stderr io.Writer) error {
	fs.SetOutput(io.Discard)
	for _, name := range envFlags() {
		f := fs.Lookup(name)
		if f == nil {
			continue
		}
		key := "SWITCHBOARD_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
		if v := env(key); v != "" {
			if err := f.Value.Set(v); err != nil {
				fmt.Fprintf(stderr, "%s=%q: %v\n", key, v, err)
				return errUsage
			}
			f.DefValue = v
		}
	}
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.SetOutput(stdout)
		fs.Usage()
		return flag.ErrHelp
	case err != nil:
		fmt.Fprintf(stderr, "%v\n", err)
		fs.SetOutput(stderr)
		fs.Usage()
		return errUsage
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "unexpected arguments: %s\n", strings.Join(fs.Args(), " "))
		return errUsage
	}
	return nil
}

// newFlagSet returns a flag set whose usage names the command.
func newFlagSet(name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: switchboard %s\n\n%s\n\nFlags:\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

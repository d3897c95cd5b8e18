// Command switchboard serves the REVE Chat, HelpCrunch, Acquire and CallGear
// APIs over one store, and administers that store.
package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // account time zones must resolve in a minimal container too
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := execute(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// execute runs the program and returns its exit status (see exitCodes):
// 0 when the command succeeded or help was asked for, 2 for a usage error
// (already printed), 1 for any other error, which it prints to stderr.
func execute(ctx context.Context, args []string, env func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	err := run(ctx, args, env, stdin, stdout, stderr)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	default:
		printError(stderr, err)
		return 1
	}
}

// errUsage means the command line was wrong; the message is already printed.
var errUsage = errors.New("usage")

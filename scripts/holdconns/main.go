// Command holdconns opens N connections to a PostgreSQL server and holds
// them until it is killed, so that the suite can be run beside a crowded
// server (make test-crowded): with the default max_connections of 100 and
// 60 held, the tests must fit in what is left.
//
//	go run ./scripts/holdconns -n 60 [-url postgres://...] [-ready FILE]
//
// The URL defaults to SWITCHBOARD_TEST_DATABASE_URL, then the local server.
// Once every connection is open it prints "holding N connections" and, with
// -ready, creates FILE; it exits 1 when a connection cannot be opened.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

func main() {
	n := flag.Int("n", 60, "connections to hold")
	rawURL := flag.String("url", "", "PostgreSQL URL (default $SWITCHBOARD_TEST_DATABASE_URL, then the local server)")
	ready := flag.String("ready", "", "file to create once every connection is open")
	flag.Parse()
	if err := run(*n, *rawURL, *ready); err != nil {
		fmt.Fprintln(os.Stderr, "holdconns:", err)
		os.Exit(1)
	}
}

// run opens n connections to rawURL, creates ready when they are open, and
// holds them until SIGINT or SIGTERM. It returns the first connection error.
func run(n int, rawURL, ready string) error {
	if rawURL == "" {
		rawURL = os.Getenv("SWITCHBOARD_TEST_DATABASE_URL")
	}
	if rawURL == "" {
		rawURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	conns := make([]*pgx.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close(context.Background())
		}
	}()
	for i := range n {
		openCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		c, err := pgx.Connect(openCtx, rawURL)
		cancel()
		if err != nil {
			return fmt.Errorf("connection %d of %d: %w", i+1, n, err)
		}
		conns = append(conns, c)
	}
	fmt.Printf("holding %d connections\n", n)
	if ready != "" {
		if err := os.WriteFile(ready, nil, 0o644); err != nil {
			return err
		}
	}
	<-ctx.Done()
	return nil
}

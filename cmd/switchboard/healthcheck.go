package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// healthcheckTimeout bounds the whole check: a server that takes longer to
// say it is alive is not healthy.
const healthcheckTimeout = 2 * time.Second

// healthcheck runs "switchboard healthcheck": it asks the server's /healthz
// (--url, by default on SWITCHBOARD_ADDR's port on the loopback address) and
// returns nil when it answers 200 within two seconds, an error naming what
// went wrong otherwise. A container's HEALTHCHECK runs it: the image has no
// shell or curl.
func healthcheck(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("healthcheck [--url URL]", "Asks a running server whether it is alive: exits 0 when GET URL answers\n200 within 2 seconds, 1 otherwise (for a container's HEALTHCHECK).")
	url := fs.String("url", healthcheckURL(env("SWITCHBOARD_ADDR")), "the server's liveness URL (default from SWITCHBOARD_ADDR)")
	asJSON := fs.Bool("json", false, `print one JSON object {"url","status"} when the server answers`)
	if err := parse(fs, args, env, stdout, stderr); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, healthcheckTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
	if err != nil {
		return fmt.Errorf("healthcheck: --url %q: %w", *url, err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 4<<10))
	if *asJSON {
		if err := json.NewEncoder(stdout).Encode(map[string]any{"url": *url, "status": res.StatusCode}); err != nil {
			return err
		}
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %s", *url, res.Status)
	}
	return nil
}

// healthcheckURL returns the /healthz URL of a server listening on addr
// (":8080" when empty): a wildcard or missing host is asked on the loopback
// address, where a server listening on every interface answers too.
func healthcheckURL(addr string) string {
	if addr == "" {
		addr = ":8080"
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		host, port = "", "8080"
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/healthz"
}

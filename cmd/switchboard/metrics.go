package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"switchboard/metrics"
	"switchboard/store"
)

// metricsConfig says where /metrics is served.
type metricsConfig struct {
	// addr is --metrics-addr: empty serves /metrics on the main address.
	addr string
}

// addMetrics defines --metrics-addr on fs.
func (c *metricsConfig) addMetrics(fs *flag.FlagSet) {
	fs.StringVar(&c.addr, "metrics-addr", "", "serve /metrics only on this address, as 127.0.0.1:9090, and not on --addr; empty: on --addr (env SWITCHBOARD_METRICS_ADDR)")
}

// validate returns the problem with --metrics-addr, if any.
func (c *metricsConfig) validate() []error {
	if c.addr == "" {
		return nil
	}
	if _, _, err := net.SplitHostPort(c.addr); err != nil {
		return []error{fmt.Errorf("--metrics-addr %q: want HOST:PORT or :PORT", c.addr)}
	}
	return nil
}

// registerMetrics registers on reg the database pool's statistics, the
// outboxes' figures (read from st at each scrape) and the server's own
// metrics, and returns the last.
func registerMetrics(reg prometheus.Registerer, st *store.Store, log *slog.Logger) (*metrics.Metrics, error) {
	db, err := st.SQLDB()
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	reg.MustRegister(collectors.NewDBStatsCollector(db, "switchboard"), metrics.NewOutboxCollector(st, log))
	return metrics.New(reg), nil
}

// metricsShutdownTimeout bounds the wait for scrapes in flight at shutdown.
const metricsShutdownTimeout = 5 * time.Second

// serve starts serving g's metrics at /metrics on --metrics-addr, when it
// is set, and returns the function that shuts that server down (waiting for
// the scrapes in flight). It returns an error when the address cannot be
// listened on; without --metrics-addr it does nothing and its stop does
// nothing.
func (c *metricsConfig) serve(g prometheus.Gatherer, log *slog.Logger) (stop func(), err error) {
	if c.addr == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s (--metrics-addr): %w", c.addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{}))
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics: serve", "err", err)
		}
	}()
	log.Info("metrics: listening", "addr", ln.Addr().String())
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), metricsShutdownTimeout)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			log.Warn("metrics: shutdown", "err", err)
		}
		<-done
	}, nil
}

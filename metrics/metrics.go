// Package metrics holds switchboard's own Prometheus metrics: the HTTP
// requests by route template, the deliveries by channel and result, the
// password (bcrypt) compares, and a collector that reads the outboxes'
// depth from the store at scrape time. Nothing here is package-level: New
// registers one set on the registry it is given.
package metrics

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
)

// channels returns the outboxes whose deliveries are counted and measured.
func channels() []string { return []string{"email", "sms", "webhook"} }

// Delivery results: sent, failed for now and to be retried, failed for good.
const (
	ResultSent   = "sent"
	ResultRetry  = "retry"
	ResultFailed = "failed"
)

// Unmatched is the route label of a request no route took.
const Unmatched = "unmatched"

// Metrics are the counters and histograms the server updates as it works.
// A nil *Metrics counts nothing.
type Metrics struct {
	requests   *prometheus.CounterVec
	latency    *prometheus.HistogramVec
	inFlight   prometheus.Gauge
	deliveries *prometheus.CounterVec
	compares   *prometheus.CounterVec
}

// New returns the metrics registered on reg, with every delivery channel and
// result and both compare results at zero so that they show from the first
// scrape. It panics when reg already holds metrics of these names, as
// MustRegister does.
func New(reg prometheus.Registerer) *Metrics {
	labels := []string{"route", "method", "status"}
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_http_requests_total",
			Help: "HTTP requests answered, by route template (unmatched: no route), method and status.",
		}, labels),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "switchboard_http_request_duration_seconds",
			Help: "Time from a request's arrival at the router to its handler's return, by route template, method and status.",
			// From a cached read (about a millisecond) to a bcrypt login
			// under load and a large upload.
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, labels),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "switchboard_http_requests_in_flight",
			Help: "HTTP requests being handled now, live event streams included.",
		}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_deliveries_total",
			Help: "Delivery attempts by channel (email, sms, webhook) and result (sent; retry: failed, will be tried again; failed: failed for good).",
		}, []string{"channel", "result"}),
		compares: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_bcrypt_compares_total",
			Help: "Password checks that ran bcrypt, by result (match, mismatch); logins answered from the cache are not counted.",
		}, []string{"result"}),
	}
	reg.MustRegister(m.requests, m.latency, m.inFlight, m.deliveries, m.compares)
	for _, ch := range channels() {
		for _, r := range []string{ResultSent, ResultRetry, ResultFailed} {
			m.deliveries.WithLabelValues(ch, r)
		}
	}
	m.compares.WithLabelValues("match")
	m.compares.WithLabelValues("mismatch")
	return m
}

// Delivered counts one delivery attempt of the channel (email, sms or
// webhook) with its result (ResultSent, ResultRetry or ResultFailed).
func (m *Metrics) Delivered(channel, result string) {
	if m != nil {
		m.deliveries.WithLabelValues(channel, result).Inc()
	}
}

// Compared counts one bcrypt compare and whether the password matched.
func (m *Metrics) Compared(matched bool) {
	if m == nil {
		return
	}
	if matched {
		m.compares.WithLabelValues("match").Inc()
	} else {
		m.compares.WithLabelValues("mismatch").Inc()
	}
}

// Middleware returns the Echo middleware that counts and times every
// request by its route template (c.Path(), never the raw path, so that ids
// do not make new series), its method and its status, and keeps the
// in-flight gauge. A nil *Metrics returns a middleware that only calls on.
func (m *Metrics) Middleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		if m == nil {
			return next
		}
		return func(c echo.Context) error {
			m.inFlight.Inc()
			start := time.Now()
			err := next(c)
			elapsed := time.Since(start).Seconds()
			m.inFlight.Dec()
			route := c.Path()
			if route == "" {
				route = Unmatched
			}
			labels := prometheus.Labels{"route": route, "method": method(c.Request().Method),
				"status": strconv.Itoa(status(c, err))}
			m.requests.With(labels).Inc()
			m.latency.With(labels).Observe(elapsed)
			return err
		}
	}
}

// status returns the status the client gets: the one written, or for an
// error the router's error handler has yet to write, its code (500 for
// an error that is not an *echo.HTTPError).
func status(c echo.Context, err error) int {
	if err == nil || c.Response().Committed {
		return c.Response().Status
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		return he.Code
	}
	return http.StatusInternalServerError
}

// method returns the request method as a label: one of HTTP's, or "other",
// so that a client cannot make series with made-up methods.
func method(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}

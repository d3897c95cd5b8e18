package guard

import "github.com/prometheus/client_golang/prometheus"

// Metrics counts what the guards decide. A nil *Metrics counts nothing.
type Metrics struct {
	limitedTotal     *prometheus.CounterVec
	unavailableTotal *prometheus.CounterVec
	idempotencyTotal *prometheus.CounterVec
}

// NewMetrics returns the guards' metrics, registered with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		limitedTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_ratelimit_limited_total",
			Help: "Requests refused for being over a rate limit, by policy (minute, day, ip).",
		}, []string{"policy"}),
		unavailableTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_ratelimit_unavailable_total",
			Help: "Rate limit checks that could not reach the counter (Redis) and let the request through, by policy.",
		}, []string{"policy"}),
		idempotencyTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_idempotency_requests_total",
			Help: "Requests with an Idempotency-Key, by outcome (stored, replayed, released, in_flight, mismatch, applied).",
		}, []string{"outcome"}),
	}
	reg.MustRegister(m.limitedTotal, m.unavailableTotal, m.idempotencyTotal)
	return m
}

func (m *Metrics) limited(policy string) {
	if m != nil {
		m.limitedTotal.WithLabelValues(policy).Inc()
	}
}

func (m *Metrics) failedOpen(policy string) {
	if m != nil {
		m.unavailableTotal.WithLabelValues(policy).Inc()
	}
}

func (m *Metrics) idempotency(outcome string) {
	if m != nil {
		m.idempotencyTotal.WithLabelValues(outcome).Inc()
	}
}

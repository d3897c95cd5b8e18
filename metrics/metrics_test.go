package metrics_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"switchboard/metrics"
	"switchboard/store"
)

// outboxFunc adapts a function to OutboxSource.
type outboxFunc func(ctx context.Context, now time.Time) ([]store.OutboxStat, error)

func (f outboxFunc) OutboxStats(ctx context.Context, now time.Time) ([]store.OutboxStat, error) {
	return f(ctx, now)
}

func TestOutboxCollector_Collect(t *testing.T) {
	tests := []struct {
		name string
		src  outboxFunc
		want string
	}{
		{
			name: "figures",
			src: func(_ context.Context, now time.Time) ([]store.OutboxStat, error) {
				due := now.Add(-90 * time.Second)
				return []store.OutboxStat{{Channel: "email", Pending: 3, OldestDue: &due}, {Channel: "sms"}, {Channel: "webhook", Pending: 1}}, nil
			},
			want: `
switchboard_outbox_oldest_due_age_seconds{channel="email"} 90
switchboard_outbox_oldest_due_age_seconds{channel="sms"} 0
switchboard_outbox_oldest_due_age_seconds{channel="webhook"} 0
switchboard_outbox_pending{channel="email"} 3
switchboard_outbox_pending{channel="sms"} 0
switchboard_outbox_pending{channel="webhook"} 1
switchboard_outbox_stats_up 1
`,
		},
		{
			name: "database down",
			src: func(ctx context.Context, _ time.Time) ([]store.OutboxStat, error) {
				if _, ok := ctx.Deadline(); !ok {
					return nil, errors.New("no deadline: a hung database would hang the scrape")
				}
				return nil, store.ErrUnavailable
			},
			want: `
switchboard_outbox_stats_up 0
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			reg.MustRegister(metrics.NewOutboxCollector(tt.src, nil))
			if got, want := samples(t, reg, ""), strings.TrimSpace(tt.want); got != want {
				t.Errorf("gathered\n%s\nwant\n%s", got, want)
			}
		})
	}
}

func TestMetrics_Counters(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	m.Delivered("email", metrics.ResultSent)
	m.Delivered("email", metrics.ResultSent)
	m.Delivered("webhook", metrics.ResultRetry)
	m.Compared(true)
	m.Compared(false)
	m.Compared(false)
	want := `
switchboard_bcrypt_compares_total{result="match"} 1
switchboard_bcrypt_compares_total{result="mismatch"} 2
switchboard_deliveries_total{channel="email",result="failed"} 0
switchboard_deliveries_total{channel="email",result="retry"} 0
switchboard_deliveries_total{channel="email",result="sent"} 2
switchboard_deliveries_total{channel="sms",result="failed"} 0
switchboard_deliveries_total{channel="sms",result="retry"} 0
switchboard_deliveries_total{channel="sms",result="sent"} 0
switchboard_deliveries_total{channel="webhook",result="failed"} 0
switchboard_deliveries_total{channel="webhook",result="retry"} 1
switchboard_deliveries_total{channel="webhook",result="sent"} 0
`
	got := samples(t, reg, "switchboard_bcrypt_compares_total") + "\n" + samples(t, reg, "switchboard_deliveries_total")
	if got != strings.TrimSpace(want) {
		t.Errorf("gathered\n%s\nwant\n%s", got, strings.TrimSpace(want))
	}
	t.Run("nil counts nothing", func(t *testing.T) {
		var m *metrics.Metrics
		m.Delivered("email", metrics.ResultSent)
		m.Compared(true)
		if m.Middleware() == nil {
			t.Error("a nil Metrics' middleware is nil")
		}
	})
}

// samples returns reg's samples (of the family named only, when only is
// set), one "name{label="value",...} value" line each, sorted.
func samples(t *testing.T, reg *prometheus.Registry, only string) string {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, f := range families {
		if only != "" && f.GetName() != only {
			continue
		}
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			name := f.GetName()
			if len(labels) > 0 {
				name += "{" + strings.Join(labels, ",") + "}"
			}
			v := m.GetGauge().GetValue() + m.GetCounter().GetValue()
			lines = append(lines, fmt.Sprintf("%s %g", name, v))
		}
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

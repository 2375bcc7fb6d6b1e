package apptest

import (
	"maps"
	"slices"
	"strings"
	"sync"

	"go.temporal.io/sdk/client"
)

// Metrics is a metrics handler that keeps every counter's total, so a
// test can read what an operator's dashboard would.
type Metrics struct {
	mu     sync.Mutex
	counts map[string]int64
	tags   map[string]string
	root   *Metrics
}

// NewMetrics returns an empty handler.
func NewMetrics() *Metrics { return &Metrics{counts: map[string]int64{}} }

// Count is a counter's total for exactly these tags ("k=v" pairs in any
// order).
func (m *Metrics) Count(name string, tags ...string) int64 {
	r := m.rootOf()
	r.mu.Lock()
	defer r.mu.Unlock()
	slices.Sort(tags)
	return r.counts[name+"{"+strings.Join(tags, ",")+"}"]
}

func (m *Metrics) rootOf() *Metrics {
	if m.root != nil {
		return m.root
	}
	return m
}

// WithTags implements client.MetricsHandler.
func (m *Metrics) WithTags(tags map[string]string) client.MetricsHandler {
	merged := maps.Clone(m.tags)
	if merged == nil {
		merged = map[string]string{}
	}
	maps.Copy(merged, tags)
	return &Metrics{tags: merged, root: m.rootOf()}
}

// Counter implements client.MetricsHandler.
func (m *Metrics) Counter(name string) client.MetricsCounter {
	var pairs []string
	for _, k := range slices.Sorted(maps.Keys(m.tags)) {
		pairs = append(pairs, k+"="+m.tags[k])
	}
	key := name + "{" + strings.Join(pairs, ",") + "}"
	r := m.rootOf()
	return counter(func(d int64) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.counts[key] += d
	})
}

// Gauge implements client.MetricsHandler; gauges are not kept.
func (m *Metrics) Gauge(string) client.MetricsGauge { return client.MetricsNopHandler.Gauge("") }

// Timer implements client.MetricsHandler; timers are not kept.
func (m *Metrics) Timer(string) client.MetricsTimer { return client.MetricsNopHandler.Timer("") }

type counter func(int64)

func (c counter) Inc(d int64) { c(d) }

var _ client.MetricsHandler = (*Metrics)(nil)

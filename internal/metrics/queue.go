package metrics

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

var descQueueJobs = prometheus.NewDesc("syncer_queue_jobs",
	"Unfinished jobs in River's queue by state (the whole fleet's; from river_job): available, pending and scheduled "+
		"ones wait, retryable ones wait to be tried again, running ones run.",
	[]string{"state"}, nil)

// QueueCounts reads how many jobs the queue holds in each state.
type QueueCounts func(ctx context.Context) (map[string]int, error)

// queueCollector reports syncer_queue_jobs, reading at most once per
// cacheFor, each read within timeout, like the warehouse's gauges.
type queueCollector struct {
	read     QueueCounts
	cacheFor time.Duration
	timeout  time.Duration
	logger   *slog.Logger

	mu     sync.Mutex
	readAt time.Time
	counts map[string]int
	err    error
}

// WatchQueue adds syncer_queue_jobs, read with counts.
func (m *Metrics) WatchQueue(counts QueueCounts) {
	m.reg.MustRegister(&queueCollector{read: counts, cacheFor: m.opts.CacheFor, timeout: m.opts.QueryTimeout, logger: m.opts.Logger})
}

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) { ch <- descQueueJobs }

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := time.Now(); c.readAt.IsZero() || now.Sub(c.readAt) >= c.cacheFor || now.Before(c.readAt) {
		ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
		c.readAt = now
		c.counts, c.err = c.read(ctx)
		cancel()
		if c.err != nil {
			c.logger.Warn("metrics: could not count the queue's jobs; syncer_queue_jobs is left out",
				slog.Any("error", c.err), slog.Duration("next_try_in", c.cacheFor))
		}
	}
	if c.err != nil {
		return
	}
	for state, n := range c.counts {
		ch <- prometheus.MustNewConstMetric(descQueueJobs, prometheus.GaugeValue, float64(n), state)
	}
}

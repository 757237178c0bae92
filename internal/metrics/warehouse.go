package metrics

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"syncer/internal/state"
)

// Warehouse is what the gauges read from the database at scrape time;
// *state.Store is one.
type Warehouse interface {
	Freshness(ctx context.Context, keys []state.StreamKey) ([]state.Freshness, error)
	InboxBacklog(ctx context.Context) ([]state.Backlog, error)
}

var _ Warehouse = (*state.Store)(nil)

var (
	descSinceSuccess = prometheus.NewDesc("syncer_last_success_age_seconds",
		"Seconds since the stream's last complete incremental run ended (by any replica; from sync_runs), "+
			"or, while none has completed, since its first run started. Rises while the source is down. "+
			"Absent for a stream that never ran.",
		[]string{"source", "stream"}, nil)
	descLastSuccess = prometheus.NewDesc("syncer_last_success_timestamp_seconds",
		"Unix time the stream's last complete incremental run ended (by any replica; from sync_runs). Absent until one has.",
		[]string{"source", "stream"}, nil)
	descInboxWaiting = prometheus.NewDesc("syncer_webhook_inbox_waiting",
		"Webhook deliveries kept and not processed yet (from webhook_inbox).", []string{"source"}, nil)
	descWarehouseUp = prometheus.NewDesc("syncer_warehouse_up",
		"1 when the latest read of the warehouse for the gauges above worked; 0 when it failed (they are then absent).", nil, nil)
)

// warehouseCollector reports the gauges that only the warehouse knows, as
// every replica of a fleet writes there: how long since each configured
// stream last completed a run, and the webhook backlog. It reads them at
// scrape time, at most once per cacheFor (scrapes in between get the same
// read, the ages moved on by the time since), each read within timeout.
type warehouseCollector struct {
	db       Warehouse
	keys     []state.StreamKey
	hooks    []string // configured sources that take webhooks
	cacheFor time.Duration
	timeout  time.Duration
	logger   *slog.Logger
	now      func() time.Time

	mu      sync.Mutex // held while reading, so that scrapes at once read once
	readAt  time.Time  // by now; zero: never
	fresh   []state.Freshness
	backlog []state.Backlog
	err     error
}

var _ prometheus.Collector = (*warehouseCollector)(nil)

func newWarehouseCollector(w Warehouse, opts Options) *warehouseCollector {
	c := &warehouseCollector{db: w, cacheFor: opts.CacheFor, timeout: opts.QueryTimeout, logger: opts.Logger, now: opts.Now}
	for i := range opts.Sources {
		src := &opts.Sources[i]
		for _, stream := range src.Streams {
			c.keys = append(c.keys, state.StreamKey{Source: src.Name, Stream: stream})
		}
		if src.WebhookSecret != "" {
			c.hooks = append(c.hooks, src.Name)
		}
	}
	return c
}

// Describe sends every gauge the collector may report.
func (c *warehouseCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descSinceSuccess
	ch <- descLastSuccess
	ch <- descInboxWaiting
	ch <- descWarehouseUp
}

// Collect reads the warehouse when the last read is cacheFor old, then
// reports what it read.
func (c *warehouseCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if c.readAt.IsZero() || now.Sub(c.readAt) >= c.cacheFor || now.Before(c.readAt) {
		c.read(now)
	}
	if c.err != nil {
		ch <- prometheus.MustNewConstMetric(descWarehouseUp, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(descWarehouseUp, prometheus.GaugeValue, 1)
	since := max(now.Sub(c.readAt), 0) // the database's clock moved on as much
	for _, f := range c.fresh {
		from := f.FirstStarted
		if f.LastSuccess != nil {
			from = *f.LastSuccess
			ch <- prometheus.MustNewConstMetric(descLastSuccess, prometheus.GaugeValue, float64(from.UnixNano())/1e9, f.Source, f.Stream)
		}
		age := max(f.Now.Sub(from)+since, 0)
		ch <- prometheus.MustNewConstMetric(descSinceSuccess, prometheus.GaugeValue, age.Seconds(), f.Source, f.Stream)
	}
	waiting := map[string]int64{}
	for _, b := range c.backlog {
		waiting[b.Source] = b.Waiting
	}
	for _, s := range c.hooks {
		if _, ok := waiting[s]; !ok {
			waiting[s] = 0
		}
	}
	for s, n := range waiting {
		ch <- prometheus.MustNewConstMetric(descInboxWaiting, prometheus.GaugeValue, float64(n), s)
	}
}

// read reads the warehouse into the cache; a failure is logged and kept
// for cacheFor like a result, so that a database in trouble is asked once
// per cacheFor, not once per scrape.
func (c *warehouseCollector) read(now time.Time) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	c.readAt = now
	c.fresh, c.err = c.db.Freshness(ctx, c.keys)
	if c.err == nil {
		c.backlog, c.err = c.db.InboxBacklog(ctx)
	}
	if c.err != nil {
		c.fresh, c.backlog = nil, nil
		c.logger.Warn("metrics: could not read the warehouse; the freshness and webhook backlog gauges are left out",
			slog.Any("error", c.err), slog.Duration("next_try_in", c.cacheFor))
	}
}

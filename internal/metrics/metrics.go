// Package metrics owns what `syncer run` tells Prometheus at GET /metrics:
// a registry of its own (never client_golang's global one) holding the
// counters of runs, rows, webhook deliveries and requests to the
// platforms, the histograms of request and commit times, the gauges read
// from the warehouse at scrape time (freshness, webhook backlog), and the
// Go runtime and process collectors. The other packages report through
// small hooks they define themselves (extract.Observer, load.Loader's
// OnCommit, schedule.Daemon's OnOutcome, webhook.Handler's Answered);
// Metrics implements them, so that the packages that measure never import
// client_golang (package serve only serves the registry). It must not
// decide what runs or when, nor write to the warehouse.
//
// To add a gauge read from the database at scrape time (the River job
// queue's depth, say), write a collector in a file of its own, as
// warehouse.go does (its reads cached for a few seconds, with a deadline),
// and register it in New, or from outside through Register.
package metrics

import (
	"log/slog"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"syncer/internal/config"
	"syncer/internal/extract"
	"syncer/internal/pipeline"
	"syncer/internal/state"
)

// Options of New.
type Options struct {
	// Sources are the configured sources: their run and row counters
	// start at 0, and Watch reports the freshness of each of their
	// streams and the webhook backlog (0 too) of each with a
	// webhook_secret.
	Sources []config.Source
	// CacheFor is how long one read of the warehouse answers scrapes;
	// default 5s.
	CacheFor time.Duration
	// QueryTimeout bounds one read of the warehouse; default 5s.
	QueryTimeout time.Duration
	Logger       *slog.Logger // default discards
	// Now is the clock of the cache and of the ages between two reads;
	// default time.Now.
	Now func() time.Time
}

// The defaults of Options.
const (
	DefaultCacheFor     = 5 * time.Second
	DefaultQueryTimeout = 5 * time.Second
)

// Metrics is the registry of `syncer run` and the hooks that feed it. Its
// methods are safe for concurrent use.
type Metrics struct {
	reg  *prometheus.Registry
	opts Options // defaults applied

	runs            *prometheus.CounterVec
	rowsRead        *prometheus.CounterVec
	rowsWritten     *prometheus.CounterVec
	rowsQuarantined *prometheus.CounterVec
	suspectedGaps   *prometheus.CounterVec
	lastRunSeconds  *prometheus.GaugeVec
	commitSeconds   *prometheus.HistogramVec
	webhooks        *prometheus.CounterVec

	httpRequests        *prometheus.CounterVec
	httpSeconds         *prometheus.HistogramVec
	httpRetries         *prometheus.CounterVec
	httpRetryWait       *prometheus.CounterVec
	httpRateWaits       *prometheus.CounterVec
	httpRateWaitSeconds *prometheus.CounterVec
}

// Run statuses a configured stream's counters start with at 0 (skipped
// ones appear when they happen).
var runStatuses = []string{state.StatusSucceeded, state.StatusPartial, state.StatusFailed}

// New builds the registry with every metric but those read from the
// warehouse (see Watch), and the Go runtime and process collectors.
func New(opts Options) *Metrics {
	if opts.CacheFor <= 0 {
		opts.CacheFor = DefaultCacheFor
	}
	if opts.QueryTimeout <= 0 {
		opts.QueryTimeout = DefaultQueryTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	}
	histogram := func(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, labels)
	}
	m := &Metrics{
		reg:             prometheus.NewRegistry(),
		opts:            opts,
		runs:            counter("syncer_runs_total", "Stream runs by how they ended: succeeded, partial, failed or skipped (another process held the stream).", "source", "stream", "status"),
		rowsRead:        counter("syncer_rows_read_total", "Records read from the platform.", "source", "stream"),
		rowsWritten:     counter("syncer_rows_written_total", "Rows inserted, changed or marked deleted in the warehouse.", "source", "stream"),
		rowsQuarantined: counter("syncer_rows_quarantined_total", "Records sent to quarantine.", "source", "stream"),
		suspectedGaps:   counter("syncer_suspected_gaps_total", "Partitions where records may have been missed.", "source", "stream"),
		lastRunSeconds: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "syncer_last_run_duration_seconds",
			Help: "How long the latest run of the stream in this process took."}, []string{"source", "stream"}),
		commitSeconds: histogram("syncer_commit_duration_seconds", "Time to commit one write batch: its transaction, with the retries after a deadlock if any.",
			[]float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}, "source", "stream"),
		webhooks: counter("syncer_webhook_deliveries_total", "Webhook deliveries by answer code (200: kept); source is empty for an unknown name.", "source", "code"),
		httpRequests: counter("syncer_http_requests_total", "Requests (each attempt) to the platforms by answer: the status code, or error when none came (network error, timeout, body cut off).",
			"platform", "source", "code"),
		httpSeconds: histogram("syncer_http_request_duration_seconds", "Time of one attempt of a request to a platform, from sending it to reading its body.",
			[]float64{.025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}, "platform", "source"),
		httpRetries: counter("syncer_http_retries_total", "Requests to the platforms sent again, by reason: rate_limited (429, 420, 503), server_error (other 5xx), network, credentials_renewed.",
			"platform", "source", "reason"),
		httpRetryWait: counter("syncer_http_retry_wait_seconds_total", "Time spent waiting before retries (Retry-After or back-off), by reason.",
			"platform", "source", "reason"),
		httpRateWaits: counter("syncer_http_rate_limit_waits_total", "Requests held back by the source's rate_limit.", "platform", "source"),
		httpRateWaitSeconds: counter("syncer_http_rate_limit_wait_seconds_total", "Time requests were held back by the source's rate_limit.",
			"platform", "source"),
	}
	up := prometheus.NewGauge(prometheus.GaugeOpts{Name: "syncer_up", Help: "1 while syncer run is up."})
	up.Set(1)
	m.reg.MustRegister(up, m.runs, m.rowsRead, m.rowsWritten, m.rowsQuarantined, m.suspectedGaps, m.lastRunSeconds,
		m.commitSeconds, m.webhooks, m.httpRequests, m.httpSeconds, m.httpRetries, m.httpRetryWait, m.httpRateWaits,
		m.httpRateWaitSeconds,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	// A configured stream's counters exist from the start, so that rate()
	// and increase() see its first run.
	for i := range opts.Sources {
		src := &opts.Sources[i]
		for _, stream := range src.Streams {
			for _, status := range runStatuses {
				m.runs.WithLabelValues(src.Name, stream, status)
			}
			for _, c := range []*prometheus.CounterVec{m.rowsRead, m.rowsWritten, m.rowsQuarantined, m.suspectedGaps} {
				c.WithLabelValues(src.Name, stream)
			}
		}
	}
	return m
}

// Watch adds the gauges read from the warehouse at scrape time, what no
// single process of a fleet knows: how long since each configured stream
// last completed a run, and how many webhook deliveries wait. Call it
// once.
func (m *Metrics) Watch(w Warehouse) {
	m.reg.MustRegister(newWarehouseCollector(w, m.opts))
}

// Gatherer is what GET /metrics serves (promhttp.HandlerFor).
func (m *Metrics) Gatherer() prometheus.Gatherer { return m.reg }

// Register adds a collector to the registry (a River queue depth, say);
// it fails when one of its metrics is already there.
func (m *Metrics) Register(c prometheus.Collector) error { return m.reg.Register(c) }

// RecordOutcome counts a finished run; it is a schedule.Daemon's
// OnOutcome.
func (m *Metrics) RecordOutcome(o pipeline.Outcome) {
	m.runs.WithLabelValues(o.Source, o.Stream, o.Status).Inc()
	if o.Status == pipeline.StatusSkipped {
		return
	}
	m.rowsRead.WithLabelValues(o.Source, o.Stream).Add(float64(o.Totals.RowsRead))
	m.rowsWritten.WithLabelValues(o.Source, o.Stream).Add(float64(o.Totals.RowsWritten))
	m.rowsQuarantined.WithLabelValues(o.Source, o.Stream).Add(float64(o.Totals.RowsQuarantined))
	m.suspectedGaps.WithLabelValues(o.Source, o.Stream).Add(float64(o.Totals.SuspectedGaps))
	m.lastRunSeconds.WithLabelValues(o.Source, o.Stream).Set(o.Duration.Seconds())
}

// ObserveCommit times a committed write batch; it is a load.Loader's
// OnCommit.
func (m *Metrics) ObserveCommit(source, stream string, took time.Duration) {
	m.commitSeconds.WithLabelValues(source, stream).Observe(took.Seconds())
}

// WebhookAnswered counts a webhook delivery by its answer; it is a
// webhook.Handler's Answered.
func (m *Metrics) WebhookAnswered(source string, status int) {
	m.webhooks.WithLabelValues(source, strconv.Itoa(status)).Inc()
}

// HTTP returns the Observer of one source's requests; it is a
// pipeline.Options' Observer. The source's series exist (at 0) from then
// on.
func (m *Metrics) HTTP(platform, source string) extract.Observer {
	labels := prometheus.Labels{"platform": platform, "source": source}
	o := &httpObserver{
		requests:        m.httpRequests.MustCurryWith(labels),
		seconds:         m.httpSeconds.WithLabelValues(platform, source),
		retries:         m.httpRetries.MustCurryWith(labels),
		retryWait:       m.httpRetryWait.MustCurryWith(labels),
		rateWaits:       m.httpRateWaits.WithLabelValues(platform, source),
		rateWaitSeconds: m.httpRateWaitSeconds.WithLabelValues(platform, source),
	}
	for _, r := range []extract.RetryReason{extract.RetryRateLimited, extract.RetryServerError, extract.RetryNetwork, extract.RetryCredentials} {
		o.retries.WithLabelValues(string(r))
		o.retryWait.WithLabelValues(string(r))
	}
	return o
}

package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"syncer/internal/extract"
)

// httpObserver counts one source's requests; its label values other than
// the code and the reason are bound when it is made.
type httpObserver struct {
	requests        *prometheus.CounterVec // by code
	seconds         prometheus.Observer
	retries         *prometheus.CounterVec // by reason
	retryWait       *prometheus.CounterVec // by reason
	rateWaits       prometheus.Counter
	rateWaitSeconds prometheus.Counter
}

var _ extract.Observer = (*httpObserver)(nil)

func (o *httpObserver) Request(code string, took time.Duration) {
	o.requests.WithLabelValues(code).Inc()
	o.seconds.Observe(took.Seconds())
}

func (o *httpObserver) Retry(reason extract.RetryReason, wait time.Duration) {
	o.retries.WithLabelValues(string(reason)).Inc()
	o.retryWait.WithLabelValues(string(reason)).Add(wait.Seconds())
}

func (o *httpObserver) RateLimitWait(wait time.Duration) {
	o.rateWaits.Inc()
	o.rateWaitSeconds.Add(wait.Seconds())
}

// Package serve answers the HTTP endpoints of `syncer run`: /healthz (the
// process is alive), /readyz (the warehouse answers and its schema is
// current), /metrics (what a Prometheus registry gathers, through
// client_golang's promhttp) and, when a handler is given,
// /webhooks/{source}. It must not run syncs nor decide what is measured.
package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Server is the daemon's HTTP side.
type Server struct {
	Listener net.Listener
	// Ready reports why the daemon is not ready, or nil.
	Ready func(ctx context.Context) error
	// Metrics is gathered at every GET /metrics (metrics.Metrics'
	// Gatherer); a collector that fails is logged and left out, the rest
	// is served.
	Metrics prometheus.Gatherer
	Logger  *slog.Logger
	// UI, if set, answers /ui/ (River's job UI, behind its own auth).
	UI http.Handler
	// Webhooks, if set, answers /webhooks/{source} (every method: it
	// answers 405 itself to all but POST).
	Webhooks http.Handler
}

// Handler routes the endpoints.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := s.Ready(ctx); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, "not ready: %v\n", err)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	if s.Webhooks != nil {
		mux.Handle("/webhooks/{source}", s.Webhooks)
	}
	if s.UI != nil {
		mux.Handle("/ui/", s.UI)
	}
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.Metrics, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(s.Logger.Handler(), slog.LevelWarn),
		ErrorHandling: promhttp.ContinueOnError,
		Timeout:       20 * time.Second,
	}))
	return mux
}

// Run serves until ctx ends, then shuts down within 10 seconds. A client
// has 10 seconds to send its headers and 30 for its whole request (a
// webhook body is at most a few MiB), and an idle connection is closed
// after 2 minutes, so slow or silent clients cannot hold connections.
func (s *Server) Run(ctx context.Context) error {
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	stop := context.AfterFunc(ctx, func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	})
	defer stop()
	if err := srv.Serve(s.Listener); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve %s: %w", s.Listener.Addr(), err)
	}
	return nil
}

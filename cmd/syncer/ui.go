package main

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"log/slog"
	"net"
	"net/http"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"riverqueue.com/riverui"

	"syncer/internal/logging"
)

// uiHandler is River's UI under /ui, started (it polls the queue while
// ctx lasts), behind basic auth when the config gives credentials. With
// none, it is served only on a loopback listen address: nil otherwise.
func (e *env) uiHandler(ctx context.Context, client *river.Client[pgx.Tx]) (http.Handler, error) {
	user, pass := e.cfg.UI.Username, e.cfg.UI.Password.Reveal()
	if pass == "" && !loopbackListen(e.cfg.Listen) {
		e.logger.InfoContext(ctx, "the job UI is off: listen is not a loopback address and ui.username/ui.password are not set")
		return nil, nil
	}
	h, err := riverui.NewHandler(&riverui.HandlerOpts{
		Endpoints: riverui.NewEndpoints(client, nil),
		Prefix:    "/ui",
		Logger:    logging.AtLeast(e.logger.With(slog.String("component", "ui")), slog.LevelWarn),
	})
	if err != nil {
		return nil, err
	}
	if err := h.Start(ctx); err != nil {
		return nil, err
	}
	if pass == "" {
		return loopbackHostOnly(h), nil
	}
	return basicAuth(h, user, pass), nil
}

// loopbackHostOnly answers only requests addressed to a loopback name: the
// UI can cancel and delete jobs, and without credentials a web page could
// otherwise reach it through a name of its own that resolves to 127.0.0.1
// (DNS rebinding).
func loopbackHostOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		ip := net.ParseIP(strings.Trim(host, "[]"))
		if host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			http.Error(w, "the job UI without ui.username and ui.password answers only at localhost, 127.0.0.1 or [::1]", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// basicAuth lets through requests with the credentials, compared in
// constant time, and asks for them otherwise.
func basicAuth(next http.Handler, user, pass string) http.Handler {
	wantU, wantP := sha256.Sum256([]byte(user)), sha256.Sum256([]byte(pass))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		gotU, gotP := sha256.Sum256([]byte(u)), sha256.Sum256([]byte(p))
		if !ok || subtle.ConstantTimeCompare(gotU[:], wantU[:])&subtle.ConstantTimeCompare(gotP[:], wantP[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="syncer jobs", charset="UTF-8"`)
			http.Error(w, "the job UI needs the ui.username and ui.password of the config", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// loopbackListen reports whether host:port listens on a loopback address
// only (localhost, 127.0.0.0/8, ::1); an empty host is every address.
func loopbackListen(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

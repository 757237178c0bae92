// Package webhook receives the platforms' webhook deliveries and turns them
// into warehouse rows. The handler (POST /webhooks/{source}) only checks
// the caller and appends the body to webhook_inbox, in one short
// transaction, answering 200 once it has committed: a delivery the platform
// saw acknowledged is never lost. The processor then claims inbox rows one
// at a time and maps each, in the transaction that marks it processed, so a
// crash between the two loses nothing and repeats nothing. It must not
// decode a platform's payloads itself (extract/<platform> does) nor map
// them (transform/<platform> does).
package webhook

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	"syncer/internal/load"
	"syncer/internal/state"

	"github.com/jackc/pgx/v5/pgconn"
)

// MaxBody is the largest delivery the handler takes.
const MaxBody = 1 << 20

// Source is a configured source that takes webhooks.
type Source struct {
	Source state.Source
	Secret string // its webhook_secret
}

// Handler answers POST /webhooks/{source}.
type Handler struct {
	Store   *state.Store
	Sources map[string]Source // by source name
	Logger  *slog.Logger
	// Keep, if set, keeps a delivery and returns its inbox id (syncer run
	// keeps it with its job, in one transaction); default Store.PutDelivery.
	Keep func(ctx context.Context, src state.Source, payload []byte) (int64, error)
	// Received, if set, is told of every delivery kept (to wake the
	// processor).
	Received func()
	// Answered, if set, is told of every answer (metrics).
	Answered func(source string, status int)
}

// ServeHTTP checks the caller, keeps the body and answers.
//
//	401  no token, or not the source's webhook_secret (nothing kept)
//	404  no source of that name takes webhooks
//	405  not POST
//	400  the body is not JSON (or is declared as something else)
//	413  the body is larger than MaxBody
//	503  the inbox could not be written: the platform should retry
//	200  kept: {"ok":true,"id":<inbox id>}
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("source")
	if h.Answered != nil {
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		defer func() {
			source := name
			if _, ok := h.Sources[name]; !ok {
				source = "" // unknown names do not become metric labels
			}
			h.Answered(source, sw.status)
		}()
		w = sw
	}
	src, ok := h.Sources[name]
	if !ok {
		reply(w, http.StatusNotFound, "no source of that name takes webhooks")
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		reply(w, http.StatusMethodNotAllowed, "use POST")
		return
	}
	token := r.Header.Get("X-Webhook-Token")
	if token == "" {
		token = r.URL.Query().Get("token")
	}
	if !sameSecret(token, src.Secret) {
		reply(w, http.StatusUnauthorized, "wrong or missing webhook token (X-Webhook-Token header or token parameter)")
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !(len(mt) > 5 && mt[len(mt)-5:] == "+json")) {
			reply(w, http.StatusBadRequest, "the body must be JSON (Content-Type application/json)")
			return
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
			reply(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is larger than %d bytes", MaxBody))
			return
		}
		reply(w, http.StatusBadRequest, "the body could not be read")
		return
	}
	if !json.Valid(body) {
		reply(w, http.StatusBadRequest, "the body is not JSON")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	keep := h.Keep
	if keep == nil {
		keep = h.Store.PutDelivery
	}
	id, err := keep(ctx, src.Source, load.StorableJSON(body))
	if pgErr := (*pgconn.PgError)(nil); errors.As(err, &pgErr) && strings.HasPrefix(pgErr.Code, "22") {
		// JSON that PostgreSQL cannot store as jsonb even once cleaned
		// (a number out of its range): the same body would be refused on
		// every retry.
		reply(w, http.StatusBadRequest, "the body is JSON that the warehouse cannot store: "+pgErr.Message)
		return
	}
	if err != nil {
		h.Logger.ErrorContext(ctx, "could not keep a webhook delivery; the platform will retry it",
			slog.String("source", name), slog.Any("error", err))
		reply(w, http.StatusServiceUnavailable, "the delivery could not be kept; retry")
		return
	}
	if h.Received != nil {
		h.Received()
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, "{\"ok\":true,\"id\":%d}\n", id)
}

// sameSecret compares in constant time, whatever the lengths.
func sameSecret(got, want string) bool {
	if want == "" {
		return false
	}
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

func reply(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]any{"ok": false, "error": msg})
	w.Write(append(b, '\n')) //nolint:errcheck // the caller may be gone; nothing to do
}

// statusWriter remembers the status of an answer.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	w.status = status
	w.ResponseWriter.WriteHeader(status)
}

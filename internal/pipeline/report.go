package pipeline

import (
	"context"
	"errors"
	"log/slog"
	"sync"

	"syncer/internal/extract"
)

// A failure that several streams of one source share (refused credentials,
// an address that does not answer) is logged at ERROR once per round of
// runs: the first stream that meets it says it, the others say at DEBUG
// that they failed the same way.

type failuresKey struct{}

type failures struct {
	mu   sync.Mutex
	seen map[string]string // source and cause → the stream that reported it
}

// WithFailureMemo returns a context under which runs of one round (one
// `syncer sync`, one tick of the daemon) log a failure they share once.
func WithFailureMemo(ctx context.Context) context.Context {
	return context.WithValue(ctx, failuresKey{}, &failures{seen: map[string]string{}})
}

// logFailure logs a failed run at ERROR, unless another stream of the same
// source already did for the same cause in this round.
func (r *Runner) logFailure(ctx context.Context, log *slog.Logger, job Job, err error, attrs []any) {
	attrs = append(attrs, slog.String("error", err.Error()))
	if f, ok := ctx.Value(failuresKey{}).(*failures); ok {
		key := job.Source + "\x00" + cause(err)
		f.mu.Lock()
		first, seen := f.seen[key]
		if !seen {
			f.seen[key] = job.Stream.Name()
		}
		f.mu.Unlock()
		if seen {
			log.DebugContext(ctx, "run failed the same way as the "+first+" stream", attrs...)
			return
		}
	}
	log.ErrorContext(ctx, "run failed", attrs...)
}

// cause is the part of an error that does not depend on the stream: the
// platform's refusal of the credentials, else the innermost error of the
// chain (an unknown host, a refused certificate), which the streams'
// wrappings around it do not change.
func cause(err error) string {
	var auth *extract.AuthError
	if errors.As(err, &auth) {
		return auth.Error()
	}
	for {
		inner := errors.Unwrap(err)
		if inner == nil {
			return err.Error()
		}
		err = inner
	}
}

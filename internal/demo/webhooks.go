package demo

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"syncer/internal/config"
	"syncer/internal/load"
	"syncer/internal/state"
	"syncer/internal/webhook"
)

// intake is syncer's webhook intake in process, wired as `syncer run`
// wires it: the handler of POST /webhooks/{source} on an httptest server,
// keeping each delivery in webhook_inbox, and a processor turning the
// inbox into warehouse rows.
type intake struct {
	srv    *httptest.Server
	store  *state.Store
	cancel context.CancelFunc
	group  *errgroup.Group
	once   sync.Once
}

// drainTimeout bounds the wait for the processor to empty the inbox.
const drainTimeout = 2 * time.Minute

// startIntake serves the webhooks of the sources with a webhook_secret
// and starts the processor; Close stops both.
func startIntake(ctx context.Context, store *state.Store, logger *slog.Logger, sources []config.Source) (*intake, error) {
	hooks, err := webhook.Sources(ctx, store, logger, sources)
	if err != nil {
		return nil, err
	}
	proc := &webhook.Processor{Store: store, Loader: load.New(store, logger), Logger: logger}
	mux := http.NewServeMux()
	mux.Handle("/webhooks/{source}", &webhook.Handler{Store: store, Sources: hooks, Logger: logger, Received: proc.Wake})
	in := &intake{srv: httptest.NewServer(mux), store: store}
	ctx, in.cancel = context.WithCancel(ctx)
	in.group, ctx = errgroup.WithContext(ctx)
	in.group.Go(func() error { return proc.Run(ctx) })
	return in, nil
}

// URL is where the platform posts the webhooks of source.
func (in *intake) URL(source string) string { return in.srv.URL + "/webhooks/" + source }

// Client is a client for the intake's server.
func (in *intake) Client() *http.Client { return in.srv.Client() }

// drain waits until no delivery waits in the inbox: every delivery the
// handler acknowledged is then in the warehouse, or in quarantine.
func (in *intake) drain(ctx context.Context) error {
	deadline := time.Now().Add(drainTimeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		backlog, err := in.store.InboxBacklog(qctx)
		cancel()
		if err != nil {
			return fmt.Errorf("demo: wait for the webhook processor: %w", err)
		}
		if len(backlog) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("demo: %d webhook deliveries of %s still wait in the inbox after %s; the log says why",
				backlog[0].Waiting, backlog[0].Source, drainTimeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// Close stops the server, then the processor, which records the end of
// its runs. Safe to call twice.
func (in *intake) Close() {
	in.once.Do(func() {
		in.srv.Close()
		in.cancel()
		_ = in.group.Wait() // Run returns nil: a shutdown is not an error
	})
}

// wavyBatch is how many items a webhook body of the demo's Wavy holds.
const wavyBatch = 20

// webhookRound is what one round of Wavy's webhooks posted.
type webhookRound struct {
	bodies, mo, statuses int
	twice                int           // bodies posted again after the 200, on purpose
	took                 time.Duration // from the first post until the inbox was empty
}

func (r webhookRound) String() string {
	twice := ""
	if r.twice > 0 {
		twice = fmt.Sprintf("; %d of them posted twice", r.twice)
	}
	return fmt.Sprintf("Wavy posted %d webhook bodies (%d MO messages, %d status callbacks%s) to syncer's webhook handler; all were in the warehouse %s after the first post.",
		r.bodies, r.mo, r.statuses, twice, r.took.Round(time.Millisecond))
}

// postWavy has Wavy post mo MO messages, then statuses status callbacks,
// in bodies of wavyBatch items, to the intake, with Wavy's clock moving
// over span meanwhile, and waits until the processor has written them.
func (f *fleet) postWavy(ctx context.Context, in *intake, mo, statuses int, span time.Duration) (webhookRound, error) {
	r := webhookRound{mo: mo, statuses: statuses}
	bodies := (mo+wavyBatch-1)/wavyBatch + (statuses+wavyBatch-1)/wavyBatch
	step := span / time.Duration(max(bodies, 1))
	start := time.Now()
	for _, b := range []struct {
		n    int
		make func(int) []byte
	}{{mo, f.wv.NewMOBatch}, {statuses, f.wv.NewStatusBatch}} {
		for left := b.n; left > 0; left -= wavyBatch {
			f.wavyClock.Advance(step)
			d, err := f.posted.Send(ctx, b.make(min(left, wavyBatch)))
			if err != nil && ctx.Err() != nil {
				return r, ctx.Err() // a shutdown, not a failure
			}
			if err != nil {
				return r, fmt.Errorf("demo: syncer's webhook handler did not acknowledge a Wavy webhook: %w", err)
			}
			r.bodies++
			r.twice += d.Extra
		}
	}
	if err := in.drain(ctx); err != nil {
		return r, err
	}
	r.took = time.Since(start)
	return r, nil
}

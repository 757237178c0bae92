package webhook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"syncer/internal/extract"
	"syncer/internal/load"
	_ "syncer/internal/platforms" // every platform registers its webhook decoder and mapping
	"syncer/internal/state"
	"syncer/internal/transform"
)

// Processor turns inbox rows into warehouse rows.
type Processor struct {
	Store  *state.Store
	Loader *load.Loader
	Logger *slog.Logger
	// Workers is how many deliveries are processed at once; default 2.
	Workers int
	// Poll is how long an idle worker waits before looking at the inbox
	// again when nothing wakes it (deliveries received by other
	// replicas); default 1s.
	Poll time.Duration
	// Linger is how long a source's run stays open after its last
	// delivery, so that a steady trickle of deliveries is one run, not one
	// per delivery; default 1m. MaxRun ends a run that long (default 10m)
	// at its next pause, so that a busy source still records its runs.
	// Both apply only while Run runs; it ends every open run on return.
	Linger, MaxRun time.Duration
	// now is the clock; time.Now unless a test sets it.
	now func() time.Time

	once     sync.Once
	wake     chan struct{}
	starting sync.Mutex // one run started at a time, so workers never start two
	mu       sync.Mutex
	swept    time.Time           // the last sweep of runs left by dead processes
	runs     map[string]*openRun // a run of the webhooks stream per source while busy
}

// openRun is a run, how many workers are using it, and since when it has
// been open and unused. A retired run takes no more deliveries: the last
// worker to release it ends it.
type openRun struct {
	run          *state.Run
	users        int
	opened, used time.Time
	retired      bool
}

func (p *Processor) init() {
	p.once.Do(func() {
		p.wake = make(chan struct{}, 1)
		p.runs = map[string]*openRun{}
		if p.Workers <= 0 {
			p.Workers = 2
		}
		if p.Poll <= 0 {
			p.Poll = time.Second
		}
		if p.Linger <= 0 {
			p.Linger = time.Minute
		}
		if p.MaxRun <= 0 {
			p.MaxRun = 10 * time.Minute
		}
		if p.now == nil {
			p.now = time.Now
		}
		if p.Logger == nil {
			p.Logger = slog.New(slog.DiscardHandler)
		}
	})
}

// Wake tells an idle worker that a delivery arrived. It never blocks.
func (p *Processor) Wake() {
	p.init()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Run processes the inbox until ctx ends, and then records the end of the
// runs it had open.
func (p *Processor) Run(ctx context.Context) error {
	p.init()
	p.sweep(ctx)
	var wg sync.WaitGroup
	for range p.Workers {
		wg.Go(func() { p.work(ctx) })
	}
	wg.Wait()
	p.finishRuns(context.WithoutCancel(ctx), true)
	return nil
}

func (p *Processor) work(ctx context.Context) {
	failures := 0
	for ctx.Err() == nil {
		did, err := p.Next(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			failures++
			wait := min(time.Duration(failures)*time.Second, 30*time.Second)
			p.Logger.WarnContext(ctx, "could not process a webhook delivery; it stays in the inbox and is tried again",
				slog.Any("error", err), slog.Duration("retry_in", wait))
			sleep(ctx, wait)
		case did:
			failures = 0
			p.finishRuns(ctx, false)
		default:
			p.finishRuns(ctx, false)
			p.sweep(ctx)
			select {
			case <-ctx.Done():
			case <-p.wake:
			case <-time.After(p.Poll):
			}
		}
	}
}

// BatchSize is how many deliveries of one source are processed in one
// transaction.
const BatchSize = 200

// Next claims the oldest deliveries nobody holds (up to BatchSize, of one
// source) and processes them, in one transaction. It reports whether there
// were any.
func (p *Processor) Next(ctx context.Context) (bool, error) {
	p.init()
	for {
		var ds []state.Delivery
		var res load.Result
		var run *openRun
		err := pgx.BeginFunc(ctx, p.Store.Pool(), func(tx pgx.Tx) error {
			var err error
			if ds, err = state.ClaimDeliveries(ctx, tx, BatchSize); err != nil || len(ds) == 0 {
				return err
			}
			var ok bool
			if run, ok = p.acquire(ds[0].Source.Name); !ok {
				return errNoRun
			}
			res, err = p.ProcessAll(ctx, tx, run.run, ds)
			return err
		})
		if errors.Is(err, errNoRun) {
			// The run is started outside the deliveries' transaction (on
			// another connection, committed on its own); then they are
			// claimed again.
			if err := p.start(ctx, ds[0].Source); err != nil {
				return false, err
			}
			continue
		}
		if run != nil {
			if err == nil {
				p.Store.Count(ctx, run.run, state.Totals{Pages: int64(len(ds)), RowsRead: int64(len(ds)),
					RowsWritten: res.Written, RowsQuarantined: res.Quarantined})
			}
			p.release(ctx, run)
		}
		return len(ds) > 0, err
	}
}

var errNoRun = errors.New("no open run for the source")

// ProcessAll processes deliveries of one source inside tx, all in one
// commit; when that commit fails, it processes them one by one (Process),
// so that a delivery that cannot be written goes to quarantine alone.
func (p *Processor) ProcessAll(ctx context.Context, tx pgx.Tx, run *state.Run, ds []state.Delivery) (load.Result, error) {
	if len(ds) == 1 {
		return p.Process(ctx, tx, run, ds[0])
	}
	var all transform.Batch
	inbox := make([]load.Inbox, len(ds))
	for i, d := range ds {
		b, note := mapDelivery(d)
		all.Append(&b)
		inbox[i] = load.Inbox{ID: d.ID, Note: note}
	}
	res, err := p.commit(ctx, tx, run, load.Commit{Batch: &all, Inbox: inbox})
	if err == nil || !writeFailure(err) {
		return res, err
	}
	var total load.Result
	for _, d := range ds {
		res, err := p.Process(ctx, tx, run, d)
		if err != nil {
			return load.Result{}, err
		}
		total.Written += res.Written
		total.Quarantined += res.Quarantined
	}
	return total, nil
}

// Process turns one delivery into warehouse rows inside tx and marks it
// processed there: its platform's decoder reads it, its mapping maps it,
// and the loader writes the rows. A delivery that cannot be read or mapped
// goes to quarantine, with its inbox id, and is marked processed too, so it
// never holds up the ones behind it. It is a plain function over a
// transaction, for a job queue to call as well.
func (p *Processor) Process(ctx context.Context, tx pgx.Tx, run *state.Run, d state.Delivery) (load.Result, error) {
	batch, note := mapDelivery(d)
	res, err := p.commit(ctx, tx, run, load.Commit{Batch: &batch, Inbox: []load.Inbox{{ID: d.ID, Note: note}}})
	if err == nil || !writeFailure(err) {
		return res, err
	}
	p.Logger.WarnContext(ctx, "a webhook delivery could not be written; it is in quarantine",
		slog.String("source", d.Source.Name), slog.Int64("inbox_id", d.ID), slog.Any("error", err))
	var q transform.Batch
	q.Reject("inbox:"+strconv.FormatInt(d.ID, 10), d.Payload, fmt.Sprintf("webhook delivery %d could not be written: %v", d.ID, err))
	return p.Loader.CommitIn(ctx, tx, run, load.Commit{Batch: &q, Inbox: []load.Inbox{{ID: d.ID, Note: "quarantined: could not be written"}}})
}

// commit writes c under a savepoint of tx, so that a commit that fails
// leaves tx usable.
func (p *Processor) commit(ctx context.Context, tx pgx.Tx, run *state.Run, c load.Commit) (load.Result, error) {
	sp, err := tx.Begin(ctx)
	if err != nil {
		return load.Result{}, err
	}
	res, err := p.Loader.CommitIn(ctx, sp, run, c)
	if err != nil {
		_ = sp.Rollback(ctx)
		return load.Result{}, err
	}
	return res, sp.Commit(ctx)
}

// writeFailure reports whether the database refused the rows themselves:
// bad data (SQLSTATE class 22), a broken constraint (23), or a value past
// a limit such as an index row too large (54). Those go to quarantine.
// Anything else (a deadlock, a lock or statement timeout, a lost
// connection, a shutdown, a full disk) says nothing about the delivery: it
// stays in the inbox and is tried again, since quarantine keeps a record
// for good (syncer quarantine retry replays only the API streams').
func writeFailure(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || len(pgErr.Code) != 5 {
		return false
	}
	switch pgErr.Code[:2] {
	case "22", "23", "54":
		return true
	}
	return false
}

// mapDelivery decodes and maps a delivery. The note says why it became
// no rows, or "".
func mapDelivery(d state.Delivery) (transform.Batch, string) {
	var b transform.Batch
	inbox := "inbox:" + strconv.FormatInt(d.ID, 10)
	p, ok := extract.Lookup(d.Source.Platform)
	if !ok || p.Webhook == nil {
		b.Reject(inbox, d.Payload, fmt.Sprintf("webhook delivery %d: platform %s takes no webhooks in this version", d.ID, d.Source.Platform))
		return b, "quarantined: no webhooks for this platform"
	}
	tf, ok := transform.Lookup(d.Source.Platform, extract.WebhookStream)
	if !ok {
		b.Reject(inbox, d.Payload, fmt.Sprintf("webhook delivery %d: platform %s has no webhook mapping", d.ID, d.Source.Platform))
		return b, "quarantined: no mapping"
	}
	records, err := p.Webhook.Decode(d.Payload)
	if err != nil {
		b.Reject(inbox, d.Payload, fmt.Sprintf("webhook delivery %d: %v", d.ID, err))
		return b, "quarantined: could not be read"
	}
	b, _, err = tf(records)
	if err != nil {
		b = transform.Batch{}
		b.Reject(inbox, d.Payload, fmt.Sprintf("webhook delivery %d: %v", d.ID, err))
		return b, "quarantined: could not be mapped"
	}
	for i := range b.Rejections {
		r := &b.Rejections[i]
		r.Reason = fmt.Sprintf("webhook delivery %d: %s", d.ID, r.Reason)
		if r.ExternalID == "" {
			r.ExternalID = inbox
		}
	}
	if b.Rows() == 0 && len(b.Rejections) == 0 {
		return b, "ignored: nothing to map"
	}
	return b, ""
}

// acquire gives the open run of the source's webhooks stream, if there is
// one; release gives it back. A run is started the first time a delivery
// of the source is processed since its last run ended.
func (p *Processor) acquire(source string) (*openRun, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	o, ok := p.runs[source]
	if !ok {
		return nil, false
	}
	o.users++
	return o, true
}

// start opens a run for the source, unless another worker just did.
func (p *Processor) start(ctx context.Context, src state.Source) error {
	p.starting.Lock()
	defer p.starting.Unlock()
	p.mu.Lock()
	_, ok := p.runs[src.Name]
	p.mu.Unlock()
	if ok {
		return nil
	}
	r, err := p.Store.StartRun(ctx, src, extract.WebhookStream, state.ModeWebhook, time.Time{}, time.Time{})
	if err != nil {
		return err
	}
	now := p.now()
	p.mu.Lock()
	p.runs[src.Name] = &openRun{run: r, opened: now, used: now}
	p.mu.Unlock()
	return nil
}

func (p *Processor) release(ctx context.Context, o *openRun) {
	p.mu.Lock()
	o.users--
	o.used = p.now()
	last := o.retired && o.users == 0
	p.mu.Unlock()
	if last {
		p.finish(ctx, o.run)
	}
}

// finishRuns records the end of the open runs that no worker is using and
// that have lingered unused, or been open, long enough; all ends every run
// no worker is using. A run open past MaxRun that workers keep using is
// retired: the next deliveries start a new run, and the last worker to
// release it ends it, so that a source never idle still records its runs.
func (p *Processor) finishRuns(ctx context.Context, all bool) {
	p.mu.Lock()
	var runs []*state.Run
	now := p.now()
	for name, o := range p.runs {
		switch {
		case o.users == 0 && (all || now.Sub(o.used) >= p.Linger || now.Sub(o.opened) >= p.MaxRun):
			runs = append(runs, o.run)
			delete(p.runs, name)
		case o.users > 0 && now.Sub(o.opened) >= p.MaxRun:
			o.retired = true
			delete(p.runs, name)
		}
	}
	p.mu.Unlock()
	for _, r := range runs {
		p.finish(ctx, r)
	}
}

func (p *Processor) finish(ctx context.Context, r *state.Run) {
	t, err := p.Store.FinishRun(ctx, r, state.StatusSucceeded, nil)
	if err != nil {
		p.Logger.WarnContext(ctx, "could not record the end of a webhook run", slog.String("source", r.Source.Name), slog.Any("error", err))
		return
	}
	p.Logger.InfoContext(ctx, "webhook deliveries processed", slog.String("source", r.Source.Name), slog.Int64("run_id", r.ID),
		slog.String("status", t.Status), slog.Int64("deliveries", t.Pages), slog.Int64("rows_written", t.RowsWritten),
		slog.Int64("rows_quarantined", t.RowsQuarantined))
}

// StaleAfter is how old a webhook run still running must be to have been
// left by a process that died: far more than any live run lasts (MaxRun,
// then the batch in hand).
const StaleAfter = time.Hour

// sweep marks failed the webhook runs that a dead process left running
// (every replica's processor does, at most once a minute).
func (p *Processor) sweep(ctx context.Context) {
	p.mu.Lock()
	due := p.now().Sub(p.swept) >= time.Minute
	if due {
		p.swept = p.now()
	}
	p.mu.Unlock()
	if !due {
		return
	}
	n, err := p.Store.FailStaleRuns(ctx, state.ModeWebhook, StaleAfter)
	if err != nil {
		p.Logger.WarnContext(ctx, "could not close the webhook runs of dead processes", slog.Any("error", err))
		return
	}
	if n > 0 {
		p.Logger.InfoContext(ctx, "marked failed the webhook runs a process that ended left running", slog.Int64("runs", n))
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

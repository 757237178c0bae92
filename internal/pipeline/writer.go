package pipeline

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"syncer/internal/load"
	"syncer/internal/state"
	"syncer/internal/transform"
)

// Limits bound a write batch: it is committed once it holds Rows rows or
// Bytes bytes of raw records, or Delay after its first page arrived,
// whichever comes first. The zero value takes DefaultLimits.
type Limits struct {
	Rows  int
	Bytes int
	Delay time.Duration
}

// DefaultLimits: 10,000 rows is where a COPY into staging and one merge
// come closest to a plain COPY (BenchmarkCommitVsCopy); 8 MiB keeps a
// stream's three batches small beside it; a second is short enough that a
// trickle lands promptly.
var DefaultLimits = Limits{Rows: 10_000, Bytes: 8 << 20, Delay: time.Second}

// FirstBatchRows bounds the first batch of a run.
const FirstBatchRows = 1000

// writer gathers the pages of one run into write batches, decoupled from
// the API's pages, and commits each batch in one transaction that also
// moves every cursor it covers. Batches commit while the extractor goes
// on fetching and mapping the next pages: up to two at once when they
// cover different partitions (see commits); while they commit, one full
// batch may wait to be handed over and one fills, so memory stays bounded
// by four batches.
//
// A partition's batches commit in the order their pages came, and after a
// batch fails no batch starts: a later batch may move a partition's cursor
// past rows of the failed one. A crash loses only what was not committed,
// whose cursors did not move, so the next run reads it again.
type writer struct {
	loader   *load.Loader
	run      *state.Run
	limits   Limits
	log      *slog.Logger
	ctx      context.Context // the commits'
	progress Progress        // hears every batch committed

	mu      sync.Mutex      // guards the batch being filled
	pending *load.Commit    // nil when empty
	parts   map[string]bool // the partitions of pending's pages
	bytes   int
	since   time.Time  // when pending got its first page
	started bool       // a batch was handed off
	send    sync.Mutex // taken before mu is let go, so batches go out in order

	errMu sync.Mutex
	err   error // the first failed commit: no batch commits after it

	out       chan batch    // full batches, to the committer (unbuffered)
	done      chan struct{} // closed when the committer has ended
	stop      chan struct{} // ends the timer
	timerDone chan struct{}
}

// newWriter starts a writer for run. Commits use ctx, which should outlive
// the run's own context by the drain timeout once shutdown begins; prog
// (nil: none) hears every batch committed.
func newWriter(ctx context.Context, loader *load.Loader, run *state.Run, limits Limits, log *slog.Logger, prog Progress) *writer {
	if limits.Rows <= 0 {
		limits.Rows = DefaultLimits.Rows
	}
	if limits.Bytes <= 0 {
		limits.Bytes = DefaultLimits.Bytes
	}
	if limits.Delay <= 0 {
		limits.Delay = DefaultLimits.Delay
	}
	if prog == nil {
		prog = nopProgress{}
	}
	w := &writer{loader: loader, run: run, limits: limits, log: log, ctx: ctx, progress: prog, out: make(chan batch),
		done: make(chan struct{}), stop: make(chan struct{}), timerDone: make(chan struct{})}
	go w.commits()
	go w.timer()
	return w
}

// batch is a write batch and the partitions of its pages ("" for a
// stream with one partition).
type batch struct {
	c     *load.Commit
	parts map[string]bool
}

// add puts the commit of a page of partition, of size bytes, in the batch
// being filled, and
// hands the batch to the committer when it is full or ends a full-refresh
// pass (whose marking must not wait). It blocks while a full batch already
// waits, and returns the error of an earlier batch that failed.
func (w *writer) add(c load.Commit, partition string, size int) error {
	if err := w.failed(); err != nil {
		return err
	}
	w.mu.Lock()
	if w.pending == nil {
		w.pending = &load.Commit{Batch: &transform.Batch{}}
		w.parts = map[string]bool{}
		w.since = time.Now()
	}
	merge(w.pending, c)
	w.parts[partition] = true
	w.bytes += size
	rows := w.limits.Rows
	if !w.started {
		// The first batch of a run is small: it lands soon, and into a
		// warehouse being filled for the first time it lets the loader
		// have PostgreSQL count the tables before the large batches come
		// (see load.Loader.Commit).
		rows = min(rows, FirstBatchRows)
	}
	if w.pending.Batch.Rows()+len(w.pending.Batch.Rejections) >= rows || w.bytes >= w.limits.Bytes || c.Complete != nil {
		w.handOff() // lets mu go
	} else {
		w.mu.Unlock()
	}
	return w.failed()
}

// handOff sends the batch being filled to the committer. It is called with
// mu held and lets it go; send keeps the batches in the order taken.
func (w *writer) handOff() {
	b := batch{c: w.pending, parts: w.parts}
	w.pending, w.parts, w.bytes = nil, nil, 0
	w.started = w.started || b.c != nil
	w.send.Lock()
	w.mu.Unlock()
	defer w.send.Unlock()
	if b.c != nil {
		w.out <- b // the committer always receives, even after a failure
	}
}

func (w *writer) failed() error {
	w.errMu.Lock()
	defer w.errMu.Unlock()
	return w.err
}

// timer hands over a batch that has waited Delay.
func (w *writer) timer() {
	defer close(w.timerDone)
	t := time.NewTicker(max(w.limits.Delay/4, time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
		}
		w.mu.Lock()
		if w.pending != nil && time.Since(w.since) >= w.limits.Delay {
			w.handOff()
		} else {
			w.mu.Unlock()
		}
	}
}

// committers is how many batches of a run may commit at once, on as many
// connections, when they cover different partitions.
const committers = 2

// commits commits the batches until out is closed, in the order they
// came, except that a batch whose pages share no partition with those of
// the batches before it still committing (and that ends no full-refresh
// pass) may commit beside them: each partition's batches still commit one
// after the other, so no cursor ever moves past rows that are not
// committed and no later record of a partition is overwritten by an
// earlier one. Pages of partition "" (a stream with one) commit in order.
// The run's first batch commits alone, so that the tables are analyzed
// before the large batches come. Once a batch has failed, no batch starts.
func (w *writer) commits() {
	defer close(w.done)
	type flight struct {
		parts    map[string]bool
		complete bool
	}
	conflicts := func(a, b *flight) bool {
		if a.complete || b.complete || a.parts[""] || b.parts[""] {
			return true
		}
		for p := range a.parts {
			if b.parts[p] {
				return true
			}
		}
		return false
	}
	var running []*flight
	ended := make(chan *flight, committers)
	alone := true // the run's first batch commits alone (see add); it is the first to end
	wait := func() {
		f := <-ended
		running = slices.DeleteFunc(running, func(r *flight) bool { return r == f })
		alone = false
	}
	busy := func(f *flight) bool {
		if alone || len(running) >= committers {
			return true
		}
		return slices.ContainsFunc(running, func(r *flight) bool { return conflicts(f, r) })
	}
	for b := range w.out {
		f := &flight{parts: b.parts, complete: b.c.Complete != nil}
		for len(running) > 0 && busy(f) {
			wait()
		}
		if w.failed() != nil {
			continue // never after a failed batch
		}
		running = append(running, f)
		go func(c *load.Commit) {
			defer func() { ended <- f }()
			start := time.Now()
			res, err := w.loader.Commit(w.ctx, w.run, *c)
			if err != nil {
				w.errMu.Lock()
				if w.err == nil {
					w.err = err
				}
				w.errMu.Unlock()
				return
			}
			w.progress.Committed(res.Written)
			w.log.Debug("batch committed", slog.Int("pages", c.Pages), slog.Int("records", c.RowsRead),
				slog.Int("partitions", len(c.Checkpoints)), slog.Int64("written", res.Written), slog.Int64("quarantined", res.Quarantined),
				slog.Duration("took", time.Since(start)))
		}(b.c)
	}
	for len(running) > 0 {
		wait()
	}
}

// close commits what is left and waits for every batch; it returns the
// first error of a commit. The writer takes no page after it.
func (w *writer) close() error {
	close(w.stop)
	<-w.timerDone
	w.mu.Lock()
	w.handOff()
	close(w.out)
	<-w.done
	return w.failed()
}

// merge adds the page commit c to the batch b: its rows, its counts, its
// checkpoints (a partition's later checkpoint replaces its earlier one),
// and its end of a full-refresh pass.
func merge(b *load.Commit, c load.Commit) {
	if c.Batch != nil {
		b.Batch.Append(c.Batch)
	}
	for _, cp := range c.Checkpoints {
		replaced := false
		for i := range b.Checkpoints {
			if b.Checkpoints[i].Partition == cp.Partition {
				b.Checkpoints[i] = laterCheckpoint(b.Checkpoints[i], cp)
				replaced = true
				break
			}
		}
		if !replaced {
			b.Checkpoints = append(b.Checkpoints, cp)
		}
	}
	if c.Complete != nil {
		b.Complete = c.Complete
	}
	b.Pages += c.Pages
	b.RowsRead += c.RowsRead
	b.SuspectedGaps += c.SuspectedGaps
}

// laterCheckpoint is the later of two checkpoints of one partition, b
// from the later page: the later position, the later reread, the later
// newest record, and b's probe.
func laterCheckpoint(a, b load.Checkpoint) load.Checkpoint {
	out := b
	if b.Cursor.Less(a.Cursor) {
		out.Cursor = a.Cursor
	}
	if a.Cursor.Reread.After(b.Cursor.Reread) {
		out.Cursor.Reread = a.Cursor.Reread
	} else {
		out.Cursor.Reread = b.Cursor.Reread
	}
	out.Cursor.Probe = b.Cursor.Probe // what the later page saw
	if a.Newest.After(b.Newest) {
		out.Newest = a.Newest
	}
	return out
}

// rawSize is about how many bytes a page's rows hold: their raw records,
// which dominate.
func rawSize(b transform.Batch) int {
	n := 0
	for i := range b.Messages {
		n += len(b.Messages[i].Raw) + len(b.Messages[i].Body)
	}
	for i := range b.Conversations {
		n += len(b.Conversations[i].Raw)
	}
	for i := range b.Contacts {
		n += len(b.Contacts[i].Raw)
	}
	for i := range b.Channels {
		n += len(b.Channels[i].Raw)
	}
	for i := range b.Agents {
		n += len(b.Agents[i].Raw)
	}
	for i := range b.Departments {
		n += len(b.Departments[i].Raw)
	}
	for i := range b.Rejections {
		n += len(b.Rejections[i].Payload)
	}
	return n
}

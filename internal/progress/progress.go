// Package progress shows how far the streams of a command have got while
// it runs (syncer sync, backfill --wait, import, demo), on stderr only: on
// a terminal, one live line per stream drawn by vbauerster/mpb (source and
// stream, pages, rows, rows per second, time taken, and the time left
// where the whole is known); off a terminal, a log line per running
// stream every few seconds, and nothing at all for a command that ends
// sooner. It owns the process's stderr while lines are drawn (Output), so
// that log lines go above them whole instead of through them.
//
// It only shows what it is told (Stream's methods, which the pipeline and
// the importer call): it must not decide what a run does, nor write to
// stdout, whose bytes stay those of the command.
package progress

import (
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
)

// DefaultEvery is how often a progress line is logged off a terminal.
const DefaultEvery = 5 * time.Second

// refreshEvery is how often the lines on a terminal are drawn again.
const refreshEvery = 150 * time.Millisecond

// Options of a Display, read once by New.
type Options struct {
	// Out is stderr, shared with the logger. Required.
	Out *Output
	// Bars draws live lines on Out (a terminal); otherwise Logger logs a
	// line per running stream every Every.
	Bars bool
	// Logger logs the progress lines off a terminal; nil logs nothing.
	Logger *slog.Logger
	// Every is how often progress is logged off a terminal; zero takes
	// DefaultEvery.
	Every time.Duration
	// Width is the width of the lines when Out is not a terminal whose
	// size can be read (tests); zero takes mpb's 80.
	Width int
	// Now is the clock of the figures; nil takes time.Now.
	Now func() time.Time
}

// Display shows the progress of the streams of one command, from New to
// Close. Its methods are safe for concurrent use.
type Display struct {
	out    *Output
	logger *slog.Logger
	every  time.Duration
	now    func() time.Time

	p       *mpb.Progress // nil off a terminal
	refresh chan any      // asks p to draw again

	mu      sync.Mutex
	streams []*Stream // started and not finished
	closed  bool

	stop     chan struct{}
	loopDone chan struct{}
}

// New starts a display. Close it when the command's streams have ended,
// before anything more is printed.
func New(opts Options) *Display {
	d := &Display{out: opts.Out, logger: opts.Logger, every: opts.Every, now: opts.Now,
		stop: make(chan struct{}), loopDone: make(chan struct{})}
	if d.logger == nil {
		d.logger = slog.New(slog.DiscardHandler)
	}
	if d.every <= 0 {
		d.every = DefaultEvery
	}
	if d.now == nil {
		d.now = time.Now
	}
	if opts.Bars {
		d.refresh = make(chan any)
		// Manual refreshes, so that Close can ask for a last drawing that
		// also prints the log lines written just before it; completed
		// lines leave the live area and stay printed above it.
		d.p = mpb.New(mpb.WithOutput(opts.Out.w), mpb.WithManualRefresh(d.refresh), mpb.PopCompletedMode(),
			mpb.ContainerOptional(mpb.WithWidth(opts.Width), opts.Width > 0))
		d.out.attach(d.p)
		go d.draw()
	} else {
		go d.log()
	}
	return d
}

// draw asks for a drawing every refreshEvery until Close.
func (d *Display) draw() {
	defer close(d.loopDone)
	t := time.NewTicker(refreshEvery)
	defer t.Stop()
	for {
		select {
		case <-d.stop:
			return
		case <-t.C:
		}
		select {
		case d.refresh <- struct{}{}:
		case <-d.stop:
			return
		}
	}
}

// log logs a line for each running stream every d.every until Close.
func (d *Display) log() {
	defer close(d.loopDone)
	t := time.NewTicker(d.every)
	defer t.Stop()
	for {
		select {
		case <-d.stop:
			return
		case <-t.C:
		}
		d.mu.Lock()
		running := append([]*Stream(nil), d.streams...)
		d.mu.Unlock()
		now := d.now()
		for _, s := range running {
			s.logLine(d.logger, now)
		}
	}
}

// Start shows a new line for t, counting from now, until its Finish. It
// may be called after Close (a run that ends the command's ctx late): the
// stream then counts and shows nothing.
func (d *Display) Start(t Task) *Stream {
	s := &Stream{task: t, d: d, start: d.now()}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return s
	}
	d.streams = append(d.streams, s)
	if d.p != nil {
		s.bar = d.p.New(0, mpb.NopStyle(), mpb.BarFillerTrim(), mpb.PrependDecorators(s.decorators()...))
	}
	return s
}

// finished takes s off the running streams.
func (d *Display) finished(s *Stream) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i, r := range d.streams {
		if r == s {
			d.streams = append(d.streams[:i], d.streams[i+1:]...)
			break
		}
	}
}

// closeTimeout is how long Close waits for mpb to take its last refresh.
const closeTimeout = 2 * time.Second

// Close stops the display: on a terminal, the lines of streams still
// running are drawn one last time as they stand, with every log line
// written before, and Out writes straight to stderr again. Anything
// printed after Close comes below the lines. Calling it again does
// nothing.
func (d *Display) Close() {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return
	}
	d.closed = true
	running := d.streams
	d.streams = nil
	d.mu.Unlock()
	if d.p == nil {
		close(d.stop)
		<-d.loopDone
		return
	}
	// Writers wait on Out meanwhile; what they wrote before is drawn by
	// the last drawing, which follows.
	d.out.mu.Lock()
	defer d.out.mu.Unlock()
	for _, s := range running {
		s.bar.Abort(false)
	}
	// mpb takes the last refresh, unless it stopped drawing already (a
	// write to the terminal failed): then it is shut down rather than
	// waited for.
	select {
	case d.refresh <- struct{}{}:
		d.p.Wait()
	case <-time.After(closeTimeout):
		d.p.Shutdown()
	}
	d.out.above = nil
	close(d.stop)
	<-d.loopDone
}

// Output is stderr: it writes to the writer it was made with, except
// while a Display draws lines there, when it writes above them (at their
// next drawing), so that a log line never cuts through them. Every
// Write must hold whole lines, as slog's handlers write them.
type Output struct {
	w     io.Writer
	mu    sync.Mutex
	above io.Writer // a Display's lines, while drawn
}

// NewOutput returns an Output writing to w.
func NewOutput(w io.Writer) *Output { return &Output{w: w} }

// Write writes p to stderr, or above a Display's lines.
func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.above != nil {
		return o.above.Write(p)
	}
	return o.w.Write(p)
}

// Writer is the writer o was made with.
func (o *Output) Writer() io.Writer { return o.w }

func (o *Output) attach(w io.Writer) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.above = w
}

// Beside returns a writer to w, another file on the same terminal as o
// (stdout when both are one terminal): while a Display draws lines on o,
// what is written goes above them, as o's own writes do; otherwise
// straight to w.
func (o *Output) Beside(w io.Writer) io.Writer { return &beside{o: o, w: w} }

type beside struct {
	o *Output
	w io.Writer
}

func (b *beside) Write(p []byte) (int, error) {
	b.o.mu.Lock()
	defer b.o.mu.Unlock()
	if b.o.above != nil {
		return b.o.above.Write(p)
	}
	return b.w.Write(p)
}

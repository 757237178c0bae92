package progress

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// Unit is what a Stream's Position counts.
type Unit string

// The units of a position.
const (
	// Pages of a list whose number of pages the source tells (Digisac's
	// lastPage).
	Pages Unit = "pages"
	// Bytes of a file being imported, of its size.
	Bytes Unit = "bytes"
	// Chunks of a backfill that the fleet runs: a line of chunks ended,
	// without pages and rows, which this process does not see.
	Chunks Unit = "chunks"
)

// Task names what a Stream shows.
type Task struct {
	Source string
	Stream string // a stream, or an import's format
	RunID  int64  // 0: none (yet)
	File   string // an import's file
	// Unit is what Position counts; "" takes Pages.
	Unit Unit
}

// name is the task's name on its line: source/stream, then the file's
// base name, or "backfill" for chunks.
func (t Task) name() string {
	n := t.Source + "/" + t.Stream
	switch {
	case t.File != "":
		n += " " + filepath.Base(t.File)
	case t.Unit == Chunks:
		n += " backfill"
	}
	return n
}

func (t Task) unit() Unit {
	if t.Unit == "" {
		return Pages
	}
	return t.Unit
}

// Stream is the progress of one running stream (or file, or backfill).
// Its methods are called inline from the run's goroutines, several at
// once, on every page: they only add to atomic counters, and the display
// reads them when it draws or logs.
type Stream struct {
	task  Task
	d     *Display
	bar   *mpb.Bar // nil off a terminal
	start time.Time

	pages, rows, written atomic.Int64
	done, total          atomic.Int64 // Position; total 0: unknown
	end                  atomic.Int64 // Unix nanoseconds of Finish; 0 while running
	status               atomic.Value // string, set by Finish
	ended                atomic.Bool  // Finish was called
}

// Page is a page read: rows records.
func (s *Stream) Page(rows int) {
	s.pages.Add(1)
	s.rows.Add(int64(rows))
}

// Committed is a batch committed: written rows inserted or changed.
func (s *Stream) Committed(written int64) { s.written.Add(written) }

// Position says how far the stream is, done of total in its task's Unit;
// a total of 0 or less is unknown.
func (s *Stream) Position(done, total int64) {
	s.done.Store(done)
	s.total.Store(max(total, 0))
}

// Finish ends the stream with its status (succeeded, partial, failed): its
// line shows the status and stays where completed lines go. Calling it
// again does nothing.
func (s *Stream) Finish(status string) {
	if s.ended.Swap(true) {
		return
	}
	s.status.Store(status)
	s.end.Store(s.d.now().UnixNano())
	s.d.finished(s)
	if s.bar != nil {
		s.bar.SetTotal(-1, true) // complete: drawn once more, then above the live lines
	}
}

// Figures are a stream's numbers at a moment.
type Figures struct {
	Pages, Rows, Written int64
	Elapsed              time.Duration
	// RowsPerSecond is rows read per second, over the whole run.
	RowsPerSecond float64
	// Done of Total in Unit; Total 0: unknown.
	Done, Total int64
	Unit        Unit
	// ETA is the time left at the pace so far, when Total is known and
	// Done is not 0 (Left says so).
	ETA    time.Duration
	Left   bool
	Status string // "" while running
}

// Figures returns the stream's numbers at now (or at its Finish, if it
// has finished).
func (s *Stream) Figures(now time.Time) Figures {
	f := Figures{Pages: s.pages.Load(), Rows: s.rows.Load(), Written: s.written.Load(),
		Done: s.done.Load(), Total: s.total.Load(), Unit: s.task.unit()}
	if end := s.end.Load(); end != 0 {
		now = time.Unix(0, end)
		f.Status, _ = s.status.Load().(string)
	}
	f.Elapsed = max(now.Sub(s.start), 0)
	f.RowsPerSecond = rate(f.Rows, f.Elapsed)
	f.ETA, f.Left = eta(f.Done, f.Total, f.Elapsed)
	return f
}

// rate is n per second over elapsed; 0 before any time has passed.
func rate(n int64, elapsed time.Duration) float64 {
	if elapsed <= 0 {
		return 0
	}
	return float64(n) / elapsed.Seconds()
}

// eta is the time left to reach total from done, at the pace that took
// elapsed to reach done; false when it cannot be told (no total, nothing
// done yet).
func eta(done, total int64, elapsed time.Duration) (time.Duration, bool) {
	switch {
	case total <= 0 || done <= 0:
		return 0, false
	case done >= total:
		return 0, true
	}
	return time.Duration(float64(elapsed) * float64(total-done) / float64(done)), true
}

// Percent is Done of Total in percent, 0 when Total is unknown.
func (f Figures) Percent() int {
	if f.Total <= 0 {
		return 0
	}
	return int(min(f.Done, f.Total) * 100 / f.Total)
}

// decorators are the columns of the stream's line on a terminal, two
// spaces apart, each one as wide as the widest of the lines drawn.
func (s *Stream) decorators() []decor.Decorator {
	col := func(text func(Figures) string, wc decor.WC) decor.Decorator {
		return decor.Any(func(decor.Statistics) string { return text(s.Figures(s.d.now())) }, wc)
	}
	gap := func() decor.Decorator { return decor.Name("  ") }
	if s.task.unit() == Chunks { // a backfill: the fleet reads and writes, and counts
		return []decor.Decorator{
			col(func(Figures) string { return s.task.name() }, decor.WC{}), gap(),
			col(func(f Figures) string { return Duration(f.Elapsed) }, decor.WC{}),
			col(Figures.tail, decor.WC{}),
		}
	}
	return []decor.Decorator{
		col(func(Figures) string { return s.task.name() }, decor.WCSyncWidthR), gap(),
		col(Figures.pagesText, decor.WCSyncWidth), gap(),
		col(func(f Figures) string { return fmt.Sprintf("%d rows", f.Rows) }, decor.WCSyncWidth), gap(),
		col(func(f Figures) string { return fmt.Sprintf("%.0f rows/s", f.RowsPerSecond) }, decor.WCSyncWidth), gap(),
		col(func(f Figures) string { return Duration(f.Elapsed) }, decor.WCSyncWidth),
		col(Figures.tail, decor.WC{}),
	}
}

// pagesText is "12 pages", or "12/40 pages" when the source told how many.
func (f Figures) pagesText() string {
	if f.Unit == Pages && f.Total > 0 {
		return fmt.Sprintf("%d/%d pages", f.Pages, max(f.Total, f.Pages))
	}
	return fmt.Sprintf("%d pages", f.Pages)
}

// tail is the end of a line: the status once finished, else where a file
// or a backfill stands and the time left.
func (f Figures) tail() string {
	if f.Status != "" {
		return "  " + f.Status
	}
	var out string
	switch {
	case f.Total <= 0:
	case f.Unit == Bytes:
		out = fmt.Sprintf("  %d%% of %s", f.Percent(), Size(f.Total))
	case f.Unit == Chunks:
		out = fmt.Sprintf("  %d/%d chunks", f.Done, f.Total)
	}
	if f.Left {
		out += "  ETA " + Duration(f.ETA)
	}
	return out
}

// logLine logs where the stream stands: the line's figures as attributes.
func (s *Stream) logLine(l *slog.Logger, now time.Time) {
	f := s.Figures(now)
	attrs := []slog.Attr{slog.String("source", s.task.Source), slog.String("stream", s.task.Stream)}
	if s.task.RunID != 0 {
		attrs = append(attrs, slog.Int64("run_id", s.task.RunID))
	}
	if s.task.File != "" {
		attrs = append(attrs, slog.String("file", s.task.File))
	}
	if f.Unit != Chunks {
		attrs = append(attrs, slog.Int64("pages", f.Pages), slog.Int64("rows_read", f.Rows), slog.Int64("rows_written", f.Written),
			slog.Int64("rows_per_second", int64(f.RowsPerSecond+0.5)))
	}
	attrs = append(attrs, slog.Duration("elapsed", f.Elapsed.Round(time.Second)))
	if f.Total > 0 {
		unit := string(f.Unit)
		attrs = append(attrs, slog.Int64(unit+"_done", f.Done), slog.Int64(unit+"_total", f.Total), slog.Int("percent", f.Percent()))
	}
	if f.Left {
		attrs = append(attrs, slog.Duration("eta", f.ETA.Round(time.Second)))
	}
	l.LogAttrs(context.Background(), slog.LevelInfo, "progress", attrs...)
}

// Duration is d as a line shows it: 4s, 2m05s, 1h02m.
func Duration(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d/time.Minute), int(d%time.Minute/time.Second))
	default:
		return fmt.Sprintf("%dh%02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
}

// Size is n bytes as a line shows it: 512 B, 1.5 MB, 2.0 GB (powers of
// 1000).
func Size(n int64) string {
	const k = 1000
	if n < k {
		return fmt.Sprintf("%d B", n)
	}
	v, units := float64(n)/k, []string{"kB", "MB", "GB", "TB"}
	i := 0
	for v >= k && i < len(units)-1 {
		v /= k
		i++
	}
	return fmt.Sprintf("%.1f %s", v, units[i])
}

package progress_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"syncer/internal/progress"
)

// buffer is a bytes.Buffer safe for the display's goroutines.
type buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// waitFor polls until cond holds, or fails the test after a deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// clock is a manual clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestFiguresRateAndETA(t *testing.T) {
	c := &clock{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	d := progress.New(progress.Options{Out: progress.NewOutput(&buffer{}), Every: time.Hour, Now: c.Now})
	defer d.Close()
	s := d.Start(progress.Task{Source: "acme-digisac", Stream: "messages", RunID: 7})

	f := s.Figures(c.Now())
	if f.RowsPerSecond != 0 || f.Left || f.Total != 0 {
		t.Fatalf("before any page: %+v", f)
	}
	for range 10 {
		s.Page(100)
	}
	s.Committed(900)
	s.Position(10, 40) // 10 of 40 pages
	c.Add(20 * time.Second)
	f = s.Figures(c.Now())
	want := progress.Figures{Pages: 10, Rows: 1000, Written: 900, Elapsed: 20 * time.Second, RowsPerSecond: 50,
		Done: 10, Total: 40, Unit: progress.Pages, ETA: 60 * time.Second, Left: true}
	if f != want {
		t.Fatalf("figures\n got %+v\nwant %+v", f, want)
	}
	if f.Percent() != 25 {
		t.Errorf("percent %d, want 25", f.Percent())
	}

	s.Finish("succeeded")
	c.Add(time.Hour)
	f = s.Figures(c.Now())
	if f.Status != "succeeded" || f.Elapsed != 20*time.Second || f.RowsPerSecond != 50 {
		t.Errorf("after Finish the figures stop at it: %+v", f)
	}
}

func TestETAEdges(t *testing.T) {
	c := &clock{now: time.Unix(0, 0)}
	d := progress.New(progress.Options{Out: progress.NewOutput(&buffer{}), Every: time.Hour, Now: c.Now})
	defer d.Close()
	for _, tc := range []struct {
		done, total int64
		elapsed     time.Duration
		eta         time.Duration
		left        bool
	}{
		{0, 100, time.Second, 0, false},  // nothing done: no pace yet
		{10, 0, time.Second, 0, false},   // no total
		{100, 100, time.Minute, 0, true}, // all done
		{120, 100, time.Minute, 0, true}, // past the total told (a list that grew)
		{1, 3, time.Second, 2 * time.Second, true},
		{512 << 20, 1 << 30, 30 * time.Second, 30 * time.Second, true},
	} {
		s := d.Start(progress.Task{Source: "s", Stream: "x", Unit: progress.Bytes})
		s.Position(tc.done, tc.total)
		f := s.Figures(c.Now().Add(tc.elapsed))
		if f.ETA != tc.eta || f.Left != tc.left {
			t.Errorf("%d of %d after %s: ETA %s %v, want %s %v", tc.done, tc.total, tc.elapsed, f.ETA, f.Left, tc.eta, tc.left)
		}
	}
}

func TestDurationAndSize(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0s", 1400 * time.Millisecond: "1s", 59 * time.Second: "59s", 125 * time.Second: "2m05s",
		time.Hour + 2*time.Minute + 3*time.Second: "1h02m", 26 * time.Hour: "26h00m",
	} {
		if got := progress.Duration(d); got != want {
			t.Errorf("Duration(%s) = %q, want %q", d, got, want)
		}
	}
	for n, want := range map[int64]string{0: "0 B", 999: "999 B", 1000: "1.0 kB", 1_500_000: "1.5 MB", 1 << 30: "1.1 GB", 5e15: "5000.0 TB"} {
		if got := progress.Size(n); got != want {
			t.Errorf("Size(%d) = %q, want %q", n, got, want)
		}
	}
}

// progressLines returns the "progress" records of a JSON log.
func progressLines(t *testing.T, log string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(log), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not a whole JSON line: %q", line)
		}
		if m["msg"] == "progress" {
			out = append(out, m)
		}
	}
	return out
}

func TestOffATerminalAProgressLineIsLoggedEveryInterval(t *testing.T) {
	var logs buffer
	d := progress.New(progress.Options{Out: progress.NewOutput(&buffer{}), Every: 10 * time.Millisecond,
		Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	s := d.Start(progress.Task{Source: "acme-wavy", Stream: "wavy-sessions-csv", RunID: 3, File: "/tmp/sessions.csv", Unit: progress.Bytes})
	s.Page(5000)
	s.Committed(4000)
	s.Position(250, 1000)
	waitFor(t, "a progress line", func() bool { return len(progressLines(t, logs.String())) > 0 })
	s.Finish("succeeded")
	// A finished stream is no longer logged: while another one is, three
	// times, it is not.
	other := d.Start(progress.Task{Source: "acme-ogmma", Stream: "messages"})
	count := func(stream string) (n int) {
		for _, l := range progressLines(t, logs.String()) {
			if l["stream"] == stream {
				n++
			}
		}
		return n
	}
	finished := count("wavy-sessions-csv")
	waitFor(t, "three lines of the other stream", func() bool { return count("messages") >= 3 })
	if n := count("wavy-sessions-csv"); n != finished {
		t.Errorf("%d progress lines of the stream after it finished", n-finished)
	}
	other.Finish("succeeded")
	d.Close()

	lines := progressLines(t, logs.String())
	l := lines[0]
	for k, want := range map[string]any{"source": "acme-wavy", "stream": "wavy-sessions-csv", "run_id": 3.0, "file": "/tmp/sessions.csv",
		"pages": 1.0, "rows_read": 5000.0, "rows_written": 4000.0, "bytes_done": 250.0, "bytes_total": 1000.0, "percent": 25.0} {
		if l[k] != want {
			t.Errorf("%s = %v, want %v (line %v)", k, l[k], want, l)
		}
	}
	for _, k := range []string{"rows_per_second", "elapsed", "eta"} {
		if _, ok := l[k]; !ok {
			t.Errorf("no %s in %v", k, l)
		}
	}
}

func TestOffATerminalAShortCommandLogsNothing(t *testing.T) {
	var logs, out buffer
	o := progress.NewOutput(&out)
	d := progress.New(progress.Options{Out: o, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	s := d.Start(progress.Task{Source: "acme-ogmma", Stream: "messages"})
	s.Page(10)
	s.Finish("succeeded")
	d.Close()
	d.Close() // twice is fine
	fmt.Fprintln(o, "after")
	if logs.String() != "" || out.String() != "after\n" {
		t.Errorf("logs %q, stderr %q", logs.String(), out.String())
	}
}

// On a terminal (here a buffer the display is told to draw on), every
// stream has its line, and log lines written meanwhile through the
// Output come out whole, each on a line of its own above the drawn lines,
// never inside one.
func TestBarsDrawAndLogLinesStayWhole(t *testing.T) {
	var screen buffer
	o := progress.NewOutput(&screen)
	c := &clock{now: time.Now()}
	d := progress.New(progress.Options{Out: o, Bars: true, Width: 120, Now: c.Now})
	digisac := d.Start(progress.Task{Source: "acme-digisac", Stream: "messages", RunID: 1})
	imp := d.Start(progress.Task{Source: "acme-digisac", Stream: "digisac-tickets-csv", File: "/data/tickets.csv", Unit: progress.Bytes})
	for range 12 {
		digisac.Page(500)
	}
	digisac.Position(12, 40)
	imp.Page(5000)
	imp.Position(500_000, 2_000_000)
	c.Add(4 * time.Second)
	waitFor(t, "both lines drawn", func() bool {
		s := screen.String()
		return strings.Contains(s, "12/40 pages") && strings.Contains(s, "25% of 2.0 MB")
	})

	logger := slog.New(slog.NewTextHandler(o, nil))
	var wg sync.WaitGroup
	const writers, each = 4, 50
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				logger.Info("a log line written while the lines are drawn", slog.Int("writer", w), slog.Int("i", i),
					slog.String("padding", strings.Repeat("x", 40)))
			}
		})
	}
	wg.Wait()
	digisac.Finish("succeeded")
	d.Close() // imp is still running: drawn as it stands
	fmt.Fprintln(o, "printed after Close")

	got := screen.String()
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	logged := 0
	for _, line := range lines {
		if strings.Contains(line, "a log line") {
			logged++
			if !strings.HasPrefix(line, "time=") || !strings.HasSuffix(line, "padding="+strings.Repeat("x", 40)) {
				t.Errorf("a log line was cut or joined: %q", line)
			}
		}
	}
	if logged != writers*each {
		t.Errorf("%d whole log lines, want %d", logged, writers*each)
	}
	if lines[len(lines)-1] != "printed after Close" {
		t.Errorf("last line %q, want what was printed after Close", lines[len(lines)-1])
	}
	var digisacLine, importLine string
	for _, line := range lines {
		switch {
		case strings.HasPrefix(line, "acme-digisac/messages "):
			digisacLine = line
		case strings.HasPrefix(line, "acme-digisac/digisac-tickets-csv tickets.csv "):
			importLine = line
		}
	}
	for _, want := range []string{"12/40 pages", "6000 rows", "1500 rows/s", "4s", "succeeded"} {
		if !strings.Contains(digisacLine, want) {
			t.Errorf("the last drawn line of the stream lacks %q: %q", want, digisacLine)
		}
	}
	for _, want := range []string{"1 pages", "5000 rows", "1250 rows/s", "25% of 2.0 MB", "ETA 12s"} {
		if !strings.Contains(importLine, want) {
			t.Errorf("the last drawn line of the import lacks %q: %q", want, importLine)
		}
	}
}

// A stream started after Close counts and shows nothing, and its methods
// do not fail.
func TestStartAfterClose(t *testing.T) {
	var screen buffer
	d := progress.New(progress.Options{Out: progress.NewOutput(&screen), Bars: true, Width: 80})
	d.Close()
	s := d.Start(progress.Task{Source: "s", Stream: "x"})
	s.Page(1)
	s.Committed(1)
	s.Position(1, 2)
	s.Finish("failed")
	if strings.Contains(screen.String(), "s/x") {
		t.Errorf("a line for a stream started after Close: %q", screen.String())
	}
}

// Beside writes to its own writer, except while lines are drawn.
func TestBeside(t *testing.T) {
	var screen, stdout buffer
	o := progress.NewOutput(&screen)
	w := o.Beside(&stdout)
	fmt.Fprintln(w, "before")
	d := progress.New(progress.Options{Out: o, Bars: true, Width: 80})
	fmt.Fprintln(w, "while drawn")
	d.Close()
	fmt.Fprintln(w, "after")
	if stdout.String() != "before\nafter\n" || !strings.Contains(screen.String(), "while drawn\n") {
		t.Errorf("stdout %q, screen %q", stdout.String(), screen.String())
	}
}

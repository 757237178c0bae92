// Package report writes `syncer report`: one self-contained HTML file that
// shows a period of the warehouse (daily volume by platform and direction,
// the first-response time distribution, the busiest hours, the agents'
// load, and each source's freshness and quarantine), with charts drawn as
// inline SVG by this package. It owns the report's queries (named blocks in
// sql/queries/report.sql, read from the analysts' views, so days and hours
// are in the warehouse's time zone; the first responses worked out as
// v_conversation_metrics does, for the period's conversations alone) and
// its rendering with html/template.
//
// It must not write to the warehouse, and the file it writes must reach
// for nothing outside itself: no script, style sheet, font or image from
// anywhere, so that it opens the same offline, attached to a mail or on a
// laptop years later. Names that come from the platforms (agents, sources)
// are escaped by html/template, never pasted into the markup.
package report

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Options choose what a report shows. The zero value is the last 30 days
// of every source.
type Options struct {
	// Since is the period's start, inclusive, as an instant. Zero, and
	// SinceLocal zero too: the midnight, in the warehouse's time zone,
	// that begins the 30 local days ending with the last day the period
	// touches.
	Since time.Time
	// Until is the period's end, exclusive, as an instant. Zero, and
	// UntilLocal zero too: now.
	Until time.Time
	// SinceLocal and UntilLocal give the start and the end as wall-clock
	// times in the warehouse's time zone, which the report reads from the
	// warehouse (2024-03-01 00:00 is the local midnight that begins 1
	// March): only their date and clock count, not their Location. Each
	// stands in for Since or Until, which must then be zero.
	SinceLocal, UntilLocal time.Time
	// Sources are the names of the sources to show; none: every source of
	// the warehouse. A name the warehouse does not know (a source that
	// never synced) is listed as such.
	Sources []string
	// Version is the syncer version the report names; "" means
	// version.Version.
	Version string
	// Now is the clock of "now" and of the generated-at time; nil means
	// time.Now.
	Now func() time.Time
	// Logger hears what the report skips; nil means none.
	Logger *slog.Logger
}

// ErrEmptyPeriod is the error of a period whose start is not before its
// end.
var ErrEmptyPeriod = errors.New("the period's start is not before its end")

// Write reads the report of opts from the warehouse behind pool and writes
// it to path as one HTML file: to a temporary file beside it first, renamed
// over path once complete, so that path is never a half-written report.
// It returns what it wrote, whose Summary is a line for the console.
func Write(ctx context.Context, pool *pgxpool.Pool, path string, opts Options) (*Report, error) {
	if path == "" {
		return nil, errors.New("report: no file to write to")
	}
	r, err := Load(ctx, pool, opts)
	if err != nil {
		return nil, err
	}
	if err := writeAtomic(path, r); err != nil {
		return nil, err
	}
	return r, nil
}

// writeAtomic renders r into a temporary file in path's directory, then
// renames it to path.
func writeAtomic(path string, r *Report) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("write report %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := Render(tmp, r); err != nil {
		return fmt.Errorf("write report %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("write report %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("write report %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write report %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write report %s: %w", path, err)
	}
	return nil
}

// Report is what a report shows, read from the warehouse.
type Report struct {
	// Since and Until bound the period: [Since, Until).
	Since, Until time.Time
	// FirstDay and LastDay are the local days the period touches.
	FirstDay, LastDay time.Time
	// TimeZone is the warehouse's: the views count days and hours in it.
	TimeZone string
	// GeneratedAt is when the report was made; Version is syncer's.
	GeneratedAt time.Time
	Version     string
	// Filtered says the report shows only the sources asked for.
	Filtered bool

	Sources       []SourceRow
	Daily         []DayVolume
	FirstResponse FirstResponse
	// Heatmap counts messages by local ISO weekday (index 0 is Monday)
	// and hour.
	Heatmap [7][24]int64
	Agents  []AgentLoad
}

// Series is one platform and direction of the daily volume.
type Series struct {
	Platform, Direction string
}

// DayVolume is one local day's messages, per platform and direction.
type DayVolume struct {
	Day    time.Time // midnight UTC of the local date
	Counts map[Series]int64
}

// Total is the day's messages.
func (d DayVolume) Total() int64 {
	var n int64
	for _, c := range d.Counts {
		n += c
	}
	return n
}

// FirstResponse is the distribution of the first responses given in the
// period.
type FirstResponse struct {
	// Buckets counts the responses by how long they took, in the order of
	// Buckets (the package variable).
	Buckets [7]int64
	// Responded counts them; Median and P90 are in seconds, nil without
	// any.
	Responded   int64
	Median, P90 *float64
	// Unanswered counts the conversations whose first inbound message came
	// in the period and that have no first response.
	Unanswered int64
}

// Bucket is a range of first-response times, [From, To) seconds (To 0:
// no end).
type Bucket struct {
	Key, Label string
	From, To   float64
}

// Buckets are the first-response histogram's bars (the thresholds of the
// report_first_response_buckets query).
var Buckets = [7]Bucket{
	{"lt-1m", "< 1 min", 0, 60},
	{"1m-5m", "1–5 min", 60, 300},
	{"5m-15m", "5–15 min", 300, 900},
	{"15m-1h", "15–60 min", 900, 3600},
	{"1h-4h", "1–4 h", 3600, 14400},
	{"4h-24h", "4–24 h", 14400, 86400},
	{"ge-24h", "≥ 24 h", 86400, 0},
}

// AgentLoad is one agent's work in the period.
type AgentLoad struct {
	Source, AgentID string
	Name            *string // as the platform names the agent; nil when unknown
	Conversations   int64   // in which the agent sent messages
	MessagesSent    int64
	FirstResponses  int64
	// MedianFirstResponse is in seconds; nil without first responses.
	MedianFirstResponse *float64
}

// DisplayName is the agent's name, else its id.
func (a AgentLoad) DisplayName() string {
	if a.Name != nil && strings.TrimSpace(*a.Name) != "" {
		return *a.Name
	}
	return a.AgentID
}

// SourceRow is one source: its rows, freshness and quarantine.
type SourceRow struct {
	Name, Platform string
	// Known is false for a source asked for that the warehouse does not
	// know: it never synced.
	Known bool
	// In the period: messages sent, conversations opened, quarantined
	// records last seen.
	Messages, ConversationsOpened, QuarantinedInPeriod int64
	// In the warehouse now, all times.
	TotalMessages, TotalConversations int64
	// Quarantined is the size of its quarantine now.
	Quarantined int64
	// Streams are the streams the warehouse has seen of it.
	Streams int
	// LastSuccess is the newest success of any of its streams.
	LastSuccess *time.Time
	// Stalest is its stream that succeeded longest ago, or never
	// (StalestAt nil); "" without streams.
	Stalest   string
	StalestAt *time.Time
	// Behind is the most any of its cursors is behind the newest record
	// the source has shown, in seconds; nil when unknown.
	Behind *float64
}

// Messages is the period's messages, every source together.
func (r *Report) Messages() int64 {
	var n int64
	for _, d := range r.Daily {
		n += d.Total()
	}
	return n
}

// Summary is one line that says what the report holds.
func (r *Report) Summary() string {
	return fmt.Sprintf("%s to %s (%s): %s messages, %s first responses (median %s), %d agents, %d sources",
		r.Since.In(r.location()).Format("2006-01-02 15:04"), r.Until.In(r.location()).Format("2006-01-02 15:04"), r.TimeZone,
		thousands(r.Messages()), thousands(r.FirstResponse.Responded), durationOrDash(r.FirstResponse.Median),
		len(r.Agents), len(r.Sources))
}

// location is the warehouse's time zone as Go knows it; UTC when Go does
// not know its name.
func (r *Report) location() *time.Location {
	if loc, err := time.LoadLocation(r.TimeZone); err == nil {
		return loc
	}
	return time.UTC
}

package report

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"
	_ "time/tzdata" // the warehouse's time zone, on hosts without a time-zone database

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"syncer/internal/state"
	"syncer/internal/version"
	"syncer/sql/queries"
)

// queryTimeout bounds each of the report's queries.
const queryTimeout = 5 * time.Minute

// Load reads the report of opts from the warehouse behind pool, whose
// search_path holds the warehouse's schema and its bookkeeping schema (as
// syncer's connections have it).
func Load(ctx context.Context, pool *pgxpool.Pool, opts Options) (*Report, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Version == "" {
		opts.Version = version.Version
	}
	if !opts.Since.IsZero() && !opts.SinceLocal.IsZero() {
		return nil, errors.New("report: the period's start is given twice, as Since and as SinceLocal")
	}
	if !opts.Until.IsZero() && !opts.UntilLocal.IsZero() {
		return nil, errors.New("report: the period's end is given twice, as Until and as UntilLocal")
	}
	now := opts.Now()
	r := &Report{GeneratedAt: now, Version: opts.Version, Filtered: len(opts.Sources) > 0}

	// The period's ends are worked out in the database, which knows the
	// views' time zone and the rules it keeps them by.
	var dbNow time.Time
	err := query(ctx, pool, "report_period", func(rows pgx.Rows) error {
		return rows.Scan(&r.TimeZone, &r.Since, &r.Until, &r.FirstDay, &r.LastDay, &dbNow)
	}, orNil(opts.Since), orNil(opts.Until), orNil(opts.SinceLocal), orNil(opts.UntilLocal), now)
	if err != nil {
		return nil, err
	}
	if r.TimeZone == "" {
		return nil, errors.New("report: the warehouse has no time zone set (warehouse_settings is empty): run `syncer migrate up`")
	}
	if !r.Since.Before(r.Until) {
		return nil, fmt.Errorf("report: %w: %s to %s in %s", ErrEmptyPeriod,
			r.Since.In(r.location()).Format(time.DateTime), r.Until.In(r.location()).Format(time.DateTime), r.TimeZone)
	}
	r.Since, r.Until = r.Since.UTC(), r.Until.UTC()
	names := opts.Sources
	if names == nil {
		names = []string{}
	}
	args := []any{r.Since, r.Until, names}

	if err := loadSources(ctx, pool, r, opts, args); err != nil {
		return nil, err
	}
	if err := loadDaily(ctx, pool, r, args); err != nil {
		return nil, err
	}
	if err := loadFirstResponse(ctx, pool, r, args); err != nil {
		return nil, err
	}
	err = query(ctx, pool, "report_heatmap", func(rows pgx.Rows) error {
		var weekday, hour int
		var n int64
		if err := rows.Scan(&weekday, &hour, &n); err != nil {
			return err
		}
		if weekday >= 1 && weekday <= 7 && hour >= 0 && hour < 24 {
			r.Heatmap[weekday-1][hour] += n
		}
		return nil
	}, args...)
	if err != nil {
		return nil, err
	}
	err = query(ctx, pool, "report_agent_load", func(rows pgx.Rows) error {
		var a AgentLoad
		if err := rows.Scan(&a.Source, &a.AgentID, &a.Name, &a.Conversations, &a.MessagesSent, &a.FirstResponses, &a.MedianFirstResponse); err != nil {
			return err
		}
		r.Agents = append(r.Agents, a)
		return nil
	}, args...)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// loadSources lists the sources with their rows in the period and in the
// warehouse, and their freshness and quarantine as syncer status reads
// them.
func loadSources(ctx context.Context, pool *pgxpool.Pool, r *Report, opts Options, args []any) error {
	byName := map[string]*SourceRow{}
	err := query(ctx, pool, "report_sources", func(rows pgx.Rows) error {
		s := SourceRow{Known: true}
		if err := rows.Scan(&s.Name, &s.Platform); err != nil {
			return err
		}
		r.Sources = append(r.Sources, s)
		return nil
	}, args[2])
	if err != nil {
		return err
	}
	for _, name := range opts.Sources {
		if !slices.ContainsFunc(r.Sources, func(s SourceRow) bool { return s.Name == name }) {
			r.Sources = append(r.Sources, SourceRow{Name: name, Platform: "?"})
			opts.Logger.WarnContext(ctx, "the warehouse does not know this source: it has never synced", slog.String("source", name))
		}
	}
	slices.SortFunc(r.Sources, func(a, b SourceRow) int { return cmp.Compare(a.Name, b.Name) })
	for i := range r.Sources {
		byName[r.Sources[i].Name] = &r.Sources[i]
	}

	err = query(ctx, pool, "report_source_rows", func(rows pgx.Rows) error {
		var name string
		var messages, opened, quarantined int64
		if err := rows.Scan(&name, &messages, &opened, &quarantined); err != nil {
			return err
		}
		if s := byName[name]; s != nil {
			s.Messages, s.ConversationsOpened, s.QuarantinedInPeriod = messages, opened, quarantined
		}
		return nil
	}, args...)
	if err != nil {
		return err
	}

	store := state.New(pool, opts.Logger)
	qctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	counts, err := store.CountsBySource(qctx)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	for name, c := range counts {
		if s := byName[name]; s != nil {
			s.TotalMessages, s.TotalConversations = c.Messages, c.Conversations
		}
	}
	streams, err := store.Status(qctx)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	for _, st := range streams {
		s := byName[st.Source]
		if s == nil {
			continue
		}
		s.Streams++
		s.Quarantined += st.Quarantined
		if st.LastSuccessAt != nil && (s.LastSuccess == nil || st.LastSuccessAt.After(*s.LastSuccess)) {
			s.LastSuccess = st.LastSuccessAt
		}
		// The stalest stream: one that never succeeded, else the one
		// whose last success is oldest.
		switch {
		case s.Stalest == "":
			s.Stalest, s.StalestAt = st.Stream, st.LastSuccessAt
		case s.StalestAt == nil:
		case st.LastSuccessAt == nil || st.LastSuccessAt.Before(*s.StalestAt):
			s.Stalest, s.StalestAt = st.Stream, st.LastSuccessAt
		}
		if st.BehindSeconds != nil && (s.Behind == nil || *st.BehindSeconds > *s.Behind) {
			b := *st.BehindSeconds
			s.Behind = &b
		}
	}
	return nil
}

// loadDaily reads the volume per local day, and fills in the days of the
// period without messages.
func loadDaily(ctx context.Context, pool *pgxpool.Pool, r *Report, args []any) error {
	byDay := map[time.Time]map[Series]int64{}
	err := query(ctx, pool, "report_daily_volume", func(rows pgx.Rows) error {
		var day time.Time
		var s Series
		var n int64
		if err := rows.Scan(&day, &s.Platform, &s.Direction, &n); err != nil {
			return err
		}
		day = dateOf(day)
		if byDay[day] == nil {
			byDay[day] = map[Series]int64{}
		}
		byDay[day][s] += n
		return nil
	}, args...)
	if err != nil {
		return err
	}
	first, last := dateOf(r.FirstDay), dateOf(r.LastDay)
	for day := first; !day.After(last); day = day.AddDate(0, 0, 1) {
		r.Daily = append(r.Daily, DayVolume{Day: day, Counts: byDay[day]})
		delete(byDay, day)
	}
	// A message dated on a day outside FirstDay..LastDay cannot be in the
	// period; should the database think otherwise, it is shown, not lost.
	for day, c := range byDay {
		r.Daily = append(r.Daily, DayVolume{Day: day, Counts: c})
	}
	slices.SortFunc(r.Daily, func(a, b DayVolume) int { return a.Day.Compare(b.Day) })
	return nil
}

// loadFirstResponse reads the first-response histogram and its figures.
func loadFirstResponse(ctx context.Context, pool *pgxpool.Pool, r *Report, args []any) error {
	err := query(ctx, pool, "report_first_response_buckets", func(rows pgx.Rows) error {
		var bucket int
		var n int64
		if err := rows.Scan(&bucket, &n); err != nil {
			return err
		}
		if bucket >= 0 && bucket < len(r.FirstResponse.Buckets) {
			r.FirstResponse.Buckets[bucket] += n
		}
		return nil
	}, args...)
	if err != nil {
		return err
	}
	fr := &r.FirstResponse
	return query(ctx, pool, "report_first_response_stats", func(rows pgx.Rows) error {
		return rows.Scan(&fr.Responded, &fr.Median, &fr.P90, &fr.Unanswered)
	}, args...)
}

// orNil is t, or NULL when t is zero.
func orNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// query runs the named statement and calls scan for each row.
func query(ctx context.Context, pool *pgxpool.Pool, name string, scan func(pgx.Rows) error, args ...any) error {
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	rows, err := pool.Query(ctx, queries.Get(name), args...)
	if err != nil {
		return fmt.Errorf("report: %s: %w", name, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return fmt.Errorf("report: %s: %w", name, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("report: %s: %w", name, err)
	}
	return nil
}

// dateOf is the calendar date of t, as midnight UTC.
func dateOf(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

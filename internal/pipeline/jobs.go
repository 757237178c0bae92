package pipeline

import (
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"syncer/internal/config"
	"syncer/internal/extract"
	_ "syncer/internal/platforms" // every platform registers its streams and mappings
	"syncer/internal/redact"
	"syncer/internal/transform"
)

// Job is one stream of one source to run.
type Job struct {
	Source    string // configured name
	Platform  string
	Spec      extract.StreamSpec
	Stream    extract.Stream
	Transform transform.Func
	Request   extract.Request
	// Lease names the lease the run takes instead of the stream's own: a
	// backfill chunk's, so that the chunks of one stream run at once. ""
	// is the stream's own, which keeps a manual sync and the fleet from
	// running the stream at the same time.
	Lease string
}

// Options of Jobs.
type Options struct {
	// Streams filters the source's configured streams; nil means all.
	Streams []string
	// Request is copied into every job.
	Request extract.Request
	// Redactor hides the credentials in errors and log lines; it must know
	// this source's. Share the logger's, so that tokens the source learns
	// at run time are hidden there too. Default: one for this source's
	// credentials alone.
	Redactor *redact.Redactor
	Logger   *slog.Logger
	// Now is the clock of the extractors (when a run starts); default
	// time.Now.
	Now func() time.Time
	// HTTPClient, when set, sends the source's requests (tests: one that
	// trusts their TLS servers); nil gives the source a transport of its
	// own.
	HTTPClient *http.Client
	// Observer, when set, gives the Observer of a source's HTTP requests
	// (metrics), by its platform and name; nil: none.
	Observer func(platform, source string) extract.Observer
	// RateShare and MaxRetryAfter go into the platform's Env (syncer run:
	// the source's max_streams, and the fleet's LongRetryAfter).
	RateShare     int
	MaxRetryAfter time.Duration
}

// Jobs returns one job per selected stream of src: its platform's streams
// (registered by extract/<platform>) joined with their mappings
// (registered by transform/<platform>). A platform, or a stream, that this
// version does not build is an *extract.NotBuiltError.
func Jobs(src *config.Source, opts Options) ([]Job, error) {
	p, ok := extract.Lookup(src.Platform)
	if !ok {
		return nil, fmt.Errorf("source %q: %w", src.Name, &extract.NotBuiltError{What: "platform " + src.Platform})
	}
	var names []string
	for _, name := range src.Streams {
		if opts.Streams == nil || slices.Contains(opts.Streams, name) {
			names = append(names, name)
		}
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	var jobs []Job
	for _, name := range names {
		spec, ok := p.Stream(name)
		if !ok {
			return nil, fmt.Errorf("source %q: %w", src.Name, &extract.NotBuiltError{What: "the " + name + " stream of " + src.Platform})
		}
		tf, ok := transform.Lookup(src.Platform, name)
		if !ok {
			return nil, fmt.Errorf("source %q: %w", src.Name, &extract.NotBuiltError{What: "the mapping of the " + name + " stream of " + src.Platform})
		}
		jobs = append(jobs, Job{Source: src.Name, Platform: src.Platform, Spec: spec, Transform: tf})
	}
	if len(jobs) == 0 {
		return nil, nil
	}
	redactor := opts.Redactor
	if redactor == nil {
		redactor = redact.New(src.Token.Reveal(), src.Password.Reveal(), src.APIKey.Reveal(), src.WebhookSecret.Reveal())
	}
	env := extract.Env{Redactor: redactor, Logger: logger.With(slog.String("source", src.Name)), Now: opts.Now, HTTPClient: opts.HTTPClient,
		RateShare: opts.RateShare, MaxRetryAfter: opts.MaxRetryAfter}
	if opts.Observer != nil {
		env.Observer = opts.Observer(src.Platform, src.Name)
	}
	streams, err := p.Open(src, names, env)
	if err != nil {
		return nil, fmt.Errorf("source %q: %w", src.Name, err)
	}
	req := opts.Request
	if req.StartDate.IsZero() {
		req.StartDate = src.StartDate
	}
	for i := range jobs {
		jobs[i].Stream, jobs[i].Request = streams[i], req
	}
	return jobs, nil
}

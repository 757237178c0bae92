// Package config owns syncer's YAML config file: reading it, expanding
// ${VAR} references from the environment, applying defaults and validating
// every field, so that the rest of the program receives a Config it can
// trust. It must not open connections, start goroutines or do anything
// else with the values: that is for the packages the CLI hands them to.
package config

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"
	_ "time/tzdata" // time_zone works on hosts without a system time-zone database
)

// Config is the whole config file.
type Config struct {
	DatabaseURL Secret   `yaml:"database_url"` // may hold a password; the CLI flag or $DATABASE_URL can supply it instead
	Concurrency int      `yaml:"concurrency"`  // streams running at once, all sources together; default 4, 1..256
	Listen      string   `yaml:"listen"`       // health, metrics and webhooks; default "127.0.0.1:9090", host:port
	SafetyLag   Duration `yaml:"safety_lag"`   // a saved cursor never passes now - SafetyLag; default 2m, >= 0
	// RunRetention is how long syncer run keeps finished runs in
	// sync_runs (the newest of each stream stays); default 90d, 0 keeps
	// them all.
	RunRetention Duration `yaml:"run_retention"`
	// Schema is the warehouse's schema; "" means the connection's
	// search_path (public). The bookkeeping tables live beside it in
	// StateSchema(Schema).
	Schema string `yaml:"schema"`
	// TimeZone is the warehouse's time zone: the analysts' views count
	// days and hours in it. An IANA name; default "UTC".
	TimeZone string `yaml:"time_zone"`
	// ShutdownTimeout is how long syncer run takes to stop on SIGTERM or
	// SIGINT: streams stop at their next batch and commit what they read;
	// what is still running at the deadline is cancelled and its job
	// retried by another replica. Default 30s, 1s..1h.
	ShutdownTimeout Duration `yaml:"shutdown_timeout"`
	// UI is the River job UI served under /ui on listen.
	UI      UI       `yaml:"ui"`
	Sources []Source `yaml:"sources"`
}

// UI holds the HTTP basic-auth credentials of the job UI. On a loopback
// listen address the UI needs none; on any other it is served only with
// both set.
type UI struct {
	Username string `yaml:"username"`
	Password Secret `yaml:"password"`
}

// Source is one account on one platform.
type Source struct {
	Name        string    `yaml:"name"`        // unique, [a-z0-9][a-z0-9_-]{0,62}; becomes sources.name and the webhook path
	Platform    string    `yaml:"platform"`    // digisac, ogmma, wavy or oxenty (lowercased)
	BaseURL     string    `yaml:"base_url"`    // absolute https URL (http only to a loopback host) without query; no trailing slash
	Token       Secret    `yaml:"token"`       // digisac (personal access token), wavy (authenticationToken)
	Username    string    `yaml:"username"`    // digisac (password grant), wavy (userName)
	Password    Secret    `yaml:"password"`    // digisac (password grant)
	APIKey      Secret    `yaml:"api_key"`     // ogmma, oxenty
	Streams     []string  `yaml:"streams"`     // default DefaultStreams(Platform)
	Schedule    string    `yaml:"schedule"`    // cron spec or descriptor; default "@every 5m"
	RateLimit   float64   `yaml:"rate_limit"`  // requests per second; default 5
	PageSize    int       `yaml:"page_size"`   // default 500 (oxenty 100); ogmma 1..500, digisac 1..1000, oxenty 1..100; not used by wavy
	Concurrency int       `yaml:"concurrency"` // requests in flight to this source; default 2, 1..64
	Timeout     Duration  `yaml:"timeout"`     // per request; default 30s
	StartDate   time.Time `yaml:"start_date"`  // oldest data to pull; zero means everything
	// Schedules overrides Schedule for single streams: stream name to
	// cron spec or descriptor.
	Schedules map[string]string `yaml:"schedules"`
	// MaxStreams is how many streams of this source run at once across
	// the whole fleet (backfill chunks included); its rate_limit is split
	// evenly among them. Default 1, 1..64.
	MaxStreams int `yaml:"max_streams"`

	// ogmma
	Channels []OgmmaChannel `yaml:"channels"`

	// wavy
	CustomerID   string   `yaml:"customer_id"`
	SubAccountID string   `yaml:"sub_account_id"` // optional
	FileHosts    []string `yaml:"file_hosts"`     // hosts the session CSV may be downloaded from (lowercased)

	// wavy and digisac: enables POST /webhooks/{name}
	WebhookSecret Secret `yaml:"webhook_secret"`

	// digisac and wavy: the IANA time zone of the local times in exported
	// files (syncer import); default DefaultTimeZone.
	TimeZone string `yaml:"time_zone"`
	// digisac: how a message line of a TXT transcript looks, a Go regexp
	// with the named groups time, author and text; default
	// DefaultTranscriptLinePattern.
	TranscriptLinePattern string `yaml:"transcript_line_pattern"`
	// digisac: Go time layouts of a transcript's times, tried in order;
	// default DefaultTranscriptTimeLayouts.
	TranscriptTimeLayouts []string `yaml:"transcript_time_layouts"`
}

// OgmmaChannel is one Ogmma channel and the conversations to pull from it.
type OgmmaChannel struct {
	ID string `yaml:"id"`
	// Name and Kind fill the channel's row where it has none: Ogmma's API
	// names no channel. Kind is one of ChannelKinds.
	Name          string   `yaml:"name"`
	Kind          string   `yaml:"kind"`
	Conversations []string `yaml:"conversations"`
	// Discover also lists the channel's conversations through
	// GET /v1/channels/{id}/conversations, an endpoint nobody has confirmed
	// yet; off by default.
	Discover bool `yaml:"discover"`
}

// ChannelKinds are the kinds of channel the warehouse knows
// (channels.kind); transform.ChannelKinds is the same list, as a test
// there checks.
var ChannelKinds = []string{"whatsapp", "sms", "telegram", "instagram", "messenger", "email", "webchat", "other"}

// The platforms.
const (
	Digisac = "digisac"
	Ogmma   = "ogmma"
	Wavy    = "wavy"
	Oxenty  = "oxenty"
)

// PlatformStreams lists every stream of each platform, in the order a full
// sync runs them. Treat it as read-only.
var PlatformStreams = map[string][]string{
	Digisac: {"services", "users", "departments", "contacts", "tickets", "messages", "transcripts"},
	Ogmma:   {"messages"},
	Wavy:    {"sessions"},
	Oxenty:  {"sessions"},
}

// Platforms gives the platform names, sorted.
func Platforms() []string { return []string{Digisac, Ogmma, Oxenty, Wavy} }

// DefaultStreams gives the streams a source of platform syncs when its
// config lists none: all of them except Digisac "transcripts" (one request
// per ticket; opt in). Unknown platforms give nil.
func DefaultStreams(platform string) []string {
	var out []string
	for _, s := range PlatformStreams[platform] {
		if platform == Digisac && s == "transcripts" {
			continue
		}
		out = append(out, s)
	}
	return out
}

// Defaults.
const (
	DefaultConcurrency       = 4
	DefaultListen            = "127.0.0.1:9090"
	DefaultSafetyLag         = Duration(2 * time.Minute)
	DefaultRunRetention      = Duration(90 * 24 * time.Hour)
	DefaultSchedule          = "@every 5m"
	DefaultShutdownTimeout   = Duration(30 * time.Second)
	DefaultMaxStreams        = 1
	DefaultRateLimit         = 5.0
	DefaultPageSize          = 500
	DefaultSourceConcurrency = 2
	DefaultTimeout           = Duration(30 * time.Second)
	DefaultTimeZone          = "America/Sao_Paulo"
	// DefaultWarehouseTimeZone is the views' time zone when time_zone is
	// not set at the top of the config.
	DefaultWarehouseTimeZone = "UTC"
	// DefaultTranscriptLinePattern reads "[15/01/2024 10:28:00] Ana Souza: Olá".
	DefaultTranscriptLinePattern = `^\[(?P<time>\d{2}/\d{2}/\d{4} \d{2}:\d{2}(?::\d{2})?)\] (?P<author>[^:\]]{1,120}): (?P<text>.*)$`
)

// OxentyMaxPageSize is the largest page_size of an Oxenty source, and its
// default. Oxenty documents no maximum limit; 100 is the usual cap of such
// APIs.
const OxentyMaxPageSize = 100

// DefaultTranscriptTimeLayouts gives the default transcript_time_layouts.
func DefaultTranscriptTimeLayouts() []string {
	return []string{"02/01/2006 15:04:05", "02/01/2006 15:04"}
}

// TranscriptGroups are the named groups a transcript_line_pattern must have.
var TranscriptGroups = []string{"time", "author", "text"}

// Load reads the config file at path and parses it as Parse does. Problems
// in the content come back as a *ValidationError naming the file.
// A nil lookupEnv means os.LookupEnv.
func Load(path string, lookupEnv func(string) (string, bool)) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	c, err := Parse(data, lookupEnv)
	if ve, ok := errors.AsType[*ValidationError](err); ok {
		ve.File = path
	}
	return c, err
}

// Parse decodes a YAML config, expands ${VAR}, ${VAR:-default} and $$ in
// its values (never in its structure), applies the defaults to the keys the
// file leaves out and validates the result. Every problem comes back at
// once, as a *ValidationError. A nil lookupEnv means os.LookupEnv.
func Parse(data []byte, lookupEnv func(string) (string, bool)) (*Config, error) {
	if lookupEnv == nil {
		lookupEnv = os.LookupEnv
	}
	c, m, decoded := decode(data, lookupEnv)
	if c == nil {
		return nil, collect("", decoded, nil)
	}
	c.applyDefaults(m)
	if err := collect("", decoded, c.validate(m)); err != nil {
		return nil, err
	}
	return c, nil
}

// ApplyDefaults fills every field left at its zero value with its default,
// for a Config built in Go. (Parse goes by the keys present in the file
// instead, so that "safety_lag: 0s" stays 0.)
func (c *Config) ApplyDefaults() { c.applyDefaults(nil) }

// Validate checks a Config built in Go, as Parse checks a file.
func (c *Config) Validate() error { return collect("", nil, c.validate(nil)) }

// Source finds a source by name.
func (c *Config) Source(name string) (*Source, bool) {
	for i := range c.Sources {
		if c.Sources[i].Name == name {
			return &c.Sources[i], true
		}
	}
	return nil, false
}

// Secrets gives every non-empty secret value in the config, for redacting
// text that may quote one: tokens, passwords, API keys, webhook secrets,
// the database URL and the password inside it (as written and decoded).
// Longest first, without duplicates.
func (c *Config) Secrets() []string {
	out := databaseSecrets(c.DatabaseURL.Reveal())
	for _, s := range c.Sources {
		for _, v := range []Secret{s.Token, s.Password, s.APIKey, s.WebhookSecret} {
			if v != "" {
				out = append(out, v.Reveal())
			}
		}
	}
	if c.UI.Password != "" {
		out = append(out, c.UI.Password.Reveal())
	}
	slices.SortFunc(out, func(a, b string) int {
		if len(a) != len(b) {
			return len(b) - len(a)
		}
		return strings.Compare(a, b)
	})
	return slices.Compact(out)
}

// StreamSchedule is the schedule of one of the source's streams: its
// override in schedules, else schedule.
func (s *Source) StreamSchedule(stream string) string {
	if spec, ok := s.Schedules[stream]; ok {
		return spec
	}
	return s.Schedule
}

// HasStream reports whether the source syncs the stream.
func (s *Source) HasStream(name string) bool { return slices.Contains(s.Streams, name) }

// databaseSecrets gives the connection string and the password in it, in
// either of the forms pgx accepts: a postgres:// URL (password in the user
// info or a password= parameter) or key=value pairs.
func databaseSecrets(dsn string) []string {
	dsn = strings.TrimSpace(dsn)
	if dsn == "" {
		return nil
	}
	out := []string{dsn}
	add := func(p string) {
		if p != "" {
			out = append(out, p)
		}
	}
	if _, rest, ok := strings.Cut(dsn, "://"); ok {
		// As written: everything between the first ':' of the user info and
		// the last '@' (a password may hold '@', '/' or '#' unescaped).
		if at := strings.LastIndexByte(rest, '@'); at >= 0 {
			if _, pw, ok := strings.Cut(rest[:at], ":"); ok {
				add(pw)
				if dec, err := url.PathUnescape(pw); err == nil && dec != pw {
					add(dec)
				}
			}
		}
		if u, err := url.Parse(dsn); err == nil {
			if pw, ok := u.User.Password(); ok {
				add(pw)
			}
			add(u.Query().Get("password"))
		}
		return out
	}
	add(keywordValue(dsn, "password"))
	return out
}

// keywordValue finds key's value in a libpq key=value connection string,
// where a value may be 'single quoted' with \' and \\ escapes.
func keywordValue(dsn, key string) string {
	s := dsn
	for s != "" {
		s = strings.TrimLeft(s, " \t\n\r")
		k, rest, ok := strings.Cut(s, "=")
		if !ok {
			return ""
		}
		k = strings.TrimSpace(k)
		rest = strings.TrimLeft(rest, " \t\n\r")
		var v strings.Builder
		if strings.HasPrefix(rest, "'") {
			i := 1
			for ; i < len(rest) && rest[i] != '\''; i++ {
				if rest[i] == '\\' && i+1 < len(rest) {
					i++
				}
				v.WriteByte(rest[i])
			}
			s = rest[min(i+1, len(rest)):]
		} else {
			end := strings.IndexAny(rest, " \t\n\r")
			if end < 0 {
				end = len(rest)
			}
			v.WriteString(rest[:end])
			s = rest[end:]
		}
		if k == key {
			return v.String()
		}
	}
	return ""
}

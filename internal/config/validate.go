package config

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/robfig/cron/v3"

	"syncer/internal/schemas"
)

// MinSecretLength is the fewest characters a source's token, password,
// api_key or webhook_secret may have. Logs and errors hide a secret only
// where it stands as a whole word, and a short one would either slip
// through or hide words that merely look like it.
const MinSecretLength = 8

// applyDefaults normalises values (lowercased platform and file hosts,
// base_url without trailing slash) and fills defaults. With m from decode,
// a default fills a key the file leaves out; with m nil, a zero value.
func (c *Config) applyDefaults(m *meta) {
	unset := func(path string, zero bool) bool {
		if m != nil {
			return !m.set[path]
		}
		return zero
	}
	if unset("concurrency", c.Concurrency == 0) {
		c.Concurrency = DefaultConcurrency
	}
	if unset("listen", c.Listen == "") {
		c.Listen = DefaultListen
	}
	if unset("safety_lag", c.SafetyLag == 0) {
		c.SafetyLag = DefaultSafetyLag
	}
	if unset("run_retention", c.RunRetention == 0) {
		c.RunRetention = DefaultRunRetention
	}
	if unset("shutdown_timeout", c.ShutdownTimeout == 0) {
		c.ShutdownTimeout = DefaultShutdownTimeout
	}
	if unset("time_zone", c.TimeZone == "") {
		c.TimeZone = DefaultWarehouseTimeZone
	}
	for i := range c.Sources {
		s, p := &c.Sources[i], indexPath("sources", i)
		s.Platform = strings.ToLower(s.Platform)
		s.BaseURL = strings.TrimRight(s.BaseURL, "/")
		for j := range s.FileHosts {
			s.FileHosts[j] = strings.ToLower(s.FileHosts[j])
		}
		if len(s.Streams) == 0 {
			s.Streams = DefaultStreams(s.Platform)
		}
		if unset(p+".schedule", s.Schedule == "") {
			s.Schedule = DefaultSchedule
		}
		if unset(p+".rate_limit", s.RateLimit == 0) {
			s.RateLimit = DefaultRateLimit
		}
		if unset(p+".page_size", s.PageSize == 0) {
			s.PageSize = DefaultPageSize
			if s.Platform == Oxenty {
				s.PageSize = OxentyMaxPageSize
			}
		}
		if unset(p+".concurrency", s.Concurrency == 0) {
			s.Concurrency = DefaultSourceConcurrency
		}
		if unset(p+".max_streams", s.MaxStreams == 0) {
			s.MaxStreams = DefaultMaxStreams
		}
		if unset(p+".timeout", s.Timeout == 0) {
			s.Timeout = DefaultTimeout
		}
		if (s.Platform == Digisac || s.Platform == Wavy) && unset(p+".time_zone", s.TimeZone == "") {
			s.TimeZone = DefaultTimeZone
		}
		if s.Platform == Digisac {
			if unset(p+".transcript_line_pattern", s.TranscriptLinePattern == "") {
				s.TranscriptLinePattern = DefaultTranscriptLinePattern
			}
			if len(s.TranscriptTimeLayouts) == 0 {
				s.TranscriptTimeLayouts = DefaultTranscriptTimeLayouts()
			}
		}
	}
}

// validator collects problems; it never stops at the first.
type validator struct {
	m        *meta
	problems []Problem
}

func (v *validator) addf(path, format string, args ...any) {
	v.problems = append(v.problems, v.m.problem(path, fmt.Sprintf(format, args...)))
}

// detail gives ": err" to end a message, unless the value at path came from
// the environment: then err, which may quote the value, is left out.
func (v *validator) detail(path string, err error) string {
	if _, fromEnv := v.m.raw[path]; fromEnv || err == nil {
		return ""
	}
	return ": " + err.Error()
}

// num formats a number or duration for a message, or, when it came from
// the environment, the reference to the variable.
func (v *validator) num(path string, x any) string {
	if raw, fromEnv := v.m.raw[path]; fromEnv {
		return quoteShort(raw)
	}
	return fmt.Sprint(x)
}

func (c *Config) validate(m *meta) []Problem {
	if m == nil {
		m = newMeta()
	}
	v := &validator{m: m}

	if c.Concurrency < 1 || c.Concurrency > 256 {
		v.addf("concurrency", "concurrency must be 1..256, not %s", v.num("concurrency", c.Concurrency))
	}
	if c.SafetyLag < 0 {
		v.addf("safety_lag", "safety_lag must not be negative, not %s", v.num("safety_lag", c.SafetyLag))
	}
	if c.RunRetention < 0 || (c.RunRetention > 0 && c.RunRetention < Duration(time.Hour)) {
		v.addf("run_retention", "run_retention must be 0 (keep every run) or at least 1h, such as 90d, not %s", v.num("run_retention", c.RunRetention))
	}
	if err := checkListen(c.Listen); err != nil {
		v.addf("listen", "listen must be host:port such as 127.0.0.1:9090, not %s%s", m.show("listen", c.Listen), v.detail("listen", err))
	}
	if c.ShutdownTimeout < Duration(time.Second) || c.ShutdownTimeout > Duration(time.Hour) {
		v.addf("shutdown_timeout", "shutdown_timeout must be 1s..1h, such as 30s, not %s", v.num("shutdown_timeout", c.ShutdownTimeout))
	}
	switch {
	case (c.UI.Username == "") != (c.UI.Password == ""):
		v.addf("ui", "ui needs both username and password, or neither")
	case c.UI.Password != "" && utf8.RuneCountInString(c.UI.Password.Reveal()) < MinSecretLength:
		// Never the value in the message: it may come from ${VAR}.
		v.addf("ui.password", "password must be at least %d characters so that syncer can keep it out of logs", MinSecretLength)
	case strings.ContainsRune(c.UI.Username, ':'):
		v.addf("ui.username", "username must not contain \":\" (HTTP basic auth separates the two with it)")
	}
	switch {
	case c.Schema != "" && !ValidSchema(c.Schema):
		v.addf("schema", "schema %s is not a plain identifier: lowercase letters, digits and _, not starting with a digit or pg_, at most %d long (the bookkeeping goes in <schema>_syncer)", m.show("schema", c.Schema), maxSchemaLen)
	case schemas.Reserved(c.Schema):
		v.addf("schema", "schema %s is the name of a bookkeeping schema (syncer, or one ending in _syncer): choose another", m.show("schema", c.Schema))
	}
	if c.TimeZone == "" {
		v.addf("time_zone", "time_zone must be an IANA time zone name such as %s or UTC, not empty", DefaultTimeZone)
	} else if _, err := time.LoadLocation(c.TimeZone); err != nil || strings.EqualFold(c.TimeZone, "local") {
		v.addf("time_zone", "time_zone %s is not an IANA time zone name such as %s or UTC", m.show("time_zone", c.TimeZone), DefaultTimeZone)
	}
	if msg := checkDatabaseURL(c.DatabaseURL.Reveal()); msg != "" {
		v.addf("database_url", "database_url %s", msg)
	}

	names := map[string]int{}
	for i := range c.Sources {
		s, p := &c.Sources[i], indexPath("sources", i)
		if _, ok := m.labels[p]; !ok {
			m.labels[p] = p
			if s.Name != "" {
				m.labels[p] += " " + m.show(p+".name", s.Name)
			}
		}
		if s.Name != "" {
			if first, dup := names[s.Name]; dup {
				v.addf(p+".name", "name %s is already used by sources[%d]; source names must be unique", m.show(p+".name", s.Name), first)
			} else {
				names[s.Name] = i
			}
		}
		v.source(s, p)
	}
	return v.problems
}

func (v *validator) source(s *Source, p string) {
	m := v.m
	switch {
	case s.Name == "":
		v.addf(p+".name", "name is required")
	case !validSourceName(s.Name):
		v.addf(p+".name", "name %s is not valid: lowercase letters, digits, _ and -, starting with a letter or digit, at most 63 long", m.show(p+".name", s.Name))
	}

	known := false
	switch {
	case s.Platform == "":
		v.addf(p+".platform", "platform is required (one of %s)", strings.Join(Platforms(), ", "))
	case PlatformStreams[s.Platform] == nil:
		v.addf(p+".platform", "platform %s is not one of %s", m.show(p+".platform", s.Platform), strings.Join(Platforms(), ", "))
	default:
		known = true
	}

	if s.BaseURL == "" {
		v.addf(p+".base_url", "base_url is required (the platform's API address, such as https://acme.digisac.app)")
	} else if msg, quote := checkBaseURL(s.BaseURL); msg != "" {
		if quote {
			msg = m.show(p+".base_url", s.BaseURL) + " " + msg
		}
		v.addf(p+".base_url", "base_url %s", msg)
	}

	v.streams(s, p, known)

	if _, err := ParseSchedule(s.Schedule); err != nil {
		v.addf(p+".schedule", "schedule %s is not a cron spec (\"*/10 * * * *\") or descriptor (\"@every 5m\", \"@hourly\")%s",
			m.show(p+".schedule", s.Schedule), v.detail(p+".schedule", err))
	}
	for _, stream := range slices.Sorted(maps.Keys(s.Schedules)) {
		sp := p + ".schedules." + stream
		if known && !slices.Contains(PlatformStreams[s.Platform], stream) {
			v.addf(sp, "schedules names stream %s, which platform %s does not have (%s)", quoteShort(stream), s.Platform, strings.Join(PlatformStreams[s.Platform], ", "))
			continue
		}
		if known && !slices.Contains(s.Streams, stream) {
			v.addf(sp, "schedules names stream %s, which the source does not sync (its streams: %s)", quoteShort(stream), strings.Join(s.Streams, ", "))
			continue
		}
		if _, err := ParseSchedule(s.Schedules[stream]); err != nil {
			v.addf(sp, "schedules: stream %s: schedule %s is not a cron spec (\"*/10 * * * *\") or descriptor (\"@every 5m\", \"@hourly\")%s", stream,
				m.show(sp, s.Schedules[stream]), v.detail(sp, err))
		}
	}
	if s.MaxStreams < 1 || s.MaxStreams > 64 {
		v.addf(p+".max_streams", "max_streams must be 1..64, not %s", v.num(p+".max_streams", s.MaxStreams))
	}
	if !(s.RateLimit > 0) || math.IsInf(s.RateLimit, 0) {
		v.addf(p+".rate_limit", "rate_limit must be a number of requests per second above 0, not %s", v.num(p+".rate_limit", s.RateLimit))
	}
	maxPage := 0
	switch s.Platform {
	case Ogmma:
		maxPage = 500
	case Digisac:
		maxPage = 1000
	case Oxenty:
		maxPage = OxentyMaxPageSize
	}
	switch {
	case s.PageSize < 1:
		v.addf(p+".page_size", "page_size must be at least 1, not %s", v.num(p+".page_size", s.PageSize))
	case maxPage > 0 && s.PageSize > maxPage:
		v.addf(p+".page_size", "page_size must be at most %d for platform %s, not %s", maxPage, s.Platform, v.num(p+".page_size", s.PageSize))
	}
	if s.Concurrency < 1 || s.Concurrency > 64 {
		v.addf(p+".concurrency", "concurrency must be 1..64, not %s", v.num(p+".concurrency", s.Concurrency))
	}
	if s.Timeout <= 0 {
		v.addf(p+".timeout", "timeout must be above 0, not %s", v.num(p+".timeout", s.Timeout))
	}

	if !known {
		return
	}
	unused := map[string]bool{}
	for _, f := range platformFields() {
		if f.set(s) && !slices.Contains(f.platforms, s.Platform) {
			unused[f.key] = true
			v.addf(p+"."+f.key, "%s is not used by platform %s (only by %s)", f.key, s.Platform, strings.Join(f.platforms, " and "))
		}
	}
	for _, f := range []struct {
		key   string
		value Secret
	}{{"token", s.Token}, {"password", s.Password}, {"api_key", s.APIKey}, {"webhook_secret", s.WebhookSecret}} {
		// Never the value in the message: it may come from ${VAR}.
		if n := utf8.RuneCountInString(f.value.Reveal()); n > 0 && n < MinSecretLength && !unused[f.key] {
			v.addf(p+"."+f.key, "%s must be at least %d characters so that syncer can keep it out of logs", f.key, MinSecretLength)
		}
	}
	v.exportFiles(s, p)
	switch s.Platform {
	case Digisac:
		v.digisac(s, p)
	case Ogmma:
		if s.APIKey == "" {
			v.addf(p+".api_key", "api_key is required for platform ogmma")
		}
		v.ogmmaChannels(s, p)
	case Wavy:
		for _, f := range []struct {
			key string
			set bool
		}{{"username", s.Username != ""}, {"token", s.Token != ""}, {"customer_id", s.CustomerID != ""}} {
			if !f.set {
				v.addf(p+"."+f.key, "%s is required for platform wavy", f.key)
			}
		}
		v.fileHosts(s, p)
	case Oxenty:
		if s.APIKey == "" {
			v.addf(p+".api_key", "api_key is required for platform oxenty")
		}
	}
}

func (v *validator) streams(s *Source, p string, known bool) {
	seen := map[string]bool{}
	for i, name := range s.Streams {
		ip := indexPath(p+".streams", i)
		_, rest := splitSource(ip)
		switch {
		case name == "":
			v.addf(ip, "%s is empty", rest)
		case seen[name]:
			v.addf(ip, "%s: stream %s is listed twice", rest, v.m.show(ip, name))
		case known && !slices.Contains(PlatformStreams[s.Platform], name):
			v.addf(ip, "%s: %s is not a stream of platform %s (its streams: %s)", rest, v.m.show(ip, name), s.Platform, strings.Join(PlatformStreams[s.Platform], ", "))
		}
		seen[name] = true
	}
}

func (v *validator) digisac(s *Source, p string) {
	if msg, _ := checkBaseURL(s.BaseURL); msg == "" && s.BaseURL != "" {
		u, _ := url.Parse(s.BaseURL)
		path := strings.ToLower(strings.TrimRight(u.Path, "/"))
		for _, api := range []string{"/api/v1", "/api"} {
			if strings.HasSuffix(path, api) {
				v.addf(p+".base_url", "base_url %s ends in the API path %s: drop the path and write the account's address, such as https://acme.digisac.app; syncer adds /api/v1/... itself",
					v.m.show(p+".base_url", s.BaseURL), api)
				break
			}
		}
	}
	switch {
	case s.Token != "" && s.Password != "":
		v.addf(p+".password", "set token or username and password, not both, for platform digisac")
	case s.Token != "" && s.Username != "":
		v.addf(p+".username", "username goes with password (password grant); with token, leave it out")
	case s.Token == "" && s.Username == "" && s.Password == "":
		v.addf(p+".token", "token (a personal access token), or username and password, is required for platform digisac")
	case s.Token == "" && s.Password == "":
		v.addf(p+".password", "password is required with username for platform digisac (or use token instead)")
	case s.Token == "" && s.Username == "":
		v.addf(p+".username", "username is required with password for platform digisac")
	}
}

// exportFiles checks the keys that say how exported files are read.
func (v *validator) exportFiles(s *Source, p string) {
	m := v.m
	if s.Platform == Digisac || s.Platform == Wavy {
		if s.TimeZone == "" {
			v.addf(p+".time_zone", "time_zone must be an IANA time zone name such as %s, not empty", DefaultTimeZone)
		} else if _, err := time.LoadLocation(s.TimeZone); err != nil || strings.EqualFold(s.TimeZone, "local") {
			v.addf(p+".time_zone", "time_zone %s is not an IANA time zone name such as %s or UTC", m.show(p+".time_zone", s.TimeZone), DefaultTimeZone)
		}
	}
	if s.Platform != Digisac {
		return
	}
	if re, err := regexp.Compile(s.TranscriptLinePattern); err != nil {
		v.addf(p+".transcript_line_pattern", "transcript_line_pattern %s is not a Go regular expression%s", m.show(p+".transcript_line_pattern", s.TranscriptLinePattern), v.detail(p+".transcript_line_pattern", err))
	} else {
		var missing []string
		for _, g := range TranscriptGroups {
			if re.SubexpIndex(g) < 0 {
				missing = append(missing, "(?P<"+g+">...)")
			}
		}
		if len(missing) > 0 {
			v.addf(p+".transcript_line_pattern", "transcript_line_pattern %s lacks the named group(s) %s; it needs time, author and text", m.show(p+".transcript_line_pattern", s.TranscriptLinePattern), strings.Join(missing, ", "))
		}
	}
	ref := time.Date(2024, time.January, 15, 10, 28, 0, 0, time.UTC)
	for i, l := range s.TranscriptTimeLayouts {
		lp := indexPath(p+".transcript_time_layouts", i)
		_, rest := splitSource(lp)
		if strings.TrimSpace(l) == "" || ref.Format(l) == l {
			v.addf(lp, "%s %s is not a Go time layout (write the reference time Mon Jan 2 15:04:05 2006 as the files do, such as \"02/01/2006 15:04:05\")", rest, m.show(lp, l))
		} else if _, err := time.Parse(l, ref.Format(l)); err != nil {
			v.addf(lp, "%s %s cannot read the times it writes%s", rest, m.show(lp, l), v.detail(lp, err))
		}
	}
}

func (v *validator) ogmmaChannels(s *Source, p string) {
	if len(s.Channels) == 0 {
		v.addf(p+".channels", "channels is required for platform ogmma: list each channel id with its conversations (or discover: true)")
		return
	}
	ids := map[string]int{}
	for i, ch := range s.Channels {
		cp := indexPath(p+".channels", i)
		_, rest := splitSource(cp)
		if ch.ID == "" {
			v.addf(cp+".id", "%s.id is required", rest)
		} else if first, dup := ids[ch.ID]; dup {
			v.addf(cp+".id", "%s.id %s is already used by channels[%d]", rest, v.m.show(cp+".id", ch.ID), first)
		} else {
			ids[ch.ID] = i
		}
		if len(ch.Conversations) == 0 && !ch.Discover {
			v.addf(cp+".conversations", "%s needs conversations (a list of conversation ids) or discover: true", rest)
		}
		if ch.Kind != "" && !slices.Contains(ChannelKinds, ch.Kind) {
			v.addf(cp+".kind", "%s.kind %s is not one of %s", rest, v.m.show(cp+".kind", ch.Kind), strings.Join(ChannelKinds, ", "))
		}
		seen := map[string]bool{}
		for j, conv := range ch.Conversations {
			vp := indexPath(cp+".conversations", j)
			_, vrest := splitSource(vp)
			switch {
			case conv == "":
				v.addf(vp, "%s is empty", vrest)
			case seen[conv]:
				v.addf(vp, "%s: conversation %s is listed twice", vrest, v.m.show(vp, conv))
			}
			seen[conv] = true
		}
	}
}

func (v *validator) fileHosts(s *Source, p string) {
	seen := map[string]bool{}
	for i, h := range s.FileHosts {
		hp := indexPath(p+".file_hosts", i)
		_, rest := splitSource(hp)
		switch {
		case !validHostName(h):
			v.addf(hp, "%s must be a bare host name such as chatclub-cdn.wavy.global (no scheme, port or path), not %s", rest, v.m.show(hp, h))
		case seen[h]:
			v.addf(hp, "%s: host %s is listed twice", rest, v.m.show(hp, h))
		}
		seen[h] = true
	}
}

// platformField is a source field that only some platforms use.
type platformField struct {
	key       string
	set       func(*Source) bool
	platforms []string
}

func platformFields() []platformField {
	return []platformField{
		{"token", func(s *Source) bool { return s.Token != "" }, []string{Digisac, Wavy}},
		{"username", func(s *Source) bool { return s.Username != "" }, []string{Digisac, Wavy}},
		{"password", func(s *Source) bool { return s.Password != "" }, []string{Digisac}},
		{"api_key", func(s *Source) bool { return s.APIKey != "" }, []string{Ogmma, Oxenty}},
		{"channels", func(s *Source) bool { return len(s.Channels) > 0 }, []string{Ogmma}},
		{"customer_id", func(s *Source) bool { return s.CustomerID != "" }, []string{Wavy}},
		{"sub_account_id", func(s *Source) bool { return s.SubAccountID != "" }, []string{Wavy}},
		{"file_hosts", func(s *Source) bool { return len(s.FileHosts) > 0 }, []string{Wavy}},
		{"webhook_secret", func(s *Source) bool { return s.WebhookSecret != "" }, []string{Digisac, Wavy}},
		{"time_zone", func(s *Source) bool { return s.TimeZone != "" }, []string{Digisac, Wavy}},
		{"transcript_line_pattern", func(s *Source) bool { return s.TranscriptLinePattern != "" }, []string{Digisac}},
		{"transcript_time_layouts", func(s *Source) bool { return len(s.TranscriptTimeLayouts) > 0 }, []string{Digisac}},
	}
}

// ParseSchedule parses a source's schedule as validation does: a standard
// 5-field cron spec ("*/10 * * * *"), optionally after CRON_TZ=Zone, or a
// descriptor ("@hourly", "@daily", "@every 5m"; @every needs at least 1s).
// The scheduler uses it so that both agree.
func ParseSchedule(spec string) (sched cron.Schedule, err error) {
	defer func() {
		if r := recover(); r != nil { // robfig/cron panics on some malformed specs
			sched, err = nil, errors.New("malformed spec")
		}
	}()
	body := spec
	if strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ=") {
		_, after, ok := strings.Cut(spec, " ")
		if !ok {
			return nil, errors.New("a time zone must be followed by a spec")
		}
		body = strings.TrimSpace(after)
	}
	if every, ok := strings.CutPrefix(body, "@every "); ok {
		if d, err := time.ParseDuration(strings.TrimSpace(every)); err == nil && d < time.Second {
			return nil, errors.New("@every needs at least 1s")
		}
	}
	return cron.ParseStandard(spec)
}

// checkListen reports whether addr is host:port with a port of 1..65535.
func checkListen(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return errors.New("missing or misplaced :port")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return errors.New("the port must be a number 1..65535")
	}
	return nil
}

// checkBaseURL gives what is wrong with raw, or "", and whether the
// message may quote raw (not when it may hold a password).
func checkBaseURL(raw string) (msg string, quote bool) {
	const creds = "must not hold credentials (use the source's token, password or api_key)"
	u, err := url.Parse(raw)
	switch {
	case err != nil && strings.Contains(raw, "@"):
		return "is not a valid URL and " + creds, false
	case err != nil:
		return "is not a valid URL", true
	case u.User != nil:
		return creds, false
	case u.Scheme != "http" && u.Scheme != "https":
		return "must be an absolute http:// or https:// URL", true
	case u.Hostname() == "":
		return "has no host", true
	case u.RawQuery != "" || u.ForceQuery:
		return "must not have a query (?...)", true
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return "must not have a fragment (#...)", true
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		return "uses http://, which sends the credentials in clear text; use https://, or http:// only to a loopback host (localhost, 127.0.0.1, ::1)", true
	}
	return "", false
}

// isLoopback reports whether host is localhost or a loopback address
// (127.0.0.0/8, ::1), the only hosts a base_url may reach over plain http.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkDatabaseURL gives what is wrong with a connection string, or "".
// It accepts what pgx accepts in form (a postgres:// URL or libpq
// key=value pairs) and leaves the rest to the connection. The message never
// holds the string.
func checkDatabaseURL(dsn string) string {
	dsn = strings.TrimSpace(dsn)
	if dsn == "" {
		return ""
	}
	if scheme, _, ok := strings.Cut(dsn, "://"); ok {
		if scheme != "postgres" && scheme != "postgresql" {
			return "must start with postgres:// or postgresql://"
		}
		return ""
	}
	if !strings.Contains(dsn, "=") {
		return "must be a postgres:// URL or key=value pairs (host=... dbname=...)"
	}
	return ""
}

func validSourceName(s string) bool {
	if len(s) < 1 || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case (c == '_' || c == '-') && i > 0:
		default:
			return false
		}
	}
	return true
}

// maxSchemaLen leaves room in Postgres's 63 bytes for "_syncer", the
// suffix of the bookkeeping schema.
const maxSchemaLen = 63 - len("_syncer")

// ValidSchema reports whether s can be a warehouse schema: a Postgres
// identifier that needs no quoting and that CREATE SCHEMA accepts, with
// room for the "_syncer" of its bookkeeping schema.
func ValidSchema(s string) bool {
	if len(s) > maxSchemaLen || strings.HasPrefix(s, "pg_") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_', 'a' <= c && c <= 'z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return s != ""
}

// validHostName reports whether s is a lowercase DNS name (or IP address)
// with nothing around it.
func validHostName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	if net.ParseIP(s) != nil {
		return true
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

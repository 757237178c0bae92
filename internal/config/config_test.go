package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// env is a lookupEnv over a map.
func env(kv ...string) func(string) (string, bool) {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// source gives a config with one source made of lines ("key: value").
func source(lines ...string) string {
	return "sources:\n  - " + strings.Join(lines, "\n    ") + "\n"
}

// The smallest valid source of each platform, as lines for source().
var (
	digisacLines = []string{"name: d", "platform: digisac", "base_url: https://acme.digisac.app", "token: tok-digisac"}
	ogmmaLines   = []string{"name: o", "platform: ogmma", "base_url: https://oapi.ogmma.com.br", "api_key: key-ogmma", "channels: [{id: c1, conversations: [v1]}]"}
	wavyLines    = []string{"name: w", "platform: wavy", "base_url: https://api-messaging.wavy.global", "username: u", "token: tok-wavy", `customer_id: "42"`}
	oxentyLines  = []string{"name: x", "platform: oxenty", "base_url: https://api.oxenty.api.br", "api_key: key-oxenty"}
)

// with gives base with lines added (a key given again replaces the base's).
func with(base []string, lines ...string) []string {
	out := slices.Clone(base)
	for _, l := range lines {
		key, _, _ := strings.Cut(l, ":")
		if i := slices.IndexFunc(out, func(b string) bool { return strings.HasPrefix(b, key+":") }); i >= 0 {
			out[i] = l
		} else {
			out = append(out, l)
		}
	}
	return out
}

// without gives base without the lines of the keys.
func without(base []string, keys ...string) []string {
	return slices.DeleteFunc(slices.Clone(base), func(l string) bool {
		k, _, _ := strings.Cut(l, ":")
		return slices.Contains(keys, k)
	})
}

func exampleEnv() func(string) (string, bool) {
	return env(
		"DATABASE_URL", "postgres://syncer:db-pass@localhost:5432/warehouse",
		"DIGISAC_TOKEN", "digisac-token-value",
		"OGMMA_API_KEY", "ogmma-key-value",
		"WAVY_USERNAME", "wavy-user",
		"WAVY_TOKEN", "wavy-token-value",
		"WAVY_WEBHOOK_SECRET", "wavy-hook-secret",
		"OXENTY_API_KEY", "oxenty-key-value",
	)
}

func TestLoadExample(t *testing.T) {
	c, err := Load("testdata/example.yaml", exampleEnv())
	if err != nil {
		t.Fatal(err)
	}
	if got := c.DatabaseURL.Reveal(); got != "postgres://syncer:db-pass@localhost:5432/warehouse" {
		t.Errorf("database_url = %q", got)
	}
	if c.Concurrency != 4 || c.Listen != "127.0.0.1:9090" || c.SafetyLag != DefaultSafetyLag || c.Schema != "" {
		t.Errorf("top level = %d %q %s %q", c.Concurrency, c.Listen, c.SafetyLag, c.Schema)
	}
	var names []string
	for _, s := range c.Sources {
		names = append(names, s.Name+"/"+s.Platform)
	}
	if want := []string{"acme-digisac/digisac", "acme-ogmma/ogmma", "acme-wavy/wavy", "acme-oxenty/oxenty"}; !slices.Equal(names, want) {
		t.Fatalf("sources = %v, want %v", names, want)
	}

	d, ok := c.Source("acme-digisac")
	if !ok {
		t.Fatal("Source(acme-digisac) not found")
	}
	if d.Token.Reveal() != "digisac-token-value" || d.RateLimit != 5 || d.PageSize != 500 || d.Schedule != "@every 5m" {
		t.Errorf("digisac = %+v", d)
	}
	if !d.StartDate.Equal(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("start_date = %v", d.StartDate)
	}
	if !d.HasStream("tickets") || d.HasStream("transcripts") {
		t.Errorf("digisac streams = %v", d.Streams)
	}

	o, _ := c.Source("acme-ogmma")
	if want := []OgmmaChannel{{ID: "6650a1b2c3d4e5f6a7b8c9d2", Conversations: []string{"6650a1b2c3d4e5f6a7b8c9d1"}}}; !reflect.DeepEqual(o.Channels, want) {
		t.Errorf("ogmma channels = %+v", o.Channels)
	}
	if o.APIKey.Reveal() != "ogmma-key-value" || !slices.Equal(o.Streams, []string{"messages"}) {
		t.Errorf("ogmma = %+v", o)
	}

	w, _ := c.Source("acme-wavy")
	if w.Username != "wavy-user" || w.Token.Reveal() != "wavy-token-value" || w.CustomerID != "42" || w.SubAccountID != "1291" ||
		!slices.Equal(w.FileHosts, []string{"chatclub-cdn.wavy.global"}) || w.WebhookSecret.Reveal() != "wavy-hook-secret" {
		t.Errorf("wavy = %+v", w)
	}
	x, _ := c.Source("acme-oxenty")
	if x.APIKey.Reveal() != "oxenty-key-value" || !x.HasStream("sessions") || x.Timeout != DefaultTimeout || x.Concurrency != 2 || x.PageSize != OxentyMaxPageSize {
		t.Errorf("oxenty = %+v", x)
	}
	if _, ok := c.Source("nope"); ok {
		t.Error("Source(nope) found")
	}

	want := []string{"postgres://syncer:db-pass@localhost:5432/warehouse", "digisac-token-value", "oxenty-key-value",
		"wavy-hook-secret", "wavy-token-value", "ogmma-key-value", "db-pass"}
	if got := c.Secrets(); !slices.Equal(got, want) {
		t.Errorf("Secrets() = %q\nwant %q", got, want)
	}
}

func TestLoadErrors(t *testing.T) {
	_, err := Load("testdata/does-not-exist.yaml", env())
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	_, err = Load("testdata/example.yaml", env("DATABASE_URL", "postgres://h/db"))
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.File != "testdata/example.yaml" {
		t.Fatalf("err = %v, want a *ValidationError for the file", err)
	}
	want := "config testdata/example.yaml: line 8: environment variable DIGISAC_TOKEN is not set (used by sources[0].token)"
	if first := strings.Split(err.Error(), "\n")[0]; first != want {
		t.Errorf("first line = %q\nwant %q", first, want)
	}
	if len(ve.Problems) != 6 {
		t.Errorf("%d problems, want 6 (one per unset variable):\n%v", len(ve.Problems), err)
	}
}

func TestParseGood(t *testing.T) {
	tests := []struct {
		name  string
		yaml  string
		env   func(string) (string, bool)
		check func(t *testing.T, c *Config)
	}{
		{
			name: "empty file gives defaults",
			yaml: "",
			check: func(t *testing.T, c *Config) {
				want := &Config{Concurrency: 4, Listen: "127.0.0.1:9090", SafetyLag: Duration(2 * time.Minute), RunRetention: Duration(90 * 24 * time.Hour),
					ShutdownTimeout: Duration(30 * time.Second), TimeZone: "UTC"}
				if !reflect.DeepEqual(c, want) {
					t.Errorf("got %#v", c)
				}
			},
		},
		{
			name: "comments only",
			yaml: "# nothing yet\n",
			check: func(t *testing.T, c *Config) {
				if c.Concurrency != 4 || len(c.Sources) != 0 {
					t.Errorf("got %+v", c)
				}
			},
		},
		{
			name: "only database_url",
			yaml: "database_url: ${DATABASE_URL}\n",
			env:  env("DATABASE_URL", "host=db user=syncer password='p w' dbname=wh"),
			check: func(t *testing.T, c *Config) {
				if c.DatabaseURL.Reveal() != "host=db user=syncer password='p w' dbname=wh" || c.Sources != nil {
					t.Errorf("got %+v", c)
				}
				if got := c.Secrets(); !slices.Equal(got, []string{"host=db user=syncer password='p w' dbname=wh", "p w"}) {
					t.Errorf("Secrets() = %q", got)
				}
			},
		},
		{
			name: "document markers",
			yaml: "---\nconcurrency: 3\n...\n---\n# nothing more\n",
			check: func(t *testing.T, c *Config) {
				if c.Concurrency != 3 {
					t.Errorf("got %+v", c)
				}
			},
		},
		{
			name: "empty sources list",
			yaml: "sources: []\n",
			check: func(t *testing.T, c *Config) {
				if len(c.Sources) != 0 {
					t.Errorf("sources = %v", c.Sources)
				}
			},
		},
		{
			name: "defaults of a source",
			yaml: source(digisacLines...),
			check: func(t *testing.T, c *Config) {
				s := c.Sources[0]
				want := Source{Name: "d", Platform: "digisac", BaseURL: "https://acme.digisac.app", Token: "tok-digisac",
					Streams:  []string{"services", "users", "departments", "contacts", "tickets", "messages"},
					Schedule: "@every 5m", RateLimit: 5, PageSize: 500, Concurrency: 2, Timeout: Duration(30 * time.Second), MaxStreams: 1,
					TimeZone: DefaultTimeZone, TranscriptLinePattern: DefaultTranscriptLinePattern, TranscriptTimeLayouts: DefaultTranscriptTimeLayouts()}
				if !reflect.DeepEqual(s, want) {
					t.Errorf("got  %#v\nwant %#v", s, want)
				}
			},
		},
		{
			name: "defaults fill only absent keys: safety_lag 0s stays 0",
			yaml: "safety_lag: 0s\nconcurrency: 1\nlisten: ':8080'\nschema: warehouse_1\n",
			check: func(t *testing.T, c *Config) {
				if c.SafetyLag != 0 || c.Concurrency != 1 || c.Listen != ":8080" || c.Schema != "warehouse_1" {
					t.Errorf("got %+v", c)
				}
			},
		},
		{
			name: "null values count as absent",
			yaml: "concurrency: ~\nlisten:\nsources:\n  - name: x\n    platform: oxenty\n    base_url: https://o.example\n    api_key: key-oxenty\n    timeout: null\n",
			check: func(t *testing.T, c *Config) {
				if c.Concurrency != 4 || c.Listen != DefaultListen || c.Sources[0].Timeout != DefaultTimeout {
					t.Errorf("got %+v", c)
				}
			},
		},
		{
			name: "every setting given",
			yaml: source(with(digisacLines, "streams: [tickets, transcripts]", `schedule: "*/10 * * * *"`, "rate_limit: 0.5",
				"page_size: 1000", "concurrency: 64", "timeout: 1m30s", "start_date: 2024-03-01T12:00:00-03:00", "webhook_secret: hook-secret")...),
			check: func(t *testing.T, c *Config) {
				s := c.Sources[0]
				if !slices.Equal(s.Streams, []string{"tickets", "transcripts"}) || s.Schedule != "*/10 * * * *" || s.RateLimit != 0.5 ||
					s.PageSize != 1000 || s.Concurrency != 64 || s.Timeout != Duration(90*time.Second) || s.WebhookSecret != "hook-secret" {
					t.Errorf("got %+v", s)
				}
				if !s.StartDate.Equal(time.Date(2024, 3, 1, 15, 0, 0, 0, time.UTC)) {
					t.Errorf("start_date = %v", s.StartDate)
				}
			},
		},
		{
			name: "start_date as a date is midnight UTC",
			yaml: source(with(oxentyLines, "start_date: 2023-12-31")...),
			check: func(t *testing.T, c *Config) {
				if got := c.Sources[0].StartDate; !got.Equal(time.Date(2023, 12, 31, 0, 0, 0, 0, time.UTC)) {
					t.Errorf("start_date = %v", got)
				}
			},
		},
		{
			name: "values trimmed, platform lowercased, base_url slash trimmed, hosts lowercased",
			yaml: source(with(wavyLines, `name: "  w  "`, "platform: ' WAVY '", "base_url: https://api-messaging.wavy.global/v1//",
				`token: " tok-wavy-2 "`, "file_hosts: [' CDN.Example.com ']")...),
			check: func(t *testing.T, c *Config) {
				s := c.Sources[0]
				if s.Name != "w" || s.Platform != "wavy" || s.BaseURL != "https://api-messaging.wavy.global/v1" ||
					s.Token != "tok-wavy-2" || !slices.Equal(s.FileHosts, []string{"cdn.example.com"}) {
					t.Errorf("got %+v", s)
				}
			},
		},
		{
			name: "unquoted number where a string goes",
			yaml: source(with(wavyLines, "customer_id: 42", "sub_account_id: 1291")...),
			check: func(t *testing.T, c *Config) {
				if s := c.Sources[0]; s.CustomerID != "42" || s.SubAccountID != "1291" {
					t.Errorf("got %+v", s)
				}
			},
		},
		{
			name: "digisac password grant",
			yaml: source(with(without(digisacLines, "token"), "username: bot@acme", "password: ${DIGISAC_PASSWORD}")...),
			env:  env("DIGISAC_PASSWORD", "senha-secreta"),
			check: func(t *testing.T, c *Config) {
				if s := c.Sources[0]; s.Username != "bot@acme" || s.Password.Reveal() != "senha-secreta" || s.Token != "" {
					t.Errorf("got %+v", s)
				}
			},
		},
		{
			name: "ogmma channel with discover only, and block style lists",
			yaml: "sources:\n  - name: o\n    platform: ogmma\n    base_url: https://oapi.ogmma.com.br\n    api_key: key-ogmma\n    channels:\n" +
				"      - id: c1\n        discover: true\n      - id: c2\n        name: Vendas SP\n        kind: whatsapp\n        conversations:\n          - v1\n          - v2\n",
			check: func(t *testing.T, c *Config) {
				want := []OgmmaChannel{{ID: "c1", Discover: true}, {ID: "c2", Name: "Vendas SP", Kind: "whatsapp", Conversations: []string{"v1", "v2"}}}
				if got := c.Sources[0].Channels; !reflect.DeepEqual(got, want) {
					t.Errorf("channels = %+v", got)
				}
			},
		},
		{
			name: "all four platforms, minimal",
			yaml: "sources:\n  - " + strings.Join(digisacLines, "\n    ") + "\n  - " + strings.Join(ogmmaLines, "\n    ") +
				"\n  - " + strings.Join(wavyLines, "\n    ") + "\n  - " + strings.Join(oxentyLines, "\n    ") + "\n",
			check: func(t *testing.T, c *Config) {
				if len(c.Sources) != 4 {
					t.Errorf("got %d sources", len(c.Sources))
				}
				if got := c.Secrets(); !slices.Equal(got, []string{"tok-digisac", "key-oxenty", "key-ogmma", "tok-wavy"}) {
					t.Errorf("Secrets() = %q", got)
				}
			},
		},
		{
			name: "schedules: descriptor, 5 fields, time zone",
			yaml: "sources:\n" +
				"  - {name: a, platform: oxenty, base_url: 'https://o.example', api_key: key-oxenty, schedule: '@hourly'}\n" +
				"  - {name: b, platform: oxenty, base_url: 'https://o.example', api_key: key-oxenty, schedule: '0 3 * * mon-fri'}\n" +
				"  - {name: c, platform: oxenty, base_url: 'https://o.example', api_key: key-oxenty, schedule: 'CRON_TZ=America/Sao_Paulo 0 3 * * *'}\n" +
				"  - {name: d, platform: oxenty, base_url: 'https://o.example', api_key: key-oxenty, schedule: '@every 1s'}\n",
			check: func(t *testing.T, c *Config) {
				for _, s := range c.Sources {
					if _, err := ParseSchedule(s.Schedule); err != nil {
						t.Errorf("%s: %v", s.Schedule, err)
					}
				}
			},
		},
		{
			name: "merge keys inside sources",
			yaml: "sources:\n  - &a\n    name: a\n    platform: oxenty\n    base_url: https://o.example\n    api_key: ${KEY}\n    rate_limit: 2\n" +
				"  - <<: *a\n    name: b\n    rate_limit: 3\n",
			env: env("KEY", "key-oxenty"),
			check: func(t *testing.T, c *Config) {
				a, b := c.Sources[0], c.Sources[1]
				if a.Name != "a" || b.Name != "b" || b.Platform != "oxenty" || b.APIKey != "key-oxenty" || a.RateLimit != 2 || b.RateLimit != 3 {
					t.Errorf("got %+v\n%+v", a, b)
				}
			},
		},
		{
			name: "merge of a list of mappings: the first wins, own keys win over both",
			yaml: "sources:\n  - &a {name: a, platform: oxenty, base_url: 'https://a.example', api_key: key-a-oxenty, rate_limit: 1}\n" +
				"  - &b {name: b, platform: oxenty, base_url: 'https://b.example', api_key: key-b-oxenty, rate_limit: 2, page_size: 7}\n" +
				"  - <<: [*a, *b]\n    name: c\n    api_key: key-c-oxenty\n",
			check: func(t *testing.T, c *Config) {
				s := c.Sources[2]
				if s.Name != "c" || s.BaseURL != "https://a.example" || s.APIKey != "key-c-oxenty" || s.RateLimit != 1 || s.PageSize != 7 {
					t.Errorf("got %+v", s)
				}
			},
		},
		{
			name: "plain http to a loopback host, and a path prefix",
			yaml: "sources:\n" +
				"  - {name: a, platform: oxenty, base_url: 'http://localhost:8089/oxenty', api_key: key-oxenty}\n" +
				"  - {name: b, platform: oxenty, base_url: 'http://127.0.0.2:8089', api_key: key-oxenty}\n" +
				"  - {name: c, platform: oxenty, base_url: 'http://[::1]:8089', api_key: key-oxenty}\n" +
				"  - {name: d, platform: digisac, base_url: 'http://127.0.0.1:8089/digisac', token: tok-digisac}\n" +
				"  - {name: e, platform: digisac, base_url: 'https://acme.example/apis', token: tok-digisac}\n",
			check: func(t *testing.T, c *Config) {
				if len(c.Sources) != 5 || c.Sources[3].BaseURL != "http://127.0.0.1:8089/digisac" {
					t.Errorf("sources = %+v", c.Sources)
				}
			},
		},
		{
			name: "secrets of exactly MinSecretLength characters, and a short database password",
			yaml: "database_url: postgres://syncer:pw@db/wh\n" + source(with(wavyLines, "token: 12345678", "webhook_secret: ççççççç8")...),
			check: func(t *testing.T, c *Config) {
				if s := c.Sources[0]; s.Token.Reveal() != "12345678" || s.WebhookSecret.Reveal() != "ççççççç8" {
					t.Errorf("got %+v", s)
				}
			},
		},
		{
			name: "file host as an IP address",
			yaml: source(with(wavyLines, "file_hosts: [10.0.0.1, '::1']")...),
			check: func(t *testing.T, c *Config) {
				if got := c.Sources[0].FileHosts; !slices.Equal(got, []string{"10.0.0.1", "::1"}) {
					t.Errorf("file_hosts = %v", got)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lookup := tt.env
			if lookup == nil {
				lookup = env()
			}
			c, err := Parse([]byte(tt.yaml), lookup)
			if err != nil {
				t.Fatalf("Parse:\n%v", err)
			}
			tt.check(t, c)
		})
	}
}

func TestExpansion(t *testing.T) {
	tests := []struct {
		name  string
		value string // YAML scalar written as the token (a secret) and as the username
		env   func(string) (string, bool)
		want  string
	}{
		// Every value is at least MinSecretLength long, since it is a token.
		{"plain", "abcdefgh", env(), "abcdefgh"},
		{"variable", "${T}", env("T", "token-t1"), "token-t1"},
		{"inside text", "pre-${T}-post", env("T", "t1"), "pre-t1-post"},
		{"two variables", "${A}${B}", env("A", "first-", "B", "second"), "first-second"},
		{"value holding colon space", "${T}", env("T", "key: value"), "key: value"},
		{"multi-line value", "${T}", env("T", "line one\nsources:\n  - name: evil\n"), "line one\nsources:\n  - name: evil"},
		{"value that looks like a reference is not expanded again", "${T}", env("T", "${UNSET_U}", "UNSET_U", "no"), "${UNSET_U}"},
		{"dollar dollar", "pa$$sword", env(), "pa$sword"},
		{"dollar dollar before brace", "$${TOKEN}", env("TOKEN", "no"), "${TOKEN}"},
		{"bare dollar stays", "a$b c$ $1 $", env(), "a$b c$ $1 $"},
		{"default when unset", "${T:-fallback}", env(), "fallback"},
		{"default when empty", "${T:-fallback}", env("T", ""), "fallback"},
		{"default not used when set", "${T:-fallback}", env("T", "set-value"), "set-value"},
		{"empty default", "xxxxxxxx${T:-}", env(), "xxxxxxxx"},
		{"surrounding space trimmed", "${T}", env("T", "  padded-value \n"), "padded-value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, _ := json.Marshal(tt.value) // JSON strings are YAML double-quoted scalars
			yml := source(with(wavyLines, "token: "+string(q), "username: "+string(q))...)
			c, err := Parse([]byte(yml), tt.env)
			if err != nil {
				t.Fatalf("Parse:\n%v", err)
			}
			s := c.Sources[0]
			if s.Token.Reveal() != tt.want || s.Username != tt.want {
				t.Errorf("token %q, username %q, want %q", s.Token.Reveal(), s.Username, tt.want)
			}
			if len(c.Sources) != 1 || s.Name != "w" || s.CustomerID != "42" {
				t.Errorf("structure changed: %+v", c.Sources)
			}
		})
	}

	t.Run("plain scalar with colon in the value", func(t *testing.T) {
		c, err := Parse([]byte("listen: ${ADDR}\nconcurrency: ${N}\nsafety_lag: ${LAG:-30s}\n"), env("ADDR", "0.0.0.0:9000", "N", " 8 "))
		if err != nil {
			t.Fatal(err)
		}
		if c.Listen != "0.0.0.0:9000" || c.Concurrency != 8 || c.SafetyLag != Duration(30*time.Second) {
			t.Errorf("got %+v", c)
		}
	})
	t.Run("keys are not expanded", func(t *testing.T) {
		_, err := Parse([]byte("${KEY}: 1\n"), env("KEY", "concurrency"))
		wantProblems(t, err, `line 1: unknown key "${KEY}"`)
	})
}

// wantProblems checks that err is a *ValidationError whose text holds each
// of want, one per problem, in any order.
func wantProblems(t *testing.T, err error, want ...string) {
	t.Helper()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v, want a *ValidationError", err)
	}
	text := err.Error()
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("error does not mention %q:\n%s", w, text)
		}
	}
	lines := strings.Split(text, "\n")
	if len(lines) != len(ve.Problems) {
		t.Errorf("%d lines for %d problems", len(lines), len(ve.Problems))
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "config: ") {
			t.Errorf("line does not start with config: %q", l)
		}
	}
	if len(want) > 0 && len(ve.Problems) != len(want) {
		t.Errorf("%d problems, want %d:\n%s", len(ve.Problems), len(want), text)
	}
}

func TestParseBad(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		env  func(string) (string, bool)
		want []string // one substring per problem expected
	}{
		// environment
		{"unset variable", "concurrency: 4\nsources:\n  - name: d\n    platform: digisac\n    base_url: https://x.digisac.app\n\n    token: ${DIGISAC_TOKEN}\n", nil,
			[]string{"config: line 7: environment variable DIGISAC_TOKEN is not set (used by sources[0].token)"}},
		{"unset variables in one value", `database_url: "postgres://${DB_USER}:${DB_PASS}@db/wh"`, nil,
			[]string{"environment variable DB_USER is not set (used by database_url)", "environment variable DB_PASS is not set (used by database_url)"}},
		{"unterminated reference", "listen: ${ADDR\n", nil, []string{`line 1: listen is not valid: a ${ is not closed by }`}},
		{"bad variable name", "listen: ${1ADDR}\n", nil, []string{`line 1: listen is not valid: a ${...} does not hold a variable name`}},
		{"empty variable name", "listen: ${}\n", nil, []string{`listen is not valid: a ${...} does not hold a variable name`}},

		// YAML shape
		{"syntax error", "sources:\n  - name: a\n   platform: b\n", nil, []string{"line 1: invalid YAML: did not find expected '-' indicator"}},
		{"unclosed flow list", "listen: a\nsources: [\n", nil, []string{"invalid YAML"}},
		{"tab indentation", "sources:\n\t- name: a\n", nil, []string{"invalid YAML"}},
		{"two documents", "concurrency: 4\n---\n---\nconcurrency: 5\n", nil, []string{"line 4: the file holds more than one YAML document"}},
		{"top level list", "- a\n- b\n", nil, []string{"line 1: the top level must be a mapping"}},
		{"top level scalar", "hello\n", nil, []string{"the top level must be a mapping"}},
		{"unknown top-level key", "concurrency: 4\nsourcs: []\n", nil, []string{`line 2: unknown key "sourcs" (did you mean "sources"?)`}},
		{"unknown key without suggestion", "zzz: 1\n", nil, []string{`line 1: unknown key "zzz"`}},
		{"anchors live under known keys", "x-common: &c {api_key: k}\nsources: []\n", nil, []string{`line 1: unknown key "x-common"`}},
		{"unknown key in a source", source(with(digisacLines, "tokn: x")...), nil,
			[]string{`line 6: sources[0] "d": unknown key "tokn" (did you mean "token"?)`}},
		{"unknown key in a channel", source(with(ogmmaLines, "channels: [{id: c1, conversation: [v1]}]")...), nil,
			[]string{`line 6: sources[0] "o": unknown key "conversation" in channels[0] (did you mean "conversations"?)`,
				`channels[0] needs conversations`}},
		{"key given twice", "concurrency: 4\nconcurrency: 5\n", nil, []string{`line 2: key "concurrency" is given twice (first on line 1)`}},
		{"key given twice in a channel", source(with(ogmmaLines, "channels: [{id: c1, id: c2, discover: true}]")...), nil,
			[]string{`line 6: sources[0] "o": key "id" is given twice in channels[0] (first on line 6)`}},
		{"sources not a list", "sources: {name: a}\n", nil, []string{"line 1: sources must be a list, not a mapping"}},
		{"source not a mapping", "sources: [a]\n", nil, []string{"line 1: sources[0] must be a mapping of keys, not a single value"}},
		{"key not a name", "? [a]\n: 1\n", nil, []string{"line 1: a key must be a plain name, not a list"}},
		{"merge of a list holding a scalar", source(with(oxentyLines, "<<: [x]")...), nil, []string{`sources[0] "x": a merge key (<<) takes a mapping`}},
		{"a name from a merged mapping labels the source", "sources:\n  - &a {name: a, platform: oxenty, base_url: 'https://a.example', api_key: key-oxenty}\n  - <<: *a\n    rate_limit: 0\n", nil,
			[]string{`sources[1] "a": name "a" is already used by sources[0]`, `line 4: sources[1] "a": rate_limit must be a number of requests per second above 0, not 0`}},
		{"long values are cut", "schema: " + strings.Repeat("X", 100) + "\n", nil, []string{`schema "` + strings.Repeat("X", 64) + `…" is not a plain identifier`}},
		{"merge of a scalar", source(with(oxentyLines, "<<: x")...), nil, []string{`sources[0] "x": a merge key (<<) takes a mapping`}},
		{"streams not a list", source(with(digisacLines, "streams: tickets")...), nil, []string{`sources[0] "d": streams must be a list`}},
		{"list where a value goes", "listen: [a, b]\n", nil, []string{"listen must be a single value, not a list"}},
		{"yaml tag", "listen: !!binary aGVsbG8=\n", nil, []string{`listen has the YAML tag "!!binary"`}},
		{"not a number", "concurrency: four\n", nil, []string{`line 1: concurrency must be a whole number, not "four"`}},
		{"not a duration", "safety_lag: 120\n", nil, []string{`safety_lag must be a duration such as 30s`}},
		{"not a bool", source(with(ogmmaLines, "channels: [{id: c1, discover: maybe}]")...), nil,
			[]string{`channels[0].discover must be true or false, not "maybe"`, `channels[0] needs conversations`}},

		// top level
		{"concurrency 0", "concurrency: 0\n", nil, []string{"line 1: concurrency must be 1..256, not 0"}},
		{"concurrency 257", "concurrency: 257\n", nil, []string{"concurrency must be 1..256, not 257"}},
		{"listen without port", "listen: localhost\n", nil, []string{`listen must be host:port such as 127.0.0.1:9090, not "localhost"`}},
		{"listen port out of range", "listen: ':70000'\n", nil, []string{`listen must be host:port`}},
		{"negative safety_lag", "safety_lag: -1m\n", nil, []string{"safety_lag must not be negative, not -1m0s"}},
		{"schema with capitals", "schema: Warehouse\n", nil, []string{`schema "Warehouse" is not a plain identifier`}},
		{"schema with a dot", "schema: a.b\n", nil, []string{`schema "a.b" is not a plain identifier`}},
		{"schema pg_", "schema: pg_stuff\n", nil, []string{`schema "pg_stuff" is not a plain identifier`}},
		{"schema too long for its bookkeeping", "schema: " + strings.Repeat("x", 57) + "\n", nil, []string{`at most 56 long`}},
		{"warehouse time zone", "time_zone: Mars/Olympus\n", nil, []string{`time_zone "Mars/Olympus" is not an IANA time zone name`}},
		{"warehouse time zone empty", "time_zone: ''\n", nil, []string{`time_zone must be an IANA time zone name`}},
		{"database_url not postgres", "database_url: mysql://u:hunter2@db/x\n", nil, []string{"database_url must start with postgres://"}},
		{"database_url neither URL nor pairs", "database_url: localhost\n", nil, []string{"database_url must be a postgres:// URL or key=value pairs"}},

		// common source fields
		{"name missing", source(without(digisacLines, "name")...), nil, []string{"line 2: sources[0]: name is required"}},
		{"name invalid", source(with(digisacLines, "name: Acme Digisac")...), nil, []string{`sources[0] "Acme Digisac": name "Acme Digisac" is not valid`}},
		{"name starting with -", source(with(digisacLines, "name: -a")...), nil, []string{`name "-a" is not valid`}},
		{"name too long", source(with(digisacLines, "name: "+strings.Repeat("a", 64))...), nil, []string{`is not valid`}},
		{"duplicate names", "sources:\n  - " + strings.Join(oxentyLines, "\n    ") + "\n  - " + strings.Join(oxentyLines, "\n    ") + "\n", nil,
			[]string{`line 6: sources[1] "x": name "x" is already used by sources[0]`}},
		{"platform missing", source(without(digisacLines, "platform")...), nil, []string{`sources[0] "d": platform is required (one of digisac, ogmma, oxenty, wavy)`}},
		{"platform unknown", source(with(digisacLines, "platform: zendesk")...), nil, []string{`sources[0] "d": platform "zendesk" is not one of`}},
		{"base_url missing", source(without(digisacLines, "base_url")...), nil, []string{`sources[0] "d": base_url is required`}},
		{"base_url relative", source(with(digisacLines, "base_url: acme.digisac.app")...), nil, []string{`base_url "acme.digisac.app" must be an absolute http:// or https:// URL`}},
		{"base_url ftp", source(with(digisacLines, "base_url: ftp://acme.digisac.app")...), nil, []string{`must be an absolute http:// or https:// URL`}},
		{"base_url query", source(with(digisacLines, "base_url: https://acme.digisac.app/?a=1")...), nil, []string{`must not have a query`}},
		{"base_url fragment", source(with(digisacLines, "base_url: https://acme.digisac.app/#x")...), nil, []string{`must not have a fragment`}},
		{"base_url without host", source(with(digisacLines, "base_url: https:///api")...), nil, []string{`has no host`}},
		{"base_url with credentials", source(with(digisacLines, "base_url: https://me:hunter2@acme.digisac.app")...), nil, []string{`base_url must not hold credentials`}},
		{"stream unknown", source(with(digisacLines, "streams: [tickets, sessions]")...), nil, []string{`streams[1]: "sessions" is not a stream of platform digisac`}},
		{"stream twice", source(with(oxentyLines, "streams: [sessions, sessions]")...), nil, []string{`streams[1]: stream "sessions" is listed twice`}},
		{"stream empty", source(with(oxentyLines, "streams: [sessions, '']")...), nil, []string{`streams[1] is empty`}},
		{"schedule bad", source(with(oxentyLines, "schedule: every 5 minutes")...), nil, []string{`schedule "every 5 minutes" is not a cron spec`}},
		{"schedule six fields", source(with(oxentyLines, "schedule: '0 0 3 * * *'")...), nil, []string{`is not a cron spec`}},
		{"schedule @every too short", source(with(oxentyLines, "schedule: '@every 100ms'")...), nil, []string{`@every needs at least 1s`}},
		{"schedule @every 0s", source(with(oxentyLines, "schedule: '@every 0s'")...), nil, []string{`@every needs at least 1s`}},
		{"schedule empty", source(with(oxentyLines, "schedule: ''")...), nil, []string{`schedule "" is not a cron spec`}},
		{"schedule time zone alone", source(with(oxentyLines, "schedule: TZ=UTC")...), nil, []string{`a time zone must be followed by a spec`}},
		{"schedule unknown time zone", source(with(oxentyLines, "schedule: CRON_TZ=Mars/Base 0 3 * * *")...), nil, []string{`is not a cron spec`}},
		{"schedules of an unknown stream", source(with(oxentyLines, "schedules: {messages: '@every 1m'}")...), nil, []string{`schedules names stream "messages", which platform oxenty does not have (sessions)`}},
		{"schedules of a stream not synced", source(with(digisacLines, "streams: [messages]", "schedules: {tickets: '@every 1m'}")...), nil, []string{`schedules names stream "tickets", which the source does not sync (its streams: messages)`}},
		{"schedules bad spec", source(with(oxentyLines, "schedules: {sessions: 'every minute'}")...), nil, []string{`sources[0] "x": schedules: stream sessions: schedule "every minute" is not a cron spec`}},
		{"schedules not a mapping", source(with(oxentyLines, "schedules: [a]")...), nil, []string{`schedules must be a mapping of names to values, not a list`}},
		{"schedules key twice", source(with(oxentyLines, "schedules: {sessions: '@hourly', sessions: '@daily'}")...), nil, []string{`key "sessions" is given twice`}},
		{"max_streams 0", source(with(oxentyLines, "max_streams: 0")...), nil, []string{`max_streams must be 1..64, not 0`}},
		{"max_streams 65", source(with(oxentyLines, "max_streams: 65")...), nil, []string{`max_streams must be 1..64, not 65`}},
		{"shutdown_timeout too short", "shutdown_timeout: 500ms\n", nil, []string{`shutdown_timeout must be 1s..1h, such as 30s, not 500ms`}},
		{"ui without password", "ui: {username: ops}\n", nil, []string{`ui needs both username and password, or neither`}},
		{"ui short password", "ui: {username: ops, password: short}\n", nil, []string{`password must be at least 8 characters`}},
		{"rate_limit 0", source(with(oxentyLines, "rate_limit: 0")...), nil, []string{`rate_limit must be a number of requests per second above 0, not 0`}},
		{"rate_limit negative", source(with(oxentyLines, "rate_limit: -1")...), nil, []string{`rate_limit must be a number`}},
		{"rate_limit word", source(with(oxentyLines, "rate_limit: fast")...), nil, []string{`rate_limit must be a number, not "fast"`}},
		{"rate_limit infinite", source(with(oxentyLines, "rate_limit: .inf")...), nil, []string{`rate_limit must be a number`}},
		{"page_size 0", source(with(oxentyLines, "page_size: 0")...), nil, []string{`page_size must be at least 1, not 0`}},
		{"page_size ogmma 501", source(with(ogmmaLines, "page_size: 501")...), nil, []string{`page_size must be at most 500 for platform ogmma, not 501`}},
		{"page_size digisac 1001", source(with(digisacLines, "page_size: 1001")...), nil, []string{`page_size must be at most 1000 for platform digisac`}},
		{"page_size oxenty 101", source(with(oxentyLines, "page_size: 101")...), nil, []string{`page_size must be at most 100 for platform oxenty, not 101`}},
		{"concurrency 0", source(with(oxentyLines, "concurrency: 0")...), nil, []string{`sources[0] "x": concurrency must be 1..64, not 0`}},
		{"concurrency 65", source(with(oxentyLines, "concurrency: 65")...), nil, []string{`concurrency must be 1..64, not 65`}},
		{"timeout 0", source(with(oxentyLines, "timeout: 0s")...), nil, []string{`timeout must be above 0, not 0s`}},
		{"timeout without unit", source(with(oxentyLines, "timeout: 30")...), nil, []string{`timeout must be a duration such as 30s`}},
		{"start_date bad", source(with(oxentyLines, "start_date: 01/02/2024")...), nil, []string{`start_date must be an RFC 3339 time such as 2024-01-01T00:00:00Z, not "01/02/2024"`}},
		{"start_date without zone", source(with(oxentyLines, "start_date: 2024-01-01T00:00:00")...), nil, []string{`start_date must be an RFC 3339 time`}},

		// digisac
		{"digisac no credentials", source(without(digisacLines, "token")...), nil, []string{`sources[0] "d": token (a personal access token), or username and password, is required for platform digisac`}},
		{"digisac token and password", source(with(digisacLines, "username: u", "password: senha-secreta")...), nil, []string{`set token or username and password, not both`}},
		{"digisac token and username", source(with(digisacLines, "username: u")...), nil, []string{`username goes with password`}},
		{"digisac username alone", source(with(without(digisacLines, "token"), "username: u")...), nil, []string{`password is required with username`}},
		{"digisac password alone", source(with(without(digisacLines, "token"), "password: senha-secreta")...), nil, []string{`username is required with password`}},
		{"digisac with channels", source(with(digisacLines, "channels: [{id: c}]")...), nil, []string{`sources[0] "d": channels is not used by platform digisac (only by ogmma)`}},
		{"digisac with api_key", source(with(digisacLines, "api_key: k")...), nil, []string{`api_key is not used by platform digisac (only by ogmma and oxenty)`}},
		{"digisac with file_hosts", source(with(digisacLines, "file_hosts: [a.b]")...), nil, []string{`file_hosts is not used by platform digisac (only by wavy)`}},

		// ogmma
		{"ogmma no api_key", source(without(ogmmaLines, "api_key")...), nil, []string{`sources[0] "o": api_key is required for platform ogmma`}},
		{"ogmma no channels", source(without(ogmmaLines, "channels")...), nil, []string{`channels is required for platform ogmma`}},
		{"ogmma empty channels", source(with(ogmmaLines, "channels: []")...), nil, []string{`channels is required for platform ogmma`}},
		{"ogmma channel without id", source(with(ogmmaLines, "channels: [{conversations: [v1]}]")...), nil, []string{`channels[0].id is required`}},
		{"ogmma channel without conversations", source(with(ogmmaLines, "channels: [{id: c1}]")...), nil, []string{`channels[0] needs conversations (a list of conversation ids) or discover: true`}},
		{"ogmma channel of an unknown kind", source(with(ogmmaLines, "channels: [{id: c1, name: Vendas, kind: fax, discover: true}]")...), nil, []string{`channels[0].kind "fax" is not one of whatsapp, sms, telegram, instagram, messenger, email, webchat, other`}},
		{"ogmma discover false", source(with(ogmmaLines, "channels: [{id: c1, discover: false, conversations: []}]")...), nil, []string{`channels[0] needs conversations`}},
		{"ogmma channel ids twice", source(with(ogmmaLines, "channels: [{id: c1, discover: true}, {id: c1, discover: true}]")...), nil, []string{`channels[1].id "c1" is already used by channels[0]`}},
		{"ogmma conversation twice", source(with(ogmmaLines, "channels: [{id: c1, conversations: [v1, v1]}]")...), nil, []string{`channels[0].conversations[1]: conversation "v1" is listed twice`}},
		{"ogmma empty conversation", source(with(ogmmaLines, "channels: [{id: c1, conversations: ['']}]")...), nil, []string{`channels[0].conversations[0] is empty`}},
		{"ogmma with token and customer_id", source(with(ogmmaLines, "token: t", "customer_id: '1'")...), nil,
			[]string{`token is not used by platform ogmma`, `customer_id is not used by platform ogmma (only by wavy)`}},

		// wavy
		{"wavy nothing", source("name: w", "platform: wavy", "base_url: https://api-messaging.wavy.global"), nil,
			[]string{`sources[0] "w": username is required for platform wavy`, `token is required for platform wavy`, `customer_id is required for platform wavy`}},
		{"wavy bad file host", source(with(wavyLines, "file_hosts: ['https://cdn.example.com/x']")...), nil, []string{`file_hosts[0] must be a bare host name`}},
		{"wavy file host with port", source(with(wavyLines, "file_hosts: ['cdn.example.com:443']")...), nil, []string{`file_hosts[0] must be a bare host name`}},
		{"wavy file host twice", source(with(wavyLines, "file_hosts: [a.example, A.example]")...), nil, []string{`file_hosts[1]: host "a.example" is listed twice`}},
		{"wavy with api_key and password", source(with(wavyLines, "api_key: k", "password: p")...), nil,
			[]string{`api_key is not used by platform wavy (only by ogmma and oxenty)`, `password is not used by platform wavy (only by digisac)`}},

		// oxenty
		{"oxenty no api_key", source(without(oxentyLines, "api_key")...), nil, []string{`sources[0] "x": api_key is required for platform oxenty`}},
		{"oxenty with webhook_secret and username", source(with(oxentyLines, "webhook_secret: s", "username: u")...), nil,
			[]string{`webhook_secret is not used by platform oxenty (only by digisac and wavy)`, `username is not used by platform oxenty`}},
		{"oxenty with sub_account_id", source(with(oxentyLines, "sub_account_id: '1'")...), nil, []string{`sub_account_id is not used by platform oxenty`}},

		// secrets and base_url
		{"http to another host", source(with(oxentyLines, "base_url: http://api.oxenty.api.br")...), nil,
			[]string{`sources[0] "x": base_url "http://api.oxenty.api.br" uses http://, which sends the credentials in clear text; use https://, or http:// only to a loopback host (localhost, 127.0.0.1, ::1)`}},
		{"http to a private address", source(with(ogmmaLines, "base_url: http://10.0.0.7:8080/ogmma")...), nil, []string{`base_url "http://10.0.0.7:8080/ogmma" uses http://`}},
		{"http to a name that starts with localhost", source(with(ogmmaLines, "base_url: http://localhost.example.com")...), nil, []string{`uses http://`}},
		{"digisac base_url with /api/v1", source(with(digisacLines, "base_url: https://acme.digisac.app/api/v1")...), nil,
			[]string{`sources[0] "d": base_url "https://acme.digisac.app/api/v1" ends in the API path /api/v1: drop the path and write the account's address, such as https://acme.digisac.app; syncer adds /api/v1/... itself`}},
		{"digisac base_url with /API/", source(with(digisacLines, "base_url: https://acme.digisac.app/API/")...), nil, []string{`ends in the API path /api: drop the path`}},
		{"digisac token short", source(with(digisacLines, "token: 1234567")...), nil,
			[]string{`sources[0] "d": token must be at least 8 characters so that syncer can keep it out of logs`}},
		{"digisac password short", source(with(without(digisacLines, "token"), "username: bot@acme", "password: senha")...), nil,
			[]string{`sources[0] "d": password must be at least 8 characters`}},
		{"ogmma api_key short", source(with(ogmmaLines, "api_key: k")...), nil, []string{`sources[0] "o": api_key must be at least 8 characters`}},
		{"wavy token and webhook_secret short", source(with(wavyLines, "token: t", "webhook_secret: hook")...), nil,
			[]string{`sources[0] "w": token must be at least 8 characters`, `sources[0] "w": webhook_secret must be at least 8 characters`}},
		{"oxenty api_key of 7 characters that take 14 bytes", source(with(oxentyLines, "api_key: ççççççç")...), nil, []string{`api_key must be at least 8 characters`}},

		// interplay
		{"a value that fails to expand is not also reported missing", source(with(digisacLines, "token: ${NOPE}")...), nil,
			[]string{"environment variable NOPE is not set (used by sources[0].token)"}},
		{"a name from a missing variable", source(with(oxentyLines, "name: ${SRC}")...), nil,
			[]string{`line 2: environment variable SRC is not set (used by sources[0].name)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lookup := tt.env
			if lookup == nil {
				lookup = env()
			}
			c, err := Parse([]byte(tt.yaml), lookup)
			if c != nil {
				t.Errorf("got a Config with the error")
			}
			wantProblems(t, err, tt.want...)
		})
	}
}

func TestAllProblemsAtOnce(t *testing.T) {
	yml := `concurrency: 0
listen: nowhere
sources:
  - name: a
    platform: ogmma
    base_url: https://oapi.ogmma.com.br
    channels: [{id: c1}]
  - name: a
    platform: wavy
    base_url: ftp://x
    timeout: 1
  - platform: bogus
`
	_, err := Parse([]byte(yml), env())
	wantProblems(t, err,
		"line 1: concurrency must be 1..256",
		"line 2: listen must be host:port",
		`line 4: sources[0] "a": api_key is required for platform ogmma`,
		`line 7: sources[0] "a": channels[0] needs conversations`,
		`line 8: sources[1] "a": name "a" is already used by sources[0]`,
		`line 10: sources[1] "a": base_url "ftp://x" must be an absolute http:// or https:// URL`,
		`line 11: sources[1] "a": timeout must be a duration`,
		`sources[1] "a": username is required for platform wavy`,
		`sources[1] "a": token is required for platform wavy`,
		`sources[1] "a": customer_id is required for platform wavy`,
		`line 12: sources[2]: name is required`,
		`line 12: sources[2]: platform "bogus" is not one of`,
		`line 12: sources[2]: base_url is required`,
	)
	var ve *ValidationError
	errors.As(err, &ve)
	for i := 1; i < len(ve.Problems); i++ {
		if ve.Problems[i].Line < ve.Problems[i-1].Line {
			t.Errorf("problems not in line order: %v", ve.Problems)
		}
	}
}

func TestManyProblems(t *testing.T) {
	var b strings.Builder
	b.WriteString("sources:\n")
	for range 150 {
		b.WriteString("  - {platform: oxenty}\n")
	}
	_, err := Parse([]byte(b.String()), env())
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) != maxProblems+1 {
		t.Fatalf("err = %v", err)
	}
	if last := ve.Problems[maxProblems]; last.Msg != "and 350 more problems" {
		t.Errorf("last problem = %+v", last)
	}
}

func TestAliasBomb(t *testing.T) {
	// 1000 sources × 1000 channels × 1000 conversations from a few kilobytes.
	yml := "sources:\n  - &s\n    name: o\n    platform: ogmma\n    base_url: https://o.example\n    api_key: key-ogmma\n    channels:\n" +
		"      - &ch {id: c, conversations: [" + strings.Repeat("v,", 999) + "v]}\n" +
		strings.Repeat("      - *ch\n", 999) + strings.Repeat("  - *s\n", 999)
	_, err := Parse([]byte(yml), env())
	wantProblems(t, err, "the document is too large once its aliases are expanded")
}

func TestValidateAndApplyDefaultsInGo(t *testing.T) {
	c := &Config{Sources: []Source{{Name: "sim", Platform: "Oxenty", BaseURL: "http://127.0.0.1:1234/", APIKey: "key-oxenty"}}}
	c.ApplyDefaults()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	s := c.Sources[0]
	if c.Concurrency != 4 || c.SafetyLag != DefaultSafetyLag || s.Platform != "oxenty" || s.BaseURL != "http://127.0.0.1:1234" ||
		s.Timeout != DefaultTimeout || !slices.Equal(s.Streams, []string{"sessions"}) {
		t.Errorf("got %+v", c)
	}
	c.Sources = append(c.Sources, Source{Name: "sim", Platform: "digisac"})
	c.ApplyDefaults()
	err := c.Validate()
	wantProblems(t, err, `sources[1] "sim": name "sim" is already used by sources[0]`, `sources[1] "sim": base_url is required`,
		`sources[1] "sim": token (a personal access token), or username and password, is required`)
}

func TestDefaultStreams(t *testing.T) {
	if got := DefaultStreams("digisac"); slices.Contains(got, "transcripts") || len(got) != len(PlatformStreams["digisac"])-1 {
		t.Errorf("digisac: %v", got)
	}
	for _, p := range []string{"ogmma", "wavy", "oxenty"} {
		if got := DefaultStreams(p); !slices.Equal(got, PlatformStreams[p]) {
			t.Errorf("%s: %v", p, got)
		}
	}
	if got := DefaultStreams("nope"); got != nil {
		t.Errorf("unknown: %v", got)
	}
	got := DefaultStreams("ogmma")
	got[0] = "changed"
	if PlatformStreams["ogmma"][0] != "messages" {
		t.Error("DefaultStreams shares its slice with PlatformStreams")
	}
	if !slices.Equal(Platforms(), []string{"digisac", "ogmma", "oxenty", "wavy"}) || len(PlatformStreams) != 4 {
		t.Errorf("platforms: %v", Platforms())
	}
}

func TestDatabaseSecrets(t *testing.T) {
	tests := []struct {
		dsn  string
		want []string
	}{
		{"", nil},
		{"postgres://localhost/db", []string{"postgres://localhost/db"}},
		{"postgres://u:p%40ss@h/db", []string{"postgres://u:p%40ss@h/db", "p%40ss", "p@ss"}},
		{"postgres://u:p@ss/w#rd@h/db", []string{"postgres://u:p@ss/w#rd@h/db", "p@ss/w#rd", "p"}}, // as written, and as url.Parse (and so pgx) reads it
		{"postgresql://u@h/db?password=qp&sslmode=off", []string{"postgresql://u@h/db?password=qp&sslmode=off", "qp"}},
		{"host=h password=plain dbname=d", []string{"host=h password=plain dbname=d", "plain"}},
		{`host=h password = 'it\'s here' dbname=d`, []string{`host=h password = 'it\'s here' dbname=d`, "it's here"}},
	}
	for _, tt := range tests {
		c := &Config{DatabaseURL: Secret(tt.dsn)}
		got := c.Secrets()
		slices.Sort(got)
		want := slices.Clone(tt.want)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%q: Secrets() = %q, want %q", tt.dsn, got, want)
		}
	}
}

func TestSecretNeverPrints(t *testing.T) {
	const value = "hunter2-very-secret"
	s := Secret(value)
	outputs := map[string]string{
		"String":   s.String(),
		"GoString": s.GoString(),
		"%v":       fmt.Sprintf("%v", s),
		"%s":       fmt.Sprintf("%s", s),
		"%q":       fmt.Sprintf("%q", s),
		"%+v":      fmt.Sprintf("%+v", s),
		"%#v":      fmt.Sprintf("%#v", s),
		"%x":       fmt.Sprintf("%x", s),
		"%10.3s":   fmt.Sprintf("%10.3s", s),
		"Sprint":   fmt.Sprint(s),
		"Println":  fmt.Sprintln(s),
		"pointer":  fmt.Sprintf("%v", &s),
	}
	js, _ := json.Marshal(s)
	outputs["json"] = string(js)
	txt, _ := s.MarshalText()
	outputs["text"] = string(txt)
	outputs["slog"] = s.LogValue().String()
	for name, out := range outputs {
		if strings.Contains(out, value) || !strings.Contains(out, "[REDACTED]") {
			t.Errorf("%s gives %q", name, out)
		}
	}
	if s.Reveal() != value {
		t.Errorf("Reveal() = %q", s.Reveal())
	}

	var empty Secret
	for name, out := range map[string]string{"String": empty.String(), "%v": fmt.Sprintf("%v", empty), "%q": fmt.Sprintf("%q", empty),
		"%#v": fmt.Sprintf("%#v", empty), "slog": empty.LogValue().String()} {
		if strings.Contains(out, "REDACTED") {
			t.Errorf("empty %s gives %q", name, out)
		}
	}
	if js, _ := json.Marshal(empty); string(js) != `""` {
		t.Errorf("empty json = %s", js)
	}

	var back Secret
	if err := back.UnmarshalText([]byte("x")); err != nil || back.Reveal() != "x" {
		t.Errorf("UnmarshalText: %q %v", back.Reveal(), err)
	}
}

func TestConfigNeverPrintsSecrets(t *testing.T) {
	c, err := Load("testdata/example.yaml", exampleEnv())
	if err != nil {
		t.Fatal(err)
	}
	secrets := c.Secrets()
	if len(secrets) < 6 {
		t.Fatalf("Secrets() = %d values", len(secrets))
	}
	outputs := map[string]string{
		"%v *Config":  fmt.Sprintf("%v", c),
		"%+v *Config": fmt.Sprintf("%+v", c),
		"%#v *Config": fmt.Sprintf("%#v", c),
		"%v Config":   fmt.Sprintf("%v", *c),
		"%v Sources":  fmt.Sprint(c.Sources),
		"%+v Source":  fmt.Sprintf("%+v", c.Sources[2]),
		"%#v Source":  fmt.Sprintf("%#v", c.Sources),
	}
	js, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	outputs["json"] = string(js)
	ym, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	outputs["yaml"] = string(ym)
	for _, format := range []string{"text", "json"} {
		var buf bytes.Buffer
		var h slog.Handler = slog.NewTextHandler(&buf, nil)
		if format == "json" {
			h = slog.NewJSONHandler(&buf, nil)
		}
		log := slog.New(h)
		log.Info("loaded", "config", c, slog.Any("source", c.Sources[2]), "token", c.Sources[0].Token, "sources", c.Sources)
		outputs["slog "+format] = buf.String()
	}
	for name, out := range outputs {
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("%s holds secret %q:\n%s", name, s, out)
			}
		}
		if !strings.Contains(out, "[REDACTED]") {
			t.Errorf("%s shows no [REDACTED]:\n%s", name, out)
		}
	}
}

// TestShortSecretFromTheEnvironment: the error names the field and the
// variable's reference, never the value.
func TestShortSecretFromTheEnvironment(t *testing.T) {
	const short = "Zq7-sh"
	_, err := Parse([]byte(source(with(ogmmaLines, "api_key: ${OGMMA_API_KEY}")...)), env("OGMMA_API_KEY", short))
	wantProblems(t, err, `line 5: sources[0] "o": api_key must be at least 8 characters so that syncer can keep it out of logs`)
	if strings.Contains(err.Error(), short) || strings.Contains(fmt.Sprintf("%#v", err), short) {
		t.Errorf("the error holds the secret:\n%s", err)
	}
}

func TestErrorsNeverHoldSecrets(t *testing.T) {
	const secret = "Zx7-SECRET-value-Qv3"
	lookup := env("S", secret, "SPACED", "a: "+secret+"\n- b", "SHORT", secret[:7])
	tests := []string{
		// secrets in secret fields that fail validation
		source(with(oxentyLines, "token: "+secret)...),
		source(with(oxentyLines, "password: "+secret, "webhook_secret: "+secret)...),
		source(with(digisacLines, "token: "+secret, "password: "+secret)...),
		source(with(wavyLines, "api_key: "+secret)...),
		source(with(digisacLines, "base_url: https://user:"+secret+"@acme.digisac.app")...),
		source(with(digisacLines, "base_url: https://user:"+secret+"@acme.digisac.app/%zz")...),
		source(with(digisacLines, "token: ["+secret+"]")...),
		source(with(digisacLines, "token: {a: "+secret+"}")...),
		source(with(digisacLines, "token: a${"+secret)...),
		source(with(digisacLines, "token: ${"+secret+"-x}")...),
		"database_url: mysql://u:" + secret + "@h/db\n",
		"database_url: " + secret + "\n",
		"database_url: [" + secret + "]\n",
		// environment values in fields that fail validation
		"concurrency: ${S}\n",
		"listen: ${S}\n",
		"safety_lag: ${S}\n",
		"schema: ${S}\n",
		"database_url: ${S}\n",
		"listen: ${SPACED}\n",
		source(with(oxentyLines, "name: ${S}")...),
		source(with(oxentyLines, "name: x-${S}")...),
		source(with(oxentyLines, "platform: ${S}")...),
		source(with(oxentyLines, "base_url: ${S}")...),
		source(with(oxentyLines, "base_url: https://${S}.example/?q")...),
		source(with(oxentyLines, "base_url: http://${S}.example")...),
		source(with(digisacLines, "base_url: https://${S}.example/api/v1")...),
		source(with(digisacLines, "token: ${SHORT}")...),
		source(with(oxentyLines, "streams: ['${S}', '${S}']")...),
		source(with(oxentyLines, "schedule: ${S}")...),
		source(with(oxentyLines, "schedule: '@every ${S}'")...),
		source(with(oxentyLines, "rate_limit: ${S}")...),
		source(with(oxentyLines, "page_size: ${S}")...),
		source(with(oxentyLines, "concurrency: ${S}")...),
		source(with(oxentyLines, "timeout: ${S}")...),
		source(with(oxentyLines, "start_date: ${S}")...),
		source(with(oxentyLines, "channels: [{id: '${S}', discover: '${S}'}]")...),
		source(with(ogmmaLines, "channels: [{id: '${S}', conversations: ['${S}', '${S}']}, {id: '${S}'}]")...),
		source(with(wavyLines, "file_hosts: ['${S}', '${S}']")...),
		"sources:\n  - " + strings.Join(with(oxentyLines, "name: ${S}"), "\n    ") + "\n  - " + strings.Join(with(oxentyLines, "name: ${S}"), "\n    ") + "\n",
	}
	for i, yml := range tests {
		_, err := Parse([]byte(yml), lookup)
		if err == nil {
			t.Errorf("case %d: no error for\n%s", i, yml)
			continue
		}
		if strings.Contains(err.Error(), "invalid YAML") {
			t.Errorf("case %d: the YAML itself is wrong, so the case tests nothing:\n%s", i, err)
		}
		if strings.Contains(strings.ToLower(err.Error()), strings.ToLower(secret)) || strings.Contains(fmt.Sprintf("%#v", err), secret) {
			t.Errorf("case %d: the error holds the secret:\n%s", i, err)
		}
	}
}

func TestDuration(t *testing.T) {
	d := Duration(90 * time.Second)
	if d.String() != "1m30s" || d.Std() != 90*time.Second {
		t.Errorf("%s %v", d, d.Std())
	}
	js, _ := json.Marshal(struct{ D Duration }{d})
	if string(js) != `{"D":"1m30s"}` {
		t.Errorf("json = %s", js)
	}
	var back Duration
	if err := back.UnmarshalText([]byte("2m")); err != nil || back != Duration(2*time.Minute) {
		t.Errorf("UnmarshalText: %v %v", back, err)
	}
	if err := back.UnmarshalText([]byte("soon")); err == nil {
		t.Error("UnmarshalText(soon) gave no error")
	}
}

func FuzzParse(f *testing.F) {
	example, err := os.ReadFile("testdata/example.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(example)
	f.Add([]byte(""))
	f.Add([]byte("database_url: ${DATABASE_URL}\n"))
	f.Add([]byte(source(with(digisacLines, "token: ${T}", "schedule: ${T}", "streams: [${T}]")...)))
	f.Add([]byte(source(with(ogmmaLines, "channels: [{id: '${X:-c}', conversations: [$$a, ${Y}]}]", "page_size: ${P}")...)))
	f.Add([]byte(source(with(wavyLines, "file_hosts: [${H}]", "base_url: ${U}", "name: ${N}")...)))
	f.Add([]byte("sources:\n  - &s {name: a, platform: oxenty, base_url: 'https://x', api_key: '${K}'}\n  - <<: *s\n    name: b\n"))
	f.Add([]byte("concurrency: ${C}\nlisten: ${L}\nsafety_lag: ${L}\nschema: ${S}\n"))
	f.Add([]byte("sources:\n  - {name: a, platform: oxenty, base_url: 'https://x', api_key: key-oxenty, schedule: 'TZ=UTC'}\n"))

	// Every variable holds the secret, except EMPTY.
	const secret = "Fz9-SECRET-Kq2"
	lookup := func(name string) (string, bool) {
		if name == "EMPTY" {
			return "", true
		}
		return secret, true
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data, lookup)
		if err != nil {
			if c != nil {
				t.Error("a Config with an error")
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Errorf("not a *ValidationError: %v", err)
			}
			lower := strings.ToLower(secret)
			if !bytes.Contains(bytes.ToLower(data), []byte(lower)) && strings.Contains(strings.ToLower(err.Error()), lower) {
				t.Errorf("the error holds the secret:\n%s", err)
			}
			return
		}
		// What Parse accepts, Validate accepts, before and after ApplyDefaults.
		if err := c.Validate(); err != nil {
			t.Errorf("Validate after Parse: %v", err)
		}
		c.ApplyDefaults()
		if err := c.Validate(); err != nil {
			t.Errorf("Validate after ApplyDefaults: %v", err)
		}
	})
}

func TestRunRetention(t *testing.T) {
	for in, want := range map[string]time.Duration{"90d": 90 * 24 * time.Hour, "36h": 36 * time.Hour, "0": 0, "0s": 0} {
		c, err := Parse([]byte("run_retention: "+in+"\n"), env())
		if err != nil || c.RunRetention.Std() != want {
			t.Errorf("run_retention %s: %v, %v; want %v", in, c, err, want)
		}
	}
	for _, bad := range []string{"10m", "-1d", "ninety days", "1.5d"} {
		if _, err := Parse([]byte("run_retention: "+bad+"\n"), env()); err == nil || !strings.Contains(err.Error(), "run_retention") {
			t.Errorf("run_retention %s: %v, want an error naming run_retention", bad, err)
		}
	}
}

func TestFleetSettings(t *testing.T) {
	yaml := "shutdown_timeout: 45s\nui: {username: ops, password: ui-secret-1}\n" +
		source(with(digisacLines, "schedule: '@every 5m'", "schedules: {messages: '@every 1m', users: '@hourly'}", "max_streams: 3")...)
	c, err := Parse([]byte(yaml), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.ShutdownTimeout.Std() != 45*time.Second || c.UI.Username != "ops" || c.UI.Password.Reveal() != "ui-secret-1" {
		t.Errorf("shutdown_timeout %s, ui %q", c.ShutdownTimeout, c.UI.Username)
	}
	s := &c.Sources[0]
	if s.MaxStreams != 3 {
		t.Errorf("max_streams %d, want 3", s.MaxStreams)
	}
	for stream, want := range map[string]string{"messages": "@every 1m", "users": "@hourly", "tickets": "@every 5m"} {
		if got := s.StreamSchedule(stream); got != want {
			t.Errorf("schedule of %s = %q, want %q", stream, got, want)
		}
	}
	if !slices.Contains(c.Secrets(), "ui-secret-1") {
		t.Error("the UI password is not among the secrets to redact")
	}
}

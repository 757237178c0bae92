package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"syncer/internal/sim"
	digisacsim "syncer/internal/sim/digisac"
	"syncer/internal/sim/fault"
	ogmmasim "syncer/internal/sim/ogmma"
	oxentysim "syncer/internal/sim/oxenty"
	wavysim "syncer/internal/sim/wavy"
)

// checkCLI runs syncer check in process as run does (global flags
// before the command are not taken) and returns its exit code and output.
func checkCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	g, rest, err := parseGlobals(nil)
	if err != nil || len(rest) > 0 {
		t.Fatalf("parseGlobals: %v %v", rest, err)
	}
	var out, errb bytes.Buffer
	e := &env{globals: g, stdout: &out, stderr: &errb}
	defer e.close()
	code := exitCode(e.check(context.Background(), args), e)
	return code, out.String(), errb.String()
}

// checkPlatforms are the four simulators behind one server.
type checkPlatforms struct {
	url string
	ds  *digisacsim.Simulator
	og  *ogmmasim.Simulator
	wv  *wavysim.Simulator
	ox  *oxentysim.Simulator
}

const checkFileHost = "files.example.test"

func newCheckPlatforms(t *testing.T, seed int64) *checkPlatforms {
	t.Helper()
	p := &checkPlatforms{
		ds: digisacsim.New(digisacsim.Config{Seed: seed, Contacts: 3, Tickets: 3, MessagesPerTicket: 3}),
		og: ogmmasim.New(ogmmasim.Config{Seed: seed, ConversationsPerChannel: 2}),
		wv: wavysim.New(wavysim.Config{Seed: seed, Sessions: 3}),
		ox: oxentysim.New(oxentysim.Config{Seed: seed, Sessions: 3}),
	}
	// Links to an https host of file_hosts, which nothing may download.
	p.wv.SetFileBase("https://" + checkFileHost)
	srv := httptest.NewServer(sim.NewServers(sim.Simulators{Digisac: p.ds, Ogmma: p.og, Wavy: p.wv, Oxenty: p.ox}))
	t.Cleanup(srv.Close)
	p.url = srv.URL
	return p
}

// config writes a config of a source of each platform, and of a Digisac
// source with the password grant; extra is appended to the sources.
func (p *checkPlatforms) config(t *testing.T, extra string) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "sources:\n")
	fmt.Fprintf(&b, "  - {name: acme-digisac, platform: digisac, base_url: '%s/digisac', token: %s, rate_limit: 1000}\n", p.url, p.ds.Token())
	fmt.Fprintf(&b, "  - {name: acme-digisac-pw, platform: digisac, base_url: '%s/digisac', username: ana@acme.com.br, password: senha-secreta, rate_limit: 1000, streams: [users, messages]}\n", p.url)
	fmt.Fprintf(&b, "  - {name: acme-wavy, platform: wavy, base_url: '%s/wavy', username: %s, token: %s, customer_id: '%s', file_hosts: [%s], rate_limit: 1000}\n",
		p.url, p.wv.Username(), p.wv.Token(), p.wv.CustomerID(), checkFileHost)
	fmt.Fprintf(&b, "  - {name: acme-oxenty, platform: oxenty, base_url: '%s/oxenty', api_key: %s, rate_limit: 1000}\n", p.url, p.ox.APIKey())
	fmt.Fprintf(&b, "  - name: acme-ogmma\n    platform: ogmma\n    base_url: %s/ogmma\n    api_key: %s\n    rate_limit: 1000\n    channels:\n", p.url, p.og.APIKey())
	for _, ch := range p.og.Channels() {
		fmt.Fprintf(&b, "      - id: %s\n        conversations: [%s]\n", ch.ID, strings.Join(ch.Conversations, ", "))
	}
	b.WriteString(extra)
	path := filepath.Join(t.TempDir(), "syncer.yaml")
	writeFile(t, path, b.String())
	return path
}

// checkJSON runs syncer check --json and decodes its answer.
func checkJSON(t *testing.T, args ...string) (int, []checkRow) {
	t.Helper()
	code, out, errs := checkCLI(t, append(args, "--json")...)
	var got struct {
		OK     bool       `json:"ok"`
		Checks []checkRow `json:"checks"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("check --json: exit %d, not JSON: %v\n%s\n%s", code, err, out, errs)
	}
	if got.OK != (code == exitOK) {
		t.Errorf("check --json: ok %v but exit %d", got.OK, code)
	}
	return code, got.Checks
}

// TestCheckAllGood: with no database anywhere, every source of every
// platform is reached with its credentials, one request per kind of
// stream it syncs (and Digisac's password grant), and nothing is
// downloaded.
func TestCheckAllGood(t *testing.T) {
	t.Setenv("DATABASE_URL", "")
	t.Setenv("SYNCER_CONFIG", "")
	p := newCheckPlatforms(t, 91)
	cfg := p.config(t, "")

	code, out, errs := checkCLI(t, "--config", cfg)
	if code != exitOK {
		t.Fatalf("check: exit %d\n%s\n%s", code, out, errs)
	}
	for _, want := range []string{
		"SOURCE  PLATFORM  CHECK  REACHABLE  CREDENTIALS  RATE LIMIT  TOOK",
		"acme-digisac  digisac  services  yes  accepted  -",
		"acme-digisac  digisac  contacts  yes  accepted  -",
		"acme-digisac-pw  digisac  token  yes  accepted  -",
		"acme-digisac-pw  digisac  users  yes  accepted  -",
		"acme-digisac-pw  digisac  messages  yes  accepted  -",
		"acme-wavy  wavy  session link  yes  accepted  -",
		"acme-oxenty  oxenty  sessions  yes  accepted  -",
		"acme-ogmma  ogmma  messages  yes  accepted  -",
	} {
		if !strings.Contains(squeeze(out), squeeze(want)) {
			t.Errorf("check lacks %q:\n%s", want, out)
		}
	}

	code, rows := checkJSON(t, "--config", cfg)
	if code != exitOK || len(rows) != 8 {
		t.Fatalf("check --json: exit %d, %d checks, want 8: %+v", code, len(rows), rows)
	}
	for _, r := range rows {
		if !r.OK || !r.Reachable || r.Credentials != "accepted" || r.Error != "" || r.RateLimit == nil {
			t.Errorf("check %s %s: %+v", r.Source, r.Check, r)
		}
	}

	if code, rows := checkJSON(t, "--config", cfg, "--source", "acme-oxenty,acme-ogmma", "--source", "acme-oxenty"); code != exitOK || len(rows) != 2 ||
		rows[0].Source != "acme-oxenty" || rows[1].Source != "acme-ogmma" {
		t.Errorf("check --source: exit %d, %+v", code, rows)
	}
	if n := len(p.wv.FileRequests()); n != 0 {
		t.Errorf("the Wavy session file was asked for %d times; a check must not download it", n)
	}
	if s := p.og.Stats(); s.Requests != 3 {
		t.Errorf("Ogmma got %d requests from three checks, want 3", s.Requests)
	}
}

// squeeze collapses runs of blanks, so that tables compare whatever their
// column widths.
func squeeze(s string) string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		lines = append(lines, strings.Join(strings.Fields(l), " "))
	}
	return strings.Join(lines, "\n")
}

// TestCheckRefusedCredentials: a wrong key or password is said refused,
// exits 1, and is printed nowhere, not even in debug logs.
func TestCheckRefusedCredentials(t *testing.T) {
	t.Parallel()
	p := newCheckPlatforms(t, 92)
	const badKey, badPassword = "sk-live-check-0123456789abcdef", "S3CRET-check-password-4242"
	cfg := p.config(t, fmt.Sprintf(
		"  - {name: bad-ogmma, platform: ogmma, base_url: '%s/ogmma', api_key: %s, channels: [{id: %s, conversations: [%s]}]}\n"+
			"  - {name: bad-digisac, platform: digisac, base_url: '%s/digisac', username: ana@acme.com.br, password: %s}\n",
		p.url, badKey, p.og.Channels()[0].ID, p.og.Channels()[0].Conversations[0], p.url, badPassword))

	for _, args := range [][]string{{"--config", cfg, "--log-level", "debug"}, {"--config", cfg, "--log-level", "debug", "--json"}} {
		code, out, errs := checkCLI(t, args...)
		if code != exitFailed {
			t.Fatalf("check %v: exit %d, want %d\n%s\n%s", args, code, exitFailed, out, errs)
		}
		for _, secret := range []string{badKey, badPassword, p.og.APIKey(), p.ds.Token(), "senha-secreta"} {
			if strings.Contains(out+errs, secret) {
				t.Fatalf("check %v prints a credential:\n%s\n%s", args, out, errs)
			}
		}
		if !strings.Contains(errs, "2 of 10 checks failed") {
			t.Errorf("check %v: stderr does not count the failures:\n%s", args, errs)
		}
	}
	code, out, _ := checkCLI(t, "--config", cfg, "--source", "bad-ogmma,bad-digisac")
	for _, want := range []string{
		"bad-ogmma  ogmma  messages  yes  refused  -",
		"bad-digisac  digisac  token  yes  refused  -",
		"refused the credentials",
	} {
		if !strings.Contains(squeeze(out), squeeze(want)) {
			t.Errorf("check (exit %d) lacks %q:\n%s", code, want, out)
		}
	}
	if strings.Contains(squeeze(out), "bad-digisac digisac users") {
		t.Errorf("the lists were asked for after the password grant was refused:\n%s", out)
	}
	if n := p.ds.Stats().Unauthorized; n != 3 {
		t.Errorf("Digisac refused %d password grants in three checks, want 3: a wrong password is sent once a check", n)
	}
}

// TestCheckUnreachableAndWrongAddress: a closed port is unreachable; a
// base_url that answers 404 is reachable but fails the check; both exit 1.
func TestCheckUnreachableAndWrongAddress(t *testing.T) {
	t.Parallel()
	p := newCheckPlatforms(t, 93)
	closed := freeAddr(t)
	cfg := p.config(t, fmt.Sprintf(
		"  - {name: gone-oxenty, platform: oxenty, base_url: 'http://%s/oxenty', api_key: %s}\n"+
			"  - {name: lost-oxenty, platform: oxenty, base_url: '%s/nowhere', api_key: %s}\n",
		closed, p.ox.APIKey(), p.url, p.ox.APIKey()))
	code, out, errs := checkCLI(t, "--config", cfg, "--source", "gone-oxenty", "--source", "lost-oxenty", "--source", "acme-oxenty")
	if code != exitFailed {
		t.Fatalf("check: exit %d, want %d\n%s\n%s", code, exitFailed, out, errs)
	}
	for _, want := range []string{
		"gone-oxenty  oxenty  sessions  no  -  -",
		"lost-oxenty  oxenty  sessions  yes  -  -",
		"acme-oxenty  oxenty  sessions  yes  accepted  -",
		"lost-oxenty sessions: ", "HTTP 404", "check base_url",
	} {
		if !strings.Contains(squeeze(out), squeeze(want)) {
			t.Errorf("check lacks %q:\n%s", want, out)
		}
	}
	_, rows := checkJSON(t, "--config", cfg, "--source", "gone-oxenty")
	if len(rows) != 1 || rows[0].Reachable || rows[0].OK || rows[0].Credentials != "unknown" || rows[0].Error == "" {
		t.Errorf("check --json of a closed port: %+v", rows)
	}
}

// TestCheckRateLimitedAndUnavailable: a 429 is reachable with the
// credentials unknown, shows its Retry-After and fails nothing; a platform
// answering 5xx is unreachable.
func TestCheckRateLimitedAndUnavailable(t *testing.T) {
	t.Parallel()
	p := newCheckPlatforms(t, 94)
	cfg := p.config(t, "")
	p.og.SetFaults(fault.Faults{RateLimitShare: 1, RetryAfter: "7"})
	code, out, errs := checkCLI(t, "--config", cfg, "--source", "acme-ogmma")
	if code != exitOK {
		t.Fatalf("rate-limited check: exit %d, want 0\n%s\n%s", code, out, errs)
	}
	for _, want := range []string{"acme-ogmma  ogmma  messages  yes  unknown (rate limited)  Retry-After: 7", "rate limited by the platform (HTTP 429, Retry-After 7s)"} {
		if !strings.Contains(squeeze(out), squeeze(want)) {
			t.Errorf("rate-limited check lacks %q:\n%s", want, out)
		}
	}

	p.ox.SetFaults(fault.Faults{ServerErrorShare: 1, ServerErrorBurst: 100})
	code, rows := checkJSON(t, "--config", cfg, "--source", "acme-oxenty")
	if code != exitFailed || len(rows) != 1 || rows[0].Reachable || rows[0].OK || rows[0].Error == "" {
		t.Errorf("check of a failing platform: exit %d, %+v", code, rows)
	}
}

// TestCheckUsage: an unknown source and a missing config are usage errors.
func TestCheckUsage(t *testing.T) {
	t.Parallel()
	p := newCheckPlatforms(t, 95)
	cfg := p.config(t, "")
	if code, _, errs := checkCLI(t, "--config", cfg, "--source", "nope"); code != exitUsage || !strings.Contains(errs, "acme-ogmma") {
		t.Errorf("unknown source: exit %d\n%s", code, errs)
	}
	if code, _, errs := checkCLI(t, "--config", filepath.Join(t.TempDir(), "none.yaml")); code != exitUsage || !strings.Contains(errs, "does not exist") {
		t.Errorf("missing config: exit %d\n%s", code, errs)
	}
	if code, _, errs := checkCLI(t, "--config", cfg, "acme-ogmma"); code != exitUsage || !strings.Contains(errs, "flags only") {
		t.Errorf("a positional argument: exit %d\n%s", code, errs)
	}
}

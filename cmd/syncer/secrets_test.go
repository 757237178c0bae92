package main

import (
	"bytes"
	"errors"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"syncer/internal/redact"
)

// TestPrintedErrorsUseTheRedactor: what the CLI prints hides a secret in its
// URL-encoded form too, and leaves words that merely contain it alone.
func TestPrintedErrorsUseTheRedactor(t *testing.T) {
	const key = "p@ss/w0rd-key"
	var stderr bytes.Buffer
	e := &env{stderr: &stderr, redactor: redact.New(key)}
	code := exitCode(errors.New(`GET https://x.example/v1?key=`+url.QueryEscape(key)+` for "`+key+`": refused; id x`+key), e)
	if code != exitFailed {
		t.Errorf("exit %d", code)
	}
	want := "syncer: GET https://x.example/v1?key=[REDACTED] for \"[REDACTED]\": refused; id x" + key + "\n"
	if stderr.String() != want {
		t.Errorf("stderr = %q\nwant     %q", stderr.String(), want)
	}
}

// A database URL that pgx cannot parse is reported without the URL: pgx
// masks its password only where it can tell the password apart, and an
// unescaped @ in it left pieces of it in pgx's message.
func TestInvalidDatabaseURLIsNotQuoted(t *testing.T) {
	t.Setenv("SYNCER_CONFIG", "")
	t.Chdir(t.TempDir()) // no ./syncer.yaml: status runs on the URL alone
	code, _, stderr := cli(t, "status", "--database-url", "postgres://syncer:pw-one@pw-two:pw-three@127.0.0.1/x")
	want := "syncer: the database URL is not valid: invalid port; in a URL, escape any @ : / ? # or % of the user name and password (@ as %40, : as %3A)\n"
	if code != exitUsage || stderr != want {
		t.Errorf("exit %d, stderr %q\nwant %q", code, stderr, want)
	}
}

func TestPlainHTTPToAnotherHostExits2(t *testing.T) {
	t.Setenv("SYNCER_CONFIG", "")
	cfg := filepath.Join(t.TempDir(), "syncer.yaml")
	writeFile(t, cfg, "sources:\n  - name: acme-oxenty\n    platform: oxenty\n    base_url: http://api.oxenty.api.br\n    api_key: oxenty-key-value\n")
	code, _, stderr := cli(t, "sync", "--config", cfg, "--database-url", "postgres://127.0.0.1:1/x")
	if code != exitUsage || !strings.Contains(stderr, `sources[0] "acme-oxenty": base_url "http://api.oxenty.api.br" uses http://, which sends the credentials in clear text`) {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

func TestSimulatePrintsALoopbackBaseURL(t *testing.T) {
	for _, tc := range []struct {
		addr net.Addr
		want string
	}{
		{&net.TCPAddr{IP: net.IPv4zero, Port: 8089}, "127.0.0.1:8089"},
		{&net.TCPAddr{IP: net.IPv6unspecified, Port: 8089}, "[::1]:8089"},
		{&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8089}, "127.0.0.1:8089"},
		{&net.TCPAddr{IP: net.IPv4(192, 168, 0, 2), Port: 8089}, "192.168.0.2:8089"},
	} {
		if got := loopbackAddr(tc.addr); got != tc.want {
			t.Errorf("loopbackAddr(%v) = %q, want %q", tc.addr, got, tc.want)
		}
	}
}

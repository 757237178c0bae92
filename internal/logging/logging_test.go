package logging

import (
	"bytes"
	"errors"
	"log/slog"
	"net/url"
	"strings"
	"testing"

	"syncer/internal/redact"
)

func TestSecretsNeverReachTheLog(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		var buf bytes.Buffer
		log, err := New(&buf, format, "debug", redact.New("s3cr3t-key", ""))
		if err != nil {
			t.Fatal(err)
		}
		log.With(slog.String("url", "https://x/?key=s3cr3t-key")).
			WithGroup("g").
			Info("token s3cr3t-key refused", slog.Any("error", errors.New("bad s3cr3t-key")),
				slog.Group("inner", slog.String("k", "s3cr3t-key")), slog.Int("n", 3))
		out := buf.String()
		if strings.Contains(out, "s3cr3t-key") {
			t.Fatalf("%s log leaks the secret: %s", format, out)
		}
		if !strings.Contains(out, "[REDACTED]") || !strings.Contains(out, "3") {
			t.Fatalf("%s log lost content: %s", format, out)
		}
	}
}

// TestLogUsesTheSharedRedactor: encoded forms and userinfo passwords are
// hidden, a token added to the Redactor after the logger was made is hidden
// too, and a word that merely contains a secret is left whole.
func TestLogUsesTheSharedRedactor(t *testing.T) {
	const key = "p@ss/w0rd!x"
	r := redact.New(key)
	var buf bytes.Buffer
	log, err := New(&buf, "text", "info", r)
	if err != nil {
		t.Fatal(err)
	}
	r.Add("0f3a9c2e77b1")
	log.Info("request failed",
		slog.String("url", "https://x/v1?key="+url.QueryEscape(key)),
		slog.String("db", "postgres://syncer:hunter2@db/wh"),
		slog.Any("error", errors.New("token 0f3a9c2e77b1 expired")),
		slog.String("id", "a0f3a9c2e77b1b"))
	out := buf.String()
	for _, leak := range []string{url.QueryEscape(key), "hunter2", "token 0f3a9c2e77b1"} {
		if strings.Contains(out, leak) {
			t.Errorf("log leaks %q: %s", leak, out)
		}
	}
	if !strings.Contains(out, "id=a0f3a9c2e77b1b") {
		t.Errorf("a longer word holding the token was garbled: %s", out)
	}
}

func TestBadOptions(t *testing.T) {
	if _, err := New(&bytes.Buffer{}, "xml", "info", nil); err == nil {
		t.Error("xml format accepted")
	}
	if _, err := New(&bytes.Buffer{}, "text", "loud", nil); err == nil {
		t.Error("level loud accepted")
	}
}

func TestAtLeastDropsWhatIsBelow(t *testing.T) {
	var b bytes.Buffer
	l, err := New(&b, "text", "debug", nil)
	if err != nil {
		t.Fatal(err)
	}
	quiet := AtLeast(l.With("component", "x"), slog.LevelWarn)
	quiet.Info("chatty")
	quiet.Debug("chattier")
	quiet.Warn("worth saying")
	if out := b.String(); strings.Contains(out, "chatty") || !strings.Contains(out, "worth saying") || !strings.Contains(out, "component=x") {
		t.Fatalf("got:\n%s", out)
	}
}

package logging

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func TestSecretsNeverReachTheLog(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		var buf bytes.Buffer
		log, err := New(&buf, format, "debug", []string{"s3cr3t-key", ""})
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

func TestBadOptions(t *testing.T) {
	if _, err := New(&bytes.Buffer{}, "xml", "info", nil); err == nil {
		t.Error("xml format accepted")
	}
	if _, err := New(&bytes.Buffer{}, "text", "loud", nil); err == nil {
		t.Error("level loud accepted")
	}
}

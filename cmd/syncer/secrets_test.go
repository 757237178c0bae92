package main

import (
	"bytes"
	"errors"
	"net/url"
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

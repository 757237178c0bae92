package redact

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"strings"
	"sync"
	"testing"
)

func TestString(t *testing.T) {
	t.Parallel()
	const odd = `p@ss wörd/1"<&>\` // needs escaping in URLs and JSON
	r := New("abcd1234", "abcd1234-long", odd, "t", "")
	tests := []struct {
		name, in, want string
	}{
		{"whole word", "token abcd1234 refused", "token [REDACTED] refused"},
		{"at both ends", "abcd1234", "[REDACTED]"},
		{"between punctuation", `{"key":"abcd1234"},x=abcd1234&y=/abcd1234/`, `{"key":"[REDACTED]"},x=[REDACTED]&y=/[REDACTED]/`},
		{"inside a longer word before", "xabcd1234 y", "xabcd1234 y"},
		{"inside a longer word after", "abcd12345 y", "abcd12345 y"},
		{"a one-letter secret garbles nothing", "the sessions stream", "the sessions stream"},
		{"a one-letter secret as a word", "a t b", "a [REDACTED] b"},
		{"longest first", "id abcd1234-long here", "id [REDACTED] here"},
		{"twice in a row", "abcd1234,abcd1234", "[REDACTED],[REDACTED]"},
		{"query escaped", "?k=" + url.QueryEscape(odd) + "&n=1", "?k=[REDACTED]&n=1"},
		{"path escaped", "/v1/" + url.PathEscape(odd) + "/x", "/v1/[REDACTED]/x"},
		{"lower-case hex", "?k=" + strings.ToLower(url.QueryEscape(odd)), "?k=[REDACTED]"},
		{"JSON escaped", `{"m":"` + jsonEscaped(odd) + `"}`, `{"m":"[REDACTED]"}`},
		{"JSON escaped without HTML escapes", `{"m":"p@ss wörd/1\"<&>\\"}`, `{"m":"[REDACTED]"}`},
		{"base64", "Bearer " + base64.StdEncoding.EncodeToString([]byte("abcd1234")), "Bearer [REDACTED]"},
		{"base64 URL", "k=" + base64.URLEncoding.EncodeToString([]byte(odd)), "k=[REDACTED]"},
		{"after a percent escape", "x=a%2Fabcd1234", "x=a%2F[REDACTED]"},
		{"after a JSON escape", `"line\nabcd1234 \u0027abcd1234"`, `"line\n[REDACTED] \u0027[REDACTED]"`},
		{"userinfo password", "postgres://user:hunter2@db:5432/x and https://u:p@h/", "postgres://user:[REDACTED]@db:5432/x and https://u:[REDACTED]@h/"},
		{"userinfo without password", "https://user@h/ and a@b:c", "https://user@h/ and a@b:c"},
		{"nothing to hide", "nothing to hide", "nothing to hide"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := r.String(tt.in); got != tt.want {
				t.Errorf("String(%q)\n = %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}

// A secret that starts or ends with punctuation is hidden next to a letter
// on that side: it cannot be the middle of a word there.
func TestPunctuationEdges(t *testing.T) {
	t.Parallel()
	r := New("-k3y-v4lue-", "/s3cr3t")
	for in, want := range map[string]string{
		"x-k3y-v4lue-y":       "x[REDACTED]y",
		"https://h/s3cr3t/a":  "https://h[REDACTED]/a",
		"https://h/s3cr3tabc": "https://h/s3cr3tabc",
	} {
		if got := r.String(in); got != want {
			t.Errorf("String(%q) = %q, want %q", in, got, want)
		}
	}
}

// jsonEscaped escapes s as encoding/json does by default.
func jsonEscaped(s string) string {
	var b strings.Builder
	for _, c := range s {
		switch c {
		case '"', '\\':
			b.WriteString(`\` + string(c))
		case '<', '>', '&':
			fmt.Fprintf(&b, `\u%04x`, c)
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}

func TestNilAndZeroHideUserinfoOnly(t *testing.T) {
	t.Parallel()
	const in = "abcd1234 at postgres://u:pw@db/x"
	const want = "abcd1234 at postgres://u:[REDACTED]@db/x"
	var nilR *Redactor
	var zero Redactor
	if got := nilR.String(in); got != want {
		t.Errorf("nil: %q", got)
	}
	if got := zero.String(in); got != want {
		t.Errorf("zero: %q", got)
	}
	zero.Add("abcd1234")
	if got := zero.String(in); got != "[REDACTED] at postgres://u:[REDACTED]@db/x" {
		t.Errorf("zero after Add: %q", got)
	}
}

func TestAdd(t *testing.T) {
	t.Parallel()
	r := New()
	if got := r.String("token 0f3a9c2e77"); got != "token 0f3a9c2e77" {
		t.Fatalf("before Add: %q", got)
	}
	r.Add("0f3a9c2e77", "")
	if got := r.String("token 0f3a9c2e77"); got != "token [REDACTED]" {
		t.Fatalf("after Add: %q", got)
	}
}

// TestConcurrentAdd is for -race: tokens learned while other goroutines
// redact.
func TestConcurrentAdd(t *testing.T) {
	t.Parallel()
	r := New("first-secret")
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			tok := fmt.Sprintf("access-token-%d", i)
			r.Add(tok)
			if got := r.String("a " + tok + " b first-secret"); got != "a [REDACTED] b [REDACTED]" {
				t.Errorf("String = %q", got)
			}
		})
	}
	wg.Wait()
}

func TestError(t *testing.T) {
	t.Parallel()
	r := New("abcd1234")
	if r.Error(nil) != nil {
		t.Error("Error(nil) is not nil")
	}
	plain := errors.New("nothing secret")
	if got := r.Error(plain); got != plain {
		t.Errorf("an error with nothing to hide was wrapped: %#v", got)
	}
	base := fmt.Errorf("open abcd1234: %w", fs.ErrNotExist)
	err := r.Error(fmt.Errorf("wrapped: %w", &fs.PathError{Op: "read", Path: "x", Err: base}))
	if err.Error() != "wrapped: read x: open [REDACTED]: file does not exist" {
		t.Errorf("Error = %q", err)
	}
	var pe *fs.PathError
	if !errors.Is(err, fs.ErrNotExist) || !errors.As(err, &pe) {
		t.Errorf("errors.Is/As lost through Error: %v", err)
	}
	if got := r.Error(context.Canceled); got != context.Canceled {
		t.Errorf("context.Canceled became %#v", got)
	}
}

// FuzzString: a secret standing between spaces never survives, whatever is
// around it.
func FuzzString(f *testing.F) {
	f.Add("abcd1234", "a", "b")
	f.Add("p@ss wörd/1", "%2", `\u00`)
	f.Add("zzzzzzzz", "postgres://u:", "@h")
	f.Fuzz(func(t *testing.T, secret, before, after string) {
		if len(secret) < 8 || strings.ContainsAny(secret, " \x00") {
			t.Skip()
		}
		r := New(secret)
		got := r.String(before + " " + secret + " " + after)
		if strings.Contains(got, " "+secret+" ") {
			t.Fatalf("secret %q survived: %q", secret, got)
		}
	})
}

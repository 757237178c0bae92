package extract

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

var (
	// ErrUnauthorized is matched (errors.Is) by every *AuthError.
	ErrUnauthorized = errors.New("credentials refused")
	// ErrRateLimited is matched (errors.Is) by every *RateLimitError.
	ErrRateLimited = errors.New("rate limited")
	// ErrBodyTooLarge means a response body was over ClientConfig.MaxBodyBytes.
	// It is not retried.
	ErrBodyTooLarge = errors.New("response body too large")
	// ErrURLNotAllowed means the platform redirected to another host or
	// from https to plain http, or that a download link (or its redirect)
	// is not https to an allowed host (*DownloadURLError). It is not
	// retried.
	ErrURLNotAllowed = errors.New("URL not allowed")
	// ErrHostNotFound means DNS says the base URL's host does not exist.
	// It is not retried.
	ErrHostNotFound = errors.New("host not found")
	// ErrCertificate means the server's TLS certificate failed
	// verification (unknown authority, wrong host name, expired...). It is
	// not retried.
	ErrCertificate = errors.New("TLS certificate refused")
)

// AuthError means the platform answered 401 or 403: the stream must fail at
// once, the credentials in the config need fixing. errors.Is(err,
// ErrUnauthorized) is true.
type AuthError struct {
	Source  string
	Status  int
	Message string // the platform's own message (or a body snippet), redacted
}

func (e *AuthError) Error() string {
	detail := fmt.Sprintf("HTTP %d", e.Status)
	if e.Message != "" {
		detail += ": " + e.Message
	}
	return fmt.Sprintf("source %q: the platform refused the credentials (%s); check the api_key/token in the config", e.Source, detail)
}

// Is reports whether target is ErrUnauthorized.
func (e *AuthError) Is(target error) bool { return target == ErrUnauthorized }

// RateLimitError means the platform kept answering 429, 420 or 503 until the
// retry budget ran out, or asked to wait longer than MaxRetryAfter. The caller
// stops the stream with what it committed (status partial); the next run
// resumes. errors.Is(err, ErrRateLimited) is true.
type RateLimitError struct {
	Source     string
	Status     int           // the last status: 429, 420 or 503
	Attempts   int           // requests sent, the first one included
	RetryAfter time.Duration // the last Retry-After the platform sent, 0 if none

	tooLong bool // RetryAfter was over MaxRetryAfter
}

func (e *RateLimitError) Error() string {
	const next = "stopping here; the next run resumes from the last checkpoint"
	if e.tooLong {
		return fmt.Sprintf("source %q: rate limited by the platform (HTTP %d), which asked to wait %s before retrying; %s",
			e.Source, e.Status, e.RetryAfter, next)
	}
	return fmt.Sprintf("source %q: still rate limited by the platform (HTTP %d) after %d attempts; %s",
		e.Source, e.Status, e.Attempts, next)
}

// Is reports whether target is ErrRateLimited.
func (e *RateLimitError) Is(target error) bool { return target == ErrRateLimited }

// StatusError is an answer the Client does not retry (a 4xx other than 401,
// 403, 420 and 429) or a 5xx that outlasted the retry budget.
type StatusError struct {
	Source string
	Method string
	URL    string // redacted
	Status int
	Body   string // redacted snippet of the response body
	// Hint says what to check, when the Client has a guess: a 404 before
	// any success points at base_url.
	Hint string
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("source %q: %s %s: HTTP %d", e.Source, e.Method, e.URL, e.Status)
	if text := http.StatusText(e.Status); text != "" {
		msg += " " + text
	}
	if e.Body != "" {
		msg += ": " + e.Body
	}
	if e.Hint != "" {
		msg += "; " + e.Hint
	}
	return msg
}

// permanentError marks an attempt's failure that retrying cannot fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

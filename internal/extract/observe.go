package extract

import "time"

// Observer hears what a Client does, for metrics: every attempt put on the
// wire, every retry and every wait for the rate limit. Its methods are
// called from every goroutine that uses the Client, inline, so they must be
// quick and safe for concurrent use. The Client knows its source; an
// Observer is made for one source and labels what it hears itself.
type Observer interface {
	// Request is one attempt: code is the HTTP status ("200", "429") or
	// "error" when no answer came (a network error, a timeout, a body cut
	// off); took is from sending it to reading its body.
	Request(code string, took time.Duration)
	// Retry is a request about to be sent again after wait.
	Retry(reason RetryReason, wait time.Duration)
	// RateLimitWait is a request held back for wait by the source's
	// rate_limit.
	RateLimitWait(wait time.Duration)
}

// RetryReason says why a request is sent again.
type RetryReason string

// The reasons for a retry.
const (
	// RetryRateLimited: the platform answered 429, 420 or 503.
	RetryRateLimited RetryReason = "rate_limited"
	// RetryServerError: another 5xx.
	RetryServerError RetryReason = "server_error"
	// RetryNetwork: no complete answer (a network error, a timeout, a body
	// cut off or not valid JSON).
	RetryNetwork RetryReason = "network"
	// RetryCredentials: the platform refused the credentials and they were
	// renewed.
	RetryCredentials RetryReason = "credentials_renewed"
)

// nopObserver is the Observer of a Client given none.
type nopObserver struct{}

func (nopObserver) Request(string, time.Duration)    {}
func (nopObserver) Retry(RetryReason, time.Duration) {}
func (nopObserver) RateLimitWait(time.Duration)      {}

var _ Observer = nopObserver{}

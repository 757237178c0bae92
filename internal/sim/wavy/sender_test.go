package wavysim

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// receiver stands in for syncer's webhook intake: it answers the n-th
// request with answers[n] (the last one repeating), and keeps the bodies
// it answered 200 with their tokens.
type receiver struct {
	*httptest.Server
	mu      sync.Mutex
	kept    []string
	tokens  []string
	n       atomic.Int32
	answers []int
	slow    time.Duration // answering 200 after this long
}

func newReceiver(t *testing.T, answers ...int) *receiver {
	t.Helper()
	rc := &receiver{answers: answers}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(rc.n.Add(1)) - 1
		status := rc.answers[min(n, len(rc.answers)-1)]
		b, _ := io.ReadAll(r.Body)
		if status == http.StatusOK {
			rc.mu.Lock()
			rc.kept = append(rc.kept, string(b))
			rc.tokens = append(rc.tokens, r.Header.Get("X-Webhook-Token")+"|"+r.URL.Query().Get("token"))
			rc.mu.Unlock()
			if rc.slow > 0 {
				time.Sleep(rc.slow) // the slow answer itself is what is simulated
			}
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func noSleep(context.Context, time.Duration) error { return nil }

func TestSenderRetriesUntilAcknowledged(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, 500, 503, 200)
	s := NewSender(SenderConfig{URL: rc.URL + "/webhooks/acme-wavy", Token: "secret-token", Sleep: noSleep, Timeout: 5 * time.Second})
	d, err := s.Send(t.Context(), []byte(`{"total":0,"data":[]}`))
	if err != nil || !d.Acked || d.Attempts() != 3 || d.Extra != 0 {
		t.Fatalf("delivery %+v, %v", d, err)
	}
	if len(rc.kept) != 1 || rc.tokens[0] != "secret-token|" {
		t.Errorf("kept %v with tokens %v", rc.kept, rc.tokens)
	}
	if got := s.Acknowledged(); len(got) != 1 || string(got[0]) != `{"total":0,"data":[]}` {
		t.Errorf("acknowledged %q", got)
	}
}

func TestSenderGivesUp(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, 401)
	s := NewSender(SenderConfig{URL: rc.URL, MaxAttempts: 3, Sleep: noSleep, Timeout: 5 * time.Second})
	d, err := s.Send(t.Context(), []byte(`{}`))
	if err == nil || d.Acked || d.Attempts() != 3 || !strings.Contains(d.Err, "[401 401 401]") || len(s.Acknowledged()) != 0 {
		t.Fatalf("delivery %+v, %v", d, err)
	}
}

// A 200 that comes later than the timeout is a failed delivery: the body
// is sent again, and the receiver sees it twice.
func TestSenderRetriesASlowAnswer(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, 200)
	rc.slow = 300 * time.Millisecond
	s := NewSender(SenderConfig{URL: rc.URL, Token: "tk", TokenInQuery: true, MaxAttempts: 2, Sleep: noSleep, Timeout: 50 * time.Millisecond})
	d, _ := s.Send(t.Context(), []byte(`{"a":1}`))
	rc.Close() // waits for the slow handlers
	if d.Acked || d.Attempts() != 2 || len(rc.kept) != 2 || rc.tokens[0] != "|tk" {
		t.Fatalf("delivery %+v; receiver kept %d (tokens %v)", d, len(rc.kept), rc.tokens)
	}
}

// Deliberate duplicates: a share of acknowledged bodies is posted again.
func TestSenderDuplicates(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, 200)
	s := NewSender(SenderConfig{URL: rc.URL, DuplicateShare: 0.5, Seed: 3, Sleep: noSleep, Timeout: 5 * time.Second})
	extra := 0
	for i := range 40 {
		d, err := s.Send(t.Context(), []byte(`{"n":`+string(rune('0'+i%10))+`}`))
		if err != nil {
			t.Fatal(err)
		}
		extra += d.Extra
	}
	if extra == 0 || extra == 40 || len(rc.kept) != 40+extra || len(s.Deliveries()) != 40 {
		t.Fatalf("%d duplicates, receiver kept %d", extra, len(rc.kept))
	}
}

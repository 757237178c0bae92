package oxenty

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"syncer/internal/extract"
	"syncer/internal/sim/fault"
	oxentysim "syncer/internal/sim/oxenty"
)

// A list of several pages is read twice: the second pass confirms the
// first, and its last page reports every id.
func TestReadsEverySessionAndConfirmsAMultiPageList(t *testing.T) {
	t.Parallel()
	ox, s := setup(t, oxentysim.Config{Seed: 1, Sessions: 25}, nil)
	var e emitted
	ox.OnList(func(page int) {
		if page == 1 {
			e.startPass()
		}
	})
	if err := run(t, s, extract.Request{}, &e); err != nil {
		t.Fatal(err)
	}
	want := simIDs(ox)
	if len(e.pages) != 6 || e.passes[5] != 2 {
		t.Fatalf("%d pages in passes %v, want 3 pages in each of 2 passes", len(e.pages), e.passes)
	}
	done := e.completions()
	if len(done) != 1 || !done[0].Complete || !slices.Equal(slices.Sorted(slices.Values(done[0].Seen)), want) {
		t.Fatalf("completions %d, want one with the %d ids", len(done), len(want))
	}
	if got := e.idsOf(t, 0); !slices.Equal(got, want) {
		t.Errorf("records %d, want %d", len(got), len(want))
	}
	if again := e.idsOf(t, 2); len(again) != 0 {
		t.Errorf("the confirming pass emitted %d records again; nothing had changed", len(again))
	}
}

// A session that changes between two passes is emitted again by the
// second, and only it.
func TestALaterPassEmitsWhatChanged(t *testing.T) {
	t.Parallel()
	ox, s := setup(t, oxentysim.Config{Seed: 13, Sessions: 25}, nil)
	var e emitted
	var changed []oxentysim.Session
	ox.OnList(func(page int) {
		if page == 1 {
			e.startPass()
			if e.pass == 2 {
				changed = ox.SetStatus(1, "banned")
			}
		}
	})
	if err := run(t, s, extract.Request{}, &e); err != nil || len(e.completions()) != 1 {
		t.Fatalf("%v, %d completions", err, len(e.completions()))
	}
	if got := e.idsOf(t, 2); len(changed) != 1 || !slices.Equal(got, []string{changed[0].ID}) {
		t.Fatalf("the second pass emitted %v, want the changed session alone", got)
	}
}

// One answer that holds the whole list is complete at once, and so is an
// empty list, whether Oxenty says 0 or 1 page for it.
func TestOneAnswerIsComplete(t *testing.T) {
	t.Parallel()
	ox, s := setup(t, oxentysim.Config{Seed: 2, Sessions: 7}, nil)
	var e emitted
	if err := run(t, s, extract.Request{}, &e); err != nil {
		t.Fatal(err)
	}
	if len(e.pages) != 1 || !e.pages[0].Complete || len(e.pages[0].Seen) != 7 || ox.Stats().Requests != 1 {
		t.Fatalf("%d pages, %d requests; complete %v", len(e.pages), ox.Stats().Requests, e.pages[0].Complete)
	}
	for _, pages := range []int{0, 1} {
		s := serveJSON(t, 10, func(int) string {
			return fmt.Sprintf(`{"data":[],"meta":{"total":0,"page":1,"limit":10,"totalPages":%d}}`, pages)
		})
		var e emitted
		if err := run(t, s, extract.Request{}, &e); err != nil {
			t.Fatal(err)
		}
		if len(e.pages) != 1 || !e.pages[0].Complete || len(e.pages[0].Seen) != 0 {
			t.Errorf("empty list with totalPages %d: %+v", pages, e.pages)
		}
	}
}

// A session deleted after its page was read moves every later one up a
// place: the pass reads meta.total changing, reads the list again, and
// the complete pass reports what is there now.
func TestDeletionBetweenPagesIsCaught(t *testing.T) {
	t.Parallel()
	ox, s := setup(t, oxentysim.Config{Seed: 3, Sessions: 25}, nil)
	var e emitted
	var gone string
	ox.OnList(func(page int) {
		if page == 1 {
			e.startPass()
		}
		if page == 2 && gone == "" {
			gone = ox.Sessions()[1].ID // read on page 1
			ox.Delete(gone)
		}
	})
	if err := run(t, s, extract.Request{}, &e); err != nil {
		t.Fatal(err)
	}
	done := e.completions()
	if len(done) != 1 || e.passes[len(e.passes)-1] != 3 {
		t.Fatalf("%d completions after passes %v; want one, on the third pass (the first stops at the change, the second needs the third)", len(done), e.passes)
	}
	if got := slices.Sorted(slices.Values(done[0].Seen)); !slices.Equal(got, simIDs(ox)) || slices.Contains(got, gone) {
		t.Fatalf("seen %d ids, want the %d the simulator holds", len(got), ox.Count())
	}
}

// One session deleted and one created between two pages keep meta.total,
// and with the oldest first the new one lands on the last page: the first
// pass passes every check yet skips a session. The second pass disagrees
// with it, the third agrees with the second, and only then are ids
// reported, all of them.
func TestDeletionAndCreationThatKeepTheTotalAreCaught(t *testing.T) {
	t.Parallel()
	ox, s := setup(t, oxentysim.Config{Seed: 4, Sessions: 25, OldestFirst: true}, nil)
	var e emitted
	before := []string{}
	var gone string
	ox.OnList(func(page int) {
		if page == 1 {
			e.startPass()
		}
		if page == 2 && gone == "" {
			before = simIDs(ox)
			gone = ox.Sessions()[1].ID
			ox.Delete(gone)
			ox.Add(1)
		}
	})
	if err := run(t, s, extract.Request{}, &e); err != nil {
		t.Fatal(err)
	}
	// The first pass missed a session that was there all along.
	first := e.idsOf(t, 1)
	skipped := 0
	for _, id := range before {
		if id != gone && !slices.Contains(first, id) {
			skipped++
		}
	}
	if skipped != 1 || len(first) != 25 {
		t.Fatalf("the first pass read %d sessions and skipped %d; the test needs it to skip one with 25 read", len(first), skipped)
	}
	done := e.completions()
	if len(done) != 1 || e.passes[len(e.passes)-1] != 3 {
		t.Fatalf("%d completions after passes %v, want one on the third pass", len(done), e.passes)
	}
	if got := slices.Sorted(slices.Values(done[0].Seen)); !slices.Equal(got, simIDs(ox)) {
		t.Fatalf("seen %v\nwant %v", got, simIDs(ox))
	}
}

// Newest first, a session created between pages pushes the last one of
// page 1 onto page 2: the repeat is caught.
func TestCreationInFrontIsCaught(t *testing.T) {
	t.Parallel()
	ox, s := setup(t, oxentysim.Config{Seed: 5, Sessions: 25}, func(c *Config) { c.MaxPasses = 2 })
	var e emitted
	ox.SetChurn(oxentysim.Churn{Add: 1})
	err := run(t, s, extract.Request{}, &e)
	var partial *extract.PartialError
	if !errors.As(err, &partial) || !extract.IsPartial(err) {
		t.Fatalf("err %v, want a PartialError", err)
	}
	if len(e.completions()) != 0 {
		t.Fatal("a pass over a moving list was reported complete")
	}
	for _, want := range []string{"(the list changed from", "none is marked deleted this run"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

// A list that keeps moving is read MaxPasses times; every session read is
// emitted, none is reported seen, and the run is partial. The last pass
// reads on to the end.
func TestAListThatKeepsMovingMarksNothing(t *testing.T) {
	t.Parallel()
	var logs strings.Builder
	ox, s := setup(t, oxentysim.Config{Seed: 6, Sessions: 35, OldestFirst: true}, func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	var e emitted
	ox.OnList(func(page int) {
		if page == 1 {
			e.startPass()
		}
	})
	ox.SetChurn(oxentysim.Churn{Add: 1, Remove: 1})
	err := run(t, s, extract.Request{}, &e)
	if !extract.IsPartial(err) || len(e.completions()) != 0 {
		t.Fatalf("err %v, %d completions; want partial and none", err, len(e.completions()))
	}
	if last := e.passes[len(e.passes)-1]; last != 3 {
		t.Fatalf("%d passes, want 3", last)
	}
	lastPass := 0
	for _, p := range e.passes {
		if p == 3 {
			lastPass++
		}
	}
	if lastPass != 4 {
		t.Errorf("the last pass read %d pages, want all 4", lastPass)
	}
	for _, want := range []string{`level=WARN msg="the oxenty session list moved while it was read; reading it again"`,
		`level=WARN msg="no oxenty session is marked deleted this run"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the log lacks %s:\n%s", want, logs.String())
		}
	}
}

// A server that serves fewer sessions a page than asked, and says so in
// meta.limit, is read whole.
func TestServerThatCapsTheLimit(t *testing.T) {
	t.Parallel()
	ox, s := setup(t, oxentysim.Config{Seed: 7, Sessions: 23, MaxLimit: 5, ClampLimit: true}, nil)
	var e emitted
	if err := run(t, s, extract.Request{}, &e); err != nil {
		t.Fatal(err)
	}
	done := e.completions()
	if len(done) != 1 || len(done[0].Seen) != 23 || len(e.pages) != 10 || ox.Stats().Requests != 10 {
		t.Fatalf("%d completions, %d pages, %d requests; want 1, 10 (5 a pass), 10", len(done), len(e.pages), ox.Stats().Requests)
	}
}

// What the checks catch in answers that are wrong in themselves: reading
// again cannot help, so one pass is read to its end and nothing is
// reported seen.
func TestAnswersThatCannotBeVerified(t *testing.T) {
	t.Parallel()
	session := func(id string) string { return `{"id":"` + id + `","name":"n","status":"connected"}` }
	for _, tc := range []struct {
		name     string
		answer   func(page int) string
		pages    int
		inReason string
	}{
		{"no meta", func(page int) string {
			if page == 1 {
				return `{"data":[` + session("a") + `,` + session("b") + `]}`
			}
			return `{"data":[` + session("c") + `]}`
		}, 2, "no meta"},
		{"page ignored", func(int) string {
			return `{"data":[` + session("a") + `,` + session("b") + `],"meta":{"total":4,"page":1,"limit":2,"totalPages":2}}`
		}, 2, "asked for page 2, the answer says page 1"},
		{"a session without id", func(int) string {
			return `{"data":[` + session("a") + `,{"name":"x"}],"meta":{"total":2,"page":1,"limit":2,"totalPages":1}}`
		}, 1, "has no id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := serveJSON(t, 2, tc.answer)
			var e emitted
			err := run(t, s, extract.Request{}, &e)
			if !extract.IsPartial(err) || !strings.Contains(err.Error(), tc.inReason) {
				t.Fatalf("err %v, want partial saying %q", err, tc.inReason)
			}
			if len(e.pages) != tc.pages || len(e.completions()) != 0 {
				t.Fatalf("%d pages, %d completions; want %d and none", len(e.pages), len(e.completions()), tc.pages)
			}
		})
	}
}

// A backfill reads the list once and reports nothing seen.
func TestBackfillMarksNothing(t *testing.T) {
	t.Parallel()
	ox, s := setup(t, oxentysim.Config{Seed: 8, Sessions: 25}, nil)
	var e emitted
	if err := run(t, s, extract.Request{Backfill: true, Since: t0.Add(-time.Hour)}, &e); err != nil {
		t.Fatal(err)
	}
	if len(e.pages) != 3 || len(e.completions()) != 0 || ox.Stats().Requests != 3 {
		t.Fatalf("%d pages, %d completions, %d requests", len(e.pages), len(e.completions()), ox.Stats().Requests)
	}
}

func TestRequestsCarryTheKeyPageAndLimit(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery+" key="+r.Header.Get("X-API-Key")+" auth="+r.Header.Get("Authorization"))
		mu.Unlock()
		page := r.URL.Query().Get("page")
		fmt.Fprintf(w, `{"data":[{"id":"s%s-1"},{"id":"s%s-2"}],"meta":{"total":4,"page":%s,"limit":2,"totalPages":2}}`, page, page, page)
	}))
	t.Cleanup(srv.Close)
	s, err := New(Config{Client: clientConfig(srv.URL + "/prefix"), APIKey: "key-12345678", PageSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := run(t, s, extract.Request{}, &emitted{}); err != nil {
		t.Fatal(err)
	}
	one := "GET /prefix/api/sessions?limit=2&page=%d key=key-12345678 auth="
	want := []string{fmt.Sprintf(one, 1), fmt.Sprintf(one, 2), fmt.Sprintf(one, 1), fmt.Sprintf(one, 2)}
	if !slices.Equal(got, want) {
		t.Fatalf("requests\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	const key = "the-wrong-api-key"
	_, s := setup(t, oxentysim.Config{Seed: 10}, func(c *Config) { c.APIKey = key })
	var e emitted
	err := run(t, s, extract.Request{}, &e)
	if !errors.Is(err, extract.ErrUnauthorized) || !strings.Contains(err.Error(), `source "acme-oxenty": the platform refused the credentials (HTTP 401: Invalid API key)`) ||
		strings.Contains(err.Error(), key) {
		t.Fatalf("wrong key: %v", err)
	}

	// 429s with Retry-After and cut bodies are retried.
	ox, s := setup(t, oxentysim.Config{Seed: 11, Sessions: 25, Faults: fault.Faults{RateLimitShare: 0.5, RetryAfter: "0", CutBodyShare: 0.3}}, nil)
	e = emitted{}
	if err := run(t, s, extract.Request{}, &e); err != nil || len(e.completions()) != 1 {
		t.Fatalf("through 429s and cut bodies: %v, %d completions", err, len(e.completions()))
	}
	if st := ox.Stats(); st.RateLimited == 0 || st.CutBodies == 0 {
		t.Fatalf("no fault struck: %+v", st)
	}

	// A server error that outlasts the retries midway fails the stream;
	// nothing is reported seen.
	ox, s = setup(t, oxentysim.Config{Seed: 12, Sessions: 25}, nil)
	ox.OnList(func(page int) {
		if page == 2 {
			ox.SetFaults(fault.Faults{ServerErrorShare: 1, ServerErrorBurst: 100})
		}
	})
	e = emitted{}
	err = run(t, s, extract.Request{}, &e)
	var se *extract.StatusError
	if !errors.As(err, &se) || extract.IsPartial(err) || len(e.pages) != 2 || len(e.completions()) != 0 {
		t.Fatalf("server errors on page 3: %v; %d pages, %d completions", err, len(e.pages), len(e.completions()))
	}
	if !strings.Contains(err.Error(), "list oxenty sessions, page 3") {
		t.Errorf("error %q does not name the page", err)
	}

	// An answer that is not a list fails the stream.
	bad := serveJSON(t, 10, func(int) string { return `{"items":[]}` })
	if err := run(t, bad, extract.Request{}, &emitted{}); err == nil || !strings.Contains(err.Error(), `page 1: the answer has no "data" array`) {
		t.Fatalf("not a list: %v", err)
	}
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	base := Config{Client: clientConfig("https://api.oxenty.api.br"), APIKey: "key-12345678"}
	for _, tc := range []struct {
		edit func(*Config)
		want string
	}{
		{func(c *Config) { c.APIKey = "" }, "api_key is required"},
		{func(c *Config) { c.PageSize = 101 }, "page_size 101 is above 100"},
		{func(c *Config) { c.MaxPasses = 1 }, "MaxPasses 1 is below 2"},
	} {
		c := base
		tc.edit(&c)
		if _, err := New(c); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v, want %q", err, tc.want)
		}
	}
	s, err := New(base)
	if err != nil || s.cfg.PageSize != MaxPageSize || s.cfg.MaxPasses != DefaultMaxPasses {
		t.Fatalf("defaults: %+v %v", s.cfg, err)
	}
}

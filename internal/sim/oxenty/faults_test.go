package oxentysim

import (
	"context"
	"errors"
	"io"
	"net/http"
	"testing"

	"syncer/internal/sim/fault"
)

func TestFaults(t *testing.T) {
	t.Parallel()
	o, srv := serve(t, Config{Seed: 7, Faults: fault.Faults{RateLimitShare: 1, RetryAfter: "3"}})
	url := srv.URL + "/api/sessions"
	r := get(t, url, testKey)
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") != "3" ||
		string(r.body) != `{"message":"ThrottlerException: Too Many Requests","error":"Too Many Requests","statusCode":429}` {
		t.Errorf("429: %d %q %s", r.status, r.header.Get("Retry-After"), r.body)
	}
	if r := get(t, url, "wrong-key"); r.status != http.StatusUnauthorized {
		t.Errorf("a wrong key reached the faults: %d", r.status)
	}
	o.SetFaults(fault.Faults{ServerErrorShare: 1, ServerErrorBurst: 2})
	for range 2 {
		if r := get(t, url, testKey); r.status < 500 {
			t.Errorf("5xx burst: %d", r.status)
		}
	}
	o.SetFaults(fault.Faults{CutBodyShare: 1})
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	req.Header.Set("X-API-Key", testKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(res.Body)
	res.Body.Close()
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("cut body: %v", err)
	}
	o.SetFaults(fault.Faults{})
	decodePage(t, get(t, url, testKey))
	if s := o.Stats(); s.RateLimited != 1 || s.ServerErrors != 2 || s.CutBodies != 1 || s.OK != 1 || s.Unauthorized != 1 {
		t.Errorf("stats %+v", s)
	}
}

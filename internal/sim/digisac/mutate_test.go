package digisacsim

import (
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"syncer/internal/sim/clock"
	"syncer/internal/sim/wire"
)

func TestCreateEditRemove(t *testing.T) {
	t.Parallel()
	clk := clock.NewManual(time.Date(2026, 2, 1, 9, 0, 0, 0, time.UTC))
	d := New(Config{Seed: 16, Tickets: 40, Now: clk.Now})
	nowS := wire.FormatMillis(clk.Now().UnixMilli())
	byID := func(res string) map[string]map[string]any {
		out := map[string]map[string]any{}
		for _, r := range decodeMaps(t, d.Records(res)) {
			out[str(r["id"])] = r
		}
		return out
	}
	counts := map[string]int{}
	for _, res := range resourceNames {
		counts[res] = len(d.Records(res))
	}

	for _, res := range resourceNames {
		created := d.Create(res, 3)
		recs := byID(res)
		if len(created) != 3 {
			t.Fatalf("%s: created %v", res, created)
		}
		for _, id := range created {
			r := recs[id]
			if r == nil || r["createdAt"] != nowS || r["updatedAt"] != nowS {
				t.Errorf("%s: new record %v", res, r)
			}
		}
	}
	newTickets := byID("tickets")
	msgs := byID("messages")
	for _, m := range msgs {
		if m["createdAt"] == nowS && newTickets[str(m["ticketId"])]["isOpen"] != true {
			t.Errorf("new message %v in a closed ticket", m["id"])
		}
	}

	for _, res := range resourceNames {
		// Twice at the same Now: each round edits only records updated
		// before Now (not the ones just created, nor the first round's), so
		// that nothing is dated after the clock.
		seen := map[string]bool{}
		for round, n := range []int{2, 40} {
			old := byID(res)
			editable := 0
			for _, r := range old {
				if str(r["updatedAt"]) < nowS && r["type"] != "ticket" {
					editable++
				}
			}
			edited := d.Edit(res, n)
			now := byID(res)
			if len(edited) != min(n, editable) || len(edited) == 0 {
				t.Fatalf("%s round %d: edited %d, %d could be", res, round, len(edited), editable)
			}
			for _, id := range edited {
				o, n := old[id], now[id]
				if seen[id] || n["updatedAt"] != nowS || str(o["updatedAt"]) >= nowS {
					t.Errorf("%s %s: updatedAt %v → %v, at a clock of %s", res, id, o["updatedAt"], n["updatedAt"], nowS)
				}
				seen[id] = true
				delete(o, "updatedAt")
				delete(n, "updatedAt")
				if reflect.DeepEqual(o, n) {
					t.Errorf("%s %s: edit changed nothing but updatedAt", res, id)
				}
			}
		}
	}
	clk.Advance(time.Minute)
	for _, id := range d.Edit("messages", 5) {
		if byID("messages")[id]["updatedAt"] != wire.FormatMillis(clk.Now().UnixMilli()) {
			t.Errorf("edit after the clock moved: updatedAt is not Now")
		}
	}

	for _, res := range []string{"services", "users", "departments"} {
		n := len(d.Records(res))
		gone := d.Remove(res, 1)
		if len(gone) != 1 || len(d.Records(res)) != n-1 || byID(res)[gone[0]] != nil || d.Count(res) != n-1 {
			t.Errorf("%s: remove %v", res, gone)
		}
		e := decodeEnvelope(t, httptestGet(t, d, "/api/v1/"+res+"?perPage=100"))
		if e.Total != n-1 || slices.Contains(rawIDs(t, e.Data), gone[0]) {
			t.Errorf("%s: removed record still listed", res)
		}
	}
	for _, res := range []string{"contacts", "tickets", "messages", "nope"} {
		if got := d.Remove(res, 1); got != nil {
			t.Errorf("Remove(%s) = %v", res, got)
		}
	}
	if d.Create("nope", 1) != nil || d.Edit("nope", 1) != nil || d.Records("nope") != nil {
		t.Error("unknown resource did something")
	}
}

func TestConcurrent(t *testing.T) {
	t.Parallel()
	clk := clock.NewManual(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	d, srv := serve(t, Config{Seed: 19, Tickets: 50, Now: clk.Now, ChurnPerList: 1})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 40 {
			clk.Advance(time.Second)
			res := resourceNames[i%len(resourceNames)]
			d.Edit(res, 2)
			d.Create(res, 1)
			d.Records(res)
		}
	}()
	for i := range 40 {
		res := resourceNames[i%len(resourceNames)]
		decodeEnvelope(t, get(t, srv.URL+"/api/v1/"+res+"?perPage=20&query="+url.QueryEscape(`{"order":[["updatedAt","ASC"]]}`), d.Token()))
		decodeEnvelope(t, get(t, srv.URL+"/api/v1/"+res+"?perPage=20&order[0][0]=createdAt&order[0][1]=DESC", d.Token()))
	}
	<-done
	if s := d.Stats(); s.Requests != 80 || s.OK != 80 {
		t.Errorf("stats %+v", s)
	}
	// After all that, the cached orders still agree with a fresh sort.
	for _, res := range resourceNames {
		got := rawIDs(t, listAll(t, srv, withQuery("/api/v1/"+res+"?perPage=1000", map[string]any{"order": [][]string{{"updatedAt", "DESC"}}}), d.Token()))
		recs := decodeMaps(t, d.Records(res))
		slices.SortStableFunc(recs, func(a, b map[string]any) int { return -strings.Compare(str(a["updatedAt"]), str(b["updatedAt"])) })
		if want := ids(recs); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: cached order differs from a fresh sort", res)
		}
	}
}

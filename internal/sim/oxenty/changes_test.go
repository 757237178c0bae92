package oxentysim

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

func TestAddRemoveSetStatus(t *testing.T) {
	t.Parallel()
	o, srv := serve(t, Config{Seed: 12, Sessions: 6})
	added := o.Add(2)
	if len(added) != 2 || o.Count() != 8 {
		t.Fatalf("Add(2): %d added, %d held", len(added), o.Count())
	}
	for _, s := range added {
		if s.Status != StatusQR || s.Phone != nil || s.ConnectedAt != nil || s.CreatedAt != "2024-06-01T12:00:00.000Z" {
			t.Errorf("new session %+v", s)
		}
	}
	// Newest first: the new sessions lead the list.
	if got := ids(decodePage(t, get(t, srv.URL+"/api/sessions?limit=2", testKey)).Data); !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(ids(added)))) {
		t.Errorf("page 1 %v, want the new sessions %v", got, ids(added))
	}
	gone := o.Remove(3)
	if len(gone) != 3 || o.Count() != 5 {
		t.Fatalf("Remove(3): %v, %d held", gone, o.Count())
	}
	for _, s := range o.Sessions() {
		if slices.Contains(gone, s.ID) {
			t.Errorf("removed session %s still listed", s.ID)
		}
	}
	keep := o.Sessions()[0].ID
	if !o.Delete(keep) || o.Delete(keep) || o.Count() != 4 {
		t.Errorf("Delete: count %d", o.Count())
	}

	changed := o.SetStatus(4, StatusConnected)
	if len(changed) != 4 {
		t.Fatalf("SetStatus: %d changed", len(changed))
	}
	for _, s := range o.Sessions() {
		if s.Status != StatusConnected || s.Phone == nil || s.ConnectedAt == nil {
			t.Errorf("after SetStatus(connected): %+v", s)
		}
	}
	for _, s := range o.SetStatus(4, "") {
		if s.Status != StatusDisconnected {
			t.Errorf("the step after connected is %s", s.Status)
		}
	}
	if s := o.SetStatus(1, "banned"); len(s) != 1 || s[0].Status != "banned" {
		t.Errorf("an undocumented status: %+v", s)
	}
	if n := len(o.SetStatus(10, "")); n != 4 {
		t.Errorf("SetStatus(10) changed %d of 4 sessions, want all", n)
	}
}

// Churn changes the list before every page after the first, so that a
// client paging by number sees the pages move.
func TestChurnBetweenPages(t *testing.T) {
	t.Parallel()
	o, srv := serve(t, Config{Seed: 13, Sessions: 30, Step: time.Hour})
	o.SetChurn(Churn{Add: 1})
	page := func(n int) Page {
		return decodePage(t, get(t, fmt.Sprintf("%s/api/sessions?page=%d&limit=10", srv.URL, n), testKey))
	}
	p1 := page(1)
	p2 := page(2)
	if p1.Meta.Total != 30 || p2.Meta.Total != 31 || o.Count() != 31 {
		t.Fatalf("totals %d then %d (count %d), want 30 then 31", p1.Meta.Total, p2.Meta.Total, o.Count())
	}
	// The new session, first in the list, pushed page 1's last onto page 2.
	if p2.Data[0].ID != p1.Data[9].ID {
		t.Errorf("page 2 starts with %s, want page 1's last %s again", p2.Data[0].ID, p1.Data[9].ID)
	}
	o.SetChurn(Churn{})
	if page(2).Meta.Total != 31 {
		t.Error("churn went on after SetChurn(Churn{})")
	}

	var hooked []int
	o.OnList(func(n int) {
		hooked = append(hooked, n)
		if n == 2 {
			o.Remove(1)
		}
	})
	page(1)
	if p := page(2); p.Meta.Total != 30 {
		t.Errorf("OnList's removal not seen by its page: total %d", p.Meta.Total)
	}
	o.OnList(nil)
	page(3)
	if !slices.Equal(hooked, []int{1, 2}) {
		t.Errorf("OnList called for pages %v", hooked)
	}
}

package schemas

import (
	"net/url"
	"testing"
)

func TestNames(t *testing.T) {
	for _, tc := range []struct{ w, state, path string }{
		{"", "syncer", "public,syncer"},
		{"public", "syncer", "public,syncer"},
		{"warehouse", "warehouse_syncer", "warehouse,warehouse_syncer"},
	} {
		if got := State(tc.w); got != tc.state {
			t.Errorf("State(%q) = %q, want %q", tc.w, got, tc.state)
		}
		if got := SearchPath(tc.w); got != tc.path {
			t.Errorf("SearchPath(%q) = %q, want %q", tc.w, got, tc.path)
		}
	}
	for path, want := range map[string]string{
		"wh":              "wh",
		" wh , public":    "wh",
		`"$user", public`: "public",
		"$user,wh":        "wh",
		`"$user"`:         "",
		`"Odd", public`:   "",
		"":                "",
	} {
		if got := FromSearchPath(path); got != want {
			t.Errorf("FromSearchPath(%q) = %q, want %q", path, got, want)
		}
	}
}

func TestReserved(t *testing.T) {
	for w, want := range map[string]bool{"syncer": true, "wh_syncer": true, "public": false, "syncer_data": false} {
		if got := Reserved(w); got != want {
			t.Errorf("Reserved(%q) = %v", w, got)
		}
	}
}

// TestWithSearchPath: the path survives the URL's encoding as pgx reads
// it (a "+" for a space would not).
func TestWithSearchPath(t *testing.T) {
	got, err := WithSearchPath("postgres://u@h/db?sslmode=disable&search_path=old", "t_1")
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(got)
	if err != nil {
		t.Fatal(err)
	}
	if sp := u.Query().Get("search_path"); sp != "t_1,t_1_syncer" || u.Query().Get("sslmode") != "disable" {
		t.Errorf("URL %s: search_path %q", got, sp)
	}
}

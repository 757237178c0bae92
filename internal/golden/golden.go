// Package golden compares what a test produced with a file in testdata/, as
// indented JSON, and rewrites the file instead when the test binary runs
// with -update (make update-golden). It is imported by tests only.
package golden

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ instead of comparing with them")

// JSON compares got, as indented JSON, with testdata/name.
func JSON(t testing.TB, name string, got any) {
	t.Helper()
	b, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, '\n')
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run the test with -update to create it)", err)
	}
	if string(want) == string(b) {
		return
	}
	gotLines, wantLines := strings.Split(string(b), "\n"), strings.Split(string(want), "\n")
	for i := range min(len(gotLines), len(wantLines)) {
		if gotLines[i] != wantLines[i] {
			t.Errorf("%s differs from the output at line %d:\n got %s\nwant %s\n(run make update-golden and review the diff)", path, i+1, gotLines[i], wantLines[i])
			return
		}
	}
	t.Errorf("%s differs from the output in length (%d lines, want %d); run make update-golden and review the diff", path, len(gotLines), len(wantLines))
}

// Lines checks that a reader accounted for every physical line of a file
// exactly once: each span (from, to, inclusive, 1-based) is one thing it
// read, and skipped lines are the blank ones it passed over.
func Lines(t testing.TB, lines, skipped int, spans map[string][][2]int) {
	t.Helper()
	seen := make([]int, lines+2)
	for what, list := range spans {
		for _, s := range list {
			if s[0] < 1 || s[1] < s[0] || s[1] > lines {
				t.Fatalf("%s covers lines %d..%d of %d", what, s[0], s[1], lines)
			}
			for l := s[0]; l <= s[1]; l++ {
				seen[l]++
			}
		}
	}
	covered := 0
	for l := 1; l <= lines; l++ {
		if seen[l] > 1 {
			t.Fatalf("line %d is counted %d times", l, seen[l])
		}
		covered += seen[l]
	}
	if covered+skipped != lines {
		t.Fatalf("%d lines covered and %d skipped, of %d", covered, skipped, lines)
	}
}

package sample

import (
	"regexp"
	"testing"
)

func TestNewRandStreams(t *testing.T) {
	t.Parallel()
	a, b, c := NewRand(1, 1), NewRand(1, 1), NewRand(1, 2)
	x, y, z := a.Uint64(), b.Uint64(), c.Uint64()
	if x != y {
		t.Error("same seed and stream, different values")
	}
	if x == z {
		t.Error("different streams, same value")
	}
}

func TestPick(t *testing.T) {
	t.Parallel()
	r := NewRand(1, 1)
	choices := []Weighted[string]{{"a", 90}, {"b", 10}, {"never", 0}}
	counts := map[string]int{}
	for range 1000 {
		counts[Pick(r, choices)]++
	}
	if counts["never"] != 0 || counts["a"] < 800 || counts["b"] < 50 {
		t.Errorf("counts %v", counts)
	}
	if PickPercent(choices, 89) != "a" || PickPercent(choices, 90) != "b" || PickPercent(choices, 99) != "b" {
		t.Error("PickPercent boundaries")
	}
}

func TestBrazilMobile(t *testing.T) {
	t.Parallel()
	re := regexp.MustCompile(`^55[1-9][0-9]9[0-9]{8}$`)
	r := NewRand(3, 3)
	for range 100 {
		if n := BrazilMobile(r); !re.MatchString(n) {
			t.Fatalf("number %q", n)
		}
	}
}

// Package sample is the seeded randomness and the sample data the platform
// simulators share: generators with independent streams of one seed,
// weighted picks, Brazilian mobile numbers and the Portuguese texts that
// customers and agents write.
//
// It holds no state of its own and knows no platform's record shapes; what
// only one platform generates (Ogmma's templates, Digisac's names and
// notes) lives with that platform's simulator.
package sample

import (
	"math/rand/v2"
	"strings"
)

// NewRand returns a deterministic generator for seed and stream: each
// simulator draws its data, its faults and its tokens from streams of their
// own, so serving requests never shifts the data generated later. Not safe
// for concurrent use: its owner guards it.
func NewRand(seed int64, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), stream))
}

// Weighted is a choice with its relative weight.
type Weighted[T any] struct {
	V T
	W int
}

// Pick draws one of choices with probability proportional to its weight.
func Pick[T any](r *rand.Rand, choices []Weighted[T]) T {
	total := 0
	for _, c := range choices {
		total += c.W
	}
	n := r.IntN(total)
	for _, c := range choices {
		if n < c.W {
			return c.V
		}
		n -= c.W
	}
	return choices[len(choices)-1].V
}

// PickPercent is Pick for choices whose weights add up to 100, with the draw
// already made (n in [0, 100)).
func PickPercent[T any](choices []Weighted[T], n int) T {
	for _, c := range choices {
		if n < c.W {
			return c.V
		}
		n -= c.W
	}
	return choices[len(choices)-1].V
}

// dddCodes are Brazilian area codes (DDD) spread over the country, weighted
// loosely toward the big metropolitan areas by repetition.
var dddCodes = []string{
	"11", "11", "11", "11", "21", "21", "31", "41", "51", "61", "71", "81", "85",
	"19", "27", "48", "62", "91", "92", "84", "83", "16", "13", "47", "43", "65",
}

// BrazilMobile returns a Brazilian mobile number as WhatsApp APIs write it:
// 55, the DDD, then 9 digits starting with 9 ("5511999998888").
func BrazilMobile(r *rand.Rand) string {
	var b strings.Builder
	b.Grow(13)
	b.WriteString("55")
	b.WriteString(dddCodes[r.IntN(len(dddCodes))])
	b.WriteByte('9')
	for range 8 {
		b.WriteByte(byte('0' + r.IntN(10)))
	}
	return b.String()
}

package ogmmasim

import (
	"encoding/hex"
	"math/rand/v2"
	"time"
)

// objectID is a MongoDB ObjectID: 4 bytes of unix seconds, 5 bytes fixed per
// "process" and a 3-byte counter. The counter makes ids unique within a
// simulator for up to 16M ids per second of creation time.
type objectID [12]byte

func (id objectID) String() string { return hex.EncodeToString(id[:]) }

// objectIDGen hands out ObjectIDs like a MongoDB driver would; the process part
// and the counter's start come from the seed.
type objectIDGen struct {
	process [5]byte
	counter uint32
}

func newObjectIDGen(r *rand.Rand) objectIDGen {
	var g objectIDGen
	for i := range g.process {
		g.process[i] = byte(r.UintN(256))
	}
	g.counter = r.Uint32N(1 << 24)
	return g
}

// next returns a new id whose timestamp part is t's unix seconds.
func (g *objectIDGen) next(t time.Time) objectID {
	var id objectID
	s := uint32(t.Unix())
	id[0], id[1], id[2], id[3] = byte(s>>24), byte(s>>16), byte(s>>8), byte(s)
	copy(id[4:9], g.process[:])
	c := g.counter & 0xffffff
	id[9], id[10], id[11] = byte(c>>16), byte(c>>8), byte(c)
	g.counter++
	return id
}

// Package sim holds simulators of the four platforms' APIs (Ogmma and Digisac
// today; Wavy and Oxenty join it later). Each simulator builds deterministic data from a
// seed, lets that data change over time (new messages, status updates) on an
// injected clock, and can misbehave on demand through fault knobs (429 with
// Retry-After, bursts of 5xx, latency, bodies cut off midway), always with the
// bodies and status codes the platform documents.
//
// Tests use the simulators through httptest, `syncer demo` and `syncer simulate`
// serve them through NewServer. The simulators never touch the warehouse and
// know nothing about how syncer stores what it fetches.
//
// Shared parts live in packages of their own: fault (fault injection), clock
// (a manual clock), sample (seeded randomness, phone numbers, Portuguese
// texts) and wire (the JSON encoding); each platform has one file of its own.
package sim

import (
	"encoding/hex"
	"math/rand/v2"
	"time"
	"unicode/utf8"

	"syncer/internal/sim/wire"
)

// Streams of the seeded generators, so that each simulator's data and faults
// draw from independent sequences of the same seed: serving requests (and their
// fault decisions) never shifts the data a later AddMessages generates.
const (
	streamOgmmaData   uint64 = 0x6f676d6d612d6461 // "ogmma-da"
	streamOgmmaFaults uint64 = 0x6f676d6d612d6661 // "ogmma-fa"
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

var (
	// templateTexts are approved WhatsApp templates the company sends first.
	templateTexts = []string{
		"Olá! Seu pedido foi confirmado e já está em separação. Qualquer dúvida, é só responder esta mensagem.",
		"Olá! Seu pedido saiu para entrega hoje. Acompanhe pelo código de rastreio enviado por e-mail.",
		"Olá! Notamos que você deixou itens no carrinho. Podemos ajudar a concluir sua compra? 🛒",
		"Olá! Como foi seu atendimento? Responda com uma nota de 1 a 5 ⭐",
	}
	// locationTexts are "latitude,longitude" points in Brazilian capitals.
	locationTexts = []string{
		"-23.561414,-46.655881",
		"-22.970722,-43.182365",
		"-19.932180,-43.938170",
		"-25.428954,-49.267137",
		"-30.034647,-51.217658",
		"-8.063149,-34.871139",
		"-12.977749,-38.501630",
		"-15.793889,-47.882778",
	}
)

// withNUL returns s with a NUL character inside it, at a rune boundary near the
// middle: the kind of text PostgreSQL refuses in a text column unless the
// consumer strips it.
func withNUL(s string) string {
	i := len(s) / 2
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "\x00" + s[i:]
}

// errorBody is the {"message","code"} error shape Ogmma (and Oxenty, most
// likely) answer with.
func errorBody(message, code string) []byte {
	return wire.Marshal(struct {
		Message string `json:"message"`
		Code    string `json:"code"`
	}{message, code})
}

package oxentysim

import (
	"fmt"
	"math/rand/v2"

	"syncer/internal/sim/sample"
)

// The statuses the documentation lists (the status filter takes these).
const (
	StatusDisconnected = "disconnected"
	StatusQR           = "qr"
	StatusConnecting   = "connecting"
	StatusConnected    = "connected"
)

// Statuses are the documented statuses, in the doc's order.
var Statuses = []string{StatusDisconnected, StatusQR, StatusConnecting, StatusConnected}

// nextStatus is where SetStatus moves a session when no status is given:
// a QR code is scanned, the session connects, drops, and needs a new code.
// A status outside the documented four goes back to qr.
var nextStatus = map[string]string{
	StatusQR: StatusConnecting, StatusConnecting: StatusConnected,
	StatusConnected: StatusDisconnected, StatusDisconnected: StatusQR,
}

// statusWeights is how the initial sessions stand: most connected.
var statusWeights = []sample.Weighted[string]{
	{V: StatusConnected, W: 60}, {V: StatusDisconnected, W: 20}, {V: StatusQR, W: 10}, {V: StatusConnecting, W: 10},
}

// Malformed records (Config.BadShare); 0 for well-formed ones.
const (
	badCreatedAt uint8 = iota + 1
	badConnectedAt
)

// Dates written the way a consumer must refuse them.
const (
	badCreated   = "ontem às 10h30"
	badConnected = "15/01/2024 10:05"
)

// session is a session as stored; render builds the JSON shape.
type session struct {
	id         string
	name       string
	status     string
	phone      string // "" is null: never paired
	allowGroup bool
	hasWebhook bool
	created    int64 // unix ms
	connected  int64 // unix ms of the last connection; 0 is null
	bad        uint8
}

// sessionNames are what teams call their numbers.
var sessionNames = []string{
	"atendimento-principal", "suporte", "vendas", "financeiro", "cobranca", "sac",
	"marketing", "pos-venda", "agendamentos", "ouvidoria", "comercial-sp", "comercial-rj",
}

// newUUID draws a version 4 UUID, as the doc's ids are.
func newUUID(r *rand.Rand) string {
	hi, lo := r.Uint64(), r.Uint64()
	hi = hi&^(0xf<<12) | 0x4<<12 // version 4
	lo = lo&^(0x3<<62) | 0x2<<62 // RFC 4122 variant
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", hi>>32, (hi>>16)&0xffff, hi&0xffff, lo>>48, lo&0xffffffffffff)
}

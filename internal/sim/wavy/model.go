package wavysim

import (
	"fmt"
	"math/rand/v2"
)

// user is one WhatsApp user who writes to the account.
type user struct {
	phone string
	name  string // their WhatsApp profile name; may be empty
}

// session is a session a user opened: the row of the session CSV.
type session struct {
	user    *user
	created int64 // unix ms
	bad     bool  // written with a date no consumer can read (Config.BadShare)
}

// Session is a session as the simulator holds it.
type Session struct {
	Phone     string
	CreatedAt int64 // unix ms
	// Bad sessions are written to the file with a date that cannot be
	// read: a consumer must set their line aside.
	Bad bool `json:",omitempty"`
}

// badDate is what a bad session's line says instead of a time.
const badDate = "ontem às 10h"

// outbound is a message the account sent, whose status callbacks the
// simulator makes.
type outbound struct {
	id        string
	user      *user
	sent      int64 // unix ms
	delivered int64 // unix ms, once delivered
	state     uint8 // stateSent, stateDelivered, stateRead, stateFailed
	updated   int64 // unix ms of the last state
}

const (
	stateSent uint8 = iota
	stateDelivered
	stateRead
	stateFailed
)

// profileNames are WhatsApp profile names as users set them.
var profileNames = []string{
	"Ana", "João Pedro", "Maria Clara", "Zé", "Francisca Lima", "Tonho", "Dri 🌻", "Carlos Souza", "Ju", "Paulo R.",
	"Fernanda", "Lucas", "Bia ✨", "Rafael Oliveira", "Camila", "Seu Jorge", "Patrícia", "Dona Cida", "Gabi", "",
}

// uuid draws a version 4 UUID from r.
func uuid(r *rand.Rand) string {
	a, b := r.Uint64(), r.Uint64()
	a = a&^(0xf<<12) | 0x4<<12 // version 4
	b = b&^(0x3<<62) | 0x2<<62 // variant 10
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", a>>32, (a>>16)&0xffff, a&0xffff, b>>48, b&0xffffffffffff)
}

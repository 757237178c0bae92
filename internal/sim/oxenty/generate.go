package oxentysim

import (
	"strconv"

	"syncer/internal/sim/sample"
)

// generate draws Config.Sessions sessions, Step apart (give or take half a
// Step) from Start, and keeps those created by until (unix ms, the clock
// when the simulator was built), with their last connection brought back
// to until at most. Every session is drawn all the same, so what is kept
// does not depend on until.
func (o *Simulator) generate(until int64) {
	cfg := o.cfg
	r := o.rng
	at := cfg.Start.UnixMilli()
	step := max(cfg.Step.Milliseconds(), 2)
	for i := range cfg.Sessions {
		if i > 0 {
			at += step/2 + r.Int64N(step)
		}
		s := o.draw(at, sample.Pick(r, statusWeights))
		s.connected = min(s.connected, until)
		if s.created > until {
			continue
		}
		o.sessions = append(o.sessions, s)
		o.byID[s.id] = s
	}
}

// draw makes a session created at (unix ms) in status. Paired sessions
// (all but qr and, half the time, connecting) have a phone and connected a
// few minutes after they were created. Caller holds mu or is building.
func (o *Simulator) draw(at int64, status string) *session {
	r := o.rng
	// The same values in the same order for every session, so that one knob
	// does not reshuffle the rest of the data.
	id, phone, uPaired, uGroup, uHook, uBad, uBadKind, delay := newUUID(r), sample.BrazilMobile(r), r.Float64(), r.Float64(), r.Float64(), r.Float64(), r.IntN(2), 60_000+r.Int64N(600_000)
	s := &session{id: id, name: o.nextName(), status: status, created: at, allowGroup: uGroup < 0.4, hasWebhook: uHook < 0.7}
	if status == StatusConnected || status == StatusDisconnected || (status == StatusConnecting && uPaired < 0.5) {
		s.phone, s.connected = phone, at+delay
	}
	if uBad < o.cfg.BadShare {
		s.bad = badCreatedAt + uint8(uBadKind)
		if s.bad == badConnectedAt && s.connected == 0 {
			s.bad = badCreatedAt // only a date that is there can be malformed
		}
	}
	return s
}

// nextName gives the next name: the list in order, then again with a
// number ("vendas-2"). Caller holds mu or is building.
func (o *Simulator) nextName() string {
	k := o.named
	o.named++
	name := sessionNames[k%len(sessionNames)]
	if round := k / len(sessionNames); round > 0 {
		name += "-" + strconv.Itoa(round+1)
	}
	return name
}

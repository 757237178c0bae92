package wavysim

import (
	"slices"

	"syncer/internal/sim/sample"
)

// generate makes the initial users, each with a session created within
// Window before until (unix ms, the clock when the simulator was built),
// on a whole second, as the file writes them.
func (s *Simulator) generate(until int64) {
	window := s.cfg.Window.Milliseconds()
	for range s.cfg.Sessions {
		u := s.newUser()
		created := until - s.rng.Int64N(window)
		created -= created % 1000
		s.sessions = append(s.sessions, session{user: u, created: created, bad: s.rng.Float64() < s.cfg.BadShare})
	}
	slices.SortStableFunc(s.sessions, func(a, b session) int { return int(a.created - b.created) })
}

// newUser makes a user with a phone no other user has. Caller holds mu or
// is building.
func (s *Simulator) newUser() *user {
	for {
		phone := sample.BrazilMobile(s.rng)
		name := profileNames[s.rng.IntN(len(profileNames))]
		if !slices.ContainsFunc(s.users, func(u *user) bool { return u.phone == phone }) {
			u := &user{phone: phone, name: name}
			s.users = append(s.users, u)
			return u
		}
	}
}

// open returns the sessions open at now (unix ms): created within Window
// before it, and not after it. Caller holds mu.
func (s *Simulator) open(now int64) []session {
	from := now - s.cfg.Window.Milliseconds()
	var out []session
	for _, se := range s.sessions {
		if se.created > from && se.created <= now {
			out = append(out, se)
		}
	}
	return out
}

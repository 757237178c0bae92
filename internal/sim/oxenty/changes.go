package oxentysim

import (
	"slices"

	"syncer/internal/sim/sample"
)

// Churn is what changes before each list page after the first, while a
// client pages: sessions removed at random, then sessions added (as Add
// makes them). The zero Churn changes nothing.
type Churn struct {
	Add, Remove int
}

// SetChurn sets the churn between pages; the zero Churn stops it.
func (o *Simulator) SetChurn(c Churn) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.churn = Churn{Add: max(c.Add, 0), Remove: max(c.Remove, 0)}
}

// Add creates n sessions at Now(), waiting for their QR code to be scanned
// (status qr, no phone, never connected), and returns them.
func (o *Simulator) Add(n int) []Session {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.add(n)
}

func (o *Simulator) add(n int) []Session {
	now := o.cfg.Now().UnixMilli()
	out := make([]Session, 0, max(n, 0))
	for range n {
		s := o.draw(now, StatusQR)
		s.bad = 0
		o.sessions = append(o.sessions, s)
		o.byID[s.id] = s
		out = append(out, s.render())
	}
	return out
}

// Remove deletes up to n sessions picked at random and returns their ids.
func (o *Simulator) Remove(n int) []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.remove(n)
}

func (o *Simulator) remove(n int) []string {
	n = min(n, len(o.sessions))
	ids := make([]string, 0, max(n, 0))
	for range n {
		i := o.rng.IntN(len(o.sessions))
		ids = append(ids, o.sessions[i].id)
		o.drop(i)
	}
	return ids
}

// Delete deletes the session with id and reports whether there was one.
func (o *Simulator) Delete(id string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	i := slices.IndexFunc(o.sessions, func(s *session) bool { return s.id == id })
	if i < 0 {
		return false
	}
	o.drop(i)
	return true
}

// drop removes the session at i. Caller holds mu (write).
func (o *Simulator) drop(i int) {
	delete(o.byID, o.sessions[i].id)
	o.sessions = slices.Delete(o.sessions, i, i+1)
}

// SetStatus moves up to n sessions picked at random to status, or, when
// status is "", one step on (qr → connecting → connected → disconnected →
// qr). Any status is taken, documented or not, so that a consumer can be
// shown one it does not know. A session that becomes connected gets a
// phone if it had none and connectedAt = Now(). It returns the changed
// sessions.
func (o *Simulator) SetStatus(n int, status string) []Session {
	o.mu.Lock()
	defer o.mu.Unlock()
	n = min(n, len(o.sessions))
	if n <= 0 {
		return nil
	}
	now := o.cfg.Now().UnixMilli()
	picks := o.rng.Perm(len(o.sessions))[:n]
	slices.Sort(picks) // changed in the order they are held
	out := make([]Session, 0, n)
	for _, i := range picks {
		s := o.sessions[i]
		to := status
		if to == "" {
			to = nextStatus[s.status]
			if to == "" {
				to = StatusQR
			}
		}
		phone := sample.BrazilMobile(o.rng) // drawn whatever happens, so that the data stays in step
		if to == StatusConnected && s.status != StatusConnected {
			if s.phone == "" {
				s.phone = phone
			}
			s.connected = now
			if s.bad == badConnectedAt {
				s.bad = 0
			}
		}
		s.status = to
		out = append(out, s.render())
	}
	return out
}

// beforePage applies the churn and calls the OnList hook before page is
// made. Called without mu.
func (o *Simulator) beforePage(page int) {
	o.mu.Lock()
	hook := o.onList
	if page > 1 && o.churn != (Churn{}) {
		o.remove(o.churn.Remove)
		o.add(o.churn.Add)
	}
	o.mu.Unlock()
	if hook != nil {
		hook(page)
	}
}

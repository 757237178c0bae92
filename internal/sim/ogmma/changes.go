package ogmmasim

// AddMessages adds n new messages, one conversation after the other
// (round-robin, continuing where the last call stopped). Each is created at
// Now(), or 1ms after its conversation's newest message if that is not
// earlier, so createdAt stays strictly increasing per conversation. Their
// updatedAt equals createdAt. It returns the new messages in the order added.
func (o *Simulator) AddMessages(n int) []Message {
	if n <= 0 {
		return nil
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	now := o.cfg.Now().UnixMilli()
	out := make([]Message, 0, n)
	for range n {
		cv := o.convs[o.next]
		o.next = (o.next + 1) % len(o.convs)
		at := max(now, cv.msgs[len(cv.msgs)-1].created+1)
		cv.msgs = append(cv.msgs, msg{})
		m := &cv.msgs[len(cv.msgs)-1]
		o.fill(m, at, true)
		cv.updated = max(cv.updated, at)
		out = append(out, cv.render(m))
	}
	return out
}

// Touch moves the status of up to n messages, picked at random among those
// whose status can still move, one step on (PENDING→SENT→DELIVERED→READ,
// RECEIVED→READ), with updatedAt = Now() (or 1ms after the old updatedAt if
// that is not earlier). It returns the changed messages; fewer than n when
// fewer can move.
func (o *Simulator) Touch(n int) []Message {
	if n <= 0 {
		return nil
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	type ref struct{ conv, msg int32 }
	var movable []ref
	for c, cv := range o.convs {
		for i := range cv.msgs {
			if _, ok := nextStatus[cv.msgs[i].status]; ok {
				movable = append(movable, ref{int32(c), int32(i)})
			}
		}
	}
	n = min(n, len(movable))
	now := o.cfg.Now().UnixMilli()
	out := make([]Message, 0, n)
	for k := range n {
		j := k + o.rng.IntN(len(movable)-k) // partial Fisher-Yates
		movable[k], movable[j] = movable[j], movable[k]
		cv := o.convs[movable[k].conv]
		m := &cv.msgs[movable[k].msg]
		m.status = nextStatus[m.status]
		m.updated = max(now, m.updated+1)
		cv.updated = max(cv.updated, m.updated)
		out = append(out, cv.render(m))
	}
	return out
}

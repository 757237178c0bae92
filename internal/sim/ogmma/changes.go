package ogmmasim

// AddMessages adds up to n new messages, one conversation after the other
// (round-robin, continuing after the last conversation that got one). They
// arrive at Now(): a conversation that gets k of them in one call has them
// created 1ms apart, the last at Now(), so that createdAt keeps strictly
// increasing within the conversation and nothing is dated after the clock.
// A conversation whose newest message is too close to Now() for another is
// skipped; when none can take one (the clock has not moved since the last
// call, or is behind the data), fewer than n are added, possibly none. Their
// updatedAt equals createdAt. It returns the new messages in the order
// added.
func (o *Simulator) AddMessages(n int) []Message {
	if n <= 0 {
		return nil
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.convs) == 0 {
		return nil
	}
	now := o.cfg.Now().UnixMilli()
	// Plan who gets each message, then date them backwards from now.
	plan := make([]int, 0, n)
	got := map[int]int64{} // conversation → messages planned for it
	for idle := 0; len(plan) < n && idle < len(o.convs); {
		c := o.next
		o.next = (o.next + 1) % len(o.convs)
		if cv := o.convs[c]; cv.newest()+got[c] >= now {
			idle++
			continue
		}
		plan = append(plan, c)
		got[c]++
		idle = 0
	}
	if len(plan) > 0 { // resume after the last conversation served
		o.next = (plan[len(plan)-1] + 1) % len(o.convs)
	}
	out := make([]Message, 0, len(plan))
	done := map[int]int64{}
	for _, c := range plan {
		cv := o.convs[c]
		at := now - got[c] + 1 + done[c]
		done[c]++
		cv.msgs = append(cv.msgs, msg{})
		m := &cv.msgs[len(cv.msgs)-1]
		o.fill(m, at, true)
		cv.updated = max(cv.updated, at)
		out = append(out, cv.render(m))
	}
	return out
}

// newest is the createdAt of the conversation's newest message (unix ms).
func (cv *conv) newest() int64 { return cv.msgs[len(cv.msgs)-1].created }

// Touch moves the status of up to n messages, picked at random among those
// whose status can still move and that were last updated before Now(), one
// step on (PENDING→SENT→DELIVERED→READ, RECEIVED→READ), with updatedAt =
// Now(). A message touched at Now() moves again only once the clock has
// moved. It returns the changed messages; fewer than n when fewer can move.
func (o *Simulator) Touch(n int) []Message {
	if n <= 0 {
		return nil
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	now := o.cfg.Now().UnixMilli()
	type ref struct{ conv, msg int32 }
	var movable []ref
	for c, cv := range o.convs {
		for i := range cv.msgs {
			if _, ok := nextStatus[cv.msgs[i].status]; ok && cv.msgs[i].updated < now {
				movable = append(movable, ref{int32(c), int32(i)})
			}
		}
	}
	n = min(n, len(movable))
	out := make([]Message, 0, n)
	for k := range n {
		j := k + o.rng.IntN(len(movable)-k) // partial Fisher-Yates
		movable[k], movable[j] = movable[j], movable[k]
		cv := o.convs[movable[k].conv]
		m := &cv.msgs[movable[k].msg]
		m.status = nextStatus[m.status]
		m.updated = now
		cv.updated = max(cv.updated, now)
		out = append(out, cv.render(m))
	}
	return out
}

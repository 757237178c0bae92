package digisacsim

// dsPlan is a ticket to generate.
type dsPlan struct {
	start   int64
	contact int32
	n       int
	open    bool
}

const (
	dsMinGap = 10_000  // ms between two messages of a ticket, at least
	dsMaxGap = 300_000 // and at most
)

// generate builds the initial data, as it stands at d.until: the oldest
// record (the first department) is created exactly at Start (or at until,
// if Start is later), and the history stops at until. Tickets that would
// start later are not generated; records that would be created later are
// created at until; a ticket's messages, transfers and close that would come
// later are drawn all the same (so that what comes before until is the same
// whatever until is) but not kept, and the ticket stays open.
func (d *Simulator) generate() {
	cfg := d.cfg
	r := d.rng
	start := cfg.Start.UnixMilli()
	d.accountID = d.newUUID()
	for i := range cfg.Departments {
		d.addDepartment(min(start+int64(i)*1000, d.until))
	}
	for i := range cfg.Users {
		d.addUser(min(start+60_000+int64(i)*1000, d.until))
	}
	for i := range cfg.Services {
		d.addService(min(start+120_000+int64(i)*1000, d.until))
	}
	for _, name := range dsTopicNames {
		d.topics = append(d.topics, dsTopic{id: d.newUUID(), name: name})
	}
	for range cfg.Contacts {
		d.addContact(0) // created just before its first ticket, below
	}

	// Plan the tickets in time order: a contact has one ticket at a time,
	// and only its last one may still be open.
	plans := make([]dsPlan, cfg.Tickets)
	busy := make([]int64, len(d.contacts)) // end of the contact's last ticket, at most
	first := make([]int64, len(d.contacts))
	last := make([]int32, len(d.contacts))
	for i := range last {
		last[i] = -1
	}
	at := start + 3_600_000
	gap := max(cfg.TicketEvery.Milliseconds(), 1)
	m := cfg.MessagesPerTicket
	for k := range plans {
		if k > 0 {
			at += 1 + r.Int64N(2*gap)
		}
		n := max(3, m/2+r.IntN(m+1))
		c := int32(r.IntN(len(d.contacts)))
		for try := 0; busy[c] > at && try < len(d.contacts); try++ {
			c = (c + 1) % int32(len(d.contacts))
		}
		busy[c] = at + int64(n+1)*dsMaxGap
		if last[c] < 0 {
			first[c] = at
		}
		last[c] = int32(k)
		plans[k] = dsPlan{start: at, contact: c, n: n}
	}
	withTickets := 0
	for _, l := range last {
		if l >= 0 {
			withTickets++
		}
	}
	pOpen := 0.0
	if withTickets > 0 {
		pOpen = min(1, 0.2*float64(cfg.Tickets)/float64(withTickets))
	}
	for c, l := range last {
		ci := &d.contacts[c]
		if l >= 0 {
			plans[l].open = r.Float64() < pOpen
			ci.created = max(start+1000, first[c]-60_000-r.Int64N(30*60_000))
		} else {
			ci.created = start + 1000 + r.Int64N(max(at-start, 1))
		}
		ci.created = min(ci.created, d.until) // its first ticket may not have come yet
		ci.updated = ci.created
	}
	d.messages = make([]dsMessage, 0, cfg.Tickets*m+cfg.Tickets/2)
	d.tickets = make([]dsTicket, 0, cfg.Tickets)
	for _, p := range plans {
		if p.start > d.until {
			break // this one and the next have not started yet
		}
		d.buildTicket(p)
	}
}

// buildTicket generates a ticket of the initial data with its p.n message
// rows: the ticketOpen event, the conversation (maybe a ticketTransfer event
// in the middle, internal comments, a bot greeting) and, once closed, the
// ticketClose event. What would come after d.until is drawn but not kept
// (addMessage, transfer and close see to it).
func (d *Simulator) buildTicket(p dsPlan) {
	r := d.rng
	assign := !p.open || r.IntN(10) >= 3 // 30% of open tickets wait in the queue
	ti := d.newTicket(p.contact, p.start, p.open, assign)
	t := &d.tickets[ti]
	at := p.start
	opener := int32(-1)
	if t.origin == "manual" {
		opener = t.user
	}
	d.addMessage(d.eventMessage(ti, evOpen, opener, at))
	chats := p.n - 1
	if !p.open {
		chats--
	}
	transferAt := -1
	if chats >= 5 && t.user >= 0 && (len(d.users) > 1 || len(d.departments) > 1) && r.IntN(5) == 0 {
		transferAt = 2 + r.IntN(chats-3)
	}
	bot := d.services[d.contacts[p.contact].service].bot != "" && t.origin == "automatic"
	next := sideContact
	if t.origin == "manual" {
		next = sideUser
	}
	first := true
	for k := range chats {
		if k == 0 {
			at += 1 + r.Int64N(999) // the message that opened the ticket
		} else {
			at += dsMinGap + r.Int64N(dsMaxGap-dsMinGap)
		}
		t = &d.tickets[ti]
		switch {
		case k == transferAt:
			d.transfer(ti, at)
			continue
		case k == 1 && bot:
			d.addMessage(d.chatMessage(ti, sideBot, at, false))
			continue
		case t.user >= 0 && k > 1 && r.IntN(16) == 0:
			d.addMessage(d.commentMessage(ti, at, false))
			continue
		}
		side := next
		if side == sideUser && t.user < 0 {
			side = sideContact // nobody has taken the ticket yet
		}
		m := d.chatMessage(ti, side, at, false)
		m.isFirst = first
		first = false
		d.addMessage(m)
		if r.IntN(10) < 7 {
			if next == sideContact {
				next = sideUser
			} else {
				next = sideContact
			}
		}
	}
	if !p.open {
		at += dsMinGap + r.Int64N(dsMaxGap-dsMinGap)
		d.close(ti, at)
	}
}

package digisacsim

import (
	"math/rand/v2"

	"syncer/internal/sim/sample"
)

// pickRows draws up to n distinct rows among size for which ok holds.
// Caller holds mu (write).
func (d *Simulator) pickRows(size, n int, ok func(int32) bool) []int32 {
	if n <= 0 || size == 0 {
		return nil
	}
	r := d.rng
	var out []int32
	if n*4 <= size {
		seen := make(map[int32]bool, n)
		for try := 0; len(out) < n && try < 50*n; try++ {
			i := int32(r.IntN(size))
			if !seen[i] && ok(i) {
				seen[i] = true
				out = append(out, i)
			}
		}
		if len(out) == n {
			return out
		}
	}
	var cands []int32
	for i := range size {
		if ok(int32(i)) {
			cands = append(cands, int32(i))
		}
	}
	n = min(n, len(cands))
	for k := range n {
		j := k + r.IntN(len(cands)-k)
		cands[k], cands[j] = cands[j], cands[k]
	}
	return cands[:n]
}

// Edit changes n existing records of resource, picked at random among those
// last updated before Now (fewer if there are fewer): one field each, and
// updatedAt = Now. A record updated at Now already changes again only once
// the clock has moved, so that nothing is dated after the clock. It returns
// their ids. What changes:
//
//	services     the connection drops or comes back (data.status.isConnected)
//	users        status online/offline
//	departments  renamed
//	contacts     renamed, or a new note
//	tickets      open ones are closed (with their ticketClose message);
//	             closed ones move to another department (or agent)
//	messages     an agent's message gets the next ack; other messages are
//	             edited (new text or caption). Ticket events are never edited.
func (d *Simulator) Edit(resource string, n int) []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.edit(resource, n)
}

func (d *Simulator) edit(resource string, n int) []string {
	t, ok := d.tables[resource]
	if !ok || n <= 0 {
		return nil
	}
	r := d.rng
	now := d.cfg.Now().UnixMilli()
	d.until = now
	updatedAt := t.fields["updatedAt"]
	canEdit := func(i int32) bool {
		return t.alive(i) && updatedAt(i).t < now && (resource != "messages" || d.messages[i].typ != dsEvent)
	}
	rows := d.pickRows(t.size(), n, canEdit)
	ids := make([]string, 0, len(rows))
	for _, i := range rows {
		switch resource {
		case "services":
			s := &d.services[i]
			s.connected = !s.connected
			s.updated = now
			ids = append(ids, s.id)
		case "users":
			u := &d.users[i]
			u.online = !u.online
			u.updated = now
			ids = append(ids, u.id)
		case "departments":
			p := &d.departments[i]
			for old := p.name; p.name == old; {
				p.name = dsDepartmentNames[r.IntN(len(dsDepartmentNames))] + " - " + dsTopicNames[r.IntN(len(dsTopicNames))]
			}
			p.updated = now
			ids = append(ids, p.id)
		case "contacts":
			c := &d.contacts[i]
			if r.IntN(2) == 0 {
				first, last := d.fullName()
				if name := first + " " + last; name != c.name {
					c.name, c.alt = name, first+" "+last[:1]+"."
				} else {
					c.note += " (atualizado)"
				}
			} else {
				c.note = nextDifferent(r, dsNoteTexts, c.note)
			}
			c.updated = now
			ids = append(ids, c.id)
		case "tickets":
			tk := &d.tickets[i]
			switch {
			case tk.open:
				d.close(i, now)
			case len(d.departments) > 1:
				tk.dept = (max(tk.dept, 0) + 1 + int32(r.IntN(len(d.departments)-1))) % int32(len(d.departments))
			case len(d.users) > 1:
				tk.user = (max(tk.user, 0) + 1 + int32(r.IntN(len(d.users)-1))) % int32(len(d.users))
			}
			tk = &d.tickets[i]
			tk.updated = now
			ids = append(ids, tk.id)
		case "messages":
			m := &d.messages[i]
			switch {
			case m.fromMe() && m.typ != dsComment && m.ack < 3:
				m.ack++
			case m.typ == dsComment:
				m.text = nextDifferent(r, dsNoteTexts, m.text)
			case m.typ.media():
				m.text, m.hasText = nextDifferent(r, sample.CaptionTexts, m.text), true
			case m.side == sideContact:
				m.text, m.hasText = nextDifferent(r, sample.CustomerTexts, m.text), true
			case m.side == sideBot:
				m.text, m.hasText = nextDifferent(r, dsBotTexts, m.text), true
			default:
				m.text, m.hasText = nextDifferent(r, sample.AgentTexts, m.text), true
			}
			m.updated = now
			ids = append(ids, m.id)
		}
		d.changed(resource, i)
	}
	return ids
}

// nextDifferent picks one of texts other than cur.
func nextDifferent(r *rand.Rand, texts []string, cur string) string {
	for {
		if s := texts[r.IntN(len(texts))]; s != cur {
			return s
		}
	}
}

// Create adds n new records of resource with createdAt = updatedAt = Now
// and returns their ids:
//
//	services, users, departments, contacts  new records (contacts without tickets)
//	tickets   new open tickets of contacts without one (a new contact when
//	          all have one), each with its ticketOpen event and 1 to 3
//	          inbound messages, all at Now
//	messages  messages in open tickets, taking turns between the contact and
//	          the agent; when no ticket is open, one is opened and its rows
//	          count among the n
func (d *Simulator) Create(resource string, n int) []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if n <= 0 {
		return nil
	}
	now := d.cfg.Now().UnixMilli()
	d.until = now
	var ids []string
	switch resource {
	case "services":
		for range n {
			ids = append(ids, d.services[d.addService(now)].id)
		}
	case "users":
		for range n {
			ids = append(ids, d.users[d.addUser(now)].id)
		}
	case "departments":
		for range n {
			ids = append(ids, d.departments[d.addDepartment(now)].id)
		}
	case "contacts":
		for range n {
			ids = append(ids, d.contacts[d.addContact(now)].id)
		}
	case "tickets":
		for range n {
			ti, _ := d.openFresh(now)
			ids = append(ids, d.tickets[ti].id)
		}
	case "messages":
		var open []int32
		for i := range d.tickets {
			if d.tickets[i].open {
				open = append(open, int32(i))
			}
		}
		for len(ids) < n {
			if len(open) == 0 {
				ti, rows := d.openFresh(now)
				open = append(open, ti)
				for _, m := range rows {
					if len(ids) < n {
						ids = append(ids, d.messages[m].id)
					}
				}
				continue
			}
			ti := open[d.rng.IntN(len(open))]
			ids = append(ids, d.messages[d.addMessage(d.nextFresh(ti, now))].id)
		}
	}
	return ids
}

// openFresh opens a ticket at now for a contact without an open ticket,
// with its ticketOpen event and 1 to 3 inbound messages. It returns the
// ticket and its message rows.
func (d *Simulator) openFresh(now int64) (int32, []int32) {
	c := int32(-1)
	if len(d.contacts) > 0 {
		start := d.rng.IntN(len(d.contacts))
		for k := range len(d.contacts) {
			j := int32((start + k) % len(d.contacts))
			if d.contacts[j].open < 0 {
				c = j
				break
			}
		}
	}
	if c < 0 {
		c = d.addContact(now)
	}
	ti := d.newTicket(c, now, true, d.rng.IntN(2) == 0)
	rows := []int32{d.addMessage(d.eventMessage(ti, evOpen, -1, now))}
	for k := range 1 + d.rng.IntN(3) {
		m := d.chatMessage(ti, sideContact, now, true)
		m.isFirst = k == 0
		rows = append(rows, d.addMessage(m))
	}
	return ti, rows
}

// nextFresh is the next message of open ticket ti at now: from the agent
// after the contact spoke (when the ticket has one), else from the contact.
func (d *Simulator) nextFresh(ti int32, now int64) dsMessage {
	t := &d.tickets[ti]
	side := sideContact
	for k := len(t.msgs) - 1; k >= 0; k-- {
		m := &d.messages[t.msgs[k]]
		if m.typ == dsEvent || m.typ == dsComment {
			continue
		}
		if m.side == sideContact && t.user >= 0 {
			side = sideUser
		}
		break
	}
	return d.chatMessage(ti, side, now, true)
}

// Remove makes n records of resource disappear from the lists and returns
// their ids: services (the connection was deleted), users and departments
// only; records that refer to them keep their ids. Other resources give nil.
func (d *Simulator) Remove(resource string, n int) []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	t, ok := d.tables[resource]
	if !ok || (resource != "services" && resource != "users" && resource != "departments") {
		return nil
	}
	rows := d.pickRows(t.size(), n, t.alive)
	ids := make([]string, 0, len(rows))
	for _, i := range rows {
		switch resource {
		case "services":
			d.services[i].removed = true
			ids = append(ids, d.services[i].id)
		case "users":
			d.users[i].removed = true
			ids = append(ids, d.users[i].id)
		case "departments":
			d.departments[i].removed = true
			ids = append(ids, d.departments[i].id)
		}
		d.changed(resource, i)
	}
	return ids
}

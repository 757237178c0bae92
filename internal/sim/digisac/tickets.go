package digisacsim

import (
	"fmt"
	"slices"
	"time"

	"syncer/internal/sim/sample"
)

// newTicket adds a ticket of contact c opened at `at` (no messages yet).
// Caller holds mu (write) or is building.
func (d *Simulator) newTicket(c int32, at int64, open, assign bool) int32 {
	r := d.rng
	ct := &d.contacts[c]
	t := dsTicket{id: d.newUUID(), contact: c, open: open, started: at, created: at, updated: at, origin: "automatic", user: -1, dept: -1}
	if svc := &d.services[ct.service]; svc.dept >= 0 && r.IntN(10) < 6 {
		t.dept = svc.dept
	} else if n := len(d.departments); n > 0 {
		t.dept = int32(r.IntN(n))
	}
	if n := len(d.users); n > 0 && assign {
		t.user = int32(r.IntN(n))
		if r.IntN(10) == 0 {
			t.origin = "manual" // an agent started the conversation
		}
	}
	for range r.IntN(3) {
		k := int32(r.IntN(len(d.topics)))
		if !slices.Contains(t.topics, k) {
			t.topics = append(t.topics, k)
		}
	}
	t.protocol = d.newProtocol(at)
	t.transfers = append(t.transfers, dsTransfer{id: d.newUUID(), action: actOpened, fromUser: -1, fromDept: -1, toUser: t.user, toDept: t.dept, created: at})
	i := int32(len(d.tickets))
	d.tickets = append(d.tickets, t)
	d.protocols[t.protocol] = i
	d.registered("tickets", t.id, i)
	if open {
		ct.open = i
	}
	return i
}

// newProtocol draws a ticket protocol: the opening date (São Paulo) and five
// digits, 13 digits in all ("2025102948644"), unique.
func (d *Simulator) newProtocol(at int64) string {
	day := time.UnixMilli(at).In(d.loc).Format("20060102")
	for try := 0; ; try++ {
		n := d.rng.IntN(100_000)
		if try > 1000 { // a very busy day: take the next free number
			n = try % 100_000
		}
		p := day + fmt.Sprintf("%05d", n)
		if _, taken := d.protocols[p]; !taken {
			return p
		}
	}
}

// addMessage appends m to its ticket, bumping the ticket's and the contact's
// updatedAt and the contact's lastMessageAt, and returns its row. A message
// created after d.until is drawn (id, file, malformation) but not added: it
// returns -1. Caller holds mu (write) or is building.
func (d *Simulator) addMessage(m dsMessage) int32 {
	if t := &d.tickets[m.ticket]; len(t.msgs) > 0 {
		// timestamp (WhatsApp's) is a little earlier than createdAt; keep
		// it from going back in time within the ticket.
		m.ts = max(m.ts, d.messages[t.msgs[len(t.msgs)-1]].ts)
	}
	m.id = d.newUUID()
	if m.typ.media() {
		m.fileID = d.newUUID()
	}
	if uBad, kind := d.rng.Float64(), d.rng.IntN(2); uBad < d.cfg.BadShare {
		m.bad = dsBadTimestamp + uint8(kind)
	}
	if m.created > d.until {
		return -1 // drawn, so that what follows stays the same, but it has not happened yet
	}
	m.updated = min(m.updated, d.until) // acks and edits that would come later have not
	i := int32(len(d.messages))
	d.messages = append(d.messages, m)
	d.registered("messages", m.id, i)
	t := &d.tickets[m.ticket]
	t.msgs = append(t.msgs, i)
	if m.updated > t.updated {
		t.updated = m.updated
		d.changed("tickets", m.ticket)
	}
	c := &d.contacts[t.contact]
	if m.created > c.lastMsg {
		c.lastMsg = m.created
		c.updated = max(c.updated, m.created)
		d.changed("contacts", t.contact)
	}
	return i
}

// chatMessage draws a message written by side at `at` in ticket ti: its type,
// text, ack and updatedAt. fresh messages (Create) have just arrived.
func (d *Simulator) chatMessage(ti int32, side dsSide, at int64, fresh bool) dsMessage {
	r := d.rng
	t := &d.tickets[ti]
	m := dsMessage{ticket: ti, side: side, created: at, updated: at, user: -1, tUser: t.user, tDept: t.dept, ack: -1, isNew: fresh}
	m.ts = (at - r.Int64N(1500)) / 1000 * 1000
	if fresh {
		m.ts = at / 1000 * 1000
	}
	uText, uCaption, uMulti := r.Uint32(), r.IntN(10), r.IntN(20)
	switch side {
	case sideContact:
		m.typ = sample.Pick(r, dsInboundTypes)
		m.text, m.hasText = sample.CustomerTexts[int(uText)%len(sample.CustomerTexts)], true
		if uMulti == 0 {
			m.text = dsMultilineTexts[int(uText)%len(dsMultilineTexts)]
		}
		if !fresh {
			m.updated = at + r.Int64N(3000)
		}
	case sideUser:
		m.typ = sample.Pick(r, dsOutboundTypes)
		m.user = t.user
		m.text, m.hasText = sample.AgentTexts[int(uText)%len(sample.AgentTexts)], true
	case sideBot:
		m.typ = dsChat
		m.text, m.hasText = dsBotTexts[int(uText)%len(dsBotTexts)], true
	}
	if m.typ.media() {
		m.text, m.hasText = "", false
		if uCaption < 3 && m.typ != dsAudio && m.typ != dsPTT && m.typ != dsSticker {
			m.text, m.hasText = sample.CaptionTexts[int(uText)%len(sample.CaptionTexts)], true
		}
	}
	if side != sideContact {
		m.ack = sample.Pick(r, dsAcks)
		if fresh {
			m.ack = int8(r.IntN(2))
		}
		if !fresh {
			switch m.ack {
			case 1:
				m.updated = at + 500 + r.Int64N(2500)
			case 2:
				m.updated = at + 1000 + r.Int64N(60_000)
			case 3:
				m.updated = at + 5000 + r.Int64N(30*60_000)
			}
		}
	}
	// Now and then a reply quotes an earlier message of the ticket.
	if r.IntN(30) == 0 {
		for k := len(t.msgs) - 1; k >= 0; k-- {
			if q := &d.messages[t.msgs[k]]; q.typ != dsEvent && q.typ != dsComment {
				m.quoted = q.id
				break
			}
		}
	}
	return m
}

// eventMessage is a ticket event row (type "ticket") at `at` by user u.
func (d *Simulator) eventMessage(ti int32, ev uint8, u int32, at int64) dsMessage {
	t := &d.tickets[ti]
	return dsMessage{ticket: ti, typ: dsEvent, side: sideSystem, event: ev, created: at, updated: at, ts: at / 1000 * 1000,
		user: u, tUser: t.user, tDept: t.dept, ack: -1}
}

// commentMessage is an internal note by the ticket's agent.
func (d *Simulator) commentMessage(ti int32, at int64, fresh bool) dsMessage {
	t := &d.tickets[ti]
	text := dsNoteTexts[d.rng.IntN(len(dsNoteTexts))]
	return dsMessage{ticket: ti, typ: dsComment, side: sideUser, created: at, updated: at, ts: at / 1000 * 1000,
		user: t.user, tUser: t.user, tDept: t.dept, ack: -1, text: text, hasText: true, isNew: fresh}
}

// transfer moves ticket ti to another department and/or agent at `at`: a
// ticketTransfer event and a ticketTransfers entry.
func (d *Simulator) transfer(ti int32, at int64) {
	r := d.rng
	t := &d.tickets[ti]
	tr := dsTransfer{id: d.newUUID(), action: actTransferred, fromUser: t.user, fromDept: t.dept, toUser: t.user, toDept: t.dept,
		comments: dsTransferComments[r.IntN(len(dsTransferComments))], created: at}
	if n := len(d.departments); n > 1 {
		tr.toDept = (max(t.dept, 0) + 1 + int32(r.IntN(n-1))) % int32(n)
	}
	if n := len(d.users); n > 1 {
		tr.toUser = (max(t.user, 0) + 1 + int32(r.IntN(n-1))) % int32(n)
	}
	if at <= d.until { // else it has not happened yet
		t.transfers = append(t.transfers, tr)
		t.user, t.dept = tr.toUser, tr.toDept
	}
	d.addMessage(d.eventMessage(ti, evTransfer, tr.fromUser, at))
}

// close ends ticket ti at `at` with a ticketClose event. A close after
// d.until has not happened yet: the ticket stays open, in progress at the
// clock (its id and event are drawn all the same).
func (d *Simulator) close(ti int32, at int64) {
	t := &d.tickets[ti]
	tr := dsTransfer{id: d.newUUID(), action: actClosed, fromUser: t.user, fromDept: t.dept, toUser: -1, toDept: -1, created: at}
	c := &d.contacts[t.contact]
	if at > d.until {
		t.open = true
		c.open = ti
	} else {
		t.open, t.ended = false, at
		t.transfers = append(t.transfers, tr)
		if c.open == ti {
			c.open = -1
		}
	}
	d.addMessage(d.eventMessage(ti, evClose, t.user, at))
}

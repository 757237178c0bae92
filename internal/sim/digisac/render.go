package digisacsim

import (
	"encoding/binary"
	"fmt"
	"time"

	"syncer/internal/sim/wire"
)

// fileBase is where file urls point. Made up: real urls are
// unconfirmed (most likely signed object-storage urls).
const fileBase = "https://storage.digisac.app/files/"

func (d *Simulator) userIDOf(i int32) *string {
	if i < 0 {
		return nil
	}
	return &d.users[i].id
}

func (d *Simulator) deptIDOf(i int32) *string {
	if i < 0 {
		return nil
	}
	return &d.departments[i].id
}

// renderCtx carries what rendering a page needs besides the rows.
type renderCtx struct {
	include map[string]bool
	now     int64 // unix ms, for LateFileDelay
}

// render returns the JSON shape of row i of resource. Caller holds mu (read).
func (d *Simulator) render(resource string, i int32, rc renderCtx) any {
	switch resource {
	case "services":
		return d.renderService(i)
	case "users":
		return d.renderUser(i)
	case "departments":
		return d.renderDepartment(i)
	case "contacts":
		return d.renderContact(i, rc)
	case "tickets":
		return d.renderTicket(i, rc)
	case "messages":
		return d.renderMessage(i, rc)
	}
	return nil
}

func (d *Simulator) renderService(i int32) *dsServiceJSON {
	s := &d.services[i]
	out := &dsServiceJSON{
		ID: s.id, Name: s.name(), Type: "whatsapp",
		CreatedAt: wire.FormatMillis(s.created), UpdatedAt: wire.FormatMillis(s.updated),
		AccountID: d.accountID, BotID: nullable(s.bot), DefaultDepartmentID: d.deptIDOf(s.dept),
	}
	out.Data.MyID = s.myID()
	out.Data.Status.IsConnected = s.connected
	return out
}

// renderUserOrNull is the user of an include: null when none or removed
// (Sequelize hides soft-deleted rows from includes too).
func (d *Simulator) renderUserOrNull(i int32) any {
	if i < 0 || d.users[i].removed {
		return (*dsUserJSON)(nil)
	}
	return d.renderUser(i)
}

func (d *Simulator) renderUser(i int32) *dsUserJSON {
	u := &d.users[i]
	return &dsUserJSON{
		ID: u.id, Name: u.name, Email: u.email, IsActiveInternalChat: u.internalChat, Status: userStatus(u.online),
		CreatedAt: wire.FormatMillis(u.created), UpdatedAt: wire.FormatMillis(u.updated), AccountID: d.accountID,
	}
}

func (d *Simulator) renderDepartment(i int32) *dsDepartmentJSON {
	p := &d.departments[i]
	return &dsDepartmentJSON{ID: p.id, Name: p.name, CreatedAt: wire.FormatMillis(p.created), UpdatedAt: wire.FormatMillis(p.updated), AccountID: d.accountID}
}

func (d *Simulator) renderContact(i int32, rc renderCtx) *dsContactJSON {
	c := &d.contacts[i]
	out := &dsContactJSON{
		ID: c.id, IsGroup: c.group, Visible: true, Note: c.note, LastMessageAt: nullableTime(c.lastMsg),
		AccountID: d.accountID, ServiceID: d.services[c.service].id,
		DefaultDepartmentID: d.deptIDOf(c.defDept), DefaultUserID: d.userIDOf(c.defUser),
		CreatedAt: wire.FormatMillis(c.created), UpdatedAt: wire.FormatMillis(c.updated),
		Status: userStatus(c.online), Name: c.name, InternalName: c.internal, AlternativeName: c.alt,
	}
	out.Data.Number = c.number
	if rc.include["service"] {
		if s := &d.services[c.service]; s.removed {
			out.Service = (*dsServiceJSON)(nil)
		} else {
			out.Service = d.renderService(c.service)
		}
	}
	return out
}

func (d *Simulator) renderTicket(i int32, rc renderCtx) *dsTicketJSON {
	t := &d.tickets[i]
	out := &dsTicketJSON{
		ID: t.id, IsOpen: t.open, Protocol: t.protocol, Origin: t.origin,
		StartedAt: wire.FormatMillis(t.started), EndedAt: nullableTime(t.ended),
		ContactID: d.contacts[t.contact].id, UserID: d.userIDOf(t.user), DepartmentID: d.deptIDOf(t.dept),
		AccountID: d.accountID, CreatedAt: wire.FormatMillis(t.created), UpdatedAt: wire.FormatMillis(t.updated),
		Metrics: d.metrics(i),
	}
	inc := rc.include
	if inc["contact"] {
		out.Contact = d.renderContact(t.contact, renderCtx{})
	}
	if inc["user"] {
		out.User = d.renderUserOrNull(t.user)
	}
	if inc["department"] {
		if t.dept < 0 || d.departments[t.dept].removed {
			out.Department = (*dsDepartmentJSON)(nil)
		} else {
			out.Department = d.renderDepartment(t.dept)
		}
	}
	if inc["ticketTopics"] {
		topics := make([]dsTopicJSON, len(t.topics))
		for k, tp := range t.topics {
			topics[k] = dsTopicJSON{ID: d.topics[tp].id, Name: d.topics[tp].name}
		}
		out.TicketTopics = topics
	}
	if inc["ticketTransfers"] {
		trs := make([]dsTransferJSON, len(t.transfers))
		for k, tr := range t.transfers {
			trs[k] = dsTransferJSON{
				ID: tr.id, Action: tr.action, FromUserID: d.userIDOf(tr.fromUser), ToUserID: d.userIDOf(tr.toUser),
				FromDepartmentID: d.deptIDOf(tr.fromDept), ToDepartmentID: d.deptIDOf(tr.toDept),
				Comments: nullable(tr.comments), CreatedAt: wire.FormatMillis(tr.created),
			}
		}
		out.TicketTransfers = trs
	}
	if inc["firstMessage"] {
		out.FirstMessage = (*dsMessageJSON)(nil)
		for _, m := range t.msgs {
			if d.messages[m].typ != dsEvent {
				out.FirstMessage = d.renderMessage(m, renderCtx{})
				break
			}
		}
	}
	return out
}

// metrics computes a closed ticket's metrics: ticketTime from start to end,
// waitingTime until the first agent message, messagingTime from the first
// agent message to the end. Open tickets have none (null).
func (d *Simulator) metrics(i int32) *dsMetrics {
	t := &d.tickets[i]
	if t.open {
		return nil
	}
	m := &dsMetrics{TicketTime: (t.ended - t.started) / 1000}
	firstAgent := int64(0)
	for _, k := range t.msgs {
		if msg := &d.messages[k]; msg.side == sideUser && msg.typ != dsComment {
			firstAgent = msg.created
			break
		}
	}
	if firstAgent > 0 {
		m.WaitingTime = (firstAgent - t.started) / 1000
		m.MessagingTime = (t.ended - firstAgent) / 1000
	}
	for _, tr := range t.transfers {
		if tr.action == actTransferred {
			m.TicketTransferCount++
		}
	}
	return m
}

func (d *Simulator) renderMessage(i int32, rc renderCtx) *dsMessageJSON {
	m := &d.messages[i]
	t := &d.tickets[m.ticket]
	c := &d.contacts[t.contact]
	out := &dsMessageJSON{
		ID: m.id, IsFromMe: m.fromMe(), Sent: m.sent(), Type: dsTypeNames[m.typ], Timestamp: wire.FormatMillis(m.ts),
		Visible: true, AccountID: d.accountID, ContactID: c.id, FromID: nullable(d.msgFromID(i)),
		ServiceID: d.services[c.service].id, UserID: d.userIDOf(m.user), TicketID: t.id,
		TicketUserID: d.userIDOf(m.tUser), TicketDepartmentID: d.deptIDOf(m.tDept), QuotedMessageID: nullable(m.quoted),
		Origin: nullable(m.origin()), CreatedAt: wire.FormatMillis(m.created), UpdatedAt: wire.FormatMillis(m.updated),
		IsFromBot: m.side == sideBot,
	}
	if m.typ == dsEvent {
		out.Data = dsEventData{TicketOpen: m.event == evOpen, TicketTransfer: m.event == evTransfer, TicketClose: m.event == evClose}
	} else {
		out.Data = dsMessageData{Ack: m.ack, IsNew: m.isNew, IsFirst: m.isFirst}
	}
	if m.hasText {
		out.Text = &m.text
	}
	switch m.bad {
	case dsBadTimestamp:
		out.Timestamp = "not a date"
	case dsBadIsFromMe:
		out.IsFromMe = "yes"
	}
	inc := rc.include
	if inc["file"] {
		out.File = d.renderFile(i, rc.now)
	}
	if inc["contact"] {
		out.Contact = d.renderContact(t.contact, renderCtx{})
	}
	if inc["user"] {
		out.User = d.renderUserOrNull(m.user)
	}
	if inc["ticket"] {
		out.Ticket = d.renderTicket(m.ticket, renderCtx{})
	}
	if inc["service"] {
		if d.services[c.service].removed {
			out.Service = (*dsServiceJSON)(nil)
		} else {
			out.Service = d.renderService(c.service)
		}
	}
	return out
}

// renderFile is the file of a media message (null for others). While the
// message is younger than LateFileDelay its url is not there yet: left out
// for half the messages and null for the other half, so consumers meet both.
func (d *Simulator) renderFile(i int32, now int64) any {
	m := &d.messages[i]
	if !m.typ.media() {
		return (*dsFileJSON)(nil)
	}
	info := dsMedia[m.typ]
	seq := binary.BigEndian.Uint16([]byte(m.fileID[:2])) % 10000
	name := fmt.Sprintf("%s-%s-WA%04d.%s", info.prefix, time.UnixMilli(m.created).UTC().Format("20060102"), seq, info.ext)
	f := &dsFileJSON{ID: m.fileID, PublicFilename: name, Mimetype: info.mimetype}
	late := d.cfg.LateFileDelay > 0 && now-m.created < d.cfg.LateFileDelay.Milliseconds()
	switch {
	case !late:
		u := fileBase + m.fileID + "/" + name
		f.URL = &u
	case m.id[len(m.id)-1]%2 == 0:
		f.URL = (*string)(nil)
	}
	return f
}

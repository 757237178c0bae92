package digisacsim

import (
	"fmt"
	"strings"
	"time"
)

// Transcript returns the TXT export of the ticket with this protocol, as
// POST /api/v1/tickets/export answers it, and whether the ticket exists.
//
// The real layout is unconfirmed; this is the one syncer's parser expects by
// default. A header (Protocolo, Contato with the number, Conexão,
// Departamento, Atendente, Aberto em, Fechado em: lines whose value the
// ticket lacks are left out), a blank line, then one entry per message:
// "[dd/mm/yyyy hh:mm:ss] Author: text" in America/Sao_Paulo time. Authors
// are the contact for inbound messages, the agent for outbound ones, "Bot",
// "Sistema" for ticket events (with a sentence saying what happened) and
// "<agent> (comentário interno)" for internal notes. Media show as
// "[Imagem]", "[Áudio]" and so on, then their caption. Texts of several
// lines continue on the following lines. Lines end with LF.
func (d *Simulator) Transcript(protocol string) (string, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	ti, ok := d.protocols[protocol]
	if !ok {
		return "", false
	}
	return d.transcript(ti), true
}

const transcriptTime = "02/01/2006 15:04:05"

func (d *Simulator) transcript(ti int32) string {
	t := &d.tickets[ti]
	c := &d.contacts[t.contact]
	at := func(ms int64) string { return time.UnixMilli(ms).In(d.loc).Format(transcriptTime) }
	var b strings.Builder
	b.Grow(64 * (len(t.msgs) + 8))
	fmt.Fprintf(&b, "Protocolo: %s\n", t.protocol)
	fmt.Fprintf(&b, "Contato: %s (%s)\n", c.name, c.number)
	fmt.Fprintf(&b, "Conexão: %s\n", d.services[c.service].name())
	if t.dept >= 0 {
		fmt.Fprintf(&b, "Departamento: %s\n", d.departments[t.dept].name)
	}
	if t.user >= 0 {
		fmt.Fprintf(&b, "Atendente: %s\n", d.users[t.user].name)
	}
	fmt.Fprintf(&b, "Aberto em: %s\n", at(t.started))
	if !t.open {
		fmt.Fprintf(&b, "Fechado em: %s\n", at(t.ended))
	}
	b.WriteByte('\n')
	for _, k := range t.msgs {
		m := &d.messages[k]
		author, text := "", m.text
		switch {
		case m.typ == dsEvent:
			author = "Sistema"
			switch m.event {
			case evOpen:
				text = "Chamado aberto"
			case evTransfer:
				text = "Chamado transferido"
				if m.tDept >= 0 {
					text += " para " + d.departments[m.tDept].name
				}
			case evClose:
				text = "Chamado fechado"
			}
		case m.side == sideContact:
			author = c.name
		case m.side == sideBot:
			author = "Bot"
		case m.typ == dsComment:
			author = d.userName(m.user) + " (comentário interno)"
		default:
			author = d.userName(m.user)
		}
		if m.typ.media() {
			label := dsMedia[m.typ].label
			if m.hasText && text != "" {
				text = label + " " + text
			} else {
				text = label
			}
		}
		fmt.Fprintf(&b, "[%s] %s: %s\n", at(m.ts), author, text)
	}
	return b.String()
}

func (d *Simulator) userName(i int32) string {
	if i < 0 {
		return "Atendente"
	}
	return d.users[i].name
}

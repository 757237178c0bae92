package ogmmasim

import (
	"time"
	"unicode/utf8"

	"syncer/internal/sim/sample"
)

// generate builds channels, conversations and their initial messages, up to
// until (unix ms, the clock when the simulator was built): a conversation
// keeps the messages created by then, with updatedAt at most until, and one
// whose first message would come later is left out. Every message is drawn
// all the same, so what is kept does not depend on until.
func (o *Simulator) generate(until int64) {
	cfg := o.cfg
	r := o.rng
	start := cfg.Start.UnixMilli()
	stepMs := max(cfg.Step.Milliseconds(), 1)
	spreadMs := stepMs * int64(cfg.MessagesPerConversation) // how far apart conversations start
	for c := range cfg.Channels {
		chCreated := cfg.Start.Add(-time.Duration(30+r.IntN(335)) * 24 * time.Hour)
		ch := &channel{
			id:    o.ids.next(chCreated).String(),
			phone: sample.BrazilMobile(r),
			byID:  make(map[string]*conv, cfg.ConversationsPerChannel),
		}
		for k := range cfg.ConversationsPerChannel {
			first := start // the very first conversation starts exactly at Start
			if c > 0 || k > 0 {
				first += r.Int64N(spreadMs)
			}
			n := cfg.MessagesPerConversation
			if cfg.VaryMessages {
				n = max(1, n/2+r.IntN(n+1))
			}
			convCreated := first - r.Int64N(60_000) // opened shortly before its first message
			cv := &conv{
				id:       o.ids.next(time.UnixMilli(convCreated)).String(),
				channel:  ch,
				customer: sample.BrazilMobile(r),
				created:  convCreated,
				msgs:     make([]msg, n),
			}
			at := first
			for i := range cv.msgs {
				if i > 0 {
					at += max(stepMs/2+r.Int64N(stepMs), 1)
				}
				m := &cv.msgs[i]
				o.fill(m, at, false)
				m.updated = at + 1000 + r.Int64N(9000) // delivered/read a few seconds later
			}
			if !cv.cutAt(until) {
				continue // it has not started yet
			}
			ch.convs = append(ch.convs, cv)
			ch.byID[cv.id] = cv
			o.convs = append(o.convs, cv)
		}
		o.channels = append(o.channels, ch)
		o.byID[ch.id] = ch
	}
}

// cutAt drops the messages of cv created after until (unix ms) and brings
// the updatedAt of the others back to until at most. It reports whether any
// message is left. The messages are in createdAt order, so what goes is a
// tail: the conversation as it stood at until.
func (cv *conv) cutAt(until int64) bool {
	n := len(cv.msgs)
	for n > 0 && cv.msgs[n-1].created > until {
		n--
	}
	cv.msgs = cv.msgs[:n]
	for i := range cv.msgs {
		cv.msgs[i].updated = min(cv.msgs[i].updated, until)
	}
	if n == 0 {
		return false
	}
	cv.updated = cv.msgs[n-1].updated
	return true
}

// fill draws a message created at (unix ms): id, direction, type, status,
// content, and whether it is malformed. fresh messages (AddMessages) get the
// statuses of something that just arrived. Caller holds mu or is building.
func (o *Simulator) fill(m *msg, at int64, fresh bool) {
	r := o.rng
	// Draw the same values in the same order for every message, so one knob or
	// type does not reshuffle the rest of the data.
	uDir, uStatus, uText, uCaption, uNUL, uBad, uBadKind := r.Float64(), r.IntN(100), r.Uint32(), r.Float64(), r.IntN(500), r.Float64(), r.IntN(3)
	typ := sample.Pick(r, typeWeights)
	*m = msg{id: o.ids.next(time.UnixMilli(at)), created: at, updated: at, typ: typ}
	m.inbound = uDir < 0.5 && typ != ogTemplate // templates are only ever sent
	switch {
	case m.inbound && fresh:
		m.status = ogReceived
	case m.inbound:
		m.status = sample.PickPercent(inboundStatuses, uStatus)
	case fresh:
		m.status = sample.PickPercent(newOutboundStatuses, uStatus)
	default:
		m.status = sample.PickPercent(outboundStatuses, uStatus)
	}
	texts := sample.AgentTexts
	if m.inbound {
		texts = sample.CustomerTexts
	}
	switch typ {
	case ogText:
		m.content, m.hasContent = texts[int(uText)%len(texts)], true
		if uNUL == 0 { // about 1 text in 500
			m.content = withNUL(m.content)
		}
	case ogImage, ogVideo, ogDocument:
		if uCaption < 0.3 {
			m.content, m.hasContent = sample.CaptionTexts[int(uText)%len(sample.CaptionTexts)], true
		}
	case ogLocation:
		m.content, m.hasContent = locationTexts[int(uText)%len(locationTexts)], true
	case ogTemplate:
		m.content, m.hasContent = templateTexts[int(uText)%len(templateTexts)], true
	}
	if uBad < o.cfg.BadShare {
		m.bad = ogBadNoCreatedAt + uint8(uBadKind)
	}
}

// withNUL returns s with a NUL character inside it, at a rune boundary near the
// middle: the kind of text PostgreSQL refuses in a text column unless the
// consumer strips it.
func withNUL(s string) string {
	i := len(s) / 2
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "\x00" + s[i:]
}

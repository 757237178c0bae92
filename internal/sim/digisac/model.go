package digisacsim

import (
	"strconv"

	"syncer/internal/sim/sample"
)

// Message types.
type dsType uint8

const (
	dsChat dsType = iota
	dsImage
	dsAudio
	dsPTT
	dsVideo
	dsDocument
	dsSticker
	dsComment
	dsEvent
)

var dsTypeNames = [...]string{"chat", "image", "audio", "ptt", "video", "document", "sticker", "comment", "ticket"}

func (t dsType) media() bool { return t >= dsImage && t <= dsSticker }

// dsMedia describes the file of each media type and how a transcript shows it.
var dsMedia = [dsSticker + 1]struct{ prefix, ext, mimetype, label string }{
	dsImage:    {"IMG", "jpg", "image/jpeg", "[Imagem]"},
	dsAudio:    {"AUD", "mp3", "audio/mpeg", "[Áudio]"},
	dsPTT:      {"PTT", "ogg", "audio/ogg; codecs=opus", "[Mensagem de voz]"},
	dsVideo:    {"VID", "mp4", "video/mp4", "[Vídeo]"},
	dsDocument: {"DOC", "pdf", "application/pdf", "[Documento]"},
	dsSticker:  {"STK", "webp", "image/webp", "[Figurinha]"},
}

var (
	dsInboundTypes  = []sample.Weighted[dsType]{{V: dsChat, W: 78}, {V: dsImage, W: 7}, {V: dsAudio, W: 2}, {V: dsPTT, W: 6}, {V: dsVideo, W: 2}, {V: dsDocument, W: 3}, {V: dsSticker, W: 2}}
	dsOutboundTypes = []sample.Weighted[dsType]{{V: dsChat, W: 88}, {V: dsImage, W: 4}, {V: dsDocument, W: 5}, {V: dsAudio, W: 1}, {V: dsVideo, W: 1}, {V: dsPTT, W: 1}}
	dsAcks          = []sample.Weighted[int8]{{V: 3, W: 60}, {V: 2, W: 25}, {V: 1, W: 10}, {V: 0, W: 5}}
)

// Who wrote a message.
type dsSide uint8

const (
	sideContact dsSide = iota // inbound
	sideUser                  // an agent (outbound, or an internal comment)
	sideBot
	sideSystem // ticket events
)

// Ticket events (type "ticket" rows); 0 for other messages.
const (
	evOpen uint8 = iota + 1
	evTransfer
	evClose
)

// Malformed messages (BadShare); 0 for well-formed ones.
const (
	dsBadTimestamp uint8 = iota + 1
	dsBadIsFromMe
)

// Transfer actions of ticketTransfers entries. Unconfirmed beyond the field
// name: every ticket gets an "opened" entry, one per transfer, and "closed".
const (
	actOpened      = "opened"
	actTransferred = "transferred"
	actClosed      = "closed"
)

type dsService struct {
	id        string
	seq       int    // the 8 of "8 - Vendas - 41990000001"
	label     string // "Vendas"
	phone     string // 5541990000001
	connected bool
	bot       string // botId, "" when none
	selfID    string // fromId of what the company sends through it (FACTS: neither contact nor user)
	dept      int32  // defaultDepartmentId, -1 when none
	created   int64
	updated   int64
	removed   bool
}

func (s *dsService) name() string {
	return strconv.Itoa(s.seq) + " - " + s.label + " - " + s.phone[2:]
}

// myID is the WhatsApp id of the number: without the 9 that mobile numbers
// gained in 2012-2016 ("554190000001@c.us" for 5541990000001).
func (s *dsService) myID() string { return s.phone[:4] + s.phone[5:] + "@c.us" }

type dsUser struct {
	id, name, email string
	internalChat    bool
	online          bool
	created         int64
	updated         int64
	removed         bool
}

type dsDepartment struct {
	id, name string
	created  int64
	updated  int64
	removed  bool
}

type dsContact struct {
	id, name, alt, internal, number, note string
	group, online                         bool
	service                               int32
	defDept, defUser                      int32 // -1 when none
	open                                  int32 // open ticket, -1 when none
	created, updated                      int64
	lastMsg                               int64 // 0: never
}

type dsTopic struct{ id, name string }

type dsTransfer struct {
	id               string
	action           string
	fromUser, toUser int32
	fromDept, toDept int32
	comments         string
	created          int64
}

type dsTicket struct {
	id, protocol, origin string
	open                 bool
	started, ended       int64 // ended 0 while open
	contact, user, dept  int32 // user and dept -1 when none
	created, updated     int64
	topics               []int32
	transfers            []dsTransfer
	msgs                 []int32 // its messages, in the order they happened
}

type dsMessage struct {
	id, text, quoted, fileID string
	created, updated, ts     int64
	ticket                   int32
	user                     int32 // userId, -1 when none
	tUser, tDept             int32 // ticketUserId, ticketDepartmentId
	typ                      dsType
	side                     dsSide
	event                    uint8
	ack                      int8
	hasText                  bool
	isNew, isFirst           bool
	bad                      uint8
}

func userStatus(online bool) string {
	if online {
		return "online"
	}
	return "offline"
}

func (m *dsMessage) fromMe() bool { return m.side == sideUser || m.side == sideBot }

func (m *dsMessage) sent() bool {
	if m.side == sideUser && m.typ != dsComment || m.side == sideBot {
		return m.ack >= 1
	}
	return true
}

// origin is null for inbound messages, "user" for agents, "bot" for bots.
// "ticket" for ticket events is unconfirmed.
func (m *dsMessage) origin() string {
	switch m.side {
	case sideUser:
		return "user"
	case sideBot:
		return "bot"
	case sideSystem:
		return "ticket"
	}
	return ""
}

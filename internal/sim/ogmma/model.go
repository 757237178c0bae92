package ogmmasim

import "syncer/internal/sim/sample"

// Message types, with realistic weights (text is most of the traffic).
type msgType uint8

const (
	ogText msgType = iota
	ogImage
	ogAudio
	ogVideo
	ogDocument
	ogLocation
	ogSticker
	ogTemplate
)

var typeNames = [...]string{"text", "image", "audio", "video", "document", "location", "sticker", "template"}

// mediaExt is the file extension of each type that carries mediaUrl.
var mediaExt = [ogTemplate + 1]string{ogImage: "jpg", ogAudio: "ogg", ogVideo: "mp4", ogDocument: "pdf", ogSticker: "webp"}

var typeWeights = []sample.Weighted[msgType]{
	{V: ogText, W: 72}, {V: ogImage, W: 9}, {V: ogAudio, W: 8}, {V: ogVideo, W: 3}, {V: ogDocument, W: 4},
	{V: ogLocation, W: 1}, {V: ogSticker, W: 2}, {V: ogTemplate, W: 1},
}

// Statuses. OUTBOUND moves PENDING → SENT → DELIVERED → READ or ends FAILED;
// INBOUND is RECEIVED then READ (our guess: the doc shows READ on an inbound).
type msgStatus uint8

const (
	ogPending msgStatus = iota
	ogSent
	ogDelivered
	ogRead
	ogFailed
	ogReceived
)

var statusNames = [...]string{"PENDING", "SENT", "DELIVERED", "READ", "FAILED", "RECEIVED"}

// nextStatus is where Touch moves a status; absent means it is final.
var nextStatus = map[msgStatus]msgStatus{
	ogPending: ogSent, ogSent: ogDelivered, ogDelivered: ogRead, ogReceived: ogRead,
}

var (
	outboundStatuses = []sample.Weighted[msgStatus]{
		{V: ogRead, W: 50}, {V: ogDelivered, W: 30}, {V: ogSent, W: 10}, {V: ogPending, W: 3}, {V: ogFailed, W: 7},
	}
	inboundStatuses = []sample.Weighted[msgStatus]{{V: ogRead, W: 75}, {V: ogReceived, W: 25}}
	// Messages AddMessages creates have just arrived.
	newOutboundStatuses = []sample.Weighted[msgStatus]{{V: ogPending, W: 20}, {V: ogSent, W: 60}, {V: ogDelivered, W: 20}}
)

// Malformed records (Config.BadShare); 0 for well-formed ones.
const (
	ogBadNoCreatedAt uint8 = iota + 1
	ogBadDirection
	ogBadCreatedAt
)

const badDate = "ontem às 10h30"

// msg is a message in its compact stored form; render builds the JSON shape.
type msg struct {
	id         objectID
	created    int64 // unix ms; orders messages even when the record is malformed
	updated    int64 // unix ms
	content    string
	hasContent bool // false: "content": null
	typ        msgType
	inbound    bool
	status     msgStatus
	bad        uint8
}

type conv struct {
	id       string
	channel  *channel
	customer string // the customer's phone
	created  int64  // unix ms
	updated  int64  // unix ms of the last message created or touched
	msgs     []msg  // by created, oldest first
}

type channel struct {
	id    string
	phone string
	convs []*conv
	byID  map[string]*conv
}

var (
	// templateTexts are approved WhatsApp templates the company sends first.
	templateTexts = []string{
		"Olá! Seu pedido foi confirmado e já está em separação. Qualquer dúvida, é só responder esta mensagem.",
		"Olá! Seu pedido saiu para entrega hoje. Acompanhe pelo código de rastreio enviado por e-mail.",
		"Olá! Notamos que você deixou itens no carrinho. Podemos ajudar a concluir sua compra? 🛒",
		"Olá! Como foi seu atendimento? Responda com uma nota de 1 a 5 ⭐",
	}
	// locationTexts are "latitude,longitude" points in Brazilian capitals.
	locationTexts = []string{
		"-23.561414,-46.655881",
		"-22.970722,-43.182365",
		"-19.932180,-43.938170",
		"-25.428954,-49.267137",
		"-30.034647,-51.217658",
		"-8.063149,-34.871139",
		"-12.977749,-38.501630",
		"-15.793889,-47.882778",
	}
)

// Package sim holds simulators of the four platforms' APIs (Ogmma and Digisac
// today; Wavy and Oxenty join it later). Each simulator builds deterministic data from a
// seed, lets that data change over time (new messages, status updates) on an
// injected clock, and can misbehave on demand through fault knobs (429 with
// Retry-After, bursts of 5xx, latency, bodies cut off midway), always with the
// bodies and status codes the platform documents.
//
// Tests use the simulators through httptest, `syncer demo` and `syncer simulate`
// serve them through NewServer. The simulators never touch the warehouse and
// know nothing about how syncer stores what it fetches.
//
// Shared parts live here (seeded randomness, MongoDB-like ids, Brazilian phone
// numbers, Portuguese sample texts, the clock) and in faults.go; each platform
// has one file of its own.
package sim

import (
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// ManualClock is a clock that moves only when told to, for tests and demos that
// must not depend on the wall clock. Its Now method fits the Now fields of the
// simulators' configs. Safe for concurrent use.
type ManualClock struct {
	mu  sync.Mutex
	now time.Time
}

// NewManualClock returns a clock stopped at t.
func NewManualClock(t time.Time) *ManualClock { return &ManualClock{now: t} }

// Now returns the clock's current time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d and returns the new time.
func (c *ManualClock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

// Set moves the clock to t.
func (c *ManualClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// Streams of the seeded generators, so that each simulator's data and faults
// draw from independent sequences of the same seed: serving requests (and their
// fault decisions) never shifts the data a later AddMessages generates.
const (
	streamOgmmaData   uint64 = 0x6f676d6d612d6461 // "ogmma-da"
	streamOgmmaFaults uint64 = 0x6f676d6d612d6661 // "ogmma-fa"
)

// newRand returns a deterministic generator for seed and stream. Not safe for
// concurrent use: its owner guards it.
func newRand(seed int64, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), stream))
}

// weighted is a choice with its relative weight.
type weighted[T any] struct {
	v T
	w int
}

// pick draws one of choices with probability proportional to its weight.
func pick[T any](r *rand.Rand, choices []weighted[T]) T {
	total := 0
	for _, c := range choices {
		total += c.w
	}
	n := r.IntN(total)
	for _, c := range choices {
		if n < c.w {
			return c.v
		}
		n -= c.w
	}
	return choices[len(choices)-1].v
}

// objectID is a MongoDB ObjectID: 4 bytes of unix seconds, 5 bytes fixed per
// "process" and a 3-byte counter. The counter makes ids unique within a
// simulator for up to 16M ids per second of creation time.
type objectID [12]byte

func (id objectID) String() string { return hex.EncodeToString(id[:]) }

// objectIDGen hands out ObjectIDs like a MongoDB driver would; the process part
// and the counter's start come from the seed.
type objectIDGen struct {
	process [5]byte
	counter uint32
}

func newObjectIDGen(r *rand.Rand) objectIDGen {
	var g objectIDGen
	for i := range g.process {
		g.process[i] = byte(r.UintN(256))
	}
	g.counter = r.Uint32N(1 << 24)
	return g
}

// next returns a new id whose timestamp part is t's unix seconds.
func (g *objectIDGen) next(t time.Time) objectID {
	var id objectID
	s := uint32(t.Unix())
	id[0], id[1], id[2], id[3] = byte(s>>24), byte(s>>16), byte(s>>8), byte(s)
	copy(id[4:9], g.process[:])
	c := g.counter & 0xffffff
	id[9], id[10], id[11] = byte(c>>16), byte(c>>8), byte(c)
	g.counter++
	return id
}

// timeLayout is how the platforms' JSON writes instants: UTC, milliseconds, "Z"
// ("2024-01-15T10:30:00.000Z").
const timeLayout = "2006-01-02T15:04:05.000Z"

// formatMillis formats unix milliseconds with timeLayout.
func formatMillis(ms int64) string {
	var buf [len(timeLayout)]byte
	return string(time.UnixMilli(ms).UTC().AppendFormat(buf[:0], timeLayout))
}

// dddCodes are Brazilian area codes (DDD) spread over the country, weighted
// loosely toward the big metropolitan areas by repetition.
var dddCodes = []string{
	"11", "11", "11", "11", "21", "21", "31", "41", "51", "61", "71", "81", "85",
	"19", "27", "48", "62", "91", "92", "84", "83", "16", "13", "47", "43", "65",
}

// brazilMobile returns a Brazilian mobile number as WhatsApp APIs write it:
// 55, the DDD, then 9 digits starting with 9 ("5511999998888").
func brazilMobile(r *rand.Rand) string {
	var b strings.Builder
	b.Grow(13)
	b.WriteString("55")
	b.WriteString(dddCodes[r.IntN(len(dddCodes))])
	b.WriteByte('9')
	for range 8 {
		b.WriteByte(byte('0' + r.IntN(10)))
	}
	return b.String()
}

// Portuguese sample texts, with the accents and emoji real conversations carry.
var (
	// customerTexts are what customers write (inbound).
	customerTexts = []string{
		"Olá! Preciso de ajuda com meu pedido 😊",
		"Qual o prazo de entrega para São Paulo?",
		"Bom dia, meu pedido ainda não chegou",
		"Vocês aceitam Pix?",
		"Gostaria de trocar o tamanho da camiseta, ficou pequena",
		"Obrigado pela atenção! 🙏",
		"O código de rastreio não está funcionando",
		"Posso pagar no boleto?",
		"Boa tarde! Vocês entregam em Belo Horizonte?",
		"Quero cancelar minha assinatura",
		"Recebi o produto com defeito 😞",
		"Qual é o horário de funcionamento da loja?",
		"Vocês têm esse modelo na cor azul?",
		"Já fiz o pagamento, segue o comprovante",
		"Não consigo acessar minha conta, esqueci a senha",
		"Oi, tudo bem? Queria saber sobre a promoção de Black Friday",
		"Ótimo, muito obrigada! ❤️",
		"Quanto custa o frete para Porto Alegre?",
		"A nota fiscal vem junto com o produto?",
		"Tem desconto à vista?",
		"Meu endereço mudou, dá para atualizar antes do envio?",
		"Fiquei sem resposta ontem, alguém pode me ajudar?",
		"Perfeito 👍",
		"Vocês fazem entrega no mesmo dia em Curitiba?",
		"Ainda aguardo o reembolso do pedido cancelado",
	}
	// agentTexts are what the company's agents and bots write (outbound).
	agentTexts = []string{
		"Olá! Como posso ajudar?",
		"Olá! Seja bem-vindo(a) à nossa central de atendimento 😊",
		"Poderia me informar o número do pedido, por favor?",
		"Seu pedido foi enviado e chega em até 5 dias úteis.",
		"Aceitamos Pix, cartão de crédito e boleto bancário.",
		"Entendo sua situação, vou verificar com a transportadora.",
		"O prazo de entrega para São Paulo capital é de 2 dias úteis 🚚",
		"Já solicitei a troca, você receberá um e-mail com as instruções.",
		"Nosso horário de atendimento é de segunda a sexta, das 8h às 18h.",
		"Desculpe pela demora! Estamos com um volume alto de mensagens.",
		"O reembolso é processado em até 7 dias após a devolução.",
		"Posso ajudar em algo mais?",
		"Agradecemos o contato! Tenha um ótimo dia ☀️",
		"Vou transferir você para o setor financeiro.",
		"Segue o link para redefinir sua senha.",
		"Temos sim! Está disponível nas cores azul, preta e verde.",
		"Sua assinatura foi cancelada com sucesso.",
		"O frete é grátis para compras acima de R$ 199,00 🎉",
		"Pedimos desculpas pelo transtorno 😔",
		"Confirmado! Atualizei o endereço de entrega.",
	}
	// captionTexts go with images, videos and documents.
	captionTexts = []string{
		"Segue a foto do produto",
		"Comprovante de pagamento",
		"Nota fiscal em anexo 📄",
		"Olha como chegou a embalagem 😕",
		"Catálogo da coleção de verão",
		"Vídeo mostrando o defeito",
		"Boleto atualizado",
		"Etiqueta de devolução",
	}
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

// mustJSON marshals v, for bodies built once at start-up.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("sim: marshal constant body: " + err.Error())
	}
	return b
}

// errorBody is the {"message","code"} error shape Ogmma (and Oxenty, most
// likely) answer with.
func errorBody(message, code string) []byte {
	return mustJSON(struct {
		Message string `json:"message"`
		Code    string `json:"code"`
	}{message, code})
}

// writeBody writes a complete JSON response with its Content-Length.
func writeBody(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

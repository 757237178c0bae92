package ogmmasim

import (
	"crypto/subtle"
	"net/http"
	"strconv"
	"strings"

	"syncer/internal/sim/fault"
	"syncer/internal/sim/wire"
)

// Ogmma's error bodies. 401 and 429 are the documented ones; the others follow
// their shape.
var (
	bodyUnauthorized    = errorBody("Token de autenticacao invalido ou ausente.", "UNAUTHORIZED")
	bodyRateLimited     = errorBody("Limite de requisicoes excedido. Tente novamente em alguns segundos.", "RATE_LIMIT_EXCEEDED")
	bodyServerError     = errorBody("Erro interno", "INTERNAL_ERROR")
	bodyBadLimit        = errorBody("O parametro limit deve ser um numero inteiro entre 1 e 500.", "VALIDATION_ERROR")
	bodyNoConversation  = errorBody("Conversa nao encontrada.", "NOT_FOUND")
	bodyNoChannel       = errorBody("Canal nao encontrado.", "NOT_FOUND")
	bodyNoRoute         = errorBody("Rota nao encontrada.", "NOT_FOUND")
	bodyMethodForbidden = errorBody("Metodo nao permitido.", "METHOD_NOT_ALLOWED")
)

const (
	defaultLimit = 50
	maxLimit     = 500
)

// errorBody is the {"message","code"} error shape Ogmma (and Oxenty, most
// likely) answer with.
func errorBody(message, code string) []byte {
	return wire.Marshal(struct {
		Message string `json:"message"`
		Code    string `json:"code"`
	}{message, code})
}

// ServeHTTP answers the API's routes; see Simulator for the order of checks.
func (o *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fi := o.faults
	if !fi.Begin(r.Context()) {
		return
	}
	channelID, conversationID, ok := parsePath(r.URL.Path)
	if !ok {
		fi.WriteError(w, http.StatusNotFound, bodyNoRoute)
		return
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		fi.WriteError(w, http.StatusMethodNotAllowed, bodyMethodForbidden)
		return
	}
	if !o.authorized(r) {
		fi.WriteError(w, http.StatusUnauthorized, bodyUnauthorized)
		return
	}
	out := fi.Decide()
	if fi.WriteFault(w, out) {
		return
	}
	if conversationID == "" {
		o.serveConversations(w, r, channelID, out)
		return
	}
	limit, ok := parseLimit(r)
	if !ok {
		fi.WriteError(w, http.StatusBadRequest, bodyBadLimit)
		return
	}
	o.serveMessages(w, r, channelID, conversationID, limit, out)
}

// parsePath matches /v1/channels/{channelId}/conversations[/{conversationId}].
// conversationID is empty for the conversation listing.
func parsePath(path string) (channelID, conversationID string, ok bool) {
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	if len(parts) < 4 || len(parts) > 5 || parts[0] != "v1" || parts[1] != "channels" ||
		parts[2] == "" || parts[3] != "conversations" {
		return "", "", false
	}
	if len(parts) == 5 {
		if parts[4] == "" {
			return "", "", false
		}
		return parts[2], parts[4], true
	}
	return parts[2], "", true
}

// parseLimit reads ?limit=: absent means 50; otherwise decimal digits
// only, 1 to 500.
func parseLimit(r *http.Request) (int, bool) {
	vs, present := r.URL.Query()["limit"]
	if !present {
		return defaultLimit, true
	}
	s := vs[0]
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxLimit {
		return 0, false
	}
	return n, true
}

// authorized checks "Authorization: Bearer <APIKey>" (scheme case-insensitive).
func (o *Simulator) authorized(r *http.Request) bool {
	const scheme = "Bearer "
	h := r.Header.Get("Authorization")
	if len(h) <= len(scheme) || !strings.EqualFold(h[:len(scheme)], scheme) {
		return false
	}
	token := strings.TrimSpace(h[len(scheme):])
	return subtle.ConstantTimeCompare([]byte(token), []byte(o.cfg.APIKey)) == 1
}

func (o *Simulator) serveMessages(w http.ResponseWriter, r *http.Request, channelID, conversationID string, limit int, out fault.Outcome) {
	var page struct {
		Data []Message `json:"data"`
		Meta struct {
			Limit int `json:"limit"`
		} `json:"meta"`
	}
	page.Meta.Limit = limit
	o.mu.RLock()
	var cv *conv
	if ch := o.byID[channelID]; ch != nil {
		cv = ch.byID[conversationID]
	}
	if cv != nil {
		n := min(limit, len(cv.msgs))
		page.Data = make([]Message, n)
		for i := range n {
			page.Data[i] = cv.render(&cv.msgs[len(cv.msgs)-1-i])
		}
	}
	o.mu.RUnlock()
	if cv == nil {
		o.faults.WriteError(w, http.StatusNotFound, bodyNoConversation)
		return
	}
	o.faults.WriteOK(w, r, wire.Encode(page), out)
}

func (o *Simulator) serveConversations(w http.ResponseWriter, r *http.Request, channelID string, out fault.Outcome) {
	var page struct {
		Data []Conversation `json:"data"`
		Meta struct {
			Total int `json:"total"`
		} `json:"meta"`
	}
	o.mu.RLock()
	ch := o.byID[channelID]
	if ch != nil {
		page.Data = make([]Conversation, len(ch.convs))
		for i, cv := range ch.convs {
			page.Data[i] = Conversation{
				ID:        cv.id,
				ChannelID: ch.id,
				CreatedAt: wire.FormatMillis(cv.created),
				UpdatedAt: wire.FormatMillis(cv.updated),
			}
		}
		page.Meta.Total = len(ch.convs)
	}
	o.mu.RUnlock()
	if ch == nil {
		o.faults.WriteError(w, http.StatusNotFound, bodyNoChannel)
		return
	}
	o.faults.WriteOK(w, r, wire.Encode(page), out)
}

package digisacsim

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"

	"syncer/internal/sim/fault"
	"syncer/internal/sim/wire"
)

// Digisac's error bodies: {"error","message","status"}. 401 and 400 have
// been seen from a real server; 404 and 405 follow their shape; the 429 and
// 5xx bodies are unconfirmed (nothing documents a limit).
var (
	bodyUnauthorized   = errorBody("HttpError", "Invalid token: access token is invalid", http.StatusUnauthorized)
	bodyBadCredentials = errorBody("HttpError", "Invalid credentials", http.StatusUnauthorized)
	bodyRateLimited    = errorBody("TooManyRequestsHttpError", "Too many requests", http.StatusTooManyRequests)
	bodyServerError    = errorBody("HttpError", "Internal Server Error", http.StatusInternalServerError)
	bodyNoRoute        = errorBody("NotFoundHttpError", "Not Found", http.StatusNotFound)
	bodyNoTicket       = errorBody("NotFoundHttpError", "Ticket not found", http.StatusNotFound)
	bodyNoMethod       = errorBody("MethodNotAllowedHttpError", "Method Not Allowed", http.StatusMethodNotAllowed)
)

func errorBody(name, message string, status int) []byte {
	return wire.Marshal(struct {
		Error   string `json:"error"`
		Message string `json:"message"`
		Status  int    `json:"status"`
	}{name, message, status})
}

func badRequestBody(message string) []byte {
	return errorBody("BadRequestHttpError", message, http.StatusBadRequest)
}

// ServeHTTP answers the API's routes; see Simulator for the order of checks.
func (d *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fi := d.faults
	if !fi.Begin(r.Context()) {
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/api/v1/")
	parts := strings.Split(rest, "/")
	if !ok || slices.Contains(parts, "") || len(parts) > 2 {
		fi.WriteError(w, http.StatusNotFound, bodyNoRoute)
		return
	}
	method := http.MethodGet
	switch {
	case rest == "oauth/token", rest == "tickets/export":
		method = http.MethodPost
	case d.tables[parts[0]] == nil:
		fi.WriteError(w, http.StatusNotFound, bodyNoRoute)
		return
	}
	if r.Method != method {
		w.Header().Set("Allow", method)
		fi.WriteError(w, http.StatusMethodNotAllowed, bodyNoMethod)
		return
	}
	if rest == "oauth/token" {
		d.serveToken(w, r)
		return
	}
	if !d.authorized(r) {
		fi.WriteError(w, http.StatusUnauthorized, bodyUnauthorized)
		return
	}
	out := fi.Decide()
	if fi.WriteFault(w, out) {
		return
	}
	switch {
	case rest == "tickets/export":
		d.serveExport(w, r, out)
	case len(parts) == 2:
		d.serveOne(w, r, parts[0], parts[1], out)
	default:
		d.serveList(w, r, parts[0], out)
	}
}

// authorized checks "Authorization: Bearer <token>" (scheme
// case-insensitive) against the personal token and unexpired issued ones.
func (d *Simulator) authorized(r *http.Request) bool {
	const scheme = "Bearer "
	h := r.Header.Get("Authorization")
	if len(h) <= len(scheme) || !strings.EqualFold(h[:len(scheme)], scheme) {
		return false
	}
	token := strings.TrimSpace(h[len(scheme):])
	if subtle.ConstantTimeCompare([]byte(token), []byte(d.cfg.Token)) == 1 {
		return true
	}
	d.tokMu.Lock()
	defer d.tokMu.Unlock()
	exp, ok := d.access[token]
	return ok && d.cfg.Now().UnixMilli() < exp
}

func (d *Simulator) serveList(w http.ResponseWriter, r *http.Request, resource string, out fault.Outcome) {
	t := d.tables[resource]
	q, err := d.parseListQuery(t, r.URL.Query())
	if err != nil {
		d.faults.WriteError(w, http.StatusBadRequest, badRequestBody(err.Error()))
		return
	}
	if n := d.cfg.ChurnPerList; n > 0 {
		d.Edit(resource, n)
	}
	d.mu.RLock()
	hook := d.onList
	d.mu.RUnlock()
	if hook != nil {
		hook(resource, q.page)
	}
	if c := d.cfg.PerPageCap; c > 0 && q.perPage > c {
		q.perPage = c
	}
	skip := (q.page - 1) * q.perPage
	page := dsPageJSON{Limit: q.perPage, Skip: skip, CurrentPage: q.page, From: skip}
	rc := renderCtx{include: q.include, now: d.cfg.Now().UnixMilli()}
	d.mu.RLock()
	rows := d.sortedRows(t, q.order, q.orderKey)
	alive := t.alive
	if !t.removable {
		alive = nil
	}
	total, sel := scanPage(rows[q.start(rows):], alive, q.pred, skip, q.perPage)
	page.Data = make([]any, len(sel))
	for k, i := range sel {
		page.Data[k] = d.render(resource, i, rc)
	}
	d.mu.RUnlock()
	page.Total = total
	page.LastPage = max(1, (total+q.perPage-1)/q.perPage)
	page.To = min(skip+q.perPage, total)
	d.faults.WriteOK(w, r, wire.Encode(page), out)
}

// serveOne answers GET /api/v1/{resource}/{id}: the record with includes,
// or 404.
func (d *Simulator) serveOne(w http.ResponseWriter, r *http.Request, resource, id string, out fault.Outcome) {
	t := d.tables[resource]
	q, err := d.parseListQuery(t, r.URL.Query())
	if err != nil {
		d.faults.WriteError(w, http.StatusBadRequest, badRequestBody(err.Error()))
		return
	}
	rc := renderCtx{include: q.include, now: d.cfg.Now().UnixMilli()}
	d.mu.RLock()
	i, ok := d.byID[resource][id]
	var rec any
	if ok && t.alive(i) {
		rec = d.render(resource, i, rc)
	}
	d.mu.RUnlock()
	if rec == nil {
		d.faults.WriteError(w, http.StatusNotFound, bodyNoRoute)
		return
	}
	d.faults.WriteOK(w, r, wire.Encode(rec), out)
}

// serveExport answers POST /api/v1/tickets/export {"protocol":"..."} with
// the ticket's transcript as text/plain (protocol as a string or a number).
func (d *Simulator) serveExport(w http.ResponseWriter, r *http.Request, out fault.Outcome) {
	var req struct {
		Protocol any `json:"protocol"`
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err == nil {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		err = dec.Decode(&req)
	}
	var protocol string
	switch p := req.Protocol.(type) {
	case string:
		protocol = p
	case json.Number:
		protocol = p.String()
	}
	if err != nil || protocol == "" {
		d.faults.WriteError(w, http.StatusBadRequest, badRequestBody("protocol is required"))
		return
	}
	text, ok := d.Transcript(protocol)
	if !ok {
		d.faults.WriteError(w, http.StatusNotFound, bodyNoTicket)
		return
	}
	d.faults.WriteOKAs(w, r, "text/plain; charset=utf-8", []byte(text), out)
}

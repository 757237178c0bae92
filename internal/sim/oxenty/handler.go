package oxentysim

import (
	"crypto/subtle"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"syncer/internal/sim/wire"
)

// Oxenty's error bodies, all GUESSES in NestJS's shape (Simulator says why):
// {"message","error","statusCode"}, message a list for validation errors.
var (
	bodyUnauthorized = errorBody("Invalid API key", "Unauthorized", http.StatusUnauthorized)
	bodyRateLimited  = errorBody("ThrottlerException: Too Many Requests", "Too Many Requests", http.StatusTooManyRequests)
	bodyServerError  = errorBody("Internal server error", "Internal Server Error", http.StatusInternalServerError)
)

const defaultLimit = 10

// errorBody is NestJS's error shape.
func errorBody(message any, name string, status int) []byte {
	return wire.Marshal(struct {
		Message    any    `json:"message"`
		Error      string `json:"error"`
		StatusCode int    `json:"statusCode"`
	}{message, name, status})
}

// badRequest is the 400 of a parameter that fails validation.
func badRequest(problem string) []byte {
	return errorBody([]string{problem}, "Bad Request", http.StatusBadRequest)
}

// ServeHTTP answers the API's route; see Simulator for the order of checks.
func (o *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fi := o.faults
	if !fi.Begin(r.Context()) {
		return
	}
	if p := strings.TrimSuffix(r.URL.Path, "/"); p != "/api/sessions" || r.Method != http.MethodGet {
		fi.WriteError(w, http.StatusNotFound, errorBody("Cannot "+r.Method+" "+r.URL.Path, "Not Found", http.StatusNotFound))
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
	q, problem := o.params(r)
	if problem != "" {
		fi.WriteError(w, http.StatusBadRequest, badRequest(problem))
		return
	}
	o.beforePage(q.page)
	fi.WriteOK(w, r, wire.Encode(o.page(q)), out)
}

// authorized checks the X-API-Key header.
func (o *Simulator) authorized(r *http.Request) bool {
	key := strings.TrimSpace(r.Header.Get("X-API-Key"))
	return key != "" && subtle.ConstantTimeCompare([]byte(key), []byte(o.cfg.APIKey)) == 1
}

// listParams are a list request's parameters.
type listParams struct {
	page, limit int
	status      string
}

// params reads page, limit and status, or says what is wrong with them as
// class-validator would.
func (o *Simulator) params(r *http.Request) (listParams, string) {
	v := r.URL.Query()
	p := listParams{page: 1, limit: defaultLimit, status: v.Get("status")}
	var ok bool
	if p.page, ok = positive(v, "page", 1); !ok {
		return p, "page must be a positive integer"
	}
	if p.limit, ok = positive(v, "limit", defaultLimit); !ok {
		return p, "limit must be a positive integer"
	}
	if p.limit > o.cfg.MaxLimit {
		if !o.cfg.ClampLimit {
			return p, "limit must not be greater than " + strconv.Itoa(o.cfg.MaxLimit)
		}
		p.limit = o.cfg.MaxLimit
	}
	if p.status != "" && !slices.Contains(Statuses, p.status) {
		return p, "status must be one of the following values: " + strings.Join(Statuses, ", ")
	}
	return p, ""
}

// positive reads ?key= as decimal digits, at least 1; absent is def.
func positive(v map[string][]string, key string, def int) (int, bool) {
	vs, present := v[key]
	if !present {
		return def, true
	}
	s := vs[0]
	if s == "" || len(s) > 9 || strings.TrimLeft(s, "0123456789") != "" {
		return 0, false
	}
	n, _ := strconv.Atoi(s)
	return n, n >= 1
}

// page makes one page of the list.
func (o *Simulator) page(q listParams) Page {
	o.mu.RLock()
	defer o.mu.RUnlock()
	list := o.listed(q.status)
	out := Page{Data: []Session{}, Meta: Meta{Total: len(list), Page: q.page, Limit: q.limit,
		TotalPages: (len(list) + q.limit - 1) / q.limit}}
	if from := (q.page - 1) * q.limit; from < len(list) {
		for _, s := range list[from:min(from+q.limit, len(list))] {
			out.Data = append(out.Data, s.render())
		}
	}
	return out
}

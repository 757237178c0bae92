package wavysim

import (
	"crypto/subtle"
	"net/http"
	"strings"

	"syncer/internal/sim/wire"
)

// errorBody is Wavy's {"errorCode","errorMessage"} error shape.
func errorBody(code int, message string) []byte {
	return wire.Marshal(struct {
		ErrorCode    int    `json:"errorCode"`
		ErrorMessage string `json:"errorMessage"`
	}{code, message})
}

// ServeHTTP answers the session API, and the files under /files/; see
// Simulator for the order of checks.
func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if rest, ok := strings.CutPrefix(r.URL.Path, "/files/"); ok {
		s.serveFile(w, r, rest)
		return
	}
	fi := s.api
	if !fi.Begin(r.Context()) {
		return
	}
	s.mu.Lock()
	s.apiQueries = append(s.apiQueries, r.URL.RawQuery)
	s.mu.Unlock()
	if r.URL.Path != "/v1/session" {
		fi.WriteError(w, http.StatusNotFound, bodyNotFound)
		return
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		fi.WriteError(w, http.StatusMethodNotAllowed, bodyNoMethod)
		return
	}
	if !s.authorized(r) {
		fi.WriteError(w, http.StatusUnauthorized, bodyUnauthorized)
		return
	}
	out := fi.Decide()
	if fi.WriteFault(w, out) {
		return
	}
	customer := r.URL.Query().Get("customerId")
	if customer == "" {
		fi.WriteError(w, http.StatusBadRequest, bodyNoCustomer)
		return
	}
	link := s.newLink(r, customer == s.cfg.CustomerID)
	fi.WriteOK(w, r, wire.Encode(map[string]string{"file_url": link}), out)
}

// authorized checks the userName and authenticationToken headers (Go reads
// header names without case).
func (s *Simulator) authorized(r *http.Request) bool {
	user, token := r.Header.Get("userName"), r.Header.Get("authenticationToken")
	return subtle.ConstantTimeCompare([]byte(user), []byte(s.cfg.Username)) == 1 &&
		subtle.ConstantTimeCompare([]byte(token), []byte(s.cfg.Token)) == 1
}

// newLink snapshots the sessions open now (none for another customer)
// under a new file key and returns its link.
func (s *Simulator) newLink(r *http.Request, ours bool) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Now()
	var open []session
	if ours {
		open = s.open(now.UnixMilli())
	}
	key := now.UTC().Format("2006/01/02") + "/" + uuid(s.linkRng) + "/" + uuid(s.linkRng)
	s.links[key] = s.renderCSV(open)
	if s.fixedLink != "" {
		return s.fixedLink
	}
	base := s.fileBase
	if base == "" {
		base = "http://" + r.Host + "/files"
	}
	return base + "/" + key
}

package wavysim

import (
	"net/http"
	"strings"
)

// Files serves the session files at /<yyyy>/<mm>/<dd>/<uuid>/<uuid>, as
// Wavy's file host (chatclub-cdn.wavy.global) does: no credentials asked,
// FileFaults applied. Serve it over https: syncer follows no other link.
func (s *Simulator) Files() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.serveFile(w, r, strings.TrimPrefix(r.URL.Path, "/"))
	})
}

func (s *Simulator) serveFile(w http.ResponseWriter, r *http.Request, key string) {
	fi := s.files
	if !fi.Begin(r.Context()) {
		return
	}
	s.mu.Lock()
	s.fileRequests = append(s.fileRequests, r.Header.Clone())
	body, ok := s.links[key]
	s.mu.Unlock()
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		fi.WriteError(w, http.StatusMethodNotAllowed, bodyNoMethod)
		return
	}
	if !ok {
		fi.WriteError(w, http.StatusNotFound, bodyNotFound)
		return
	}
	out := fi.Decide()
	if fi.WriteFault(w, out) {
		return
	}
	fi.WriteOKAs(w, r, "text/csv; charset=utf-8", body, out)
}

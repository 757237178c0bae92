package fault

import (
	"net/http"
	"strconv"
)

// WriteBody writes a complete JSON response with its Content-Length.
func WriteBody(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// WriteOK writes a 200 with a JSON body, or only its first half when out says
// to cut it: the full Content-Length is declared, half is flushed, then the
// connection is hijacked and closed, so the client reads a short body
// (io.ErrUnexpectedEOF in Go). HTTP/2 cannot be hijacked: there the handler
// panics with http.ErrAbortHandler, which resets the stream. Anything else
// (httptest.ResponseRecorder) just keeps the half body.
func (fi *Injector) WriteOK(w http.ResponseWriter, r *http.Request, body []byte, out Outcome) {
	fi.WriteOKAs(w, r, "application/json; charset=utf-8", body, out)
}

// WriteOKAs is WriteOK for a body of any content type.
func (fi *Injector) WriteOKAs(w http.ResponseWriter, r *http.Request, contentType string, body []byte, out Outcome) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if !out.cut || len(body) < 2 {
		fi.ok.Add(1)
		_, _ = w.Write(body)
		return
	}
	fi.cutBodies.Add(1)
	_, _ = w.Write(body[:len(body)/2])
	rc := http.NewResponseController(w)
	if err := rc.Flush(); err != nil {
		return
	}
	if conn, _, err := rc.Hijack(); err == nil {
		_ = conn.Close()
		return
	}
	if r.ProtoMajor == 2 {
		panic(http.ErrAbortHandler)
	}
}

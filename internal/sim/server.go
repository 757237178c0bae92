package sim

import (
	"net/http"
	"strconv"
	"strings"
)

// mount is one simulator served under a path prefix by NewServer.
type mount struct {
	prefix   string // "/ogmma/"
	handler  http.Handler
	describe func(prefix string) string // its entry in the index
}

// NewServer serves the given simulators, each under its own prefix with the
// prefix stripped before the simulator sees the path:
//
//	/ogmma/   the Ogmma simulator (skipped when nil)
//
// and, for trying things by hand, controls that change the data:
//
//	POST /_sim/ogmma/add?n=N     N new messages (default 1)
//	POST /_sim/ogmma/touch?n=N   N status changes (default 1)
//
// each answering the messages it made or changed as JSON.
// GET / answers a short plain-text index of what is mounted. Other platforms
// join as /digisac/, /wavy/ and /oxenty/.
func NewServer(ogmma *Ogmma) http.Handler {
	var mounts []mount
	if ogmma != nil {
		mounts = append(mounts, mount{prefix: "/ogmma/", handler: ogmma, describe: ogmma.describe})
		mounts = append(mounts, mount{prefix: "/_sim/ogmma/", handler: ogmmaControls(ogmma),
			describe: func(p string) string {
				return "Controls  POST " + p + "add?n=N (new messages), POST " + p + "touch?n=N (status changes)\n"
			}})
	}
	return newServer(mounts)
}

func ogmmaControls(o *Ogmma) http.Handler {
	mux := http.NewServeMux()
	change := func(f func(int) []OgmmaMessage) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			n := 1
			if s := r.URL.Query().Get("n"); s != "" {
				v, err := strconv.Atoi(s)
				if err != nil || v < 1 || v > 100_000 {
					http.Error(w, "n must be a whole number from 1 to 100000", http.StatusBadRequest)
					return
				}
				n = v
			}
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			_, _ = w.Write(encodeJSON(map[string]any{"data": f(n)}))
		}
	}
	mux.HandleFunc("POST /add", change(o.AddMessages))
	mux.HandleFunc("POST /touch", change(o.Touch))
	return mux
}

func newServer(mounts []mount) http.Handler {
	mux := http.NewServeMux()
	for _, m := range mounts {
		mux.Handle(m.prefix, http.StripPrefix(strings.TrimSuffix(m.prefix, "/"), m.handler))
	}
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		var b strings.Builder
		b.WriteString("syncer platform simulators\n\n")
		if len(mounts) == 0 {
			b.WriteString("nothing mounted\n")
		}
		for _, m := range mounts {
			b.WriteString(m.describe(m.prefix))
			b.WriteByte('\n')
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte(b.String()))
	})
	return mux
}

package sim

import (
	"net/http"
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
// GET / answers a short plain-text index of what is mounted. Other platforms
// join as /digisac/, /wavy/ and /oxenty/.
func NewServer(ogmma *Ogmma) http.Handler {
	var mounts []mount
	if ogmma != nil {
		mounts = append(mounts, mount{prefix: "/ogmma/", handler: ogmma, describe: ogmma.describe})
	}
	return newServer(mounts)
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

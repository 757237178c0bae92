package sim

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	ogmmasim "syncer/internal/sim/ogmma"
	"syncer/internal/sim/wire"
)

// mount is one simulator served under a path prefix by NewServers.
type mount struct {
	prefix   string // "/ogmma/"
	handler  http.Handler
	describe func(prefix string) string // its entry in the index
}

// Simulators are the simulators NewServers serves; nil ones are skipped.
type Simulators struct {
	Ogmma   *ogmmasim.Simulator
	Digisac *Digisac
}

// NewServer serves the Ogmma simulator; it is NewServers with Ogmma alone.
func NewServer(ogmma *ogmmasim.Simulator) http.Handler {
	return NewServers(Simulators{Ogmma: ogmma})
}

// NewServers serves the given simulators, each under its own prefix with the
// prefix stripped before the simulator sees the path:
//
//	/ogmma/     the Ogmma simulator
//	/digisac/   the Digisac simulator (its API under /digisac/api/v1/)
//
// and, for trying things by hand, controls that change the data:
//
//	POST /_sim/ogmma/add?n=N                     N new messages (default 1)
//	POST /_sim/ogmma/touch?n=N                   N status changes (default 1)
//	POST /_sim/digisac/edit?resource=R&n=N       Digisac.Edit
//	POST /_sim/digisac/create?resource=R&n=N     Digisac.Create
//	POST /_sim/digisac/remove?resource=R&n=N     Digisac.Remove
//
// each answering what it made or changed as JSON ({"data":[...]}; ids for
// Digisac). GET / answers a short plain-text index of what is mounted. Wavy
// and Oxenty join as /wavy/ and /oxenty/.
func NewServers(s Simulators) http.Handler {
	var mounts []mount
	if s.Ogmma != nil {
		ogmma := s.Ogmma
		mounts = append(mounts, mount{prefix: "/ogmma/", handler: ogmma, describe: ogmma.Describe})
		mounts = append(mounts, mount{prefix: "/_sim/ogmma/", handler: ogmmaControls(ogmma),
			describe: func(p string) string {
				return "Controls  POST " + p + "add?n=N (new messages), POST " + p + "touch?n=N (status changes)\n"
			}})
	}
	if s.Digisac != nil {
		dg := s.Digisac
		mounts = append(mounts, mount{prefix: "/digisac/", handler: dg, describe: dg.describe})
		mounts = append(mounts, mount{prefix: "/_sim/digisac/", handler: digisacControls(dg),
			describe: func(p string) string {
				return "Controls  POST " + p + "edit?resource=R&n=N, POST " + p + "create?resource=R&n=N, POST " +
					p + "remove?resource=R&n=N (R: " + strings.Join(dsResources, ", ") + ")\n"
			}})
	}
	return newServer(mounts)
}

// controlCount reads ?n= of a control: absent means 1.
func controlCount(r *http.Request) (int, bool) {
	s := r.URL.Query().Get("n")
	if s == "" {
		return 1, true
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 1 || v > 100_000 {
		return 0, false
	}
	return v, true
}

func digisacControls(d *Digisac) http.Handler {
	mux := http.NewServeMux()
	change := func(f func(string, int) []string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			n, ok := controlCount(r)
			if !ok {
				http.Error(w, "n must be a whole number from 1 to 100000", http.StatusBadRequest)
				return
			}
			resource := r.URL.Query().Get("resource")
			if !slices.Contains(dsResources, resource) {
				http.Error(w, "resource must be one of "+strings.Join(dsResources, ", "), http.StatusBadRequest)
				return
			}
			ids := f(resource, n)
			if ids == nil {
				ids = []string{}
			}
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			_, _ = w.Write(wire.Encode(map[string]any{"data": ids}))
		}
	}
	mux.HandleFunc("POST /edit", change(d.Edit))
	mux.HandleFunc("POST /create", change(d.Create))
	mux.HandleFunc("POST /remove", change(d.Remove))
	return mux
}

func ogmmaControls(o *ogmmasim.Simulator) http.Handler {
	mux := http.NewServeMux()
	change := func(f func(int) []ogmmasim.Message) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			n, ok := controlCount(r)
			if !ok {
				http.Error(w, "n must be a whole number from 1 to 100000", http.StatusBadRequest)
				return
			}
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			_, _ = w.Write(wire.Encode(map[string]any{"data": f(n)}))
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

package sim

import (
	"net/http"
	"strings"

	digisacsim "syncer/internal/sim/digisac"
	ogmmasim "syncer/internal/sim/ogmma"
	oxentysim "syncer/internal/sim/oxenty"
	wavysim "syncer/internal/sim/wavy"
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
	Digisac *digisacsim.Simulator
	Wavy    *wavysim.Simulator
	Oxenty  *oxentysim.Simulator
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
//	/wavy/      the Wavy simulator's session API (/wavy/v1/session), and its
//	            session files under /wavy/files/ (over plain http here; the
//	            links it hands out point at its https file host when set)
//	/oxenty/    the Oxenty simulator (its API under /oxenty/api/)
//
// and, for trying things by hand, controls that change the data:
//
//	POST /_sim/ogmma/add?n=N                     N new messages (default 1)
//	POST /_sim/ogmma/touch?n=N                   N status changes (default 1)
//	POST /_sim/digisac/edit?resource=R&n=N       digisacsim.Simulator.Edit
//	POST /_sim/digisac/create?resource=R&n=N     digisacsim.Simulator.Create
//	POST /_sim/digisac/remove?resource=R&n=N     digisacsim.Simulator.Remove
//	POST /_sim/wavy/add?n=N                      N new sessions (default 1)
//	POST /_sim/wavy/mo?n=N                       an MO batch of N messages, as Wavy would post it
//	POST /_sim/wavy/status?n=N                   a status callback batch of N items
//	POST /_sim/oxenty/add?n=N                    N new sessions (default 1)
//	POST /_sim/oxenty/remove?n=N                 N sessions deleted (default 1)
//	POST /_sim/oxenty/status?n=N&status=S        N sessions to status S (default: the next one)
//	POST /_sim/oxenty/churn?add=A&remove=R       A added and R removed before every page after
//	                                             the first, until churn?add=0&remove=0
//
// each answering what it made or changed as JSON ({"data":[...]}; ids for
// Digisac and for removed Oxenty sessions; the webhook body itself for the
// Wavy batches). GET / answers a short plain-text index of what is mounted.
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
		mounts = append(mounts, mount{prefix: "/digisac/", handler: dg, describe: dg.Describe})
		mounts = append(mounts, mount{prefix: "/_sim/digisac/", handler: digisacControls(dg),
			describe: func(p string) string {
				return "Controls  POST " + p + "edit?resource=R&n=N, POST " + p + "create?resource=R&n=N, POST " +
					p + "remove?resource=R&n=N (R: " + strings.Join(digisacsim.Resources(), ", ") + ")\n"
			}})
	}
	if s.Wavy != nil {
		wv := s.Wavy
		mounts = append(mounts, mount{prefix: "/wavy/", handler: wv, describe: wv.Describe})
		mounts = append(mounts, mount{prefix: "/_sim/wavy/", handler: wavyControls(wv),
			describe: func(p string) string {
				return "Controls  POST " + p + "add?n=N (new sessions), POST " + p + "mo?n=N, POST " + p + "status?n=N (webhook bodies)\n"
			}})
	}
	if s.Oxenty != nil {
		ox := s.Oxenty
		mounts = append(mounts, mount{prefix: "/oxenty/", handler: ox, describe: ox.Describe})
		mounts = append(mounts, mount{prefix: "/_sim/oxenty/", handler: oxentyControls(ox),
			describe: func(p string) string {
				return "Controls  POST " + p + "add?n=N, POST " + p + "remove?n=N, POST " + p + "status?n=N&status=S, POST " +
					p + "churn?add=A&remove=R (changes before every page after the first)\n"
			}})
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

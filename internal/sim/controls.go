package sim

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	digisacsim "syncer/internal/sim/digisac"
	ogmmasim "syncer/internal/sim/ogmma"
	oxentysim "syncer/internal/sim/oxenty"
	wavysim "syncer/internal/sim/wavy"
	"syncer/internal/sim/wire"
)

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

// digisacControls serves /_sim/digisac/{edit,create,remove}?resource=R&n=N,
// answering the ids the call returned.
func digisacControls(d *digisacsim.Simulator) http.Handler {
	mux := http.NewServeMux()
	change := func(f func(string, int) []string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			n, ok := controlCount(r)
			if !ok {
				http.Error(w, "n must be a whole number from 1 to 100000", http.StatusBadRequest)
				return
			}
			resource := r.URL.Query().Get("resource")
			if !slices.Contains(digisacsim.Resources(), resource) {
				http.Error(w, "resource must be one of "+strings.Join(digisacsim.Resources(), ", "), http.StatusBadRequest)
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

// ogmmaControls serves /_sim/ogmma/{add,touch}?n=N, answering the messages
// the call returned.
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

// oxentyControls serves /_sim/oxenty/{add,remove,status,churn}, answering
// the sessions made or changed (the ids of those removed; the churn set).
func oxentyControls(o *oxentysim.Simulator) http.Handler {
	mux := http.NewServeMux()
	reply := func(w http.ResponseWriter, data any) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = w.Write(wire.Encode(map[string]any{"data": data}))
	}
	counted := func(f func(w http.ResponseWriter, r *http.Request, n int)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			n, ok := controlCount(r)
			if !ok {
				http.Error(w, "n must be a whole number from 1 to 100000", http.StatusBadRequest)
				return
			}
			f(w, r, n)
		}
	}
	mux.HandleFunc("POST /add", counted(func(w http.ResponseWriter, _ *http.Request, n int) { reply(w, o.Add(n)) }))
	mux.HandleFunc("POST /remove", counted(func(w http.ResponseWriter, _ *http.Request, n int) { reply(w, o.Remove(n)) }))
	mux.HandleFunc("POST /status", counted(func(w http.ResponseWriter, r *http.Request, n int) {
		reply(w, o.SetStatus(n, strings.TrimSpace(r.URL.Query().Get("status"))))
	}))
	mux.HandleFunc("POST /churn", func(w http.ResponseWriter, r *http.Request) {
		var c oxentysim.Churn
		for _, f := range []struct {
			key string
			v   *int
		}{{"add", &c.Add}, {"remove", &c.Remove}} {
			s := r.URL.Query().Get(f.key)
			if s == "" {
				continue
			}
			v, err := strconv.Atoi(s)
			if err != nil || v < 0 || v > 1000 {
				http.Error(w, f.key+" must be a whole number from 0 to 1000", http.StatusBadRequest)
				return
			}
			*f.v = v
		}
		o.SetChurn(c)
		reply(w, map[string]int{"add": c.Add, "remove": c.Remove})
	})
	return mux
}

// wavyControls serves /_sim/wavy/add?n=N, answering the sessions it
// opened, and /_sim/wavy/{mo,status}?n=N, answering the webhook body it
// made (to post to syncer by hand).
func wavyControls(wv *wavysim.Simulator) http.Handler {
	mux := http.NewServeMux()
	count := func(w http.ResponseWriter, r *http.Request) (int, bool) {
		n, ok := controlCount(r)
		if !ok {
			http.Error(w, "n must be a whole number from 1 to 100000", http.StatusBadRequest)
		}
		return n, ok
	}
	mux.HandleFunc("POST /add", func(w http.ResponseWriter, r *http.Request) {
		if n, ok := count(w, r); ok {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			_, _ = w.Write(wire.Encode(map[string]any{"data": wv.AddSessions(n)}))
		}
	})
	body := func(make func(int) []byte) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if n, ok := count(w, r); ok {
				w.Header().Set("Content-Type", "application/json; charset=utf-8")
				_, _ = w.Write(make(n))
			}
		}
	}
	mux.HandleFunc("POST /mo", body(wv.NewMOBatch))
	mux.HandleFunc("POST /status", body(wv.NewStatusBatch))
	return mux
}

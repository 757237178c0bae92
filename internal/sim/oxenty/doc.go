// Package oxentysim simulates Oxenty's API as oxenty-list-sessions.txt
// documents it: the paged list of a tenant's WhatsApp sessions
// (GET /api/sessions?page=&limit=&status=) behind the X-API-Key header, with
// the shared fault knobs of internal/sim/fault. Simulator lists the route
// and the order of checks, and says which answers are guesses.
//
// It owns Oxenty's simulated data, one concern per file: model.go (the
// sessions as stored, their statuses and names), generate.go (the initial
// sessions drawn from the seed), changes.go (what tests and demos change
// later: Add, Remove, SetStatus, and churn between the pages of a list),
// render.go (the JSON shape) and handler.go (the HTTP side).
//
// It must not date anything after its clock (Config.Now says how the
// initial data and the changes stay at or before it), and must not import
// internal/sim, which mounts it next to the other platforms, nor any part of
// syncer outside internal/sim: it knows nothing about how syncer stores what
// it fetches and never touches the warehouse.
package oxentysim

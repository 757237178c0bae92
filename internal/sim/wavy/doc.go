// Package wavysim simulates Wavy (Sinch) as syncer meets it: the session
// API (GET /v1/session answering a file_url, with the userName and
// authenticationToken headers and the 401 body FACTS.md shows), the file
// host that serves the session CSV behind that link, and the webhooks Wavy
// posts (MO batches and delivery status callback batches), sent by Sender
// with retries and deliberate duplicates.
//
// It owns Wavy's simulated data: users, their sessions and their messages,
// generated from a seed (generate.go), changed by AddSessions and by the
// batches NewMOBatch and NewStatusBatch make (changes.go), rendered to the
// session CSV (csv.go) and served over HTTP (handler.go, files.go). The
// file host is a handler of its own (Files), to be served over https (a
// TLS httptest server, or NewFileHost with a certificate of its own), as
// syncer follows only https links.
//
// It must not date anything after its clock (Config.Now), and must not
// import internal/sim, which mounts it next to the other platforms, nor
// any part of syncer outside internal/sim: it knows nothing about how
// syncer stores what it fetches and never touches the warehouse.
package wavysim

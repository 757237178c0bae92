// Package digisacsim simulates the parts of Digisac's API that syncer reads:
// the lists of services, users, departments, contacts, tickets and messages
// with their envelope, Sequelize-style filters and includes, one record by
// id, the TXT export of a ticket and the OAuth password grant, with the
// bodies and status codes a real server answers and the shared fault knobs
// of internal/sim/fault. Simulator lists the routes and the order of checks.
//
// It owns Digisac's simulated data, one concern per file:
//
//   - model.go: the records as stored (structs, enumerations), and
//     samples.go the Portuguese names and texts they are drawn from;
//   - records.go, tickets.go and generate.go: how records are made, and the
//     initial data generated from the seed;
//   - mutate.go: the changes tests and demos make later (Edit, Create,
//     Remove);
//   - json.go and render.go: the JSON shapes and how records become them;
//   - transcript.go: the TXT export;
//   - handler.go and token.go: the HTTP side, and the issued tokens;
//   - tables.go and the query_*.go files: the query language of the lists.
//     tables.go exposes each resource's fields to it as typed accessors over
//     row numbers; query_values.go holds those values and the literals of a
//     query; query_where.go (and query_like.go) compile where clauses to
//     predicates; query_order.go sorts (caching each order and repairing it
//     after a few changes instead of sorting again) and pages;
//     query_params.go reads a request's parameters in both spellings Digisac
//     takes, a JSON `query` parameter and qs-style brackets
//     (where[field][$gte]=v).
//
// It must not date anything after its clock (Config.Now says how the
// initial data and the changes stay at or before it), and must not import
// internal/sim, which mounts it next to the other platforms, nor any part of
// syncer outside internal/sim: it knows nothing about how syncer stores what
// it fetches and never touches the warehouse.
package digisacsim

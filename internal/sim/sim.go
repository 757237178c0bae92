// Package sim serves the platform simulators: NewServers mounts each one
// under a prefix of its own (/ogmma/, /digisac/, /wavy/, /oxenty/), with a
// plain-text index at / and, under /_sim/, controls that change their data
// by hand. `syncer demo` and `syncer simulate` serve the simulators through
// it; tests may too.
//
// The simulators themselves live one package per platform
// (internal/sim/ogmma, internal/sim/digisac, internal/sim/wavy,
// internal/sim/oxenty), and what they share in packages of their own:
// internal/sim/fault (fault injection),
// internal/sim/clock (a manual clock), internal/sim/sample (seeded
// randomness and sample texts) and internal/sim/wire (the JSON encoding).
// Those packages must not import this one.
//
// Nothing here generates data or decides a platform's answers: it only
// routes to the simulators and calls their exported controls. Like the
// simulators, it never touches the warehouse.
package sim

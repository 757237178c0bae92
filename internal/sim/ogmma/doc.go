// Package ogmmasim simulates Ogmma's API: the one documented endpoint, the
// newest messages of a conversation, and the guessed listing of a channel's
// conversations (Simulator says which is which), with the bodies and status
// codes Ogmma documents and the shared fault knobs of internal/sim/fault.
//
// It owns Ogmma's simulated data: channels, conversations and messages
// generated from a seed (model.go, generate.go), rendered to the API's JSON
// only when served (render.go), changed later by AddMessages and Touch
// (changes.go), and served over HTTP (handler.go).
//
// It must not date anything after its clock (Config.Now says how the
// initial data and the changes stay at or before it), and must not import
// internal/sim, which mounts it next to the other platforms, nor any part of
// syncer outside internal/sim: it knows nothing about how syncer stores what
// it fetches and never touches the warehouse.
package ogmmasim

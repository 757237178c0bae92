// Package migrations holds the warehouse schema as goose SQL files, embedded
// in the binary. It only carries the files; internal/migrate runs them.
package migrations

import "embed"

// FS holds every NNNNN_name.sql migration of this directory.
//
//go:embed *.sql
var FS embed.FS

// Package sql embeds the SQL files that run whole rather than as named
// queries: roles.sql, which internal/roles runs for syncer migrate roles
// and which a database administrator can also run with psql. The named
// queries are in queries/, the migrations in ../migrations. It holds no
// Go logic.
package sql

import _ "embed"

// Roles is roles.sql: it defines pg_temp.syncer_roles, which makes the
// writer and analyst roles of a warehouse.
//
//go:embed roles.sql
var Roles string

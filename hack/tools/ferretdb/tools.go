//go:build tools

// Package tools pins the FerretDB (a MongoDB-compatible server over SQLite)
// that examples/marvel's local-db profile runs: MongoDB itself cannot be
// pulled or installed here. FerretDB is built from this module rather than
// with go install: its version package panics when the main module is
// FerretDB's own and the generated build/version/version.txt (absent from
// the module zip) is missing.
package tools

import _ "github.com/FerretDB/FerretDB/cmd/ferretdb"

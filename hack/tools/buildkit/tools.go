//go:build tools

// Package tools pins the BuildKit daemon (and its client, buildctl) that the test environment runs for
// multi-platform builds. buildkitd cannot be `go install`ed (its go.mod has
// exclude directives), so it is built from this module.
package tools

import (
	_ "github.com/moby/buildkit/cmd/buildctl"
	_ "github.com/moby/buildkit/cmd/buildkitd"
)

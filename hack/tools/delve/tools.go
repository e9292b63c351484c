//go:build tools

// Package tools pins the Delve that the Go debug support image carries
// (devloop debug starts Go containers under `dlv exec --headless`). It is
// built static (CGO_ENABLED=0) for linux/amd64 and linux/arm64 by
// hack/env/images.sh.
package tools

import _ "github.com/go-delve/delve/cmd/dlv"

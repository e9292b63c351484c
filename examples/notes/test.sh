#!/usr/bin/env bash
# Runs the unit tests of the three Go programs of the notes example. Each is
# its own module (stdlib only), so the repository's `go test ./...` skips them.
set -euo pipefail
cd "$(dirname "$0")"
export GOFLAGS=${GOFLAGS:-} GOPROXY=off
for m in web store seed; do
	echo "==> $m"
	(cd "$m" && go vet ./... && go test -race -count=1 ./...)
done

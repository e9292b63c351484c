#!/usr/bin/env bash
# Run every Go fuzz target of the module for the given time each (default 60s).
# The corpus found is kept under each package's testdata/fuzz.
set -euo pipefail
cd "$(dirname "$0")/.."
time=${1:-60s}
for pkg in $(go list ./...); do
	for target in $(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true); do
		echo "--- fuzz $pkg $target for $time"
		go test -run '^$' -fuzz "^${target}\$" -fuzztime "$time" "$pkg"
	done
done

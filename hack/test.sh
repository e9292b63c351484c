#!/usr/bin/env bash
# make test: install and start the real environment if it is not up, run the
# unit, integration and end-to-end tests, the examples' tests and short fuzz
# runs, then stop what this script started.
set -euo pipefail
cd "$(dirname "$0")/.."

started=0
if ! bash -c 'eval "$(hack/env/env.sh)" && docker version >/dev/null 2>&1 && kubectl get --raw=/readyz >/dev/null 2>&1'; then
	hack/env/up.sh
	started=1
fi
cleanup() {
	if [ "$started" = 1 ]; then
		hack/env/down.sh || true
	fi
}
trap cleanup EXIT

eval "$(hack/env/env.sh)"
t0=$(date +%s)
section() { printf '\n=== %s (+%ss)\n' "$1" "$(($(date +%s) - t0))"; }

section "lint"
make -s lint

section "examples"
examples/notes/test.sh
examples/marvel/test.sh

section "build devloop"
make -s build

section "go test -race (unit, integration, end-to-end)"
go test -race -count=1 -timeout 50m ./...

section "fault injection (stops and restarts shared daemons: one package at a time)"
DEVLOOP_FAULTS=1 go test -race -count=1 -p 1 -timeout 20m ./test/faults/

section "fuzz (short)"
hack/fuzz.sh "${FUZZTIME:-5s}"

section "done"

#!/usr/bin/env bash
# make soak: `devloop dev` through DEVLOOP_SOAK_CYCLES edit cycles (default
# 300) on a copy of examples/notes, against the environment `make env-up`
# started. The figures (RSS, fds, threads after cycle 10 and at the end,
# edit→served times) are in the test's log lines; the whole output is kept in
# ${DEVLOOP_SOAK_LOG:-/tmp/devloop-soak.log}.
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(hack/env/env.sh)"
export DEVLOOP_SOAK=1 GOTOOLCHAIN=local
log=${DEVLOOP_SOAK_LOG:-/tmp/devloop-soak.log}
go test -count=1 -v -timeout "${DEVLOOP_SOAK_TIMEOUT:-6h}" -run TestSoak ./test/soak/ 2>&1 | tee "$log"

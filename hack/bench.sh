#!/usr/bin/env bash
# make bench: measure devloop's inner loop on the real environment against
# baselines taken in the same run; prints a table and writes
# bench/results/<date>.json. BENCH_QUICK=1 for a short run (< 5 min);
# BENCH_ONLY=change,idle,... to run some scenarios. Every devloop runs with
# --cpu-profile; the profiles of scenarios that missed a target are kept under
# bench/results/profiles/. Brings the environment up
# when it is not (and stops it again at the end); exits 0 when targets are
# missed (the benchmark reports, tests judge correctness).
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
make -s build
go build -o bin/devloop-bench ./bench
args=()
if [ "${BENCH_QUICK:-0}" = 1 ]; then
	args+=(-quick)
fi
if [ -n "${BENCH_ONLY:-}" ]; then
	args+=(-only "$BENCH_ONLY")
fi
bin/devloop-bench -devloop bin/devloop "${args[@]}"

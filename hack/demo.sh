#!/usr/bin/env bash
# make demo: bring up what is missing (Docker, buildx, BuildKit, registry, a
# Kubernetes cluster), build devloop, deploy examples/notes with
# `devloop run --port-forward`, show the page it serves, and keep it running
# until Ctrl-C. DEMO_EXIT=1 stops after showing the page (for scripts).
# Daemons this script started are stopped when it ends.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

started=0
if ! bash -c 'eval "$(hack/env/env.sh)" && docker version >/dev/null 2>&1 && kubectl get --raw=/readyz >/dev/null 2>&1'; then
	hack/env/up.sh
	started=1
fi
eval "$(hack/env/env.sh)"

echo "==> building devloop"
make -s build

port=${DEMO_PORT:-8080}
log=$(mktemp /tmp/devloop-demo.XXXXXX)
pid=""
finish() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -INT "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	if [ "$started" = 1 ]; then
		echo "==> stopping the environment this demo started"
		hack/env/down.sh || true
	fi
	rm -f "$log"
}
trap finish EXIT
trap 'exit 130' INT TERM

echo "==> devloop run --port-forward (examples/notes)"
cd examples/notes
"$repo/bin/devloop" run --port-forward > >(tee "$log") 2>&1 &
pid=$! # devloop itself, so Ctrl-C and the exit trap reach it
cd "$repo"

url="http://127.0.0.1:$port/"
for _ in $(seq 1 600); do
	if curl -fsS --max-time 2 "$url" >/dev/null 2>&1; then
		break
	fi
	if ! kill -0 "$pid" 2>/dev/null; then
		echo "devloop exited before the page answered; see the output above" >&2
		exit 1
	fi
	sleep 0.5
done
echo
echo "==> $url answers; its first lines:"
curl -fsS --max-time 5 "$url" | head -n 15
echo
echo "==> the notes API: $(curl -fsS --max-time 5 "${url}api/notes" | head -c 300)"
echo
if [ "${DEMO_EXIT:-0}" = 1 ]; then
	exit 0
fi
echo "==> open $url in a browser; Ctrl-C to stop"
wait "$pid"

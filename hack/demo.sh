#!/usr/bin/env bash
# make demo [EXAMPLE=notes|marvel]: bring up what is missing (Docker, buildx,
# BuildKit, registry, a Kubernetes cluster), build devloop, deploy the example
# with `devloop run --port-forward` (marvel with its local-db profile, FerretDB
# in place of MongoDB), show what it serves, say what to edit to see the loop
# work, and keep it running until Ctrl-C. DEMO_EXIT=1 stops after showing the
# page (for scripts). Daemons this script started are stopped when it ends.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

example=${EXAMPLE:-notes}
case "$example" in
notes)
	run_args=(run --port-forward)
	api=api/notes
	dev_cmd="devloop dev"
	edits=(
		"web/version.go (the version string): the page footer and /version show the new one"
		"web/templates/page.html: the image is rebuilt and rolled out, reload the page"
	)
	;;
marvel)
	run_args=(run -p local-db --port-forward)
	api=api/characters/random
	dev_cmd="devloop dev -p local-db"
	edits=(
		"frontend/templates/base.html (the <h1> heading): synced into the container, reload the page"
		"frontend/app.py (CARDS_PER_PAGE = 6 to 3): synced, gunicorn restarts its workers at once"
		"init-db/characters.json (add a character): init-db is rebuilt and its Job loads the new one"
	)
	;;
*)
	echo "make demo: EXAMPLE=$example is not an example; expected notes or marvel" >&2
	exit 2
	;;
esac

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

echo "==> devloop ${run_args[*]} (examples/$example)"
cd "examples/$example"
"$repo/bin/devloop" "${run_args[@]}" > >(tee "$log") 2>&1 &
pid=$! # devloop itself, so Ctrl-C and the exit trap reach it
cd "$repo"

url="http://127.0.0.1:$port/"
for _ in $(seq 1 1200); do
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
# Read whole answers, then cut them: curl into a closed pipe (head) fails.
page=$(curl -fsS --max-time 5 "$url")
answer=$(curl -fsS --max-time 5 "${url}${api}")
echo "==> $url answers; its first lines:"
printf '%s\n' "$page" | head -n 15 | cut -c1-160
echo
# Without marvel's inline artwork, so that the character's name shows.
answer=$(printf '%s' "$answer" | sed -E 's/"image": ?"data:[^"]*",? ?//')
echo "==> ${url}${api}: ${answer:0:300}"
echo
stop="stop this demo (Ctrl-C), then"
[ "${DEMO_EXIT:-0}" = 1 ] && stop="run"
echo "==> to see the loop work: $stop"
echo "      eval \"\$(make -s env)\"; export PATH=\$PWD/bin:\$PATH"
echo "      cd examples/$example && $dev_cmd"
echo "    and, while it runs, edit in examples/$example:"
for e in "${edits[@]}"; do
	echo "      - $e"
done
echo "    then open $url again."
if [ "${DEMO_EXIT:-0}" = 1 ]; then
	exit 0
fi
echo
echo "==> open $url in a browser; Ctrl-C to stop"
wait "$pid"

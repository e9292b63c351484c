#!/usr/bin/env bash
# Shared layout and helpers of the local test environment. Sourced by up.sh,
# down.sh and the per-component scripts; defines no state of its own beyond
# these paths. Every daemon writes its pid to $RUN/<name>.pid and its log to
# $LOGS/<name>.log, and is stopped by that pid only.
set -euo pipefail

ENV_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$ENV_ROOT/../.." && pwd)

# Built once, kept between runs on the same machine (binaries, root filesystems).
CACHE=${DEVLOOP_ENV_CACHE:-$HOME/.cache/devloop-env}
BIN=$CACHE/bin
# Persistent state (data roots, certificates, kubeconfig).
STATE=${DEVLOOP_ENV_STATE:-/var/lib/devloop-env}
# Runtime state (sockets, pids, exec roots); may vanish with a reboot.
RUN=${DEVLOOP_ENV_RUN:-/run/devloop-env}
LOGS=$STATE/logs

# Two Docker Engines: 20 is Debian 12's docker.io 20.10 with its graph-driver
# image store (docker.sh), 26 is Debian 13's docker.io 26.1.5 with containerd
# 1.7 and the containerd image store (engine26.sh).
DOCKER20_SOCK=$RUN/docker.sock
DOCKER26_SOCK=$RUN/docker26.sock
# DEFAULT_ENGINE is the engine the environment treats as default: DOCKER_HOST
# of `make -s env`, the engine env-up builds in and creates the kind cluster
# in, and the one make test runs the whole suite on (the other one gets the
# focused suite, hack/test.sh). Flipping it (20 or 26) is this one line.
DEFAULT_ENGINE=26
case $DEFAULT_ENGINE in
20) DOCKER_SOCK=$DOCKER20_SOCK ;;
26) DOCKER_SOCK=$DOCKER26_SOCK ;;
*) echo "hack/env/lib.sh: DEFAULT_ENGINE=$DEFAULT_ENGINE, want 20 or 26" >&2 && exit 1 ;;
esac
DOCKER_HOST_URL=unix://$DOCKER_SOCK
DOCKER_CONFIG_DIR=$STATE/docker-config
BUILDKIT_SOCK=$RUN/buildkitd.sock
BUILDER_MULTI=devloop-multi
REGISTRY=127.0.0.1:5000
CONTAINERD_SOCK=$RUN/containerd/containerd.sock
KUBECONFIG_FILE=$STATE/kubeconfig
KUBE_CONTEXT=devloop-env
POD_CIDR=10.244.0.0/24
POD_GATEWAY=10.244.0.1
SERVICE_CIDR=10.96.0.0/16
CLUSTER_DNS=$POD_GATEWAY
CLUSTER_DOMAIN=cluster.local

# Versions pinned for the environment (see docs/development.md).
BUILDX_VERSION=v0.33.0
KUBE_VERSION=v1.34.4
BUILDKIT_VERSION=v0.29.0
COREDNS_VERSION=v1.15.0

mkdir -p "$CACHE" "$BIN" "$STATE" "$RUN" "$LOGS"

_step_name=""
_step_start=0

# step NAME: announce a step; done_step prints how long it took.
step() {
	_step_name=$1
	_step_start=$(date +%s.%N)
	printf '==> %s\n' "$_step_name" >&2
}

done_step() {
	local end
	end=$(date +%s.%N)
	printf '    %s: %.1fs\n' "$_step_name" "$(echo "$end - $_step_start" | bc)" >&2
}

# die MSG [LOG]: fail naming the step and the log to read.
die() {
	printf 'env: %s failed: %s\n' "${_step_name:-setup}" "$1" >&2
	if [ -n "${2:-}" ] && [ -f "$2" ]; then
		printf '    last lines of %s:\n' "$2" >&2
		tail -n 20 "$2" | sed 's/^/    | /' >&2
	fi
	exit 1
}

# running NAME: true when $RUN/NAME.pid names a live process.
running() {
	local pidfile=$RUN/$1.pid
	[ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

# start_daemon NAME CMD...: start CMD in the background, detached from this
# shell, logging to $LOGS/NAME.log and recording its pid. No-op if running.
start_daemon() {
	local name=$1
	shift
	if running "$name"; then
		return 0
	fi
	rm -f "$RUN/$name.pid"
	setsid "$@" >>"$LOGS/$name.log" 2>&1 </dev/null &
	echo $! >"$RUN/$name.pid"
}

# stop_daemon NAME [TIMEOUT]: SIGTERM by pid, then SIGKILL after TIMEOUT seconds.
stop_daemon() {
	local name=$1 timeout=${2:-15} pidfile=$RUN/$1.pid pid i
	[ -f "$pidfile" ] || return 0
	pid=$(cat "$pidfile")
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		for ((i = 0; i < timeout * 10; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$pidfile"
}

# wait_for DESC TIMEOUT CMD...: retry CMD until it succeeds or TIMEOUT seconds pass.
wait_for() {
	local desc=$1 timeout=$2 i
	shift 2
	for ((i = 0; i < timeout * 5; i++)); do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.2
	done
	return 1
}

# apt_ensure PKG...: install the Debian packages that are missing.
apt_ensure() {
	local missing=() p installed
	# One dpkg-query for all: a warm env-up must stay fast.
	# dpkg-query fails for a package never installed: that is not an error here.
	installed=" $({ dpkg-query -W -f='${Package} ${Status}\n' "$@" 2>/dev/null || true; } |
		awk '/install ok installed$/ { print $1 }' | tr '\n' ' ') "
	for p in "$@"; do
		[[ $installed == *" $p "* ]] || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ ! -f "$STATE/.apt-updated" ] || [ -n "$(find "$STATE/.apt-updated" -mmin +1440 2>/dev/null)" ]; then
		apt-get update >>"$LOGS/apt.log" 2>&1 || die "apt-get update" "$LOGS/apt.log"
		touch "$STATE/.apt-updated"
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >>"$LOGS/apt.log" 2>&1 ||
		die "apt-get install ${missing[*]}" "$LOGS/apt.log"
}

# bg_build NAME CMD...: start a long build (an external command) in the
# background of the calling shell, in its own process group, logging to
# $LOGS/build-NAME.log. wait_build NAME waits for it and fails naming the log;
# kill_builds stops the builds still running (up.sh calls it on exit).
declare -A _bg_builds=()
bg_build() {
	local name=$1
	shift
	: >"$LOGS/build-$name.log"
	setsid "$@" >>"$LOGS/build-$name.log" 2>&1 </dev/null &
	_bg_builds[$name]=$!
	printf '    building %s in the background (log %s)\n' "$name" "$LOGS/build-$name.log" >&2
}

wait_build() {
	local name=$1 pid=${_bg_builds[$1]:-}
	[ -n "$pid" ] || return 0
	unset "_bg_builds[$name]"
	wait "$pid" || die "build of $name" "$LOGS/build-$name.log"
}

kill_builds() {
	local name
	for name in "${!_bg_builds[@]}"; do
		kill -TERM -- "-${_bg_builds[$name]}" 2>/dev/null || true
	done
	_bg_builds=()
}

# stamp_ok NAME VALUE: true when $BIN/.NAME.stamp holds VALUE (the pinned
# version and inputs a binary was built from); stamp_write NAME VALUE records it.
stamp_ok() {
	[ -f "$BIN/.$1.stamp" ] && [ "$(cat "$BIN/.$1.stamp")" = "$2" ]
}

stamp_write() {
	printf '%s' "$2" >"$BIN/.$1.stamp"
}

# unmount_under DIR...: lazily unmount every mount point below each DIR,
# deepest first (overlay, shm and netns mounts left by a killed daemon).
unmount_under() {
	local dir m
	for dir in "$@"; do
		dir=$(realpath -m "$dir")
		awk -v d="$dir/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo |
			awk '{ print length($0) " " $0 }' | sort -rn | cut -d' ' -f2- |
			while read -r m; do
				umount -l "$m" 2>/dev/null || true
			done
	done
}

# stop_pidfile FILE [TIMEOUT]: stop the process named by a pid file that a
# daemon wrote itself (e.g. dockerd's managed containerd), then remove the file.
stop_pidfile() {
	local file=$1 timeout=${2:-15} pid i
	[ -f "$file" ] || return 0
	pid=$(cat "$file" 2>/dev/null || true)
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		for ((i = 0; i < timeout * 10; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$file"
}

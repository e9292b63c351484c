#!/usr/bin/env bash
# The second Docker Engine: Debian 13 (trixie)'s docker.io 26.1.5 with
# trixie's containerd 1.7 as its managed containerd and the containerd image
# store ("features": {"containerd-snapshotter": true}), the store that Docker
# Desktop's new installs use. Beside Engine 20.10 (docker.sh), never instead
# of it: the packages are fetched with a private apt state (the system's apt
# is not touched) and unpacked into $CACHE; the engine has its own socket,
# data root, exec root, pid files, bridge and address pools.
#
# It leaves iptables to us ("iptables": false): on start an engine resets the
# DOCKER chains, which would drop Engine 20.10's port mappings while other
# tests use them. Its bridge and networks live in $ENGINE26_NET, forwarded
# and masqueraded by the rules engine26_rules adds (comment devloop-env26).
# Published ports go through its docker-proxy, as 127.0.0.1 mappings do anyway.
#
# Sourced after lib.sh and docker.sh by up.sh, down.sh and env.sh:
#   engine26_fetch  download and unpack the packages unless cached
#   engine26_up     start the engine unless it answers with this configuration
#   engine26_down   stop it by pid (data root kept)
#   engine26_prune_build_cache  empty its build cache (env-down, before the stop)
#   engine26_env    the export line for `make -s env`

# Upstream versions taken from trixie; any Debian revision of them is accepted
# (trixie's archive keeps only the newest, e.g. a +deb13uN security update).
ENGINE26_DOCKER_VERSION=26.1.5
ENGINE26_CONTAINERD_VERSION=1.7.24
ENGINE26_SUITE=trixie
ENGINE26_DIR=$CACHE/engine26
# The unpacked packages: usr/sbin/dockerd, usr/bin/containerd, ...
ENGINE26_ROOT=$ENGINE26_DIR/root
ENGINE26_DATA=$STATE/docker26
ENGINE26_EXEC=$RUN/docker26-exec
ENGINE26_CONFIG=$STATE/daemon26.json
ENGINE26_LOG=$LOGS/dockerd26.log
# dockerd writes its own pid file; start_daemon keeps $RUN/dockerd26.pid.
ENGINE26_SELF_PID=$RUN/dockerd26.self.pid
ENGINE26_CONTAINERD_PID=$ENGINE26_EXEC/containerd/containerd.pid
ENGINE26_BRIDGE=devloop26
# Outside Engine 20.10's default pools (172.17-31.0.0/16, 192.168.0.0/16) and
# the clusters' ranges (10.244.0.0/24, 10.96.0.0/16, kind's 10.250/10.112).
ENGINE26_NET=10.200.0.0/15
ENGINE26_BIP=10.200.0.1/24
ENGINE26_POOL=10.201.0.0/16

# _docker26: the docker CLI on Engine 26, whichever engine is the default.
_docker26() { DOCKER_HOST=unix://$DOCKER26_SOCK docker "$@"; }

# _engine26_path: PATH with the unpacked binaries first, so that dockerd starts
# containerd 1.7 (not the system's 1.6) and containerd finds its own shim.
_engine26_path() { echo "$ENGINE26_ROOT/usr/bin:$ENGINE26_ROOT/usr/sbin:$PATH"; }

_engine26_stamp() { echo "$ENGINE26_SUITE docker.io $ENGINE26_DOCKER_VERSION containerd $ENGINE26_CONTAINERD_VERSION tini"; }

# engine26_fetch: see the header. The .debs stay in $ENGINE26_DIR/debs.
engine26_fetch() {
	local apt=$ENGINE26_DIR/apt log=$LOGS/engine26-fetch.log opts pkg want ver
	if stamp_ok engine26 "$(_engine26_stamp)" && [ -x "$ENGINE26_ROOT/usr/sbin/dockerd" ] &&
		[ -x "$ENGINE26_ROOT/usr/bin/containerd" ]; then
		return 0
	fi
	: >"$log"
	mkdir -p "$apt"/{lists,cache,etc/apt/preferences.d,etc/apt/apt.conf.d} "$ENGINE26_DIR/debs"
	echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $ENGINE26_SUITE main" \
		>"$apt/etc/apt/sources.list"
	opts=(-o "Dir::Etc=$apt/etc/apt" -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache"
		-o Debug::NoLocking=1 -o Dir::State::status=/dev/null -o APT::Sandbox::User=root)
	apt-get "${opts[@]}" update >>"$log" 2>&1 || die "apt-get update ($ENGINE26_SUITE, private state in $apt)" "$log"
	rm -f "$ENGINE26_DIR"/debs/*.deb
	for pkg in docker.io:$ENGINE26_DOCKER_VERSION containerd:$ENGINE26_CONTAINERD_VERSION tini:; do
		want=${pkg#*:}
		pkg=${pkg%%:*}
		ver=$(apt-cache "${opts[@]}" policy "$pkg" 2>>"$log" | sed -n 's/^  Candidate: //p')
		case $ver in
		"" | "(none)") die "$ENGINE26_SUITE has no $pkg" "$log" ;;
		"$want"[~+-]* | "$want") ;;
		*) [ -z "$want" ] || die "$ENGINE26_SUITE's $pkg is $ver, not $want: update ENGINE26_*_VERSION in $ENV_ROOT/engine26.sh" "$log" ;;
		esac
		(cd "$ENGINE26_DIR/debs" && apt-get "${opts[@]}" download "$pkg=$ver") >>"$log" 2>&1 ||
			die "apt-get download $pkg=$ver" "$log"
	done
	rm -rf "$ENGINE26_ROOT.tmp"
	mkdir -p "$ENGINE26_ROOT.tmp"
	for pkg in "$ENGINE26_DIR"/debs/*.deb; do
		dpkg-deb -x "$pkg" "$ENGINE26_ROOT.tmp" >>"$log" 2>&1 || die "dpkg-deb -x $pkg" "$log"
	done
	"$ENGINE26_ROOT.tmp/usr/sbin/dockerd" --version >>"$log" 2>&1 ||
		die "the unpacked dockerd does not run on this system" "$log"
	rm -rf "$ENGINE26_ROOT"
	mv "$ENGINE26_ROOT.tmp" "$ENGINE26_ROOT"
	stamp_write engine26 "$(_engine26_stamp)"
}

# engine26_config prints daemon26.json: the same default runtime as Engine
# 20.10 (runcwrap, see dockerd_config), the containerd image store, and the
# network settings that keep it apart from Engine 20.10. live-restore is
# there for docker0: a dockerd restarting with default-address-pools and
# without live-restore deletes the bridge named docker0, whoever owns it
# (moby daemon_unix.go, "Clear stale bridge network"), which is Engine
# 20.10's. engine26_down stops the containers itself.
engine26_config() {
	cat <<EOF
{
  "features": {"containerd-snapshotter": true},
  "runtimes": {"devloop-runc": {"path": "$BIN/runcwrap"}},
  "default-runtime": "devloop-runc",
  "bridge": "$ENGINE26_BRIDGE",
  "default-address-pools": [{"base": "$ENGINE26_POOL", "size": 24}],
  "iptables": false,
  "ip6tables": false,
  "live-restore": true,
  "cgroup-parent": "/docker26"
}
EOF
}

# engine26_rules add|del: forward and masquerade the engine's networks
# (dockerd with "iptables": false does neither; the FORWARD policy is DROP).
engine26_rules() {
	local rule rules=(
		"FORWARD -s $ENGINE26_NET -m comment --comment devloop-env26 -j ACCEPT"
		"FORWARD -d $ENGINE26_NET -m comment --comment devloop-env26 -j ACCEPT"
		"POSTROUTING -t nat -s $ENGINE26_NET ! -d $ENGINE26_NET -m comment --comment devloop-env26 -j MASQUERADE"
	)
	for rule in "${rules[@]}"; do
		# shellcheck disable=SC2086 # each rule is a word list
		if [ "$1" = add ]; then
			iptables -w -C $rule 2>/dev/null || iptables -w -I $rule
		else
			while iptables -w -D $rule 2>/dev/null; do :; done
		fi
	done
}

# _engine26_bridge: dockerd only creates a bridge named docker0 itself; with
# "bridge" set it takes the subnet from the bridge's address ("bip" is
# refused beside it).
_engine26_bridge() {
	if ! ip link show "$ENGINE26_BRIDGE" >/dev/null 2>&1; then
		ip link add name "$ENGINE26_BRIDGE" type bridge || die "ip link add $ENGINE26_BRIDGE"
	fi
	if ! ip -4 addr show dev "$ENGINE26_BRIDGE" | grep -q "inet $ENGINE26_BIP "; then
		ip addr flush dev "$ENGINE26_BRIDGE"
		ip addr add "$ENGINE26_BIP" dev "$ENGINE26_BRIDGE" || die "ip addr add $ENGINE26_BIP dev $ENGINE26_BRIDGE"
	fi
	ip link set "$ENGINE26_BRIDGE" up || die "ip link set $ENGINE26_BRIDGE up"
}

# engine26_clean removes what a killed Engine 26 left behind: its managed
# containerd and the shims under it, pid files, sockets and mounts under its
# data and exec roots.
engine26_clean() {
	stop_pidfile "$ENGINE26_CONTAINERD_PID" 10
	_engine26_kill_shims
	rm -f "$RUN/dockerd26.pid" "$ENGINE26_SELF_PID" "$DOCKER26_SOCK"
	unmount_under "$ENGINE26_DATA" "$ENGINE26_EXEC"
	rm -rf "$ENGINE26_EXEC"
}

# _engine26_kill_shims: containerd-shim-runc-v2 processes of this engine's
# containerd outlive it (they keep containers running); with containerd gone
# they are orphans holding mounts. They are ours by their -address argument.
_engine26_kill_shims() {
	local pid cmd
	for pid in $(pgrep -f -- "-address $ENGINE26_EXEC/containerd/containerd.sock" 2>/dev/null || true); do
		cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)
		[[ $cmd == *containerd-shim* ]] && kill -KILL "$pid" 2>/dev/null || true
	done
}

# _engine26_ok: running, answering, with this configuration, on containerd 1.7.
_engine26_ok() {
	running dockerd26 && _docker26 version >/dev/null 2>&1 &&
		[ "$(engine26_config)" = "$(cat "$ENGINE26_CONFIG" 2>/dev/null)" ] &&
		[ "$(readlink "/proc/$(cat "$ENGINE26_CONTAINERD_PID" 2>/dev/null)/exe" 2>/dev/null)" = "$(realpath -m "$ENGINE26_ROOT/usr/bin/containerd")" ]
}

# engine26_up: see the header. Needs $BIN/runcwrap (kind_wait_runcwrap).
engine26_up() {
	local config store i
	engine26_fetch
	engine26_rules add
	if _engine26_ok; then
		return 0
	fi
	[ -x "$BIN/runcwrap" ] || die "$BIN/runcwrap is missing (built by kind_builds)"
	if running dockerd26 && _docker26 version >/dev/null 2>&1; then
		printf '    restarting dockerd 26: its configuration changed\n' >&2
	fi
	engine26_down
	engine26_clean
	_engine26_bridge
	config=$(engine26_config)
	mkdir -p "$ENGINE26_DATA" "$ENGINE26_EXEC"
	printf '%s\n' "$config" >"$ENGINE26_CONFIG"
	local attempt mark stale_leases=false
	for attempt in 1 2; do
		mark=$(wc -c <"$ENGINE26_LOG" 2>/dev/null || echo 0)
		_engine26_start
		for ((i = 0; ; i++)); do
			_docker26 version >/dev/null 2>&1 && break 2
			if ! running dockerd26; then
				# A run killed while the engine started can leave two records of
				# its default network ("networks have same bridge name"): the
				# network store is rebuilt (the kind network is made anew).
				if [ "$attempt" = 1 ] && tail -c +"$((mark + 1))" "$ENGINE26_LOG" | grep -q 'networks have same bridge name'; then
					printf '    dockerd 26: stale network records; rebuilding its network store\n' >&2
					engine26_down
					engine26_clean
					rm -f "$ENGINE26_DATA/network/files/local-kv.db"
					continue 2
				fi
				if [ "$attempt" = 1 ] && _engine26_slow_build_cache "$mark"; then
					printf '    dockerd 26: its build cache took over 10 s to load (moby#48569, fixed in Engine 27); starting with an empty one\n' >&2
					engine26_down
					engine26_clean
					rm -rf "$ENGINE26_DATA/buildkit"
					stale_leases=true
					continue 2
				fi
				die "dockerd 26 exited" "$ENGINE26_LOG"
			fi
			[ "$i" -lt 300 ] || die "dockerd 26 did not answer on $DOCKER26_SOCK" "$ENGINE26_LOG"
			sleep 0.2
		done
	done
	if $stale_leases; then
		_engine26_drop_build_leases
	fi
	store=$(_docker26 info -f '{{.Driver}} {{.DriverStatus}}' 2>>"$ENGINE26_LOG") || die "docker info on Engine 26" "$ENGINE26_LOG"
	[[ $store == *io.containerd.snapshotter.v1* ]] ||
		die "Engine 26 does not use the containerd image store (docker info: $store)" "$ENGINE26_LOG"
	_engine26_ok || die "Engine 26 does not run on containerd $ENGINE26_CONTAINERD_VERSION from $ENGINE26_ROOT" "$ENGINE26_LOG"
}

# _engine26_slow_build_cache MARK: whether dockerd 26's log after byte MARK
# shows the Engine 26 bug moby#48569: the daemon initialised, then gave up
# with "context deadline exceeded" before serving its API because its
# built-in BuildKit did not load every build record within the 10 s its
# router is given. Hundreds of records (a whole make test) take 6-12 s on a
# 2-core machine. env-down prunes the build cache so that it does not come to
# this; a run killed before env-down can still leave one that large.
_engine26_slow_build_cache() {
	local tail
	tail=$(tail -c +"$(($1 + 1))" "$ENGINE26_LOG")
	grep -q 'Daemon has completed initialization' <<<"$tail" &&
		grep -qx 'context deadline exceeded' <<<"$tail" &&
		! grep -q 'API listen on' <<<"$tail"
}

# _engine26_drop_build_leases: after the build cache's records were removed,
# the containerd leases they held (BuildKit's: 25 base-32 characters, and
# their -variants) would keep the snapshots and blobs forever; they are
# released so that containerd's garbage collector frees them. Runs right
# after the start, before anything builds.
_engine26_drop_build_leases() {
	local ctr=(env PATH="$(_engine26_path)" ctr -a "$ENGINE26_EXEC/containerd/containerd.sock" -n moby)
	local ids
	ids=$("${ctr[@]}" leases ls -q 2>>"$ENGINE26_LOG" | grep -E '^[a-z0-9]{25}(-variants)?$' || true)
	[ -n "$ids" ] || return 0
	# shellcheck disable=SC2086 # one id a word
	"${ctr[@]}" leases rm $ids >>"$ENGINE26_LOG" 2>&1 ||
		printf '    dockerd 26: could not release the old build leases (see %s); their disk space stays used\n' "$ENGINE26_LOG" >&2
}

# engine26_prune_build_cache: empty Engine 26's build cache while it runs,
# so that its next start loads no records (see _engine26_slow_build_cache).
# Images are kept; the next build of each test image starts cold.
engine26_prune_build_cache() {
	running dockerd26 && _docker26 version >/dev/null 2>&1 || return 0
	DOCKER_HOST=unix://$DOCKER26_SOCK timeout 300 docker builder prune -af >/dev/null 2>>"$ENGINE26_LOG" ||
		printf '    could not prune the build cache of dockerd 26 (see %s)\n' "$ENGINE26_LOG" >&2
}

# _engine26_start starts dockerd 26. No --containerd: dockerd starts the
# containerd on its PATH (1.7, from $ENGINE26_ROOT) under the exec root,
# apart from Engine 20.10's and the cluster's.
_engine26_start() {
	PATH=$(_engine26_path) start_daemon dockerd26 "$ENGINE26_ROOT/usr/sbin/dockerd" \
		--config-file "$ENGINE26_CONFIG" \
		-H "unix://$DOCKER26_SOCK" \
		--data-root "$ENGINE26_DATA" \
		--exec-root "$ENGINE26_EXEC" \
		--pidfile "$ENGINE26_SELF_PID" \
		--insecure-registry "$REGISTRY" \
		--registry-mirror "http://$REGISTRY"
}

# engine26_down: see the header. With live-restore the containers would
# outlive the daemon: they are stopped first.
engine26_down() {
	local ids
	if running dockerd26 && ids=$(_docker26 ps -q 2>/dev/null) && [ -n "$ids" ]; then
		# shellcheck disable=SC2086 # one id a word
		_docker26 stop -t 10 $ids >/dev/null 2>&1 || true
	fi
	stop_daemon dockerd26 30
	stop_pidfile "$ENGINE26_SELF_PID" 5
	stop_pidfile "$ENGINE26_CONTAINERD_PID" 10
	rm -f "$DOCKER26_SOCK"
}

# engine26_down_all: engine26_down, then the rules, mounts and the bridge.
engine26_down_all() {
	engine26_down
	engine26_clean
	engine26_rules del
	if ip link show "$ENGINE26_BRIDGE" >/dev/null 2>&1; then
		ip link delete "$ENGINE26_BRIDGE" 2>/dev/null || true
	fi
}

# engine26_env: the export line for `make -s env`.
engine26_env() {
	printf 'export DEVLOOP_DOCKER_HOST_26=%q\n' "unix://$DOCKER26_SOCK"
	# The containerd behind Engine 26's image store, which Engine 26 does not
	# report: devloop reads the blobs a cluster lacks from it instead of the
	# whole docker save (used only when it holds the engine's image).
	printf 'export DEVLOOP_ENGINE_CONTAINERD=%q\n' "$ENGINE26_EXEC/containerd/containerd.sock"
}

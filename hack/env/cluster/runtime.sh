#!/usr/bin/env bash
# Cleanup of what the cluster's runtime leaves on the host (sourced by
# ../cluster.sh): container shims and their processes, overlay/shm/netns/
# volume mounts, CNI IP reservations, the bridge and iptables rules. Used by
# cluster_down and by cluster_up after a run that was killed without cleanup;
# only what this cluster's containerd, CNI network and kubelet made is touched.

# _kc_exe_is NAME PATH: true when the pid file NAME names a live process
# running the binary PATH (and not some later process that reused the pid).
_kc_exe_is() {
	local pidfile=$RUN/$1.pid pid exe
	[ -f "$pidfile" ] || return 1
	pid=$(cat "$pidfile" 2>/dev/null) || return 1
	exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
	[ "${exe% (deleted)}" = "$2" ]
}

# _kc_forget_stale NAME PATH: drop a pid file that no longer names PATH.
_kc_forget_stale() {
	if [ -f "$RUN/$1.pid" ] && ! _kc_exe_is "$1" "$2"; then
		rm -f "$RUN/$1.pid"
	fi
}

# _kc_shim_pids: containerd shims serving this cluster's containerd.
_kc_shim_pids() {
	local p cmd
	for p in /proc/[0-9]*; do
		cmd=$(tr '\0' ' ' 2>/dev/null <"$p/cmdline") || continue
		case $cmd in
		*containerd-shim*" -address $CONTAINERD_SOCK"*) echo "${p#/proc/}" ;;
		esac
	done
}

# _kc_descendants PID...: every process below the given ones.
_kc_descendants() {
	ps -e -o pid=,ppid= | awk -v roots="$*" '
		BEGIN { n = split(roots, r, " "); for (i = 1; i <= n; i++) want[r[i]] = 1 }
		{ parent[$1] = $2 }
		END {
			do {
				changed = 0
				for (p in parent) if (!(p in want) && (parent[p] in want)) { want[p] = 1; out[p] = 1; changed = 1 }
			} while (changed)
			for (p in out) print p
		}'
}

# _kc_kill_shims: SIGKILL the shims of this cluster's containerd and the
# container processes below them (left behind when containerd was killed).
_kc_kill_shims() {
	local shims kids i
	shims=$(_kc_shim_pids | tr '\n' ' ')
	[ -n "${shims// /}" ] || return 0
	kids=$(_kc_descendants $shims | tr '\n' ' ')
	# shellcheck disable=SC2086
	kill -KILL $kids $shims 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		[ -z "$(_kc_shim_pids)" ] && break
		sleep 0.1
	done
}

# _kc_unmount DIR...: unmount every mount point at or below each DIR,
# deepest first, until none is left.
_kc_unmount() {
	local dir m round
	for dir in "$@"; do
		dir=$(realpath -m "$dir")
		for round in 1 2 3; do
			m=$(awk -v d="$dir" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo |
				awk '{ print length($0) " " $0 }' | sort -rn | cut -d' ' -f2-)
			[ -n "$m" ] || break
			while read -r m; do
				umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
			done <<<"$m"
		done
	done
}

# _kc_cni_iptables_clean: delete the NAT rules the bridge and portmap plugins
# added for this network, then their per-pod chains.
_kc_cni_iptables_clean() {
	local rule chain save
	iptables-save -t nat 2>/dev/null | grep '^-A ' | grep -F "\\\"$KC_CNI_NET\\\"" | sed 's/^-A /-D /' |
		while IFS= read -r rule; do
			eval "iptables -w -t nat $rule" 2>/dev/null || true
		done || true
	save=$(iptables-save -t nat 2>/dev/null)
	for chain in $(printf '%s\n' "$save" | sed -n 's/^:\(CNI-[^ ]*\) .*/\1/p'); do
		case $chain in CNI-HOSTPORT-*) continue ;; esac
		if printf '%s\n' "$save" | grep -q -- "-j $chain\$\|-j $chain "; then
			continue
		fi
		iptables -w -t nat -F "$chain" 2>/dev/null || true
		iptables -w -t nat -X "$chain" 2>/dev/null || true
	done
}

# _kc_forward_rules add|del: accept forwarding from and to the pod bridge
# (dockerd sets the FORWARD policy to DROP, and bridged traffic is filtered).
_kc_forward_rules() {
	local dir
	for dir in -i -o; do
		local rule=(FORWARD "$dir" "$KC_BRIDGE" -m comment --comment devloop-env -j ACCEPT)
		if [ "$1" = add ]; then
			iptables -w -C "${rule[@]}" 2>/dev/null || iptables -w -I "${rule[@]}"
		else
			while iptables -w -D "${rule[@]}" 2>/dev/null; do :; done
		fi
	done
}

# _kc_reset_runtime: with containerd stopped, remove what its pods left:
# what a reboot would clear. Container records and images stay; the CRI
# then sees the old sandboxes as stopped and the kubelet replaces them.
_kc_reset_runtime() {
	_kc_kill_shims
	_kc_unmount "$KC_CTRD_STATE" "$KC_KUBELET_DIR/pods" "$STATE/containerd" "$KC_RUNC_ROOT"
	rm -rf --one-file-system "$KC_CTRD_STATE" "$KC_RUNC_ROOT" "$KC_IPAM_DIR"
	_kc_cni_iptables_clean
	if ip link show "$KC_BRIDGE" >/dev/null 2>&1; then
		ip link delete "$KC_BRIDGE" 2>/dev/null || true
	fi
}

# _kc_bridge: the pod bridge with the gateway address, before any pod, so
# that CoreDNS can bind to the address the pods use as their nameserver.
_kc_bridge() {
	if ! ip link show "$KC_BRIDGE" >/dev/null 2>&1; then
		ip link add "$KC_BRIDGE" type bridge
	fi
	if ! ip -4 addr show dev "$KC_BRIDGE" | grep -q "inet $POD_GATEWAY/"; then
		ip addr add "$POD_GATEWAY/${POD_CIDR#*/}" dev "$KC_BRIDGE"
	fi
	ip link set "$KC_BRIDGE" up
	sysctl -qw net.ipv4.ip_forward=1
	modprobe br_netfilter 2>/dev/null || true
	if [ -e /proc/sys/net/bridge/bridge-nf-call-iptables ]; then
		sysctl -qw net.bridge.bridge-nf-call-iptables=1 || true
	fi
	_kc_forward_rules add
}

#!/usr/bin/env bash
# make env-down: stop everything env-up started, by pid, and leave no mount
# behind. Images, data roots and caches are kept so that the next env-up is
# fast. Idempotent.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=docker.sh
source "$ENV_ROOT/docker.sh"
# shellcheck source=engine26.sh
source "$ENV_ROOT/engine26.sh"
# DEVLOOP_ENV_SKIP_CLUSTER=1 stops the Docker half only and leaves the
# cluster's processes, mounts and sockets alone.
whole=true
[ -z "${DEVLOOP_ENV_SKIP_CLUSTER:-}" ] || whole=false
# shellcheck source=builders.sh
source "$ENV_ROOT/builders.sh"
# First, while the engine answers: the build cache a whole make test leaves
# would make dockerd 26 fail its next start (engine26.sh:
# _engine26_slow_build_cache).
step "build cache of docker engine $ENGINE26_DOCKER_VERSION"
engine26_prune_build_cache
done_step
step "builders for teams"
if $whole; then builders_down k8s; else builders_down; fi
done_step
if $whole && [ -f "$ENV_ROOT/cluster.sh" ]; then
	# shellcheck source=/dev/null
	source "$ENV_ROOT/cluster.sh"
	step "cluster"
	cluster_down
	done_step
fi

# shellcheck source=kind.sh
source "$ENV_ROOT/kind.sh"
if $whole; then
	step "kind cluster $KIND_CLUSTER"
	kind_down
	done_step
fi

step "buildkitd"
buildkitd_down
done_step

step "registry"
registry_down
done_step

step "docker engine 20.10"
dockerd_down
done_step

step "docker engine $ENGINE26_DOCKER_VERSION"
engine26_down_all
done_step

step "mounts, sockets and pid files"
if $whole; then
	unmount_under "$STATE" "$RUN"
	for pidfile in "$RUN"/*.pid; do
		[ -e "$pidfile" ] || continue
		kill -0 "$(cat "$pidfile")" 2>/dev/null || rm -f "$pidfile"
	done
	find "$RUN" -type s -delete 2>/dev/null || true
else
	unmount_under "$DOCKER_DATA" "$DOCKER_EXEC" "$BUILDKIT_ROOT" "$BUILDKIT_RUN"
	rm -f "$DOCKER20_SOCK" "$DOCKER26_SOCK" "$BUILDKIT_SOCK"
fi
rm -rf "$DOCKER_EXEC" "$BUILDKIT_RUN"
if ip link show docker0 >/dev/null 2>&1; then
	ip link delete docker0 2>/dev/null || true
fi
done_step

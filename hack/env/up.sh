#!/usr/bin/env bash
# make env-up: install and start the whole local environment, idempotently.
# The Docker half (Engine 20.10 and Engine 26, registry, BuildKit, buildx,
# base images in both engines) comes first; the cluster (cluster.sh:
# cluster_up) mirrors docker.io to the registry, so it starts after. The
# default engine (lib.sh: DEFAULT_ENGINE) is the one buildx's default builder
# and the kind cluster use. A warm run only checks and takes seconds; a
# run after a killed one cleans stale pids, sockets and mounts first.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=docker.sh
source "$ENV_ROOT/docker.sh"
# shellcheck source=engine26.sh
source "$ENV_ROOT/engine26.sh"
# shellcheck source=images.sh
source "$ENV_ROOT/images.sh"
# DEVLOOP_ENV_SKIP_CLUSTER=1 brings up the Docker half only; the kind cluster
# (kind.sh: kind_up) comes last, on the engine, beside the host cluster.
have_cluster=false
have_kind=false
if [ -f "$ENV_ROOT/cluster.sh" ] && [ -z "${DEVLOOP_ENV_SKIP_CLUSTER:-}" ]; then
	# shellcheck source=/dev/null
	source "$ENV_ROOT/cluster.sh"
	have_cluster=true
	# DEVLOOP_ENV_SKIP_KIND=1 leaves the kind cluster out.
	if [ -z "${DEVLOOP_ENV_SKIP_KIND:-}" ]; then
		have_kind=true
	fi
fi
# shellcheck source=kind.sh
source "$ENV_ROOT/kind.sh"
# shellcheck source=builders.sh
source "$ENV_ROOT/builders.sh"
trap kill_builds EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" = 0 ] || { echo "env-up: run as root" >&2; exit 1; }
total_start=$(date +%s.%N)

step "apt packages"
apt_ensure docker.io containerd runc containernetworking-plugins iptables conntrack socat \
	etcd-server docker-registry qemu-user-static binfmt-support debootstrap bc curl \
	python3-flask python3-pymongo python3-mongomock gunicorn chromium
done_step

step "start Go builds and root filesystems (background)"
docker_builds
if $have_cluster && declare -F cluster_builds >/dev/null; then
	cluster_builds
fi
if $have_kind; then
	kind_builds
fi
done_step

step "qemu binfmt for arm64"
binfmt_up
images_rootfs_start
done_step

step "docker engine 20.10"
kind_wait_runcwrap
dockerd_up
done_step

step "docker engine $ENGINE26_DOCKER_VERSION (containerd image store)"
engine26_up
done_step

step "registry $REGISTRY"
registry_up
done_step

step "buildkitd"
docker_wait_buildkitd
buildkitd_up
done_step

step "buildx and builder $BUILDER_MULTI"
docker_wait_buildx
builder_up
done_step

step "base images"
images_up
done_step

step "remote TLS builder $BUILDER_TLS"
builders_tls_up
done_step

if $have_cluster; then
	cluster_up
	step "kubernetes-driver builder $BUILDER_K8S"
	builders_k8s_up
	done_step
	if $have_kind; then
		kind_up
	fi
else
	printf '==> cluster: skipped (%s/cluster.sh missing or DEVLOOP_ENV_SKIP_CLUSTER set)\n' "$ENV_ROOT" >&2
fi

printf 'env-up: ready in %.1fs; eval "$(make -s env)" to use it\n' \
	"$(echo "$(date +%s.%N) - $total_start" | bc)" >&2

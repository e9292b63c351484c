#!/usr/bin/env bash
# The Docker half of the environment: the buildx and buildkitd binaries, qemu
# binfmt, Docker Engine 20.10 (Debian 12's docker.io) on its own socket and
# data root, a registry on 127.0.0.1:5000 and a BuildKit daemon registered as
# a buildx remote builder. The second engine, 26.1.5, is engine26.sh's.
# Sourced by up.sh and down.sh after lib.sh; defines functions only.
# DOCKER_HOST is the default engine (lib.sh: DEFAULT_ENGINE), whichever it
# is; the functions for one engine name its socket themselves.

DOCKER_DATA=$STATE/docker
DOCKER_EXEC=$RUN/docker-exec
# dockerd writes its own pid file; start_daemon keeps $RUN/dockerd.pid.
DOCKERD_SELF_PID=$RUN/dockerd.self.pid
DOCKER_CONTAINERD_PID=$DOCKER_EXEC/containerd/containerd.pid
REGISTRY_DATA=$STATE/registry
REGISTRY_CONFIG=$STATE/registry.yml
BUILDKIT_ROOT=$STATE/buildkit
BUILDKIT_CONFIG=$STATE/buildkitd.toml
BUILDKIT_RUN=$RUN/buildkit

export DOCKER_HOST=$DOCKER_HOST_URL
export DOCKER_CONFIG=$DOCKER_CONFIG_DIR

go_version() {
	go env GOVERSION
}

buildkit_inputs() {
	cat "$REPO_ROOT/hack/tools/buildkit/go.mod" "$REPO_ROOT/hack/tools/buildkit/go.sum" | sha256sum | cut -c1-16
}

# docker_builds starts the Go builds of buildx and buildkitd that are missing
# or stale; docker_builds_wait installs them once finished.
docker_builds() {
	local gov
	gov=$(go_version)
	if ! stamp_ok buildx "$BUILDX_VERSION $gov" || [ ! -x "$BIN/buildx" ]; then
		bg_build buildx env GOBIN="$BIN" GOTOOLCHAIN=local \
			go install "github.com/docker/buildx/cmd/buildx@$BUILDX_VERSION"
	fi
	if ! stamp_ok buildkitd "$BUILDKIT_VERSION $(buildkit_inputs) $gov" ||
		[ ! -x "$BIN/buildkitd" ] || [ ! -x "$BIN/buildctl" ]; then
		bg_build buildkitd bash -c "cd '$REPO_ROOT/hack/tools/buildkit' && export GOTOOLCHAIN=local &&
			go build -o '$BIN/buildkitd' github.com/moby/buildkit/cmd/buildkitd &&
			go build -o '$BIN/buildctl' github.com/moby/buildkit/cmd/buildctl"
	fi
}

docker_wait_buildkitd() {
	if [ -n "${_bg_builds[buildkitd]:-}" ]; then
		wait_build buildkitd
		stamp_write buildkitd "$BUILDKIT_VERSION $(buildkit_inputs) $(go_version)"
	fi
}

docker_wait_buildx() {
	if [ -n "${_bg_builds[buildx]:-}" ]; then
		wait_build buildx
		stamp_write buildx "$BUILDX_VERSION $(go_version)"
	fi
	mkdir -p "$DOCKER_CONFIG_DIR/cli-plugins"
	if ! cmp -s "$BIN/buildx" "$DOCKER_CONFIG_DIR/cli-plugins/docker-buildx"; then
		install -m 0755 "$BIN/buildx" "$DOCKER_CONFIG_DIR/cli-plugins/docker-buildx"
	fi
	[ -f "$DOCKER_CONFIG_DIR/config.json" ] || echo '{}' >"$DOCKER_CONFIG_DIR/config.json"
}

# binfmt_up registers qemu for arm64 binaries (RUN steps of foreign images).
binfmt_up() {
	if [ ! -f /proc/sys/fs/binfmt_misc/register ]; then
		mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc ||
			die "mount binfmt_misc"
	fi
	if ! grep -qs '^enabled' /proc/sys/fs/binfmt_misc/qemu-aarch64; then
		update-binfmts --enable qemu-aarch64 >>"$LOGS/binfmt.log" 2>&1 ||
			die "update-binfmts --enable qemu-aarch64" "$LOGS/binfmt.log"
	fi
	grep -qs '^enabled' /proc/sys/fs/binfmt_misc/qemu-aarch64 ||
		die "qemu-aarch64 is not registered in binfmt_misc" "$LOGS/binfmt.log"
}

# dockerd_clean removes what a killed dockerd left behind: its managed
# containerd, pid files, sockets and mounts under its data and exec roots.
dockerd_clean() {
	stop_pidfile "$DOCKER_CONTAINERD_PID" 10
	rm -f "$RUN/dockerd.pid" "$DOCKERD_SELF_PID" "$DOCKER20_SOCK"
	unmount_under "$DOCKER_DATA" "$DOCKER_EXEC"
	rm -rf "$DOCKER_EXEC"
}

# dockerd_config prints daemon.json. The default runtime is runc behind
# hack/env/runcwrap, which drops the one capability this sandbox cannot grant
# so that privileged containers (kind's nodes) start.
dockerd_config() {
	cat <<EOF
{
  "runtimes": {"devloop-runc": {"path": "$BIN/runcwrap"}},
  "default-runtime": "devloop-runc"
}
EOF
}

dockerd_up() {
	local config
	config=$(dockerd_config)
	if running dockerd && _docker20 version >/dev/null 2>&1 && [ "$config" = "$(cat "$STATE/daemon.json" 2>/dev/null)" ]; then
		return 0
	fi
	[ -x "$BIN/runcwrap" ] || die "$BIN/runcwrap is missing (built by kind_builds)"
	if running dockerd; then
		printf '    restarting dockerd: its configuration changed\n' >&2
	fi
	dockerd_down
	dockerd_clean
	mkdir -p "$DOCKER_DATA" "$DOCKER_EXEC"
	printf '%s\n' "$config" >"$STATE/daemon.json"
	# The managed containerd lives under the exec root
	# ($DOCKER_EXEC/containerd/containerd.sock), apart from the cluster's.
	start_daemon dockerd dockerd \
		--config-file "$STATE/daemon.json" \
		-H "unix://$DOCKER20_SOCK" \
		--data-root "$DOCKER_DATA" \
		--exec-root "$DOCKER_EXEC" \
		--pidfile "$DOCKERD_SELF_PID" \
		--insecure-registry "$REGISTRY" \
		--registry-mirror "http://$REGISTRY"
	wait_for "docker version" 60 _docker20 version || die "dockerd did not answer on $DOCKER20_SOCK" "$LOGS/dockerd.log"
}

# _docker20: the docker CLI on Engine 20.10, whichever engine is the default.
_docker20() { DOCKER_HOST=unix://$DOCKER20_SOCK docker "$@"; }

dockerd_down() {
	stop_daemon dockerd 30
	stop_pidfile "$DOCKERD_SELF_PID" 5
	stop_pidfile "$DOCKER_CONTAINERD_PID" 10
	rm -f "$DOCKER20_SOCK"
}

registry_up() {
	if running registry && curl -fsS "http://$REGISTRY/v2/" >/dev/null 2>&1; then
		return 0
	fi
	stop_daemon registry 5
	if curl -fsS -m 2 "http://$REGISTRY/v2/" >/dev/null 2>&1; then
		die "something not started by us already listens on $REGISTRY; stop it first"
	fi
	mkdir -p "$REGISTRY_DATA"
	cat >"$REGISTRY_CONFIG" <<EOF
version: 0.1
log:
  level: info
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $REGISTRY_DATA
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: $REGISTRY
EOF
	start_daemon registry docker-registry serve "$REGISTRY_CONFIG"
	wait_for "registry" 30 curl -fsS "http://$REGISTRY/v2/" || die "registry did not answer on $REGISTRY" "$LOGS/registry.log"
}

registry_down() {
	stop_daemon registry 10
}

buildkitd_up() {
	if running buildkitd && "$BIN/buildctl" --addr "unix://$BUILDKIT_SOCK" debug workers >/dev/null 2>&1; then
		return 0
	fi
	stop_daemon buildkitd 15
	rm -f "$BUILDKIT_SOCK"
	unmount_under "$BUILDKIT_ROOT" "$BUILDKIT_RUN"
	mkdir -p "$BUILDKIT_ROOT" "$BUILDKIT_RUN"
	cat >"$BUILDKIT_CONFIG" <<EOF
root = "$BUILDKIT_ROOT"

[grpc]
  address = ["unix://$BUILDKIT_SOCK"]

[otel]
  socketPath = "$BUILDKIT_RUN/otel-grpc.sock"

[worker.oci]
  enabled = true
  snapshotter = "overlayfs"
  networkMode = "host"
  platforms = ["linux/amd64", "linux/arm64"]
  gc = true
  gckeepstorage = "10GB"

[worker.containerd]
  enabled = false

[registry."docker.io"]
  mirrors = ["$REGISTRY"]

[registry."$REGISTRY"]
  http = true
  insecure = true
EOF
	start_daemon buildkitd "$BIN/buildkitd" --config "$BUILDKIT_CONFIG"
	wait_for "buildkitd" 60 "$BIN/buildctl" --addr "unix://$BUILDKIT_SOCK" debug workers ||
		die "buildkitd did not answer on $BUILDKIT_SOCK" "$LOGS/buildkitd.log"
}

buildkitd_down() {
	stop_daemon buildkitd 15
	rm -f "$BUILDKIT_SOCK"
}

# builder_up registers buildkitd as the buildx remote builder $BUILDER_MULTI,
# recreating it when it points elsewhere; the engine's builder stays default.
builder_up() {
	local want="unix://$BUILDKIT_SOCK" log=$LOGS/buildx.log info
	info=$(docker buildx inspect "$BUILDER_MULTI" 2>/dev/null || true)
	if ! grep -q "Endpoint: *$want\$" <<<"$info"; then
		docker buildx rm "$BUILDER_MULTI" >>"$log" 2>&1 || true
		docker buildx create --name "$BUILDER_MULTI" --driver remote "$want" >>"$log" 2>&1 ||
			die "docker buildx create $BUILDER_MULTI" "$log"
		info=
	fi
	if ! grep -q "Status: *running" <<<"$info"; then
		docker buildx inspect --bootstrap "$BUILDER_MULTI" >>"$log" 2>&1 ||
			die "builder $BUILDER_MULTI does not answer" "$log"
	fi
	# The engine's own builder (docker driver) stays the default.
	if grep -qs '"Name":"[^"]' "$DOCKER_CONFIG_DIR/buildx/current"; then
		docker buildx use default >>"$log" 2>&1 || die "docker buildx use default" "$log"
	fi
}

# default_engine_down / default_engine_up stop and start the default engine
# (lib.sh: DEFAULT_ENGINE) alone: the fault tests restart it under devloop.
# engine26.sh must be sourced too.
default_engine_down() {
	if [ "$DEFAULT_ENGINE" = 26 ]; then engine26_down; else dockerd_down; fi
}

default_engine_up() {
	if [ "$DEFAULT_ENGINE" = 26 ]; then engine26_up; else dockerd_up; fi
}

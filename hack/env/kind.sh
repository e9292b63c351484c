#!/usr/bin/env bash
# The kind half of the environment: a real kind cluster made by kind's own CLI
# (sigs.k8s.io/kind), from a node image made offline out of our own parts, and
# kind's documented local registry next to it.
#
# The node image ($KIND_NODE_IMAGE) is what `kind build node-image` makes,
# assembled here because that command fetches images from the network:
#   - a base image (kind/Dockerfile.node): Debian bookworm with systemd,
#     Debian's containerd, runc and CNI plugins, kind's own base-image files
#     (entrypoint, systemd units, /kind/bin) and crictl;
#   - kubeadm, kubelet and kubectl of the Kubernetes build in /usr/bin;
#   - the images kubeadm asks for, named as it expects and built from the same
#     binaries (etcd 3.6 from hack/tools/etcd, CoreDNS from hack/tools/coredns,
#     pause), imported into the node's containerd before it is committed;
#   - /kind/version and /kind/manifests: a no-op CNI manifest (a ptp CNI config
#     is baked in instead of kindnetd) and a default StorageClass served by
#     hack/env/provisioner in a pod.
# The registry (kind's "local registry" guide): a container $KIND_REGISTRY on
# kind's network, published on $KIND_REGISTRY_HOST, with containerd's
# certs.d mirror config on the node and KEP-1755's ConfigMap.
#
# Sourced after lib.sh and cluster.sh by up.sh, down.sh and env.sh:
#   kind_builds  start the missing or stale builds in the background
#   kind_up      build what is missing, create the cluster if it is not
#                there, put its context in $KUBECONFIG_FILE (idempotent)
#   kind_down    delete the cluster and the registry container (images kept)

KIND_VERSION=v0.33.0
CRICTL_VERSION=v1.34.0
ETCD_VERSION=v3.6.16
KIND_CLUSTER=devloop
KIND_CONTEXT=kind-$KIND_CLUSTER
KIND_NODE=$KIND_CLUSTER-control-plane
# Apart from the host cluster's 10.244.0.0/24 and 10.96.0.0/16.
KIND_POD_SUBNET=10.250.0.0/16
KIND_NODE_POD_SUBNET=10.250.0.0/24
KIND_SERVICE_SUBNET=10.112.0.0/16
KIND_REGISTRY=kind-registry
KIND_REGISTRY_HOST=localhost:5001
KIND_DIR=$ENV_ROOT/kind
KIND_WORK=$CACHE/kind
KIND_LOG=$LOGS/kind.log

_kind() { "$BIN/kind" "$@"; }

_kind_kube_stamp() { echo "kubeadm $(_kc_kube_stamp)"; }
_kind_etcd_stamp() { echo "$ETCD_VERSION $(_kc_inputs "$REPO_ROOT/hack/tools/etcd" go.mod go.sum tools.go) $(go env GOVERSION)"; }
_kind_local_stamp() {
	echo "$(cd "$REPO_ROOT" && cat go.sum hack/env/provisioner/*.go hack/env/runcwrap/*.go hack/env/cluster/pause/*.go | sha256sum | cut -c1-16) $(go env GOVERSION)"
}

# kind_builds: see the header.
kind_builds() {
	local gov
	gov=$(go env GOVERSION)
	if { ! stamp_ok kind "$KIND_VERSION $gov" || [ ! -x "$BIN/kind" ]; } && [ -z "${_bg_builds[kind]:-}" ]; then
		bg_build kind env GOBIN="$BIN" GOTOOLCHAIN=local CGO_ENABLED=0 go install "sigs.k8s.io/kind@$KIND_VERSION"
	fi
	if { ! stamp_ok crictl "$CRICTL_VERSION $gov" || [ ! -x "$BIN/crictl" ]; } && [ -z "${_bg_builds[crictl]:-}" ]; then
		bg_build crictl env GOBIN="$BIN" GOTOOLCHAIN=local CGO_ENABLED=0 \
			go install -ldflags="-s -w -X sigs.k8s.io/cri-tools/pkg/version.Version=$CRICTL_VERSION" \
			"sigs.k8s.io/cri-tools/cmd/crictl@$CRICTL_VERSION"
	fi
	if { ! stamp_ok kubeadm "$(_kind_kube_stamp)" || [ ! -x "$BIN/kubeadm" ]; } && [ -z "${_bg_builds[kubeadm]:-}" ]; then
		bg_build kubeadm bash -c "cd '$REPO_ROOT/hack/tools/kube' && export GOTOOLCHAIN=local &&
			go build -ldflags='$(_kc_kube_ldflags)' -o '$BIN/kubeadm' k8s.io/kubernetes/cmd/kubeadm"
	fi
	if { ! stamp_ok etcd "$(_kind_etcd_stamp)" || [ ! -x "$BIN/etcd" ]; } && [ -z "${_bg_builds[etcd]:-}" ]; then
		bg_build etcd bash -c "cd '$REPO_ROOT/hack/tools/etcd' && export GOTOOLCHAIN=local CGO_ENABLED=0 &&
			go build -ldflags='-s -w' -o '$BIN/etcd' go.etcd.io/etcd/server/v3"
	fi
	_kind_local_build
}

# _kind_local_build: the environment's own small binaries (the runc wrapper
# dockerd needs, static builds of the provisioner and pause for the node).
_kind_local_build() {
	if { ! stamp_ok kind-local "$(_kind_local_stamp)" || [ ! -x "$BIN/runcwrap" ] || [ ! -x "$BIN/provisioner-static" ]; } &&
		[ -z "${_bg_builds[kind-local]:-}" ]; then
		bg_build kind-local bash -c "cd '$REPO_ROOT' && export GOTOOLCHAIN=local CGO_ENABLED=0 &&
			go build -ldflags='-s -w' -o '$BIN/runcwrap' ./hack/env/runcwrap &&
			go build -ldflags='-s -w' -o '$BIN/provisioner-static' ./hack/env/provisioner &&
			go build -ldflags='-s -w' -o '$BIN/pause-static' ./hack/env/cluster/pause"
	fi
}

_kind_wait() { # NAME STAMP
	if [ -n "${_bg_builds[$1]:-}" ]; then
		wait_build "$1"
		stamp_write "$1" "$2"
	fi
}

# kind_wait_runcwrap: the wrapper dockerd needs before any kind node starts.
kind_wait_runcwrap() {
	_kind_local_build
	_kind_wait kind-local "$(_kind_local_stamp)"
}

_kind_wait_builds() {
	kind_builds
	_kind_wait kind "$KIND_VERSION $(go env GOVERSION)"
	_kind_wait crictl "$CRICTL_VERSION $(go env GOVERSION)"
	_kind_wait kubeadm "$(_kind_kube_stamp)"
	_kind_wait etcd "$(_kind_etcd_stamp)"
	_kind_wait kind-local "$(_kind_local_stamp)"
}

# _kind_images_list: "image|dir|dockerfile" for every image the node carries.
_kind_component_images() {
	"$BIN/kubeadm" config images list --kubernetes-version "$KUBE_VERSION" 2>>"$KIND_LOG"
}

# _kind_component IMAGE: build one image kubeadm (or the node) expects.
_kind_component() {
	local image=$1 name ctx
	name=${image##*/}
	name=${name%%:*}
	ctx=$KIND_WORK/images/$name
	rm -rf "$ctx"
	mkdir -p "$ctx"
	case $name in
	kube-apiserver | kube-controller-manager | kube-scheduler)
		cp "$BIN/$name" "$ctx/"
		printf 'FROM debian:bookworm-slim\nCOPY %s /usr/local/bin/%s\n' "$name" "$name" >"$ctx/Dockerfile"
		;;
	kube-proxy)
		cp "$BIN/$name" "$ctx/"
		cat >"$ctx/Dockerfile" <<EOF
FROM debian:bookworm-slim
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      iptables nftables conntrack ipset kmod && apt-get clean && rm -rf /var/lib/apt/lists/*
COPY kube-proxy /usr/local/bin/kube-proxy
EOF
		;;
	etcd)
		cp "$BIN/etcd" "$ctx/"
		printf 'FROM debian:bookworm-slim\nCOPY etcd /usr/local/bin/etcd\n' >"$ctx/Dockerfile"
		;;
	coredns)
		cp "$BIN/coredns" "$ctx/"
		printf 'FROM debian:bookworm-slim\nCOPY coredns /coredns\nENTRYPOINT ["/coredns"]\n' >"$ctx/Dockerfile"
		;;
	pause)
		cp "$BIN/pause-static" "$ctx/pause"
		printf 'FROM scratch\nCOPY pause /pause\nENTRYPOINT ["/pause"]\n' >"$ctx/Dockerfile"
		;;
	kind-provisioner)
		cp "$BIN/provisioner-static" "$ctx/provisioner"
		printf 'FROM scratch\nCOPY provisioner /provisioner\nENTRYPOINT ["/provisioner"]\n' >"$ctx/Dockerfile"
		;;
	*) die "no recipe for the node image's $image" ;;
	esac
	docker build -q -t "$image" "$ctx" >>"$KIND_LOG" 2>&1 || die "building $image" "$KIND_LOG"
}

# _kind_inputs: a hash of everything the node image is made from.
_kind_inputs() {
	{
		echo "$KIND_VERSION $CRICTL_VERSION $KIND_NODE_POD_SUBNET"
		cat "$KIND_DIR"/* "$ENV_ROOT/kind.sh"
		sha256sum "$BIN/kubeadm" "$BIN/kubelet" "$BIN/kubectl" "$BIN/crictl" "$BIN/etcd" "$BIN/coredns" \
			"$BIN/pause-static" "$BIN/provisioner-static" "${KC_KUBE_BINS[@]/#/$BIN/}" | cut -c1-64
		docker image inspect -f '{{.Id}}' debian:bookworm-slim
	} | sha256sum | cut -c1-12
}

# _kind_node_image: make $KIND_NODE_IMAGE unless it exists.
_kind_node_image() {
	local base=devloop.dev/kind-base:$1 files=$KIND_WORK/base id images=() img
	if docker image inspect "$KIND_NODE_IMAGE" >/dev/null 2>&1; then
		return 0
	fi
	printf '    making node image %s (log %s)\n' "$KIND_NODE_IMAGE" "$KIND_LOG" >&2
	# kind's base-image files are read-only in the module cache.
	local src
	src=$(cd "$REPO_ROOT/hack/tools/kube" && GOTOOLCHAIN=local GOFLAGS= go mod download -json "sigs.k8s.io/kind@$KIND_VERSION" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	[ -d "$src/images/base/files" ] || die "kind $KIND_VERSION's images/base not found in the module cache"
	rm -rf "$files"
	mkdir -p "$files/files/etc/cni/net.d" "$files/files/usr/local/bin"
	cp -r "$src/images/base/files/." "$files/files/"
	chmod -R u+w,go-w "$files/files"
	find "$files/files" -type d -exec chmod 0755 {} +
	find "$files/files" -type f -exec chmod 0644 {} +
	chmod 0755 "$files/files/usr/local/bin/"* "$files/files/kind/bin/"*
	rm -rf "$files/files/LICENSES"
	# No CAP_SYS_RESOURCE in this sandbox: without this every pod sandbox fails.
	sed -i 's/restrict_oom_score_adj = false/restrict_oom_score_adj = true/' "$files/files/etc/containerd/config.toml"
	sed -i 's|sandbox_image = .*|sandbox_image = "registry.k8s.io/pause:3.10.1"|' "$files/files/etc/containerd/config.toml"
	# fuse-overlayfs is for rootless kind, which this is not: drop its proxy plugin.
	sed -i '/^\[proxy_plugins/,/^  address/d' "$files/files/etc/containerd/config.toml"
	rm -f "$files/files/etc/systemd/system/containerd-fuse-overlayfs.service"
	sed "s|@POD_SUBNET@|$KIND_NODE_POD_SUBNET|" "$KIND_DIR/10-devloop.conflist" >"$files/files/etc/cni/net.d/10-devloop.conflist"
	install -m 0755 "$BIN/crictl" "$files/files/usr/local/bin/crictl"
	cp "$KIND_DIR/Dockerfile.node" "$files/Dockerfile"
	docker build -t "$base" "$files" >>"$KIND_LOG" 2>&1 || die "building the node base image $base" "$KIND_LOG"

	mapfile -t images < <(_kind_component_images)
	[ ${#images[@]} -ge 6 ] || die "kubeadm config images list printed ${#images[@]} images" "$KIND_LOG"
	# kind's containerd config names pause 3.10; both tags point at the same image.
	images+=(registry.k8s.io/pause:3.10 devloop.dev/kind-provisioner:1)
	for img in "${images[@]}"; do
		_kind_component "$img"
	done

	_kind_rm_build_containers
	id=$(docker run -d --label devloop.dev/kind-build=1 --entrypoint=sleep --security-opt seccomp=unconfined "$base" infinity) ||
		die "starting the node image build container" "$KIND_LOG"
	for b in kubeadm kubelet kubectl; do
		docker cp "$BIN/$b" "$id:/usr/bin/$b" >>"$KIND_LOG" 2>&1 || die "copying $b into the node image" "$KIND_LOG"
	done
	docker exec "$id" mkdir -p /kind/manifests
	printf '%s' "$KUBE_VERSION" | docker exec -i "$id" cp /dev/stdin /kind/version
	docker exec -i "$id" cp /dev/stdin /kind/manifests/default-cni.yaml <"$KIND_DIR/default-cni.yaml"
	docker exec -i "$id" cp /dev/stdin /kind/manifests/default-storage.yaml <"$KIND_DIR/default-storage.yaml"
	docker exec "$id" bash -c 'nohup containerd >/tmp/containerd.log 2>&1 & for i in $(seq 50); do ctr version >/dev/null 2>&1 && exit 0; sleep 0.2; done; exit 1' \
		>>"$KIND_LOG" 2>&1 || die "containerd did not start in the node image build container" "$KIND_LOG"
	docker save "${images[@]}" | docker exec -i "$id" \
		ctr --namespace=k8s.io images import --label=io.cri-containerd.pinned=pinned --no-unpack --digests - >>"$KIND_LOG" 2>&1 ||
		die "importing the component images into the node image" "$KIND_LOG"
	docker exec "$id" bash -c 'pkill containerd; for i in $(seq 50); do pgrep containerd >/dev/null || exit 0; sleep 0.2; done; exit 1' \
		>>"$KIND_LOG" 2>&1 || true
	docker commit --change 'ENTRYPOINT [ "/usr/local/bin/entrypoint", "/sbin/init" ]' "$id" "$KIND_NODE_IMAGE" >>"$KIND_LOG" 2>&1 ||
		die "committing $KIND_NODE_IMAGE" "$KIND_LOG"
	_kind_rm_build_containers
}

# _kind_rm_build_containers removes node image build containers, a killed
# run's included.
_kind_rm_build_containers() {
	local ids
	ids=$(docker ps -aq --filter label=devloop.dev/kind-build=1)
	[ -z "$ids" ] || docker rm -f -v $ids >/dev/null 2>&1 || true
}

_kind_config() {
	cat <<EOF
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
name: $KIND_CLUSTER
networking:
  apiServerAddress: 127.0.0.1
  podSubnet: $KIND_POD_SUBNET
  serviceSubnet: $KIND_SERVICE_SUBNET
containerdConfigPatches:
- |-
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "/etc/containerd/certs.d"
kubeadmConfigPatches:
- |
  kind: KubeletConfiguration
  failCgroupV1: false
  failSwapOn: false
EOF
}

_kind_exists() { _kind get clusters 2>/dev/null | grep -qx "$KIND_CLUSTER"; }

_kind_node_running() {
	[ "$(docker inspect -f '{{.State.Running}}' "$KIND_NODE" 2>/dev/null)" = true ]
}

_kind_kubectl() {
	"$BIN/kubectl" --kubeconfig "$KUBECONFIG_FILE" --context "$KIND_CONTEXT" --request-timeout=10s "$@"
}

_kind_ready() {
	[ "$(_kind_kubectl get node "$KIND_NODE" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]
}

# _kind_registry_up: kind's local registry guide, with a registry image of
# our own (Debian's docker-registry; nothing can be pulled here).
_kind_registry_up() {
	local ctx=$KIND_WORK/images/registry
	if ! docker image inspect devloop.dev/registry:2 >/dev/null 2>&1; then
		mkdir -p "$ctx"
		cat >"$ctx/config.yml" <<EOF
version: 0.1
log:
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: /var/lib/registry
  delete:
    enabled: true
http:
  addr: :5000
EOF
		cat >"$ctx/Dockerfile" <<EOF
FROM debian:bookworm-slim
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends docker-registry \
    && apt-get clean && rm -rf /var/lib/apt/lists/*
COPY config.yml /etc/docker/registry/config.yml
ENTRYPOINT ["/usr/bin/docker-registry", "serve", "/etc/docker/registry/config.yml"]
EOF
		docker build -q -t devloop.dev/registry:2 "$ctx" >>"$KIND_LOG" 2>&1 || die "building the registry image" "$KIND_LOG"
	fi
	if [ "$(docker inspect -f '{{.State.Running}}' "$KIND_REGISTRY" 2>/dev/null)" != true ]; then
		docker rm -f "$KIND_REGISTRY" >/dev/null 2>&1 || true
		docker run -d --restart=always -p "127.0.0.1:${KIND_REGISTRY_HOST##*:}:5000" --network bridge \
			--name "$KIND_REGISTRY" devloop.dev/registry:2 >>"$KIND_LOG" 2>&1 || die "starting $KIND_REGISTRY" "$KIND_LOG"
	fi
	if [ "$(docker inspect -f '{{json .NetworkSettings.Networks.kind}}' "$KIND_REGISTRY")" = null ]; then
		docker network connect kind "$KIND_REGISTRY" >>"$KIND_LOG" 2>&1 || die "connecting $KIND_REGISTRY to kind's network" "$KIND_LOG"
	fi
	docker exec -i "$KIND_NODE" bash -c "mkdir -p '/etc/containerd/certs.d/$KIND_REGISTRY_HOST' &&
		cat >'/etc/containerd/certs.d/$KIND_REGISTRY_HOST/hosts.toml'" <<EOF
[host."http://$KIND_REGISTRY:5000"]
EOF
	_kind_kubectl apply -f - >>"$KIND_LOG" 2>&1 <<EOF || die "advertising the local registry" "$KIND_LOG"
apiVersion: v1
kind: ConfigMap
metadata:
  name: local-registry-hosting
  namespace: kube-public
data:
  localRegistryHosting.v1: |
    host: "$KIND_REGISTRY_HOST"
    help: "https://kind.sigs.k8s.io/docs/user/local-registry/"
EOF
	wait_for "registry $KIND_REGISTRY_HOST" 30 curl -fsS "http://$KIND_REGISTRY_HOST/v2/" ||
		die "registry $KIND_REGISTRY_HOST did not answer" "$KIND_LOG"
}

# kind_up: see the header.
kind_up() {
	step "kind: binaries (kind $KIND_VERSION, kubeadm, etcd $ETCD_VERSION, crictl $CRICTL_VERSION)"
	_kind_wait_builds
	done_step

	step "kind: node image"
	local inputs
	inputs=$(_kind_inputs)
	KIND_NODE_IMAGE=devloop.dev/kind-node:$KUBE_VERSION-$inputs
	_kind_node_image "$inputs"
	done_step

	step "kind: cluster $KIND_CLUSTER"
	# kind's nodes each take several inotify instances.
	if [ "$(cat /proc/sys/fs/inotify/max_user_instances)" -lt 512 ]; then
		sysctl -qw fs.inotify.max_user_instances=512 || true
	fi
	if _kind_exists && { ! _kind_node_running ||
		[ "$(docker inspect -f '{{.Config.Image}}' "$KIND_NODE" 2>/dev/null)" != "$KIND_NODE_IMAGE" ]; }; then
		# A node killed with the engine does not come back whole: make it anew.
		_kind delete cluster --name "$KIND_CLUSTER" --kubeconfig "$KUBECONFIG_FILE" >>"$KIND_LOG" 2>&1 || true
	fi
	if ! _kind_exists; then
		printf '    creating kind cluster %s (log %s)\n' "$KIND_CLUSTER" "$KIND_LOG" >&2
		_kind_config >"$KIND_WORK/cluster.yaml"
		_kind create cluster --image "$KIND_NODE_IMAGE" --config "$KIND_WORK/cluster.yaml" \
			--kubeconfig "$KUBECONFIG_FILE" --wait 3m --retain >>"$KIND_LOG" 2>&1 || {
			docker logs "$KIND_NODE" >>"$KIND_LOG" 2>&1 || true
			die "kind create cluster" "$KIND_LOG"
		}
	fi
	# cluster_up rewrites the kubeconfig: put kind's context back, and keep
	# the host cluster's as the current one.
	_kind export kubeconfig --name "$KIND_CLUSTER" --kubeconfig "$KUBECONFIG_FILE" >>"$KIND_LOG" 2>&1 ||
		die "kind export kubeconfig" "$KIND_LOG"
	"$BIN/kubectl" --kubeconfig "$KUBECONFIG_FILE" config use-context "$KUBE_CONTEXT" >>"$KIND_LOG" 2>&1 ||
		die "restoring the current context $KUBE_CONTEXT" "$KIND_LOG"
	wait_for "node $KIND_NODE Ready" 180 _kind_ready || die "kind node $KIND_NODE is not Ready" "$KIND_LOG"
	done_step

	step "kind: local registry $KIND_REGISTRY_HOST"
	_kind_registry_up
	done_step
}

# kind_down: see the header.
kind_down() {
	if [ -x "$BIN/kind" ] && docker version >/dev/null 2>&1; then
		_kind delete cluster --name "$KIND_CLUSTER" --kubeconfig "$KUBECONFIG_FILE" >>"$KIND_LOG" 2>&1 || true
		docker rm -f "$KIND_REGISTRY" >>"$KIND_LOG" 2>&1 || true
	fi
}

# kind_env: export lines beyond those env.sh prints.
kind_env() {
	printf 'export DEVLOOP_KIND_CONTEXT=%q\n' "$KIND_CONTEXT"
	printf 'export DEVLOOP_KIND_CLUSTER=%q\n' "$KIND_CLUSTER"
	printf 'export DEVLOOP_KIND_REGISTRY=%q\n' "$KIND_REGISTRY_HOST"
}

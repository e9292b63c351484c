#!/usr/bin/env bash
# The builders for teams, beside the environment's own buildkitd:
#   - buildx builder $BUILDER_K8S, driver kubernetes: BuildKit pods in the
#     test cluster (namespace $BUILDKIT_K8S_NS), from an image made of the
#     environment's buildkitd, buildctl and Debian's runc, pushed to the
#     registry (images/buildkit/Dockerfile);
#   - buildx builder $BUILDER_TLS, driver remote: a second buildkitd on
#     $BUILDKIT_TLS_ADDR that requires client certificates (a CA, a server
#     and a client certificate made with openssl under $BUILDKIT_TLS_DIR).
# Sourced by up.sh, down.sh and env.sh after lib.sh (and docker.sh, for
# builders_up and builders_down); defines functions only:
#   builders_k8s_up     the image (when its inputs changed), the namespace and
#                       the builder (when missing); needs the cluster
#   builders_tls_up     certificates, the daemon and the builder (when missing)
#   builders_down       the builders, the namespace and the daemon
#   builders_env        the export lines
# Run one alone: bash hack/env/builders.sh up|down

BUILDER_K8S=devloop-k8s
BUILDKIT_K8S_NS=devloop-buildkit
BUILDKIT_K8S_REPO=$REGISTRY/devloop/buildkit
BUILDKIT_K8S_DIR=$STATE/buildkit-k8s
BUILDER_TLS=devloop-tls
BUILDKIT_TLS_ADDR=tcp://127.0.0.1:12376
BUILDKIT_TLS_DIR=$STATE/buildkit-tls
BUILDKIT_TLS_RUN=$RUN/buildkit-tls

_bk_kubectl() {
	"$BIN/kubectl" --kubeconfig "$KUBECONFIG_FILE" --context "$KUBE_CONTEXT" --request-timeout=20s "$@"
}

# _bk_k8s_config: the buildkitd.toml of the pods. They run with the host's
# network (see builders_k8s_up), so the registry is 127.0.0.1:5000 for them
# as for the kubelet; docker.io is mirrored there like everywhere here.
_bk_k8s_config() {
	cat <<EOF
[worker.oci]
  enabled = true
  snapshotter = "overlayfs"
  networkMode = "host"
  platforms = ["linux/amd64", "linux/arm64"]
  gc = true
  gckeepstorage = "5GB"

[worker.containerd]
  enabled = false

[registry."docker.io"]
  mirrors = ["$REGISTRY"]

[registry."$REGISTRY"]
  http = true
  insecure = true
EOF
}

# _bk_k8s_image: build and push the pods' image when its inputs changed;
# prints its reference.
_bk_k8s_image() {
	local ctx=$BUILDKIT_K8S_DIR/image log=$LOGS/builders.log tag
	tag=$(cat "$ENV_ROOT/images/buildkit/Dockerfile" "$BIN/buildkitd" "$BIN/buildctl" /usr/sbin/runc | sha256sum | cut -c1-16)
	if ! curl -fsS -o /dev/null -I -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
		-H 'Accept: application/vnd.oci.image.index.v1+json' \
		"http://$REGISTRY/v2/devloop/buildkit/manifests/$tag" 2>/dev/null; then
		mkdir -p "$ctx"
		cp "$BIN/buildkitd" "$BIN/buildctl" /usr/sbin/runc "$ctx/"
		docker buildx build --builder "$BUILDER_MULTI" --progress plain --platform linux/amd64 \
			--provenance=false --sbom=false -f "$ENV_ROOT/images/buildkit/Dockerfile" \
			-t "$BUILDKIT_K8S_REPO:$tag" --push "$ctx" >>"$log" 2>&1 ||
			die "build of the kubernetes driver's BuildKit image" "$log"
		rm -rf "$ctx"
	fi
	echo "$BUILDKIT_K8S_REPO:$tag"
}

# builders_k8s_up: the kubernetes-driver builder, recreated when its image
# changed. The driver has no option for the pod's network; its Deployment
# is patched to the host's network so that the pods push to the registry on
# 127.0.0.1 (a cluster with a registry at a network address needs no patch).
builders_k8s_up() {
	local image log=$LOGS/builders.log info depl=${BUILDER_K8S}0
	image=$(_bk_k8s_image)
	mkdir -p "$BUILDKIT_K8S_DIR"
	_bk_k8s_config >"$BUILDKIT_K8S_DIR/buildkitd.toml"
	# The builder keeps the kubeconfig's path; one of its own names the context.
	_bk_kubectl config view --minify --flatten >"$BUILDKIT_K8S_DIR/kubeconfig.new"
	mv "$BUILDKIT_K8S_DIR/kubeconfig.new" "$BUILDKIT_K8S_DIR/kubeconfig"
	info=$(docker buildx inspect "$BUILDER_K8S" 2>/dev/null || true)
	if ! grep -qF "$image" <<<"$info" ||
		! _bk_kubectl -n "$BUILDKIT_K8S_NS" get deployment "$depl" >/dev/null 2>&1; then
		docker buildx rm "$BUILDER_K8S" >>"$log" 2>&1 || true
		_bk_kubectl get namespace "$BUILDKIT_K8S_NS" >/dev/null 2>&1 ||
			_bk_kubectl create namespace "$BUILDKIT_K8S_NS" >>"$log" 2>&1 ||
			die "creating namespace $BUILDKIT_K8S_NS" "$log"
		KUBECONFIG=$BUILDKIT_K8S_DIR/kubeconfig docker buildx create --name "$BUILDER_K8S" --driver kubernetes \
			--driver-opt "namespace=$BUILDKIT_K8S_NS,image=$image,replicas=1,timeout=180s" \
			--buildkitd-config "$BUILDKIT_K8S_DIR/buildkitd.toml" >>"$log" 2>&1 ||
			die "docker buildx create $BUILDER_K8S" "$log"
		docker buildx inspect --bootstrap "$BUILDER_K8S" >>"$log" 2>&1 ||
			die "bootstrap of $BUILDER_K8S" "$log"
	fi
	if [ "$(_bk_kubectl -n "$BUILDKIT_K8S_NS" get deployment "$depl" -o 'jsonpath={.spec.template.spec.hostNetwork}')" != true ]; then
		_bk_kubectl -n "$BUILDKIT_K8S_NS" patch deployment "$depl" --type merge \
			-p '{"spec":{"strategy":{"type":"Recreate","rollingUpdate":null},"template":{"spec":{"hostNetwork":true,"dnsPolicy":"ClusterFirstWithHostNet"}}}}' >>"$log" 2>&1 ||
			die "patching $depl to the host network" "$log"
	fi
	_bk_kubectl -n "$BUILDKIT_K8S_NS" rollout status deployment "$depl" --timeout=180s >>"$log" 2>&1 ||
		die "BuildKit pods of $BUILDER_K8S not ready" "$log"
	docker buildx inspect --bootstrap "$BUILDER_K8S" >>"$log" 2>&1 || die "builder $BUILDER_K8S does not answer" "$log"
}

# _bk_tls_certs: a CA, a server certificate for 127.0.0.1/localhost and a
# client certificate, unless a complete set exists.
_bk_tls_certs() {
	local d=$BUILDKIT_TLS_DIR/certs tmp f
	if [ -f "$d/complete" ]; then
		for f in ca server client; do
			openssl x509 -in "$d/$f.pem" -noout -checkend 86400 >/dev/null 2>&1 || break
		done && return 0
	fi
	tmp=$d.new
	rm -rf "$tmp"
	mkdir -p "$tmp"
	chmod 700 "$tmp"
	(
		set -e
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
			-keyout "$tmp/ca-key.pem" -out "$tmp/ca.pem" -days 3650 -sha256 -subj "/CN=devloop-buildkit-ca" \
			-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
		for f in server client; do
			openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
				-keyout "$tmp/$f-key.pem" -out "$tmp/$f.csr" -subj "/CN=devloop-buildkit-$f" 2>/dev/null
		done
		printf 'extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$tmp/server.ext"
		printf 'extendedKeyUsage=clientAuth\n' >"$tmp/client.ext"
		for f in server client; do
			openssl x509 -req -in "$tmp/$f.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca-key.pem" \
				-set_serial "0x$(openssl rand -hex 16)" -days 3650 -sha256 -extfile "$tmp/$f.ext" -out "$tmp/$f.pem" 2>/dev/null
		done
		rm -f "$tmp"/*.csr "$tmp"/*.ext
		touch "$tmp/complete"
	) || die "openssl certificates for $BUILDER_TLS"
	rm -rf "$d"
	mv "$tmp" "$d"
}

_bk_tls_answers() {
	local c=$BUILDKIT_TLS_DIR/certs
	"$BIN/buildctl" --addr "$BUILDKIT_TLS_ADDR" --tlscacert "$c/ca.pem" --tlscert "$c/client.pem" \
		--tlskey "$c/client-key.pem" --tlsservername localhost debug workers
}

# builders_tls_up: the TLS buildkitd and its remote-driver builder.
builders_tls_up() {
	local c=$BUILDKIT_TLS_DIR/certs log=$LOGS/builders.log info
	_bk_tls_certs
	if ! running buildkitd-tls || ! _bk_tls_answers >/dev/null 2>&1; then
		stop_daemon buildkitd-tls 15
		unmount_under "$BUILDKIT_TLS_DIR/root" "$BUILDKIT_TLS_RUN"
		mkdir -p "$BUILDKIT_TLS_DIR/root" "$BUILDKIT_TLS_RUN"
		cat >"$BUILDKIT_TLS_DIR/buildkitd.toml" <<EOF
root = "$BUILDKIT_TLS_DIR/root"

[grpc]
  address = ["$BUILDKIT_TLS_ADDR"]
  [grpc.tls]
    cert = "$c/server.pem"
    key = "$c/server-key.pem"
    ca = "$c/ca.pem"

[otel]
  socketPath = "$BUILDKIT_TLS_RUN/otel-grpc.sock"

$(_bk_k8s_config)
EOF
		start_daemon buildkitd-tls "$BIN/buildkitd" --config "$BUILDKIT_TLS_DIR/buildkitd.toml"
		wait_for "buildkitd-tls" 60 _bk_tls_answers ||
			die "the TLS buildkitd did not answer on $BUILDKIT_TLS_ADDR" "$LOGS/buildkitd-tls.log"
	fi
	info=$(docker buildx inspect "$BUILDER_TLS" 2>/dev/null || true)
	if ! grep -q "Endpoint: *$BUILDKIT_TLS_ADDR\$" <<<"$info"; then
		docker buildx rm "$BUILDER_TLS" >>"$log" 2>&1 || true
		docker buildx create --name "$BUILDER_TLS" --driver remote \
			--driver-opt "cacert=$c/ca.pem,cert=$c/client.pem,key=$c/client-key.pem,servername=localhost" \
			"$BUILDKIT_TLS_ADDR" >>"$log" 2>&1 || die "docker buildx create $BUILDER_TLS" "$log"
	fi
	docker buildx inspect --bootstrap "$BUILDER_TLS" >>"$log" 2>&1 || die "builder $BUILDER_TLS does not answer" "$log"
}

# builders_down [k8s]: stop the TLS daemon and remove its builder; with k8s
# also remove the kubernetes builder and its namespace, while the cluster
# still runs (down.sh calls it before cluster_down).
builders_down() {
	local log=$LOGS/builders.log
	if [ "${1:-}" = k8s ] && docker buildx inspect "$BUILDER_K8S" >/dev/null 2>&1; then
		timeout 60 docker buildx rm "$BUILDER_K8S" >>"$log" 2>&1 || true
	fi
	if [ "${1:-}" = k8s ] && [ -x "$BIN/kubectl" ] && _bk_kubectl get namespace "$BUILDKIT_K8S_NS" >/dev/null 2>&1; then
		_bk_kubectl delete namespace "$BUILDKIT_K8S_NS" --wait=true --timeout=60s >>"$log" 2>&1 || true
	fi
	if docker buildx inspect "$BUILDER_TLS" >/dev/null 2>&1; then
		docker buildx rm "$BUILDER_TLS" >>"$log" 2>&1 || true
	fi
	stop_daemon buildkitd-tls 15
	unmount_under "$BUILDKIT_TLS_DIR/root" "$BUILDKIT_TLS_RUN"
	rm -rf "$BUILDKIT_TLS_RUN"
}

builders_env() {
	printf 'export DEVLOOP_BUILDER_K8S=%q\n' "$BUILDER_K8S"
	printf 'export DEVLOOP_BUILDKIT_K8S_NAMESPACE=%q\n' "$BUILDKIT_K8S_NS"
	printf 'export DEVLOOP_BUILDER_TLS=%q\n' "$BUILDER_TLS"
	printf 'export DEVLOOP_BUILDKIT_TLS_ADDR=%q\n' "$BUILDKIT_TLS_ADDR"
	printf 'export DEVLOOP_BUILDKIT_TLS_CERTS=%q\n' "$BUILDKIT_TLS_DIR/certs"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -euo pipefail
	# shellcheck source=lib.sh
	source "$(dirname "$0")/lib.sh"
	# shellcheck source=docker.sh
	source "$ENV_ROOT/docker.sh"
	case "${1:-}" in
	up) builders_tls_up && builders_k8s_up ;;
	down) builders_down k8s ;;
	*) echo "usage: builders.sh up|down" >&2 && exit 2 ;;
	esac
fi

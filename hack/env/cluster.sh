#!/usr/bin/env bash
# The Kubernetes half of the local environment: a single-node cluster made of
# host processes (containerd with CRI and CNI, etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, kubelet, kube-proxy, CoreDNS and a
# hostPath volume provisioner), built from pinned sources.
#
# Sourced after lib.sh by up.sh, down.sh and env.sh, it defines:
#   cluster_builds  start the missing or stale builds in the background
#   cluster_up      build what is missing, start what is not running, wait
#                   until the node is Ready and DNS answers (idempotent;
#                   recovers from a previous run killed without cleanup)
#   cluster_down    stop everything by pid and remove pods, mounts, network
#                   namespaces, the bridge and iptables rules; keeps data
#   cluster_env     print the extra export lines the cluster needs
# Run it alone with: bash -c 'source hack/env/lib.sh; source hack/env/cluster.sh; cluster_up'

KC_DIR=$ENV_ROOT/cluster
KC_CONF=$STATE/cluster
KC_PKI=$STATE/pki
KC_NODE=$(hostname | tr '[:upper:]' '[:lower:]')
KC_SERVICE_IP=10.96.0.1
KC_BRIDGE=cni0
KC_CNI_NET=devloop-pods
KC_IPAM_DIR=$RUN/cni-ipam
KC_CTRD_STATE=$RUN/containerd
KC_RUNC_ROOT=$RUN/runc
KC_KUBELET_DIR=$STATE/kubelet
KC_VOLUMES=$STATE/volumes
KC_PAUSE_IMAGE=devloop.dev/pause:1
KC_STORAGE_CLASS=standard
KC_PROVISIONER=devloop.dev/hostpath
KC_KUBE_BINS=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)
KC_DAEMONS=(provisioner coredns kube-proxy kubelet kube-scheduler kube-controller-manager kube-apiserver etcd containerd)

# shellcheck source=cluster/pki.sh
source "$KC_DIR/pki.sh"
# shellcheck source=cluster/configs.sh
source "$KC_DIR/configs.sh"
# shellcheck source=cluster/runtime.sh
source "$KC_DIR/runtime.sh"

# _kc_exe NAME: the binary a daemon runs.
_kc_exe() {
	case $1 in
	containerd) echo /usr/bin/containerd ;;
	etcd) echo /usr/bin/etcd ;;
	*) echo "$BIN/$1" ;;
	esac
}

_kc_kubectl() {
	"$BIN/kubectl" --kubeconfig "$KUBECONFIG_FILE" --context "$KUBE_CONTEXT" --request-timeout=10s "$@"
}

_kc_inputs() { # DIR FILE...: a short hash of the inputs of a build
	(cd "$1" && shift && cat "$@" | sha256sum | cut -c1-16)
}

# The version the binaries report (`kubectl version`, the node's kubeletVersion):
# a build from the module cache has no git tree to read it from.
_kc_kube_ldflags() {
	local v=k8s.io/component-base/version minor=${KUBE_VERSION#v1.}
	minor=${minor%%.*}
	echo "-s -w -X $v.gitVersion=$KUBE_VERSION -X $v.gitMajor=1 -X $v.gitMinor=$minor -X $v.gitTreeState=clean"
}
_kc_kube_stamp() { echo "$KUBE_VERSION $(_kc_inputs "$REPO_ROOT/hack/tools/kube" go.mod go.sum tools.go) $(go env GOVERSION) $(_kc_kube_ldflags)"; }
_kc_coredns_stamp() { echo "$COREDNS_VERSION $(_kc_inputs "$REPO_ROOT/hack/tools/coredns" go.mod go.sum tools.go) $(go env GOVERSION)"; }
_kc_local_stamp() {
	echo "$(cd "$REPO_ROOT" && cat go.sum hack/env/cluster/pause/*.go hack/env/cluster/imagetar/*.go hack/env/provisioner/*.go | sha256sum | cut -c1-16) $(go env GOVERSION)"
}

_kc_kube_ok() {
	local b
	for b in "${KC_KUBE_BINS[@]}"; do [ -x "$BIN/$b" ] || return 1; done
	stamp_ok kube "$(_kc_kube_stamp)"
}
_kc_coredns_ok() { [ -x "$BIN/coredns" ] && stamp_ok coredns "$(_kc_coredns_stamp)"; }
_kc_local_ok() {
	[ -x "$BIN/provisioner" ] && [ -s "$CACHE/images/pause.tar" ] && stamp_ok cluster-local "$(_kc_local_stamp)"
}

# cluster_builds: start the builds whose binaries are missing or stale.
cluster_builds() {
	if ! _kc_kube_ok && [ -z "${_bg_builds[kube]:-}" ]; then
		bg_build kube bash -c "cd '$REPO_ROOT/hack/tools/kube' && export GOTOOLCHAIN=local &&
			go build -ldflags='$(_kc_kube_ldflags)' -o '$BIN/' $(printf 'k8s.io/kubernetes/cmd/%s ' "${KC_KUBE_BINS[@]}")"
	fi
	if ! _kc_coredns_ok && [ -z "${_bg_builds[coredns]:-}" ]; then
		bg_build coredns bash -c "cd '$REPO_ROOT/hack/tools/coredns' && export GOTOOLCHAIN=local &&
			go build -ldflags='-s -w' -o '$BIN/coredns' github.com/coredns/coredns"
	fi
	if ! _kc_local_ok && [ -z "${_bg_builds[cluster-local]:-}" ]; then
		mkdir -p "$CACHE/images"
		bg_build cluster-local bash -c "cd '$REPO_ROOT' && export GOTOOLCHAIN=local &&
			CGO_ENABLED=0 go build -ldflags='-s -w' -o '$BIN/pause' ./hack/env/cluster/pause &&
			go build -o '$BIN/imagetar' ./hack/env/cluster/imagetar &&
			go build -ldflags='-s -w' -o '$BIN/provisioner' ./hack/env/provisioner &&
			'$BIN/imagetar' -bin '$BIN/pause' -path /pause -tag '$KC_PAUSE_IMAGE' -o '$CACHE/images/pause.tar'"
	fi
}

_kc_wait_builds() {
	cluster_builds
	if [ -n "${_bg_builds[cluster-local]:-}" ]; then
		wait_build cluster-local
		stamp_write cluster-local "$(_kc_local_stamp)"
	fi
	if [ -n "${_bg_builds[coredns]:-}" ]; then
		wait_build coredns
		stamp_write coredns "$(_kc_coredns_stamp)"
	fi
	if [ -n "${_bg_builds[kube]:-}" ]; then
		wait_build kube
		stamp_write kube "$(_kc_kube_stamp)"
	fi
}

# _kc_start NAME ARGS...: start a daemon unless it runs; its log is $LOGS/NAME.log.
_kc_start() {
	local name=$1
	shift
	_kc_forget_stale "$name" "$(_kc_exe "$name")"
	if ! running "$name"; then
		printf '    starting %s (log %s)\n' "$name" "$LOGS/$name.log" >&2
	fi
	start_daemon "$name" "$(_kc_exe "$name")" "$@"
}

# _kc_await NAME DESC TIMEOUT CMD...: wait for CMD, failing with NAME's log
# when the daemon dies or the time runs out.
_kc_await() {
	local name=$1 desc=$2 timeout=$3 i
	shift 3
	for ((i = 0; i < timeout * 5; i++)); do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		running "$name" || die "$name exited while waiting for $desc" "$LOGS/$name.log"
		sleep 0.2
	done
	die "$desc not reached in ${timeout}s" "$LOGS/$name.log"
}

_kc_dns_answers() {
	[ "$(dig +short +time=1 +tries=1 "@$CLUSTER_DNS" "kubernetes.default.svc.$CLUSTER_DOMAIN" A 2>/dev/null)" = "$KC_SERVICE_IP" ]
}

_kc_node_ready() {
	[ "$(_kc_kubectl get node "$KC_NODE" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]
}

_kc_containerd_up() {
	_kc_forget_stale containerd /usr/bin/containerd
	if ! running containerd; then
		# containerd is gone: whatever its pods left behind is stale.
		_kc_reset_runtime
		rm -f "$CONTAINERD_SOCK"
	fi
	mkdir -p "$KC_CTRD_STATE"
	_kc_start containerd --config "$KC_CONF/containerd.toml"
	_kc_await containerd "containerd's socket" 30 ctr --address "$CONTAINERD_SOCK" version
	if ! ctr --address "$CONTAINERD_SOCK" -n k8s.io images ls -q | grep -qx "$KC_PAUSE_IMAGE"; then
		ctr --address "$CONTAINERD_SOCK" -n k8s.io images import "$CACHE/images/pause.tar" >>"$LOGS/containerd.log" 2>&1 ||
			die "importing the pause image" "$LOGS/containerd.log"
	fi
	# Pinned: a disk nearly full once made the kubelet's image GC delete
	# the sandbox image, and no pod could start until env-up ran again.
	ctr --address "$CONTAINERD_SOCK" -n k8s.io images label "$KC_PAUSE_IMAGE" io.cri-containerd.pinned=pinned >/dev/null
}

_kc_control_plane_up() {
	mkdir -p "$STATE/etcd"
	_kc_start etcd --name devloop-env --data-dir "$STATE/etcd" \
		--listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
		--listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
		--initial-cluster devloop-env=http://127.0.0.1:2380 --listen-metrics-urls '' \
		--quota-backend-bytes 4294967296 --auto-compaction-retention 1h
	_kc_await etcd "etcd health" 60 sh -c 'curl -fsS http://127.0.0.1:2379/health | grep -q "\"health\":\"true\""'

	# An API server started before the audit log was configured is restarted.
	if running kube-apiserver && ! tr '\0' ' ' <"/proc/$(cat "$RUN/kube-apiserver.pid")/cmdline" | grep -q -- '--audit-log-path'; then
		stop_daemon kube-apiserver 20
	fi
	_kc_start kube-apiserver \
		--bind-address=127.0.0.1 --secure-port=6443 \
		--etcd-servers=http://127.0.0.1:2379 \
		--client-ca-file="$KC_PKI/ca.crt" \
		--tls-cert-file="$KC_PKI/apiserver.crt" --tls-private-key-file="$KC_PKI/apiserver.key" \
		--kubelet-client-certificate="$KC_PKI/apiserver-kubelet-client.crt" \
		--kubelet-client-key="$KC_PKI/apiserver-kubelet-client.key" \
		--kubelet-certificate-authority="$KC_PKI/ca.crt" \
		--kubelet-preferred-address-types=Hostname \
		--endpoint-reconciler-type=none \
		--service-account-issuer="https://kubernetes.default.svc.$CLUSTER_DOMAIN" \
		--service-account-key-file="$KC_PKI/sa.pub" \
		--service-account-signing-key-file="$KC_PKI/sa.key" \
		--service-cluster-ip-range="$SERVICE_CIDR" \
		--authorization-mode=Node,RBAC \
		--enable-admission-plugins=NodeRestriction \
		--allow-privileged=true --profiling=false \
		--audit-policy-file="$KC_CONF/audit-policy.yaml" --audit-log-path="$LOGS/audit.log" \
		--audit-log-format=json --audit-log-maxsize=200 --audit-log-maxbackup=1
	_kc_await kube-apiserver "kube-apiserver /readyz" 120 \
		sh -c "curl -fsS --cacert '$KC_PKI/ca.crt' https://127.0.0.1:6443/readyz | grep -qx ok"

	_kc_start kube-controller-manager \
		--kubeconfig="$KC_CONF/controller-manager.kubeconfig" \
		--authentication-kubeconfig="$KC_CONF/controller-manager.kubeconfig" \
		--authorization-kubeconfig="$KC_CONF/controller-manager.kubeconfig" \
		--bind-address=127.0.0.1 --leader-elect=false \
		--cluster-signing-cert-file="$KC_PKI/ca.crt" --cluster-signing-key-file="$KC_PKI/ca.key" \
		--root-ca-file="$KC_PKI/ca.crt" \
		--service-account-private-key-file="$KC_PKI/sa.key" --use-service-account-credentials=true \
		--service-cluster-ip-range="$SERVICE_CIDR" --allocate-node-cidrs=false \
		--node-monitor-grace-period=2m \
		--profiling=false
	_kc_start kube-scheduler \
		--kubeconfig="$KC_CONF/scheduler.kubeconfig" \
		--authentication-kubeconfig="$KC_CONF/scheduler.kubeconfig" \
		--authorization-kubeconfig="$KC_CONF/scheduler.kubeconfig" \
		--bind-address=127.0.0.1 --leader-elect=false --profiling=false
}

# --node-monitor-grace-period=2m above: test/faults stops the API server
# for 20 s, and its graceful stop can take 20 s more before the kill; with the
# default grace (40-50 s, by version) the node's lease looked expired once it came back, the
# node lifecycle controller marked the node and every pod not Ready, and no
# pod could be served for seconds (a CI-machine failure of
# TestAPIServerOutage). Node failures are not what this cluster tests.
_kc_node_up() {
	mkdir -p "$KC_KUBELET_DIR" "$STATE/pod-logs" "$KC_VOLUMES"
	_kc_start kubelet --config="$KC_CONF/kubelet.yaml" \
		--kubeconfig="$KC_CONF/kubelet.kubeconfig" \
		--root-dir="$KC_KUBELET_DIR" \
		--node-labels="devloop.dev/cluster=$KUBE_CONTEXT"
	_kc_start kube-proxy --proxy-mode=iptables --cluster-cidr="$POD_CIDR" \
		--kubeconfig="$KC_CONF/kube-proxy.kubeconfig" --hostname-override="$KC_NODE" \
		--healthz-bind-address=127.0.0.1:10256 --metrics-bind-address=127.0.0.1:10249 \
		--conntrack-max-per-core=0 --conntrack-tcp-timeout-established=0 --conntrack-tcp-timeout-close-wait=0
	_kc_start coredns -conf "$KC_CONF/Corefile"
	_kc_start provisioner -kubeconfig "$KUBECONFIG_FILE" -root "$KC_VOLUMES" \
		-class "$KC_STORAGE_CLASS" -name "$KC_PROVISIONER"
}

# cluster_up: see the header.
cluster_up() {
	step "cluster: packages"
	apt_ensure containerd runc containernetworking-plugins iptables conntrack socat etcd-server \
		openssl curl bind9-dnsutils iproute2
	done_step

	step "cluster: binaries (kubernetes $KUBE_VERSION, coredns $COREDNS_VERSION, pause, provisioner)"
	_kc_wait_builds
	done_step

	step "cluster: certificates, kubeconfigs and configs"
	mkdir -p "$KC_CONF"
	_kc_pki
	_kc_kubeconfigs
	_kc_render_configs
	done_step

	step "cluster: containerd"
	_kc_containerd_up
	_kc_bridge
	done_step

	step "cluster: etcd and control plane"
	_kc_control_plane_up
	_kc_kubectl apply -f "$KC_CONF/storage.yaml" >>"$LOGS/cluster.log" 2>&1 ||
		die "creating the default StorageClass" "$LOGS/cluster.log"
	done_step

	step "cluster: node (kubelet, kube-proxy, coredns, provisioner)"
	_kc_node_up
	_kc_await kubelet "node $KC_NODE registered" 120 _kc_kubectl get node "$KC_NODE"
	_kc_kubectl label node "$KC_NODE" "devloop.dev/cluster=$KUBE_CONTEXT" --overwrite >>"$LOGS/cluster.log" 2>&1 &&
		_kc_kubectl annotate node "$KC_NODE" "devloop.dev/containerd-address=unix://$CONTAINERD_SOCK" --overwrite >>"$LOGS/cluster.log" 2>&1 ||
		die "labelling node $KC_NODE" "$LOGS/cluster.log"
	_kc_await kubelet "node $KC_NODE Ready" 180 _kc_node_ready
	_kc_await kube-controller-manager "service account default/default" 120 _kc_kubectl -n default get serviceaccount default
	_kc_await coredns "cluster DNS answering on $CLUSTER_DNS" 60 _kc_dns_answers
	done_step
}

# cluster_down: see the header.
cluster_down() {
	local name ctr=(ctr --address "$CONTAINERD_SOCK" -n k8s.io) id
	for name in "${KC_DAEMONS[@]}"; do
		_kc_forget_stale "$name" "$(_kc_exe "$name")"
	done
	# The kubelet first, so that nothing restarts the containers stopped below.
	stop_daemon kubelet 20
	if running containerd; then
		for id in $("${ctr[@]}" tasks ls -q 2>/dev/null); do
			"${ctr[@]}" tasks kill -a -s SIGKILL "$id" >/dev/null 2>&1 || true
		done
		for id in $("${ctr[@]}" tasks ls -q 2>/dev/null); do
			"${ctr[@]}" tasks delete -f "$id" >/dev/null 2>&1 || true
		done
	fi
	for name in provisioner coredns kube-proxy kube-scheduler kube-controller-manager kube-apiserver etcd containerd; do
		stop_daemon "$name" 20
	done
	_kc_reset_runtime
	rm -f "$CONTAINERD_SOCK"
	_kc_unmount "$KC_KUBELET_DIR"
	if [ -x "$BIN/kube-proxy" ]; then
		"$BIN/kube-proxy" --cleanup >>"$LOGS/kube-proxy.log" 2>&1 || true
	fi
	_kc_forward_rules del
}

# cluster_node_restart: what a reboot does to the node, the control plane
# left running: the kubelet stops, every container is killed (SIGKILL, as at
# a power-off), containerd, kube-proxy and CoreDNS stop; then they start
# again on a clean runtime and the kubelet restarts the pods. Waits for the
# node to be Ready. test/faults restarts the node with it.
cluster_node_restart() {
	local ctr=(ctr --address "$CONTAINERD_SOCK" -n k8s.io) id name
	stop_daemon kubelet 20
	for id in $("${ctr[@]}" tasks ls -q 2>/dev/null); do
		"${ctr[@]}" tasks kill -a -s SIGKILL "$id" >/dev/null 2>&1 || true
	done
	for name in provisioner coredns kube-proxy containerd; do
		stop_daemon "$name" 20
	done
	_kc_containerd_up
	_kc_bridge
	_kc_node_up
	_kc_await kubelet "node $KC_NODE Ready" 180 _kc_node_ready
	_kc_await coredns "cluster DNS answering on $CLUSTER_DNS" 60 _kc_dns_answers
}

# cluster_env: export lines beyond those env.sh prints.
cluster_env() {
	printf 'export DEVLOOP_KUBE_NODE=%q\n' "$KC_NODE"
}

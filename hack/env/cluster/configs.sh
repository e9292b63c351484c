#!/usr/bin/env bash
# Configuration files of the cluster's daemons (sourced by ../cluster.sh),
# rendered into $KC_CONF on every cluster_up from the layout in lib.sh.

_kc_render_configs() {
	mkdir -p "$KC_CONF/cni" "$KC_CONF/certs.d/docker.io" "$KC_CONF/certs.d/$REGISTRY"

	# containerd: a daemon of the cluster's own, with CRI and CNI.
	cat >"$KC_CONF/containerd.toml" <<EOT
version = 2
root = "$STATE/containerd"
state = "$KC_CTRD_STATE"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "$CONTAINERD_SOCK"

[plugins."io.containerd.internal.v1.opt"]
  path = "$STATE/containerd/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$KC_PAUSE_IMAGE"
  # No CAP_SYS_RESOURCE here: without this every sandbox fails in runc.
  restrict_oom_score_adj = true
  # Pod network namespaces live under the runtime state, apart from anyone else's.
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$KC_RUNC_ROOT"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$KC_CONF/cni"
    max_conf_num = 1
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$KC_CONF/certs.d"
EOT

	# docker.io pulls go to the local registry, which serves plain http.
	cat >"$KC_CONF/certs.d/docker.io/hosts.toml" <<EOT
server = "https://registry-1.docker.io"

[host."http://$REGISTRY"]
  capabilities = ["pull", "resolve"]
EOT
	cat >"$KC_CONF/certs.d/$REGISTRY/hosts.toml" <<EOT
server = "http://$REGISTRY"

[host."http://$REGISTRY"]
  capabilities = ["pull", "resolve", "push"]
EOT

	cat >"$KC_CONF/cni/10-devloop.conflist" <<EOT
{
  "cniVersion": "0.4.0",
  "name": "$KC_CNI_NET",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$KC_BRIDGE",
      "isGateway": true,
      "ipMasq": true,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$KC_IPAM_DIR",
        "ranges": [[{"subnet": "$POD_CIDR", "gateway": "$POD_GATEWAY"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOT

	cat >"$KC_CONF/kubelet.yaml" <<EOT
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
  x509:
    clientCAFile: $KC_PKI/ca.crt
authorization:
  mode: Webhook
tlsCertFile: $KC_PKI/kubelet-serving.crt
tlsPrivateKeyFile: $KC_PKI/kubelet-serving.key
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
clusterDNS:
- $CLUSTER_DNS
clusterDomain: $CLUSTER_DOMAIN
podLogsDirectory: $STATE/pod-logs
resolvConf: /etc/resolv.conf
# A small disk must not taint the node or make it delete imported images.
evictionHard:
  memory.available: 100Mi
  nodefs.available: 1%
  nodefs.inodesFree: 1%
  imagefs.available: 1%
imageGCHighThresholdPercent: 99
imageGCLowThresholdPercent: 98
serializeImagePulls: false
maxPods: 200
EOT

	# CoreDNS as a host process on the bridge's gateway, the pods' nameserver.
	cat >"$KC_CONF/Corefile" <<EOT
.:53 {
    bind $CLUSTER_DNS
    errors
    ready 127.0.0.1:8181
    kubernetes $CLUSTER_DOMAIN in-addr.arpa ip6.arpa {
        kubeconfig $KUBECONFIG_FILE $KUBE_CONTEXT
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 5
    }
    forward . /etc/resolv.conf
}
EOT

	# The API server's audit log records every write (metadata only), so that
	# tests count devloop's writes from outside devloop (by user agent).
	cat >"$KC_CONF/audit-policy.yaml" <<EOT
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: Metadata
  verbs: [create, update, patch, delete, deletecollection]
- level: None
EOT

	cat >"$KC_CONF/storage.yaml" <<EOT
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: $KC_STORAGE_CLASS
  annotations:
    storageclass.kubernetes.io/is-default-class: "true"
provisioner: $KC_PROVISIONER
reclaimPolicy: Delete
volumeBindingMode: Immediate
EOT
}

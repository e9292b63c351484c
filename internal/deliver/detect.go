// Package deliver detects what kind of local cluster devloop deploys to and
// gets built images where that cluster's container runtime can run them.
package deliver

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Kind is a class of cluster, which decides how images are delivered.
type Kind string

// The kinds of cluster devloop knows.
const (
	// KindContainerd is a cluster whose node runtime's containerd socket is
	// reachable from this machine (the project's test cluster).
	KindContainerd    Kind = "containerd"
	KindK3s           Kind = "k3s"
	KindKind          Kind = "kind"
	KindK3d           Kind = "k3d"
	KindMinikube      Kind = "minikube"
	KindDockerDesktop Kind = "docker-desktop"
	KindRegistry      Kind = "registry"
	// KindSharedEngine is a cluster the user says runs images from the
	// engine (--shared-engine), whatever its name.
	KindSharedEngine Kind = "shared-engine"
)

// Annotations and well-known names used by detection.
const (
	// ContainerdAddressAnnotation on a node names a containerd socket on this
	// machine that runs the node's containers (set by the test environment).
	ContainerdAddressAnnotation = "devloop.dev/containerd-address"
	// K3sContainerdSocket is where bare k3s's containerd listens.
	K3sContainerdSocket = "/run/k3s/containerd/containerd.sock"
	// LocalRegistryConfigMap is KEP-1755's ConfigMap in kube-public.
	LocalRegistryConfigMap = "local-registry-hosting"
	localRegistryKey       = "localRegistryHosting.v1"
)

// Cluster is the result of detection.
type Cluster struct {
	Kind Kind
	// Name is the kind/k3d cluster name (node containers carry it as a label).
	Name string
	// Nodes are the names of the cluster's nodes.
	Nodes []string
	// ContainerdAddress is the containerd socket for KindContainerd and KindK3s.
	ContainerdAddress string
	// Registry is where to push (host[:port]) when configured or advertised;
	// RegistryFromCluster is the same registry as the cluster's runtime
	// reaches it (KEP-1755 hostFromContainerRuntime), used in image references.
	Registry, RegistryFromCluster string
	// Reason says, for the user, why the cluster was classified so.
	Reason string
	// Platforms are the os/arch[/variant] of the Ready nodes, deduplicated.
	Platforms []string
}

// Delivery is how the user asks images to travel (--delivery).
type Delivery string

// The deliveries a user may ask for.
const (
	// DeliveryAuto lets detection decide (the default).
	DeliveryAuto Delivery = "auto"
	// DeliveryImport loads images into the nodes' containerd (kind, k3d,
	// k3s, --containerd-address) even when the cluster advertises a registry.
	DeliveryImport Delivery = "import"
	// DeliveryRegistry pushes to the configured or advertised registry.
	DeliveryRegistry Delivery = "registry"
	// DeliveryEngine builds into the engine the cluster runs images from
	// (Docker Desktop, minikube's docker-env, OrbStack, Rancher Desktop with
	// dockerd, or any cluster whose name devloop does not know): nothing moves.
	DeliveryEngine Delivery = "engine"
)

// Deliveries lists the values --delivery accepts.
var Deliveries = []Delivery{DeliveryAuto, DeliveryImport, DeliveryRegistry, DeliveryEngine}

// Override is what a user states about a cluster that detection cannot see
// (the --delivery and --containerd-address flags). It wins over detection.
type Override struct {
	Delivery Delivery
	// ContainerdAddress is the socket, on this machine, of the containerd
	// that runs the nodes' containers (a kubeadm or bare containerd node on
	// this laptop): images are imported there.
	ContainerdAddress string
}

// Facts are what classification looks at; Detect gathers them.
type Facts struct {
	KubeContext, ServerURL string
	Override               Override
	Nodes                  []corev1.Node
	// LocalRegistryHosting is the localRegistryHosting.v1 value of the
	// KEP-1755 ConfigMap, empty when there is none.
	LocalRegistryHosting string
	ConfiguredRegistry   string
	// NodesForbidden: the user may not list nodes (Nodes is empty).
	NodesForbidden bool
	// FileExists reports whether a path exists on this machine (for the k3s
	// socket); nil means os.Stat.
	FileExists func(string) bool
}

// Detect classifies the cluster behind a kube context: f names the context,
// its server, the configured registry and the user's override; Detect adds
// the nodes and the advertised registry it reads from the cluster.
func Detect(ctx context.Context, k kubernetes.Interface, f Facts) (Cluster, error) {
	nodes, err := k.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	switch {
	case err == nil:
		f.Nodes = nodes.Items
	case apierrors.IsForbidden(err):
		// A user confined to a namespace: what the user states (a registry,
		// --delivery, --containerd-address) still decides.
		f.NodesForbidden = true
	default:
		return Cluster{}, fmt.Errorf("listing nodes: %w", err)
	}
	cm, err := k.CoreV1().ConfigMaps("kube-public").Get(ctx, LocalRegistryConfigMap, metav1.GetOptions{})
	switch {
	case err == nil:
		f.LocalRegistryHosting = cm.Data[localRegistryKey]
	case apierrors.IsNotFound(err), apierrors.IsForbidden(err):
	default:
		return Cluster{}, fmt.Errorf("reading kube-public/%s: %w", LocalRegistryConfigMap, err)
	}
	return Classify(f)
}

// Classify decides the kind of cluster from facts. A configured registry
// takes precedence; then the nodes' own marks; then an advertised registry.
func Classify(f Facts) (Cluster, error) {
	exists := f.FileExists
	if exists == nil {
		exists = func(p string) bool { _, err := os.Stat(p); return err == nil }
	}
	c := Cluster{Platforms: NodePlatforms(f.Nodes)}
	for _, n := range f.Nodes {
		c.Nodes = append(c.Nodes, n.Name)
	}
	adv, err := parseLocalRegistryHosting(f.LocalRegistryHosting)
	if err != nil {
		return Cluster{}, err
	}
	c.Registry, c.RegistryFromCluster = adv.Host, adv.HostFromContainerRuntime
	o := f.Override
	if o.Delivery == "" {
		o.Delivery = DeliveryAuto
	}
	if !slices.Contains(Deliveries, o.Delivery) {
		return Cluster{}, fmt.Errorf("--delivery %q: want one of %v", o.Delivery, Deliveries)
	}
	switch {
	case o.ContainerdAddress != "" && (o.Delivery == DeliveryEngine || o.Delivery == DeliveryRegistry):
		return Cluster{}, fmt.Errorf("--containerd-address imports into a containerd; it cannot go with --delivery %s", o.Delivery)
	case o.ContainerdAddress != "":
		c.Kind, c.ContainerdAddress = KindContainerd, strings.TrimPrefix(o.ContainerdAddress, "unix://")
		c.Reason = fmt.Sprintf("--containerd-address %s: images are imported into that containerd", c.ContainerdAddress)
		return c, nil
	case o.Delivery == DeliveryEngine:
		c.Kind = KindSharedEngine
		c.Reason = "--delivery engine: the cluster runs images from the engine devloop builds into, nothing to move"
		return c, nil
	case o.Delivery == DeliveryRegistry:
		reg := f.ConfiguredRegistry
		if reg == "" {
			reg = adv.Host
		}
		if reg == "" {
			return Cluster{}, fmt.Errorf("--delivery registry: no registry is set in devloop.yaml and the cluster advertises none (kube-public/%s)", LocalRegistryConfigMap)
		}
		if reg == f.ConfiguredRegistry {
			c.RegistryFromCluster = ""
		}
		c.Kind, c.Registry = KindRegistry, reg
		c.Reason = fmt.Sprintf("--delivery registry: images are pushed to %s, only missing layers travel", reg)
		return c, nil
	case o.Delivery == DeliveryImport:
		k, ok := classifyNodes(f, exists, &c)
		if !ok || k == KindMinikube || k == KindDockerDesktop {
			return Cluster{}, fmt.Errorf("--delivery import: devloop cannot import into the nodes of context %q (it imports into kind, k3d and k3s nodes, or into the containerd named by --containerd-address)", f.KubeContext)
		}
		c.Kind = k
		return c, nil
	}
	if f.ConfiguredRegistry != "" {
		c.Kind, c.Registry, c.RegistryFromCluster = KindRegistry, f.ConfiguredRegistry, ""
		c.Reason = fmt.Sprintf("registry %s is set in devloop.yaml: images are pushed there", f.ConfiguredRegistry)
		return c, nil
	}
	if k, ok := classifyNodes(f, exists, &c); ok {
		c.Kind = k
		if (k == KindKind || k == KindK3d) && adv.Host != "" {
			// A node import streams the whole image archive; a push sends
			// only the layers the registry lacks, so the registry moves less.
			c.Kind = KindRegistry
			c.Reason = fmt.Sprintf("%s; it advertises the local registry %s (kube-public/%s), which moves only missing layers, "+
				"so images are pushed there and deployed by digest (--delivery import loads the nodes instead)",
				strings.SplitN(c.Reason, ": images", 2)[0], adv.Host, LocalRegistryConfigMap)
		}
		return c, nil
	}
	if adv.Host != "" {
		c.Kind = KindRegistry
		c.Reason = fmt.Sprintf("the cluster advertises the local registry %s (kube-public/%s)", adv.Host, LocalRegistryConfigMap)
		return c, nil
	}
	return Cluster{}, &UnknownClusterError{Context: f.KubeContext, Server: f.ServerURL, NodesForbidden: f.NodesForbidden}
}

func classifyNodes(f Facts, exists func(string) bool, c *Cluster) (Kind, bool) {
	ctxName := f.KubeContext
	for _, n := range f.Nodes {
		if addr := n.Annotations[ContainerdAddressAnnotation]; addr != "" {
			c.ContainerdAddress = strings.TrimPrefix(addr, "unix://")
			c.Reason = fmt.Sprintf("node %s names its containerd (%s) with the %s annotation: images are imported there",
				n.Name, c.ContainerdAddress, ContainerdAddressAnnotation)
			return KindContainerd, true
		}
	}
	firstNode := func(pred func(corev1.Node) bool) (string, bool) {
		for _, n := range f.Nodes {
			if pred(n) {
				return n.Name, true
			}
		}
		return "", false
	}
	if node, ok := firstNode(func(n corev1.Node) bool { return strings.HasPrefix(n.Spec.ProviderID, "kind://") }); ok || strings.HasPrefix(ctxName, "kind-") {
		c.Name = kindName(f, node)
		c.Reason = fmt.Sprintf("kind cluster %q (%s): images are imported into each node container's containerd", c.Name, evidence(ok, "provider ID kind:// on node "+node, "context "+ctxName))
		return KindKind, true
	}
	if node, ok := firstNode(func(n corev1.Node) bool { return strings.HasPrefix(n.Name, "k3d-") }); ok || strings.HasPrefix(ctxName, "k3d-") {
		c.Name = k3dName(ctxName, node)
		c.Reason = fmt.Sprintf("k3d cluster %q (%s): images are imported into each node container's containerd", c.Name, evidence(ok, "node "+node, "context "+ctxName))
		return KindK3d, true
	}
	if node, ok := firstNode(func(n corev1.Node) bool {
		_, lbl := n.Labels["minikube.k8s.io/name"]
		return lbl
	}); ok || ctxName == "minikube" {
		c.Reason = fmt.Sprintf("minikube (%s): it runs images from its own engine; build there (eval $(minikube docker-env)), nothing to move",
			evidence(ok, "labels minikube.k8s.io/* on node "+node, "context minikube"))
		return KindMinikube, true
	}
	if node, ok := firstNode(func(n corev1.Node) bool { return n.Name == "docker-desktop" }); ok || ctxName == "docker-desktop" {
		c.Reason = fmt.Sprintf("Docker Desktop (%s): its Kubernetes runs images from the engine devloop builds into, nothing to move",
			evidence(ok, "node "+node, "context docker-desktop"))
		return KindDockerDesktop, true
	}
	if node, ok := firstNode(isK3sNode); ok {
		if !isLoopbackServer(f.ServerURL) || !exists(K3sContainerdSocket) {
			c.Reason = fmt.Sprintf("k3s node %s, but its containerd socket %s is not on this machine", node, K3sContainerdSocket)
			return "", false
		}
		c.ContainerdAddress = K3sContainerdSocket
		c.Reason = fmt.Sprintf("k3s (node %s): images are imported into its containerd at %s", node, K3sContainerdSocket)
		return KindK3s, true
	}
	return "", false
}

func evidence(fromNode bool, node, ctx string) string {
	if fromNode {
		return node
	}
	return ctx
}

func isK3sNode(n corev1.Node) bool {
	if strings.HasPrefix(n.Spec.ProviderID, "k3s://") || n.Labels["node.kubernetes.io/instance-type"] == "k3s" {
		return true
	}
	for k := range n.Annotations {
		if strings.HasPrefix(k, "k3s.io/") {
			return true
		}
	}
	return false
}

// kindName is the kind cluster name: the context without "kind-", else the
// node name without its role suffix.
func kindName(f Facts, node string) string {
	if n, ok := strings.CutPrefix(f.KubeContext, "kind-"); ok && n != "" {
		return n
	}
	for _, suffix := range []string{"-control-plane", "-worker"} {
		if i := strings.LastIndex(node, suffix); i > 0 {
			return node[:i]
		}
	}
	return "kind"
}

// k3dName is the k3d cluster name: the context without "k3d-", else the node
// name k3d-NAME-server-0 / k3d-NAME-agent-0 without decoration.
func k3dName(ctx, node string) string {
	if n, ok := strings.CutPrefix(ctx, "k3d-"); ok && n != "" {
		return n
	}
	n := strings.TrimPrefix(node, "k3d-")
	for _, role := range []string{"-server-", "-agent-"} {
		if i := strings.LastIndex(n, role); i > 0 {
			return n[:i]
		}
	}
	return n
}

func isLoopbackServer(server string) bool {
	u, err := url.Parse(server)
	if err != nil || u.Host == "" {
		return false
	}
	h := u.Hostname()
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// NodePlatforms returns the os/arch[/variant] of the Ready nodes,
// deduplicated and sorted. Node status carries no variant: "linux/arm"
// is normalised to linux/arm/v7 by the platform choice.
func NodePlatforms(nodes []corev1.Node) []string {
	var out []string
	for _, n := range nodes {
		if !nodeReady(n) {
			continue
		}
		info := n.Status.NodeInfo
		os, arch := info.OperatingSystem, info.Architecture
		if os == "" {
			os = n.Labels[corev1.LabelOSStable]
		}
		if arch == "" {
			arch = n.Labels[corev1.LabelArchStable]
		}
		if os == "" || arch == "" {
			continue
		}
		p := os + "/" + arch
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

func nodeReady(n corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

type localRegistryHosting struct {
	Host                     string `yaml:"host"`
	HostFromContainerRuntime string `yaml:"hostFromContainerRuntime"`
	HostFromClusterNetwork   string `yaml:"hostFromClusterNetwork"`
	Help                     string `yaml:"help"`
}

func parseLocalRegistryHosting(s string) (localRegistryHosting, error) {
	var l localRegistryHosting
	if strings.TrimSpace(s) == "" {
		return l, nil
	}
	if err := yaml.Unmarshal([]byte(s), &l); err != nil {
		return l, fmt.Errorf("parsing %s in kube-public/%s: %w", localRegistryKey, LocalRegistryConfigMap, err)
	}
	return l, nil
}

// UnknownClusterError says devloop cannot tell how to get images into the
// cluster, and how to tell it.
type UnknownClusterError struct {
	Context, Server string
	// NodesForbidden: the user may not list nodes, so their marks are unseen.
	NodesForbidden bool
}

func (e *UnknownClusterError) Error() string {
	if e.NodesForbidden {
		return fmt.Sprintf("cannot tell how to get images into the cluster of context %q (server %s): "+
			"this user may not list nodes, where devloop reads the cluster's kind and platforms, "+
			"and the cluster advertises no local registry. Set registry in devloop.yaml (or --delivery registry), "+
			"--delivery engine for a cluster that runs images from this engine, or --containerd-address; "+
			"or ask for get/list on nodes", e.Context, e.Server)
	}
	return fmt.Sprintf("cannot tell how to get images into the cluster of context %q (server %s): "+
		"it is not kind, k3d, k3s, minikube or Docker Desktop and advertises no local registry. "+
		"Set registry in devloop.yaml to a registry this machine can push to and the cluster can pull from, "+
		"e.g.\n  registry: localhost:5000", e.Context, e.Server)
}

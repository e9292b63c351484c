package deliver

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

type nodeOpt func(*corev1.Node)

func node(name string, opts ...nodeOpt) corev1.Node {
	n := corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{}, Annotations: map[string]string{}}}
	n.Status.NodeInfo = corev1.NodeSystemInfo{OperatingSystem: "linux", Architecture: "amd64"}
	n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}
	for _, o := range opts {
		o(&n)
	}
	return n
}

func provider(id string) nodeOpt   { return func(n *corev1.Node) { n.Spec.ProviderID = id } }
func label(k, v string) nodeOpt    { return func(n *corev1.Node) { n.Labels[k] = v } }
func annotate(k, v string) nodeOpt { return func(n *corev1.Node) { n.Annotations[k] = v } }
func arch(a string) nodeOpt        { return func(n *corev1.Node) { n.Status.NodeInfo.Architecture = a } }
func notReady() nodeOpt {
	return func(n *corev1.Node) { n.Status.Conditions[0].Status = corev1.ConditionFalse }
}

func TestClassify(t *testing.T) {
	noFile := func(string) bool { return false }
	anyFile := func(string) bool { return true }
	kep := "host: \"localhost:5001\"\nhostFromContainerRuntime: \"kind-registry:5000\"\nhelp: \"https://kind.sigs.k8s.io/docs/user/local-registry/\"\n"
	cases := []struct {
		name    string
		f       Facts
		kind    Kind
		check   func(t *testing.T, c Cluster)
		wantErr string
	}{
		{name: "test cluster annotation", f: Facts{KubeContext: "devloop-env", ServerURL: "https://127.0.0.1:6443",
			Nodes: []corev1.Node{node("host", annotate(ContainerdAddressAnnotation, "unix:///run/devloop-env/containerd/containerd.sock"))}},
			kind: KindContainerd, check: func(t *testing.T, c Cluster) {
				if c.ContainerdAddress != "/run/devloop-env/containerd/containerd.sock" {
					t.Errorf("address %q", c.ContainerdAddress)
				}
			}},
		{name: "configured registry wins", f: Facts{ConfiguredRegistry: "127.0.0.1:5000", KubeContext: "kind-dev",
			Nodes: []corev1.Node{node("dev-control-plane", provider("kind://docker/dev/dev-control-plane"))}},
			kind: KindRegistry, check: func(t *testing.T, c Cluster) {
				if c.Registry != "127.0.0.1:5000" || !strings.Contains(c.Reason, "devloop.yaml") {
					t.Errorf("%+v", c)
				}
			}},
		{name: "kind by provider id", f: Facts{KubeContext: "my-ctx",
			Nodes: []corev1.Node{node("dev-control-plane", provider("kind://docker/dev/dev-control-plane")), node("dev-worker", provider("kind://docker/dev/dev-worker"))}},
			kind: KindKind, check: func(t *testing.T, c Cluster) {
				if c.Name != "dev" || !slices.Equal(c.Nodes, []string{"dev-control-plane", "dev-worker"}) {
					t.Errorf("%+v", c)
				}
			}},
		{name: "kind with advertised registry pushes there", f: Facts{KubeContext: "kind-x", LocalRegistryHosting: kep, Nodes: []corev1.Node{node("x-control-plane")}},
			kind: KindRegistry, check: func(t *testing.T, c Cluster) {
				if c.Name != "x" || c.Registry != "localhost:5001" || c.RegistryFromCluster != "kind-registry:5000" ||
					!strings.Contains(c.Reason, "only missing layers") || !strings.Contains(c.Reason, "--delivery import") ||
					!strings.HasPrefix(c.Reason, `kind cluster "x" (context kind-x); it advertises`) {
					t.Errorf("%+v", c)
				}
			}},
		{name: "kind with advertised registry, --delivery import", f: Facts{KubeContext: "kind-x", LocalRegistryHosting: kep,
			Nodes: []corev1.Node{node("x-control-plane")}, Override: Override{Delivery: DeliveryImport}},
			kind: KindKind, check: func(t *testing.T, c Cluster) {
				if c.Name != "x" {
					t.Errorf("%+v", c)
				}
			}},
		{name: "--delivery import on a cluster devloop cannot import into", f: Facts{KubeContext: "gke_x", LocalRegistryHosting: kep,
			Nodes: []corev1.Node{node("gke-node")}, Override: Override{Delivery: DeliveryImport}}, wantErr: "cannot import"},
		{name: "--delivery engine wins over the node annotation", f: Facts{KubeContext: "devloop-env",
			Nodes:    []corev1.Node{node("host", annotate(ContainerdAddressAnnotation, "unix:///x.sock"))},
			Override: Override{Delivery: DeliveryEngine}}, kind: KindSharedEngine},
		{name: "--delivery registry uses the advertised one", f: Facts{KubeContext: "c", LocalRegistryHosting: kep,
			Nodes: []corev1.Node{node("n")}, Override: Override{Delivery: DeliveryRegistry}},
			kind: KindRegistry, check: func(t *testing.T, c Cluster) {
				if c.Registry != "localhost:5001" || c.RegistryFromCluster != "kind-registry:5000" {
					t.Errorf("%+v", c)
				}
			}},
		{name: "--delivery registry without any", f: Facts{KubeContext: "c", Nodes: []corev1.Node{node("n")},
			Override: Override{Delivery: DeliveryRegistry}}, wantErr: "no registry"},
		{name: "--delivery nonsense", f: Facts{Nodes: []corev1.Node{node("n")}, Override: Override{Delivery: "ftp"}}, wantErr: "want one of"},
		{name: "--containerd-address", f: Facts{KubeContext: "kubeadm", Nodes: []corev1.Node{node("laptop")},
			Override: Override{ContainerdAddress: "unix:///run/containerd/containerd.sock"}},
			kind: KindContainerd, check: func(t *testing.T, c Cluster) {
				if c.ContainerdAddress != "/run/containerd/containerd.sock" {
					t.Errorf("%+v", c)
				}
			}},
		{name: "--containerd-address with --delivery engine", f: Facts{Nodes: []corev1.Node{node("n")},
			Override: Override{ContainerdAddress: "/x.sock", Delivery: DeliveryEngine}}, wantErr: "cannot go with"},
		{name: "k3d by node name", f: Facts{KubeContext: "whatever",
			Nodes: []corev1.Node{node("k3d-demo-server-0", label("node.kubernetes.io/instance-type", "k3s"), provider("k3s://k3d-demo-server-0"))}},
			kind: KindK3d, check: func(t *testing.T, c Cluster) {
				if c.Name != "demo" {
					t.Errorf("name %q", c.Name)
				}
			}},
		{name: "minikube labels", f: Facts{KubeContext: "mk", Nodes: []corev1.Node{node("minikube", label("minikube.k8s.io/name", "minikube"))}}, kind: KindMinikube},
		{name: "docker desktop node", f: Facts{KubeContext: "dd", Nodes: []corev1.Node{node("docker-desktop")}}, kind: KindDockerDesktop},
		{name: "bare k3s with local socket", f: Facts{KubeContext: "default", ServerURL: "https://127.0.0.1:6443", FileExists: anyFile,
			Nodes: []corev1.Node{node("laptop", provider("k3s://laptop"))}},
			kind: KindK3s, check: func(t *testing.T, c Cluster) {
				if c.ContainerdAddress != K3sContainerdSocket {
					t.Errorf("%+v", c)
				}
			}},
		{name: "remote k3s is not importable", f: Facts{KubeContext: "default", ServerURL: "https://10.0.0.5:6443", FileExists: anyFile,
			Nodes: []corev1.Node{node("pi", label("node.kubernetes.io/instance-type", "k3s"))}},
			wantErr: "registry"},
		{name: "k3s without socket", f: Facts{KubeContext: "default", ServerURL: "https://127.0.0.1:6443", FileExists: noFile,
			Nodes: []corev1.Node{node("laptop", annotate("k3s.io/hostname", "laptop"))}},
			wantErr: "registry"},
		{name: "advertised registry only", f: Facts{KubeContext: "c", LocalRegistryHosting: kep, Nodes: []corev1.Node{node("n")}},
			kind: KindRegistry, check: func(t *testing.T, c Cluster) {
				if c.Registry != "localhost:5001" {
					t.Errorf("%+v", c)
				}
			}},
		{name: "unknown", f: Facts{KubeContext: "gke_x", ServerURL: "https://34.1.2.3", Nodes: []corev1.Node{node("gke-node")}}, wantErr: "Set registry in devloop.yaml"},
		{name: "bad KEP-1755 yaml", f: Facts{LocalRegistryHosting: "host: [", Nodes: []corev1.Node{node("n")}}, wantErr: "localRegistryHosting.v1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.f.FileExists == nil {
				c.f.FileExists = noFile
			}
			got, err := Classify(c.f)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Kind != c.kind || got.Reason == "" {
				t.Fatalf("kind %q (reason %q), want %q", got.Kind, got.Reason, c.kind)
			}
			if c.check != nil {
				c.check(t, got)
			}
		})
	}
}

func TestNodePlatforms(t *testing.T) {
	got := NodePlatforms([]corev1.Node{node("a"), node("b", arch("arm64")), node("c"), node("d", arch("s390x"), notReady())})
	if !slices.Equal(got, []string{"linux/amd64", "linux/arm64"}) {
		t.Fatalf("platforms %v", got)
	}
}

func TestDetectWithClientset(t *testing.T) {
	n := node("k3d-x-server-0")
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: LocalRegistryConfigMap, Namespace: "kube-public"},
		Data: map[string]string{"localRegistryHosting.v1": "host: localhost:5002\n"}}
	k := fake.NewClientset(&n, cm)
	c, err := Detect(context.Background(), k, Facts{KubeContext: "k3d-x", ServerURL: "https://0.0.0.0:6550"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Kind != KindRegistry || c.Name != "x" || c.Registry != "localhost:5002" || !slices.Equal(c.Platforms, []string{"linux/amd64"}) {
		t.Fatalf("%+v", c)
	}
	_, err = Detect(context.Background(), fake.NewClientset(), Facts{KubeContext: "prod", ServerURL: "https://prod.example.com"})
	var ue *UnknownClusterError
	if !errors.As(err, &ue) {
		t.Fatalf("err = %v", err)
	}
}

// A user who may not list nodes: what the user states still decides, and
// without it the error says what to set.
func TestDetectNodesForbidden(t *testing.T) {
	forbidding := func() *fake.Clientset {
		k := fake.NewClientset()
		k.PrependReactor("list", "nodes", func(k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "nodes"}, "", errors.New("namespaced user"))
		})
		return k
	}
	c, err := Detect(context.Background(), forbidding(), Facts{KubeContext: "dev", ServerURL: "https://127.0.0.1:6443",
		Override: Override{ContainerdAddress: "/run/containerd/containerd.sock"}})
	if err != nil || c.Kind != KindContainerd {
		t.Fatalf("with --containerd-address: %+v, %v", c, err)
	}
	c, err = Detect(context.Background(), forbidding(), Facts{KubeContext: "dev", ServerURL: "https://127.0.0.1:6443", ConfiguredRegistry: "registry.example.com"})
	if err != nil || c.Kind != KindRegistry || len(c.Platforms) != 0 {
		t.Fatalf("with a registry: %+v, %v", c, err)
	}
	_, err = Detect(context.Background(), forbidding(), Facts{KubeContext: "dev", ServerURL: "https://127.0.0.1:6443"})
	var ue *UnknownClusterError
	if !errors.As(err, &ue) || !ue.NodesForbidden || !strings.Contains(err.Error(), "may not list nodes") {
		t.Fatalf("with nothing stated: %v", err)
	}
}

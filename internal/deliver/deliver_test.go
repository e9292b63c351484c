package deliver

import (
	"context"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"go.uber.org/zap"

	"github.com/devloop-dev/devloop/internal/registry"
)

func TestNormalizeRef(t *testing.T) {
	for in, want := range map[string]string{
		"notes-web:abc":                "docker.io/library/notes-web:abc",
		"notes-web":                    "docker.io/library/notes-web:latest",
		"me/app:1":                     "docker.io/me/app:1",
		"127.0.0.1:5000/notes-web:t":   "127.0.0.1:5000/notes-web:t",
		"docker.io/library/debian:12":  "docker.io/library/debian:12",
		"localhost:5001/team/app:v1.2": "localhost:5001/team/app:v1.2",
	} {
		got, err := NormalizeRef(in)
		if err != nil || got != want {
			t.Errorf("NormalizeRef(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := NormalizeRef("Bad:Ref:x"); err == nil {
		t.Error("bad reference accepted")
	}
}

func TestListed(t *testing.T) {
	out := []byte("docker.io/library/notes-web:abc\ndocker.io/library/notes-web:abcd\n")
	if !listed(out, "docker.io/library/notes-web:abc") || listed(out, "docker.io/library/notes-web:ab") {
		t.Fatal("listed matches wrongly")
	}
}

func TestParsePush(t *testing.T) {
	stream := `{"status":"The push refers to repository [127.0.0.1:5000/notes-web]"}
{"status":"Preparing","progressDetail":{},"id":"aaa"}
{"status":"Preparing","progressDetail":{},"id":"bbb"}
{"status":"Layer already exists","progressDetail":{},"id":"bbb"}
{"status":"Pushing","progressDetail":{"current":512,"total":2048},"progress":"[=>  ]","id":"aaa"}
{"status":"Pushing","progressDetail":{"current":2560,"total":2048},"progress":"[====>]","id":"aaa"}
{"status":"Pushed","progressDetail":{},"id":"aaa"}
{"status":"abc: digest: sha256:1111111111111111111111111111111111111111111111111111111111111111 size: 739"}
{"progressDetail":{},"aux":{"Tag":"abc","Digest":"sha256:1111111111111111111111111111111111111111111111111111111111111111","Size":739}}
`
	res, err := parsePush(strings.NewReader(stream))
	if err != nil {
		t.Fatal(err)
	}
	if res.bytes != 2560 || res.pushed != 1 || res.existed != 1 || !strings.HasPrefix(res.digest, "sha256:1111") {
		t.Fatalf("%+v", res)
	}
	_, err = parsePush(strings.NewReader(`{"errorDetail":{"message":"denied"},"error":"denied"}`))
	if err == nil || err.Error() != "denied" {
		t.Fatalf("err = %v", err)
	}
}

func TestRegistryRefs(t *testing.T) {
	r := NewRegistry("localhost:5001", "kind-registry:5000", nil, registry.New(zap.NewNop()), zap.NewNop())
	push, d, err := r.target("notes-web:abc")
	if err != nil || push != "localhost:5001/notes-web:abc" || d != "" {
		t.Fatalf("%q %q %v", push, d, err)
	}
	if got := r.clusterRef(push, "sha256:ff"); got != "kind-registry:5000/notes-web@sha256:ff" {
		t.Fatalf("cluster ref %q", got)
	}
	r = NewRegistry("127.0.0.1:5000", "", nil, registry.New(zap.NewNop()), zap.NewNop())
	// A multi-platform build already pushed by digest stays as it is.
	push, d, err = r.target("127.0.0.1:5000/app@sha256:" + strings.Repeat("a", 64))
	if err != nil || d != "sha256:"+strings.Repeat("a", 64) || r.clusterRef(push, d) != "127.0.0.1:5000/app@"+d {
		t.Fatalf("digest ref: %q %q %v → %q", push, d, err, r.clusterRef(push, d))
	}
	if got := r.clusterRef("127.0.0.1:5000/team/app:t", "sha256:ff"); got != "127.0.0.1:5000/team/app@sha256:ff" {
		t.Fatalf("cluster ref %q", got)
	}
}

// fakeEngine lists containers; other Engine methods are not used by the test.
type fakeEngine struct {
	Engine
	containers []container.Summary
	filter     string
}

func (f *fakeEngine) ContainerList(_ context.Context, opts container.ListOptions) ([]container.Summary, error) {
	f.filter = strings.Join(opts.Filters.Get("label"), ",")
	return f.containers, nil
}

func TestNodeContainersSkipsLoadBalancers(t *testing.T) {
	f := &fakeEngine{containers: []container.Summary{
		{ID: "1111111111111111", Names: []string{"/dev-control-plane"}, Labels: map[string]string{"io.x-k8s.kind.role": "control-plane"}},
		{ID: "2222222222222222", Names: []string{"/dev-external-load-balancer"}, Labels: map[string]string{"io.x-k8s.kind.role": "external-load-balancer"}},
		{ID: "3333333333333333", Names: []string{"/k3d-dev-serverlb"}, Labels: map[string]string{"k3d.role": "loadbalancer"}},
		{ID: "4444444444444444", Names: []string{"/k3d-dev-agent-0"}, Labels: map[string]string{"k3d.role": "agent"}},
	}}
	n := NewNodes(NodeSelector{Label: "io.x-k8s.kind.cluster", Cluster: "dev", Flavour: "kind"}, f, zap.NewNop())
	got, err := n.nodes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if f.filter != "io.x-k8s.kind.cluster=dev" || len(got) != 2 || got[0].name != "dev-control-plane" || got[1].name != "k3d-dev-agent-0" {
		t.Fatalf("filter %q nodes %+v", f.filter, got)
	}
	f.containers = nil
	if _, err := n.nodes(context.Background()); err == nil || !strings.Contains(err.Error(), "io.x-k8s.kind.cluster=dev") {
		t.Fatalf("err = %v", err)
	}
}

func TestNewPicksPath(t *testing.T) {
	for kind, method := range map[Kind]string{
		KindContainerd: "containerd import", KindK3s: "containerd import", KindKind: "kind node import",
		KindK3d: "k3d node import", KindRegistry: "registry push", KindMinikube: "shared engine", KindDockerDesktop: "shared engine",
	} {
		d, err := New(Cluster{Kind: kind, ContainerdAddress: "/x.sock", Registry: "127.0.0.1:5000", Name: "n"}, nil, registry.New(zap.NewNop()), zap.NewNop())
		if err != nil || !strings.HasPrefix(d.Method(), method) {
			t.Errorf("%s: %v %v", kind, d, err)
		}
	}
}

// The containerd image store (Engine 26) reports small layers only as
// Pushed, and the digest in a status line rather than in aux.
func TestParsePushContainerdStore(t *testing.T) {
	stream := `{"status":"The push refers to repository [127.0.0.1:5000/x]"}
{"status":"Preparing","id":"0123456789ab"}
{"status":"Pushed","id":"0123456789ab"}
{"status":"Layer already exists","id":"ba9876543210"}
{"status":"v2: digest: sha256:` + strings.Repeat("c", 64) + ` size: 856"}
`
	res, err := parsePush(strings.NewReader(stream))
	if err != nil {
		t.Fatal(err)
	}
	if res.digest != "sha256:"+strings.Repeat("c", 64) || res.pushed != 1 || res.existed != 1 ||
		res.bytes != 0 || len(res.pushedIDs) != 1 || res.pushedIDs[0] != "0123456789ab" {
		t.Fatalf("%+v", res)
	}
}

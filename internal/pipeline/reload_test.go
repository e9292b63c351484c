package pipeline

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/zap"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/devloop-dev/devloop/internal/buildcontext"
	"github.com/devloop-dev/devloop/internal/config"
	"github.com/devloop-dev/devloop/internal/deliver"
	"github.com/devloop-dev/devloop/internal/events"
	"github.com/devloop-dev/devloop/internal/kube"
)

type discard struct{}

func (discard) Emit(events.Event) {}

// testRunner is a Runner as New makes it for cfg, without an engine or a
// cluster: its applier talks to a fake clientset.
func testRunner(t *testing.T, cfg *config.Config) *Runner {
	t.Helper()
	kc := &kube.Client{Namespace: "context-ns", Clientset: fake.NewSimpleClientset()}
	r := &Runner{
		log: zap.NewNop(), sink: discard{}, opts: Options{Parallel: 2}, cfg: cfg, kube: kc,
		hasher: buildcontext.NewHasher(), artifacts: map[string]*artifactState{},
		cluster: deliver.Cluster{Platforms: []string{"linux/amd64"}},
	}
	r.setApplier(cfg)
	return r
}

func artifactConfig(t *testing.T) *config.Config {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{}
	cfg.Metadata.Name = "app"
	cfg.Build.Artifacts = []config.Artifact{{Image: "web", ContextDir: dir, DockerfilePath: filepath.Join(dir, "Dockerfile")}}
	return cfg
}

// A config with no artifacts, then one added while dev runs: the pass must
// get an engine, a builder and a deliverer rather than reach nil ones.
func TestArtifactAddedOnReloadConnectsTheEngine(t *testing.T) {
	empty := &config.Config{}
	empty.Metadata.Name = "app"
	r := testRunner(t, empty)
	connected := 0
	r.connect = func(context.Context) error {
		connected++
		return fmt.Errorf("no engine in this test")
	}
	if _, err := r.BuildAll(context.Background(), nil, &Result{}); err != nil || connected != 0 {
		t.Fatalf("no artifacts: err %v, %d connections; want none", err, connected)
	}

	// The pass that first needs the engine connects then, with no deliverer yet: it must not panic.
	r.SetConfig(artifactConfig(t))
	_, err := r.BuildAll(context.Background(), nil, &Result{})
	if err == nil || connected != 1 {
		t.Fatalf("artifact added: err %v after %d connections; want the connection's error after 1", err, connected)
	}
}

// A reload that changes deploy.namespace changes the namespace the applier
// gives objects without one.
func TestReloadChangesTheApplierNamespace(t *testing.T) {
	first := &config.Config{}
	first.Metadata.Name = "app"
	r := testRunner(t, first)
	if r.applierNamespace != "context-ns" {
		t.Fatalf("applier namespace %q, want the context's", r.applierNamespace)
	}
	before := r.applier
	second := &config.Config{}
	second.Metadata.Name = "app"
	second.Deploy.Namespace = "other"
	r.SetConfig(second)
	if r.applierNamespace != "other" || r.applier == before {
		t.Fatalf("after the reload: applier namespace %q (replaced: %v), want other", r.applierNamespace, r.applier != before)
	}
	kept := r.applier
	same := *second
	r.SetConfig(&same)
	if r.applier != kept {
		t.Fatal("a reload that keeps the namespace replaced the applier (and its inventory cache)")
	}
}

package pipeline

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/zap"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/devloop-dev/devloop/internal/config"
	"github.com/devloop-dev/devloop/internal/deliver"
	"github.com/devloop-dev/devloop/internal/events"
	"github.com/devloop-dev/devloop/internal/kube"
	"github.com/devloop-dev/devloop/internal/stage/builder"
	"github.com/devloop-dev/devloop/internal/stage/deployer"
	"github.com/devloop-dev/devloop/internal/stage/renderer"
)

type discard struct{}

func (discard) Emit(events.Event) {}

// testRunner is a Runner as New makes it for cfg, without an engine or a
// cluster.
func testRunner(t *testing.T, cfg *config.Config) *Runner {
	t.Helper()
	kc := &kube.Client{Namespace: "context-ns", Clientset: fake.NewSimpleClientset()}
	r := &Runner{
		log: zap.NewNop(), sink: discard{}, cfg: cfg, kube: kc,
		env:     &hookEnv{kubeNamespace: kc.Namespace, cfg: cfg},
		gone:    &remover{log: zap.NewNop()},
		engine:  &engine{},
		cluster: deliver.Cluster{Platforms: []string{"linux/amd64"}},
	}
	r.builder = builder.New(zap.NewNop(), discard{}, nil, builder.Options{NodePlatforms: r.cluster.Platforms})
	r.renderer = renderer.New(discard{}, renderer.NewKustomize(nil))
	r.deployer = deployer.New(discard{}, func(string) deployer.Applier { return nil }, nil, nil, deployer.Options{})
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

	r.SetConfig(artifactConfig(t))
	_, err := r.BuildAll(context.Background(), nil, &Result{})
	if err == nil || connected != 1 {
		t.Fatalf("artifact added: err %v after %d connections; want the connection's error after 1", err, connected)
	}
}

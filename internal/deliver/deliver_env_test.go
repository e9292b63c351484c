package deliver

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/devloop-dev/devloop/internal/build"
	"github.com/devloop-dev/devloop/internal/docker"
	"github.com/devloop-dev/devloop/internal/registry"
	"github.com/devloop-dev/devloop/internal/testenv"
)

type envKit struct {
	env     *testenv.Env
	engine  *client.Client
	builder *build.Builder
	log     *zap.Logger
}

func newEnvKit(t *testing.T) *envKit {
	t.Helper()
	env := testenv.Require(t)
	log := zaptest.NewLogger(t)
	engine, ep, err := docker.New(context.Background(), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = engine.Close() })
	return &envKit{env: env, engine: engine, log: log, builder: build.NewBuilder(log, docker.MergeEnv(os.Environ(), ep.CommandEnv()))}
}

func unique(prefix string) string { return fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano()) }

// buildImage builds dockerfile into the engine as name:tag and removes it
// when the test ends.
func (k *envKit) buildImage(t *testing.T, name, tag, dockerfile string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := k.builder.Build(context.Background(), build.Request{Image: name, Tag: tag, Context: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = k.engine.ImageRemove(context.Background(), res.Ref, image.RemoveOptions{Force: true, PruneChildren: true})
	})
	return res.Ref
}

func (k *envKit) run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := k.env.Command(context.Background(), name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// The test cluster is detected from its node's annotation, and images are
// imported into its containerd; the second delivery moves nothing.
func TestEnvContainerdImport(t *testing.T) {
	k := newEnvKit(t)
	ctx := context.Background()
	cfg, err := clientcmd.BuildConfigFromFlags("", k.env.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cluster, err := Detect(ctx, cs, Facts{KubeContext: k.env.KubeContext, ServerURL: cfg.Host})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("detected %s: %s; platforms %v", cluster.Kind, cluster.Reason, cluster.Platforms)
	if cluster.Kind != KindContainerd || cluster.ContainerdAddress != strings.TrimPrefix(k.env.ContainerdSocket, "unix://") {
		t.Fatalf("cluster %+v, want containerd at %s", cluster, k.env.ContainerdSocket)
	}
	if len(cluster.Platforms) == 0 {
		t.Fatal("no platforms from the Ready nodes")
	}
	d, err := New(cluster, k.engine, registry.New(k.log), k.log)
	if err != nil {
		t.Fatal(err)
	}
	name := unique("devloop-test-import")
	ref := k.buildImage(t, name, "v1", "FROM debian:bookworm-slim\nRUN echo "+name+" > /id\n")
	full, _ := NormalizeRef(ref)
	insp, err := k.engine.ImageInspect(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	// The CRI plugin also names the image by its config digest (the engine's ID).
	t.Cleanup(func() {
		_ = k.env.Command(ctx, "ctr", "--address", cluster.ContainerdAddress, "-n", "k8s.io", "images", "rm", full, insp.ID).Run()
	})

	rep, err := d.Deliver(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first delivery: %d bytes in %v (%s)", rep.Bytes, rep.Duration, rep.Message)
	if rep.Skipped || rep.Bytes == 0 || rep.Ref != ref {
		t.Fatalf("first delivery %+v", rep)
	}
	out := k.run(t, "ctr", "--address", cluster.ContainerdAddress, "-n", "k8s.io", "images", "ls", "-q")
	if !strings.Contains(out, full+"\n") {
		t.Fatalf("%s not listed by ctr:\n%s", full, out)
	}
	rep, err = d.Deliver(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("second delivery: %d bytes in %v (%s)", rep.Bytes, rep.Duration, rep.Message)
	if !rep.Skipped || rep.Bytes != 0 {
		t.Fatalf("second delivery moved something: %+v", rep)
	}
	// Presence is asked of containerd's API, not of a ctr process.
	api := d.(*Containerd).images
	if ok, err := api.has(ctx, full); err != nil || !ok {
		t.Fatalf("images API: %s present = %v, %v; want true", full, ok, err)
	}
	if ok, err := api.has(ctx, full+"-missing"); err != nil || ok {
		t.Fatalf("images API: missing image present = %v, %v; want false", ok, err)
	}
	if err := d.(*Containerd).Close(); err != nil {
		t.Fatal(err)
	}
}

// The registry path pushes only missing layers and deploys by digest: an
// unchanged image moves nothing, a change to the top layer of a large image
// moves about that layer.
func TestEnvRegistryPush(t *testing.T) {
	k := newEnvKit(t)
	ctx := context.Background()
	d := NewRegistry(k.env.Registry, "", k.engine, registry.New(k.log), k.log)
	name := unique("devloop-test-push")
	// The name makes the big layer unique: BuildKit's cache would otherwise
	// reuse the one a previous run already pushed.
	base := "FROM debian:bookworm-slim\nRUN echo " + name + " > /id && head -c 200000000 /dev/urandom > /big\n"
	ref1 := k.buildImage(t, name, "v1", base+"RUN echo one > /top\n")
	rep, err := d.Deliver(ctx, ref1)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first push: %d bytes in %v (%s) → %s", rep.Bytes, rep.Duration, rep.Message, rep.Ref)
	if rep.Skipped || rep.Bytes < 200_000_000 || !strings.HasPrefix(rep.Ref, k.env.Registry+"/"+name+"@sha256:") {
		t.Fatalf("first push %+v", rep)
	}
	digest, ok, err := registry.New(k.log).Exists(ctx, k.env.Registry+"/"+name+":v1")
	if err != nil || !ok || !strings.HasSuffix(rep.Ref, digest) {
		t.Fatalf("registry has %q %v %v", digest, ok, err)
	}
	again, err := d.Deliver(ctx, ref1)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("second push: %d bytes in %v (%s)", again.Bytes, again.Duration, again.Message)
	if !again.Skipped || again.Bytes != 0 || again.Ref != rep.Ref {
		t.Fatalf("second push %+v", again)
	}
	ref2 := k.buildImage(t, name, "v2", base+"RUN echo two > /top\n")
	top, err := d.Deliver(ctx, ref2)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("top-layer change: %d bytes in %v (%s)", top.Bytes, top.Duration, top.Message)
	if top.Skipped || top.Bytes == 0 || top.Bytes > 1_000_000 {
		t.Fatalf("top-layer push moved %d bytes: %+v", top.Bytes, top)
	}
}

// The kind path on the real kind cluster that make env-up creates with
// kind's CLI: detected from its node alone (provider ID kind://, whatever the
// context is called), the image streams through the engine's exec API into
// the node's containerd, where ctr lists it; the second delivery moves
// nothing. Pods running what was delivered: test/kind.
func TestEnvKindNodeImport(t *testing.T) {
	k := newEnvKit(t)
	env := testenv.RequireKind(t)
	ctx := context.Background()
	cfg, cs := kindClients(t, env)
	cluster, err := Detect(ctx, cs, Facts{KubeContext: "renamed-by-a-user", ServerURL: cfg.Host, Override: Override{Delivery: DeliveryImport}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("detected %s: %s", cluster.Kind, cluster.Reason)
	if cluster.Kind != KindKind || cluster.Name != env.KindCluster || !strings.Contains(cluster.Reason, "provider ID kind://") {
		t.Fatalf("cluster %+v, want kind cluster %q detected from its node's provider ID", cluster, env.KindCluster)
	}
	d, err := New(cluster, k.engine, registry.New(k.log), k.log)
	if err != nil {
		t.Fatal(err)
	}
	node := env.KindCluster + "-control-plane"
	name := unique("devloop-test-kind")
	ref := k.buildImage(t, name, "v1", "FROM debian:bookworm-slim\nRUN echo "+name+" > /id\n")
	full, _ := NormalizeRef(ref)
	t.Cleanup(func() {
		_ = k.env.Command(context.Background(), "docker", "exec", node, "ctr", "-n", "k8s.io", "images", "rm", full).Run()
	})
	rep, err := d.Deliver(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("kind import: %d bytes in %v (%s)", rep.Bytes, rep.Duration, rep.Message)
	if rep.Skipped || rep.Bytes == 0 {
		t.Fatalf("first delivery %+v", rep)
	}
	out := k.run(t, "docker", "exec", node, "ctr", "-n", "k8s.io", "images", "ls", "-q")
	if !strings.Contains(out, full+"\n") {
		t.Fatalf("%s not listed in the node:\n%s", full, out)
	}
	rep, err = d.Deliver(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("kind second delivery: %d bytes in %v (%s)", rep.Bytes, rep.Duration, rep.Message)
	if !rep.Skipped || rep.Bytes != 0 {
		t.Fatalf("second delivery %+v", rep)
	}
}

// Without --delivery, the kind cluster's advertised local registry (kind's
// documented setup) is chosen: only missing layers travel.
func TestEnvKindAdvertisedRegistry(t *testing.T) {
	env := testenv.RequireKind(t)
	cfg, cs := kindClients(t, env)
	cluster, err := Detect(context.Background(), cs, Facts{KubeContext: env.KindContext, ServerURL: cfg.Host})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("detected %s: %s", cluster.Kind, cluster.Reason)
	if cluster.Kind != KindRegistry || cluster.Registry != env.KindRegistry || !strings.Contains(cluster.Reason, "only missing layers") {
		t.Fatalf("cluster %+v, want a push to the advertised registry %s", cluster, env.KindRegistry)
	}
}

func kindClients(t *testing.T, env *testenv.Env) (*rest.Config, kubernetes.Interface) {
	t.Helper()
	rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: env.Kubeconfig}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules,
		&clientcmd.ConfigOverrides{CurrentContext: env.KindContext}).ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, cs
}

// Shared-engine clusters (Docker Desktop, minikube's docker-env): whether
// the tag is there is asked of the engine, never assumed. Before, Present
// always said yes, so nothing was ever built and pods referenced a tag that
// existed nowhere.
func TestEnvSharedEngine(t *testing.T) {
	k := newEnvKit(t)
	ctx := context.Background()
	for _, kind := range []Kind{KindDockerDesktop, KindMinikube, KindSharedEngine} {
		d, err := New(Cluster{Kind: kind}, k.engine, registry.New(k.log), k.log)
		if err != nil {
			t.Fatal(err)
		}
		name := unique("devloop-test-shared")
		ref := name + ":v1"
		if ok, err := d.Present(ctx, ref); err != nil || ok {
			t.Fatalf("%s: Present(%s) before any build = %v, %v; want false", kind, ref, ok, err)
		}
		if _, err := d.Deliver(ctx, ref); err == nil || !strings.Contains(err.Error(), "not in the engine") {
			t.Fatalf("%s: Deliver of an image the engine lacks: %v", kind, err)
		}
		k.buildImage(t, name, "v1", "FROM debian:bookworm-slim\nRUN echo "+name+" > /id\n")
		if ok, err := d.Present(ctx, ref); err != nil || !ok {
			t.Fatalf("%s: Present(%s) after the build = %v, %v; want true", kind, ref, ok, err)
		}
		rep, err := d.Deliver(ctx, ref)
		if err != nil || !rep.Skipped || rep.Bytes != 0 {
			t.Fatalf("%s: Deliver after the build = %+v, %v; want nothing moved", kind, rep, err)
		}
	}
}

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
	"k8s.io/client-go/tools/clientcmd"

	"github.com/devloop-dev/devloop/internal/build"
	"github.com/devloop-dev/devloop/internal/docker"
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
	cluster, err := Detect(ctx, cs, k.env.KubeContext, cfg.Host, "")
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
	d, err := New(cluster, k.engine, k.log)
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
	d := NewRegistry(k.env.Registry, "", k.engine, k.log)
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
	digest, ok, err := build.ExistsInRegistry(ctx, k.env.Registry+"/"+name+":v1")
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

const kindNodeImage = "devloop-test-kindnode:containerd"

// The kind path, against a container that runs containerd as a kind node
// does: the image streams through the exec attach into its containerd. The
// sandbox refuses --privileged ("unable to apply caps"); CAP_SYS_ADMIN
// without seccomp/apparmor confinement is enough for containerd's overlayfs.
func TestEnvKindNodeImport(t *testing.T) {
	k := newEnvKit(t)
	ctx := context.Background()
	// The node image is kept between runs under one fixed name: installing
	// containerd takes a while, and the name does not multiply.
	if ok, _ := build.ExistsInEngine(ctx, k.engine, kindNodeImage); !ok {
		dir := t.TempDir()
		df := "FROM debian:bookworm-slim\nRUN apt-get update && apt-get install -y --no-install-recommends containerd && rm -rf /var/lib/apt/lists/*\n"
		if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
			t.Fatal(err)
		}
		name, tag, _ := strings.Cut(kindNodeImage, ":")
		if _, err := k.builder.Build(ctx, build.Request{Image: name, Tag: tag, Context: dir}); err != nil {
			t.Fatal(err)
		}
	}
	cluster := unique("devloop-kind")
	id := strings.TrimSpace(k.run(t, "docker", "run", "-d", "--cap-add", "SYS_ADMIN",
		"--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined", "--label", "io.x-k8s.kind.cluster="+cluster,
		"--label", "io.x-k8s.kind.role=control-plane", "--name", cluster+"-control-plane",
		"-v", "/var/lib/containerd", kindNodeImage, "containerd"))
	t.Cleanup(func() { _ = k.env.Command(context.Background(), "docker", "rm", "-f", "-v", id).Run() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := k.env.Command(ctx, "docker", "exec", id, "ctr", "version").Run()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			logs, _ := k.env.Command(ctx, "docker", "logs", id).CombinedOutput()
			t.Fatalf("containerd in the node container did not start: %v\n%s", err, logs)
		}
		time.Sleep(200 * time.Millisecond)
	}

	d, err := New(Cluster{Kind: KindKind, Name: cluster}, k.engine, k.log)
	if err != nil {
		t.Fatal(err)
	}
	name := unique("devloop-test-kind")
	ref := k.buildImage(t, name, "v1", "FROM debian:bookworm-slim\nRUN echo "+name+" > /id\n")
	rep, err := d.Deliver(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("kind import: %d bytes in %v (%s)", rep.Bytes, rep.Duration, rep.Message)
	if rep.Skipped || rep.Bytes == 0 {
		t.Fatalf("first delivery %+v", rep)
	}
	full, _ := NormalizeRef(ref)
	out := k.run(t, "docker", "exec", id, "ctr", "-n", "k8s.io", "images", "ls", "-q")
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

package deliver

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/devloop-dev/devloop/internal/build"
	"github.com/devloop-dev/devloop/internal/registry"
	"github.com/devloop-dev/devloop/internal/testenv"
)

// engine26HostVar names the variable `make -s env` exports for Docker Engine
// 26 with the containerd image store (hack/env/engine26.sh).
const engine26HostVar = "DEVLOOP_DOCKER_HOST_26"

// newEngine26Kit is newEnvKit on Engine 26: DOCKER_HOST points at it for the
// engine client, buildx and every command the test runs. The engine must use
// the containerd image store.
func newEngine26Kit(t *testing.T) *envKit {
	t.Helper()
	host := os.Getenv(engine26HostVar)
	if host == "" {
		t.Skipf("%s is not set: eval \"$(make -s env)\" exports it (Docker Engine 26 with the containerd image store, started by make env-up)", engine26HostVar)
	}
	testenv.Require(t)
	t.Setenv("DOCKER_HOST", host)
	k := newEnvKit(t)
	info, err := k.engine.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	snapshotter := false
	for _, kv := range info.DriverStatus {
		snapshotter = snapshotter || (kv[0] == "driver-type" && kv[1] == "io.containerd.snapshotter.v1")
	}
	if !snapshotter {
		t.Fatalf("the engine at %s (%s, driver %s) does not use the containerd image store", host, info.ServerVersion, info.Driver)
	}
	t.Logf("engine at %s: Docker Engine %s, %s %v", host, info.ServerVersion, info.Driver, info.DriverStatus)
	return k
}

// forgetInContainerd removes the names from the cluster's containerd and
// every record pointing at the same target (the CRI plugin's "sha256:..."
// record is the config digest, which is not the engine's ID on the
// containerd image store).
func (k *envKit) forgetInContainerd(addr string, names ...string) {
	ctx := context.Background()
	out, err := k.env.Command(ctx, "ctr", "--address", addr, "-n", "k8s.io", "images", "ls").Output()
	if err != nil {
		return
	}
	targets := map[string]bool{}
	rows := [][]string{}
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Fields(l)
		if len(f) < 3 {
			continue
		}
		rows = append(rows, f)
		for _, n := range names {
			if f[0] == n {
				targets[f[2]] = true
			}
		}
	}
	rm := []string{"--address", addr, "-n", "k8s.io", "images", "rm"}
	for _, f := range rows {
		if targets[f[2]] && (strings.HasPrefix(f[0], "sha256:") || strings.Contains(f[0], "devloop-test-e26")) {
			rm = append(rm, f[0])
		}
	}
	_ = k.env.Command(ctx, "ctr", rm...).Run()
}

// The test cluster's containerd from Docker Engine 26 with the containerd
// image store, the store Docker Desktop uses: an image built from
// debian:bookworm-slim (a two-platform index in the local registry, of which
// the engine holds only this machine's platform), and the same kind of
// image built for both platforms, pushed and pulled back into the engine,
// which then names both platforms but holds the blobs of one, as every
// multi-platform image pulled on Docker Desktop does. Both are delivered the
// way devloop does and run in a pod; the second delivery moves nothing.
func TestEnvEngine26ContainerdImport(t *testing.T) {
	k := newEngine26Kit(t)
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
	if cluster.Kind != KindContainerd || len(cluster.Platforms) != 1 {
		t.Fatalf("cluster %+v, want the test cluster's containerd with one platform", cluster)
	}
	d, err := New(cluster, k.engine, registry.New(k.log), k.log)
	if err != nil {
		t.Fatal(err)
	}

	base, err := name.ParseReference(k.env.Registry+"/library/debian:bookworm-slim", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Index(base, remote.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) < 2 {
		t.Fatalf("%s has %d manifests, want a two-platform index", base, len(im.Manifests))
	}

	repo := unique("devloop-test-e26")
	dockerfile := "FROM debian:bookworm-slim\nRUN echo " + repo + " > /id\n"
	// 1. Built into the engine for the node's platform, as devloop builds.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		t.Fatal(err)
	}
	built, err := k.builder.Build(ctx, build.Request{Image: repo, Tag: "built", Context: dir, Platforms: cluster.Platforms})
	if err != nil {
		t.Fatal(err)
	}
	// 2. Built for both platforms, pushed, pulled back into the engine.
	multi, err := k.builder.Build(ctx, build.Request{Image: repo, Tag: "multi", Context: dir,
		Platforms: []string{"linux/amd64", "linux/arm64"}, Builder: k.env.MultiBuilder,
		Output: build.OutputPush, PushRepo: k.env.Registry + "/" + repo})
	if err != nil {
		t.Fatal(err)
	}
	pulled := repo + ":multi"
	k.run(t, "docker", "pull", "-q", multi.TagRef)
	k.run(t, "docker", "tag", multi.TagRef, pulled)
	refs := []string{built.Ref, pulled}
	fulls := []string{}
	for _, r := range refs {
		full, _ := NormalizeRef(r)
		fulls = append(fulls, full)
	}
	t.Cleanup(func() {
		k.forgetInContainerd(cluster.ContainerdAddress, fulls...)
		_ = k.env.Command(context.Background(), "docker", "image", "rm", "-f", built.Ref, pulled, multi.TagRef).Run()
	})

	for _, ref := range refs {
		rep, err := d.Deliver(ctx, ref)
		if err != nil {
			t.Fatalf("delivering %s from Engine 26: %v", ref, err)
		}
		t.Logf("%s: %d bytes in %v (%s)", ref, rep.Bytes, rep.Duration, rep.Message)
		if rep.Skipped || rep.Bytes == 0 {
			t.Fatalf("first delivery of %s: %+v", ref, rep)
		}
		again, err := d.Deliver(ctx, ref)
		if err != nil || !again.Skipped || again.Bytes != 0 {
			t.Fatalf("second delivery of %s: %+v, %v; want nothing moved", ref, again, err)
		}
	}

	ns := k.env.Namespace(t, "e26")
	k.env.Apply(t, ns, `apiVersion: v1
kind: Pod
metadata:
  name: e26
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: built
    image: `+built.Ref+`
    imagePullPolicy: Never
    command: ["sh", "-c", "cat /id && exec sleep 3600"]
  - name: multi
    image: `+pulled+`
    imagePullPolicy: Never
    command: ["sh", "-c", "cat /id && exec sleep 3600"]
`)
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if out, err := k.env.Command(wctx, "kubectl", "-n", ns, "wait", "--for=condition=Ready", "pod/e26", "--timeout=110s").CombinedOutput(); err != nil {
		desc, _ := k.env.Command(ctx, "kubectl", "-n", ns, "describe", "pod", "e26").CombinedOutput()
		t.Fatalf("pod running the delivered images is not Ready: %v\n%s\n%s", err, out, desc)
	}
	for _, c := range []string{"built", "multi"} {
		if got := strings.TrimSpace(k.env.Kubectl(t, "-n", ns, "logs", "e26", "-c", c)); got != repo {
			t.Fatalf("container %s printed %q, want %q", c, got, repo)
		}
	}
}

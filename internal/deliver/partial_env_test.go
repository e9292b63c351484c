package deliver

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/devloop-dev/devloop/internal/build"
	"github.com/devloop-dev/devloop/internal/registry"
)

// bigDockerfile is a ~200 MB image whose last layer is one line: the
// one-line change of the delivery target. The name keeps BuildKit's cache from giving
// two tests the same 200 MB layer.
func bigDockerfile(name string) string {
	return "FROM debian:bookworm-slim\nRUN echo " + name + " > /id && head -c 200M /dev/urandom > /blob\nCOPY version.txt /version.txt\n"
}

// buildVersion builds the big image with version.txt = version as
// name:tag into the engine, and removes it when the test ends.
func (k *envKit) buildVersion(t *testing.T, dir, name, tag, version string, platforms []string) string {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(bigDockerfile(name)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "version.txt"), []byte(version+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := k.builder.Build(context.Background(), build.Request{Image: name, Tag: tag, Context: dir, Platforms: platforms})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k.env.Command(context.Background(), "docker", "image", "rm", "-f", res.Ref).Run() })
	return res.Ref
}

// engineContainerdFromEnv sets EngineContainerdEnv to the socket of Engine
// 26's managed containerd under the environment's run directory
// (hack/env/engine26.sh: its exec root), unless it is set.
func engineContainerdFromEnv(t *testing.T) {
	t.Helper()
	if os.Getenv(EngineContainerdEnv) != "" {
		return
	}
	sock := filepath.Join(os.Getenv("DEVLOOP_ENV_RUN"), "docker26-exec", "containerd", "containerd.sock")
	if _, err := os.Stat(sock); err != nil {
		t.Fatalf("Engine 26's containerd socket: %v", err)
	}
	t.Setenv(EngineContainerdEnv, sock)
}

// countingCtr puts a ctr first on PATH that copies what `ctr images import`
// reads on stdin into a file, and returns a function summing those files:
// the bytes that reached containerd's importer, counted outside devloop.
func countingCtr(t *testing.T) func() int64 {
	t.Helper()
	real, err := exec.LookPath("ctr")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	script := fmt.Sprintf("#!/bin/sh\ncase \" $* \" in\n*\" import \"*) tee %q/stdin-$$ | %q \"$@\" ;;\n*) exec %q \"$@\" ;;\nesac\n", dir, real, real)
	if err := os.WriteFile(filepath.Join(dir, "ctr"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return func() int64 {
		files, _ := filepath.Glob(filepath.Join(dir, "stdin-*"))
		var n int64
		for _, f := range files {
			if fi, err := os.Stat(f); err == nil {
				n += fi.Size()
			}
			_ = os.Remove(f)
		}
		return n
	}
}

// runsVersion runs image in a pod of the cluster kubectl args select and
// checks that it prints version.
func (k *envKit) runsVersion(t *testing.T, kubectl []string, ns, image, version string) {
	t.Helper()
	ctx := context.Background()
	pod := fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: version
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: c
    image: %s
    imagePullPolicy: Never
    command: ["sh", "-c", "cat /version.txt && exec sleep 3600"]
`, image)
	apply := k.env.Command(ctx, "kubectl", append(kubectl, "-n", ns, "apply", "-f", "-")...)
	apply.Stdin = strings.NewReader(pod)
	if out, err := apply.CombinedOutput(); err != nil {
		t.Fatalf("kubectl apply: %v\n%s", err, out)
	}
	wait := append(kubectl, "-n", ns, "wait", "--for=condition=Ready", "pod/version", "--timeout=110s")
	if out, err := k.env.Command(ctx, "kubectl", wait...).CombinedOutput(); err != nil {
		desc, _ := k.env.Command(ctx, "kubectl", append(kubectl, "-n", ns, "describe", "pod", "version")...).CombinedOutput()
		t.Fatalf("the pod running %s is not Ready: %v\n%s\n%s", image, err, out, desc)
	}
	out, err := k.env.Command(ctx, "kubectl", append(kubectl, "-n", ns, "logs", "version")...).CombinedOutput()
	if got := strings.TrimSpace(string(out)); err != nil || got != version {
		t.Fatalf("the pod printed %q (%v), want %q", got, err, version)
	}
}

// A one-line change to a ~200 MB image, delivered into the test cluster's
// containerd from the default engine (Engine 26, containerd image store):
// what reaches `ctr images import` (counted by a ctr wrapper) is at most
// 1 MB, the pod runs the new image. On Engine 20.10 (graph driver, whose
// docker save names layers by no digest) the whole image still travels and
// the pod runs it: the test says so and asserts delivery only.
func TestEnvOneLineChangeContainerd(t *testing.T) {
	for _, tc := range []struct {
		name, hostVar string
		// content: the engine's containerd is reachable (read from there,
		// else docker save filtered); partial: at most 1 MB must travel.
		content, partial bool
	}{
		{"engine26-content", "DOCKER_HOST", true, true},
		{"engine26-save", "DOCKER_HOST", false, true},
		{"engine20", "DEVLOOP_DOCKER_HOST_20", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			host := os.Getenv(tc.hostVar)
			if host == "" {
				t.Skipf("%s is not set: eval \"$(make -s env)\"", tc.hostVar)
			}
			t.Setenv("DOCKER_HOST", host)
			t.Setenv(EngineContainerdEnv, "")
			if tc.content {
				engineContainerdFromEnv(t)
			}
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
			if err != nil || cluster.Kind != KindContainerd {
				t.Fatalf("cluster %+v, %v; want the test cluster's containerd", cluster, err)
			}
			sent := countingCtr(t)
			d, err := New(cluster, k.engine, registry.New(k.log), k.log)
			if err != nil {
				t.Fatal(err)
			}
			name := unique("devloop-test-partial-" + tc.name)
			dir := t.TempDir()
			v1 := k.buildVersion(t, dir, name, "v1", "one", cluster.Platforms)
			v2 := k.buildVersion(t, dir, name, "v2", "two", cluster.Platforms)
			t.Cleanup(func() {
				full1, _ := NormalizeRef(v1)
				full2, _ := NormalizeRef(v2)
				k.forgetInContainerd(cluster.ContainerdAddress, full1, full2)
			})
			first, err := d.Deliver(ctx, v1)
			if err != nil {
				t.Fatal(err)
			}
			whole := sent()
			t.Logf("first delivery: %s in %v; ctr read %d bytes", first.Message, first.Duration, whole)
			if whole < 200e6 {
				t.Fatalf("the first delivery of a 200 MB image sent %d bytes to ctr", whole)
			}
			rep, err := d.Deliver(ctx, v2)
			if err != nil {
				t.Fatal(err)
			}
			got := sent()
			t.Logf("one-line change: %s in %v; ctr read %d bytes (devloop counted %d)", rep.Message, rep.Duration, got, rep.Bytes)
			if got != rep.Bytes {
				t.Errorf("devloop counted %d bytes, ctr read %d", rep.Bytes, got)
			}
			if src := d.(*Containerd).exp.content; (src != nil) != tc.content {
				t.Errorf("read from the engine's containerd: %v, want %v", src != nil, tc.content)
			}
			if tc.partial && got > 1e6 {
				t.Errorf("a one-line change sent %d bytes to containerd, want at most 1 MB", got)
			}
			ns := k.env.Namespace(t, "partial-"+tc.name)
			k.runsVersion(t, nil, ns, v2, "two")
		})
	}
}

// countingEngine counts the bytes written into exec attaches: what crossed
// from devloop into the node containers through the engine.
type countingEngine struct {
	*client.Client
	n int64
}

func (e *countingEngine) ContainerExecAttach(ctx context.Context, id string, opts container.ExecAttachOptions) (types.HijackedResponse, error) {
	resp, err := e.Client.ContainerExecAttach(ctx, id, opts)
	if err == nil {
		resp.Conn = &countingConn{Conn: resp.Conn, n: &e.n}
	}
	return resp, err
}

type countingConn struct {
	net.Conn
	n *int64
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	*c.n += int64(n)
	return n, err
}

func (c *countingConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// The same one-line change into the kind node: the bytes written into the
// node's exec (counted at the engine connection) are at most 1 MB, and the
// node's containerd lists the new image's few new blobs; a pod runs it.
func TestEnvKindOneLineChange(t *testing.T) {
	k := newEnvKit(t)
	env := k.env
	if env.KindContext == "" {
		t.Skip("DEVLOOP_KIND_CONTEXT is not set")
	}
	ctx := context.Background()
	cfg, cs := kindClients(t, env)
	cluster, err := Detect(ctx, cs, Facts{KubeContext: env.KindContext, ServerURL: cfg.Host, Override: Override{Delivery: DeliveryImport}})
	if err != nil || cluster.Kind != KindKind {
		t.Fatalf("cluster %+v, %v; want kind", cluster, err)
	}
	engineContainerdFromEnv(t)
	eng := &countingEngine{Client: k.engine}
	d, err := New(cluster, eng, registry.New(k.log), k.log)
	if err != nil {
		t.Fatal(err)
	}
	node := env.KindCluster + "-control-plane"
	name := unique("devloop-test-kpartial")
	dir := t.TempDir()
	v1 := k.buildVersion(t, dir, name, "v1", "one", cluster.Platforms)
	v2 := k.buildVersion(t, dir, name, "v2", "two", cluster.Platforms)
	t.Cleanup(func() {
		for _, r := range []string{v1, v2} {
			full, _ := NormalizeRef(r)
			_ = env.Command(context.Background(), "docker", "exec", node, "ctr", "-n", "k8s.io", "images", "rm", full).Run()
		}
	})
	first, err := d.Deliver(ctx, v1)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first delivery: %s in %v; %d bytes into the engine's execs", first.Message, first.Duration, eng.n)
	blobs := func() map[string]bool {
		out := k.run(t, "docker", "exec", node, "ctr", "-n", "k8s.io", "content", "ls", "-q")
		set := map[string]bool{}
		for _, d := range strings.Fields(out) {
			set[d] = true
		}
		return set
	}
	before := blobs()
	eng.n = 0
	start := time.Now()
	rep, err := d.Deliver(ctx, v2)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("one-line change: %s in %v (%v from outside); %d bytes into the engine's execs (devloop counted %d)",
		rep.Message, rep.Duration, time.Since(start), eng.n, rep.Bytes)
	if eng.n > 1e6 {
		t.Errorf("a one-line change wrote %d bytes into the node, want at most 1 MB", eng.n)
	}
	var added []string
	for d := range blobs() {
		if !before[d] {
			added = append(added, d)
		}
	}
	t.Logf("blobs new in the node's containerd: %v", added)
	if len(added) == 0 || len(added) > 4 {
		t.Errorf("the node's containerd has %d new blobs, want the new layer, config, manifest (and index)", len(added))
	}
	ns := unique("kpartial")
	k.run(t, "kubectl", "--context", env.KindContext, "create", "namespace", ns)
	t.Cleanup(func() {
		_ = env.Command(context.Background(), "kubectl", "--context", env.KindContext, "delete", "namespace", ns, "--wait=false").Run()
	})
	k.runsVersion(t, []string{"--context", env.KindContext}, ns, v2, "two")
}

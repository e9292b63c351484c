package deliver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/zap"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/devloop-dev/devloop/internal/registry"
	"github.com/devloop-dev/devloop/internal/testenv"
)

// k3s, impersonated: no release of k3s is served here, so it cannot run.
// The test cluster's containerd is made to look like k3s's: its socket at
// k3s's path (/run/k3s/containerd/containerd.sock, a symlink), the nodes as
// k3s marks them, and ctr reachable only as `k3s ctr`. A pod then runs the
// image imported through that path. What stays untested is k3s itself.
func TestEnvK3sImpersonated(t *testing.T) {
	k := newEnvKit(t)
	ctx := context.Background()
	fakeK3sSocket(t, k.env)
	_, cs := k.env.Clients(t)
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range nodes.Items {
		n := &nodes.Items[i]
		delete(n.Annotations, ContainerdAddressAnnotation)
		n.Labels["node.kubernetes.io/instance-type"] = "k3s"
		n.Spec.ProviderID = "k3s://" + n.Name
	}
	cluster, err := Classify(Facts{KubeContext: "default", ServerURL: "https://127.0.0.1:6443", Nodes: nodes.Items})
	if err != nil {
		t.Fatal(err)
	}
	if cluster.Kind != KindK3s || cluster.ContainerdAddress != K3sContainerdSocket {
		t.Fatalf("cluster %+v, want k3s with its socket %s", cluster, K3sContainerdSocket)
	}

	name := unique("devloop-test-k3s")
	ref := k.buildImage(t, name, "v1", "FROM debian:bookworm-slim\nRUN echo "+name+" > /id\nCMD [\"sleep\", \"infinity\"]\n")
	full, _ := NormalizeRef(ref)
	t.Cleanup(func() {
		_ = exec.Command("/usr/bin/ctr", "--address", K3sContainerdSocket, "-n", "k8s.io", "images", "rm", full).Run()
	})

	// ctr only as `k3s ctr`: a k3s on PATH that runs the real ctr and says so.
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Fatal(err)
	}
	shim := t.TempDir()
	calls := filepath.Join(shim, "calls")
	script := fmt.Sprintf("#!/bin/sh\necho \"$@\" >>%s\n[ \"$1\" = ctr ] && shift\nexec /usr/bin/ctr \"$@\"\n", calls)
	if err := os.WriteFile(filepath.Join(shim, "k3s"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", shim+string(os.PathListSeparator)+filepath.Dir(kubectl))
	if _, err := exec.LookPath("ctr"); err == nil {
		t.Fatal("ctr is still on PATH")
	}

	d, err := New(cluster, k.engine, registry.New(k.log), k.log)
	if err != nil {
		t.Fatal(err)
	}
	defer d.(io.Closer).Close()
	rep, err := d.Deliver(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("k3s import: %d bytes in %v (%s)", rep.Bytes, rep.Duration, rep.Message)
	if rep.Skipped || rep.Bytes == 0 {
		t.Fatalf("delivery %+v", rep)
	}
	if b, _ := os.ReadFile(calls); !strings.Contains(string(b), "ctr --address "+K3sContainerdSocket) {
		t.Fatalf("the import did not go through `k3s ctr` (calls: %q)", b)
	}

	ns := k.env.Namespace(t, "k3s")
	k.env.Apply(t, ns, fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: delivered
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: app
    image: %s
    imagePullPolicy: Never
`, ref))
	k.env.Kubectl(t, "-n", ns, "wait", "--for=condition=Ready", "pod/delivered", "--timeout=120s")
	if got := strings.TrimSpace(k.env.Kubectl(t, "-n", ns, "exec", "delivered", "--", "cat", "/id")); got != name {
		t.Fatalf("the pod runs an image whose /id is %q, want %q", got, name)
	}
}

// A user who is not root gets a permission error on k3s's root-owned socket,
// with advice that is true: run as an unprivileged user (nobody) through a
// copy of this test binary.
func TestEnvK3sSocketPermission(t *testing.T) {
	k := newEnvKit(t)
	fakeK3sSocket(t, k.env)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "devloop-k3s-perm-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "deliver.test")
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", bin,
		"-test.run=^TestK3sPermissionHelper$", "-test.v")
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + dir, "DEVLOOP_K3S_PERMISSION_HELPER=1"}
	out, err := cmd.CombinedOutput()
	t.Logf("as nobody:\n%s", out)
	if err != nil {
		t.Fatalf("the helper failed: %v", err)
	}
	for _, want := range []string{"PERMISSION-ERROR", "no permission to use containerd at " + K3sContainerdSocket,
		"sudo chgrp", "a plain sudo reads root's kubeconfig and docker config"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the error a non-root user gets lacks %q", want)
		}
	}
}

// TestK3sPermissionHelper is the unprivileged half of the test above.
func TestK3sPermissionHelper(t *testing.T) {
	if os.Getenv("DEVLOOP_K3S_PERMISSION_HELPER") == "" {
		t.Skip("run by TestEnvK3sSocketPermission as an unprivileged user")
	}
	d := NewContainerd(K3sContainerdSocket, nil, true, zap.NewNop())
	_, err := d.Present(context.Background(), "devloop-any:1")
	var perr *PermissionError
	if !errors.As(err, &perr) {
		t.Fatalf("err = %v, want a *PermissionError", err)
	}
	fmt.Println("PERMISSION-ERROR", err)
}

// fakeK3sSocket puts the test cluster's containerd socket at k3s's path for
// the test; a real k3s's /run/k3s is never touched.
func fakeK3sSocket(t *testing.T, env *testenv.Env) {
	t.Helper()
	if _, err := os.Lstat("/run/k3s"); err == nil {
		t.Skip("/run/k3s exists on this machine (a real k3s?): not impersonating it")
	}
	if err := os.MkdirAll(filepath.Dir(K3sContainerdSocket), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll("/run/k3s") })
	if err := os.Symlink(strings.TrimPrefix(env.ContainerdSocket, "unix://"), K3sContainerdSocket); err != nil {
		t.Fatal(err)
	}
}

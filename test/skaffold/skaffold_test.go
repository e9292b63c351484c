// Package skaffoldtest holds the end-to-end tests of devloop reading a
// skaffold.yaml: Skaffold-format projects of test data run on the real
// environment, and bad files exit 2 and apply nothing.
package skaffoldtest

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/devloop-dev/devloop/internal/testenv"
	"github.com/devloop-dev/devloop/internal/testenv/devproc"
)

// copyProject copies testdata/name into a temporary directory, with its
// kustomization's objects in ns and metadata.name set to ns.
func copyProject(t *testing.T, name, ns string) string {
	t.Helper()
	dir := copyTree(t, name)
	testenv.Edit(t, filepath.Join(dir, "skaffold.yaml"), "name: "+name, "name: "+ns)
	inNamespace(t, filepath.Join(dir, "k8s", "kustomization.yaml"), ns)
	return dir
}

// copyTree copies testdata/name into a temporary directory.
func copyTree(t *testing.T, name string) string {
	t.Helper()
	src := filepath.Join("testdata", name)
	dir := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dir, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// inNamespace puts the objects of the kustomization file k in ns.
func inNamespace(t *testing.T, k, ns string) {
	t.Helper()
	b, err := os.ReadFile(k)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(k, append([]byte("namespace: "+ns+"\n"), b...), 0o644); err != nil {
		t.Fatal(err)
	}
}

// A two-service Skaffold project (docker artifacts, a kustomize overlay, a
// port forward) without a devloop.yaml: devloop run builds both, deploys,
// the front serves through the back, and devloop delete removes it all.
func TestRunSkaffoldTwoServices(t *testing.T) {
	env := testenv.Require(t)
	ns := env.Namespace(t, "sk-two")
	dir := copyProject(t, "twoservices", ns)
	t.Cleanup(func() { _ = testenv.RunDevloop(t, dir, nil, 3*time.Minute, "delete") })

	run := testenv.RunDevloop(t, dir, nil, 10*time.Minute, "run")
	if run.Code != 0 {
		t.Fatalf("devloop run exited %d:\n%s", run.Code, testenv.Tail(run.Output(), 40))
	}
	for _, d := range []string{"sk-front", "sk-back"} {
		if got := strings.TrimSpace(env.Kubectl(t, "-n", ns, "get", "deployment", d, "-o", "jsonpath={.status.readyReplicas}")); got != "1" {
			t.Errorf("%s readyReplicas = %q after the run", d, got)
		}
	}
	// The front answers with its build arg and the back's answer.
	port := devproc.FreePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pf := env.Command(ctx, "kubectl", "-n", ns, "port-forward", "service/sk-front", fmt.Sprintf("%d:8080", port))
	if err := pf.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); _ = pf.Wait() }()
	body := get(t, fmt.Sprintf("http://127.0.0.1:%d/", port))
	if body != "hello from front; back says: back ok" {
		t.Errorf("front answered %q", body)
	}

	del := testenv.RunDevloop(t, dir, nil, 3*time.Minute, "delete")
	if del.Code != 0 {
		t.Fatalf("devloop delete exited %d:\n%s", del.Code, testenv.Tail(del.Output(), 30))
	}
	if left := strings.TrimSpace(env.Kubectl(t, "-n", ns, "get", "deployments,services", "-o", "name")); left != "" {
		t.Errorf("left after devloop delete:\n%s", left)
	}
}

// get retries until the forward answers 200 or a minute passes.
func get(t *testing.T, url string) string {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := http.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return string(b)
			}
			err = fmt.Errorf("status %d: %s", resp.StatusCode, b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %v", url, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// The same project on the kind cluster: devloop builds, loads the images
// into kind's nodes and the rollout is ready; delete removes it.
func TestRunSkaffoldOnKind(t *testing.T) {
	env := testenv.RequireKind(t)
	ns := fmt.Sprintf("sk-kind-%s-%d", time.Now().Format("150405"), time.Now().UnixNano()%100000)
	env.Kubectl(t, "--context", env.KindContext, "create", "namespace", ns)
	t.Cleanup(func() {
		_ = env.Command(context.Background(), "kubectl", "--context", env.KindContext, "delete", "namespace", ns, "--wait=false").Run()
	})
	dir := copyProject(t, "twoservices", ns)
	kc := "--kube-context=" + env.KindContext
	t.Cleanup(func() { _ = testenv.RunDevloop(t, dir, nil, 3*time.Minute, "delete", kc) })
	run := testenv.RunDevloop(t, dir, nil, 10*time.Minute, "run", kc)
	if run.Code != 0 {
		t.Fatalf("devloop run on kind exited %d:\n%s", run.Code, testenv.Tail(run.Output(), 40))
	}
	for _, d := range []string{"sk-front", "sk-back"} {
		if got := strings.TrimSpace(env.Kubectl(t, "--context", env.KindContext, "-n", ns, "get", "deployment", d, "-o", "jsonpath={.status.readyReplicas}")); got != "1" {
			t.Errorf("%s readyReplicas = %q on kind after the run", d, got)
		}
	}
	if del := testenv.RunDevloop(t, dir, nil, 3*time.Minute, "delete", kc); del.Code != 0 {
		t.Fatalf("devloop delete on kind exited %d:\n%s", del.Code, testenv.Tail(del.Output(), 30))
	}
	if left := strings.TrimSpace(env.Kubectl(t, "--context", env.KindContext, "-n", ns, "get", "deployments,services", "-o", "name")); left != "" {
		t.Errorf("left on kind after devloop delete:\n%s", left)
	}
}

// A skaffold.yaml with a field devloop refuses exits 2 with the file, line
// and field, and nothing reaches the namespace.
func TestRunBadSkaffoldAppliesNothing(t *testing.T) {
	env := testenv.Require(t)
	ns := env.Namespace(t, "sk-bad")
	for _, tc := range []struct{ name, old, new, want string }{
		{"jib", "    context: back\n", "    context: back\n    jib: {}\n", "skaffold.yaml:17:5: build.artifacts[1].jib: devloop does not build with Jib"},
		{"unknown field", "  kubectl: {}\n", "  kubectl: {}\n  kubctl: {}\n", `skaffold.yaml:23:3: deploy.kubctl: unknown field "kubctl"`},
		{"wrong type", "statusCheckDeadlineSeconds: 180", "statusCheckDeadlineSeconds: soon", "skaffold.yaml:23:31: deploy.statusCheckDeadlineSeconds: expected an integer"},
		{"missing context", "context: back", "context: nowhere", "skaffold.yaml:16:14: build.artifacts[1].context: the build context"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyProject(t, "twoservices", ns)
			testenv.Edit(t, filepath.Join(dir, "skaffold.yaml"), tc.old, tc.new)
			r := testenv.RunDevloop(t, dir, nil, 2*time.Minute, "run")
			if r.Code != 2 || !strings.Contains(r.Stderr, tc.want) {
				t.Errorf("devloop run exited %d, want 2 with %q:\n%s", r.Code, tc.want, testenv.Tail(r.Output(), 20))
			}
			if strings.Contains(r.Output(), "panic") || strings.Contains(r.Output(), "goroutine ") {
				t.Errorf("devloop run panicked:\n%s", r.Output())
			}
		})
	}
	if left := strings.TrimSpace(env.Kubectl(t, "-n", ns, "get", "deployments,services,pods", "-o", "name")); left != "" {
		t.Errorf("applied although the skaffold.yaml was bad:\n%s", left)
	}
}

package devtest

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/devloop-dev/devloop/internal/testenv"
	"github.com/devloop-dev/devloop/internal/testenv/devproc"
)

// TestDevNamespacedUser: `devloop dev` as a user allowed only their own
// namespace (a ServiceAccount bound by a Role) deploys, streams logs,
// serves through the port-forward and cleans up on Ctrl-C; the inventory
// lives in that namespace.
func TestDevNamespacedUser(t *testing.T) {
	env := testenv.Require(t)
	waitAPIServer(t, env, 3*time.Minute)
	dir, name := testenv.CopyExample(t, "notes")
	port := devproc.FreePort(t)
	replaceIn(t, filepath.Join(dir, "devloop.yaml"), `(?m)^(\s+localPort:\s*)8080\s*$`, "${1}"+strconv.Itoa(port))
	// The namespace is the cluster admin's to make: the user may not.
	replaceIn(t, filepath.Join(dir, "k8s", "overlays", "dev", "kustomization.yaml"), `(?m)^\s+- namespace.yaml\s*\n`, "")
	env.Kubectl(t, "create", "namespace", name)
	t.Cleanup(func() {
		_ = env.Command(context.Background(), "kubectl", "delete", "namespace", name, "--wait=false", "--ignore-not-found").Run()
	})
	kubeconfig := env.NamespacedKubeconfig(t, name)
	inventory := "devloop-inventory-" + name
	has := func(kind, obj string) bool {
		out, err := env.Command(context.Background(), "kubectl", "-n", name, "get", kind, obj, "-o", "name").CombinedOutput()
		if err != nil && !strings.Contains(string(out), "NotFound") {
			t.Fatalf("kubectl get %s %s: %v\n%s", kind, obj, err, out)
		}
		return err == nil
	}

	p, err := devproc.Launch(devproc.Command{Binary: testenv.Binary(t), Dir: dir, Args: []string{"dev", "-o", "json"},
		Env: []string{"KUBECONFIG=" + kubeconfig}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop(3 * time.Minute) })
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf(format+"\nevents:\n%s\nstderr:\n%s", append(args, p.Tail(40), lastLines(p.Stderr(), 30))...)
	}
	start, i, err := p.WaitFor(context.Background(), 0, 5*time.Minute, is("cycle", "start"))
	if err != nil {
		fail("no cycle started: %v", err)
	}
	end, _, err := p.WaitFor(context.Background(), i, 8*time.Minute, cycleEnd(start.Cycle))
	if err != nil || end.Status != "done" {
		fail("first cycle as the namespaced user: %v %s", err, end.Message)
	}
	pf, _, err := p.WaitFor(context.Background(), 0, 2*time.Minute, func(e event) bool {
		return e.Phase == "portforward" && e.URL != ""
	})
	if err != nil {
		fail("no port-forward: %v", err)
	}
	if _, _, err := devproc.PollBody(quickClient, pf.URL+"/version", 200*time.Millisecond, time.Minute,
		func(v string) bool { return strings.Contains(v, "v1") }); err != nil {
		fail("GET %s/version through dev's port-forward: %v", pf.URL, err)
	}
	if !has("configmap", inventory) {
		t.Errorf("no inventory %s in the app's namespace", inventory)
	}
	// Pod logs are streamed from the user's namespace (every namespace is
	// forbidden to this user).
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(p.Stderr(), "notes-web-") && time.Now().Before(deadline) {
		time.Sleep(500 * time.Millisecond)
	}
	if !strings.Contains(p.Stderr(), "notes-web-") {
		t.Errorf("no log line of a notes-web pod (stderr in -o json mode)")
	}
	if strings.Contains(p.Stderr(), "forbidden") {
		t.Errorf("devloop dev was refused something as the namespaced user:\n%s", grepLines(p.Stderr(), "forbidden", 5))
	}

	if p.Stop(2 * time.Minute) {
		fail("devloop dev did not end within 2m of SIGINT")
	}
	var cleaned bool
	for _, e := range p.Events() {
		if e.Phase == "cleanup" && e.Status == "done" {
			cleaned = true
		}
		if e.Phase == "cleanup" && e.Status == "failed" {
			t.Errorf("cleanup failed: %s", e.Message)
		}
	}
	if !cleaned {
		fail("no cleanup done event after Ctrl-C")
	}
	for _, o := range [][2]string{{"deployment", "notes-web"}, {"statefulset", "notes-store"}, {"job", "notes-seed"}, {"configmap", inventory}} {
		if has(o[0], o[1]) {
			t.Errorf("%s %s is still there after dev's cleanup", o[0], o[1])
		}
	}
	if !has("pvc", "data-notes-store-0") {
		t.Errorf("dev's cleanup removed the claim data-notes-store-0")
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func grepLines(s, sub string, n int) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) && len(out) < n {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

package runtest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/devloop-dev/devloop/internal/testenv"
)

// TestNamespacedUser: a user allowed only their own namespace (a
// ServiceAccount bound by a Role) can run and delete; the inventory lives
// in that namespace.
func TestNamespacedUser(t *testing.T) {
	env := testenv.Require(t)
	dir, name := testenv.CopyExample(t, "notes")
	// The namespace is the cluster admin's to make: the user may not.
	edit(t, dir, "k8s/overlays/dev/kustomization.yaml", "  - namespace.yaml\n", "")
	env.Kubectl(t, "create", "namespace", name)
	t.Cleanup(func() {
		_ = env.Command(context.Background(), "kubectl", "delete", "namespace", name, "--wait=false", "--ignore-not-found").Run()
	})
	user := []string{"KUBECONFIG=" + env.NamespacedKubeconfig(t, name)}
	inventory := "devloop-inventory-" + name
	has := func(ns, kind, obj string) bool {
		out, err := env.Command(context.Background(), "kubectl", "-n", ns, "get", kind, obj, "-o", "name").CombinedOutput()
		if err != nil && !strings.Contains(string(out), "NotFound") {
			t.Fatalf("kubectl get %s %s: %v\n%s", kind, obj, err, out)
		}
		return err == nil
	}

	r := devloop(t, dir, user, 10*time.Minute, "run", "-o", "json")
	if r.Code != 0 {
		t.Fatalf("devloop run as the namespaced user exited %d:\n%s", r.Code, tail(r.Output(), 30))
	}
	if !has(name, "configmap", inventory) {
		t.Errorf("no inventory %s in the app's namespace %s", inventory, name)
	}
	if has("default", "configmap", inventory) {
		t.Errorf("an inventory %s in default", inventory)
	}
	if !has(name, "deployment", "notes-web") || !has(name, "statefulset", "notes-store") {
		t.Fatalf("the app is not deployed in %s", name)
	}

	r = devloop(t, dir, user, 5*time.Minute, "run", "-o", "json")
	if r.Code != 0 {
		t.Fatalf("second devloop run exited %d:\n%s", r.Code, tail(r.Output(), 30))
	}
	if c := applyCounts(t, parseEvents(t, r.Stdout)); c["writes"] != 0 {
		t.Errorf("second run: apply counts %v, want writes=0", c)
	}

	r = devloop(t, dir, user, 5*time.Minute, "delete", "-o", "json")
	if r.Code != 0 {
		t.Fatalf("devloop delete as the namespaced user exited %d:\n%s", r.Code, tail(r.Output(), 30))
	}
	for _, o := range [][2]string{{"deployment", "notes-web"}, {"statefulset", "notes-store"}, {"service", "notes-web"}, {"job", "notes-seed"}, {"configmap", inventory}} {
		if has(name, o[0], o[1]) {
			t.Errorf("%s %s is still there after delete", o[0], o[1])
		}
	}
	if !has(name, "pvc", "data-notes-store-0") {
		t.Errorf("delete without --data removed the claim data-notes-store-0")
	}
}

// TestNamespacedUserWithoutNodes: a user who may not even list nodes runs,
// and is told what to state when devloop cannot tell the cluster's kind.
func TestNamespacedUserWithoutNodes(t *testing.T) {
	env := testenv.Require(t)
	if env.ContainerdSocket == "" {
		t.Skip("the test cluster's containerd socket is not known here")
	}
	dir, name := testenv.CopyExample(t, "notes")
	edit(t, dir, "k8s/overlays/dev/kustomization.yaml", "  - namespace.yaml\n", "")
	env.Kubectl(t, "create", "namespace", name)
	t.Cleanup(func() {
		cmd := env.Command(context.Background(), testenv.Binary(t), "delete", "--data", "--wait=false")
		cmd.Dir = dir
		_ = cmd.Run()
		_ = env.Command(context.Background(), "kubectl", "delete", "namespace", name, "--wait=false", "--ignore-not-found").Run()
	})
	user := []string{"KUBECONFIG=" + env.NamespacedKubeconfigNoNodes(t, name)}

	r := devloop(t, dir, user, 5*time.Minute, "run", "-o", "json")
	if r.Code == 0 {
		t.Fatalf("devloop run with no way to tell the cluster's kind exited 0:\n%s", tail(r.Output(), 20))
	}
	if !strings.Contains(r.Output(), "may not list nodes") || !strings.Contains(r.Output(), "--containerd-address") {
		t.Errorf("the error does not say nodes are unreadable and what to state instead:\n%s", tail(r.Output(), 20))
	}

	r = devloop(t, dir, user, 10*time.Minute, "run", "-o", "json", "--containerd-address", env.ContainerdSocket)
	if r.Code != 0 {
		t.Fatalf("devloop run --containerd-address as a user without nodes exited %d:\n%s", r.Code, tail(r.Output(), 30))
	}
	out, err := env.Command(context.Background(), "kubectl", "-n", name, "get", "deployment", "notes-web", "-o", "jsonpath={.status.readyReplicas}").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "1" {
		t.Fatalf("notes-web is not Ready in %s: %v %s", name, err, out)
	}
}
